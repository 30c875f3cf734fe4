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

    /// Wall seconds of each stage of a forward pass (`emobake bench-runtime --stages`).
    public struct StageTimes: Sendable {
        /// The convolutional feature encoder (its norms and GELU included).
        public var featureEncoder = 0.0
        /// Feature projection and the positional convolution.
        public var positional = 0.0
        /// The transformer's linear layers (QKV, attention output, feed-forward).
        public var products = 0.0
        /// Attention between the projections: scores, softmax, weighted values.
        public var attention = 0.0
        /// The whole transformer (products and attention included; the rest is norms and sums).
        public var transformer = 0.0
    }

    /// When true, each forward pass records its `StageTimes` (a clock read around each step).
    public var timesStages = false
    /// The stages of the last forward pass while `timesStages` was on.
    public private(set) var lastStageTimes = StageTimes()
    private var stageTimes = StageTimes()

    /// Seconds since an arbitrary start, read only while `timesStages` is on.
    @inline(__always)
    private func stageClock() -> Double { timesStages ? Double(DispatchTime.now().uptimeNanoseconds) / 1e9 : 0 }

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
        workspace.reserve(samples: samples.count, config: config, positional: weights.positional)
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

        stageTimes = StageTimes()
        var clock = stageClock()
        encodeFeatures(samples, frames: frames)
        stageTimes.featureEncoder = stageClock() - clock
        clock = stageClock()
        let channels = config.convolutionChannels.last!

        // Feature projection: layer norm over the conv channels, then a linear layer to `hidden`.
        let norm = weights.projectionNorm
        layerNormRows(w.features, rows: frames, width: channels, gamma: norm.gamma, beta: norm.beta, epsilon: epsilon, into: w.features)
        weights.projection.apply(w.features, rows: frames, into: w.hidden)  // not `apply`: timed with this stage, not the transformer's products

        // Positional convolution (grouped, same padding, GELU) added to the features.
        convolveGrouped(
            w.hidden, frames: frames, weights: weights.positional, outFrames: frames, into: w.temporary, scratch: w.scratch,
            threads: min(KernelThreads.count, w.scoreThreads), activation: .gelu)
        add(w.temporary, into: w.hidden, count: frames * hidden)
        stageTimes.positional = stageClock() - clock
        clock = stageClock()
        defer {
            stageTimes.transformer = stageClock() - clock
            if timesStages { lastStageTimes = stageTimes }
        }

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

    /// Output frames of the convolutional feature encoder computed per chunk: every layer's
    /// buffers hold one chunk, so memory does not grow with the clip (a 30 s clip would need
    /// 200 MB for the first layer's output alone). Chunks overlap by the receptive field less
    /// the stride (80 samples for wav2vec2), recomputed: under 1% for 100-frame chunks.
    static let chunkFrames = 100

    /// conv -> (norm) -> GELU for every layer, chunk by chunk, into `workspace.features`
    /// `(frames, channels of the last layer)`. The base layout's group norm after the first
    /// layer needs each channel's mean and variance over the whole clip: they come from the
    /// waveform's moments (`ConvolutionWeights.outputMoments`, no pass over the layer's output),
    /// and the norm is folded into the layer's weights, so that its product applies norm and
    /// GELU at once.
    // (samples) -> (frames, convolutionChannels.last)
    private func encodeFeatures(_ samples: UnsafeBufferPointer<Float>, frames: Int) {
        let w = workspace
        var convolutions = weights.convolutions
        if config.featureNorm == .group {
            let first = convolutions[0], norm = weights.convolutionNorms[0], epsilon = Double(config.layerNormEpsilon)
            let (sums, squares) = first.outputMoments(samples.baseAddress!, frames: samples.count)
            let total = Double(first.outputFrames(forInput: samples.count))
            // PyTorch's GroupNorm (one group per channel, biased variance): (y - mean) / sqrt(variance + epsilon) * gamma + beta.
            let means = sums.map { $0 / total }
            let scale = (0..<first.outputChannels).map { channel in
                Float(1 / (max(0, squares[channel] / total - means[channel] * means[channel]) + epsilon).squareRoot()) * norm.gamma[channel]
            }
            let shift = (0..<first.outputChannels).map { channel in norm.beta[channel] - Float(means[channel]) * scale[channel] }
            convolutions[0] = first.scaled(by: scale, shift: shift)
        }
        let last = convolutions.count - 1
        var chunkStart = 0
        while chunkStart < frames {
            let chunk = min(Self.chunkFrames, frames - chunkStart)
            var input = UnsafePointer(samples.baseAddress! + chunkStart * config.frameStride)
            var inputFrames = (chunk - 1) * config.frameStride + config.receptiveField
            for (index, convolution) in convolutions.enumerated() {
                let output = index == last ? w.features + chunkStart * convolution.outputChannels : (index % 2 == 0 ? w.convolutionA : w.convolutionB)
                // Without a layer norm after it, the product applies GELU itself (the group norm is in the first layer's weights).
                let layerNorm = config.featureNorm == .layer
                convolve(input, frames: inputFrames, weights: convolution, into: output, scratch: w.scratch, activation: layerNorm ? .none : .gelu)
                inputFrames = convolution.outputFrames(forInput: inputFrames)
                if layerNorm {
                    let norm = weights.convolutionNorms[index], channels = convolution.outputChannels
                    layerNormRows(output, rows: inputFrames, width: channels, gamma: norm.gamma, beta: norm.beta, epsilon: config.layerNormEpsilon, into: output)
                    geluInPlace(output, count: inputFrames * channels)
                }
                input = UnsafePointer(output)
            }
            precondition(inputFrames == chunk, "feature encoder chunk: \(inputFrames) frames, expected \(chunk)")
            chunkStart += chunk
        }
    }

    /// Query rows per attention task: a block's scores (rows x frames) stay in the cache
    /// between the two products and the softmax (128 x 1500 floats = 768 KB for 30 s).
    static let attentionRows = 128

    /// Multi-head self-attention: fused QKV projection, then for every head and block of query
    /// rows softmax(Q K^T) V (the scale is in the query weights), then the output projection.
    /// The (head, block) tasks run on the kernel threads, each with its own score buffer and
    /// single-threaded products, taken in turn from a shared counter: short clips have 12
    /// independent heads to share, long clips keep their scores in cache.
    // (frames, hidden) -> (frames, hidden)
    private func attention(_ layer: Wav2Vec2Weights.Layer, _ x: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        let w = workspace
        let hidden = config.hiddenSize, head = config.headDimension, width = 3 * hidden
        apply(layer.queryKeyValue, x, rows: frames, into: w.queryKeyValue)
        let blocks = (frames + Self.attentionRows - 1) / Self.attentionRows
        let tasks = config.attentionHeads * blocks
        // The score buffers were sized for `scoreThreads` (read once in `reserve`).
        let threads = min(w.scoreThreads, KernelThreads.count, tasks)
        let qkv = UnsafePointer(w.queryKeyValue)
        let context = w.temporary
        let scoreSize = min(frames, Self.attentionRows) * frames
        let clock = stageClock()
        if PackedLinear.kernelAvailable {
            attentionOnPackedKernel(qkv, frames: frames, threads: min(threads, config.attentionHeads), into: context)
        } else {
            KernelThreads.forEachTask(tasks, workers: threads) { task, thread in
                let scores = w.scores + thread * scoreSize
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.attentionRows) { inverseSums in
                    let inverseSums = inverseSums.baseAddress!
                    let index = task / blocks
                    let first = (task % blocks) * Self.attentionRows
                    let rows = min(Self.attentionRows, frames - first)
                    let query = qkv + first * width + index * head
                    let key = qkv + hidden + index * head
                    let value = qkv + 2 * hidden + index * head
                    // (rows, head) x (frames, head)^T -> (rows, frames)
                    gemmSingleThreaded(query, lda: width, key, ldb: width, scores, ldc: frames, m: rows, n: frames, k: head, transposeB: true)
                    softmaxRowsUnnormalised(scores, rows: rows, width: frames, inverseSums: inverseSums)
                    // (rows, frames) x (frames, head) -> this head's columns of rows first..<first+rows,
                    // then each row divided by its softmax sum (head values instead of frames).
                    let output = context + first * hidden + index * head
                    gemmSingleThreaded(scores, lda: frames, value, ldb: width, output, ldc: hidden, m: rows, n: head, k: frames)
                    for row in 0..<rows {
                        let values = output + row * hidden
                        let inverse = inverseSums[row]
                        for column in 0..<head { values[column] *= inverse }
                    }
                }
            }
        }
        stageTimes.attention += stageClock() - clock
        apply(layer.attentionOutput, context, rows: frames, into: output)
    }

    /// The heads on the AVX-512 kernel: each task is one head, whose keys and values are packed
    /// once (into the thread's buffers) for all its blocks of query rows; the products write
    /// their outputs whole (no zeroing, no per-block packing as with OpenBLAS).
    // qkv (frames, 3 * hidden) -> context (frames, hidden)
    private func attentionOnPackedKernel(_ qkv: UnsafePointer<Float>, frames: Int, threads: Int, into context: UnsafeMutablePointer<Float>) {
        let w = workspace
        let hidden = config.hiddenSize, head = config.headDimension, width = 3 * hidden
        let heads = config.attentionHeads
        let keySize = PackedProduct.count(columns: frames, depth: head), valueSize = PackedProduct.count(columns: head, depth: frames)
        KernelThreads.forEachTask(heads, workers: threads) { index, thread in
            let keys = w.packedKeys + thread * keySize, values = w.packedValues + thread * valueSize
            withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.attentionRows) { inverseSums in
                let inverseSums = inverseSums.baseAddress!
                PackedProduct.packTransposed(qkv + hidden + index * head, ld: width, columns: frames, depth: head, into: keys)
                PackedProduct.packRows(qkv + 2 * hidden + index * head, ld: width, depth: frames, columns: head, into: values)
                // Scores and then probabilities in the layout the second product reads (the thread's own
                // buffer): no copy of them, and a block's working set stays smaller.
                let scores = PackedProduct.copiedBuffer(rows: min(Self.attentionRows, frames), depth: frames)
                var first = 0
                while first < frames {
                    let rows = min(Self.attentionRows, frames - first)
                    // (rows, head) x (frames, head)^T -> (rows, frames)
                    PackedProduct.multiply(
                        qkv + first * width + index * head, lda: width, keys, intoCopied: scores, rows: rows, columns: frames, depth: head)
                    softmaxRowsUnnormalised(copied: scores, rows: rows, width: frames, inverseSums: inverseSums)
                    // (rows, frames) x (frames, head) -> this head's columns, each row then divided by its sum.
                    let output = context + first * hidden + index * head
                    PackedProduct.multiplyCopied(scores, values, into: output, ldc: hidden, rows: rows, columns: head, depth: frames)
                    for row in 0..<rows {
                        let values = output + row * hidden
                        let inverse = inverseSums[row]
                        for column in 0..<head { values[column] *= inverse }
                    }
                    first += rows
                }
            }
        }
    }

    // (frames, hidden) -> (frames, intermediate) -> GELU -> (frames, hidden)
    private func feedForward(_ layer: Wav2Vec2Weights.Layer, _ x: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        let w = workspace
        let clock = stageClock()
        layer.intermediate.apply(x, rows: frames, into: w.intermediate, activation: .gelu)
        stageTimes.products += stageClock() - clock
        apply(layer.output, w.intermediate, rows: frames, into: output)
    }

    private func apply(_ layer: PackedLinear, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let clock = stageClock()
        layer.apply(x, rows: rows, into: y)
        stageTimes.products += stageClock() - clock
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
        var features = Workspace.placeholder
        var convolutionB = Workspace.placeholder
        var scratch = Workspace.placeholder
        var hidden = Workspace.placeholder
        var temporary = Workspace.placeholder
        var context = Workspace.placeholder
        var queryKeyValue = Workspace.placeholder
        var intermediate = Workspace.placeholder
        var scores = Workspace.placeholder
        /// Per kernel thread: one head's keys and values packed for the AVX-512 kernel (only
        /// allocated where it runs).
        var packedKeys = Workspace.placeholder
        var packedValues = Workspace.placeholder

        /// Stands in until `reserve` runs; never written (nothing runs before `reserve`).
        static let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)

        deinit { release() }

        private func release() {
            for buffer in storage { buffer.deallocate() }
            storage.removeAll()
        }

        /// Kernel threads the score buffers were sized for.
        private(set) var scoreThreads = 0

        /// Floats allocated (for memory reports).
        private(set) var floatCount = 0

        func reserve(samples count: Int, config: Wav2Vec2Config, positional: GroupedConvolutionWeights) {
            let threads = max(1, KernelThreads.count)
            if count <= samples && threads <= scoreThreads { return }
            release()
            samples = count
            floatCount = 0
            func allocate(_ floats: Int) -> UnsafeMutablePointer<Float> {
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, floats))
                storage.append(buffer)
                floatCount += floats
                return buffer
            }
            // Chunk buffers: each layer's output for one chunk of `chunkFrames` final frames.
            var sizes = [0, 0]
            let chunk = min(Wav2Vec2Backbone.chunkFrames, config.frames(forSamples: count))
            var chunkFrames = (chunk - 1) * config.frameStride + config.receptiveField
            var scratch = 0
            for (index, channels) in config.convolutionChannels.enumerated() {
                let kernel = config.convolutionKernels[index]
                let next = chunkFrames < kernel ? 0 : (chunkFrames - kernel) / config.convolutionStrides[index] + 1
                if index == 0 { scratch = next * kernel }
                sizes[index % 2] = max(sizes[index % 2], next * channels)
                chunkFrames = next
            }
            let frames = config.frames(forSamples: count)
            let hidden = config.hiddenSize
            features = allocate(frames * config.convolutionChannels.last!)
            // The positional convolution's scratch (`forward` uses at most `scoreThreads` threads for it).
            scratch = max(scratch, positional.scratchCount(forInput: frames, threads: threads))
            convolutionA = allocate(sizes[0])
            convolutionB = allocate(sizes[1])
            self.scratch = allocate(scratch)
            self.hidden = allocate(frames * hidden)
            temporary = allocate(frames * hidden)
            context = allocate(frames * hidden)
            queryKeyValue = allocate(frames * 3 * hidden)
            intermediate = allocate(frames * config.intermediateSize)
            if PackedLinear.kernelAvailable {
                // The kernel's scores live in each thread's own buffer (`PackedProduct.copiedBuffer`).
                packedKeys = allocate(threads * PackedProduct.count(columns: frames, depth: config.headDimension))
                packedValues = allocate(threads * PackedProduct.count(columns: config.headDimension, depth: frames))
            } else {
                scores = allocate(threads * min(frames, Wav2Vec2Backbone.attentionRows) * frames)
            }
            scoreThreads = threads
        }
    }
}
