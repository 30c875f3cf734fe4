/// The emotion names EmoBake understands, and the spellings other tools use for them.
///
/// Tracks always hold canonical names, so that rig presets map one vocabulary. Names from
/// other tools are folded onto it when a track is read: "fearful" -> "fear", "anger" ->
/// "angry", "joy" -> "happy". Audio2Face's channels without a basic-emotion equivalent
/// (cheekiness, outofbreath, pain) and grief stay names of their own.
public enum EmotionVocabulary {
    /// Canonical names: the basic emotions of Ekman's set plus calm and contempt, and the
    /// Audio2Face channels that have no basic equivalent.
    public static let canonical: [String] = [
        "neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise", "contempt",
        "grief", "cheekiness", "outofbreath", "pain",
    ]

    /// Other spellings -> canonical name (lower-cased keys).
    public static let aliases: [String: String] = [
        "neu": "neutral", "happiness": "happy", "joy": "happy", "hap": "happy",
        "sadness": "sad",
        "anger": "angry", "ang": "angry", "mad": "angry",
        "fearful": "fear", "afraid": "fear", "fea": "fear",
        "disgusted": "disgust", "dis": "disgust",
        "surprised": "surprise", "amazement": "surprise", "sur": "surprise",
        "contemptuous": "contempt",
    ]

    /// The canonical name for `name` (case-insensitive), or nil if it is not an emotion we know.
    public static func canonicalName(_ name: String) -> String? {
        let lowered = name.trimmingCharacters(in: .whitespaces).lowercased()
        if canonical.contains(lowered) { return lowered }
        return aliases[lowered]
    }

    /// The seven emotions of the shipped models (RAVDESS with calm merged into neutral).
    public static let basicSeven = ["neutral", "happy", "sad", "angry", "fear", "disgust", "surprise"]
}

import Foundation
