#!/usr/bin/env python3
"""Writes Presets/rigs/{arkit52,facs,vrm,audio2face}.json from one table of facial prototypes.

The grounding lives here, once:
- PROTOTYPES: each emotion as FACS action units with intensities. Ekman & Friesen's EMFACS
  prototypes for the basic emotions (happiness 6+12, sadness 1+4+15, surprise 1+2+5B+26,
  fear 1+2+4+5+7+20+26, anger 4+5+7+23, disgust 9+15+16, contempt R12A+R14A), Prkachin (1992)
  for pain (4, 6/7, 9/10, 43). Calm, cheekiness and out-of-breath have no EMFACS prototype:
  their action units are EmoBake's choice and say so.
- Intensity letters are FACS's A (trace) .. E (maximum), read as A=0.2 B=0.4 C=0.6 D=0.8 E=1.0.
  A prototype's own letter is used where it gives one (5B in surprise, A in contempt); the
  others are our choice, listed in each basis.
- Per rig, how an action unit drives its channels (ARKIT_FROM_AU, the FACS rig is AU for AU,
  VRM and Audio2Face are expression-level and map whole emotions).

Run: python3 scripts/make_rig_presets.py   (rewrites the four files; output is deterministic)
"""
import json
import os
import sys

LETTERS = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 16: "lower lip depressor",
    17: "chin raiser", 20: "lip stretcher", 23: "lip tightener", 24: "lip pressor",
    25: "lips part", 26: "jaw drop", 43: "eyes closed",
}

# emotion -> (basis text, [(AU, letter, side)]) ; side: "" both, "R" or "L" (the face's own right/left)
PROTOTYPES = {
    "neutral": ("Neutral face: no action units (EMFACS codes no movement for neutral).", []),
    "happy": (
        "EMFACS happiness prototype 6+12 (Ekman & Friesen, the Duchenne smile): cheek raiser and lip corner "
        "puller. Letters (ours): AU6 C, AU12 D.",
        [(6, "C", ""), (12, "D", "")]),
    "sad": (
        "EMFACS sadness prototype 1+4+15 (Ekman & Friesen): inner brows raised and drawn together, lip corners "
        "down. Letters (ours): AU1 C, AU4 B, AU15 C.",
        [(1, "C", ""), (4, "B", ""), (15, "C", "")]),
    "surprise": (
        "EMFACS surprise prototype 1+2+5B+26 (Ekman & Friesen): brows raised, upper lids raised (B, the "
        "prototype's letter), jaw dropped. Letters: AU1 C, AU2 C, AU5 B, AU26 C.",
        [(1, "C", ""), (2, "C", ""), (5, "B", ""), (26, "C", "")]),
    "fear": (
        "EMFACS fear prototype 1+2+4+5+7+20+26 (Ekman & Friesen): raised and drawn-together brows, raised "
        "upper lids with tightened lower lids, stretched lips, jaw dropped. Letters (ours): AU1 C, AU2 B, "
        "AU4 B, AU5 C, AU7 B, AU20 C, AU26 B.",
        [(1, "C", ""), (2, "B", ""), (4, "B", ""), (5, "C", ""), (7, "B", ""), (20, "C", ""), (26, "B", "")]),
    "angry": (
        "EMFACS anger prototype 4+5+7+23 (Ekman & Friesen): lowered brows, glaring eyes (raised upper lid, "
        "tightened lids), tightened lips. Letters (ours): AU4 D, AU5 B, AU7 C, AU23 C.",
        [(4, "D", ""), (5, "B", ""), (7, "C", ""), (23, "C", "")]),
    "disgust": (
        "EMFACS disgust prototype 9+15+16 (Ekman & Friesen): nose wrinkled, lip corners and lower lip "
        "depressed. Letters (ours): AU9 C, AU15 B, AU16 B.",
        [(9, "C", ""), (15, "B", ""), (16, "B", "")]),
    "contempt": (
        "EMFACS contempt prototype R12A+R14A (Ekman & Friesen): a one-sided (right) slight lip corner pull "
        "and dimple, at the prototype's letter A.",
        [(12, "A", "R"), (14, "A", "R")]),
    "calm": (
        "No EMFACS prototype (calm is not a basic emotion; RAVDESS uses it for a low-arousal, relaxed "
        "delivery). EmoBake's choice: nearly neutral with a trace smile, AU12 A.",
        [(12, "A", "")]),
    "pain": (
        "Pain face after Prkachin (1992): brow lowering 4, orbital tightening 6/7, levator contraction 9/10, "
        "eye closure 43. Letters (ours): AU4 C, AU6 B, AU7 C, AU9 B, AU10 B, AU43 B.",
        [(4, "C", ""), (6, "B", ""), (7, "C", ""), (9, "B", ""), (10, "B", ""), (43, "B", "")]),
    "cheekiness": (
        "No EMFACS prototype (an Audio2Face emotion channel). EmoBake's choice: a playful, lopsided smile, "
        "R12C + L12A with AU6 B.",
        [(6, "B", ""), (12, "C", "R"), (12, "A", "L")]),
    "outofbreath": (
        "Not an emotion (an Audio2Face channel for exertion). EmoBake's choice: parted lips and dropped jaw "
        "for breathing, slight inner brow raise: AU1 B, AU25 C, AU26 B.",
        [(1, "B", ""), (25, "C", ""), (26, "B", "")]),
}

# ---------------------------------------------------------------------------- ARKit 52
# The 52 ARFaceAnchor.BlendShapeLocation names (Apple ARKit documentation), in Apple's grouping.
ARKIT52 = [
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
]

# AU -> [(channel stem, factor, sided)] ; sided stems get "Left"/"Right" appended.
ARKIT_FROM_AU = {
    1: [("browInnerUp", 1.0, False)],
    2: [("browOuterUp", 1.0, True)],
    4: [("browDown", 1.0, True)],
    5: [("eyeWide", 1.0, True)],
    6: [("cheekSquint", 1.0, True)],
    7: [("eyeSquint", 1.0, True)],
    9: [("noseSneer", 1.0, True)],
    10: [("mouthUpperUp", 1.0, True)],
    12: [("mouthSmile", 1.0, True)],
    14: [("mouthDimple", 1.0, True)],
    15: [("mouthFrown", 1.0, True)],
    16: [("mouthLowerDown", 1.0, True)],
    17: [("mouthShrugLower", 1.0, False)],
    20: [("mouthStretch", 1.0, True)],
    23: [("mouthPress", 1.0, True)],
    25: [("mouthLowerDown", 0.5, True)],
    26: [("jawOpen", 1.0, False)],
    43: [("eyeBlink", 1.0, True)],
}
ARKIT_AU_NOTES = (
    "AU to ARKit: 1 browInnerUp; 2 browOuterUp L/R; 4 browDown L/R; 5 eyeWide L/R; 6 cheekSquint L/R; "
    "7 eyeSquint L/R; 9 noseSneer L/R; 10 mouthUpperUp L/R; 12 mouthSmile L/R; 14 mouthDimple L/R; "
    "15 mouthFrown L/R; 16 mouthLowerDown L/R; 17 mouthShrugLower; 20 mouthStretch L/R; 23 mouthPress L/R "
    "(ARKit has no lip tightener; press is the nearest); 25 mouthLowerDown L/R x0.5; 26 jawOpen; "
    "43 eyeBlink L/R. Left/Right are the face's own sides, as in ARKit and FACS.")


def arkit_weights(units):
    contributions = {}
    for au, letter, side in units:
        for stem, factor, sided in ARKIT_FROM_AU[au]:
            targets = [stem] if not sided else (
                [stem + "Left", stem + "Right"] if side == "" else [stem + ("Right" if side == "R" else "Left")])
            for target in targets:
                contributions.setdefault(target, []).append((au, letter, side, factor))
    return finish(contributions, ARKIT52)


# ---------------------------------------------------------------------------- FACS
FACS_CHANNELS = ["AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15", "AU16",
                 "AU17", "AU20", "AU23", "AU24", "AU25", "AU26", "AU43"]


def facs_weights(units):
    contributions = {}
    for au, letter, side in units:
        # A bilateral channel cannot show one side: a one-sided unit counts half.
        factor = 1.0 if side == "" else 0.5
        contributions.setdefault("AU%d" % au, []).append((au, letter, side, factor))
    return finish(contributions, FACS_CHANNELS)


def finish(contributions, order):
    weights = []
    for target in order:
        if target not in contributions:
            continue
        parts = contributions[target]
        value = min(1.0, sum(LETTERS[letter] * factor for _, letter, _, factor in parts))
        text = " + ".join(
            "AU%d %s%s %s (%s%s)" % (au, AU_NAMES[au], {"": "", "R": ", right side", "L": ", left side"}[side],
                                     letter, fmt(LETTERS[letter]), "" if factor == 1.0 else " x %s" % fmt(factor))
            for au, letter, side, factor in parts)
        if sum(LETTERS[letter] * factor for _, letter, _, factor in parts) > 1.0:
            text += ", capped at 1"
        weights.append({"blendshape": target, "weight": round(value, 4), "from": text})
    return weights


def fmt(x):
    return ("%.2f" % x).rstrip("0").rstrip(".") if x != int(x) else "%d" % x


# ---------------------------------------------------------------------------- VRM 1.0
VRM_PRESETS = ["happy", "angry", "sad", "relaxed", "surprised", "aa", "ih", "ou", "ee", "oh", "blink",
               "blinkLeft", "blinkRight", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral"]

VRM_MAPPING = {
    "neutral": ([], "VRM's neutral expression is the rest face; mapping nothing leaves the face at rest."),
    "happy": ([("happy", 1.0, "the rig author's happy face (EMFACS 6+12)")],
              "VRM preset happy is the smile expression; EMFACS happiness 6+12."),
    "sad": ([("sad", 1.0, "the rig author's sad face (EMFACS 1+4+15)")],
            "VRM preset sad; EMFACS sadness 1+4+15."),
    "angry": ([("angry", 1.0, "the rig author's angry face (EMFACS 4+5+7+23)")],
              "VRM preset angry; EMFACS anger 4+5+7+23."),
    "surprise": ([("surprised", 1.0, "the rig author's surprised face (EMFACS 1+2+5B+26)")],
                 "VRM preset surprised; EMFACS surprise 1+2+5B+26."),
    "fear": ([("surprised", 0.5, "shares fear's 1+2+5+26"), ("sad", 0.4, "shares fear's 1+4 brow tension")],
             "VRM has no fear preset. EMFACS fear 1+2+4+5+7+20+26 = surprise's 1+2+5+26 plus the 1+4 brows of "
             "sadness, so half surprised and 0.4 sad."),
    "disgust": ([("angry", 0.4, "lowered brows and raised upper lip region (9 is close to anger's 4+10 look)"),
                 ("sad", 0.3, "lip corners down (15)")],
                "VRM has no disgust preset. EMFACS disgust 9+15+16: the nose-wrinkle region reads as a mild "
                "angry, the depressed lip corners (15) as a mild sad."),
    "contempt": ([("happy", 0.2, "slight lip corner pull (12A)"), ("angry", 0.1, "a trace of hostility")],
                 "VRM has no contempt preset and presets are symmetric; EMFACS contempt R12A+R14A is a slight "
                 "one-sided smirk: a faint happy with a trace of angry."),
    "calm": ([("relaxed", 0.5, "VRM relaxed is the calm, content face (VRM 0.x 'fun')")],
             "No EMFACS prototype. VRM's relaxed preset is the calm face; half weight because a calm "
             "delivery is close to neutral."),
    "pain": ([("sad", 0.5, "distress: 4 with raised inner brows"), ("angry", 0.3, "brow lowering and squint (4, 6/7)"),
              ("blink", 0.4, "eye closure (43)")],
             "No pain preset. Pain after Prkachin (1992): 4, 6/7, 9/10, 43, approximated by sad (distress), "
             "angry (lowered brows, tightened lids) and blink (43)."),
    "cheekiness": ([("happy", 0.5, "the smile (6+12)"), ("blinkLeft", 0.3, "a half wink for the lopsided look")],
                   "No EMFACS prototype (an Audio2Face channel). A playful lopsided smile: half happy with a half "
                   "wink of the left eye."),
    "outofbreath": ([("aa", 0.4, "open mouth for breathing (25+26)"), ("sad", 0.2, "slight inner brow raise (1)")],
                    "Not an emotion (an Audio2Face channel for exertion): parted lips and dropped jaw as the aa "
                    "mouth shape, a slight inner brow raise from sad."),
}

# ---------------------------------------------------------------------------- Audio2Face
A2F_CHANNELS = ["amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain", "sadness"]

A2F_MAPPING = {
    "neutral": ([], "Audio2Face's neutral is all emotion channels at 0."),
    "happy": ([("joy", 1.0, "Audio2Face's joy channel")], "happiness = Audio2Face joy (EMFACS 6+12)."),
    "sad": ([("sadness", 1.0, "Audio2Face's sadness channel")], "sadness = Audio2Face sadness (EMFACS 1+4+15)."),
    "angry": ([("anger", 1.0, "Audio2Face's anger channel")], "anger = Audio2Face anger (EMFACS 4+5+7+23)."),
    "fear": ([("fear", 1.0, "Audio2Face's fear channel")], "fear = Audio2Face fear (EMFACS 1+2+4+5+7+20+26)."),
    "disgust": ([("disgust", 1.0, "Audio2Face's disgust channel")], "disgust = Audio2Face disgust (EMFACS 9+15+16)."),
    "surprise": ([("amazement", 1.0, "Audio2Face's amazement channel")],
                 "surprise = Audio2Face amazement (EMFACS 1+2+5B+26)."),
    "calm": ([("joy", 0.2, "trace smile (12A), as in the FACS-based rigs")],
             "No Audio2Face calm channel and no EMFACS prototype: a trace of joy (AU12 A = 0.2), as in the "
             "arkit52 and facs presets."),
    "contempt": ([("cheekiness", 0.3, "one-sided smirk (R12A)"), ("disgust", 0.3, "the sneer of R14A")],
                 "No Audio2Face contempt channel. EMFACS contempt R12A+R14A: a smirk (cheekiness) with a trace "
                 "of disgust."),
}
for channel in A2F_CHANNELS:
    A2F_MAPPING.setdefault(channel, ([(channel, 1.0, "the same Audio2Face channel")],
                                     "An Audio2Face emotion maps to its own channel, so Audio2Face tracks "
                                     "round-trip unchanged."))

ORDER = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise", "calm", "contempt", "pain",
         "cheekiness", "outofbreath"]

REFERENCES = [
    "Ekman, P. & Friesen, W. V. (1978). Facial Action Coding System. Consulting Psychologists Press.",
    "Friesen, W. V. & Ekman, P. (1983). EMFACS-7: Emotional Facial Action Coding System. University of "
    "California, San Francisco.",
    "Prkachin, K. M. (1992). The consistency of facial expressions of pain. Pain 51(3), 297-306.",
]


def facs_rig(builder, channels, name, description, notes):
    emotions = []
    for emotion in ORDER:
        basis, units = PROTOTYPES[emotion]
        emotions.append({"emotion": emotion, "basis": basis, "weights": builder(units)})
    return {"format": "emobake-rig", "version": 1, "name": name, "description": description,
            "references": REFERENCES,
            "notes": "Each weight = the sum over its action units of intensity x factor, capped at 1 (see 'from'). "
                     "Intensity letters: A=0.2 B=0.4 C=0.6 D=0.8 E=1.0 (FACS A trace .. E maximum). " + notes,
            "blendshapes": channels, "emotions": emotions}


def table_rig(table, channels, name, description, references, order):
    emotions = []
    for emotion in order:
        targets, basis = table[emotion]
        emotions.append({"emotion": emotion, "basis": basis,
                         "weights": [{"blendshape": t, "weight": w, "from": why} for t, w, why in targets]})
    return {"format": "emobake-rig", "version": 1, "name": name, "description": description,
            "references": references, "blendshapes": channels, "emotions": emotions}


def write(path, rig):
    lines = ["{"]
    head = [k for k in rig if k not in ("blendshapes", "emotions")]
    for key in head:
        lines.append("  %s: %s," % (json.dumps(key), json.dumps(rig[key], ensure_ascii=False)))
    lines.append('  "blendshapes": [')
    for i, name in enumerate(rig["blendshapes"]):
        lines.append("    %s%s" % (json.dumps(name), "," if i + 1 < len(rig["blendshapes"]) else ""))
    lines.append("  ],")
    lines.append('  "emotions": [')
    for i, entry in enumerate(rig["emotions"]):
        lines.append("    {")
        lines.append('      "emotion": %s,' % json.dumps(entry["emotion"]))
        lines.append('      "basis": %s,' % json.dumps(entry["basis"], ensure_ascii=False))
        if entry["weights"]:
            lines.append('      "weights": [')
            for j, weight in enumerate(entry["weights"]):
                lines.append("        %s%s" % (json.dumps(weight, ensure_ascii=False),
                                               "," if j + 1 < len(entry["weights"]) else ""))
            lines.append("      ]")
        else:
            lines.append('      "weights": []')
        lines.append("    }%s" % ("," if i + 1 < len(rig["emotions"]) else ""))
    lines.append("  ]")
    lines.append("}")
    with open(path, "w", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Presets", "rigs")
    os.makedirs(root, exist_ok=True)
    write(os.path.join(root, "arkit52.json"), facs_rig(
        arkit_weights, ARKIT52, "arkit52",
        "Apple ARKit's 52 face blendshapes (ARFaceAnchor.BlendShapeLocation), driven through FACS action units",
        ARKIT_AU_NOTES))
    write(os.path.join(root, "facs.json"), facs_rig(
        facs_weights, FACS_CHANNELS, "facs",
        "One curve per FACS action unit (AU1 ... AU43); weight = the unit's intensity",
        "AU to channel: one to one; a one-sided unit counts half on the bilateral channel."))
    write(os.path.join(root, "vrm.json"), table_rig(
        VRM_MAPPING, VRM_PRESETS, "vrm",
        "VRM 1.0 expression presets (VRMC_vrm expressions.preset): emotions drive the emotion presets; "
        "visemes, blinks and gaze stay 0 except where an emotion closes the eyes or opens the mouth",
        REFERENCES + ["VRM Consortium, VRMC_vrm 1.0 specification, expressions (preset names)."], ORDER))
    write(os.path.join(root, "audio2face.json"), table_rig(
        A2F_MAPPING, A2F_CHANNELS, "audio2face",
        "NVIDIA Audio2Face's 10 emotion channels; basic emotions map to their Audio2Face counterparts, "
        "Audio2Face's own emotion names map to themselves",
        REFERENCES + ["NVIDIA Audio2Face emotion channels: amazement, anger, cheekiness, disgust, fear, grief, "
                      "joy, outofbreath, pain, sadness."],
        ORDER[:9] + [c for c in A2F_CHANNELS if c not in ORDER[:9]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
