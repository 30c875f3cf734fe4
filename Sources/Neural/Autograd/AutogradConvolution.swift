extension AutogradKernels {
    /// Kernel size, stride and zero padding of a 2-D convolution (a 1-D convolution is the
    /// case height 1).
    public struct ConvolutionShape: Sendable, Equatable {
        public var kernelHeight: Int, kernelWidth: Int
        public var strideHeight: Int, strideWidth: Int
        public var paddingHeight: Int, paddingWidth: Int

        public init(kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) {
            (kernelHeight, kernelWidth) = kernel
            (strideHeight, strideWidth) = stride
            (paddingHeight, paddingWidth) = padding
        }

        public func outputHeight(_ height: Int) -> Int { (height + 2 * paddingHeight - kernelHeight) / strideHeight + 1 }
        public func outputWidth(_ width: Int) -> Int { (width + 2 * paddingWidth - kernelWidth) / strideWidth + 1 }
    }

    /// Samples per im2col chunk, so that one chunk's matrix stays near 8 M floats (32 MB).
    static func convolutionChunk(rows: Int, columnsPerSample: Int, batch: Int) -> Int {
        max(1, min(batch, (8 << 20) / max(1, rows * columnsPerSample)))
    }

    /// Unfolds samples `first..<first+count` of a (channels, batch, height, width) tensor into
    /// the matrix (channels*kh*kw, count*outH*outW): row (c, i, j), column (n, y, x) holds
    /// input[c, n, y*sh - ph + i, x*sw - pw + j], or 0 outside the input.
    public static func im2col(
        _ input: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
        shape: ConvolutionShape, first: Int, count: Int, into columns: UnsafeMutablePointer<Float>
    ) {
        let outH = shape.outputHeight(height), outW = shape.outputWidth(width)
        let rows = channels * shape.kernelHeight * shape.kernelWidth
        let rowLength = count * outH * outW
        autogradParallelRanges(rows, grain: 8) { range in
            for row in range {
                let c = row / (shape.kernelHeight * shape.kernelWidth)
                let i = (row / shape.kernelWidth) % shape.kernelHeight
                let j = row % shape.kernelWidth
                var destination = columns + row * rowLength
                for n in first..<(first + count) {
                    let plane = input + (c * batch + n) * height * width
                    for y in 0..<outH {
                        let iy = y * shape.strideHeight - shape.paddingHeight + i
                        if iy < 0 || iy >= height {
                            destination.update(repeating: 0, count: outW)
                        } else {
                            let source = plane + iy * width
                            if shape.strideWidth == 1 {
                                // x + offset in range <=> x in [lower, upper)
                                let offset = j - shape.paddingWidth
                                let lower = max(0, -offset), upper = min(outW, width - offset)
                                if lower > 0 { destination.update(repeating: 0, count: min(lower, outW)) }
                                if upper > lower { (destination + lower).update(from: source + lower + offset, count: upper - lower) }
                                let tail = max(upper, lower)
                                if tail < outW { (destination + tail).update(repeating: 0, count: outW - tail) }
                            } else {
                                for x in 0..<outW {
                                    let ix = x * shape.strideWidth - shape.paddingWidth + j
                                    destination[x] = (ix >= 0 && ix < width) ? source[ix] : 0
                                }
                            }
                        }
                        destination += outW
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each column entry back onto the input position it came
    /// from. Parallel over channels, so no two threads write the same element.
    public static func col2imAccumulate(
        _ columns: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
        shape: ConvolutionShape, first: Int, count: Int, into input: UnsafeMutablePointer<Float>
    ) {
        let outH = shape.outputHeight(height), outW = shape.outputWidth(width)
        let taps = shape.kernelHeight * shape.kernelWidth
        let rowLength = count * outH * outW
        autogradParallelRanges(channels, grain: 1) { range in
            for c in range {
                for tap in 0..<taps {
                    let i = tap / shape.kernelWidth, j = tap % shape.kernelWidth
                    var source = columns + (c * taps + tap) * rowLength
                    for n in first..<(first + count) {
                        let plane = input + (c * batch + n) * height * width
                        for y in 0..<outH {
                            let iy = y * shape.strideHeight - shape.paddingHeight + i
                            if iy >= 0 && iy < height {
                                let destination = plane + iy * width
                                if shape.strideWidth == 1 {
                                    let offset = j - shape.paddingWidth
                                    let lower = max(0, -offset), upper = min(outW, width - offset)
                                    if upper > lower {
                                        for x in lower..<upper { destination[x + offset] += source[x] }
                                    }
                                } else {
                                    for x in 0..<outW {
                                        let ix = x * shape.strideWidth - shape.paddingWidth + j
                                        if ix >= 0 && ix < width { destination[ix] += source[x] }
                                    }
                                }
                            }
                            source += outW
                        }
                    }
                }
            }
        }
    }

    /// 2-D convolution by im2col + sgemm, in channel-major layout.
    // input: (inC, batch, H, W), weight: (outC, inC, kh, kw), bias: (outC) -> output: (outC, batch, outH, outW)
    public static func convolution2D(
        _ input: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
        weight: UnsafePointer<Float>, outputChannels: Int, bias: UnsafePointer<Float>?, shape: ConvolutionShape,
        output: UnsafeMutablePointer<Float>, workspace: AutogradWorkspace
    ) {
        let outH = shape.outputHeight(height), outW = shape.outputWidth(width)
        let rows = channels * shape.kernelHeight * shape.kernelWidth
        let perSample = outH * outW
        let total = batch * perSample
        let chunk = convolutionChunk(rows: rows, columnsPerSample: perSample, batch: batch)
        let columns = workspace.buffer(0, count: rows * chunk * perSample)
        var first = 0
        while first < batch {
            let count = min(chunk, batch - first)
            im2col(input, channels: channels, batch: batch, height: height, width: width, shape: shape, first: first, count: count, into: columns)
            // (outC, rows) x (rows, count*perSample)
            gemm(
                weight, lda: rows, columns, ldb: count * perSample, output + first * perSample, ldc: total,
                m: outputChannels, n: count * perSample, k: rows)
            first += count
        }
        if let bias {
            autogradParallelRanges(outputChannels, grain: 1) { range in
                for o in range {
                    let row = output + o * total
                    let b = bias[o]
                    for index in 0..<total { row[index] += b }
                }
            }
        }
    }
}

extension Tape {
    /// 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) in channel-major layout.
    // x: (inC, batch, H, W), weight: (outC, inC, kh, kw), bias: (outC) -> (outC, batch, outH, outW)
    public func convolution2D(
        _ x: Variable, weight: Variable, bias: Variable?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        workspace: AutogradWorkspace
    ) -> Variable {
        precondition(x.shape.count == 4 && weight.shape.count == 4 && weight.shape[1] == x.shape[0], "convolution2D: weight \(weight.shape) does not fit input \(x.shape)")
        let (channels, batch, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let outputChannels = weight.shape[0]
        let shape = AutogradKernels.ConvolutionShape(kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding)
        let outH = shape.outputHeight(height), outW = shape.outputWidth(width)
        precondition(outH > 0 && outW > 0, "convolution2D: input \(x.shape) is smaller than the kernel")
        // Every element is written by sgemm (beta 0 stores, whatever the buffer held).
        let output = Variable(
            uninitialized: [outputChannels, batch, outH, outW],
            requiresGradient: x.requiresGradient || weight.requiresGradient || bias?.requiresGradient == true)
        x.value.withUnsafeBufferPointer { xs in
            weight.value.withUnsafeBufferPointer { ws in
                output.value.withUnsafeMutableBufferPointer { ys in
                    if let bias {
                        bias.value.withUnsafeBufferPointer { bs in
                            AutogradKernels.convolution2D(
                                xs.baseAddress!, channels: channels, batch: batch, height: height, width: width, weight: ws.baseAddress!,
                                outputChannels: outputChannels, bias: bs.baseAddress!, shape: shape, output: ys.baseAddress!, workspace: workspace)
                        }
                    } else {
                        AutogradKernels.convolution2D(
                            xs.baseAddress!, channels: channels, batch: batch, height: height, width: width, weight: ws.baseAddress!,
                            outputChannels: outputChannels, bias: nil, shape: shape, output: ys.baseAddress!, workspace: workspace)
                    }
                }
            }
        }
        guard needsGradient(x, weight, bias) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            let rows = channels * shape.kernelHeight * shape.kernelWidth
            let perSample = outH * outW
            let total = batch * perSample
            output.gradient.withUnsafeBufferPointer { dyBuffer in
                let dy = dyBuffer.baseAddress!
                if let bias, bias.requiresGradient {
                    bias.accumulate { db in
                        for o in 0..<outputChannels {
                            var sum: Float = 0
                            let row = dy + o * total
                            for index in 0..<total { sum += row[index] }
                            db[o] += sum
                        }
                    }
                }
                guard x.requiresGradient || weight.requiresGradient else { return }
                let chunk = AutogradKernels.convolutionChunk(rows: rows, columnsPerSample: perSample, batch: batch)
                let columns = workspace.buffer(0, count: rows * chunk * perSample)
                let columnGradient = workspace.buffer(1, count: rows * chunk * perSample)
                if weight.requiresGradient { weight.accumulate { _ in } }
                if x.requiresGradient { x.accumulate { _ in } }
                x.value.withUnsafeBufferPointer { xs in
                    weight.value.withUnsafeBufferPointer { ws in
                        var first = 0
                        while first < batch {
                            let count = min(chunk, batch - first)
                            let n = count * perSample
                            if weight.requiresGradient {
                                AutogradKernels.im2col(
                                    xs.baseAddress!, channels: channels, batch: batch, height: height, width: width, shape: shape,
                                    first: first, count: count, into: columns)
                                // dW += dy_chunk (outC, n) x columns^T (n, rows)
                                weight.gradient.withUnsafeMutableBufferPointer { dw in
                                    AutogradKernels.gemm(
                                        dy + first * perSample, lda: total, columns, ldb: n, dw.baseAddress!, ldc: rows,
                                        m: outputChannels, n: rows, k: n, transposeB: true, beta: 1)
                                }
                            }
                            if x.requiresGradient {
                                // dColumns = W^T (rows, outC) x dy_chunk (outC, n)
                                AutogradKernels.gemm(
                                    ws.baseAddress!, lda: rows, dy + first * perSample, ldb: total, columnGradient, ldc: n,
                                    m: rows, n: n, k: outputChannels, transposeA: true)
                                x.gradient.withUnsafeMutableBufferPointer { dx in
                                    AutogradKernels.col2imAccumulate(
                                        columnGradient, channels: channels, batch: batch, height: height, width: width, shape: shape,
                                        first: first, count: count, into: dx.baseAddress!)
                                }
                            }
                            first += count
                        }
                    }
                }
            }
        }
        return output
    }

    /// 1-D convolution as PyTorch's `Conv1d`, channel-major: a 2-D convolution of height 1.
    // x: (inC, batch, T), weight: (outC, inC, k), bias: (outC) -> (outC, batch, outT)
    public func convolution1D(
        _ x: Variable, weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0, workspace: AutogradWorkspace
    ) -> Variable {
        precondition(x.shape.count == 3 && weight.shape.count == 3, "convolution1D: expected (C, N, T) input and (outC, inC, k) weight")
        let x4 = reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]])
        let w4 = reshape(weight, [weight.shape[0], weight.shape[1], 1, weight.shape[2]])
        let y = convolution2D(x4, weight: w4, bias: bias, stride: (1, stride), padding: (0, padding), workspace: workspace)
        return reshape(y, [y.shape[0], y.shape[1], y.shape[3]])
    }
}
