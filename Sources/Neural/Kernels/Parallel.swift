import Dispatch
import Foundation

/// Threads for the work BLAS does not do (norms, activations, softmax, im2col).
public enum KernelThreads {
    /// How many threads kernels split their rows over (set with `setBLASThreads` alike).
    nonisolated(unsafe) public static var count = 2

    /// Runs `body(range)` over `0..<total` split into about `count` contiguous ranges of at
    /// least `grain` items; small jobs run on the calling thread.
    @inline(__always)
    public static func forEach(_ total: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let threads = min(count, max(1, total / max(1, grain)))
        if threads <= 1 {
            if total > 0 { body(0..<total) }
            return
        }
        let chunk = (total + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            let start = index * chunk
            let end = min(total, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// How inference uses the cores: `configure(threads)` puts OpenBLAS on one thread and lets the
/// kernels (sgemm included, split by rows or columns) use `threads` threads of their own, so one
/// pool of threads serves every step. OpenBLAS's own pool spins between calls and competes with
/// the kernel threads on a 2-core machine.
public enum RuntimeThreads {
    public static func configure(_ threads: Int) {
        setBLASThreads(1)
        KernelThreads.count = max(1, threads)
    }
}

/// Hands out task numbers 0, 1, 2, ... to whichever thread asks first, so that the threads of
/// one parallel loop share its tasks dynamically: a thread the system pauses (a busy machine)
/// does not hold the others back with its fixed share. What a task computes must not depend on
/// the thread that runs it (each thread may bring its own scratch buffer).
public final class TaskCounter: @unchecked Sendable {
    private var next = 0
    private let lock = NSLock()

    public init() {}

    public func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        return next - 1
    }
}
