import Foundation
import Neural

/// The sequence model's network (Stage 2): one forward pass over a whole clip gives raw
/// outputs for every frame.
///
///   log-mel (1, N, mels, frames)
///   -> the compact backbone's blocks [3x3 conv + batch norm + ReLU] x n, each ending in a max
///      pool that halves frequency, and time too in the first `timePooledBlocks` blocks
///   -> mean over frequency: (C, N, T), T = frames / 2^timePooledBlocks
///   -> a moving mean over `windowPoolFrames` frames (none when 1)
///   -> `temporalLayers` residual blocks h += conv1d_1x1(GELU(conv1d_k(h)))   (padding k/2)
///   -> per frame, linear C -> K: raw outputs (N * T, K), rows n * T + t
///
/// Started from a Stage 1 model (`init(configuration:stageOne:)`) the backbone and the
/// head are Stage 1's and every temporal block's last convolution is zero, so before any
/// training the network is exactly "Stage 1's classifier applied to each frame's features":
/// Stage 2 training starts from what Stage 1 knows and learns to use context. With every
/// block pooling time and a window pool as wide as a Stage 1 window, that is Stage 1 run as a
/// sliding window (one window per output frame), so training starts at the teacher's quality.
///
/// Batch norm keeps Stage 1's running statistics in training too (a `Tape` with
/// `training: false` still records gradients): fine-tuning batches of a few clips would give
/// poor batch statistics, and the reference copy in DPO must compute exactly what the
/// policy computed before training.
public final class SequenceNetwork {
    public struct TemporalBlock {
        public let convolution: Variable  // (C, C, k)
        public let convolutionBias: Variable  // (C)
        public let projection: Variable  // (C, C, 1)
        public let projectionBias: Variable  // (C)
    }

    public let configuration: SequenceModelConfiguration
    /// The backbone's convolution layers (its own classifier is the head below).
    public let backbone: CompactNetwork
    public private(set) var temporal: [TemporalBlock] = []
    public var headWeight: Variable { backbone.classifierWeight }  // (K, C)
    public var headBias: Variable { backbone.classifierBias }  // (K)

    public var width: Int { configuration.backbone.channels.last! }

    /// Random weights (tests, or training from scratch).
    public init(configuration: SequenceModelConfiguration, random: inout SeededRandom) {
        self.configuration = configuration
        var backboneConfiguration = configuration.backbone
        if case .softmax = configuration.head { backboneConfiguration.head = .softmax } else { backboneConfiguration.head = .dirichlet }
        backbone = CompactNetwork(configuration: backboneConfiguration, random: &random)
        let c = width, k = configuration.temporalKernel
        for _ in 0..<configuration.temporalLayers {
            let std = (2 / Double(c * k)).squareRoot()
            temporal.append(
                TemporalBlock(
                    convolution: Variable(shape: [c, c, k], value: (0..<(c * c * k)).map { _ in Float(random.normal() * std) }, requiresGradient: true),
                    convolutionBias: Variable(zeros: [c], requiresGradient: true),
                    projection: Variable(shape: [c, c, 1], value: (0..<(c * c)).map { _ in Float(random.normal() * 0.01) }, requiresGradient: true),
                    projectionBias: Variable(zeros: [c], requiresGradient: true)))
        }
    }

    /// A Stage 2 network started from a Stage 1 compact network: same backbone weights and
    /// running statistics, Stage 1's classifier as the per-frame head, temporal blocks that
    /// start as the identity (zero projections). The configuration's backbone must match.
    public convenience init(configuration: SequenceModelConfiguration, stageOne: CompactNetwork, seed: UInt64 = 1) throws {
        guard configuration.backbone.channels == stageOne.configuration.channels,
            configuration.backbone.convolutionsPerBlock == stageOne.configuration.convolutionsPerBlock,
            configuration.emotions == stageOne.configuration.emotions,
            configuration.backbone.features == stageOne.configuration.features
        else {
            throw RecognitionError("sequence.backbone", "the Stage 1 model's layout, features or emotions differ from the sequence model's configuration")
        }
        var random = SeededRandom(seed: seed)
        self.init(configuration: configuration, random: &random)
        let state = stageOne.stateTensors
        try backbone.load { name, shape in
            guard let tensor = state[name], tensor.shape == shape else {
                throw RecognitionError("sequence.backbone", "the Stage 1 model has no tensor \(name) of shape \(shape)")
            }
            return tensor
        }
        for block in temporal {
            block.projection.value = [Float](repeating: 0, count: block.projection.count)
        }
    }

    /// Trainable parameters by name, in a fixed order; biases and norms do not decay.
    public var parameters: [(name: String, variable: Variable, decays: Bool)] {
        var result: [(String, Variable, Bool)] = backbone.parameters.map { ("backbone.\($0.name)", $0.variable, $0.decays) }
        for (index, block) in temporal.enumerated() {
            result.append(("temporal.\(index).conv.weight", block.convolution, true))
            result.append(("temporal.\(index).conv.bias", block.convolutionBias, false))
            result.append(("temporal.\(index).projection.weight", block.projection, true))
            result.append(("temporal.\(index).projection.bias", block.projectionBias, false))
        }
        return result
    }

    /// Every tensor (parameters and batch-norm statistics) by its model.safetensors name.
    public var stateTensors: [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, tensor) in backbone.stateTensors { result["backbone.\(name)"] = tensor }
        for (name, variable, _) in parameters where !name.hasPrefix("backbone.") {
            result[name] = Tensor(shape: variable.shape, data: variable.value)
        }
        return result
    }

    public func load(_ lookup: (String, [Int]) throws -> Tensor) throws {
        try backbone.load { name, shape in try lookup("backbone.\(name)", shape) }
        for (name, variable, _) in parameters where !name.hasPrefix("backbone.") {
            variable.value = try lookup(name, variable.shape).data
        }
    }

    /// Copies every weight and statistic from `other` (same configuration): the frozen
    /// reference of DPO, or a snapshot.
    public func copyWeights(from other: SequenceNetwork) throws {
        let state = other.stateTensors
        try load { name, shape in
            guard let tensor = state[name], tensor.shape == shape else { throw RecognitionError("sequence.copy", "no tensor \(name)") }
            return tensor
        }
    }

    /// A tape for training this network: it records gradients, and batch norm runs on the
    /// running statistics (`training: false`; the network has no dropout).
    public static func trainingTape() -> Tape { Tape(recording: true, training: false) }

    /// Raw outputs (N * T, K) for a batch of equal-length feature maps (1, N, mels, frames),
    /// frames >= 2^timePooledBlocks. The tape must not be in training mode (batch norm keeps
    /// its running statistics): `trainingTape()` or `Tape.inference()`.
    public func forward(_ tape: Tape, features: Variable, workspace: AutogradWorkspace) -> Variable {
        precondition(!tape.training, "SequenceNetwork.forward: use SequenceNetwork.trainingTape() or Tape.inference()")
        var h = features
        for (blockIndex, block) in backbone.layers.enumerated() {
            for layer in block {
                h = tape.convolution2D(h, weight: layer.weight, bias: nil, padding: (1, 1), workspace: workspace)
                h = tape.relu(tape.batchNorm(h, gamma: layer.gamma, beta: layer.beta, statistics: layer.statistics))
            }
            h = tape.maxPool2D(h, kernel: (2, blockIndex < configuration.timePooledBlocks ? 2 : 1))
        }
        h = tape.meanOverHeight(h)  // (C, N, T)
        if configuration.windowPoolFrames > 1 { h = tape.movingMean(h, width: configuration.windowPoolFrames) }
        let pad = configuration.temporalKernel / 2
        for block in temporal {
            var u = tape.convolution1D(h, weight: block.convolution, bias: block.convolutionBias, padding: pad, workspace: workspace)
            u = tape.gelu(u)
            u = tape.convolution1D(u, weight: block.projection, bias: block.projectionBias, workspace: workspace)
            h = tape.add(h, u)
        }
        let (channels, batch, steps) = (h.shape[0], h.shape[1], h.shape[2])
        let rows = tape.reshape(tape.permute(h, [1, 2, 0]), [batch * steps, channels])
        return tape.linear(rows, weight: headWeight, bias: headBias)
    }

    /// Alpha of every frame from raw outputs (rows of K).
    public func alpha(fromOutputs x: [Float]) -> [Double] {
        let k = configuration.emotions.count
        var result: [Double] = []
        result.reserveCapacity(x.count)
        for row in 0..<(x.count / k) { result += configuration.head.alpha(x[(row * k)..<((row + 1) * k)]) }
        return result
    }
}

extension Tape {
    /// Moving mean along the last axis with an odd `width`, centred; near the ends it is the
    /// mean of the frames that exist (no padding values enter it).
    // x: (C, N, T) -> (C, N, T)
    public func movingMean(_ x: Variable, width: Int) -> Variable {
        precondition(x.shape.count == 3 && width >= 1 && width % 2 == 1, "movingMean: expected (C, N, T) and an odd width")
        let steps = x.shape[2], planes = x.shape[0] * x.shape[1], half = width / 2
        let output = Variable(zeros: x.shape, requiresGradient: x.requiresGradient)
        // The range of frames averaged for output t, and its weight.
        func range(_ t: Int) -> (Int, Int, Float) {
            let from = max(0, t - half), to = min(steps - 1, t + half)
            return (from, to, 1 / Float(to - from + 1))
        }
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in
                for plane in 0..<planes {
                    let row = xs.baseAddress! + plane * steps
                    // Prefix sums in Double: exact enough whatever the length, and the same on every call.
                    var prefix = [Double](repeating: 0, count: steps + 1)
                    for t in 0..<steps { prefix[t + 1] = prefix[t] + Double(row[t]) }
                    for t in 0..<steps {
                        let (from, to, _) = range(t)
                        ys[plane * steps + t] = Float((prefix[to + 1] - prefix[from]) / Double(to - from + 1))
                    }
                }
            }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            var delta = [Float](repeating: 0, count: x.count)
            for plane in 0..<planes {
                for t in 0..<steps {
                    let (from, to, weight) = range(t)
                    let g = output.gradient[plane * steps + t] * weight
                    for s in from...to { delta[plane * steps + s] += g }
                }
            }
            x.addGradient(delta)
        }
        return output
    }

    /// Mean over the height (frequency) axis.
    // x: (C, N, H, W) -> (C, N, W)
    public func meanOverHeight(_ x: Variable) -> Variable {
        precondition(x.shape.count == 4, "meanOverHeight: expected (C, N, H, W), got \(x.shape)")
        let (channels, batch, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let output = Variable(zeros: [channels, batch, width], requiresGradient: x.requiresGradient)
        let scale = 1 / Float(height)
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in
                for plane in 0..<(channels * batch) {
                    for y in 0..<height {
                        let row = xs.baseAddress! + (plane * height + y) * width
                        let out = ys.baseAddress! + plane * width
                        for column in 0..<width { out[column] += row[column] }
                    }
                    for column in 0..<width { ys[plane * width + column] *= scale }
                }
            }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            var delta = [Float](repeating: 0, count: x.count)
            for plane in 0..<(channels * batch) {
                for y in 0..<height {
                    let row = (plane * height + y) * width
                    for column in 0..<width { delta[row + column] = output.gradient[plane * width + column] * scale }
                }
            }
            x.addGradient(delta)
        }
        return output
    }
}
