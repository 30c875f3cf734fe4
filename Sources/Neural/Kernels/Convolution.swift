import Dispatch

/// 1-D convolutions on time-major activations `(frames, channels)`, as matrix products.
///
/// PyTorch stores Conv1d weights as `(out, in / groups, kernel)`; `ConvolutionWeights` keeps
/// them reordered as `(out, kernel, in)`, so that the weights of consecutive taps j..<j+n are
/// one `(out, n * in)` matrix (row stride kernel * in) matching n consecutive input frames.
public struct ConvolutionWeights: Sendable {
    public let outputChannels: Int
    public let inputChannels: Int
    public let kernel: Int
    public let stride: Int
    /// `(out, kernel * in)` with the bias: packed for the AVX-512 kernel where it runs (see
    /// `PackedLinear`), the plain `(out, kernel, in)` matrix otherwise.
    public let linear: PackedLinear

    public var bias: [Float]? { linear.bias }

    /// From PyTorch's `(out, in, kernel)` layout. `useKernel` picks the product (tests force the
    /// OpenBLAS one).
    public init(
        pytorch weight: [Float], outputChannels: Int, inputChannels: Int, kernel: Int, stride: Int, bias: [Float]?,
        useKernel: Bool = PackedLinear.kernelAvailable
    ) {
        precondition(weight.count == outputChannels * inputChannels * kernel)
        var matrix = [Float](repeating: 0, count: weight.count)
        for output in 0..<outputChannels {
            for input in 0..<inputChannels {
                for tap in 0..<kernel {
                    matrix[(output * kernel + tap) * inputChannels + input] = weight[(output * inputChannels + input) * kernel + tap]
                }
            }
        }
        self.init(
            matrix: matrix, outputChannels: outputChannels, inputChannels: inputChannels, kernel: kernel, stride: stride, bias: bias,
            useKernel: useKernel)
    }

    /// From the reordered `(out, kernel, in)` matrix.
    init(matrix: [Float], outputChannels: Int, inputChannels: Int, kernel: Int, stride: Int, bias: [Float]?, useKernel: Bool) {
        self.outputChannels = outputChannels
        self.inputChannels = inputChannels
        self.kernel = kernel
        self.stride = stride
        linear = PackedLinear(weight: matrix, bias: bias, output: outputChannels, input: kernel * inputChannels, useKernel: useKernel)
    }

    /// The weights as the `(out, kernel, in)` matrix, one row per output channel: row o holds
    /// the weights of the `kernel * in` consecutive input values output o reads (taps outer).
    public var matrix: [Float] { linear.weightMatrix }

    /// This convolution followed by `y * scale[o] + shift[o]` on each output channel o, as one
    /// convolution (weights times scale, bias times scale plus shift): a norm whose statistics
    /// are known before the layer runs costs no pass of its own.
    public func scaled(by scale: [Float], shift: [Float]) -> ConvolutionWeights {
        precondition(scale.count == outputChannels && shift.count == outputChannels, "scaled: \(scale.count), \(shift.count) for \(outputChannels) channels")
        let width = kernel * inputChannels
        var matrix = self.matrix
        for output in 0..<outputChannels {
            for index in output * width..<(output + 1) * width { matrix[index] *= scale[output] }
        }
        let bias = (0..<outputChannels).map { output in (self.bias?[output] ?? 0) * scale[output] + shift[output] }
        return ConvolutionWeights(
            matrix: matrix, outputChannels: outputChannels, inputChannels: inputChannels, kernel: kernel, stride: stride, bias: bias,
            useKernel: linear.usesKernel)
    }

    /// Each output channel's sum and sum of squares over the `outputFrames(forInput: frames)`
    /// output frames of `x`, in Double, without computing the outputs: output o at frame t is
    /// w_o . p_t + b_o with p_t the `kernel * in` input values it reads, so with P = sum of p_t
    /// and Q = sum of p_t p_t^T (the input's moments, O((kernel * in)^2) per frame, cheap for one
    /// input channel) the sum is w_o . P + T b_o and the sum of squares w_o Q w_o^T + 2 b_o w_o . P
    /// + T b_o^2.
    public func outputMoments(_ x: UnsafePointer<Float>, frames: Int) -> (sums: [Double], squares: [Double]) {
        let count = outputFrames(forInput: frames), width = kernel * inputChannels
        var first = [Double](repeating: 0, count: width)
        var second = [Double](repeating: 0, count: width * width)
        first.withUnsafeMutableBufferPointer { first in
            second.withUnsafeMutableBufferPointer { second in
                var patch = [Double](repeating: 0, count: width)
                for frame in 0..<count {
                    let values = x + frame * stride * inputChannels
                    for index in 0..<width {
                        patch[index] = Double(values[index])
                        first[index] += patch[index]
                    }
                    // The upper triangle of Q (mirrored below).
                    for row in 0..<width {
                        let value = patch[row]
                        for column in row..<width { second[row * width + column] += value * patch[column] }
                    }
                }
                for row in 0..<width {
                    for column in 0..<row { second[row * width + column] = second[column * width + row] }
                }
            }
        }
        let matrix = self.matrix
        var sums = [Double](repeating: 0, count: outputChannels), squares = sums
        for output in 0..<outputChannels {
            let weights = matrix[output * width..<(output + 1) * width].map(Double.init)
            let bias = Double(self.bias?[output] ?? 0), total = Double(count)
            var linear = 0.0, quadratic = 0.0
            for row in 0..<width {
                linear += weights[row] * first[row]
                var inner = 0.0
                for column in 0..<width { inner += second[row * width + column] * weights[column] }
                quadratic += weights[row] * inner
            }
            sums[output] = linear + total * bias
            squares[output] = quadratic + 2 * bias * linear + total * bias * bias
        }
        return (sums, squares)
    }

    public func outputFrames(forInput frames: Int) -> Int { frames < kernel ? 0 : (frames - kernel) / stride + 1 }

    /// Floats of scratch `convolve` needs for `frames` input frames (only single-channel inputs
    /// on OpenBLAS use it).
    public func scratchCount(forInput frames: Int) -> Int {
        inputChannels == 1 && !linear.usesKernel ? outputFrames(forInput: frames) * kernel : 0
    }
}

/// y[t, o] = bias[o] + sum over taps j and channels c of x[t * stride + j, c] * W[o, c, j].
///
/// The input frames output frame t reads, t * stride onwards, are kernel * C consecutive floats
/// of the time-major input: row t of the product's left operand starts at x + t * stride * C.
/// On the AVX-512 kernel that is one product reading x in place, its rows overlapping when the
/// kernel is longer than the stride (no im2col copy; one product with k = kernel * C, shared
/// out over the kernel threads in tasks taken in turn).
///
/// On OpenBLAS, which refuses overlapping rows (lda < k): channels >= 2, up to `stride` taps
/// per sgemm (rows x + j * C, row stride stride * C >= n * C), so wav2vec2's kernel-3 stride-2
/// layers take two products (k = 2C and C) and its kernel-2 stride-2 layers one (k = 2C); one
/// channel (the raw waveform, kernel > stride): the (frames, kernel) patches are gathered into
/// `scratch` and multiplied once.
///
/// `activation` is applied to every output after the bias (fused into the kernel's last step).
// (inFrames, in) -> (outFrames, out)
public func convolve(
    _ x: UnsafePointer<Float>, frames: Int, weights: ConvolutionWeights, into y: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>?, activation: Activation = .none
) {
    let outFrames = weights.outputFrames(forInput: frames)
    guard outFrames > 0 else { return }
    let out = weights.outputChannels, input = weights.inputChannels, kernel = weights.kernel, stride = weights.stride
    if weights.linear.usesKernel {
        weights.linear.apply(x, lda: stride * input, rows: outFrames, into: y, activation: activation)
        return
    }
    defer { if activation == .gelu { geluInPlace(y, count: outFrames * out) } }
    weights.linear.plainWeights.withUnsafeBufferPointer { matrix in
        if input == 1, let scratch {
            KernelThreads.forEach(outFrames, grain: 1024) { range in
                for frame in range { (scratch + frame * kernel).update(from: x + frame * stride, count: kernel) }
            }
            // matrix (out, kernel, 1) viewed as (out, kernel): y = patches (outFrames, kernel) x matrix^T.
            gemmStrided(scratch, lda: kernel, matrix.baseAddress!, ldb: kernel, y, ldc: out, m: outFrames, n: out, k: kernel, transposeB: true)
        } else {
            var tap = 0
            while tap < kernel {
                let taps = min(stride, kernel - tap)
                gemmStrided(
                    x + tap * input, lda: stride * input, matrix.baseAddress! + tap * input, ldb: kernel * input, y, ldc: out,
                    m: outFrames, n: out, k: taps * input, transposeB: true, beta: tap == 0 ? 0 : 1)
                tap += taps
            }
        }
    }
    if let bias = weights.bias {
        bias.withUnsafeBufferPointer { bias in
            KernelThreads.forEach(outFrames, grain: 256) { range in
                for frame in range {
                    let row = y + frame * out
                    for channel in 0..<out { row[channel] += bias[channel] }
                }
            }
        }
    }
}

/// A grouped "same" convolution with stride 1 and zero padding (wav2vec2's positional
/// convolution: kernel 128, 16 groups, padding 64, then the last frame dropped when the kernel
/// is even). Per block of output frames and group, the (frames, kernel * groupChannels) patches
/// are gathered into `scratch` and multiplied by that group's `(groupChannels, kernel *
/// groupChannels)` weights; the groups are shared out over the kernel threads.
public struct GroupedConvolutionWeights: Sendable {
    public let channels: Int
    public let groups: Int
    public let kernel: Int
    public let padding: Int
    /// Per group, `(out, kernel, in)` with out and in the group's channels (empty when the
    /// groups are packed).
    public let weights: [Float]
    public let bias: [Float]
    /// Per group, `(out, kernel * in)` packed for the AVX-512 kernel with the group's bias
    /// (nil on the OpenBLAS path).
    public let packedGroups: [PackedLinear]?

    public var groupChannels: Int { channels / groups }

    /// From PyTorch's `(channels, channels / groups, kernel)` layout. `useKernel` picks the
    /// product (tests force the OpenBLAS one).
    public init(
        pytorch weight: [Float], channels: Int, groups: Int, kernel: Int, padding: Int, bias: [Float],
        useKernel: Bool = PackedLinear.kernelAvailable
    ) {
        let per = channels / groups
        precondition(weight.count == channels * per * kernel)
        var reordered = [Float](repeating: 0, count: weight.count)
        for output in 0..<channels {
            for input in 0..<per {
                for tap in 0..<kernel {
                    reordered[(output * kernel + tap) * per + input] = weight[(output * per + input) * kernel + tap]
                }
            }
        }
        self.channels = channels
        self.groups = groups
        self.kernel = kernel
        self.padding = padding
        self.bias = bias
        if useKernel {
            let length = per * kernel * per
            packedGroups = (0..<groups).map { group in
                PackedLinear(
                    weight: Array(reordered[(group * length)..<((group + 1) * length)]), bias: Array(bias[(group * per)..<((group + 1) * per)]),
                    output: per, input: kernel * per, useKernel: true)
            }
            weights = []
        } else {
            packedGroups = nil
            weights = reordered
        }
    }

    /// Output frames for `frames` input frames, before any trailing frame is dropped.
    public func outputFrames(forInput frames: Int) -> Int { frames + 2 * padding - kernel + 1 }
    /// Floats of scratch `convolveGrouped` needs: on the kernel, every group's input with its
    /// padding; on OpenBLAS, one block of patches per thread (`threads`, default
    /// `KernelThreads.count`).
    public func scratchCount(forInput frames: Int, threads: Int = KernelThreads.count) -> Int {
        if packedGroups != nil { return (frames + 2 * padding) * channels }
        return self.threads(for: threads) * min(max(0, outputFrames(forInput: frames)), Self.frameBlock) * kernel * groupChannels
    }

    /// Threads `convolveGrouped` uses: one per group at most.
    public func threads(for count: Int) -> Int { max(1, min(count, groups)) }

    /// Output frames per block of patches on OpenBLAS: wav2vec2's (256, 128 * 48) patches are
    /// 12.6 MB, which stay in the last-level cache between the gather and the product (a 30 s
    /// clip's 1500 frames would be 37 MB per group, written to and read back from memory).
    public static let frameBlock = 256
}

/// `scratch` holds `scratchCount` floats. `activation` is applied to every output after the
/// bias (by the kernel, to the finished sums).
///
/// On the AVX-512 kernel each group's channels are first laid out group by group with the
/// padding as zero frames, `(frames + 2 * padding, groupChannels)`: output frame t of a group
/// then reads kernel x groupChannels consecutive floats from padded frame t, so each group is
/// one product reading its input in place (rows overlapping, `lda` = groupChannels), with the
/// group's bias and the activation fused; the 16 groups are the tasks the threads take in
/// turn. On OpenBLAS, (block, group) tasks over gathered patches, as described below.
// (frames, channels) -> (first `outFrames` output frames, channels)
public func convolveGrouped(
    _ x: UnsafePointer<Float>, frames: Int, weights: GroupedConvolutionWeights, outFrames: Int,
    into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, threads: Int = KernelThreads.count,
    activation: Activation = .none
) {
    let channels = weights.channels, per = weights.groupChannels, kernel = weights.kernel, padding = weights.padding
    if let packedGroups = weights.packedGroups {
        let padded = frames + 2 * padding
        KernelThreads.forEach(weights.groups) { range in
            for group in range {
                let target = scratch + group * padded * per
                target.update(repeating: 0, count: padding * per)
                for frame in 0..<frames {
                    (target + (padding + frame) * per).update(from: x + frame * channels + group * per, count: per)
                }
                (target + (padding + frames) * per).update(repeating: 0, count: padding * per)
            }
        }
        KernelThreads.forEachTask(weights.groups, workers: threads) { group, _ in
            packedGroups[group].apply(
                scratch + group * padded * per, lda: per, rows: outFrames, into: y + group * per, ldc: channels, activation: activation,
                threads: 1)
        }
        return
    }
    defer { if activation == .gelu { geluInPlace(y, count: outFrames * channels) } }
    let rowLength = kernel * per
    // The (block, group) tasks are shared out over the kernel threads (taken in turn from a
    // counter), each thread with its own block of patches and one single-threaded sgemm per
    // task: a group's weights are packed once per block (splitting a product's rows over
    // threads made both pack them), and every product has the same shape whatever the thread
    // count.
    let threads = weights.threads(for: threads)
    let blockLength = min(GroupedConvolutionWeights.frameBlock, outFrames) * rowLength
    let blocks = (outFrames + GroupedConvolutionWeights.frameBlock - 1) / GroupedConvolutionWeights.frameBlock
    weights.weights.withUnsafeBufferPointer { w in
        KernelThreads.forEachTask(blocks * weights.groups, workers: threads) { task, thread in
            let patches = scratch + thread * blockLength
            let first = task / weights.groups * GroupedConvolutionWeights.frameBlock
            let group = task % weights.groups
            let count = min(GroupedConvolutionWeights.frameBlock, outFrames - first)
            let column = group * per
            for row in 0..<count {
                let patch = patches + row * rowLength
                let frame = first + row
                for tap in 0..<kernel {
                    let source = frame + tap - padding
                    if source < 0 || source >= frames {
                        (patch + tap * per).update(repeating: 0, count: per)
                    } else {
                        (patch + tap * per).update(from: x + source * channels + column, count: per)
                    }
                }
            }
            gemmSingleThreaded(
                patches, lda: rowLength, w.baseAddress! + column * rowLength, ldb: rowLength, y + first * channels + column,
                ldc: channels, m: count, n: per, k: rowLength, transposeB: true)
        }
    }
    weights.bias.withUnsafeBufferPointer { bias in
        KernelThreads.forEach(outFrames, grain: 64) { range in
            for frame in range {
                let row = y + frame * channels
                for channel in 0..<channels { row[channel] += bias[channel] }
            }
        }
    }
}

/// Weight normalisation along dim 2 of a `(out, in, kernel)` weight, as torch's
/// `weight_norm(conv, dim=2)`: w[:, :, j] = g[j] * v[:, :, j] / ||v[:, :, j]|| (Frobenius norm
/// over out and in).
public func weightNormKernelDimension(g: [Float], v: [Float], out: Int, input: Int, kernel: Int) -> [Float] {
    precondition(g.count == kernel && v.count == out * input * kernel)
    var norms = [Double](repeating: 0, count: kernel)
    for index in 0..<v.count { norms[index % kernel] += Double(v[index]) * Double(v[index]) }
    let factors = (0..<kernel).map { Float(Double(g[$0]) / norms[$0].squareRoot()) }
    return v.indices.map { v[$0] * factors[$0 % kernel] }
}
