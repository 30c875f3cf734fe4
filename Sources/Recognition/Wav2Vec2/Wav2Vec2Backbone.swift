import Foundation
import Neural

/// wav2vec2 inference on OpenBLAS: waveform -> convolutional feature encoder -> feature
/// projection -> positional convolution -> transformer, for one clip (batch 1, no padding mask).
///
/// Activations are time-major `(frames, channels)` throughout, so every convolution and linear
/// layer is an sgemm on rows. Buffers live in a workspace sized for the longest input seen and
/// reused; calls are serialised by a lock (the workspace is shared), so one model may be used
/// from several threads, one window at a time.
public final class Wav2Vec2Backbone {
    public let config: Wav2Vec2Config
    public let weights: Wav2Vec2Weights
    private var workspace = Workspace()
    private let lock = NSLock()

    public init(config: Wav2Vec2Config, weights: Wav2Vec2Weights) {
        self.config = config
        self.weights = weights
    }

    /// The transformer's input and each layer's output, in the order transformers returns them
    /// as `hidden_states` (index 0: the encoder's input to layer 0; index i: layer i's output).
    public typealias LayerObserver = (_ index: Int, _ states: UnsafePointer<Float>, _ frames: Int) -> Void

    /// Runs the model on `samples` and hands the last hidden state `(frames, hidden)` to `body`.
    /// Throws when the input is shorter than one frame's receptive field.
    public func run<Result>(
        _ samples: UnsafeBufferPointer<Float>, observer: LayerObserver? = nil,
        _ body: (_ lastHiddenState: UnsafePointer<Float>, _ frames: Int) throws -> Result
    ) throws -> Result {
        let frames = config.frames(forSamples: samples.count)
        guard frames > 0 else {
            throw RecognitionError(
                "model.inputTooShort",
                "\(samples.count) samples are shorter than one frame of this model (\(config.receptiveField) samples)")
        }
        lock.lock()
        defer { lock.unlock() }
        workspace.reserve(samples: samples.count, config: config)
        let last = forward(samples, frames: frames, observer: observer)
        return try body(last, frames)
    }

    /// The last hidden state as a tensor `(frames, hidden)`.
    public func lastHiddenState(_ samples: [Float]) throws -> Tensor {
        try samples.withUnsafeBufferPointer { buffer in
            try run(buffer) { states, frames in
                Tensor(shape: [frames, config.hiddenSize], data: Array(UnsafeBufferPointer(start: states, count: frames * config.hiddenSize)))
            }
        }
    }

    // MARK: - Forward pass

    private func forward(_ samples: UnsafeBufferPointer<Float>, frames: Int, observer: LayerObserver?) -> UnsafePointer<Float> {
        let w = workspace
        let hidden = config.hiddenSize
        let epsilon = config.layerNormEpsilon

        // Feature encoder: conv -> (norm) -> GELU, ping-ponging between two buffers.
        var input = UnsafePointer(samples.baseAddress!)
        var inputFrames = samples.count
        var channels = 1
        for (index, convolution) in weights.convolutions.enumerated() {
            let output = index % 2 == 0 ? w.convolutionA : w.convolutionB
            convolve(input, frames: inputFrames, weights: convolution, into: output, scratch: w.scratch)
            inputFrames = convolution.outputFrames(forInput: inputFrames)
            channels = convolution.outputChannels
            if config.featureNorm == .layer {
                let norm = weights.convolutionNorms[index]
                layerNormRows(output, rows: inputFrames, width: channels, gamma: norm.gamma, beta: norm.beta, epsilon: epsilon, into: output)
            } else if index == 0 {
                let norm = weights.convolutionNorms[0]
                groupNormPerChannel(output, frames: inputFrames, channels: channels, gamma: norm.gamma, beta: norm.beta, epsilon: epsilon)
            }
            geluInPlace(output, count: inputFrames * channels)
            input = UnsafePointer(output)
        }
        precondition(inputFrames == frames)

        // Feature projection: layer norm over the conv channels, then a linear layer to `hidden`.
        let features = weights.convolutions.count % 2 == 0 ? w.convolutionA : w.convolutionB
        let norm = weights.projectionNorm
        layerNormRows(input, rows: frames, width: channels, gamma: norm.gamma, beta: norm.beta, epsilon: epsilon, into: features)
        apply(weights.projection, features, rows: frames, into: w.hidden)

        // Positional convolution (grouped, same padding, GELU) added to the features.
        convolveGrouped(w.hidden, frames: frames, weights: weights.positional, outFrames: frames, into: w.temporary, scratch: w.scratch)
        geluInPlace(w.temporary, count: frames * hidden)
        add(w.temporary, into: w.hidden, count: frames * hidden)

        let encoderNorm = weights.encoderNorm
        if !config.stableLayerNorm {
            layerNormRows(w.hidden, rows: frames, width: hidden, gamma: encoderNorm.gamma, beta: encoderNorm.beta, epsilon: epsilon, into: w.hidden)
        }
        observer?(0, w.hidden, frames)
        for (index, layer) in weights.layers.enumerated() {
            if config.stableLayerNorm {
                // Pre-norm: x += attention(norm(x)); x += feedForward(norm(x)).
                layerNormRows(w.hidden, rows: frames, width: hidden, gamma: layer.attentionNorm.gamma, beta: layer.attentionNorm.beta, epsilon: epsilon, into: w.temporary)
                attention(layer, w.temporary, frames: frames, into: w.context)
                add(w.context, into: w.hidden, count: frames * hidden)
                layerNormRows(w.hidden, rows: frames, width: hidden, gamma: layer.finalNorm.gamma, beta: layer.finalNorm.beta, epsilon: epsilon, into: w.temporary)
                feedForward(layer, w.temporary, frames: frames, into: w.context)
                add(w.context, into: w.hidden, count: frames * hidden)
            } else {
                // Post-norm: x = norm(x + attention(x)); x = norm(x + feedForward(x)).
                attention(layer, w.hidden, frames: frames, into: w.context)
                add(w.context, into: w.hidden, count: frames * hidden)
                layerNormRows(w.hidden, rows: frames, width: hidden, gamma: layer.attentionNorm.gamma, beta: layer.attentionNorm.beta, epsilon: epsilon, into: w.hidden)
                feedForward(layer, w.hidden, frames: frames, into: w.context)
                add(w.context, into: w.hidden, count: frames * hidden)
                layerNormRows(w.hidden, rows: frames, width: hidden, gamma: layer.finalNorm.gamma, beta: layer.finalNorm.beta, epsilon: epsilon, into: w.hidden)
            }
            observer?(index + 1, w.hidden, frames)
        }
        if config.stableLayerNorm {
            layerNormRows(w.hidden, rows: frames, width: hidden, gamma: encoderNorm.gamma, beta: encoderNorm.beta, epsilon: epsilon, into: w.hidden)
        }
        return UnsafePointer(w.hidden)
    }

    /// Multi-head self-attention: fused QKV projection, per head softmax(Q K^T) V (the scale is
    /// in the query weights), then the output projection.
    // (frames, hidden) -> (frames, hidden)
    private func attention(_ layer: Wav2Vec2Weights.Layer, _ x: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        let w = workspace
        let hidden = config.hiddenSize, head = config.headDimension, width = 3 * hidden
        apply(layer.queryKeyValue, x, rows: frames, into: w.queryKeyValue)
        for index in 0..<config.attentionHeads {
            let query = w.queryKeyValue + index * head
            let key = query + hidden
            let value = query + 2 * hidden
            // (frames, head) x (frames, head)^T -> (frames, frames)
            gemmStrided(query, lda: width, key, ldb: width, w.scores, ldc: frames, m: frames, n: frames, k: head, transposeB: true)
            softmaxRows(w.scores, rows: frames, width: frames)
            // (frames, frames) x (frames, head) -> columns of this head in (frames, hidden)
            gemmStrided(w.scores, lda: frames, value, ldb: width, w.temporary + index * head, ldc: hidden, m: frames, n: head, k: frames)
        }
        apply(layer.attentionOutput, w.temporary, rows: frames, into: output)
    }

    // (frames, hidden) -> (frames, intermediate) -> GELU -> (frames, hidden)
    private func feedForward(_ layer: Wav2Vec2Weights.Layer, _ x: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        let w = workspace
        apply(layer.intermediate, x, rows: frames, into: w.intermediate)
        geluInPlace(w.intermediate, count: frames * config.intermediateSize)
        apply(layer.output, w.intermediate, rows: frames, into: output)
    }

    private func apply(_ layer: Wav2Vec2Weights.Linear, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        layer.weight.withUnsafeBufferPointer { weight in
            layer.bias.withUnsafeBufferPointer { bias in
                linear(x, rows: rows, input: layer.input, weight: weight.baseAddress!, bias: bias.baseAddress!, output: layer.output, into: y)
            }
        }
    }

    private func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        KernelThreads.forEach(count, grain: 32_768) { range in
            for index in range { target[index] += source[index] }
        }
    }

    // MARK: - Workspace

    /// Every buffer a forward pass needs, allocated once for the longest input seen.
    final class Workspace {
        private(set) var samples = -1
        private var storage: [UnsafeMutablePointer<Float>] = []
        var convolutionA = Workspace.placeholder
        var convolutionB = Workspace.placeholder
        var scratch = Workspace.placeholder
        var hidden = Workspace.placeholder
        var temporary = Workspace.placeholder
        var context = Workspace.placeholder
        var queryKeyValue = Workspace.placeholder
        var intermediate = Workspace.placeholder
        var scores = Workspace.placeholder

        /// Stands in until `reserve` runs; never written (nothing runs before `reserve`).
        static let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)

        deinit { release() }

        private func release() {
            for buffer in storage { buffer.deallocate() }
            storage.removeAll()
        }

        /// Floats allocated (for memory reports).
        private(set) var floatCount = 0

        func reserve(samples count: Int, config: Wav2Vec2Config) {
            if count <= samples { return }
            release()
            samples = count
            floatCount = 0
            func allocate(_ floats: Int) -> UnsafeMutablePointer<Float> {
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, floats))
                storage.append(buffer)
                floatCount += floats
                return buffer
            }
            var sizes = [0, 0]
            var frames = count
            var scratch = 0
            for (index, channels) in config.convolutionChannels.enumerated() {
                let kernel = config.convolutionKernels[index]
                let next = frames < kernel ? 0 : (frames - kernel) / config.convolutionStrides[index] + 1
                if index == 0 { scratch = next * kernel }
                sizes[index % 2] = max(sizes[index % 2], next * channels)
                frames = next
            }
            let hidden = config.hiddenSize
            // The feature projection's layer norm writes beside the last conv output.
            sizes[config.convolutionChannels.count % 2] = max(sizes[config.convolutionChannels.count % 2], frames * config.convolutionChannels.last!)
            scratch = max(scratch, frames * config.positionalKernel * (hidden / config.positionalGroups))
            convolutionA = allocate(sizes[0])
            convolutionB = allocate(sizes[1])
            self.scratch = allocate(scratch)
            self.hidden = allocate(frames * hidden)
            temporary = allocate(frames * hidden)
            context = allocate(frames * hidden)
            queryKeyValue = allocate(frames * 3 * hidden)
            intermediate = allocate(frames * config.intermediateSize)
            scores = allocate(frames * frames)
        }
    }
}
