// Storage of what LongHeads keeps per (layer, KV head, chunk) and per (layer, query head, chunk): the unit an index file holds.
import CKernels
import LHCore

/// Shape of the stored data.
public struct ChunkLayout: Sendable, Codable, Equatable {
    /// Layers L.
    public var layers: Int
    /// Query heads H.
    public var heads: Int
    /// KV heads G.
    public var kvHeads: Int
    /// Head dimension d.
    public var headDimension: Int
    /// Tokens per chunk w.
    public var chunkSize: Int
    /// Precision of keys and values.
    public var precision: KVPrecision

    public init(layers: Int, heads: Int, kvHeads: Int, headDimension: Int, chunkSize: Int, precision: KVPrecision) {
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.chunkSize = chunkSize
        self.precision = precision
    }

    /// Bytes of one stored value (2 for f16, 4 for f32).
    public var elementBytes: Int { precision == .f16 ? 2 : 4 }
    /// Bytes of one (layer, KV head, chunk) block: keys (w, d) then values (w, d).
    public var blockBytes: Int { 2 * chunkSize * headDimension * elementBytes }

    /// Stores one token's key and value (d floats each) as row `row` of the block at `block`,
    /// converting to `precision`.
    public func storeRow(_ row: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let w = chunkSize, d = headDimension
        switch precision {
        case .f32:
            let p = block.assumingMemoryBound(to: Float.self)
            (p + row * d).update(from: key, count: d)
            (p + (w + row) * d).update(from: value, count: d)
        case .f16:
            let p = block.assumingMemoryBound(to: UInt16.self)
            lh_f32_to_f16(key, p + row * d, Int64(d))
            lh_f32_to_f16(value, p + (w + row) * d, Int64(d))
        }
    }
}

/// Keys, values and summaries of a chunked document, addressable per (layer, KV head, chunk) so a
/// head's selection can be loaded without touching anything else.
///
/// A block holds, for the w tokens t of chunk i, the keys k̃_t = R(t mod w)·k_t (in-chunk RoPE) then the
/// values v_t, each (w, d) row-major in `layout.precision`. Rows past the end of a partial chunk are
/// unspecified. Summaries are f32 d-vectors per (layer, query head, complete chunk). Blocks and summaries
/// never change once their chunk is complete, so an implementation may write them out and read them back.
public protocol ChunkStore: AnyObject {
    /// Shape of the data.
    var layout: ChunkLayout { get }
    /// Makes room for `tokens` tokens (call before writing them; not concurrently with other calls).
    func reserve(tokens: Int)
    /// Stores token `position`'s in-chunk-rotated key and value (d floats each) for (layer, KV head).
    /// Safe to call concurrently for different (layer, KV head) pairs.
    func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>)
    /// The first `rows` keys and values of a block as f32 (w, d) each: either the stored memory or
    /// `scratch` (room for 2·w·d floats) after conversion. Safe to call concurrently.
    func block(layer: Int, kvHead: Int, chunk: Int, rows: Int,
               scratch: UnsafeMutablePointer<Float>) -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
    /// The raw bytes of a block (`layout.blockBytes`), for writing it to a file.
    func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer
    /// Stores the summary (d floats) of a complete chunk for (layer, query head). Safe to call
    /// concurrently for different (layer, head) pairs.
    func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>)
    /// Summaries of chunks `0..<n` of (layer, query head): (n, d) row-major, valid for complete chunks.
    func summaries(layer: Int, head: Int) -> UnsafePointer<Float>
    /// Stores the per-channel minimum then maximum (2·d floats) of a complete chunk's stored keys k̃ for
    /// (layer, KV head): Quest's bounds. Safe to call concurrently for different (layer, KV head) pairs.
    func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>)
    /// Key bounds of chunks `0..<n` of (layer, KV head): (n, 2, d) row-major, valid for complete chunks.
    func keyBounds(layer: Int, kvHead: Int) -> UnsafePointer<Float>
}

/// A `ChunkStore` in memory, growing by doubling.
public final class InMemoryChunkStore: ChunkStore, @unchecked Sendable {
    public let layout: ChunkLayout
    private var capacityChunks = 0
    private var blocks: [UnsafeMutableRawPointer] = []       // per (layer, KV head): (chunks, 2, w, d) elements
    private var summaryRows: [UnsafeMutablePointer<Float>] = [] // per (layer, head): (chunks, d)
    private var boundRows: [UnsafeMutablePointer<Float>] = []   // per (layer, KV head): (chunks, 2, d)

    public init(layout: ChunkLayout) {
        self.layout = layout
        reserveChunks(4)
    }

    deinit {
        for b in blocks { b.deallocate() }
        for s in summaryRows { s.deallocate() }
        for b in boundRows { b.deallocate() }
    }

    /// Bytes held by keys and values (excluding summaries).
    public var byteCount: Int { capacityChunks * layout.blockBytes * layout.layers * layout.kvHeads }

    public func reserve(tokens: Int) {
        let needed = (tokens + layout.chunkSize - 1) / layout.chunkSize
        if needed > capacityChunks { reserveChunks(max(needed, capacityChunks * 2)) }
    }

    private func reserveChunks(_ n: Int) {
        let bb = layout.blockBytes, d = layout.headDimension, old = capacityChunks
        func grownBlocks(_ p: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer {
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: n * bb, alignment: 64)
            if let p { fresh.copyMemory(from: p, byteCount: old * bb); p.deallocate() }
            return fresh
        }
        func grownRows(_ p: UnsafeMutablePointer<Float>?, width: Int) -> UnsafeMutablePointer<Float> {
            let fresh = UnsafeMutablePointer<Float>.allocate(capacity: n * width)
            fresh.initialize(repeating: 0, count: n * width)
            if let p { fresh.update(from: p, count: old * width); p.deallocate() }
            return fresh
        }
        let nb = layout.layers * layout.kvHeads, ns = layout.layers * layout.heads
        blocks = (0..<nb).map { grownBlocks(blocks.isEmpty ? nil : blocks[$0]) }
        summaryRows = (0..<ns).map { grownRows(summaryRows.isEmpty ? nil : summaryRows[$0], width: d) }
        boundRows = (0..<nb).map { grownRows(boundRows.isEmpty ? nil : boundRows[$0], width: 2 * d) }
        capacityChunks = n
    }

    @inline(__always)
    private func blockBase(_ layer: Int, _ kvHead: Int, _ chunk: Int) -> UnsafeMutableRawPointer {
        precondition(chunk < capacityChunks, "chunk \(chunk) beyond the reserved \(capacityChunks)")
        return blocks[layer * layout.kvHeads + kvHead] + chunk * layout.blockBytes
    }

    public func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let w = layout.chunkSize
        layout.storeRow(position % w, key: key, value: value, into: blockBase(layer, kvHead, position / w))
    }

    public func block(layer: Int, kvHead: Int, chunk: Int, rows: Int,
                      scratch: UnsafeMutablePointer<Float>) -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let w = layout.chunkSize, d = layout.headDimension
        let base = blockBase(layer, kvHead, chunk)
        switch layout.precision {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            return (UnsafePointer(p), UnsafePointer(p + w * d))
        case .f16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            lh_f16_to_f32(p, scratch, Int64(rows * d))
            lh_f16_to_f32(p + w * d, scratch + w * d, Int64(rows * d))
            return (UnsafePointer(scratch), UnsafePointer(scratch + w * d))
        }
    }

    public func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: blockBase(layer, kvHead, chunk), count: layout.blockBytes)
    }

    public func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>) {
        precondition(chunk < capacityChunks, "chunk \(chunk) beyond the reserved \(capacityChunks)")
        let d = layout.headDimension
        (summaryRows[layer * layout.heads + head] + chunk * d).update(from: s, count: d)
    }

    public func summaries(layer: Int, head: Int) -> UnsafePointer<Float> {
        UnsafePointer(summaryRows[layer * layout.heads + head])
    }

    public func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>) {
        precondition(chunk < capacityChunks, "chunk \(chunk) beyond the reserved \(capacityChunks)")
        let d = layout.headDimension
        (boundRows[layer * layout.kvHeads + kvHead] + chunk * 2 * d).update(from: b, count: 2 * d)
    }

    public func keyBounds(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        UnsafePointer(boundRows[layer * layout.kvHeads + kvHead])
    }
}

/// Quest's per-channel key bounds of one chunk.
public enum KeyBounds {
    /// Writes the per-channel minimum (d) then maximum (d) of `rows` keys (rows, d) to `out` (2·d).
    public static func compute(keys: UnsafePointer<Float>, rows: Int, d: Int, out: UnsafeMutablePointer<Float>) {
        let lo = out, hi = out + d
        lo.update(from: keys, count: d)
        hi.update(from: keys, count: d)
        for t in 1..<max(rows, 1) {
            for x in 0..<d {
                let v = keys[t * d + x]
                lo[x] = min(lo[x], v)
                hi[x] = max(hi[x], v)
            }
        }
    }
}
