import CKernels

/// Matrix products on the AVX-512 kernel of `PackedLinear` for operands packed at run time
/// (attention's keys and values, packed once per head and used by every block of query rows).
/// Only where `PackedLinear.kernelAvailable`; callers keep an OpenBLAS path otherwise.
///
/// Each element of a product is one fused multiply-add chain over k in increasing order: the
/// same bits however the rows or columns are shared out.
public enum PackedProduct {
    /// Floats of a packed operand with `columns` product columns and depth `depth`.
    public static func count(columns: Int, depth: Int) -> Int { ck_packed_count(Int32(columns), Int32(depth)) }

    /// Packs `rows` (columns, depth), row stride `ld`, whose row j is column j of the product
    /// (the keys of Q K^T).
    // (columns, depth) -> packed (depth, columns)
    public static func packTransposed(_ rows: UnsafePointer<Float>, ld: Int, columns: Int, depth: Int, into packed: UnsafeMutablePointer<Float>) {
        ck_pack_transposed(rows, Int32(ld), Int32(columns), Int32(depth), packed)
    }

    /// Packs `matrix` (depth, columns), row stride `ld`, as it multiplies (the values of P V).
    // (depth, columns) -> packed (depth, columns)
    public static func packRows(_ matrix: UnsafePointer<Float>, ld: Int, depth: Int, columns: Int, into packed: UnsafeMutablePointer<Float>) {
        ck_pack_rows(matrix, Int32(ld), Int32(depth), Int32(columns), packed)
    }

    /// c = a x packed on the calling thread: `a` (rows, depth) with row stride `lda`, c (rows,
    /// columns) with row stride `ldc`.
    // (rows, depth) x (depth, columns) -> (rows, columns)
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ packed: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: Int, depth: Int
    ) {
        let panels = (columns + Int(CK_PANEL_COLUMNS) - 1) / Int(CK_PANEL_COLUMNS)
        ck_gemm_packed(Int32(rows), Int32(columns), Int32(depth), a, Int32(lda), packed, nil, c, Int32(ldc), 0, Int32(panels), -1, CK_ACTIVATION_NONE)
    }

    /// The calling thread's buffer (kept for the thread's life, reused by the next call on the
    /// same thread) for the rows' copy `multiplyCopied` reads: up to `rows` rows of `depth` values.
    public static func copiedBuffer(rows: Int, depth: Int) -> UnsafeMutablePointer<Float> {
        ck_thread_buffer(ck_copied_rows_count(Int32(rows), Int32(depth)))!
    }

    /// `multiply` with c written in the layout the kernel copies rows into (`rows` at most 480:
    /// c's rows become the left operand of a `multiplyCopied` without a copy). The same bits.
    /// One product per 512 columns (a depth block of the copy): panels never straddle one.
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ packed: UnsafePointer<Float>, intoCopied copied: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, depth: Int
    ) {
        let blockColumns = Int(CK_BLOCK_DEPTH), stride = Int(CK_ROW_STRIDE), panelsPerBlock = blockColumns / Int(CK_PANEL_COLUMNS)
        var block = 0
        while block * blockColumns < columns {
            // Column j of block b goes to copied + (b * rows + r) * stride + j - b * blockColumns: the
            // kernel indexes c by absolute column, so c starts blockColumns floats per block earlier.
            let c = copied + block * (rows * stride - blockColumns)
            ck_gemm_packed(
                Int32(rows), Int32(columns), Int32(depth), a, Int32(lda), packed, nil, c, Int32(stride), Int32(block * panelsPerBlock),
                Int32((block + 1) * panelsPerBlock), -1, CK_ACTIVATION_NONE)
            block += 1
        }
    }

    /// `multiply` on rows already laid out as the kernel copies them (at most 480 rows: written
    /// by `multiply(_:lda:_:intoCopied:rows:columns:depth:)`): the same bits.
    public static func multiplyCopied(
        _ copied: UnsafePointer<Float>, _ packed: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, ldc: Int,
        rows: Int, columns: Int, depth: Int
    ) {
        let panels = (columns + Int(CK_PANEL_COLUMNS) - 1) / Int(CK_PANEL_COLUMNS)
        ck_gemm_copied(Int32(rows), Int32(columns), Int32(depth), copied, packed, nil, c, Int32(ldc), 0, Int32(panels), -1, CK_ACTIVATION_NONE)
    }
}
