// Recycled fixed-size buffers for decompressed blocks and compressed frames.
//
// Why: the ask path decompresses tens of thousands of 64 KB blocks per question at 128k tokens.
// Allocating each block and each (variable-size) compressed frame from malloc interleaves the two in
// the heap; evicted blocks leave holes that frames of other sizes split, and the process kept up to
// 2.2× the block cache's budget resident (measured: --cache-mb 128 → 505 MB peak RSS at 128k tokens,
// 358 MB with large allocations forced to mmap). Recycling same-size buffers keeps the heap flat.
//
// Buffers of at most 1 MB are cut from 2 MB slabs of anonymous memory advised for transparent huge pages: an
// answer token at 128k reads about 180 MB of blocks, 46,000 pages of 4 KB, and the TLB misses of those pages
// cost time as they do for model weights (see WeightResidency). Slabs live as long as the pool.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LHCore

/// A thread-safe stack of free buffers of `bytes` bytes (64-byte aligned), kept up to `limit` of them.
public final class BufferPool: @unchecked Sendable {
    /// Size of every buffer.
    public let bytes: Int
    /// Free buffers kept at most; more are returned to the allocator (buffers cut from slabs are always kept:
    /// a slab is returned as a whole, when the pool goes).
    public let limit: Int
    private let lock = NSLock()
    private var free: [UnsafeMutableRawPointer] = []
    private var slabs: [UnsafeMutableRawPointer] = []
    /// Buffers per slab; 0 when buffers are allocated one by one.
    private let perSlab: Int
    /// Bytes of one slab.
    static let slabBytes = 2 << 20
    /// Bytes from one slab buffer to the next (64-byte aligned).
    private let bufferStride: Int

    public init(bytes: Int, limit: Int) {
        self.bytes = max(bytes, 1)
        self.limit = limit
        bufferStride = (self.bytes + 63) & ~63
        perSlab = bufferStride <= Self.slabBytes / 2 ? Self.slabBytes / bufferStride : 0
    }

    deinit {
        if perSlab == 0 { for p in free { p.deallocate() } }
        for s in slabs { munmap(s, Self.slabBytes) }
    }

    /// A buffer of `bytes` bytes (contents undefined).
    /// - Throws: `LHError.outOfMemory` when a new buffer cannot be allocated.
    public func take() throws -> UnsafeMutableRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = free.popLast() { return p }
        guard perSlab > 0 else { return try Allocation.raw(bytes: bytes, what: "a buffer of the block cache") }
        let slab = try Self.alignedSlab()
        slabs.append(slab)
        for i in stride(from: perSlab - 1, to: 0, by: -1) { free.append(slab + i * bufferStride) }
        return slab
    }

    /// A slab on a 2 MB boundary (a huge page can back only an aligned 2 MB range), advised for huge pages.
    private static func alignedSlab() throws -> UnsafeMutableRawPointer {
        let n = slabBytes
        guard let raw = mmap(nil, 2 * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            throw LHError.outOfMemory(what: "a slab of block-cache buffers", bytes: n)
        }
        let head = (n - Int(bitPattern: raw) % n) % n
        if head > 0 { munmap(raw, head) }
        munmap(raw + head + n, n - head)
        Allocation.adviseHugePages(raw + head, count: n)
        return raw + head
    }

    /// Returns a buffer obtained from `take`.
    public func give(_ p: UnsafeMutableRawPointer) {
        lock.lock()
        if perSlab > 0 || free.count < limit { free.append(p); lock.unlock(); return }
        lock.unlock()
        p.deallocate()
    }
}
