import Foundation
import Neural
import Testing
import TestSupport

@testable import Recognition

/// The tiny checkpoints in Fixtures/models were saved by transformers with random weights,
/// along with PyTorch's outputs for a fixed input (scripts/make_reference_models.py). Our
/// forward pass must match them to 1e-4 (max abs difference) at every layer.
@Suite("wav2vec2 matches PyTorch on the tiny fixture checkpoints")
struct Wav2Vec2ReferenceTests {
    static let tolerance: Float = 1e-4

    static func folder(_ name: String) -> URL { TestPaths.fixtures.appendingPathComponent("models/\(name)") }

    static func reference(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(url: folder(name).appendingPathComponent("reference.safetensors"))
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: ["tiny-wav2vec2-base-dirichlet", "tiny-wav2vec2-stable", "tiny-wav2vec2-classifier"])
    func hiddenStatesMatchEveryLayer(_ name: String) throws {
        let backbone = try ModelLoader.loadWav2Vec2Backbone(directory: Self.folder(name))
        let reference = try Self.reference(name)
        let input = try reference.tensor("input").data
        var layers: [Int: [Float]] = [:]
        var frames = 0
        let last = try input.withUnsafeBufferPointer { buffer in
            try backbone.run(buffer, observer: { index, states, count in
                layers[index] = Array(UnsafeBufferPointer(start: states, count: count * backbone.config.hiddenSize))
            }) { states, count in
                frames = count
                return Array(UnsafeBufferPointer(start: states, count: count * backbone.config.hiddenSize))
            }
        }
        let expectedLast = try reference.tensor("last_hidden_state")
        #expect(expectedLast.shape == [frames, backbone.config.hiddenSize])
        #expect(Self.maxAbsDifference(last, expectedLast.data) <= Self.tolerance, "last_hidden_state")
        #expect(layers.count == backbone.config.layers + 1)
        for index in 0...backbone.config.layers {
            let expected = try reference.tensor("hidden_state.\(index)").data
            let difference = Self.maxAbsDifference(layers[index] ?? [], expected)
            #expect(difference <= Self.tolerance, "hidden_state.\(index): max abs difference \(difference)")
        }
        // A run on a different input must not leak state into a repeat of the first.
        _ = try backbone.lastHiddenState(Array(input.prefix(3_000)))
        #expect(try backbone.lastHiddenState(input).data == last)
    }

    @Test func dirichletHeadMatchesAlpha() throws {
        let name = "tiny-wav2vec2-base-dirichlet"
        let model = try #require(try ModelLoader.load(directory: Self.folder(name)) as? Wav2Vec2EmotionModel)
        let reference = try Self.reference(name)
        #expect(model.emotions == ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"])
        let alpha = try model.headOutput(try reference.tensor("input").data)
        let expected = try reference.tensor("alpha").data
        #expect(Self.maxAbsDifference(alpha, expected) <= Self.tolerance, "\(alpha) vs \(expected)")
        #expect(alpha.allSatisfy { $0 > 0 })
    }

    @Test func sequenceClassificationHeadMatchesLogits() throws {
        let name = "tiny-wav2vec2-classifier"
        let model = try #require(try ModelLoader.load(directory: Self.folder(name)) as? Wav2Vec2EmotionModel)
        let reference = try Self.reference(name)
        #expect(model.emotions == ["angry", "happy", "neutral", "sad"])
        let input = try reference.tensor("input").data
        let logits = try model.headOutput(input)
        let expected = try reference.tensor("logits").data
        #expect(Self.maxAbsDifference(logits, expected) <= Self.tolerance, "\(logits) vs \(expected)")
        // alpha = softmax(logits) x the fixed concentration; the window is normalised first
        // (preprocessor_config.json says do_normalize), which changes the logits.
        #expect(model.normalizesInput)
        var normalized = input
        Wav2Vec2EmotionModel.normalize(&normalized)
        let normalizedLogits = try model.headOutput(normalized).map(Double.init)
        let exponentials = normalizedLogits.map { exp($0 - normalizedLogits.max()!) }
        let alpha = try model.alpha(for: input[...])
        for (value, e) in zip(alpha, exponentials) {
            #expect(abs(value - e / exponentials.reduce(0, +) * Wav2Vec2EmotionModel.classifierConcentration) < 1e-6)
        }
        #expect(abs(alpha.reduce(0, +) - Wav2Vec2EmotionModel.classifierConcentration) < 1e-9)
    }

    @Test func configDerivedSizes() throws {
        let base = Wav2Vec2Config()
        #expect(base.receptiveField == 400)
        #expect(base.frameStride == 320)
        #expect(base.frames(forSamples: 16_000) == 49)
        #expect(base.frames(forSamples: 399) == 0)
        #expect(base.frames(forSamples: 400) == 1)
    }

    /// Stage times (bench-runtime --stages): off by default (nothing recorded), and when on
    /// each stage is measured, the parts of the transformer fit inside it, all the stages
    /// inside the call's own wall time; the outputs are the same either way.
    @Test func stageTimesAreRecordedOnlyWhenAskedAndAddUp() throws {
        let backbone = try ModelLoader.loadWav2Vec2Backbone(directory: Self.folder("tiny-wav2vec2-base-dirichlet"))
        let input = try Self.reference("tiny-wav2vec2-base-dirichlet").tensor("input").data
        let plain = try backbone.lastHiddenState(input).data
        #expect(backbone.lastStageTimes.featureEncoder == 0 && backbone.lastStageTimes.transformer == 0)
        backbone.timesStages = true
        let start = Date()
        let timed = try backbone.lastHiddenState(input).data
        let wall = Date().timeIntervalSince(start)
        let stages = backbone.lastStageTimes
        #expect(timed == plain)
        #expect(stages.featureEncoder > 0 && stages.positional > 0 && stages.products > 0 && stages.attention > 0)
        #expect(stages.products + stages.attention <= stages.transformer)
        #expect(stages.featureEncoder + stages.positional + stages.transformer <= wall)
    }

    @Test func tooShortInputIsAnError() throws {
        let backbone = try ModelLoader.loadWav2Vec2Backbone(directory: Self.folder("tiny-wav2vec2-stable"))
        #expect(throws: RecognitionError.self) { _ = try backbone.lastHiddenState([Float](repeating: 0.1, count: 20)) }
    }
}
