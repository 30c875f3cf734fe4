
extension AutogradKernels {
    /// Row-major sgemm with explicit leading dimensions (for sub-matrices and per-head views):
    /// C = alpha * op(A) * op(B) + beta * C.
    // op(A): (m, k), op(B): (k, n), C: (m, n)
    @inline(__always)
    public static func gemm(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int,
        transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { for row in 0..<m { (c + row * ldc).update(repeating: 0, count: n) } }
            return
        }
        // The runtime's strided sgemm: split over the kernel threads when OpenBLAS runs on one.
        gemmStrided(a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
    }
}

/// Plain kernels shared by training (through `Tape`) and inference (called directly).
/// Each documents the shapes it works on; all buffers are row-major.
public enum AutogradKernels {}

extension Tape {
    /// y = x W^T + b over the last dimension, as PyTorch's `nn.Linear` stores W.
    // x: (rows, in), weight: (out, in), bias: (out) -> (rows, out)
    public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let inFeatures = x.shape.last!
        precondition(weight.shape.count == 2 && weight.shape[1] == inFeatures, "linear: weight \(weight.shape) does not fit input \(x.shape)")
        let outFeatures = weight.shape[0]
        let rows = x.count / inFeatures
        var outputShape = x.shape
        outputShape[outputShape.count - 1] = outFeatures
        let output = Variable(
            zeros: outputShape, requiresGradient: x.requiresGradient || weight.requiresGradient || bias?.requiresGradient == true)
        x.value.withUnsafeBufferPointer { xs in
            weight.value.withUnsafeBufferPointer { ws in
                output.value.withUnsafeMutableBufferPointer { ys in
                    if let bias {
                        for row in 0..<rows {
                            for column in 0..<outFeatures { ys[row * outFeatures + column] = bias.value[column] }
                        }
                    }
                    AutogradKernels.gemm(
                        xs.baseAddress!, lda: inFeatures, ws.baseAddress!, ldb: inFeatures, ys.baseAddress!, ldc: outFeatures,
                        m: rows, n: outFeatures, k: inFeatures, transposeB: true, beta: bias == nil ? 0 : 1)
                }
            }
        }
        guard needsGradient(x, weight, bias) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            output.gradient.withUnsafeBufferPointer { dy in
                if x.requiresGradient {
                    // dx = dy W: (rows, out) x (out, in)
                    x.accumulate { dx in
                        weight.value.withUnsafeBufferPointer { ws in
                            AutogradKernels.gemm(
                                dy.baseAddress!, lda: outFeatures, ws.baseAddress!, ldb: inFeatures, dx, ldc: inFeatures,
                                m: rows, n: inFeatures, k: outFeatures, beta: 1)
                        }
                    }
                }
                if weight.requiresGradient {
                    // dW = dy^T x: (out, rows) x (rows, in)
                    weight.accumulate { dw in
                        x.value.withUnsafeBufferPointer { xs in
                            AutogradKernels.gemm(
                                dy.baseAddress!, lda: outFeatures, xs.baseAddress!, ldb: inFeatures, dw, ldc: inFeatures,
                                m: outFeatures, n: inFeatures, k: rows, transposeA: true, beta: 1)
                        }
                    }
                }
                if let bias, bias.requiresGradient {
                    bias.accumulate { db in
                        for row in 0..<rows {
                            for column in 0..<outFeatures { db[column] += dy[row * outFeatures + column] }
                        }
                    }
                }
            }
        }
        return output
    }
}
