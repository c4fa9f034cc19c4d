// Runs loop bodies across the C thread pool (the only source of parallelism besides none).
import CKernels

/// Parallel loops over the kernels' persistent thread pool.
///
/// OpenBLAS is set to one thread (see `BLASThreads`) and every parallel region goes through
/// this pool, so two thread pools never spin against each other on the machine's cores.
public enum Parallel {
    /// Number of threads that run tasks (including the caller).
    public static var threadCount: Int { Int(lh_pool_size()) }

    /// Sets the pool size (call before the first parallel loop; later calls are ignored).
    public static func configure(threads: Int) { lh_pool_init(Int32(threads)) }

    /// Calls `body(task, thread)` for every task in `0..<count`, spread over the pool.
    /// Returns when all tasks are done. `thread` is in `0..<threadCount`, for per-thread scratch.
    public static func forEach(_ count: Int, _ body: (_ task: Int, _ thread: Int) -> Void) {
        if count <= 0 { return }
        if count == 1 { body(0, 0); return }
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafeMutablePointer(to: &closure) { ctx in
                lh_parallel_for(Int64(count), { ctx, task, thread in
                    let f = ctx!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee
                    f(Int(task), Int(thread))
                }, ctx)
            }
        }
    }

    /// Splits `0..<count` into about `threadCount` contiguous ranges of at least `grain` and runs them in parallel.
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (_ range: Range<Int>, _ thread: Int) -> Void) {
        let parts = max(1, min(threadCount, count / max(grain, 1)))
        let step = (count + parts - 1) / parts
        forEach(parts) { p, t in
            let lo = p * step, hi = min(count, lo + step)
            if lo < hi { body(lo..<hi, t) }
        }
    }
}
