// Crash testing: LHINDEX_FAIL_AT_WRITE=N ends the process abruptly at the Nth write, sync, rename or removal of the store.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Numbered points just before every operation that changes files on disk (a write, truncate, fsync or
/// msync, a file or directory created, a rename, a removal, a SQLite transaction begun or committed).
///
/// With `LHINDEX_FAIL_AT_WRITE=N` in the environment, reaching the Nth point ends the process at once with
/// `_exit(137)` (no cleanup, no buffered output, as a SIGKILL would), so tests can stop a build at every
/// write in turn. `LHINDEX_FAIL_AT_WRITE=0` only counts: the number of points reached is written to standard
/// error at exit as `lhindex: write points: N`. Without the variable a point costs one load and a branch.
public enum FaultInjection {
    /// The point to stop at (0: count only), or nil when not testing.
    static let failAt: Int? = {
        guard let v = ProcessInfo.processInfo.environment["LHINDEX_FAIL_AT_WRITE"], let n = Int(v), n >= 0 else { return nil }
        if n == 0 {
            atexit {
                let line = Array("lhindex: write points: \(FaultInjection.reached)\n".utf8)
                _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            }
        }
        return n
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var reached = 0

    /// Marks a point before an operation that changes files; ends the process when it is the chosen one.
    @inline(__always)
    public static func point() {
        guard let n = failAt else { return }
        lock.lock()
        reached += 1
        let stop = reached == n
        lock.unlock()
        if stop { _exit(137) }
    }
}
