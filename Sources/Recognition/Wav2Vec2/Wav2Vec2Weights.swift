import Foundation
import Neural

/// The backbone's weights, rearranged once at load for the kernels: convolutions as `(out,
/// kernel * in)` matrices (packed with the linear layers where the AVX-512 kernel runs), the
/// positional convolution's weight norm applied, query/key/value fused into one
/// matrix with the attention scale 1/sqrt(head dim) folded into the query rows.
public struct Wav2Vec2Weights: Sendable {
    public struct Norm: Sendable {
        public var gamma: [Float]
        public var beta: [Float]
    }

    public struct Linear: Sendable {
        /// `(output, input)`, as PyTorch stores it.
        public var weight: [Float]
        public var bias: [Float]
        public var output: Int
        public var input: Int
    }

    /// The backbone's linear layers, packed at load for the AVX-512 kernel where the CPU has it.
    public struct Layer: Sendable {
        /// `(3 * hidden, hidden)`: query rows (pre-scaled), then key, then value.
        public var queryKeyValue: PackedLinear
        public var attentionOutput: PackedLinear
        public var attentionNorm: Norm
        public var intermediate: PackedLinear
        public var output: PackedLinear
        public var finalNorm: Norm
    }

    public var convolutions: [ConvolutionWeights]
    /// One per convolution (layer layout) or only the first (group layout).
    public var convolutionNorms: [Norm]
    public var projectionNorm: Norm
    public var projection: PackedLinear
    public var positional: GroupedConvolutionWeights
    public var encoderNorm: Norm
    public var layers: [Layer]

    /// Reads every tensor under `prefix` ("" for a bare Wav2Vec2Model, "wav2vec2." under a head)
    /// and checks its shape against `config`.
    public init(file: SafetensorsFile, prefix: String, config: Wav2Vec2Config) throws {
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] { try file.tensor(prefix + name, shape: shape).data }
        func norm(_ name: String, _ width: Int) throws -> Norm {
            Norm(gamma: try tensor("\(name).weight", [width]), beta: try tensor("\(name).bias", [width]))
        }
        func linear(_ name: String, output: Int, input: Int) throws -> Linear {
            Linear(weight: try tensor("\(name).weight", [output, input]), bias: try tensor("\(name).bias", [output]), output: output, input: input)
        }
        func packed(_ name: String, output: Int, input: Int) throws -> PackedLinear {
            PackedLinear(weight: try tensor("\(name).weight", [output, input]), bias: try tensor("\(name).bias", [output]), output: output, input: input)
        }
        let hidden = config.hiddenSize
        var convolutions: [ConvolutionWeights] = []
        var norms: [Norm] = []
        var input = 1
        for (index, channels) in config.convolutionChannels.enumerated() {
            let kernel = config.convolutionKernels[index]
            let base = "feature_extractor.conv_layers.\(index)"
            let weight = try tensor("\(base).conv.weight", [channels, input, kernel])
            let bias = config.convolutionBias ? try tensor("\(base).conv.bias", [channels]) : nil
            convolutions.append(
                ConvolutionWeights(
                    pytorch: weight, outputChannels: channels, inputChannels: input, kernel: kernel,
                    stride: config.convolutionStrides[index], bias: bias))
            if config.featureNorm == .layer || index == 0 {
                norms.append(try norm("\(base).layer_norm", channels))
            }
            input = channels
        }
        self.convolutions = convolutions
        convolutionNorms = norms
        projectionNorm = try norm("feature_projection.layer_norm", input)
        projection = try packed("feature_projection.projection", output: hidden, input: input)

        let per = hidden / config.positionalGroups
        let kernel = config.positionalKernel
        let positionalShape = [hidden, per, kernel]
        let base = "encoder.pos_conv_embed.conv"
        let weight: [Float]
        if file.contains(prefix + "\(base).weight_g") {
            weight = weightNormKernelDimension(
                g: try tensor("\(base).weight_g", [1, 1, kernel]), v: try tensor("\(base).weight_v", positionalShape),
                out: hidden, input: per, kernel: kernel)
        } else if file.contains(prefix + "\(base).parametrizations.weight.original0") {
            weight = weightNormKernelDimension(
                g: try tensor("\(base).parametrizations.weight.original0", [1, 1, kernel]),
                v: try tensor("\(base).parametrizations.weight.original1", positionalShape), out: hidden, input: per, kernel: kernel)
        } else if file.contains(prefix + "\(base).weight") {
            weight = try tensor("\(base).weight", positionalShape)  // weight norm already folded in
        } else {
            throw RecognitionError(
                "model.missingTensor",
                "\(file.url.path): no positional convolution weights (\(prefix)\(base).weight_g/weight_v or \(prefix)\(base).parametrizations.weight.original0/1)")
        }
        positional = GroupedConvolutionWeights(
            pytorch: weight, channels: hidden, groups: config.positionalGroups, kernel: kernel, padding: kernel / 2,
            bias: try tensor("\(base).bias", [hidden]))
        encoderNorm = try norm("encoder.layer_norm", hidden)

        let scale = 1 / Float(config.headDimension).squareRoot()
        layers = try (0..<config.layers).map { index in
            let base = "encoder.layers.\(index)"
            let query = try linear("\(base).attention.q_proj", output: hidden, input: hidden)
            let key = try linear("\(base).attention.k_proj", output: hidden, input: hidden)
            let value = try linear("\(base).attention.v_proj", output: hidden, input: hidden)
            let fused = PackedLinear(
                weight: query.weight.map { $0 * scale } + key.weight + value.weight,
                bias: query.bias.map { $0 * scale } + key.bias + value.bias, output: 3 * hidden, input: hidden)
            return Layer(
                queryKeyValue: fused,
                attentionOutput: try packed("\(base).attention.out_proj", output: hidden, input: hidden),
                attentionNorm: try norm("\(base).layer_norm", hidden),
                intermediate: try packed("\(base).feed_forward.intermediate_dense", output: config.intermediateSize, input: hidden),
                output: try packed("\(base).feed_forward.output_dense", output: hidden, input: config.intermediateSize),
                finalNorm: try norm("\(base).final_layer_norm", hidden))
        }
    }
}
