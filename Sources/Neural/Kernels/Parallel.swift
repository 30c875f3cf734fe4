import CKernels
import Dispatch
import Foundation

/// Threads for the work BLAS does not do (norms, activations, softmax, im2col).
public enum KernelThreads {
    /// How many threads kernels split their rows over (set with `setBLASThreads` alike).
    nonisolated(unsafe) public static var count = 2

    /// Runs `body(worker)` for worker 0..<workers on the kernel threads' pool (`ck_pool_run`:
    /// worker 0 on the calling thread; idle workers spin for about 0.3 ms before they sleep, so
    /// the next step does not wait for a thread to wake, about 20 us each with GCD here). The
    /// bodies must share their work through a counter (`forEachTask`): while the pool is busy (a
    /// step started inside another, or from another thread) worker 0 alone runs, and must do it all.
    public static func run(_ workers: Int, _ body: (Int) -> Void) {
        if workers <= 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { pointer in
                ck_pool_run(
                    Int32(workers),
                    { context, worker in context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(worker)) },
                    pointer)
            }
        }
    }

    /// Runs `body(task, worker)` for every task of `0..<count` on up to `workers` threads of the
    /// pool, each thread taking its next task from a shared counter when it is ready (what lets
    /// the pool run a step on worker 0 alone, and a slow core do fewer tasks), as
    /// `forEachTaskFromBothEnds` hands them out. `worker` (below the number of threads used)
    /// picks a thread's own scratch; what a task computes must not depend on it.
    public static func forEachTask(_ count: Int, workers: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        forEachTaskFromBothEnds(count, workers: workers) { task, worker, _ in body(task, worker) }
    }

    /// `forEachTask` for tasks whose neighbours share data worth fetching ahead (a product's
    /// panels of weights): even workers take tasks from the front (0, 1, 2, ...), odd ones from
    /// the back (count - 1, count - 2, ...), so that each worker's tasks follow one another;
    /// `following` is the task the worker takes next unless the other end reaches it first
    /// (nil past the ends). Shares out dynamically, as `forEachTask`, and a busy pool's worker
    /// 0 does every task from the front.
    public static func forEachTaskFromBothEnds(
        _ count: Int, workers: Int, _ body: (_ task: Int, _ worker: Int, _ following: Int?) -> Void
    ) {
        let counter = TwoEndedTaskCounter(count)
        run(min(workers, count)) { worker in
            let fromFront = worker % 2 == 0
            while let task = counter.take(fromFront: fromFront) {
                let following = fromFront ? task + 1 : task - 1
                body(task, worker, following >= 0 && following < count ? following : nil)
            }
        }
    }

    /// Runs `body(range)` over `0..<total` split into contiguous ranges of at least `grain` items,
    /// about 4 per thread, which the threads take in turn (`forEachTask`): when the system gives
    /// one core less time (this machine's two cores measured 100 and 158 GFLOPS while both
    /// worked), the other takes over its ranges instead of waiting. Small jobs run on the
    /// calling thread. What `body` computes for an item must not depend on the range it is in.
    @inline(__always)
    public static func forEach(_ total: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let threads = min(count, max(1, total / max(1, grain)))
        if threads <= 1 {
            if total > 0 { body(0..<total) }
            return
        }
        let parts = min(4 * threads, max(threads, total / max(1, grain)))
        let chunk = (total + parts - 1) / parts
        forEachTask(parts, workers: threads) { part, _ in
            let start = part * chunk
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

/// Hands out the tasks 0..<count from both ends: `take(fromFront: true)` gives the lowest task
/// not yet taken, `take(fromFront: false)` the highest, nil once every task is taken.
final class TwoEndedTaskCounter: @unchecked Sendable {
    private var front = 0
    private var back: Int
    private let lock = NSLock()

    init(_ count: Int) { back = count }

    func take(fromFront: Bool) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard front < back else { return nil }
        if fromFront {
            front += 1
            return front - 1
        }
        back -= 1
        return back
    }
}
