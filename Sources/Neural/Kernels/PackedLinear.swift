import CKernels
import Dispatch
import Foundation

/// A linear layer y = x W^T + b whose weights are packed once, at load, for our own AVX-512
/// kernel (`CKernels`): each call streams the packed panels instead of letting OpenBLAS copy
/// every weight into its own layout on every call (a third of the time of a 1 s clip). On a CPU
/// without AVX-512 (or with `EMOBAKE_PACKED_KERNEL=0` in the environment) the plain weights
/// are kept and the product runs on OpenBLAS as `linear` does.
///
/// Either way each output element is one sum over the inputs in a fixed order: the result does
/// not depend on the thread count. The packed form replaces the plain copy (it is the weights
/// rearranged into panels of 32 outputs, zero-padded to a multiple of 32 outputs).
public final class PackedLinear: @unchecked Sendable {
    public let output: Int
    public let input: Int
    public let bias: [Float]?
    /// Panels of 32 outputs x `input` (64-byte aligned); nil on the OpenBLAS path.
    private let packed: UnsafeMutablePointer<Float>?
    /// `(output, input)` as PyTorch stores it; empty when packed.
    private let plain: [Float]

    /// True when the AVX-512 kernel can run here and is not turned off by the environment.
    public static let kernelAvailable: Bool = {
        if ProcessInfo.processInfo.environment["EMOBAKE_PACKED_KERNEL"] == "0" { return false }
        return ck_avx512_available() != 0
    }()

    /// `weight` is `(output, input)`, `bias` `(output)` or nil. `useKernel` picks the path
    /// (tests force the OpenBLAS one).
    public init(weight: [Float], bias: [Float]?, output: Int, input: Int, useKernel: Bool = PackedLinear.kernelAvailable) {
        precondition(weight.count == output * input && (bias?.count ?? output) == output, "PackedLinear: weight \(weight.count) for (\(output), \(input))")
        self.output = output
        self.input = input
        self.bias = bias
        if useKernel && output > 0 && input > 0 {
            let count = ck_packed_count(Int32(output), Int32(input))
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            let panels = raw.bindMemory(to: Float.self, capacity: count)
            weight.withUnsafeBufferPointer { ck_pack_weight($0.baseAddress!, Int32(output), Int32(input), panels) }
            packed = panels
            plain = []
        } else {
            packed = nil
            plain = weight
        }
    }

    deinit { packed?.deallocate() }

    /// Whether calls run on the packed AVX-512 kernel.
    public var usesKernel: Bool { packed != nil }

    /// Bytes held for the weights.
    public var weightBytes: Int {
        packed != nil ? ck_packed_count(Int32(output), Int32(input)) * 4 : plain.count * 4
    }

    /// Rows per block of the kernel (CK_BLOCK_ROWS in PackedGemm.c): a task with more rows
    /// goes through its copy of them block by block anyway.
    static let blockRows = 480

    /// How the kernel threads share a product out: tasks of (rows, panels), about 4 per thread
    /// so that a thread the system pauses does not hold the other back. Each task copies its
    /// rows (rows x input floats) once per call, so tasks first take whole blocks of rows (long
    /// clips: 1500 frames make 4 blocks) and only then split the panels (short clips).
    static func taskPlan(rows: Int, panels: Int, threads: Int) -> (rowsPerTask: Int, panelsPerTask: Int) {
        let wanted = 4 * threads
        let rowBlocks = (rows + blockRows - 1) / blockRows
        let rowsPerTask = (rows + rowBlocks - 1) / rowBlocks
        let panelParts = max(1, min(panels, (wanted + rowBlocks - 1) / rowBlocks))
        return (rowsPerTask, (panels + panelParts - 1) / panelParts)
    }

    /// y = x W^T + b for `rows` rows of x (row stride `input`) into y (row stride `output`), on
    /// up to `threads` kernel threads (the result is the same for any count).
    // (rows, input) x (output, input)^T -> (rows, output)
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, threads: Int = KernelThreads.count) {
        guard rows > 0, output > 0 else { return }
        guard packed != nil else {
            plain.withUnsafeBufferPointer { weight in
                if let bias {
                    bias.withUnsafeBufferPointer { linear(x, rows: rows, input: input, weight: weight.baseAddress!, bias: $0.baseAddress!, output: output, into: y) }
                } else {
                    gemmStrided(x, lda: input, weight.baseAddress!, ldb: input, y, ldc: output, m: rows, n: output, k: input, transposeB: true)
                }
            }
            return
        }
        let panels = panelCount
        if threads <= 1 || rows * output * input < 1 << 20 {
            applyPanels(x, rows: rows, into: y, panels: 0..<panels)
            return
        }
        let (rowsPerTask, panelsPerTask) = Self.taskPlan(rows: rows, panels: panels, threads: threads)
        let rowTasks = (rows + rowsPerTask - 1) / rowsPerTask, panelTasks = (panels + panelsPerTask - 1) / panelsPerTask
        let tasks = rowTasks * panelTasks
        let counter = TaskCounter()
        DispatchQueue.concurrentPerform(iterations: min(threads, tasks)) { _ in
            var task = counter.take()
            while task < tasks {
                let first = task / panelTasks * rowsPerTask, panel = task % panelTasks * panelsPerTask
                applyPanels(
                    x + first * input, rows: min(rowsPerTask, rows - first), into: y + first * output,
                    panels: panel..<min(panels, panel + panelsPerTask))
                task = counter.take()
            }
        }
    }

    /// Panels of 32 outputs (the last one zero-padded).
    var panelCount: Int { (output + Int(CK_PANEL_COLUMNS) - 1) / Int(CK_PANEL_COLUMNS) }

    /// The packed weights (nil on the OpenBLAS path): panel p, input i, lane j at (p * input + i) * 32 + j.
    var packedWeights: UnsafeBufferPointer<Float>? {
        packed.map { UnsafeBufferPointer(start: $0, count: ck_packed_count(Int32(output), Int32(input))) }
    }

    /// The kernel on the outputs of `panels` only (every other column of y untouched).
    func applyPanels(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, panels: Range<Int>) {
        guard let packed else { preconditionFailure("applyPanels needs the packed kernel") }
        let call = { (biasPointer: UnsafePointer<Float>?) in
            ck_gemm_packed(
                Int32(rows), Int32(self.output), Int32(self.input), x, Int32(self.input), packed, biasPointer, y, Int32(self.output),
                Int32(panels.lowerBound), Int32(panels.upperBound))
        }
        if let bias {
            bias.withUnsafeBufferPointer { call($0.baseAddress!) }
        } else {
            call(nil)
        }
    }
}
