import Foundation
import Testing
import TestSupport

@testable import Neural

/// The shared seeded generator (TestSupport), seeded without a label as these tests do.
typealias TestRandom = SplitMix64

extension SplitMix64 {
    init(_ seed: UInt64) { self.init(seed: seed) }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Each kernel against a plain loop (in Double) on random shapes, odd sizes included.
@Suite("Kernels match plain reference loops")
struct KernelTests {
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 31, 100), (5, 128, 257)])
    func gemmWithLeadingDimensionsAndTransposes(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var random = TestRandom(UInt64(m * 1000 + n * 10 + k))
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                // Each matrix sits inside a wider buffer (2 extra columns) to exercise the strides.
                let aRows = transposeA ? k : m, aColumns = transposeA ? m : k
                let bRows = transposeB ? n : k, bColumns = transposeB ? k : n
                let lda = aColumns + 2, ldb = bColumns + 3, ldc = n + 1
                let a = random.floats(aRows * lda), b = random.floats(bRows * ldb)
                var c = random.floats(m * ldc)
                let original = c
                gemmStrided(a, lda: lda, b, ldb: ldb, &c, ldc: ldc, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, beta: 2)
                var worst: Float = 0
                for row in 0..<m {
                    for column in 0..<n {
                        var total = 0.0
                        for inner in 0..<k {
                            let left = transposeA ? a[inner * lda + row] : a[row * lda + inner]
                            let right = transposeB ? b[column * ldb + inner] : b[inner * ldb + column]
                            total += Double(left) * Double(right)
                        }
                        let expected = Float(0.5 * total + 2 * Double(original[row * ldc + column]))
                        worst = max(worst, abs(c[row * ldc + column] - expected))
                    }
                    // Padding columns are untouched.
                    #expect(c[row * ldc + n] == original[row * ldc + n])
                }
                #expect(worst < 1e-4, "transposeA \(transposeA) transposeB \(transposeB): \(worst)")
            }
        }
    }

    /// With OpenBLAS on one thread, large products are split by rows or columns over the kernel
    /// threads; every split must give the plain product. (Called directly: changing OpenBLAS's
    /// thread count here would change other tests' paths while they run in parallel.)
    @Test(arguments: [(130, 70, 200), (5, 300, 1000), (1, 2048, 600), (333, 17, 400)])
    func gemmSplitOverKernelThreads(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var random = TestRandom(UInt64(m + n + k))
        for (transposeA, transposeB) in [(false, false), (true, true), (false, true)] {
            let a = random.floats(m * k), b = random.floats(k * n)
            var c = [Float](repeating: 0, count: m * n)
            gemmSplit(parts: 2, a, lda: transposeA ? m : k, b, ldb: transposeB ? k : n, &c, ldc: n, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0)
            var worst: Float = 0
            for row in 0..<m {
                for column in 0..<n {
                    var total = 0.0
                    for inner in 0..<k {
                        total += Double(transposeA ? a[inner * m + row] : a[row * k + inner]) * Double(transposeB ? b[column * k + inner] : b[inner * n + column])
                    }
                    worst = max(worst, abs(c[row * n + column] - Float(total)))
                }
            }
            #expect(worst < 1e-3, "\(shape) transposeA \(transposeA) transposeB \(transposeB): \(worst)")
        }
    }

    /// gemmStrided splits a product only when every part stays above OpenBLAS's small-matrix
    /// size (other kernels, other rounding: the result would depend on the thread count). The
    /// smallest part's size must match the blocks gemmSplit really makes, uneven last block included.
    @Test(arguments: [(5, 300, 1000), (49, 768, 768), (300, 40, 700), (1, 4096, 300), (1499, 3072, 768), (17, 333, 1000)])
    func splitPartsStayAboveSmallMatrixKernels(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for parts in [2, 3, 4] {
            let (splitRows, block) = GemmSplit.plan(parts: parts, m: m, n: n)
            #expect(splitRows == (m >= n))
            let extent = splitRows ? m : n
            var sizes: [Int] = []
            var start = 0
            while start < extent {
                sizes.append(min(block, extent - start) * (splitRows ? n : m) * k)
                start += block
            }
            #expect(sizes.count <= parts)
            #expect(GemmSplit.smallestPartProduct(parts: parts, m: m, n: n, k: k) == sizes.min())
        }
        // (5, 300, 1000): halves of 750 000 and 700 000 multiply-adds would use the small kernels.
        if shape == (5, 300, 1000) { #expect(GemmSplit.smallestPartProduct(parts: 2, m: m, n: n, k: k) <= GemmSplit.smallProduct) }
    }

    @Test(arguments: [(1, 1, 1), (7, 13, 5), (49, 36, 108)])
    func linearLayer(_ shape: (Int, Int, Int)) {
        let (rows, input, output) = shape
        var random = TestRandom(7)
        let x = random.floats(rows * input), weight = random.floats(output * input), bias = random.floats(output)
        var y = [Float](repeating: .nan, count: rows * output)
        linear(x, rows: rows, input: input, weight: weight, bias: bias, output: output, into: &y)
        var expected = [Float](repeating: 0, count: rows * output)
        for row in 0..<rows {
            for out in 0..<output {
                var total = Double(bias[out])
                for i in 0..<input { total += Double(x[row * input + i]) * Double(weight[out * input + i]) }
                expected[row * output + out] = Float(total)
            }
        }
        #expect(maxAbsDifference(y, expected) < 1e-5)
    }

    /// Conv1d in PyTorch's layout, on channel-major data, with Doubles.
    func referenceConvolution(_ x: [Float], frames: Int, input: Int, weight: [Float], bias: [Float]?, out: Int, kernel: Int, stride: Int) -> [Float] {
        let outFrames = (frames - kernel) / stride + 1
        var y = [Float](repeating: 0, count: outFrames * out)
        for t in 0..<outFrames {
            for o in 0..<out {
                var total = Double(bias?[o] ?? 0)
                for c in 0..<input {
                    for j in 0..<kernel { total += Double(x[(t * stride + j) * input + c]) * Double(weight[(o * input + c) * kernel + j]) }
                }
                y[t * out + o] = Float(total)
            }
        }
        return y
    }

    // (frames, in, out, kernel, stride, bias): the waveform layer (one channel), overlapping
    // and non-overlapping strides, kernels 1 to 10 (taps grouped by stride: 3 = 2 + 1,
    // 5 = 3 + 2, 7 = 2 + 2 + 2 + 1 on OpenBLAS; stride 3 > kernel 2), and one product large
    // enough to be shared out over the kernel threads (400 x 70 x 120, a partial panel).
    @Test(arguments: [
        (101, 1, 12, 10, 5, false), (57, 1, 3, 4, 4, true), (33, 12, 12, 3, 2, true), (40, 7, 5, 2, 2, false),
        (19, 3, 9, 1, 1, true), (64, 31, 17, 5, 3, true), (50, 8, 6, 7, 2, true), (30, 5, 4, 2, 3, false),
        (801, 40, 70, 3, 2, true),
    ])
    func stridedConvolution(_ c: (Int, Int, Int, Int, Int, Bool)) {
        let (frames, input, out, kernel, stride, hasBias) = c
        var random = TestRandom(UInt64(frames * input))
        let x = random.floats(frames * input), weight = random.floats(out * input * kernel), bias = hasBias ? random.floats(out) : nil
        let expected = referenceConvolution(x, frames: frames, input: input, weight: weight, bias: bias, out: out, kernel: kernel, stride: stride)
        // Both products: the packed kernel reading overlapping rows in place (where the CPU has
        // AVX-512) and OpenBLAS by groups of taps.
        for useKernel in PackedLinear.kernelAvailable ? [true, false] : [false] {
            let weights = ConvolutionWeights(
                pytorch: weight, outputChannels: out, inputChannels: input, kernel: kernel, stride: stride, bias: bias, useKernel: useKernel)
            #expect(weights.linear.usesKernel == useKernel)
            let outFrames = weights.outputFrames(forInput: frames)
            #expect(outFrames == (frames - kernel) / stride + 1)
            var y = [Float](repeating: .nan, count: outFrames * out)
            var scratch = [Float](repeating: 0, count: max(1, weights.scratchCount(forInput: frames)))
            convolve(x, frames: frames, weights: weights, into: &y, scratch: &scratch)
            #expect(maxAbsDifference(y, expected) < 1e-5, "useKernel \(useKernel)")
            // GELU applied by the product (fused on the kernel): the same bits as afterwards.
            var activated = [Float](repeating: .nan, count: y.count)
            convolve(x, frames: frames, weights: weights, into: &activated, scratch: &scratch, activation: .gelu)
            #expect(activated == y.map(FastMath.gelu), "useKernel \(useKernel)")
        }
    }

    /// `outputMoments` (each output channel's sum and sum of squares from the input's moments,
    /// no outputs computed) against the same sums over the plain loop's outputs, and `scaled`
    /// (an affine map per output channel folded into the weights) against the convolution then
    /// the map; the waveform layer's shape (one channel, kernel 10, stride 5) among them.
    @Test(arguments: [(3201, 1, 40, 10, 5, false), (301, 1, 7, 3, 1, true), (120, 3, 5, 2, 2, true)])
    func outputMomentsAndScaledConvolution(_ c: (Int, Int, Int, Int, Int, Bool)) {
        let (frames, input, out, kernel, stride, hasBias) = c
        var random = TestRandom(UInt64(frames + out))
        let x = random.floats(frames * input, scale: 2), weight = random.floats(out * input * kernel), bias = hasBias ? random.floats(out) : nil
        let y = referenceConvolution(x, frames: frames, input: input, weight: weight, bias: bias, out: out, kernel: kernel, stride: stride)
        let outFrames = (frames - kernel) / stride + 1
        let scale = random.floats(out, scale: 3), shift = random.floats(out)
        for useKernel in PackedLinear.kernelAvailable ? [true, false] : [false] {
            let weights = ConvolutionWeights(
                pytorch: weight, outputChannels: out, inputChannels: input, kernel: kernel, stride: stride, bias: bias, useKernel: useKernel)
            let (sums, squares) = x.withUnsafeBufferPointer { weights.outputMoments($0.baseAddress!, frames: frames) }
            for o in 0..<out {
                let column = (0..<outFrames).map { Double(y[$0 * out + o]) }
                let sum = column.reduce(0, +), square = column.reduce(0) { $0 + $1 * $1 }
                // The outputs were rounded to Float: the sums agree to about Float's precision.
                #expect(abs(sums[o] - sum) <= 1e-5 * column.reduce(0) { $0 + abs($1) }, "useKernel \(useKernel) channel \(o): \(sums[o]) vs \(sum)")
                #expect(abs(squares[o] - square) <= 1e-5 * square, "useKernel \(useKernel) channel \(o): \(squares[o]) vs \(square)")
            }
            let folded = weights.scaled(by: scale, shift: shift)
            #expect(folded.linear.usesKernel == useKernel && folded.matrix.count == weights.matrix.count)
            var output = [Float](repeating: .nan, count: outFrames * out)
            var scratch = [Float](repeating: 0, count: max(1, folded.scratchCount(forInput: frames)))
            convolve(x, frames: frames, weights: folded, into: &output, scratch: &scratch)
            let expected = (0..<(outFrames * out)).map { y[$0] * scale[$0 % out] + shift[$0 % out] }
            #expect(maxAbsDifference(output, expected) < 1e-4, "useKernel \(useKernel)")
        }
    }

    // (frames, channels, groups, kernel): even kernels pad one frame more on the left side's
    // mirror; groups of 48 channels as wav2vec2's (a panel and a half on the kernel), on both paths.
    @Test(arguments: [
        (11, 12, 4, 8), (9, 36, 4, 5), (3, 6, 3, 16), (50, 16, 1, 7), (GroupedConvolutionWeights.frameBlock * 2 + 37, 8, 2, 6), (70, 96, 2, 10),
    ])
    func groupedSamePaddedConvolution(_ c: (Int, Int, Int, Int)) {
        let (frames, channels, groups, kernel) = c
        let per = channels / groups, padding = kernel / 2
        var random = TestRandom(UInt64(frames + channels))
        let x = random.floats(frames * channels), weight = random.floats(channels * per * kernel), bias = random.floats(channels)
        var expected = [Float](repeating: 0, count: frames * channels)
        for t in 0..<frames {
            for o in 0..<channels {
                let group = o / per
                var total = Double(bias[o])
                for c in 0..<per {
                    for j in 0..<kernel {
                        let source = t + j - padding
                        if source >= 0 && source < frames {
                            total += Double(x[source * channels + group * per + c]) * Double(weight[(o * per + c) * kernel + j])
                        }
                    }
                }
                expected[t * channels + o] = Float(total)
            }
        }
        for useKernel in PackedLinear.kernelAvailable ? [true, false] : [false] {
            let weights = GroupedConvolutionWeights(
                pytorch: weight, channels: channels, groups: groups, kernel: kernel, padding: padding, bias: bias, useKernel: useKernel)
            #expect((weights.packedGroups != nil) == useKernel)
            var y = [Float](repeating: .nan, count: frames * channels)
            var scratch = [Float](repeating: .nan, count: weights.scratchCount(forInput: frames))
            convolveGrouped(x, frames: frames, weights: weights, outFrames: frames, into: &y, scratch: &scratch)
            // Sums of up to 480 products of values in [-1, 1] in Float: rounding reaches 2e-5.
            #expect(maxAbsDifference(y, expected) < 5e-5, "kernel \(useKernel)")
            // GELU applied by the convolution: the same bits as afterwards; 1 thread as 2.
            var activated = [Float](repeating: .nan, count: frames * channels)
            convolveGrouped(x, frames: frames, weights: weights, outFrames: frames, into: &activated, scratch: &scratch, threads: 1, activation: .gelu)
            #expect(activated == y.map(FastMath.gelu), "kernel \(useKernel)")
        }
    }

    @Test func weightNormAlongTheKernelDimension() {
        var random = TestRandom(3)
        let out = 6, input = 2, kernel = 5
        let g = random.floats(kernel), v = random.floats(out * input * kernel)
        let w = weightNormKernelDimension(g: g, v: v, out: out, input: input, kernel: kernel)
        for j in 0..<kernel {
            var norm = 0.0
            for o in 0..<out { for i in 0..<input { norm += pow(Double(v[(o * input + i) * kernel + j]), 2) } }
            for o in 0..<out {
                for i in 0..<input {
                    let index = (o * input + i) * kernel + j
                    #expect(abs(Double(w[index]) - Double(g[j]) * Double(v[index]) / norm.squareRoot()) < 1e-6)
                }
            }
        }
    }

    @Test(arguments: [(1, 1), (3, 7), (50, 36), (9, 768)])
    func layerNorm(_ shape: (Int, Int)) {
        let (rows, width) = shape
        var random = TestRandom(UInt64(rows * width))
        let x = random.floats(rows * width, scale: 3).map { $0 + 5 }, gamma = random.floats(width), beta = random.floats(width)
        var y = [Float](repeating: .nan, count: rows * width)
        layerNormRows(x, rows: rows, width: width, gamma: gamma, beta: beta, epsilon: 1e-5, into: &y)
        var expected = [Float](repeating: 0, count: rows * width)
        for row in 0..<rows {
            let values = x[(row * width)..<((row + 1) * width)].map(Double.init)
            let mean = values.reduce(0, +) / Double(width)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            for column in 0..<width {
                expected[row * width + column] = Float((values[column] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[column]) + Double(beta[column]))
            }
        }
        #expect(maxAbsDifference(y, expected) < 2e-5)
        // In place gives the same.
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { layerNormRows($0.baseAddress!, rows: rows, width: width, gamma: gamma, beta: beta, epsilon: 1e-5, into: $0.baseAddress!) }
        #expect(inPlace == y)
    }

    @Test(arguments: [(1, 3), (7, 5), (3199, 12), (100, 33)])
    func groupNormOneGroupPerChannel(_ shape: (Int, Int)) {
        let (frames, channels) = shape
        var random = TestRandom(UInt64(frames * channels))
        var x = random.floats(frames * channels, scale: 2).map { $0 * 0.1 + 0.3 }
        let original = x, gamma = random.floats(channels), beta = random.floats(channels)
        groupNormPerChannel(&x, frames: frames, channels: channels, gamma: gamma, beta: beta, epsilon: 1e-5)
        var worst: Float = 0
        for c in 0..<channels {
            let values = (0..<frames).map { Double(original[$0 * channels + c]) }
            let mean = values.reduce(0, +) / Double(frames)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(frames)
            for t in 0..<frames {
                let expected = (values[t] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[c]) + Double(beta[c])
                worst = max(worst, abs(x[t * channels + c] - Float(expected)))
            }
        }
        #expect(worst < 2e-5)
    }

    @Test(arguments: [(1, 1), (4, 9), (49, 49), (3, 1500)])
    func softmax(_ shape: (Int, Int)) {
        let (rows, width) = shape
        var random = TestRandom(UInt64(rows + width))
        var x = random.floats(rows * width, scale: 20)
        let original = x
        softmaxRows(&x, rows: rows, width: width)
        for row in 0..<rows {
            let values = original[(row * width)..<((row + 1) * width)].map(Double.init)
            let largest = values.max()!
            let total = values.map { exp($0 - largest) }.reduce(0, +)
            for column in 0..<width {
                let expected = exp(values[column - 0] - largest) / total
                #expect(abs(Double(x[row * width + column]) - expected) < 1e-6)
            }
        }
    }

    /// The unnormalised softmax (attention's), on both paths, against Double: the values are
    /// e^(x - max), the inverse sums 1 / their sum; widths with and without a 16-lane tail.
    @Test(arguments: [(3, 1), (5, 16), (4, 37), (2, 1500)])
    func unnormalisedSoftmax(_ shape: (Int, Int)) {
        let (rows, width) = shape
        var random = TestRandom(UInt64(rows * 7 + width))
        let original = random.floats(rows * width, scale: 20)
        for useKernel in PackedLinear.kernelAvailable ? [true, false] : [false] {
            var x = original
            var inverseSums = [Float](repeating: .nan, count: rows)
            softmaxRowsUnnormalised(&x, rows: rows, width: width, inverseSums: &inverseSums, useKernel: useKernel)
            for row in 0..<rows {
                let values = original[(row * width)..<((row + 1) * width)].map(Double.init)
                let largest = values.max()!
                let exponentials = values.map { exp($0 - largest) }
                for column in 0..<width {
                    #expect(abs(Double(x[row * width + column]) - exponentials[column]) < 1e-6, "kernel \(useKernel)")
                }
                let inverse = 1 / exponentials.reduce(0, +)
                #expect(abs(Double(inverseSums[row]) - inverse) / inverse < 1e-5, "kernel \(useKernel) \(shape)")
            }
        }
    }

    @Test func fastExpErfAndGeluAgainstLibm() {
        var worstExp = 0.0, worstErf = 0.0, worstGelu = 0.0
        var x: Float = -87
        while x < 88 {
            let exact = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(Double(FastMath.exp(x)) - exact) / exact)
            x += 0.000_917
        }
        x = -12
        while x < 12 {
            let value = Double(x)
            worstErf = max(worstErf, abs(Double(FastMath.erf(x)) - Foundation.erf(value)))
            worstGelu = max(worstGelu, abs(Double(FastMath.gelu(x)) - 0.5 * value * (1 + Foundation.erf(value / 2.0.squareRoot()))))
            x += 0.000_61
        }
        #expect(FastMath.exp(-200) > 0 && FastMath.exp(-200) < 1e-37)
        #expect(FastMath.exp(200) == FastMath.exp(88))
        #expect(worstExp < 3e-7, "exp relative error \(worstExp)")
        #expect(worstErf < 5e-7, "erf absolute error \(worstErf)")
        #expect(worstGelu < 1e-6, "gelu absolute error \(worstGelu)")
        var data: [Float] = [-3, -0.5, 0, 0.5, 3, 10, -10, 1.5, 2.5]  // 9 values: one full lane group and a tail
        let original = data
        geluInPlace(&data, count: data.count)
        for (value, result) in zip(original, data) {
            #expect(abs(Double(result) - 0.5 * Double(value) * (1 + Foundation.erf(Double(value) / 2.0.squareRoot()))) < 1e-6)
        }
    }

    /// Tasks taken from both ends: each task runs once, on any number of workers (a busy pool
    /// runs them all on worker 0), and `following` is the neighbour in the worker's direction
    /// (even workers go up from 0, odd ones down from the last), nil past the ends.
    @Test(arguments: [(1, 2), (2, 2), (8, 2), (37, 3), (5, 1)])
    func tasksFromBothEndsRunOnceEach(_ shape: (Int, Int)) {
        let (count, workers) = shape
        let lock = NSLock()
        var seen: [(task: Int, worker: Int, following: Int?)] = []
        KernelThreads.forEachTaskFromBothEnds(count, workers: workers) { task, worker, following in
            lock.lock()
            seen.append((task, worker, following))
            lock.unlock()
        }
        #expect(seen.map(\.task).sorted() == Array(0..<count), "\(shape)")
        for entry in seen {
            let expected = entry.worker % 2 == 0 ? entry.task + 1 : entry.task - 1
            #expect(entry.following == (expected >= 0 && expected < count ? expected : nil), "\(shape): \(entry)")
        }
        // Each worker's tasks run in its direction, one after the other.
        for worker in Set(seen.map(\.worker)) {
            let tasks = seen.filter { $0.worker == worker }.map(\.task)
            #expect(tasks == (worker % 2 == 0 ? tasks.sorted() : tasks.sorted(by: >)), "\(shape) worker \(worker): \(tasks)")
        }
    }
}
