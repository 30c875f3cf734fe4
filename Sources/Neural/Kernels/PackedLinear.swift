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
    /// Whether products of at least `amxMinimumRows` rows can run on AMX tiles (`CKernels`'
    /// Amx.c): packed weights, whole panels (`output` a multiple of 32) and AMX here. They do
    /// while `amxEnabled` is true.
    public let usesAMX: Bool

    /// True when the AVX-512 kernel can run here and is not turned off by the environment.
    public static let kernelAvailable: Bool = {
        if ProcessInfo.processInfo.environment["EMOBAKE_PACKED_KERNEL"] == "0" { return false }
        return ck_avx512_available() != 0
    }()

    /// True when AMX-BF16 can run here (and the AVX-512 kernel too).
    public static let amxAvailable: Bool = kernelAvailable && ck_amx_available() != 0

    /// Whether layers that can use AMX do. Off unless `EMOBAKE_AMX=1` is in the environment: on
    /// this shared 2-core host the whole forward pass was slower with AMX in 22 of 23 paired
    /// measurements (`emobake bench-runtime --compare-amx`; median ratios 1.03-1.25, once 0.90),
    /// although the product alone is 1.4x faster on a quiet core: splitting the operands on
    /// every call, and a core whose sibling is busy (AMX there runs at 0.84x the AVX-512
    /// kernel), take more than it gains.
    /// Set only between forward passes (the paired benchmark does): a pass that saw it change
    /// would depend on the moment.
    nonisolated(unsafe) public static var amxEnabled = ProcessInfo.processInfo.environment["EMOBAKE_AMX"] == "1"

    /// Fewest rows a product takes to AMX: the operands are split into bf16 parts on every call
    /// (the weights too, which costs as much as streaming them), which long inputs repay.
    /// Whatever the thread count, a layer takes the same path for the same rows, so the result
    /// stays the same.
    public static let amxMinimumRows = 384

    /// `weight` is `(output, input)`, `bias` `(output)` or nil. `useKernel` picks the path
    /// (tests force the OpenBLAS one).
    /// `useAMX` lets long products run on AMX where it is available, while `amxEnabled`.
    public init(
        weight: [Float], bias: [Float]?, output: Int, input: Int, useKernel: Bool = PackedLinear.kernelAvailable,
        useAMX: Bool = PackedLinear.amxAvailable
    ) {
        precondition(weight.count == output * input && (bias?.count ?? output) == output, "PackedLinear: weight \(weight.count) for (\(output), \(input))")
        self.output = output
        self.input = input
        self.bias = bias
        if useKernel && output > 0 && input > 0 {
            let count = ck_packed_count(Int32(output), Int32(input))
            guard let panels = ck_alloc_weights(count * MemoryLayout<Float>.stride) else { fatalError("PackedLinear: out of memory") }
            weight.withUnsafeBufferPointer { ck_pack_weight($0.baseAddress!, Int32(output), Int32(input), panels) }
            packed = panels
            plain = []
            usesAMX = useAMX && Self.amxAvailable && output % Int(CK_PANEL_COLUMNS) == 0
        } else {
            packed = nil
            plain = weight
            usesAMX = false
        }
    }

    deinit { ck_free_weights(packed, ck_packed_count(Int32(output), Int32(input)) * MemoryLayout<Float>.stride) }

    /// Whether calls run on the packed AVX-512 kernel.
    public var usesKernel: Bool { packed != nil }

    /// Bytes held for the weights.
    public var weightBytes: Int {
        packed != nil ? ck_packed_count(Int32(output), Int32(input)) * 4 : plain.count * 4
    }

    /// Rows per block of the kernel (CK_BLOCK_ROWS): a task with more rows goes through its
    /// copy of them block by block anyway.
    static let blockRows = Int(CK_BLOCK_ROWS)

    /// Largest copy of the rows made once for all the tasks of a product: up to twice a core's
    /// L2 here (the 1 s clip's products, 0.1-2.5 MB). A larger one (30 s: 6-19 MB) is written
    /// to memory and read back by the tasks, which measured slower than each task copying its
    /// rows block by block into its own cache-sized buffer, and would hold that much memory.
    static let copyOnceBytes = 4 << 20

    /// How the kernel threads share a product out: tasks of (rows, panels), about 4 per thread
    /// so that a thread the system pauses does not hold the other back. Each task copies its
    /// rows (rows x input floats) once per call, so tasks first take blocks of rows and only
    /// then split the panels (short clips). With rows enough for 128 or more per task (a 30 s
    /// clip's 1499 frames, the feature encoder's first layers) every task takes a block of rows
    /// and all the panels: each row is copied once instead of once per share of the panels,
    /// while every task streams all the weights, from L3 at a few GB/s (30 s clip, 22 pairs of
    /// runs in alternation on a busy host, against four blocks of rows times two halves of the
    /// panels: median wall-time ratio 0.97, 15 of 22 below 1; processor time 0.91 in 6 pairs;
    /// 1 and 5 s clips, where only the encoder's split changes: 0.97 both).
    static func taskPlan(rows: Int, panels: Int, threads: Int) -> (rowsPerTask: Int, panelsPerTask: Int) {
        let wanted = 4 * threads
        var rowBlocks = (rows + blockRows - 1) / blockRows
        if rows >= wanted * 128 { rowBlocks = max(rowBlocks, wanted) }
        let rowsPerTask = (rows + rowBlocks - 1) / rowBlocks
        let panelParts = max(1, min(panels, (wanted + rowBlocks - 1) / rowBlocks))
        return (rowsPerTask, (panels + panelParts - 1) / panelParts)
    }

    /// y = x W^T + b for `rows` rows of x into y (row stride `output`), on up to `threads` kernel
    /// threads (the result is the same for any count). Row r of x starts at `x + r * lda` (`lda`
    /// defaults to `input`); on the kernel the rows may overlap (`lda < input`: a convolution's
    /// patches read in place), on OpenBLAS they may not.
    // (rows, input) x (output, input)^T -> (rows, output)
    /// `activation` is applied to each finished output (on the kernel, to the sums still in
    /// registers: no second pass over y).
    /// y's rows are `ldc` apart (default `output`; the OpenBLAS path needs the default).
    public func apply(
        _ x: UnsafePointer<Float>, lda: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        activation: Activation = .none, threads: Int = KernelThreads.count
    ) {
        guard rows > 0, output > 0 else { return }
        let lda = lda ?? input, ldc = ldc ?? output
        guard packed != nil else {
            precondition(lda >= input, "PackedLinear: overlapping rows (lda \(lda) < input \(input)) need the packed kernel")
            precondition(ldc == output, "PackedLinear: an output row stride needs the packed kernel")
            plain.withUnsafeBufferPointer { weight in
                withOptionalPointer(bias) { linear(x, lda: lda, rows: rows, input: input, weight: weight.baseAddress!, bias: $0, output: output, into: y) }
            }
            if activation == .gelu { geluInPlace(y, count: rows * output) }
            return
        }
        if usesAMX && Self.amxEnabled && rows >= Self.amxMinimumRows {
            applyAMX(x, lda: lda, rows: rows, into: y, ldc: ldc, activation: activation, threads: threads)
            return
        }
        let panels = panelCount
        if threads <= 1 || rows * output * input < 1 << 20 {
            applyPanels(x, lda: lda, rows: rows, into: y, ldc: ldc, panels: 0..<panels, activation: activation)
            return
        }
        let (rowsPerTask, panelsPerTask) = Self.taskPlan(rows: rows, panels: panels, threads: threads)
        let rowTasks = (rows + rowsPerTask - 1) / rowsPerTask, panelTasks = (panels + panelsPerTask - 1) / panelsPerTask
        let tasks = rowTasks * panelTasks
        // When a block of rows is shared out by panels, its rows are copied once for all its tasks
        // (first, by depth blocks, on the kernel threads) instead of once per task, if the copy
        // stays in the caches until the tasks read it (see `copyOnceBytes`).
        let depthBlocks = (input + Int(CK_BLOCK_DEPTH) - 1) / Int(CK_BLOCK_DEPTH)
        let copyCount = ck_copied_rows_count(Int32(rows), Int32(input))
        let copied: UnsafeMutablePointer<Float>? =
            panelTasks > 1 && copyCount * MemoryLayout<Float>.stride <= Self.copyOnceBytes ? ck_thread_buffer(copyCount) : nil
        if let copied {
            KernelThreads.forEachTask(rowTasks * depthBlocks, workers: threads) { task, _ in
                let first = task / depthBlocks * rowsPerTask, block = task % depthBlocks
                ck_copy_rows(
                    Int32(min(rowsPerTask, rows - first)), Int32(input), x + first * lda, Int32(lda),
                    copied + first * depthBlocks * Int(CK_ROW_STRIDE), Int32(block), Int32(block + 1))
            }
        }
        // Each worker's tasks follow one another, so that each can fetch the weights of the one after.
        KernelThreads.forEachTaskFromBothEnds(tasks, workers: threads) { task, _, following in
            let first = task / panelTasks * rowsPerTask, panel = task % panelTasks * panelsPerTask
            let count = min(rowsPerTask, rows - first), share = panel..<min(panels, panel + panelsPerTask)
            let followingPanel = following.map { $0 % panelTasks * panelsPerTask }
            if let copied {
                applyCopiedPanels(
                    copied + first * depthBlocks * Int(CK_ROW_STRIDE), rows: count, into: y + first * ldc, ldc: ldc, panels: share,
                    followingPanel: followingPanel, activation: activation)
            } else {
                applyPanels(
                    x + first * lda, lda: lda, rows: count, into: y + first * ldc, ldc: ldc, panels: share, followingPanel: followingPanel,
                    activation: activation)
            }
        }
    }

    /// Groups of 16 rows and panels per task of the AMX product: a task's weights for one depth
    /// block (panels x 32 x 256 bf16 x 3 parts, 768 KB for 16 panels) stay in a core's L2 while
    /// its row groups go by; rows are shared out first, then panels if there are too few tasks.
    static func amxTaskPlan(groups: Int, panels: Int, threads: Int) -> (groupsPerTask: Int, panelsPerTask: Int) {
        let panelParts = (panels + 15) / 16
        let wanted = max(1, 4 * threads / panelParts)
        let groupsPerTask = max(1, min(16, (groups + wanted - 1) / wanted))
        return (groupsPerTask, (panels + panelParts - 1) / panelParts)
    }

    /// The product on AMX tiles: the rows and the weights are split into bf16 parts (one step on
    /// the kernel threads, in the calling thread's buffer), then multiplied in (row groups, panels)
    /// tasks. Each output is the same sum whatever the tasks.
    func applyAMX(
        _ x: UnsafePointer<Float>, lda: Int, rows: Int, into y: UnsafeMutablePointer<Float>, ldc: Int, activation: Activation,
        threads: Int
    ) {
        guard let packed else { preconditionFailure("applyAMX needs the packed weights") }
        let groups = (rows + 15) / 16, panels = panelCount
        let rowValues = ck_amx_rows_count(Int32(rows), Int32(input))
        let split = ck_amx_thread_buffer(rowValues + ck_amx_weights_count(Int32(output), Int32(input)))!
        let weightSplit = split + rowValues
        let groupsPerSplit = 8, panelsPerSplit = 2
        let rowSplits = (groups + groupsPerSplit - 1) / groupsPerSplit, weightSplits = (panels + panelsPerSplit - 1) / panelsPerSplit
        KernelThreads.forEachTask(rowSplits + weightSplits, workers: threads) { task, _ in
            if task < rowSplits {
                let first = task * groupsPerSplit
                ck_amx_split_rows(Int32(rows), Int32(input), x, Int32(lda), split, Int32(first), Int32(min(groups, first + groupsPerSplit)))
            } else {
                let first = (task - rowSplits) * panelsPerSplit
                ck_amx_split_weights(Int32(output), Int32(input), packed, weightSplit, Int32(first), Int32(min(panels, first + panelsPerSplit)))
            }
        }
        let (groupsPerTask, panelsPerTask) = Self.amxTaskPlan(groups: groups, panels: panels, threads: threads)
        let groupTasks = (groups + groupsPerTask - 1) / groupsPerTask, panelTasks = (panels + panelsPerTask - 1) / panelsPerTask
        withOptionalPointer(bias) { biasPointer in
            KernelThreads.forEachTask(groupTasks * panelTasks, workers: threads) { task, _ in
                let group = task / panelTasks * groupsPerTask, panel = task % panelTasks * panelsPerTask
                ck_amx_gemm(
                    Int32(rows), Int32(output), Int32(input), split, weightSplit, biasPointer, y, Int32(ldc), Int32(group),
                    Int32(min(groups, group + groupsPerTask)), Int32(panel), Int32(min(panels, panel + panelsPerTask)),
                    activation.kernelCode)
            }
        }
    }

    /// `applyPanels` on rows laid out beforehand by `ck_copy_rows` (at most CK_BLOCK_ROWS).
    func applyCopiedPanels(
        _ copied: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldc: Int, panels: Range<Int>, followingPanel: Int?,
        activation: Activation
    ) {
        guard let packed else { preconditionFailure("applyCopiedPanels needs the packed kernel") }
        withOptionalPointer(bias) { biasPointer in
            ck_gemm_copied(
                Int32(rows), Int32(output), Int32(input), copied, packed, biasPointer, y, Int32(ldc), Int32(panels.lowerBound),
                Int32(panels.upperBound), Int32(followingPanel ?? -1), activation.kernelCode)
        }
    }

    /// Panels of 32 outputs (the last one zero-padded).
    var panelCount: Int { (output + Int(CK_PANEL_COLUMNS) - 1) / Int(CK_PANEL_COLUMNS) }

    /// The plain weights `(output, input)` (empty on the kernel path).
    var plainWeights: [Float] { plain }

    /// The weights `(output, input)` as given, whichever form is kept (unpacked from the panels).
    public var weightMatrix: [Float] {
        guard let packed else { return plain }
        let columns = Int(CK_PANEL_COLUMNS)
        var matrix = [Float](repeating: 0, count: output * input)
        for row in 0..<output {
            let panel = packed + (row / columns) * input * columns + row % columns
            for inner in 0..<input { matrix[row * input + inner] = panel[inner * columns] }
        }
        return matrix
    }

    /// The packed weights (nil on the OpenBLAS path): panel p, input i, lane j at (p * input + i) * 32 + j.
    var packedWeights: UnsafeBufferPointer<Float>? {
        packed.map { UnsafeBufferPointer(start: $0, count: ck_packed_count(Int32(output), Int32(input))) }
    }

    /// The kernel on the outputs of `panels` only (every other column of y untouched).
    func applyPanels(
        _ x: UnsafePointer<Float>, lda: Int, rows: Int, into y: UnsafeMutablePointer<Float>, ldc: Int? = nil, panels: Range<Int>,
        followingPanel: Int? = nil, activation: Activation = .none
    ) {
        guard let packed else { preconditionFailure("applyPanels needs the packed kernel") }
        withOptionalPointer(bias) { biasPointer in
            ck_gemm_packed(
                Int32(rows), Int32(output), Int32(input), x, Int32(lda), packed, biasPointer, y, Int32(ldc ?? output),
                Int32(panels.lowerBound), Int32(panels.upperBound), Int32(followingPanel ?? -1), activation.kernelCode)
        }
    }
}

/// What a layer applies to each of its outputs.
public enum Activation: Sendable {
    case none
    /// PyTorch's default GELU (the erf form), as `FastMath.gelu`.
    case gelu

    var kernelCode: Int32 {
        switch self {
        case .none: CK_ACTIVATION_NONE
        case .gelu: CK_ACTIVATION_GELU
        }
    }
}

/// `body` with a pointer to the array's elements, or nil for no array.
@inline(__always)
func withOptionalPointer<Result>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> Result) -> Result {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}
