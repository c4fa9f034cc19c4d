// Large allocations that fail with a one-line error instead of aborting the process (Swift's allocate traps on failure).
#if canImport(Glibc)
import Glibc
#endif

/// Allocations whose failure is a user-facing condition (a tight `ulimit -v`, an oversized cache), not a bug.
public enum Allocation {
    /// `bytes` bytes aligned to `alignment` (a power of two, at least the pointer size), uninitialised;
    /// release with `free` (or `UnsafeMutableRawPointer.deallocate`, which calls it).
    /// - Parameter what: what the memory is for, named in the error ("a block of the block cache").
    /// - Throws: `LHError.outOfMemory` when the allocator refuses.
    public static func raw(bytes: Int, alignment: Int = 64, what: @autoclosure () -> String) throws -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        guard bytes >= 0, posix_memalign(&p, max(alignment, MemoryLayout<Int>.size), max(bytes, 1)) == 0, let p else {
            throw LHError.outOfMemory(what: what(), bytes: bytes)
        }
        return p
    }

    /// `count` zeroed floats, 64-byte aligned; release with `deallocate()`.
    /// - Throws: `LHError.outOfMemory` when the allocator refuses.
    public static func floats(_ count: Int, what: @autoclosure () -> String) throws -> UnsafeMutablePointer<Float> {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow else { throw LHError.outOfMemory(what: what(), bytes: .max) }
        let p = try raw(bytes: bytes, what: what()).bindMemory(to: Float.self, capacity: count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// Checks that `bytes` more bytes of address space can be mapped now (a tight `ulimit -v` refuses), so
    /// a command can stop with one line before it starts work whose allocations would fail midway.
    /// - Throws: `LHError.outOfMemory` naming `what` when a mapping of that size is refused.
    public static func checkAddressSpace(bytes: Int, what: @autoclosure () -> String) throws {
        guard bytes > 0 else { return }
        // Private, unpopulated and unreserved: costs no memory, only address space, and is unmapped at once.
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw LHError.outOfMemory(what: what(), bytes: bytes) }
        munmap(p, bytes)
    }

    /// Advises the kernel to back `count` bytes at `p` with transparent huge pages (2 MB; best effort: a kernel
    /// without them, or with them off, ignores it). For memory read in full over and over, where the TLB misses of
    /// 4 KB pages cost measurable time (model weights, the block cache).
    public static func adviseHugePages(_ p: UnsafeMutableRawPointer, count: Int) {
        _ = madvise(p, count, 14 /* MADV_HUGEPAGE, which Glibc's Swift module does not export */)
    }
}
