import Curves
import Foundation
import Testing
import TestSupport

@Suite("Rig presets")
struct RigPresetTests {
    /// The 52 ARKit names, typed independently of the preset from Apple's
    /// ARFaceAnchor.BlendShapeLocation list (also Unity's ARKitBlendShapeLocation enum).
    static let arkitReference: Set<String> = [
        "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
        "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
        "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
        "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
        "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
        "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
        "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
        "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
        "noseSneerLeft", "noseSneerRight", "tongueOut",
    ]

    static let shipped = ["arkit52", "vrm", "facs", "audio2face"]
    /// What every shipped rig must map, by its own name (aliases do not count).
    static let requiredEmotions = [
        "neutral", "happy", "sad", "angry", "fear", "disgust", "surprise", "calm", "contempt", "pain", "cheekiness",
        "outofbreath",
    ]

    @Test func shippedNamesAreListed() throws {
        let names = try RigPreset.availableNames(presetsDirectory: TestPaths.presets)
        for name in Self.shipped { #expect(names.contains(name)) }
        #expect(names == names.sorted())
        #expect(RigPreset.defaultName == "arkit52")
    }

    @Test func arkit52HasExactlyTheAppleNames() throws {
        let rig = try Presets.rig("arkit52")
        #expect(rig.blendshapes.count == 52)
        #expect(Set(rig.blendshapes) == Self.arkitReference)
        #expect(rig.name == "arkit52")
    }

    @Test func vrmHasTheVRM1Presets() throws {
        let rig = try Presets.rig("vrm")
        #expect(
            rig.blendshapes == [
                "happy", "angry", "sad", "relaxed", "surprised", "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft",
                "blinkRight", "lookUp", "lookDown", "lookLeft", "lookRight", "neutral",
            ])
    }

    @Test func facsHasTheActionUnits() throws {
        let rig = try Presets.rig("facs")
        for unit in ["AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26"] {
            #expect(rig.blendshapes.contains(unit), "facs lacks \(unit)")
        }
    }

    @Test func audio2faceHasTheTenChannels() throws {
        let rig = try Presets.rig("audio2face")
        #expect(
            rig.blendshapes == [
                "amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy", "outofbreath", "pain", "sadness",
            ])
        // Audio2Face's own emotions map one to one, so its tracks round-trip.
        for channel in rig.blendshapes {
            let mapping = try #require(rig.mapping(for: channel))
            #expect(mapping.weights == [RigPreset.Weight(blendshape: channel, weight: 1, from: mapping.weights.first?.from)])
        }
    }

    @Test(arguments: shipped)
    func everyShippedRigMapsTheBasicEmotionsWithABasis(name: String) throws {
        let rig = try Presets.rig(name)
        for emotion in Self.requiredEmotions {
            let mapping = try #require(rig.mapping(for: emotion), "\(name) does not map \(emotion)")
            #expect(mapping.basis.count > 20, "\(name).\(emotion) has no basis")
            if emotion != "neutral" { #expect(!mapping.weights.isEmpty, "\(name).\(emotion) maps to nothing") }
            for weight in mapping.weights {
                #expect(weight.weight > 0 && weight.weight <= 1)
                #expect((weight.from ?? "").count > 5, "\(name).\(emotion).\(weight.blendshape) has no 'from'")
            }
        }
        #expect(rig.mapping(for: "neutral")?.weights.isEmpty == true)
    }

    /// The EMFACS prototypes show up on the ARKit rig where FACS says they should.
    @Test(arguments: [
        ("happy", ["mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"], ["mouthFrownLeft", "browDownLeft"]),
        ("sad", ["browInnerUp", "mouthFrownLeft", "mouthFrownRight"], ["mouthSmileLeft", "jawOpen"]),
        ("surprise", ["browInnerUp", "browOuterUpLeft", "eyeWideLeft", "jawOpen"], ["browDownLeft", "mouthSmileLeft"]),
        ("fear", ["browInnerUp", "eyeWideLeft", "mouthStretchLeft", "browDownLeft"], ["mouthSmileLeft"]),
        ("angry", ["browDownLeft", "browDownRight", "eyeSquintLeft", "mouthPressLeft"], ["browInnerUp", "mouthSmileLeft"]),
        ("disgust", ["noseSneerLeft", "noseSneerRight", "mouthFrownLeft", "mouthLowerDownLeft"], ["mouthSmileLeft"]),
        ("contempt", ["mouthSmileRight", "mouthDimpleRight"], ["mouthSmileLeft", "mouthDimpleLeft"]),
    ])
    func arkitFollowsEMFACS(emotion: String, present: [String], absent: [String]) throws {
        let rig = try Presets.rig("arkit52")
        let weights = try #require(rig.mapping(for: emotion)).weights
        let names = Set(weights.map(\.blendshape))
        for name in present { #expect(names.contains(name), "\(emotion) should move \(name)") }
        for name in absent { #expect(!names.contains(name), "\(emotion) should not move \(name)") }
        // Bilateral units are symmetric (contempt is the one-sided prototype).
        if emotion != "contempt" {
            for weight in weights where weight.blendshape.hasSuffix("Left") {
                let right = String(weight.blendshape.dropLast(4)) + "Right"
                #expect(weights.first { $0.blendshape == right }?.weight == weight.weight, "\(emotion): \(right)")
            }
        }
    }

    @Test func happyUsesTheDocumentedIntensities() throws {
        // AU12 D = 0.8 on the ARKit smile, AU6 C = 0.6 on the cheeks, and the same on the FACS rig.
        let arkit = try #require(try Presets.rig("arkit52").mapping(for: "happy"))
        #expect(arkit.weights.first { $0.blendshape == "mouthSmileLeft" }?.weight == 0.8)
        #expect(arkit.weights.first { $0.blendshape == "cheekSquintRight" }?.weight == 0.6)
        let facs = try #require(try Presets.rig("facs").mapping(for: "happy"))
        #expect(facs.weights.map(\.blendshape) == ["AU6", "AU12"])
        #expect(facs.weights.map(\.weight) == [0.6, 0.8])
    }

    @Test func aliasesResolveOnlyWhenTheRigLacksTheName() throws {
        let arkit = try Presets.rig("arkit52")
        #expect(arkit.mappingEmotion(for: "fearful") == "fear")
        #expect(arkit.mappingEmotion(for: "surprised") == "surprise")
        #expect(arkit.mappingEmotion(for: "joy") == "happy")
        #expect(arkit.mappingEmotion(for: "grief") == "sad")
        #expect(arkit.mappingEmotion(for: "Happy") == "happy")
        #expect(arkit.mappingEmotion(for: "boredom") == nil)
        let audio2face = try Presets.rig("audio2face")
        #expect(audio2face.mappingEmotion(for: "grief") == "grief")
        #expect(audio2face.mappingEmotion(for: "fearful") == "fear")
    }

    @Test func aUserFileLoadsLikeAShippedOne() throws {
        let shipped = try Presets.rig("vrm")
        let text = try String(contentsOf: TestPaths.presets.appendingPathComponent("rigs/vrm.json"), encoding: .utf8)
        let copy = Presets.temporaryFile("my-rig.json", text)
        var loaded = try RigPreset.load(copy.path, presetsDirectory: TestPaths.presets)
        #expect(loaded.file == copy.path)
        loaded.file = shipped.file
        #expect(loaded == shipped)
    }

    @Test func describeListsChannelsAndWeights() throws {
        let text = try Presets.rig("arkit52").describe()
        #expect(text.hasPrefix("rig arkit52: "))
        #expect(text.contains("52 blendshapes"))
        #expect(text.contains("  happy: mouthSmileLeft 0.800, mouthSmileRight 0.800, cheekSquintLeft 0.600, cheekSquintRight 0.600\n"))
        #expect(text.contains("  neutral: nothing\n"))
        #expect(text.contains("basis: EMFACS happiness prototype 6+12"))
    }

    @Test func unknownNamesListTheChoices() throws {
        let error = try #require(throws: CurvesError.self) { try Presets.rig("arkit51") }
        #expect(error.code == "rig.unknown")
        #expect(error.message.contains("\"arkit51\""))
        #expect(error.message.contains("arkit52, audio2face, facs, vrm"))
        let missing = try #require(throws: CurvesError.self) { try Presets.rig("/nonexistent/rig.json") }
        #expect(missing.code == "rig.missing")
        #expect(missing.message.contains("/nonexistent/rig.json"))
    }

    static let valid = """
        {"name": "tiny", "blendshapes": ["a", "b"],
         "emotions": [{"emotion": "happy", "basis": "test", "weights": [{"blendshape": "a", "weight": 0.5}]}]}
        """

    /// Bad files: (what, file text, error code, text the message must contain besides the file name).
    static let badFiles: [(String, String, String, String)] = [
        ("unknown target",
         #"{"name": "x", "blendshapes": ["a", "b"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "c", "weight": 0.5}]}]}"#,
         "rig.unknownBlendshape", "emotions[0].weights[0].blendshape: \"c\""),
        ("weight above 1",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "a", "weight": 1.5}]}]}"#,
         "rig.weightRange", "emotions[0].weights[0].weight: 1.5 is outside 0...1"),
        ("negative weight",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "a", "weight": -0.1}]}]}"#,
         "rig.weightRange", "emotions[0].weights[0].weight: -0.1"),
        ("NaN weight",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "a", "weight": NaN}]}]}"#,
         "rig.weightRange", "emotions[0].weights[0].weight: nan"),
        ("weight as text",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "a", "weight": "0.5"}]}]}"#,
         "rig.field", "emotions[0].weights[0].weight: expected a number, found a string"),
        ("missing blendshapes", #"{"name": "x", "emotions": []}"#, "rig.field", "missing field \"blendshapes\""),
        ("missing weight",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "happy", "weights": [{"blendshape": "a"}]}]}"#,
         "rig.field", "emotions[0].weights[0]: missing field \"weight\""),
        ("missing name", #"{"blendshapes": ["a"], "emotions": []}"#, "rig.field", "missing field \"name\""),
        ("empty blendshapes", #"{"name": "x", "blendshapes": [], "emotions": []}"#, "rig.field", "blendshapes: must list"),
        ("duplicate blendshape", #"{"name": "x", "blendshapes": ["a", "b", "a"], "emotions": []}"#,
         "rig.duplicate", "blendshapes[2]: duplicate blendshape \"a\""),
        ("duplicate emotion",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "sad", "weights": []}, {"emotion": "sad", "weights": []}]}"#,
         "rig.duplicate", "emotions[1].emotion: duplicate emotion \"sad\""),
        ("duplicate target",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "sad", "weights": [{"blendshape": "a", "weight": 0.1}, {"blendshape": "a", "weight": 0.2}]}]}"#,
         "rig.duplicate", "emotions[0].weights[1].blendshape: \"a\" is listed twice"),
        ("misspelt field",
         #"{"name": "x", "blendshapes": ["a"], "emotions": [{"emotion": "sad", "weights": [{"blendshape": "a", "weigth": 0.1}]}]}"#,
         "rig.field", "emotions[0].weights[0].weigth: unknown field"),
        ("empty name", #"{"name": "", "blendshapes": ["a"], "emotions": []}"#, "rig.field", "name: must not be empty"),
        ("bad JSON", "{\"name\": \"x\",\n \"blendshapes\": [\"a\" \"b\"]\n}", "rig.json", ":2:"),
        ("not an object", "[1, 2]", "rig.field", "expected an object"),
    ]

    @Test(arguments: badFiles)
    func badFilesAreRefusedNamingFileAndField(what: String, text: String, code: String, fragment: String) throws {
        let url = Presets.temporaryFile("bad-rig.json", text)
        let error = try #require(throws: CurvesError.self, "\(what)") { try RigPreset.load(url.path, presetsDirectory: TestPaths.presets) }
        #expect(error.code == code, "\(what): \(error.message)")
        #expect(error.message.hasPrefix(url.path), "\(what): \(error.message)")
        #expect(error.message.contains(fragment), "\(what): \(error.message)")
        #expect(!error.message.contains("\n"))
    }

    @Test func theValidExampleLoads() throws {
        let rig = try RigPreset.load(Presets.temporaryFile("tiny.json", Self.valid).path, presetsDirectory: TestPaths.presets)
        #expect(rig.blendshapes == ["a", "b"])
        #expect(rig.mapping(for: "happy")?.weights == [RigPreset.Weight(blendshape: "a", weight: 0.5)])
    }

    @Test func rigsBuiltInCodeAreChecked() throws {
        #expect(throws: CurvesError.self) {
            try RigPreset(
                name: "x", blendshapes: ["a"],
                mappings: [.init(emotion: "happy", basis: "", weights: [.init(blendshape: "a", weight: .nan)])])
        }
        #expect(throws: CurvesError.self) {
            try RigPreset(name: "x", blendshapes: ["a"], mappings: [.init(emotion: "happy", basis: "", weights: [.init(blendshape: "z", weight: 0.5)])])
        }
    }
}
