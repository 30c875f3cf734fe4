import Common
import Curves
import EmotionCore
import Foundation
import JSONIO
import Testing

@Suite("Emotion post-processing")
struct PostProcessingTests {
    static let emotions = ["neutral", "happy", "sad", "angry"]

    /// Processes single rows (or sequences) and returns the mixtures per frame.
    func process(
        _ settings: EmotionPostProcessing, _ rows: [[Double]], emotions: [String] = emotions, times: [Double]? = nil,
        concentration: Double = 10
    ) throws -> [[Double]] {
        let track = Tracks.make(
            emotions: emotions, times: times ?? rows.indices.map { Double($0) * 0.1 }, mixtures: rows,
            concentration: concentration)
        let result = try settings.process(track)
        let k = result.emotions.count
        return (0..<result.frameCount).map { Array(result.mixtures[($0 * k)..<(($0 + 1) * k)]) }
    }

    func expectClose(_ actual: [Double], _ expected: [Double], _ tolerance: Double = 1e-12, _ comment: Comment? = nil) {
        #expect(actual.count == expected.count, comment)
        for (a, e) in zip(actual, expected) { #expect(abs(a - e) < tolerance, "\(actual) vs \(expected) \(comment?.description ?? "")") }
    }

    @Test func defaultsAreTheIdentity() throws {
        let rows = [[0.1, 0.5, 0.3, 0.1], [0.25, 0.25, 0.25, 0.25]]
        let output = try process(EmotionPostProcessing(), rows)
        for (a, e) in zip(output, rows) { expectClose(a, e, 1e-15) }
        #expect(EmotionPostProcessing().isIdentity)
    }

    @Test func aTrackWithoutNeutralGetsOneAppended() throws {
        let track = Tracks.make(emotions: ["joy", "anger"], times: [0], mixtures: [[0.75, 0.25]])
        let result = try EmotionPostProcessing(strength: 0.5).process(track)
        #expect(result.emotions == ["joy", "anger", "neutral"])
        expectClose(result.mixtures, [0.375, 0.125, 0.5])
    }

    @Test(arguments: [(2.0, 0.5), (10.0, 10.0 / 12.0), (0.5, 0.2)])
    func confidenceWeightingPullsLowConcentrationTowardNeutral(concentration: Double, keep: Double) throws {
        // w = c / (c + c0) with c0 = 2: the frame keeps w of its expression, neutral gets 1 - w.
        let output = try process(
            EmotionPostProcessing(confidenceWeighting: 2), [[0.2, 0.8, 1e-300, 1e-300]], concentration: concentration)
        expectClose(output[0], [0.2 * keep + (1 - keep), 0.8 * keep, 0, 0], 1e-12)
    }

    static let rootSum = Double(0.2).squareRoot() + Double(0.8).squareRoot()
    static let contrastCases: [(Double, [Double])] = [
        (2.0, [0.04 / 0.68, 0.64 / 0.68]),
        (0.5, [Double(0.2).squareRoot() / rootSum, Double(0.8).squareRoot() / rootSum]),
        (1.0, [0.2, 0.8]),
    ]

    @Test(arguments: contrastCases)
    func contrastRaisesSharesToAPowerAndRenormalises(contrast: Double, expected: [Double]) throws {
        let output = try process(EmotionPostProcessing(contrast: contrast), [[0.2, 0.8]], emotions: ["neutral", "happy"])
        expectClose(output[0], expected)
    }

    @Test func contrastIsSoftmaxContrastOnLogits() throws {
        // With m = softmax(z), m^g / sum m^g = softmax(g z): Audio2Face's definition.
        let logits = [0.3, 1.2, -0.4, 0.1]
        func softmax(_ z: [Double]) -> [Double] {
            let e = z.map { exp($0) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        }
        let output = try process(EmotionPostProcessing(contrast: 1.7), [softmax(logits)])
        expectClose(output[0], softmax(logits.map { $0 * 1.7 }), 1e-12)
    }

    @Test func maxEmotionsKeepsNeutralAndTheTopK() throws {
        let row = [0.1, 0.45, 0.3, 0.15]
        expectClose(try process(EmotionPostProcessing(maxEmotions: 1), [row])[0], [0.1 / 0.55, 0.45 / 0.55, 0, 0])
        expectClose(try process(EmotionPostProcessing(maxEmotions: 2), [row])[0], [0.1 / 0.85, 0.45 / 0.85, 0.3 / 0.85, 0])
        expectClose(try process(EmotionPostProcessing(maxEmotions: 3), [row])[0], row)
        // Ties keep the emotion listed first.
        expectClose(try process(EmotionPostProcessing(maxEmotions: 1), [[0.2, 0.2, 0.4, 0.2]])[0], [1.0 / 3, 0, 2.0 / 3, 0])
        expectClose(try process(EmotionPostProcessing(maxEmotions: 1), [[0.2, 0.3, 0.2, 0.3]])[0], [0.4, 0.6, 0, 0])
    }

    @Test func blendWithPreviousIsARecursiveAverage() throws {
        let rows = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 1.0, 0, 0]].map { $0.map { max($0, 1e-300) } }
        let output = try process(EmotionPostProcessing(blendWithPrevious: 0.5), rows)
        expectClose(output[0], [1, 0, 0, 0])
        expectClose(output[1], [0.5, 0.5, 0, 0])
        expectClose(output[2], [0.25, 0.75, 0, 0])
    }

    @Test func transitionSmoothingUsesSecondsNotFrames() throws {
        let rows = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 1.0, 0, 0]].map { $0.map { max($0, 1e-300) } }
        let output = try process(EmotionPostProcessing(transitionSmoothing: 1), rows, times: [0, 0.5, 1.5])
        let a1 = 1 - exp(-0.5)
        let happy1 = a1
        let happy2 = happy1 + (1 - exp(-1.0)) * (1 - happy1)
        expectClose(output[1], [1 - happy1, happy1, 0, 0])
        expectClose(output[2], [1 - happy2, happy2, 0, 0])
        // A change is 63.2% done after T seconds, whatever the frame rate.
        for rate in [10.0, 100.0] {
            let count = Int(rate) + 1
            let steps = (0..<count).map { $0 == 0 ? [1.0, 1e-300, 1e-300, 1e-300] : [1e-300, 1.0, 1e-300, 1e-300] }
            let smoothed = try process(
                EmotionPostProcessing(transitionSmoothing: 0.5), steps, times: (0..<count).map { Double($0) / rate })
            #expect(abs(smoothed[Int(rate / 2)][1] - (1 - exp(-1))) < 1e-9)
        }
    }

    @Test func preferredEmotionIsMixedIn() throws {
        let output = try process(EmotionPostProcessing(preferredEmotion: "sad", preferredStrength: 0.25), [[0.2, 0.6, 0.2, 1e-300]])
        expectClose(output[0], [0.15, 0.45, 0.4, 0])
    }

    @Test func strengthIsRelativeToNeutral() throws {
        let output = try process(EmotionPostProcessing(strength: 0.5), [[0.2, 0.6, 0.2, 1e-300]])
        expectClose(output[0], [0.6, 0.3, 0.1, 0])
    }

    static let gainCases: [(Double, [Double])] = [
        (0.5, [0.5, 0.3, 0.2, 0.0]),  // happy's share halves, neutral takes the rest
        (2.0, [0.0, 1.2 / 1.4, 0.2 / 1.4, 0.0]),  // over 1: renormalised, no neutral left
        (0.0, [0.8, 0.0, 0.2, 0.0]),
    ]

    @Test(arguments: gainCases)
    func gainsScaleAnEmotionsShare(gain: Double, expected: [Double]) throws {
        let output = try process(EmotionPostProcessing(gains: ["happy": gain]), [[0.2, 0.6, 0.2, 1e-300]])
        expectClose(output[0], expected)
    }

    @Test func theStepsRunInTheDocumentedOrder() throws {
        // Contrast before strength: [0.2, 0.8] -> contrast 2 -> [0.0588, 0.9412] -> strength 0.5.
        let output = try process(EmotionPostProcessing(contrast: 2, strength: 0.5), [[0.2, 0.8]], emotions: ["neutral", "happy"])
        let sharpened = [0.04 / 0.68, 0.64 / 0.68]
        expectClose(output[0], [0.5 * sharpened[0] + 0.5, 0.5 * sharpened[1]])
        // Confidence before contrast: c = 2, c0 = 2 -> [0.6, 0.4] -> squared [0.36, 0.16] / 0.52.
        let weighted = try process(
            EmotionPostProcessing(confidenceWeighting: 2, contrast: 2), [[0.2, 0.8]], emotions: ["neutral", "happy"], concentration: 2)
        expectClose(weighted[0], [0.36 / 0.52, 0.16 / 0.52])
    }

    @Test func applyKeepsMixturesAndConcentrations() throws {
        let track = Tracks.make(emotions: Self.emotions, times: [0, 0.1], mixtures: [[0.1, 0.5, 0.3, 0.1], [0.4, 0.2, 0.2, 0.2]], concentration: 7)
        let processed = try EmotionPostProcessing(strength: 0.5).apply(to: track)
        #expect(processed.emotions == Self.emotions)
        #expect(processed.times == track.times)
        for frame in 0..<2 {
            #expect(abs(processed.concentration(frame: frame) - 7) < 1e-9)
            let expected = track.mixture(frame: frame).enumerated().map { $0.offset == 0 ? 0.5 * $0.element + 0.5 : 0.5 * $0.element }
            expectClose(processed.mixture(frame: frame), expected, 1e-12)
        }
    }

    static let invalid: [(EmotionPostProcessing, String)] = [
        (EmotionPostProcessing(contrast: 0), "postProcessing.contrast"),
        (EmotionPostProcessing(contrast: .nan), "postProcessing.contrast"),
        (EmotionPostProcessing(maxEmotions: 0), "postProcessing.maxEmotions"),
        (EmotionPostProcessing(blendWithPrevious: 1), "postProcessing.blendWithPrevious"),
        (EmotionPostProcessing(transitionSmoothing: -1), "postProcessing.transitionSmoothing"),
        (EmotionPostProcessing(preferredEmotion: "sad", preferredStrength: 1.5), "postProcessing.preferredStrength"),
        (EmotionPostProcessing(strength: 1.2), "postProcessing.strength"),
        (EmotionPostProcessing(confidenceWeighting: -1), "postProcessing.confidenceWeighting"),
        (EmotionPostProcessing(gains: ["happy": -1]), "postProcessing.gain"),
        (EmotionPostProcessing(gains: ["neutral": 2]), "postProcessing.gain"),
        (EmotionPostProcessing(gains: ["boredom": 2]), "postProcessing.unknownEmotion"),
        (EmotionPostProcessing(preferredEmotion: "boredom", preferredStrength: 0.5), "postProcessing.unknownEmotion"),
    ]

    @Test(arguments: invalid)
    func badSettingsAreRefused(settings: EmotionPostProcessing, code: String) throws {
        let track = Tracks.make(emotions: Self.emotions, times: [0], mixtures: [[0.25, 0.25, 0.25, 0.25]])
        let error = try #require(throws: CurvesError.self) { try settings.process(track) }
        #expect(error.code == code, "\(error.message)")
    }

    @Test func badTracksAreRefusedNotCrashed() throws {
        let nan = EmotionTrack(emotions: ["neutral", "happy"], times: [0, 1], alpha: [1, 1, .nan, 1], source: "t.json")
        let error = try #require(throws: CurvesError.self) { try EmotionPostProcessing().process(nan) }
        #expect(error.message.hasPrefix("t.json: frame 1, emotion neutral"))
        let backwards = EmotionTrack(emotions: ["happy"], times: [1, 0.5], alpha: [1, 1], source: "t.json")
        #expect(throws: CurvesError.self) { try EmotionPostProcessing().process(backwards) }
        let empty = EmotionTrack(emotions: ["happy"], times: [], alpha: [], source: "t.json")
        #expect(throws: CurvesError.self) { try EmotionPostProcessing().process(empty) }
    }

    @Test func summaryListsEverySettingInOrder() {
        let settings = EmotionPostProcessing(contrast: 1.5, maxEmotions: 3, gains: ["sad": 0.5, "angry": 2])
        #expect(settings.summary.map(\.key) == [
            "confidenceWeighting", "contrast", "maxEmotions", "blendWithPrevious", "transitionSmoothing", "preferredEmotion",
            "preferredStrength", "strength", "gains",
        ])
        #expect(settings.summary.first { $0.key == "gains" }?.value == "angry=2,sad=0.5")
        #expect(settings.summary.first { $0.key == "contrast" }?.value == "1.5")
    }
}

@Suite("Emotion post-processing from JSON")
struct PostProcessingJSONTests {
    @Test func readsEveryField() throws {
        let text = """
            {"confidenceWeighting": 3, "contrast": 1.5, "maxEmotions": 2, "blendWithPrevious": 0.2,
             "transitionSmoothing": 0.1, "preferredEmotion": "happy", "preferredStrength": 0.3, "strength": 0.8,
             "gains": {"angry": 0.5}}
            """
        let settings = try EmotionPostProcessing(json: JSONField(try JSONCodec.parse(Data(text.utf8), source: "p.json"), source: "p.json"))
        #expect(
            settings == EmotionPostProcessing(
                confidenceWeighting: 3, contrast: 1.5, maxEmotions: 2, blendWithPrevious: 0.2, transitionSmoothing: 0.1,
                preferredEmotion: "happy", preferredStrength: 0.3, strength: 0.8, gains: ["angry": 0.5]))
    }

    @Test(arguments: [
        (#"{"contrast": 0}"#, "p.json: emotion post-processing: contrast must be > 0"),
        (#"{"strenght": 0.5}"#, "p.json: strenght: unknown field"),
        (#"{"maxEmotions": 1.5}"#, "p.json: maxEmotions: expected a whole number"),
        (#"{"gains": {"neutral": 2}}"#, "p.json: emotion post-processing: a gain on neutral is not allowed"),
    ])
    func badFieldsNameFileAndField(text: String, message: String) throws {
        let root = JSONField(try JSONCodec.parse(Data(text.utf8), source: "p.json"), source: "p.json")
        let error = try #require(throws: (any Error).self) { try EmotionPostProcessing(json: root) }
        #expect(oneLineMessage(error).hasPrefix(message), "\(oneLineMessage(error))")
    }
}
