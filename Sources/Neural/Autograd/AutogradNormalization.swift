/// Running statistics of a batch-norm layer (PyTorch's `running_mean`, `running_var`), updated
/// in training as running = (1 - momentum) * running + momentum * batch, with the unbiased
/// batch variance, exactly as `nn.BatchNorm2d` does.
public final class BatchNormStatistics {
    public var mean: [Float]
    public var variance: [Float]
    public var momentum: Float
    public let epsilon: Float

    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        mean = [Float](repeating: 0, count: channels)
        variance = [Float](repeating: 1, count: channels)
        self.momentum = momentum
        self.epsilon = epsilon
    }
}

extension AutogradKernels {
    /// Batch norm with fixed statistics (inference), in place:
    /// x = (x - mean) / sqrt(variance + epsilon) * gamma + beta, per channel.
    // x: (C, perChannel)
    public static func batchNormInference(
        _ x: UnsafeMutablePointer<Float>, channels: Int, perChannel: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, variance: UnsafePointer<Float>, epsilon: Float
    ) {
        for c in 0..<channels {
            let scale = gamma[c] / (variance[c] + epsilon).squareRoot()
            let shift = beta[c] - mean[c] * scale
            let row = x + c * perChannel
            for index in 0..<perChannel { row[index] = row[index] * scale + shift }
        }
    }
}

extension Tape {
    /// Batch normalisation over every dimension but the first (channel-major layout), as
    /// PyTorch's `BatchNorm1d/2d`: in training, batch statistics (biased variance) normalise
    /// and the running statistics are updated; otherwise the running statistics normalise.
    /// With `relu`, max(0, .) is applied in the same pass (and its derivative in backward):
    /// one fewer pass over, and one fewer copy of, the largest activations.
    // x: (C, ...) -> same shape; gamma, beta: (C)
    public func batchNorm(_ x: Variable, gamma: Variable, beta: Variable, statistics: BatchNormStatistics, relu: Bool = false) -> Variable {
        let channels = x.shape[0]
        precondition(gamma.count == channels && beta.count == channels, "batchNorm: \(channels) channels but gamma has \(gamma.count)")
        let perChannel = x.count / channels
        let output = Variable(uninitialized: x.shape, requiresGradient: x.requiresGradient || gamma.requiresGradient || beta.requiresGradient)
        let epsilon = statistics.epsilon
        if !training {
            output.value = x.value
            output.value.withUnsafeMutableBufferPointer { ys in
                AutogradKernels.batchNormInference(
                    ys.baseAddress!, channels: channels, perChannel: perChannel, gamma: gamma.value, beta: beta.value,
                    mean: statistics.mean, variance: statistics.variance, epsilon: epsilon)
                if relu { for index in ys.indices { ys[index] = max(ys[index], 0) } }
            }
            guard needsGradient(x, gamma, beta) else { return output }
            // Fixed statistics: an affine map per channel.
            let mean = statistics.mean, variance = statistics.variance
            record {
                guard output.gradient.count == output.count else { return }
                var dy = output.gradient
                if relu { for index in dy.indices where output.value[index] <= 0 { dy[index] = 0 } }
                for c in 0..<channels {
                    let invStd = 1 / (variance[c] + epsilon).squareRoot()
                    var sumDy: Float = 0, sumDyXhat: Float = 0
                    for index in (c * perChannel)..<((c + 1) * perChannel) {
                        sumDy += dy[index]
                        sumDyXhat += dy[index] * (x.value[index] - mean[c]) * invStd
                    }
                    if gamma.requiresGradient { gamma.accumulate { $0[c] += sumDyXhat } }
                    if beta.requiresGradient { beta.accumulate { $0[c] += sumDy } }
                    if x.requiresGradient {
                        let scale = gamma.value[c] * invStd
                        x.accumulate { dx in for index in (c * perChannel)..<((c + 1) * perChannel) { dx[index] += dy[index] * scale } }
                    }
                }
            }
            return output
        }
        precondition(perChannel > 1, "batchNorm: training needs more than one value per channel")
        var means = [Float](repeating: 0, count: channels)
        var invStds = [Float](repeating: 0, count: channels)
        var unbiasedVariances = [Float](repeating: 0, count: channels)
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in
                means.withUnsafeMutableBufferPointer { ms in
                    invStds.withUnsafeMutableBufferPointer { ss in
                      unbiasedVariances.withUnsafeMutableBufferPointer { us in
                        let (xp, yp, mp, sp, up) = (xs.baseAddress!, ys.baseAddress!, ms.baseAddress!, ss.baseAddress!, us.baseAddress!)
                        autogradParallelRanges(channels, grain: 1) { range in
                            for c in range {
                                let row = xp + c * perChannel
                                var sum = 0.0
                                for index in 0..<perChannel { sum += Double(row[index]) }
                                let mean = sum / Double(perChannel)
                                var squares = 0.0
                                for index in 0..<perChannel {
                                    let d = Double(row[index]) - mean
                                    squares += d * d
                                }
                                let variance = squares / Double(perChannel)
                                let invStd = Float(1 / (variance + Double(epsilon)).squareRoot())
                                mp[c] = Float(mean)
                                sp[c] = invStd
                                let g = gamma.value[c] * invStd, b = beta.value[c]
                                let m = Float(mean)
                                let out = yp + c * perChannel
                                if relu {
                                    for index in 0..<perChannel { out[index] = max((row[index] - m) * g + b, 0) }
                                } else {
                                    for index in 0..<perChannel { out[index] = (row[index] - m) * g + b }
                                }
                                up[c] = Float(squares / Double(perChannel - 1))
                            }
                        }
                      }
                    }
                }
            }
        }
        // Running statistics use the unbiased variance, as PyTorch does.
        for c in 0..<channels {
            statistics.mean[c] = (1 - statistics.momentum) * statistics.mean[c] + statistics.momentum * means[c]
            statistics.variance[c] = (1 - statistics.momentum) * statistics.variance[c] + statistics.momentum * unbiasedVariances[c]
        }
        guard needsGradient(x, gamma, beta) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            var gammaGradient = [Float](repeating: 0, count: channels)  // sum(dy * xhat)
            var betaGradient = [Float](repeating: 0, count: channels)  // sum(dy)
            if relu {
                // dy through the ReLU: zero where the output was clipped (in place: the
                // output's gradient is not read again).
                output.value.withUnsafeBufferPointer { ys in
                    output.gradient.withUnsafeMutableBufferPointer { dys in
                        let (yp, dyp) = (ys.baseAddress!, dys.baseAddress!)
                        autogradParallelRanges(output.count) { range in
                            for index in range where yp[index] <= 0 { dyp[index] = 0 }
                        }
                    }
                }
            }
            output.gradient.withUnsafeBufferPointer { dys in
                x.value.withUnsafeBufferPointer { xs in
                    gammaGradient.withUnsafeMutableBufferPointer { gg in
                        betaGradient.withUnsafeMutableBufferPointer { bg in
                            let (dyp, xp, ggp, bgp) = (dys.baseAddress!, xs.baseAddress!, gg.baseAddress!, bg.baseAddress!)
                            autogradParallelRanges(channels, grain: 1) { range in
                                for c in range {
                                    let dy = dyp + c * perChannel, row = xp + c * perChannel
                                    let mean = means[c]
                                    var sumDy = 0.0, sumDyCentred = 0.0
                                    for index in 0..<perChannel {
                                        sumDy += Double(dy[index])
                                        sumDyCentred += Double(dy[index] * (row[index] - mean))
                                    }
                                    ggp[c] = Float(sumDyCentred * Double(invStds[c]))
                                    bgp[c] = Float(sumDy)
                                }
                            }
                        }
                    }
                    guard x.requiresGradient else { return }
                    x.accumulateOrStore { dxp, fresh in
                        let (dyp, xp) = (dys.baseAddress!, xs.baseAddress!)
                        autogradParallelRanges(channels, grain: 1) { range in
                            for c in range {
                                // dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat))
                                let dy = dyp + c * perChannel, row = xp + c * perChannel, dx = dxp + c * perChannel
                                let mean = means[c], invStd = invStds[c]
                                let scale = gamma.value[c] * invStd
                                let meanDy = betaGradient[c] / Float(perChannel)
                                let slope = gammaGradient[c] / Float(perChannel) * invStd
                                if fresh {
                                    for index in 0..<perChannel { dx[index] = scale * (dy[index] - meanDy - (row[index] - mean) * slope) }
                                } else {
                                    for index in 0..<perChannel { dx[index] += scale * (dy[index] - meanDy - (row[index] - mean) * slope) }
                                }
                            }
                        }
                    }
                }
            }
            if gamma.requiresGradient { gamma.accumulate { for c in 0..<channels { $0[c] += gammaGradient[c] } } }
            if beta.requiresGradient { beta.accumulate { for c in 0..<channels { $0[c] += betaGradient[c] } } }
        }
        return output
    }

    /// Layer normalisation over the last dimension, as PyTorch's `LayerNorm(D)`:
    /// y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with the biased variance.
    // x: (rows, D) -> (rows, D); gamma, beta: (D)
    public func layerNorm(_ x: Variable, gamma: Variable, beta: Variable, epsilon: Float = 1e-5) -> Variable {
        let width = x.shape.last!
        precondition(gamma.count == width && beta.count == width, "layerNorm: width \(width) but gamma has \(gamma.count)")
        let rows = x.count / width
        let output = Variable(zeros: x.shape, requiresGradient: x.requiresGradient || gamma.requiresGradient || beta.requiresGradient)
        var means = [Float](repeating: 0, count: rows)
        var invStds = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var sum = 0.0
            for index in (r * width)..<((r + 1) * width) { sum += Double(x.value[index]) }
            let mean = sum / Double(width)
            var squares = 0.0
            for index in (r * width)..<((r + 1) * width) {
                let d = Double(x.value[index]) - mean
                squares += d * d
            }
            let invStd = 1 / (squares / Double(width) + Double(epsilon)).squareRoot()
            means[r] = Float(mean)
            invStds[r] = Float(invStd)
            for i in 0..<width {
                output.value[r * width + i] = (x.value[r * width + i] - Float(mean)) * Float(invStd) * gamma.value[i] + beta.value[i]
            }
        }
        guard needsGradient(x, gamma, beta) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            let dy = output.gradient
            var gammaGradient = [Float](repeating: 0, count: width)
            var betaGradient = [Float](repeating: 0, count: width)
            var rowGradient = [Float](repeating: 0, count: width)
            for r in 0..<rows {
                var sumG = 0.0, sumGXhat = 0.0
                for i in 0..<width {
                    let index = r * width + i
                    let xhat = (x.value[index] - means[r]) * invStds[r]
                    gammaGradient[i] += dy[index] * xhat
                    betaGradient[i] += dy[index]
                    let g = dy[index] * gamma.value[i]  // d/d xhat
                    sumG += Double(g)
                    sumGXhat += Double(g * xhat)
                }
                guard x.requiresGradient else { continue }
                let meanG = Float(sumG / Double(width)), meanGXhat = Float(sumGXhat / Double(width))
                for i in 0..<width {
                    let index = r * width + i
                    let xhat = (x.value[index] - means[r]) * invStds[r]
                    rowGradient[i] = invStds[r] * (dy[index] * gamma.value[i] - meanG - xhat * meanGXhat)
                }
                x.accumulate { dx in for i in 0..<width { dx[r * width + i] += rowGradient[i] } }
            }
            if gamma.requiresGradient { gamma.accumulate { for i in 0..<width { $0[i] += gammaGradient[i] } } }
            if beta.requiresGradient { beta.accumulate { for i in 0..<width { $0[i] += betaGradient[i] } } }
        }
        return output
    }
}
