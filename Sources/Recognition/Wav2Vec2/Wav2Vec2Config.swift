import Foundation
import JSONIO

/// The fields of a Hugging Face wav2vec2 `config.json` the runtime uses (names and defaults as
/// in transformers' `Wav2Vec2Config`). Both layouts are covered: "base" (group-norm feature
/// encoder, post-norm transformer) and "stable layer norm" (layer-norm feature encoder,
/// pre-norm transformer, used by the large and XLS-R checkpoints).
public struct Wav2Vec2Config: Sendable, Equatable {
    public enum FeatureNorm: String, Sendable { case group, layer }

    public var hiddenSize = 768
    public var layers = 12
    public var attentionHeads = 12
    public var intermediateSize = 3072
    public var layerNormEpsilon: Float = 1e-5
    public var featureNorm = FeatureNorm.group
    public var convolutionChannels = [512, 512, 512, 512, 512, 512, 512]
    public var convolutionKernels = [10, 3, 3, 3, 3, 2, 2]
    public var convolutionStrides = [5, 2, 2, 2, 2, 2, 2]
    public var convolutionBias = false
    public var positionalKernel = 128
    public var positionalGroups = 16
    public var stableLayerNorm = false
    public var useWeightedLayerSum = false
    public var classifierProjectionSize = 256
    /// Class names by id (`id2label`), for sequence-classification checkpoints.
    public var labels: [String] = []
    public var architectures: [String] = []
    public var modelType = "wav2vec2"

    public init() {}

    public var headDimension: Int { hiddenSize / attentionHeads }

    /// Samples one output frame covers (400 for wav2vec2-base: 25 ms at 16 kHz).
    public var receptiveField: Int {
        var field = 1
        var jump = 1
        for (kernel, stride) in zip(convolutionKernels, convolutionStrides) {
            field += (kernel - 1) * jump
            jump *= stride
        }
        return field
    }

    /// Samples between output frames (320 for wav2vec2-base: 20 ms, 50 frames per second).
    public var frameStride: Int { convolutionStrides.reduce(1, *) }

    /// Output frames for `samples` input samples (0 when shorter than the receptive field).
    public func frames(forSamples samples: Int) -> Int {
        var frames = samples
        for (kernel, stride) in zip(convolutionKernels, convolutionStrides) {
            frames = frames < kernel ? 0 : (frames - kernel) / stride + 1
        }
        return frames
    }

    public init(json root: JSONField) throws {
        func int(_ key: String, _ fallback: Int) throws -> Int { try root.optional(key)?.int() ?? fallback }
        func ints(_ key: String, _ fallback: [Int]) throws -> [Int] { try root.optional(key)?.array().map { try $0.int() } ?? fallback }
        func bool(_ key: String, _ fallback: Bool) throws -> Bool { try root.optional(key)?.bool() ?? fallback }
        modelType = try root.optional("model_type")?.string() ?? modelType
        architectures = try root.optional("architectures")?.strings() ?? []
        hiddenSize = try int("hidden_size", hiddenSize)
        layers = try int("num_hidden_layers", layers)
        attentionHeads = try int("num_attention_heads", attentionHeads)
        intermediateSize = try int("intermediate_size", intermediateSize)
        layerNormEpsilon = Float(try root.optional("layer_norm_eps")?.double() ?? Double(layerNormEpsilon))
        if let norm = try root.optional("feat_extract_norm") {
            guard let value = FeatureNorm(rawValue: try norm.string()) else { throw norm.fail("expected \"group\" or \"layer\"") }
            featureNorm = value
        }
        convolutionChannels = try ints("conv_dim", convolutionChannels)
        convolutionKernels = try ints("conv_kernel", convolutionKernels)
        convolutionStrides = try ints("conv_stride", convolutionStrides)
        convolutionBias = try bool("conv_bias", convolutionBias)
        positionalKernel = try int("num_conv_pos_embeddings", positionalKernel)
        positionalGroups = try int("num_conv_pos_embedding_groups", positionalGroups)
        stableLayerNorm = try bool("do_stable_layer_norm", stableLayerNorm)
        useWeightedLayerSum = try bool("use_weighted_layer_sum", useWeightedLayerSum)
        classifierProjectionSize = try int("classifier_proj_size", classifierProjectionSize)
        if let labelsField = try root.optional("id2label") {
            let entries = try labelsField.object()
            var byIndex: [Int: String] = [:]
            for (key, field) in entries {
                guard let index = Int(key), index >= 0, index < entries.count else {
                    throw field.fail("label id \"\(key)\" is not one of 0..<\(entries.count)")
                }
                byIndex[index] = try field.string()
            }
            labels = (0..<entries.count).map { byIndex[$0]! }
        }
        for (key, activation) in [("hidden_act", "gelu"), ("feat_extract_activation", "gelu")] {
            if let field = try root.optional(key), try field.string() != activation {
                throw field.fail("activation \"\(try field.string())\" is not supported (only \"\(activation)\")")
            }
        }
        let sizes = [hiddenSize, layers, attentionHeads, intermediateSize, positionalKernel, positionalGroups, classifierProjectionSize]
        guard sizes.allSatisfy({ $0 > 0 }) else { throw root.fail("sizes must be positive") }
        guard hiddenSize % attentionHeads == 0 else {
            throw root.fail("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(attentionHeads)")
        }
        guard hiddenSize % positionalGroups == 0 else {
            throw root.fail("hidden_size \(hiddenSize) is not a multiple of num_conv_pos_embedding_groups \(positionalGroups)")
        }
        guard !convolutionChannels.isEmpty, convolutionChannels.count == convolutionKernels.count,
            convolutionChannels.count == convolutionStrides.count,
            (convolutionChannels + convolutionKernels + convolutionStrides).allSatisfy({ $0 > 0 })
        else {
            throw root.fail("conv_dim, conv_kernel and conv_stride must be positive and of equal length")
        }
    }
}
