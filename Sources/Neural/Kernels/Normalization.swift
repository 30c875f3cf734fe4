import CKernels
/// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row of `rows x width` (PyTorch's
/// LayerNorm over the last dimension; biased variance). In place is allowed (x == y).
// (rows, width) -> (rows, width)
public func layerNormRows(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    epsilon: Float, into y: UnsafeMutablePointer<Float>
) {
    KernelThreads.forEach(rows, grain: 8) { range in
        for row in range {
            let input = x + row * width
            let output = y + row * width
            var sum = SIMD8<Float>(repeating: 0)
            var index = 0
            while index + 8 <= width {
                sum += UnsafeRawPointer(input + index).loadUnaligned(as: SIMD8<Float>.self)
                index += 8
            }
            var total = sum.sum()
            while index < width {
                total += input[index]
                index += 1
            }
            let mean = total / Float(width)
            var squares = SIMD8<Float>(repeating: 0)
            index = 0
            while index + 8 <= width {
                let centred = UnsafeRawPointer(input + index).loadUnaligned(as: SIMD8<Float>.self) - mean
                squares += centred * centred
                index += 8
            }
            var variance = squares.sum()
            while index < width {
                variance += (input[index] - mean) * (input[index] - mean)
                index += 1
            }
            let scale = 1 / (variance / Float(width) + epsilon).squareRoot()
            for column in 0..<width { output[column] = (input[column] - mean) * scale * gamma[column] + beta[column] }
        }
    }
}

/// Group norm with one group per channel on time-major data: each channel is normalised over
/// time, then scaled and shifted (PyTorch's GroupNorm(C, C) on (1, C, T), the wav2vec2 base
/// feature encoder's first layer). Sums in Double: a channel may have a million frames.
// (frames, channels) -> (frames, channels), in place
public func groupNormPerChannel(
    _ x: UnsafeMutablePointer<Float>, frames: Int, channels: Int, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, epsilon: Float
) {
    // Channel blocks are independent; each thread writes its own entries of scale/shift.
    let scalePointer = UnsafeMutablePointer<Float>.allocate(capacity: channels)
    let shiftPointer = UnsafeMutablePointer<Float>.allocate(capacity: channels)
    defer {
        scalePointer.deallocate()
        shiftPointer.deallocate()
    }
    KernelThreads.forEach(channels, grain: 16) { columns in
        var sums = [Double](repeating: 0, count: columns.count)
        for frame in 0..<frames {
            let row = x + frame * channels + columns.lowerBound
            for column in 0..<columns.count { sums[column] += Double(row[column]) }
        }
        var squares = [Double](repeating: 0, count: columns.count)
        for column in 0..<columns.count { sums[column] /= Double(frames) }
        for frame in 0..<frames {
            let row = x + frame * channels + columns.lowerBound
            for column in 0..<columns.count {
                let centred = Double(row[column]) - sums[column]
                squares[column] += centred * centred
            }
        }
        for column in 0..<columns.count {
            let channel = columns.lowerBound + column
            let inverse = 1 / (squares[column] / Double(frames) + Double(epsilon)).squareRoot()
            scalePointer[channel] = Float(inverse) * gamma[channel]
            shiftPointer[channel] = beta[channel] - Float(sums[column] * inverse) * gamma[channel]
        }
    }
    KernelThreads.forEach(frames, grain: 64) { range in
        for frame in range {
            let row = x + frame * channels
            for channel in 0..<channels { row[channel] = row[channel] * scalePointer[channel] + shiftPointer[channel] }
        }
    }
}
