import Foundation
import Neural

/// The compact model's network: blocks of [3x3 convolution (no bias) + batch norm + ReLU] x n,
/// each block ending in a 2x2 max pool; then the mean over frequency and over the real
/// (unpadded) frames, dropout, and a linear layer to K raw outputs.
///
/// One definition serves training (a recording `Tape`) and inference (`Tape.inference()`).
/// Activations are channel-major, (C, N, mels, frames), so each convolution is one sgemm over
/// the whole batch. Parameter names follow PyTorch's `state_dict` of the same module tree, so
/// `scripts/compact_model_torch.py` loads model.safetensors as it is.
public final class CompactNetwork {
    public struct ConvolutionLayer {
        public let weight: Variable  // (outC, inC, 3, 3)
        public let gamma: Variable  // (outC)
        public let beta: Variable  // (outC)
        public let statistics: BatchNormStatistics
        public let prefix: String  // "blocks.b.c"
    }

    public let configuration: CompactModelConfiguration
    public private(set) var layers: [[ConvolutionLayer]] = []
    public let classifierWeight: Variable  // (K, lastC)
    public let classifierBias: Variable  // (K)

    /// Random initial weights: He-normal convolutions (std sqrt(2 / fan_in)), batch norm at
    /// identity, a small classifier (std 0.01). The classifier bias starts at 1 for the
    /// Dirichlet head, so alpha = x^2 + 1e-6 starts near 1 with a non-zero gradient 2x (a zero
    /// start would leave alpha's gradient at 0), and at 0 for the softmax head.
    public init(configuration: CompactModelConfiguration, random: inout SeededRandom) {
        self.configuration = configuration
        var inputChannels = 1
        for (block, width) in configuration.channels.enumerated() {
            var blockLayers: [ConvolutionLayer] = []
            for layer in 0..<configuration.convolutionsPerBlock[block] {
                let fanIn = Double(inputChannels * 9)
                let std = (2 / fanIn).squareRoot()
                let weights = (0..<(width * inputChannels * 9)).map { _ in Float(random.normal() * std) }
                blockLayers.append(
                    ConvolutionLayer(
                        weight: Variable(shape: [width, inputChannels, 3, 3], value: weights, requiresGradient: true),
                        gamma: Variable(shape: [width], value: [Float](repeating: 1, count: width), requiresGradient: true),
                        beta: Variable(zeros: [width], requiresGradient: true),
                        statistics: BatchNormStatistics(channels: width), prefix: "blocks.\(block).\(layer)"))
                inputChannels = width
            }
            layers.append(blockLayers)
        }
        let classes = configuration.emotions.count
        classifierWeight = Variable(
            shape: [classes, inputChannels], value: (0..<(classes * inputChannels)).map { _ in Float(random.normal() * 0.01) },
            requiresGradient: true)
        classifierBias = Variable(
            shape: [classes], value: [Float](repeating: configuration.head == .dirichlet ? 1 : 0, count: classes),
            requiresGradient: true)
    }

    /// Trainable parameters by name, in a fixed order; `decays` is false for batch-norm
    /// parameters and biases (AdamW's weight decay applies to weights only).
    public var parameters: [(name: String, variable: Variable, decays: Bool)] {
        var result: [(String, Variable, Bool)] = []
        for layer in layers.joined() {
            result.append(("\(layer.prefix).conv.weight", layer.weight, true))
            result.append(("\(layer.prefix).norm.weight", layer.gamma, false))
            result.append(("\(layer.prefix).norm.bias", layer.beta, false))
        }
        result.append(("classifier.weight", classifierWeight, true))
        result.append(("classifier.bias", classifierBias, false))
        return result
    }

    /// Every tensor of the model (parameters and batch-norm running statistics), by the
    /// names model.safetensors uses.
    public var stateTensors: [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, variable, _) in parameters { result[name] = Tensor(shape: variable.shape, data: variable.value) }
        for layer in layers.joined() {
            result["\(layer.prefix).norm.running_mean"] = Tensor(shape: [layer.statistics.mean.count], data: layer.statistics.mean)
            result["\(layer.prefix).norm.running_var"] = Tensor(shape: [layer.statistics.variance.count], data: layer.statistics.variance)
        }
        return result
    }

    /// Replaces every tensor from `lookup` (name, expected shape), which throws when one is
    /// missing or has the wrong shape.
    public func load(_ lookup: (String, [Int]) throws -> Tensor) throws {
        for (name, variable, _) in parameters {
            variable.value = try lookup(name, variable.shape).data
        }
        for layer in layers.joined() {
            let channels = layer.statistics.mean.count
            layer.statistics.mean = try lookup("\(layer.prefix).norm.running_mean", [channels]).data
            layer.statistics.variance = try lookup("\(layer.prefix).norm.running_var", [channels]).data
            guard layer.statistics.variance.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw RecognitionError("model.weights", "\(layer.prefix).norm.running_var has negative or non-finite values")
            }
        }
    }

    /// Raw outputs x (N, K) for a batch of feature maps.
    /// - features: (1, N, mels, frames), zero beyond each sample's `validFrames`;
    ///   frames >= 2^blocks.
    /// - dropoutRandom: the generator for dropout masks (training tapes only).
    public func forward(
        _ tape: Tape, features: Variable, validFrames: [Int], workspace: AutogradWorkspace,
        dropoutRandom: inout SeededRandom
    ) -> Variable {
        classify(tape, pooled: pooledFeatures(tape, features: features, validFrames: validFrames, workspace: workspace), dropoutRandom: &dropoutRandom)
    }

    /// The convolutional part: (1, N, mels, frames) -> the mean over frequency and the real
    /// frames of the last block, (N, lastC).
    public func pooledFeatures(_ tape: Tape, features: Variable, validFrames: [Int], workspace: AutogradWorkspace) -> Variable {
        var h = features
        for block in layers {
            for layer in block {
                h = tape.convolution2D(h, weight: layer.weight, bias: nil, padding: (1, 1), workspace: workspace)
                h = tape.batchNorm(h, gamma: layer.gamma, beta: layer.beta, statistics: layer.statistics, relu: true)
            }
            h = tape.maxPool2D(h)
        }
        let reduction = configuration.timeReduction
        let width = h.shape[3]
        let valid = validFrames.map { min(width, max(1, $0 / reduction)) }
        return tape.maskedMeanPool(h, validWidths: valid)
    }

    /// The head: dropout (training tapes only) and the linear layer, (N, lastC) -> (N, K).
    public func classify(_ tape: Tape, pooled: Variable, dropoutRandom: inout SeededRandom) -> Variable {
        let dropped = tape.dropout(pooled, rate: Float(configuration.dropout), random: &dropoutRandom)
        return tape.linear(dropped, weight: classifierWeight, bias: classifierBias)
    }

    /// Dirichlet parameters from one row of raw outputs, as the configured head defines them.
    public func alpha(fromOutputs x: ArraySlice<Float>) -> [Double] {
        switch configuration.head {
        case .dirichlet:
            return x.map(CompactModelConfiguration.Head.dirichletAlpha)
        case .softmax:
            let largest = Double(x.max() ?? 0)
            let exps = x.map { exp(Double($0) - largest) }
            let total = exps.reduce(0, +)
            return exps.map { max($0 / total, 1e-12) * configuration.softmaxConcentration }
        }
    }
}

extension CompactModelConfiguration.Head {
    /// The paper's Dirichlet head (arXiv 2508.14920): alpha = x^2 + 1e-6 from a raw output x.
    @inline(__always)
    public static func dirichletAlpha(_ x: Float) -> Double { Double(x) * Double(x) + 1e-6 }
}
