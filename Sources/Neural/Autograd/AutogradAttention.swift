import Foundation

extension Tape {
    /// Multi-head scaled dot-product attention, as PyTorch's
    /// `scaled_dot_product_attention` on heads split from the last dimension:
    /// per head h, O_h = softmax(Q_h K_h^T / sqrt(d_h) + mask) V_h, where keys at or after
    /// `lengths[n]` are masked out (padding). Queries are not masked; callers ignore padded rows.
    // q, k, v: (N, T, heads * d_h) -> (N, T, heads * d_h)
    public func attention(query q: Variable, key k: Variable, value v: Variable, heads: Int, lengths: [Int]? = nil) -> Variable {
        precondition(q.shape.count == 3 && q.shape == k.shape && q.shape == v.shape, "attention: q, k, v must share an (N, T, D) shape")
        let (batch, steps, width) = (q.shape[0], q.shape[1], q.shape[2])
        precondition(width % heads == 0, "attention: width \(width) is not a multiple of \(heads) heads")
        let headWidth = width / heads
        let scale = 1 / Float(headWidth).squareRoot()
        let validKeys = lengths ?? Array(repeating: steps, count: batch)
        precondition(validKeys.count == batch && validKeys.allSatisfy { $0 >= 1 && $0 <= steps }, "attention: bad lengths")
        let output = Variable(zeros: q.shape, requiresGradient: q.requiresGradient || k.requiresGradient || v.requiresGradient)
        // Attention weights P, kept for backward: (N, heads, T, T)
        var weights = [Float](repeating: 0, count: batch * heads * steps * steps)
        q.value.withUnsafeBufferPointer { qs in
            k.value.withUnsafeBufferPointer { ks in
                v.value.withUnsafeBufferPointer { vs in
                    output.value.withUnsafeMutableBufferPointer { os in
                        weights.withUnsafeMutableBufferPointer { ps in
                            for n in 0..<batch {
                                for h in 0..<heads {
                                    let offset = n * steps * width + h * headWidth
                                    let p = ps.baseAddress! + (n * heads + h) * steps * steps
                                    // S = Q K^T * scale: (T, d) x (d, T)
                                    AutogradKernels.gemm(
                                        qs.baseAddress! + offset, lda: width, ks.baseAddress! + offset, ldb: width, p, ldc: steps,
                                        m: steps, n: steps, k: headWidth, transposeB: true, alpha: scale)
                                    for row in 0..<steps {
                                        let r = p + row * steps
                                        var largest = -Float.infinity
                                        for column in 0..<validKeys[n] { largest = max(largest, r[column]) }
                                        var sum: Float = 0
                                        for column in 0..<validKeys[n] {
                                            r[column] = exp(r[column] - largest)
                                            sum += r[column]
                                        }
                                        for column in 0..<validKeys[n] { r[column] /= sum }
                                        for column in validKeys[n]..<steps { r[column] = 0 }
                                    }
                                    // O = P V: (T, T) x (T, d)
                                    AutogradKernels.gemm(
                                        p, lda: steps, vs.baseAddress! + offset, ldb: width, os.baseAddress! + offset, ldc: width,
                                        m: steps, n: headWidth, k: steps)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard needsGradient(q, k, v) else { return output }
        record {
            guard output.gradient.count == output.count else { return }
            for operand in [q, k, v] { operand.accumulate { _ in } }
            var scoreGradient = [Float](repeating: 0, count: steps * steps)
            output.gradient.withUnsafeBufferPointer { dos in
                weights.withUnsafeBufferPointer { ps in
                    scoreGradient.withUnsafeMutableBufferPointer { dss in
                        let ds = dss.baseAddress!
                        for n in 0..<batch {
                            for h in 0..<heads {
                                let offset = n * steps * width + h * headWidth
                                let p = ps.baseAddress! + (n * heads + h) * steps * steps
                                let dout = dos.baseAddress! + offset
                                // dV += P^T dO: (T, T)^T x (T, d)
                                v.gradient.withUnsafeMutableBufferPointer { dv in
                                    AutogradKernels.gemm(
                                        p, lda: steps, dout, ldb: width, dv.baseAddress! + offset, ldc: width,
                                        m: steps, n: headWidth, k: steps, transposeA: true, beta: 1)
                                }
                                // dP = dO V^T: (T, d) x (d, T)
                                v.value.withUnsafeBufferPointer { vs in
                                    AutogradKernels.gemm(
                                        dout, lda: width, vs.baseAddress! + offset, ldb: width, ds, ldc: steps,
                                        m: steps, n: steps, k: headWidth, transposeB: true)
                                }
                                // dS = P * (dP - rowsum(dP * P)), the softmax Jacobian.
                                for row in 0..<steps {
                                    var dot: Float = 0
                                    for column in 0..<steps { dot += ds[row * steps + column] * p[row * steps + column] }
                                    for column in 0..<steps { ds[row * steps + column] = p[row * steps + column] * (ds[row * steps + column] - dot) }
                                }
                                // dQ += scale * dS K; dK += scale * dS^T Q
                                k.value.withUnsafeBufferPointer { ks in
                                    q.gradient.withUnsafeMutableBufferPointer { dq in
                                        AutogradKernels.gemm(
                                            ds, lda: steps, ks.baseAddress! + offset, ldb: width, dq.baseAddress! + offset, ldc: width,
                                            m: steps, n: headWidth, k: steps, alpha: scale, beta: 1)
                                    }
                                }
                                q.value.withUnsafeBufferPointer { qs in
                                    k.gradient.withUnsafeMutableBufferPointer { dk in
                                        AutogradKernels.gemm(
                                            ds, lda: steps, qs.baseAddress! + offset, ldb: width, dk.baseAddress! + offset, ldc: width,
                                            m: steps, n: headWidth, k: steps, transposeA: true, alpha: scale, beta: 1)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
