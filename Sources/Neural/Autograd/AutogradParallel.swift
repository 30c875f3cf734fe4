import Foundation

/// How the training kernels split work over cores. Each job's partition depends only on the
/// sizes and `threads`, never on timing, so results are identical from run to run for a
/// given thread count.
public enum AutogradThreads {
    /// Threads for element-wise kernels (OpenBLAS has its own setting: `setBLASThreads`).
    nonisolated(unsafe) public static var count: Int = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 2))

    /// When true, large matrix products are split over `count` threads here, each calling
    /// single-threaded OpenBLAS (call `setBLASThreads(1)`). On a busy machine this wastes far
    /// less CPU than OpenBLAS's own threads, which spin while they wait for work (measured:
    /// 42 vs 60 ms of CPU per training clip). Training turns it on.
    nonisolated(unsafe) public static var splitsMatrixProducts = false

    /// Training's threading: `threads` for everything, matrix products split here.
    public static func useForTraining(_ threads: Int) {
        count = max(1, threads)
        splitsMatrixProducts = count > 1
        setBLASThreads(1)
    }
}

/// Runs `body(range)` over `0..<total` split into at most `AutogradThreads.count` contiguous
/// ranges; small jobs (under `grain` items) run on the calling thread.
@inline(__always)
func autogradParallelRanges(_ total: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
    let threads = AutogradThreads.count
    if threads <= 1 || total < grain * 2 {
        if total > 0 { body(0..<total) }
        return
    }
    let chunks = min(threads, total / grain)
    let size = (total + chunks - 1) / chunks
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let start = chunk * size
        let end = min(total, start + size)
        if start < end { body(start..<end) }
    }
}

/// Runs `body(index)` for each index in `0..<total`, spread over the threads (each index's
/// work must be independent of the others).
@inline(__always)
func autogradParallelFor(_ total: Int, _ body: (Int) -> Void) {
    if AutogradThreads.count <= 1 || total <= 1 {
        for index in 0..<total { body(index) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: total) { body($0) }
}
