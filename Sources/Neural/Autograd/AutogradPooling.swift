extension AutogradKernels {
    /// Max pooling with a window equal to its stride (no padding, floor), as
    /// `nn.MaxPool2d(kernel)`. Also writes, per output, the input offset that won (for backward).
    // x: (planes, H, W) -> (planes, H / kh, W / kw)
    public static func maxPool(
        _ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int, kernel: (Int, Int),
        output: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>?
    ) {
        let (kh, kw) = kernel
        let outH = height / kh, outW = width / kw
        autogradParallelRanges(planes, grain: 4) { range in
            for plane in range {
                let source = x + plane * height * width
                let destination = output + plane * outH * outW
                if kh == 2 && kw == 2 {
                    // The common 2x2 window, unrolled; the first maximum in row-major order wins.
                    for y in 0..<outH {
                        let top = source + 2 * y * width, bottom = top + width
                        for x in 0..<outW {
                            var best = top[2 * x], offset = 2 * y * width + 2 * x
                            if top[2 * x + 1] > best { best = top[2 * x + 1]; offset = 2 * y * width + 2 * x + 1 }
                            if bottom[2 * x] > best { best = bottom[2 * x]; offset = (2 * y + 1) * width + 2 * x }
                            if bottom[2 * x + 1] > best { best = bottom[2 * x + 1]; offset = (2 * y + 1) * width + 2 * x + 1 }
                            destination[y * outW + x] = best
                            winners?[plane * outH * outW + y * outW + x] = Int32(offset)
                        }
                    }
                    continue
                }
                for y in 0..<outH {
                    for x in 0..<outW {
                        var best = -Float.infinity
                        var bestOffset = 0
                        for i in 0..<kh {
                            for j in 0..<kw {
                                let offset = (y * kh + i) * width + x * kw + j
                                // The first maximum wins ties, like PyTorch's CPU kernel.
                                if source[offset] > best || (source[offset].isNaN && !best.isNaN) {
                                    best = source[offset]
                                    bestOffset = offset
                                }
                            }
                        }
                        destination[y * outW + x] = best
                        winners?[plane * outH * outW + y * outW + x] = Int32(bestOffset)
                    }
                }
            }
        }
    }
}

extension Tape {
    /// 2-D max pooling over the last two dimensions with window = stride = `kernel`.
    // x: (..., H, W) -> (..., H / kh, W / kw)
    public func maxPool2D(_ x: Variable, kernel: (Int, Int) = (2, 2)) -> Variable {
        let rank = x.shape.count
        let (height, width) = (x.shape[rank - 2], x.shape[rank - 1])
        let planes = x.count / (height * width)
        let outH = height / kernel.0, outW = width / kernel.1
        precondition(outH > 0 && outW > 0, "maxPool2D: input \(x.shape) is smaller than the window")
        var outputShape = x.shape
        outputShape[rank - 2] = outH
        outputShape[rank - 1] = outW
        let output = Variable(uninitialized: outputShape, requiresGradient: x.requiresGradient)
        let keep = needsGradient(x)
        var winners = [Int32](repeating: 0, count: keep ? output.count : 0)
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in
                winners.withUnsafeMutableBufferPointer { ws in
                    AutogradKernels.maxPool(
                        xs.baseAddress!, planes: planes, height: height, width: width, kernel: kernel, output: ys.baseAddress!,
                        winners: keep ? ws.baseAddress! : nil)
                }
            }
        }
        guard keep else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            output.gradient.withUnsafeBufferPointer { dys in
                winners.withUnsafeBufferPointer { ws in
                    x.accumulate { dx in
                        let (dyp, wp) = (dys.baseAddress!, ws.baseAddress!)
                        autogradParallelRanges(planes, grain: 4) { range in
                            for plane in range {
                                let base = plane * height * width
                                for index in (plane * outH * outW)..<((plane + 1) * outH * outW) {
                                    dx[base + Int(wp[index])] += dyp[index]
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Mean over height and over the first `validWidths[n]` columns of each sample (the real
    /// frames of a padded batch), transposed for a linear layer.
    // x: (C, N, H, W), validWidths: N values in 1...W -> (N, C)
    public func maskedMeanPool(_ x: Variable, validWidths: [Int]) -> Variable {
        precondition(x.shape.count == 4, "maskedMeanPool: expected (C, N, H, W), got \(x.shape)")
        let (channels, batch, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        precondition(validWidths.count == batch && validWidths.allSatisfy { $0 >= 1 && $0 <= width }, "maskedMeanPool: bad valid widths")
        let output = Variable(zeros: [batch, channels], requiresGradient: x.requiresGradient)
        for c in 0..<channels {
            for n in 0..<batch {
                let base = (c * batch + n) * height * width
                var sum: Float = 0
                for y in 0..<height {
                    for column in 0..<validWidths[n] { sum += x.value[base + y * width + column] }
                }
                output.value[n * channels + c] = sum / Float(height * validWidths[n])
            }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            x.accumulate { dx in
                for c in 0..<channels {
                    for n in 0..<batch {
                        let base = (c * batch + n) * height * width
                        let share = output.gradient[n * channels + c] / Float(height * validWidths[n])
                        for y in 0..<height {
                            for column in 0..<validWidths[n] { dx[base + y * width + column] += share }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Mean over time of each sequence's first `lengths[n]` steps.
    // x: (N, T, D), lengths: N values in 1...T -> (N, D)
    public func maskedMeanOverTime(_ x: Variable, lengths: [Int]) -> Variable {
        precondition(x.shape.count == 3, "maskedMeanOverTime: expected (N, T, D), got \(x.shape)")
        let (batch, steps, width) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(lengths.count == batch && lengths.allSatisfy { $0 >= 1 && $0 <= steps }, "maskedMeanOverTime: bad lengths")
        let output = Variable(zeros: [batch, width], requiresGradient: x.requiresGradient)
        for n in 0..<batch {
            for t in 0..<lengths[n] {
                for d in 0..<width { output.value[n * width + d] += x.value[(n * steps + t) * width + d] }
            }
            for d in 0..<width { output.value[n * width + d] /= Float(lengths[n]) }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            x.accumulate { dx in
                for n in 0..<batch {
                    for t in 0..<lengths[n] {
                        for d in 0..<width { dx[(n * steps + t) * width + d] += output.gradient[n * width + d] / Float(lengths[n]) }
                    }
                }
            }
        }
        return output
    }
}
