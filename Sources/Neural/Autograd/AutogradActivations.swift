import Foundation

extension AutogradKernels {
    /// GELU, exact form: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)) (PyTorch's default).
    @inline(__always)
    public static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + erf(x * 0.707_106_77)) }

    /// d GELU / dx = Phi(x) + x * phi(x), phi the standard normal density.
    @inline(__always)
    static func geluDerivative(_ x: Float) -> Float {
        0.5 * (1 + erf(x * 0.707_106_77)) + x * 0.398_942_28 * exp(-0.5 * x * x)
    }
}

extension Tape {
    /// An element-wise map y = f(x) with derivative f'(x) for backward.
    private func elementwise(_ x: Variable, _ f: @escaping (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Variable {
        let output = Variable(uninitialized: x.shape, requiresGradient: x.requiresGradient)
        x.value.withUnsafeBufferPointer { xs in
            output.value.withUnsafeMutableBufferPointer { ys in
                let (xp, yp) = (xs.baseAddress!, ys.baseAddress!)
                autogradParallelRanges(x.count) { range in for index in range { yp[index] = f(xp[index]) } }
            }
        }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            output.gradient.withUnsafeBufferPointer { dys in
                x.value.withUnsafeBufferPointer { xs in
                    output.value.withUnsafeBufferPointer { ys in
                        x.accumulateOrStore { dx, fresh in
                            let (dyp, xp, yp) = (dys.baseAddress!, xs.baseAddress!, ys.baseAddress!)
                            autogradParallelRanges(x.count) { range in
                                if fresh {
                                    for index in range { dx[index] = dyp[index] * derivative(xp[index], yp[index]) }
                                } else {
                                    for index in range { dx[index] += dyp[index] * derivative(xp[index], yp[index]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// max(x, 0); the derivative at 0 is taken as 0, as PyTorch does.
    public func relu(_ x: Variable) -> Variable {
        elementwise(x, { max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 })
    }

    /// GELU, exact erf form.
    public func gelu(_ x: Variable) -> Variable {
        elementwise(x, AutogradKernels.gelu, derivative: { x, _ in AutogradKernels.geluDerivative(x) })
    }

    /// a + b, same shapes.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
        let output = Variable(zeros: a.shape, requiresGradient: a.requiresGradient || b.requiresGradient)
        for index in 0..<a.count { output.value[index] = a.value[index] + b.value[index] }
        guard needsGradient(a, b) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            for operand in [a, b] where operand.requiresGradient {
                operand.accumulate { d in for index in 0..<output.count { d[index] += output.gradient[index] } }
            }
        }
        return output
    }

    /// factor * x.
    public func scale(_ x: Variable, by factor: Float) -> Variable {
        elementwise(x, { $0 * factor }, derivative: { _, _ in factor })
    }

    /// Inverted dropout: in training each value is zeroed with probability `rate` and the
    /// others are scaled by 1/(1 - rate), so the expectation is unchanged; identity otherwise.
    public func dropout(_ x: Variable, rate: Float, random: inout SeededRandom) -> Variable {
        guard training, rate > 0 else { return x }
        precondition(rate < 1, "dropout: rate must be below 1")
        let keep = 1 / (1 - rate)
        var mask = [Float](repeating: 0, count: x.count)
        for index in 0..<x.count { mask[index] = random.uniformFloat() < rate ? 0 : keep }
        let output = Variable(zeros: x.shape, requiresGradient: x.requiresGradient)
        for index in 0..<x.count { output.value[index] = x.value[index] * mask[index] }
        guard needsGradient(x) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            x.accumulate { dx in for index in 0..<mask.count { dx[index] += output.gradient[index] * mask[index] } }
        }
        return output
    }
}
