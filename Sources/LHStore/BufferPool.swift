// Recycled fixed-size buffers for decompressed blocks and compressed frames.
//
// Why: the ask path decompresses tens of thousands of 64 KB blocks per question at 128k tokens.
// Allocating each block and each (variable-size) compressed frame from malloc interleaves the two in
// the heap; evicted blocks leave holes that frames of other sizes split, and the process kept up to
// 2.2× the block cache's budget resident (measured: --cache-mb 128 → 505 MB peak RSS at 128k tokens,
// 358 MB with large allocations forced to mmap). Recycling same-size buffers keeps the heap flat.
import Foundation
import LHCore

/// A thread-safe stack of free buffers of `bytes` bytes (64-byte aligned), kept up to `limit` of them.
public final class BufferPool: @unchecked Sendable {
    /// Size of every buffer.
    public let bytes: Int
    /// Free buffers kept at most; more are returned to the allocator.
    public let limit: Int
    private let lock = NSLock()
    private var free: [UnsafeMutableRawPointer] = []

    public init(bytes: Int, limit: Int) {
        self.bytes = max(bytes, 1)
        self.limit = limit
    }

    deinit { for p in free { p.deallocate() } }

    /// A buffer of `bytes` bytes (contents undefined).
    /// - Throws: `LHError.outOfMemory` when a new buffer cannot be allocated.
    public func take() throws -> UnsafeMutableRawPointer {
        lock.lock()
        if let p = free.popLast() { lock.unlock(); return p }
        lock.unlock()
        return try Allocation.raw(bytes: bytes, what: "a buffer of the block cache")
    }

    /// Returns a buffer obtained from `take`.
    public func give(_ p: UnsafeMutableRawPointer) {
        lock.lock()
        if free.count < limit { free.append(p); lock.unlock(); return }
        lock.unlock()
        p.deallocate()
    }
}
