// The in-memory part of a file store: blocks of chunks not yet written to kv.zst (open chunks, question tokens).
import LHEngine

/// Blocks of chunks `firstChunk ..< firstChunk + capacity` per (layer, KV head), in the layout of
/// `ChunkStore` blocks: the sections of `ChunkLayout.sections` with w rows each (keys, values, row scales).
final class TailBlocks {
    let layout: ChunkLayout
    /// The first chunk held in memory.
    private(set) var firstChunk = 0
    private(set) var capacity = 0
    private var buffers: [UnsafeMutableRawPointer] = []   // per (layer, KV head): (capacity, 2, w, d) elements

    init(layout: ChunkLayout) { self.layout = layout }

    deinit { for b in buffers { b.deallocate() } }

    /// Makes room for chunks up to (excluding) `endChunk`. Not concurrent with other calls.
    func reserve(endChunk: Int) {
        let needed = endChunk - firstChunk
        guard needed > capacity else { return }
        let n = max(needed, capacity * 2, 2), bb = layout.blockBytes
        let count = layout.layers * layout.kvHeads
        buffers = (0..<count).map { i in
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: n * bb, alignment: 64)
            fresh.initializeMemory(as: UInt8.self, repeating: 0, count: n * bb)
            if !buffers.isEmpty {
                fresh.copyMemory(from: buffers[i], byteCount: capacity * bb)
                buffers[i].deallocate()
            }
            return fresh
        }
        capacity = n
    }

    /// Forgets chunks below `chunk` (they now live on disk), keeping later ones.
    func advance(to chunk: Int) {
        let shift = chunk - firstChunk
        guard shift > 0 else { return }
        let bb = layout.blockBytes, keep = max(0, capacity - shift)
        for b in buffers {
            if keep > 0 { b.copyMemory(from: b + shift * bb, byteCount: keep * bb) }
        }
        firstChunk = chunk
    }

    /// Restarts the tail at `chunk` (forgetting everything held).
    func reset(firstChunk chunk: Int) { firstChunk = chunk }

    @inline(__always)
    func base(_ layer: Int, _ kvHead: Int, _ chunk: Int) -> UnsafeMutableRawPointer {
        precondition(chunk >= firstChunk && chunk < firstChunk + capacity,
                     "chunk \(chunk) outside the in-memory tail \(firstChunk)..<\(firstChunk + capacity)")
        return buffers[layer * layout.kvHeads + kvHead] + (chunk - firstChunk) * layout.blockBytes
    }

    /// Stores one token's key and value (d floats each).
    func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let w = layout.chunkSize
        layout.storeRow(position % w, key: key, value: value, into: base(layer, kvHead, position / w))
    }

    /// Copies a stored payload (the sections with `rows` rows each) into the block of `chunk`.
    func load(layer: Int, kvHead: Int, chunk: Int, payload: UnsafeRawPointer, rows: Int) {
        layout.copyRows(rows, from: payload, stride: rows, to: base(layer, kvHead, chunk), stride: layout.chunkSize)
    }

    /// Writes the first `rows` rows of every section of a block contiguously into `dst` (`payloadBytes(rows:)`).
    func pack(layer: Int, kvHead: Int, chunk: Int, rows: Int, into dst: UnsafeMutableRawPointer) {
        layout.copyRows(rows, from: base(layer, kvHead, chunk), stride: layout.chunkSize, to: dst, stride: rows)
    }
}
