import Foundation

/// How the training kernels split work over cores: the runtime's `KernelThreads` pool (and its
/// split sgemm with OpenBLAS on one thread, which on a busy machine wastes far less CPU than
/// OpenBLAS's own spinning threads: measured 42 vs 60 ms of CPU per training clip). Each job's
/// partition depends only on the sizes and the thread count, never on timing, so results are
/// identical from run to run for a given thread count.
public enum AutogradThreads {
    public static var count: Int { KernelThreads.count }

    /// Training's threading: `threads` kernel threads, OpenBLAS on one.
    public static func useForTraining(_ threads: Int) {
        RuntimeThreads.configure(threads)
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
