import COpenBLAS
import Dispatch

/// Row-major sgemm with explicit leading dimensions, for views into larger buffers (one head's
/// columns of a fused QKV matrix, every s-th row of an activation):
/// C = alpha * op(A) * op(B) + beta * C.
// (m, k) x (k, n) -> (m, n); lda/ldb/ldc are row strides in elements.
public func gemmStrided(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
    m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    let threads = KernelThreads.count
    // With OpenBLAS on one thread (see `RuntimeThreads`), large products are split here into one
    // block of rows (or columns) per kernel thread: two thread pools never compete for the cores.
    // A split is made only when every part stays above OpenBLAS's "small matrix" size (see
    // `GemmSplit.smallestPartProduct`), so the result does not depend on the thread count.
    if threads > 1, m * n * k >= 1 << 20, openblas_get_num_threads() == 1,
        GemmSplit.smallestPartProduct(parts: threads, m: m, n: n, k: k) > GemmSplit.smallProduct
    {
        gemmSplit(parts: threads, a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
        return
    }
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// One sgemm call, never split here: for callers that already run on the kernel threads.
// (m, k) x (k, n) -> (m, n)
@inline(__always)
public func gemmSingleThreaded(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
    m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1, beta: Float = 0
) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The product as `parts` independent sgemms over blocks of rows, or of columns when there are
/// fewer rows than columns, run concurrently. Each element's sum is still computed by one sgemm
/// call. OpenBLAS packs both operands on every call, so each part packs its block of one operand
/// and all of the other: splitting the larger of m and n packs the least (A is m x k, B is k x n).
/// A linear layer on 249 frames (n = 3072 outputs, k = 768) packed its weights twice when split
/// by rows; by columns each thread's part measured 13% faster.
func gemmSplit(
    parts threads: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
    m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float
) {
    let (splitRows, block) = GemmSplit.plan(parts: threads, m: m, n: n)
    let extent = splitRows ? m : n
    let parts = (extent + block - 1) / block
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let start = part * block
        let count = min(block, extent - start)
        if splitRows {
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(count), Int32(n), Int32(k), alpha, transposeA ? a + start : a + start * lda, Int32(lda), b, Int32(ldb), beta,
                c + start * ldc, Int32(ldc))
        } else {
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(count), Int32(k), alpha, a, Int32(lda), transposeB ? b + start * ldb : b + start, Int32(ldb), beta,
                c + start, Int32(ldc))
        }
    }
}

/// y = x W^T + b for every row of x: a linear (fully connected) layer as PyTorch stores it. Row
/// r of x starts at `x + r * lda` (default `input`; at least `input`).
// (rows, input) x (output, input)^T -> (rows, output)
public func linear(
    _ x: UnsafePointer<Float>, lda: Int? = nil, rows: Int, input: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    output: Int, into y: UnsafeMutablePointer<Float>
) {
    if let bias {
        KernelThreads.forEach(rows, grain: 64) { range in
            for row in range { (y + row * output).update(from: bias, count: output) }
        }
    }
    gemmStrided(x, lda: lda ?? input, weight, ldb: input, y, ldc: output, m: rows, n: output, k: input, transposeB: true, beta: bias == nil ? 0 : 1)
}

/// How `gemmSplit` cuts a product.
enum GemmSplit {
    /// OpenBLAS 0.3.21 (SkylakeX) multiplies products of at most 100^3 multiply-adds with its
    /// "small matrix" kernels, which round differently from the blocked ones: a split whose part
    /// fell under that size would make the result depend on the thread count.
    static let smallProduct = 1_000_000

    /// Rows (or columns, when m < n) in blocks of a multiple of 16, one per part.
    static func plan(parts: Int, m: Int, n: Int) -> (splitRows: Bool, block: Int) {
        let splitRows = m >= n
        let extent = splitRows ? m : n
        return (splitRows, ((extent + parts - 1) / parts + 15) / 16 * 16)
    }

    /// m * n * k of the smallest part.
    static func smallestPartProduct(parts: Int, m: Int, n: Int, k: Int) -> Int {
        let (splitRows, block) = plan(parts: parts, m: m, n: n)
        let extent = splitRows ? m : n
        let last = extent - (extent - 1) / block * block
        return min(block, last) * (splitRows ? n : m) * k
    }
}
