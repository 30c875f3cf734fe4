import Foundation
import JSONIO
import Neural

/// A wav2vec2 backbone with an emotion head, as an `EmotionModel`.
///
/// Heads:
/// - `dirichlet` (ours, DESIGN.md): mean over frames -> FC(K) -> alpha = x^2 + 1e-6. Weights
///   `wav2vec2.*` + `head.weight (K, hidden)`, `head.bias (K)`; `architectures:
///   ["EmoBakeWav2Vec2Dirichlet"]` and the emotion names under `emotions` in config.json.
/// - `sequenceClassification` (transformers' `Wav2Vec2ForSequenceClassification`, so existing
///   speech-emotion checkpoints load as they are): optional softmax-weighted sum of the
///   hidden states (`use_weighted_layer_sum`), projector, mean over frames, classifier. Its
///   mixture is softmax(logits); as a Dirichlet it reports alpha = softmax(logits) x
///   `classifierConcentration`, a fixed confidence, since such heads do not estimate one.
public final class Wav2Vec2EmotionModel: EmotionModel {
    /// sum(alpha) reported for classifier heads: every frame equally (and fairly) confident.
    public static let classifierConcentration = 100.0

    public enum Head: Sendable {
        case dirichlet(weight: [Float], bias: [Float])
        case sequenceClassification(projector: Wav2Vec2Weights.Linear, classifier: Wav2Vec2Weights.Linear, layerWeights: [Float]?)
    }

    public let backbone: Wav2Vec2Backbone
    public let head: Head
    public let emotions: [String]
    public let sampleRate = 16_000
    public let identifier: String
    /// Zero-mean, unit-variance normalisation of each window (`do_normalize` of the feature
    /// extractor, as transformers' Wav2Vec2FeatureExtractor does before the model).
    public let normalizesInput: Bool

    public init(backbone: Wav2Vec2Backbone, head: Head, emotions: [String], identifier: String, normalizesInput: Bool) {
        self.backbone = backbone
        self.head = head
        self.emotions = emotions
        self.identifier = identifier
        self.normalizesInput = normalizesInput
    }

    public func alpha(for samples: ArraySlice<Float>) throws -> [Double] {
        var window = Array(samples)
        if normalizesInput { Self.normalize(&window) }
        let output = try headOutput(window)
        switch head {
        case .dirichlet: return output.map(Double.init)
        case .sequenceClassification:
            return Self.softmax(output).map { $0 * Self.classifierConcentration }
        }
    }

    /// The head's raw output for samples as given (no normalisation): alpha for the Dirichlet
    /// head, logits for a classifier.
    public func headOutput(_ samples: [Float]) throws -> [Float] {
        let hidden = backbone.config.hiddenSize
        switch head {
        case .dirichlet(let weight, let bias):
            let pooled = try samples.withUnsafeBufferPointer { buffer in
                try backbone.run(buffer) { states, frames in Self.meanOverFrames(states, frames: frames, width: hidden) }
            }
            let x = Self.dense(pooled, weight: weight, bias: bias)
            return x.map { $0 * $0 + 1e-6 }
        case .sequenceClassification(let projector, let classifier, let layerWeights):
            var states: [Float]
            var frames = 0
            if let layerWeights {
                // transformers: softmax(layer_weights) . stack(hidden_states), summed as each layer finishes.
                let mix = Self.softmax(layerWeights).map(Float.init)
                var sum: [Float] = []
                try samples.withUnsafeBufferPointer { buffer in
                    try backbone.run(buffer, observer: { index, layer, count in
                        if sum.isEmpty { sum = [Float](repeating: 0, count: count * hidden) }
                        for position in 0..<(count * hidden) { sum[position] += mix[index] * layer[position] }
                        frames = count
                    }) { _, _ in }
                }
                states = sum
            } else {
                states = try samples.withUnsafeBufferPointer { buffer in
                    try backbone.run(buffer) { pointer, count in
                        frames = count
                        return Array(UnsafeBufferPointer(start: pointer, count: count * hidden))
                    }
                }
            }
            var projected = [Float](repeating: 0, count: frames * projector.output)
            states.withUnsafeBufferPointer { input in
                projector.weight.withUnsafeBufferPointer { weight in
                    projector.bias.withUnsafeBufferPointer { bias in
                        linear(input.baseAddress!, rows: frames, input: hidden, weight: weight.baseAddress!, bias: bias.baseAddress!, output: projector.output, into: &projected)
                    }
                }
            }
            let pooled = projected.withUnsafeBufferPointer { Self.meanOverFrames($0.baseAddress!, frames: frames, width: projector.output) }
            return Self.dense(pooled, weight: classifier.weight, bias: classifier.bias)
        }
    }

    /// (x - mean) / sqrt(var + 1e-7), transformers' `zero_mean_unit_var_norm`.
    public static func normalize(_ samples: inout [Float]) {
        guard !samples.isEmpty else { return }
        var sum = 0.0
        for value in samples { sum += Double(value) }
        let mean = sum / Double(samples.count)
        var squares = 0.0
        for value in samples { squares += (Double(value) - mean) * (Double(value) - mean) }
        let scale = 1 / (squares / Double(samples.count) + 1e-7).squareRoot()
        for index in samples.indices { samples[index] = Float((Double(samples[index]) - mean) * scale) }
    }

    static func meanOverFrames(_ states: UnsafePointer<Float>, frames: Int, width: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: width)
        for frame in 0..<frames {
            for column in 0..<width { sums[column] += Double(states[frame * width + column]) }
        }
        return sums.map { Float($0 / Double(frames)) }
    }

    /// W x + b for one vector; W is `(output, input)`.
    static func dense(_ x: [Float], weight: [Float], bias: [Float]) -> [Float] {
        bias.indices.map { row in
            var total = Double(bias[row])
            for column in x.indices { total += Double(weight[row * x.count + column]) * Double(x[column]) }
            return Float(total)
        }
    }

    static func softmax(_ values: [Float]) -> [Double] {
        let largest = Double(values.max() ?? 0)
        let exponentials = values.map { Foundation.exp(Double($0) - largest) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }
}
