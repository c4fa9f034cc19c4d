// A ChunkStore backed by a .lhx bundle: zstd frames in kv.zst found through the mapped kv.seek, mapped summaries, key bounds and representative keys.
import CKernels
import Foundation
import LHCore
import LHEngine
import LHModel

/// Keys, values and summaries of one document in a bundle directory (FORMAT.md).
///
/// Chunks below `diskChunks` are read from `kv.zst` through a bounded LRU cache of decompressed blocks;
/// later chunks (the open chunk while building, the document's last partial chunk and question tokens
/// while asking) live in memory. While building, `flush` compresses completed chunks and appends them,
/// so the whole KV of a document is never held in memory. Summaries, Quest key bounds and representative keys
/// live in the mapped `summaries.f32`, `bounds.f32` and (when `layout.representatives` > 0) `reps.f32` (`MappedRows`).
public final class FileChunkStore: ChunkStore, @unchecked Sendable {
    public let layout: ChunkLayout
    /// The bundle directory.
    public let directory: String
    /// The seek table header (dimensions, document tokens).
    public let seekHeader: SeekHeader
    /// Whether the store was opened for building (writable files).
    public let building: Bool
    /// Decompressed blocks.
    public let cache: BlockCache
    /// The cache and the buffers behind it (shared by the documents of a corpus).
    public let memory: BlockMemory
    let codec: FrameCodec
    private let seekMap: MemoryMap
    private let kvFile: PosixFile
    private let summaryRows: MappedRows                   // (L·H, capacity, d)
    private let boundRows: MappedRows                     // (L·G, capacity, 2·d)
    private let repRows: MappedRows?                      // (L·G, capacity, r·d); nil when r = 0
    /// The key bounds as halves rounded outward, what Quest scoring reads while asking (`keyBounds`), copied from
    /// bounds.f32 when first scored: an answer token scores every chunk of the document and reads half the bytes
    /// (96 MB rather than 192 MB at a million tokens), from memory that replaces the mapped file's pages (the
    /// document's rows are released once copied; sealed blocks read their key ranges from the file, not the
    /// mapping). Each score stays an upper bound of its chunk's keys' scores; a corpus keeps its bounds the same
    /// way (`CorpusChunkStore`). Nil while building: a build that scores by bounds reads the rows it writes.
    private let halfBounds: CorpusRows?
    /// Every rows file of the bundle, for what is done to all of them alike (sync, clear, reserve).
    private var rowFiles: [MappedRows] { [summaryRows, boundRows] + (repRows.map { [$0] } ?? []) }
    private let tail: TailBlocks
    /// Chunks whose frames are in kv.zst (complete document chunks while asking).
    public private(set) var diskChunks = 0
    /// Bytes of kv.zst written so far.
    public private(set) var kvBytes = 0
    private let firstError = FirstError()
    private let pinnedLock = NSLock()
    private var pinned: [CachedBlock] = []
    /// Recycled buffers of decompressed blocks (the cache's budget of them, plus room for blocks in use).
    private let blockPool: BufferPool
    /// Added to every cache key, so stores sharing one cache (a corpus) never share a key.
    private let cacheKeyBase: Int
    /// Whether every chunk, the last partial one too, is read from kv.zst: a document of a corpus that
    /// another document follows, so no question tokens ever continue it.
    public let sealed: Bool
    /// Recycled buffers for reading compressed frames.
    private let framePool: BufferPool
    /// All-zero rows (zero in every precision) returned in place of a frame that failed to load.
    private let zeroBlock: CachedBlock

    var path: (String) -> String { { self.directory + "/" + $0 } }

    private init(directory: String, layout: ChunkLayout, seekHeader: SeekHeader, building: Bool, codec: FrameCodecSettings,
                 memory: BlockMemory, seekMap: MemoryMap, kvFile: PosixFile, summaries: MappedRows, bounds: MappedRows,
                representatives: MappedRows?, cacheKeyBase: Int = 0, sealed: Bool = false) throws {
        self.directory = directory
        self.layout = layout
        self.seekHeader = seekHeader
        self.building = building
        self.codec = memory.codec(codec)
        self.memory = memory
        cache = memory.cache
        blockPool = memory.blockPool
        framePool = memory.framePool
        self.cacheKeyBase = cacheKeyBase
        self.sealed = sealed
        self.seekMap = seekMap
        self.kvFile = kvFile
        summaryRows = summaries
        boundRows = bounds
        let documentChunks = seekHeader.tokens / layout.chunkSize   // rows never written while asking
        halfBounds = building ? nil : CorpusRows(groups: bounds.groups, width: bounds.width, capacity: bounds.capacity,
                                                 encoding: .outwardBounds) { write in
            for g in 0..<bounds.groups where bounds.capacity > 0 {
                write(g, 0, bounds.row(g, 0), bounds.capacity)
                // The document's f32 pages go as soon as copied, so the copy never doubles them.
                bounds.release(group: g, rows: documentChunks)
            }
        }
        repRows = representatives
        tail = TailBlocks(layout: layout)
        zeroBlock = memory.zeroBlock
    }

    /// The headers of summaries.f32, bounds.f32 and reps.f32 (nil when `layout` keeps no representative keys).
    static func rowsHeaders(layout: ChunkLayout, capacity: Int, documentChunks: Int) -> (RowsHeader, RowsHeader, RowsHeader?) {
        (RowsHeader(kind: .summaries, layers: layout.layers, groups: layout.heads, width: layout.headDimension,
                    capacityChunks: capacity, documentChunks: documentChunks),
         RowsHeader(kind: .bounds, layers: layout.layers, groups: layout.kvHeads, width: 2 * layout.headDimension,
                    capacityChunks: capacity, documentChunks: documentChunks),
         layout.representatives > 0
            ? RowsHeader(kind: .representatives, layers: layout.layers, groups: layout.kvHeads,
                         width: layout.representatives * layout.headDimension, capacityChunks: capacity, documentChunks: documentChunks)
            : nil)
    }

    /// Creates the store files of a new bundle in `directory` for a document of `tokens` tokens.
    public static func create(directory: String, layout: ChunkLayout, tokens: Int, codec: FrameCodecSettings,
                              cacheBytes: Int = BlockCache.defaultCapacityBytes) throws -> FileChunkStore {
        let chunks = (tokens + layout.chunkSize - 1) / layout.chunkSize
        let seek = SeekHeader(flags: codec.shuffle ? BundleFormat.flagShuffled : 0, layout: layout, chunks: chunks, tokens: tokens)
        let seekFile = try PosixFile(path: directory + "/" + BundleFormat.seekFile, writable: true, create: true, truncate: true)
        try seekFile.truncate(to: seek.fileBytes)
        try seek.encoded().withUnsafeBytes { try seekFile.write($0, at: 0) }
        let capacity = BundleFormat.rowCapacity(documentChunks: tokens / layout.chunkSize)
        let (sh, bh, rh) = rowsHeaders(layout: layout, capacity: capacity, documentChunks: tokens / layout.chunkSize)
        let kv = try PosixFile(path: directory + "/" + BundleFormat.kvFile, writable: true, create: true, truncate: true)
        return try FileChunkStore(directory: directory, layout: layout, seekHeader: seek, building: true, codec: codec,
                              memory: BlockMemory(layout: layout, cacheBytes: cacheBytes),
                              seekMap: try MemoryMap(file: seekFile, mode: .shared), kvFile: kv,
                              summaries: try MappedRows.create(.summaries, directory: directory, header: sh),
                              bounds: try MappedRows.create(.bounds, directory: directory, header: bh),
                              representatives: try rh.map { try MappedRows.create(.representatives, directory: directory, header: $0) })
    }

    /// Reopens an interrupted build whose first `completeTokens` tokens (a chunk boundary) and
    /// `kvBytes` bytes of kv.zst were committed; later frames are discarded.
    public static func resume(directory: String, layout: ChunkLayout, codec: FrameCodecSettings, completeTokens: Int,
                              kvBytes: Int, cacheBytes: Int = BlockCache.defaultCapacityBytes) throws -> FileChunkStore {
        let s = try open(directory: directory, layout: layout, codec: codec, memory: BlockMemory(layout: layout, cacheBytes: cacheBytes),
                         building: true)
        precondition(completeTokens % layout.chunkSize == 0, "resume point must be a chunk boundary")
        // Extending a short kv.zst with zeros would leave committed frames unreadable for every later run.
        let size = try s.kvFile.size()
        guard size >= kvBytes else {
            throw LHError.badFile(path: s.path(BundleFormat.kvFile), reason: "\(size) bytes, shorter than the \(kvBytes) bytes the build state commits")
        }
        guard s.seekHeader.tokens >= completeTokens else {
            throw LHError.badFile(path: s.path(BundleFormat.seekFile), reason: "holds \(s.seekHeader.tokens) tokens, fewer than the \(completeTokens) the build state commits")
        }
        try s.kvFile.truncate(to: kvBytes)
        s.kvBytes = kvBytes
        s.diskChunks = completeTokens / layout.chunkSize
        s.tail.reset(firstChunk: s.diskChunks)
        return s
    }

    /// Opens a complete bundle for reading (asking questions). Checks both binary headers against
    /// `layout`; the document's last partial chunk is loaded into memory, unless `sealed`.
    /// - Parameters:
    ///   - memory: the block cache and buffers to use (shared by the documents of a corpus); nil for a new
    ///     cache of `cacheBytes`.
    ///   - cacheKeyBase: added to this store's cache keys (distinct per store sharing `memory`).
    ///   - sealed: no question continues this document (a corpus's other documents): its partial last
    ///     chunk is read from kv.zst through the cache like the others, and nothing is written.
    public static func openForReading(directory: String, layout: ChunkLayout, codec: FrameCodecSettings,
                                      cacheBytes: Int = BlockCache.defaultCapacityBytes, memory: BlockMemory? = nil,
                                      cacheKeyBase: Int = 0, sealed: Bool = false) throws -> FileChunkStore {
        let s = try open(directory: directory, layout: layout, codec: codec,
                         memory: memory ?? BlockMemory(layout: layout, cacheBytes: cacheBytes), building: false,
                         cacheKeyBase: cacheKeyBase, sealed: sealed)
        // Frames are read with pread, not through a map: mapped file pages would count toward the
        // process's resident memory (measured: +220 MB at 32k tokens), page-cache pages do not.
        s.kvBytes = try s.kvFile.size()
        s.diskChunks = sealed ? s.seekHeader.chunks : s.seekHeader.tokens / layout.chunkSize
        if !sealed { try s.resetTail() }
        return s
    }

    private static func open(directory: String, layout: ChunkLayout, codec: FrameCodecSettings, memory: BlockMemory,
                             building: Bool, cacheKeyBase: Int = 0, sealed: Bool = false) throws -> FileChunkStore {
        let seekPath = directory + "/" + BundleFormat.seekFile
        let seekFile = try PosixFile(path: seekPath, writable: building)
        let seekMap = try MemoryMap(file: seekFile, mode: building ? .shared : .readOnly)
        let seek = try SeekHeader(decoding: UnsafeRawBufferPointer(start: seekMap.base, count: seekMap.count), path: seekPath)
        guard seek.layers == layout.layers, seek.kvHeads == layout.kvHeads, seek.headDimension == layout.headDimension,
              seek.chunkSize == layout.chunkSize, seek.elementType == BundleFormat.elementCode(layout.precision),
              (seek.flags & BundleFormat.flagShuffled != 0) == codec.shuffle else {
            throw LHError.badFile(path: seekPath, reason: "header dimensions do not match the index metadata")
        }
        let (sh, bh, rh) = rowsHeaders(layout: layout, capacity: 0, documentChunks: seek.tokens / layout.chunkSize)
        let kv = try PosixFile(path: directory + "/" + BundleFormat.kvFile, writable: building)
        return try FileChunkStore(directory: directory, layout: layout, seekHeader: seek, building: building, codec: codec,
                              memory: memory, seekMap: seekMap, kvFile: kv,
                              summaries: try MappedRows.open(.summaries, directory: directory, expected: sh, building: building),
                              bounds: try MappedRows.open(.bounds, directory: directory, expected: bh, building: building),
                              representatives: try rh.map { try MappedRows.open(.representatives, directory: directory, expected: $0, building: building) },
                              cacheKeyBase: cacheKeyBase, sealed: sealed)
    }

    // MARK: Seek entries

    /// The seek entry of (layer, KV head, chunk).
    public func entry(layer: Int, kvHead: Int, chunk: Int) -> SeekEntry {
        let i = seekHeader.entry(layer: layer, kvHead: kvHead, chunk: chunk)
        return SeekEntry(at: seekMap.base + BundleFormat.headerBytes + i * BundleFormat.seekEntryBytes)
    }

    private func setEntry(_ e: SeekEntry, layer: Int, kvHead: Int, chunk: Int) {
        let i = seekHeader.entry(layer: layer, kvHead: kvHead, chunk: chunk)
        e.encoded().withUnsafeBytes { (seekMap.base + BundleFormat.headerBytes + i * BundleFormat.seekEntryBytes).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Reads, checks (sizes, CRC-32 unless `checkCRC` is false, zstd's content checksum) and decompresses
    /// the frame of (layer, KV head, chunk).
    public func loadFrame(layer: Int, kvHead: Int, chunk: Int, checkCRC: Bool = true) throws -> CachedBlock {
        let e = entry(layer: layer, kvHead: kvHead, chunk: chunk)
        let seekPath = path(BundleFormat.seekFile), kvPath = path(BundleFormat.kvFile)
        let expectedRows = min(layout.chunkSize, seekHeader.tokens - chunk * layout.chunkSize)
        guard e.rows == expectedRows, e.rawSize == layout.payloadBytes(rows: e.rows) else {
            throw LHError.badFile(path: seekPath, reason: "entry of layer \(layer), KV head \(kvHead), chunk \(chunk) is missing or inconsistent")
        }
        guard e.offset >= 0, e.compressedSize > 0, e.offset <= kvBytes, e.compressedSize <= kvBytes - e.offset else {
            throw LHError.badFile(path: kvPath, reason: "truncated: frame of layer \(layer), KV head \(kvHead), chunk \(chunk) lies at \(e.offset) (\(e.compressedSize) bytes), the file ends at \(kvBytes)")
        }
        let block = try CachedBlock(count: e.rawSize, rows: e.rows, pool: blockPool)
        func decode(_ frame: UnsafeRawBufferPointer) throws {
            guard !checkCRC || CRC32.checksum(frame) == e.crc else {
                throw LHError.badFile(path: kvPath, reason: "checksum mismatch in the frame of layer \(layer), KV head \(kvHead), chunk \(chunk)")
            }
            try codec.decompress(frame, into: UnsafeMutableRawBufferPointer(start: block.bytes, count: e.rawSize), path: kvPath)
        }
        let pooled = e.compressedSize <= framePool.bytes
        let base = try pooled ? framePool.take() : Allocation.raw(bytes: e.compressedSize, what: "a compressed frame")
        defer { if pooled { framePool.give(base) } else { base.deallocate() } }
        let buf = UnsafeMutableRawBufferPointer(start: base, count: e.compressedSize)
        try kvFile.read(into: buf, at: e.offset)
        try decode(UnsafeRawBufferPointer(buf))
        return block
    }

    // MARK: Build

    /// Compresses and appends every not-yet-written chunk below `tokens / w` (and, with `final`, the last
    /// partial chunk), fills their seek entries, and syncs kv.zst, kv.seek, summaries.f32, bounds.f32 and reps.f32.
    /// - Returns: the committed size of kv.zst.
    @discardableResult
    public func flush(upTo tokens: Int, final: Bool) throws -> Int {
        precondition(building, "flush on a store opened for reading")
        let w = layout.chunkSize
        let end = final ? (tokens + w - 1) / w : tokens / w
        let pairs = layout.layers * layout.kvHeads
        for chunk in diskChunks..<max(diskChunks, end) {
            let rows = min(w, tokens - chunk * w)
            var frames = [[UInt8]](repeating: [], count: pairs)
            var failure: Error?
            let lock = NSLock()
            frames.withUnsafeMutableBufferPointer { out in
                Parallel.forEach(pairs) { i, _ in
                    let raw = UnsafeMutableRawPointer.allocate(byteCount: layout.payloadBytes(rows: rows), alignment: 64)
                    defer { raw.deallocate() }
                    tail.pack(layer: i / layout.kvHeads, kvHead: i % layout.kvHeads, chunk: chunk, rows: rows, into: raw)
                    do {
                        out[i] = try codec.compress(UnsafeRawBufferPointer(start: raw, count: layout.payloadBytes(rows: rows)))
                    } catch { lock.lock(); failure = error; lock.unlock() }
                }
            }
            if let failure { throw failure }
            for i in 0..<pairs {
                let f = frames[i]
                try f.withUnsafeBytes { try kvFile.write($0, at: kvBytes) }
                let crc = f.withUnsafeBytes { CRC32.checksum($0) }
                setEntry(SeekEntry(offset: kvBytes, compressedSize: f.count, rawSize: layout.payloadBytes(rows: rows),
                                   crc: crc, rows: rows), layer: i / layout.kvHeads, kvHead: i % layout.kvHeads, chunk: chunk)
                kvBytes += f.count
            }
        }
        if end > diskChunks {
            diskChunks = end
            tail.advance(to: end)
        }
        try kvFile.sync()
        try seekMap.sync()
        for rows in rowFiles { try rows.sync() }
        return kvBytes
    }

    // MARK: Ask

    /// Restores the document state after a question: the in-memory tail holds only the document's
    /// last partial chunk again, and question-time summaries, bounds and representative keys are cleared.
    public func truncateToDocument() throws {
        precondition(!building, "truncateToDocument on a store opened for building")
        guard !sealed else { return }
        try resetTail()
        for rows in rowFiles { rows.clear(from: diskChunks) }
        halfBounds?.clear(from: diskChunks)
    }

    private func resetTail() throws {
        let tokens = seekHeader.tokens, w = layout.chunkSize
        tail.reset(firstChunk: diskChunks)
        tail.reserve(endChunk: diskChunks + 1)
        let rows = tokens - diskChunks * w
        guard rows > 0 else { return }
        for l in 0..<layout.layers {
            for g in 0..<layout.kvHeads {
                let b = try loadFrame(layer: l, kvHead: g, chunk: diskChunks)
                tail.load(layer: l, kvHead: g, chunk: diskChunks, payload: b.bytes, rows: rows)
            }
        }
    }

    /// The first error met by `block` (a corrupt or truncated frame), cleared by the call. `block` cannot
    /// throw, so it fills the scratch with zeros and records the error; callers check after each step.
    public func takeError() -> LHError? { firstError.take() }

    private func record(_ error: Error) {
        firstError.record((error as? LHError) ?? .badFile(path: directory, reason: "\(error)"))
    }

    // MARK: ChunkStore

    public func reserve(tokens: Int) {
        let w = layout.chunkSize, chunks = (tokens + w - 1) / w
        tail.reserve(endChunk: max(chunks, diskChunks + 1))
        for rows in rowFiles { rows.reserve(chunks: chunks) }
        do { try halfBounds?.grow(to: boundRows.capacity) } catch { record(error) }
    }

    public func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        tail.write(layer: layer, kvHead: kvHead, position: position, key: key, value: value)
    }

    public func block(layer: Int, kvHead: Int, chunk: Int, rows: Int,
                      scratch: UnsafeMutablePointer<Float>) -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let w = layout.chunkSize, d = layout.headDimension
        let s = storedRows(layer: layer, kvHead: kvHead, chunk: chunk, rows: rows)
        withExtendedLifetime(s.owner) {
            layout.decode(s.base, stride: s.stride, rows: min(rows, s.stride), into: scratch, keyRanges: s.keyRanges, tiled: s.tiled)
        }
        return (UnsafePointer(scratch), UnsafePointer(scratch + w * d))
    }

    public func storedRows(layer: Int, kvHead: Int, chunk: Int, rows: Int) -> StoredRows {
        let ranges = keyRanges(layer: layer, kvHead: kvHead, chunk: chunk)
        if chunk >= diskChunks {
            return StoredRows(base: tail.base(layer, kvHead, chunk), stride: layout.chunkSize, keyRanges: ranges)
        }
        let key = cacheKeyBase + seekHeader.entry(layer: layer, kvHead: kvHead, chunk: chunk)
        do {
            let b = try cache.block(key) {
                // The ask path relies on zstd's content checksum; `verify` also checks each frame's CRC-32.
                let b = try loadFrame(layer: layer, kvHead: kvHead, chunk: chunk, checkCRC: false)
                if ranges != nil, halfBounds != nil {
                    // Asking: the sealed keys' ranges travel with the block, read from bounds.f32 rather than its
                    // mapping, whose pages were released once scoring copied them (`halfBounds`).
                    try b.setKeyRanges(count: 2 * layout.headDimension) {
                        try boundRows.copyRow(layer * layout.kvHeads + kvHead, chunk, into: $0)
                    }
                    // and its keys and values go into the tiles the answer's integer kernels read.
                    if layout.canTile(rows: b.rows), layout.isSealed(StoredRows(base: b.bytes, stride: b.rows)) {
                        layout.tile(b.bytes, stride: b.rows)
                        b.tiled = true
                    }
                }
                return (b, entry(layer: layer, kvHead: kvHead, chunk: chunk).compressedSize)
            }
            return StoredRows(base: b.bytes, stride: b.rows, owner: b, keyRanges: b.keyRanges.map { UnsafePointer($0) } ?? ranges,
                              tiled: b.tiled)
        } catch {
            record(error)
            return StoredRows(base: zeroBlock.bytes, stride: layout.chunkSize, owner: zeroBlock)
        }
    }

    /// The key bounds row of a chunk, the ranges of its keys once sealed (k5v4, k4v4); nil for other precisions.
    private func keyRanges(layer: Int, kvHead: Int, chunk: Int) -> UnsafePointer<Float>? {
        guard layout.sealsKeys, chunk < boundRows.capacity else { return nil }
        return UnsafePointer(boundRows.row(layer * layout.kvHeads + kvHead, chunk))
    }

    public func sealKeys(layer: Int, kvHead: Int, chunk: Int) {
        guard layout.seals(chunk: chunk) else { return }
        precondition(chunk >= diskChunks, "chunk \(chunk) is already in kv.zst")
        let bounds = boundRows.row(layer * layout.kvHeads + kvHead, chunk)
        layout.sealKeys(block: tail.base(layer, kvHead, chunk), bounds: bounds)
        halfBounds?.setIfFilled(group: layer * layout.kvHeads + kvHead, chunk: chunk, bounds)   // the seal stores the bounds
    }

    public func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer {
        if chunk >= diskChunks {
            return UnsafeRawBufferPointer(start: tail.base(layer, kvHead, chunk), count: layout.blockBytes)
        }
        // Re-spread the stored sections of r rows into the block layout of w rows per section.
        guard let full = try? CachedBlock(count: layout.blockBytes, rows: layout.chunkSize) else {
            record(LHError.outOfMemory(what: "a block of the block cache", bytes: layout.blockBytes))
            return UnsafeRawBufferPointer(start: zeroBlock.bytes, count: layout.blockBytes)
        }
        full.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: layout.blockBytes)
        if let b = try? loadFrame(layer: layer, kvHead: kvHead, chunk: chunk) {
            layout.copyRows(b.rows, from: b.bytes, stride: b.rows, to: full.bytes, stride: layout.chunkSize)
        }
        pinnedLock.lock()
        pinned.append(full)
        if pinned.count > 16 { pinned.removeFirst() }
        pinnedLock.unlock()
        return UnsafeRawBufferPointer(start: full.bytes, count: layout.blockBytes)
    }

    /// Lets the kernel take back the pages of the mapped rows of `kind` (summaries, bounds or representative
    /// keys) this process touched: a corpus copies a sealed document's rows once and never reads them here again.
    func releaseMappedRows(_ kind: RowsHeader.Kind) {
        for r in rowFiles where r.kind == kind { r.release() }
    }

    public func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>) {
        summaryRows.row(layer * layout.heads + head, chunk).update(from: s, count: layout.headDimension)
    }

    public func summaries(layer: Int, head: Int) -> UnsafePointer<Float> {
        UnsafePointer(summaryRows.row(layer * layout.heads + head, 0))
    }

    public func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>) {
        boundRows.row(layer * layout.kvHeads + kvHead, chunk).update(from: b, count: 2 * layout.headDimension)
        halfBounds?.setIfFilled(group: layer * layout.kvHeads + kvHead, chunk: chunk, b)
    }

    public func keyBounds(layer: Int, kvHead: Int) -> KeyBoundRows {
        guard let halfBounds else { return .f32(boundFloats(layer: layer, kvHead: kvHead)) }
        return .f16(UnsafePointer(halfBounds.halves(layer * layout.kvHeads + kvHead)))
    }

    /// The key bounds as the document's file holds them, f32.
    func boundFloats(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        UnsafePointer(boundRows.row(layer * layout.kvHeads + kvHead, 0))
    }

    public func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>) {
        guard let repRows else { preconditionFailure("the index keeps no representative keys") }
        repRows.row(layer * layout.kvHeads + kvHead, chunk).update(from: keys, count: repRows.width)
    }

    public func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        guard let repRows else { preconditionFailure("the index keeps no representative keys") }
        return UnsafePointer(repRows.row(layer * layout.kvHeads + kvHead, 0))
    }
}

/// The decompressed-block cache of a reader and the recycled buffers behind it: one budget, shared by the
/// stores of every document of a corpus.
public final class BlockMemory: @unchecked Sendable {
    /// Decompressed blocks, least recently used evicted first.
    public let cache: BlockCache
    /// Buffers of whole decompressed blocks (the cache's budget of them, plus room for blocks in use).
    let blockPool: BufferPool
    /// Buffers for reading compressed frames.
    let framePool: BufferPool
    private let layout: ChunkLayout
    private let codecLock = NSLock()
    private var codecs: [FrameCodec] = []   // one per codec setting in use: their zstd contexts serve every store
    /// All-zero rows (zero in every precision), returned by the stores in place of a frame that failed to load.
    let zeroBlock: CachedBlock

    /// A cache of `cacheBytes` for blocks of `layout`.
    public init(layout: ChunkLayout, cacheBytes: Int = BlockCache.defaultCapacityBytes) throws {
        self.layout = layout
        zeroBlock = try CachedBlock(count: layout.blockBytes, rows: layout.chunkSize)
        zeroBlock.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: layout.blockBytes)
        cache = BlockCache(capacityBytes: cacheBytes)
        blockPool = BufferPool(bytes: layout.blockBytes, limit: cacheBytes / max(layout.blockBytes, 1) + 64)
        framePool = BufferPool(bytes: Zstd.bound(layout.blockBytes) + 64, limit: 16)
    }

    /// The codec for frames of this layout with `settings`, shared by the stores using this memory (a corpus of
    /// 200 documents held 588 zstd contexts and their scratch, about 30 MB, when each store had its own).
    func codec(_ settings: FrameCodecSettings) -> FrameCodec {
        codecLock.lock(); defer { codecLock.unlock() }
        if let c = codecs.first(where: { $0.settings == settings }) { return c }
        let c = FrameCodec(settings: settings, sections: layout.sections, maxPayload: layout.blockBytes)
        codecs.append(c)
        return c
    }
}
