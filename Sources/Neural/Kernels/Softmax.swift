import CKernels

/// softmax over each row of `rows x width`, in place: e^(x - max) / sum.
// (rows, width) -> (rows, width)
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, threaded: Bool = true) {
    let body: (Range<Int>) -> Void = { range in
        for row in range {
            let data = x + row * width
            let inverse = 1 / exponentiateRow(data, width: width)
            for index in 0..<width { data[index] *= inverse }
        }
    }
    if threaded { KernelThreads.forEach(rows, grain: 16, body) } else { body(0..<rows) }
}

/// The unnormalised softmax of each row, in place: x = e^(x - max of the row), and
/// `inverseSums[row]` = 1 / (sum of the row's new values). For attention, which divides the
/// `(rows, head)` product by the sums instead of the `(rows, frames)` weights. Single-threaded
/// (callers run it on their own threads). Where the CPU has AVX-512 (`useKernel`), 16 lanes in
/// `CKernels` with the same exponential, the sum taken in the same pass (the sum's order
/// differs from the 8-lane loop below, so the two paths may differ in the last bit).
// (rows, width) -> (rows, width), (rows)
public func softmaxRowsUnnormalised(
    _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, inverseSums: UnsafeMutablePointer<Float>,
    useKernel: Bool = PackedLinear.kernelAvailable
) {
    if useKernel {
        ck_softmax_rows(x, Int32(rows), Int32(width), Int32(width), inverseSums)
        return
    }
    for row in 0..<rows { inverseSums[row] = 1 / exponentiateRow(x + row * width, width: width) }
}

/// `softmaxRowsUnnormalised` on the AVX-512 kernel, in place, on rows laid out as the kernel
/// copies them (`PackedProduct.multiply(_:lda:_:intoCopied:rows:columns:depth:)` writes them so,
/// `PackedProduct.multiplyCopied` reads them): the same bits as on row-major rows.
public func softmaxRowsUnnormalised(copied: UnsafeMutablePointer<Float>, rows: Int, width: Int, inverseSums: UnsafeMutablePointer<Float>) {
    precondition(PackedLinear.kernelAvailable, "softmaxRowsUnnormalised(copied:) needs the packed kernel")
    ck_softmax_rows_copied(copied, Int32(rows), Int32(width), inverseSums)
}

/// data = e^(data - max(data)); returns the sum of the new values. The maximum and the sum use
/// SIMD accumulators (a scalar loop over Floats cannot be vectorised without reordering the
/// additions, and a scalar `max` keeps its NaN handling: both measured 4-5x slower than the
/// exponentials). The order of operations depends only on `width`, never on threads.
@inline(__always)
func exponentiateRow(_ data: UnsafeMutablePointer<Float>, width: Int) -> Float {
    let raw = UnsafeRawPointer(data)
    var index = 0
    var maximumA = SIMD8<Float>(repeating: -.infinity), maximumB = maximumA
    while index + 16 <= width {
        let a = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
        let b = raw.loadUnaligned(fromByteOffset: index * 4 + 32, as: SIMD8<Float>.self)
        maximumA = maximumA.replacing(with: a, where: a .> maximumA)
        maximumB = maximumB.replacing(with: b, where: b .> maximumB)
        index += 16
    }
    maximumA = maximumA.replacing(with: maximumB, where: maximumB .> maximumA)
    var largest = maximumA.max()
    while index < width {
        if data[index] > largest { largest = data[index] }
        index += 1
    }
    for index in 0..<width { data[index] = FastMath.exp(data[index] - largest) }
    index = 0
    var sumA = SIMD8<Float>(repeating: 0), sumB = sumA
    while index + 16 <= width {
        sumA += raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
        sumB += raw.loadUnaligned(fromByteOffset: index * 4 + 32, as: SIMD8<Float>.self)
        index += 16
    }
    var total = (sumA + sumB).sum()
    while index < width {
        total += data[index]
        index += 1
    }
    return total
}
