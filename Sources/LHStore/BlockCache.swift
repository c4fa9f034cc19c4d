// A bounded, thread-safe LRU cache of decompressed blocks, with hit/miss/bytes statistics.
import Foundation
import LHCore

/// One decompressed block payload: keys (rows, d) then values (rows, d) in the stored element type.
public final class CachedBlock: @unchecked Sendable {
    /// The payload bytes.
    public let bytes: UnsafeMutableRawPointer
    /// Payload size.
    public let count: Int
    /// Tokens in the block.
    public let rows: Int
    /// The chunk's key bounds (2·d floats: minima then maxima) when its keys are sealed (k5v4, k4v4), kept with the
    /// block so that a reader needs no other file for it (`setKeyRanges`).
    public private(set) var keyRanges: UnsafeMutablePointer<Float>?
    /// Whether the payload's keys and values were rearranged into tiles (`ChunkLayout.tile`) when it was loaded.
    public internal(set) var tiled = false
    fileprivate var key = 0
    fileprivate var older: CachedBlock?
    /// Not a counted reference: a block in the list is held by the cache's map, and unlinking clears this link
    /// before the map lets go. (`weak` cost side-table atomics on every cache hit: 4–5% of a 128k answer token.)
    fileprivate unowned(unsafe) var newer: CachedBlock?

    private let pool: BufferPool?

    /// A block of `count` bytes; from `pool` (and back to it when released) when its buffers are that size.
    /// - Throws: `LHError.outOfMemory` when the memory cannot be allocated.
    init(count: Int, rows: Int, pool: BufferPool? = nil) throws {
        let pooled = pool.flatMap { $0.bytes == count ? $0 : nil }
        bytes = try pooled?.take() ?? Allocation.raw(bytes: count, what: "a block of the block cache")
        self.pool = pooled
        self.count = count
        self.rows = rows
    }

    /// Gives the block room for its key ranges (`count` floats) and fills them with `fill`.
    func setKeyRanges(count: Int, _ fill: (UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        let r = keyRanges ?? UnsafeMutablePointer<Float>.allocate(capacity: count)
        keyRanges = r
        try fill(r)
    }

    deinit {
        if let pool { pool.give(bytes) } else { bytes.deallocate() }
        keyRanges?.deallocate()
    }
}

/// Counters of a block cache (cumulative; subtract two snapshots for one question).
public struct CacheStatistics: Sendable, Codable, Equatable {
    /// Blocks found decompressed.
    public var hits = 0
    /// Blocks that had to be read and decompressed.
    public var misses = 0
    /// Compressed bytes read from kv.zst.
    public var bytesRead = 0
    /// Bytes produced by decompression.
    public var bytesDecompressed = 0

    public init() {}

    /// Counts accumulated since `earlier`.
    public func since(_ earlier: CacheStatistics) -> CacheStatistics {
        var s = CacheStatistics()
        s.hits = hits - earlier.hits
        s.misses = misses - earlier.misses
        s.bytesRead = bytesRead - earlier.bytesRead
        s.bytesDecompressed = bytesDecompressed - earlier.bytesDecompressed
        return s
    }
}

/// Least-recently-used blocks up to a byte budget. A returned block stays valid while referenced,
/// even if evicted meanwhile, so readers never race with eviction.
public final class BlockCache: @unchecked Sendable {
    /// Upper bound of cached payload bytes.
    public let capacityBytes: Int
    private let lock = NSLock()
    private var map: [Int: CachedBlock] = [:]
    private var newest: CachedBlock?
    private var oldest: CachedBlock?
    private var bytes = 0
    private var stats = CacheStatistics()

    public init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// The default budget. One answer token reads about 180 MB of blocks with the standard settings
    /// (30 layers × 3 KV heads × 32 chunks of 64 KB), and selections drift from token to token. Measured at
    /// 128k tokens (quiet machine, two questions, `-n 48`): 160 MB thrashes (8 tok/s), 192 MB 16.6 tok/s,
    /// 224 MB 18 tok/s at 455 MB peak RSS, 256 MB 19.6 tok/s at 505 MB, 512 MB 27 tok/s at 750 MB.
    /// 224 MB keeps `ask` under 500 MB at 128k.
    public static let defaultCapacityBytes = 224 << 20

    /// The statistics so far.
    public var statistics: CacheStatistics {
        lock.lock(); defer { lock.unlock() }
        return stats
    }

    /// Bytes currently cached.
    public var residentBytes: Int {
        lock.lock(); defer { lock.unlock() }
        return bytes
    }

    /// The block under `key`, or the result of `load` (called outside the lock) inserted under it.
    public func block(_ key: Int, load: () throws -> (CachedBlock, compressedBytes: Int)) rethrows -> CachedBlock {
        lock.lock()
        if let b = map[key] {
            stats.hits += 1
            unlink(b)
            pushNewest(b)
            lock.unlock()
            return b
        }
        lock.unlock()
        let (b, read) = try load()
        lock.lock()
        defer { lock.unlock() }
        stats.misses += 1
        stats.bytesRead += read
        stats.bytesDecompressed += b.count
        if map[key] != nil { return b }            // another thread loaded it meanwhile
        b.key = key
        map[key] = b
        pushNewest(b)
        bytes += b.count
        while bytes > capacityBytes, let o = oldest, o !== b {
            unlink(o)
            map[o.key] = nil
            bytes -= o.count
        }
        return b
    }

    /// Drops every block.
    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        var b = newest
        while let x = b { b = x.older; x.older = nil; x.newer = nil }
        map.removeAll()
        newest = nil
        oldest = nil
        bytes = 0
    }

    private func unlink(_ b: CachedBlock) {
        if let n = b.newer { n.older = b.older } else { newest = b.older }
        if let o = b.older { o.newer = b.newer } else { oldest = b.newer }
        b.older = nil
        b.newer = nil
    }

    private func pushNewest(_ b: CachedBlock) {
        b.older = newest
        newest?.newer = b
        newest = b
        if oldest == nil { oldest = b }
    }
}
