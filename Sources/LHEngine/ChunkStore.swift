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
    /// Representative keys r kept per (layer, KV head, complete chunk), f32 (0: none).
    public var representatives: Int

    public init(layers: Int, heads: Int, kvHeads: Int, headDimension: Int, chunkSize: Int, precision: KVPrecision,
                representatives: Int = 0) {
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.chunkSize = chunkSize
        self.precision = precision
        self.representatives = representatives
    }

    private enum CodingKeys: String, CodingKey { case layers, heads, kvHeads, headDimension, chunkSize, precision, representatives }

    /// Decodes a layout; `representatives`, added later, is 0 when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(layers: try c.decode(Int.self, forKey: .layers), heads: try c.decode(Int.self, forKey: .heads),
                  kvHeads: try c.decode(Int.self, forKey: .kvHeads), headDimension: try c.decode(Int.self, forKey: .headDimension),
                  chunkSize: try c.decode(Int.self, forKey: .chunkSize), precision: try c.decode(KVPrecision.self, forKey: .precision),
                  representatives: try c.decodeIfPresent(Int.self, forKey: .representatives) ?? 0)
    }

    /// Bits of one stored key element: 32 (f32), 16 (f16), 8 (int8, k8v4, and k5v4's and k4v4's byte per channel code).
    public var keyBits: Int {
        switch precision {
        case .f32: return 32
        case .f16: return 16
        case .int8, .k8v4, .k5v4, .k4v4: return 8
        }
    }
    /// Bits of one stored value element: as `keyBits`, except 4 for k8v4, k5v4 and k4v4.
    public var valueBits: Int { hasFourBitValues ? 4 : keyBits }
    /// Whether values are stored as rotated 4-bit rows (k8v4, k5v4, k4v4).
    var hasFourBitValues: Bool { precision == .k8v4 || sealsKeys }
    /// Whether each stored row carries an f16 scale (int8, k8v4, k5v4, k4v4).
    public var hasRowScales: Bool { precision == .int8 || hasFourBitValues }
    /// Whether value rows are stored rotated (`lh_rotate_row`, k8v4, k5v4 and k4v4): products over stored values
    /// must be rotated back with `unrotateValues`.
    public var rotatesValues: Bool { hasFourBitValues }
    /// Whether a complete chunk's keys are sealed into channel codes of `keyLevels` levels (k5v4, k4v4, `sealKeys`).
    public var sealsKeys: Bool { keyLevels > 0 }
    /// Levels per channel of sealed keys: 40 for k5v4, 16 for k4v4 (FORMAT.md §3, §8); 0 when keys are not sealed.
    public var keyLevels: Int32 {
        switch precision {
        case .k5v4: return 40
        case .k4v4: return 16
        default: return 0
        }
    }
    /// Whether the keys of a document's complete chunk `chunk` are sealed. k4v4 keeps chunk 0, which holds the
    /// attention sink every token reads, as int8 rows: its 16-level codes cost perplexity (FORMAT.md §8).
    public func seals(chunk: Int) -> Bool { sealsKeys && (chunk > 0 || precision != .k4v4) }
    /// The key scale (f16 −1) every row of a sealed block carries: no int8 row has a negative scale.
    public static let sealedKeyScale: UInt16 = 0xBC00
    /// Whether stored rows hold sealed channel codes (read with the chunk's key bounds) rather than int8 rows.
    public func isSealed(_ st: StoredRows) -> Bool {
        if st.tiled { return true }   // only sealed blocks are tiled, and tiling reuses the scales' sections
        guard sealsKeys, let scales = st.keyScales(self) else { return false }
        return scales[0] == Self.sealedKeyScale
    }
    /// Bytes of the d elements of one stored key row.
    public var keyRowBytes: Int { headDimension * keyBits / 8 }
    /// Bytes of the d elements of one stored value row (d is even).
    public var valueRowBytes: Int { headDimension * valueBits / 8 }
    /// Bytes of the scale of one stored row: 2 (an f16) for int8 and k8v4, 0 otherwise.
    public var scaleBytes: Int { hasRowScales ? 2 : 0 }
    /// Byte offset of the values in stored data whose sections hold `stride` rows each.
    public func valuesOffset(stride: Int) -> Int { stride * keyRowBytes }
    /// Byte offset of the key scales (then the value scales) in stored data whose sections hold `stride` rows.
    public func scalesOffset(stride: Int) -> Int { stride * (keyRowBytes + valueRowBytes) }
    /// Bytes one token takes in a block: its key row, value row and their scales.
    public var tokenBytes: Int { keyRowBytes + valueRowBytes + 2 * scaleBytes }
    /// Bytes of one (layer, KV head, chunk) block of w rows (`sections` with w rows each).
    public var blockBytes: Int { payloadBytes(rows: chunkSize) }
    /// Bytes of the sections of a block holding `rows` rows: rows · `tokenBytes`.
    public func payloadBytes(rows: Int) -> Int { rows * tokenBytes }

    /// One part of a block: `rows` rows of `rowBytes` bytes, made of elements of `elementBytes` bytes.
    public struct Section: Sendable, Equatable {
        /// Bytes per row.
        public var rowBytes: Int
        /// Bytes per element, the byte-shuffle width (1 for k8v4's values, two 4-bit codes per byte).
        public var elementBytes: Int
    }

    /// The parts of a block in storage order, each (rows, …) row-major and following the previous one:
    /// keys (rows, d) then values (rows, d) in their element types, then for int8 and k8v4 the key scales
    /// (rows) and the value scales (rows) as f16. A block in memory has w rows per section; a file payload only the
    /// chunk's r rows (FORMAT.md §3).
    public var sections: [Section] {
        let keys = Section(rowBytes: keyRowBytes, elementBytes: max(keyBits / 8, 1))
        let values = Section(rowBytes: valueRowBytes, elementBytes: max(valueBits / 8, 1))
        guard hasRowScales else { return [keys, values] }
        let scale = Section(rowBytes: 2, elementBytes: 2)
        return [keys, values, scale, scale]
    }

    /// Byte offset of section `i` in a block whose sections hold `rows` rows each.
    public func sectionOffset(_ i: Int, rows: Int) -> Int {
        sections[..<i].reduce(0) { $0 + rows * $1.rowBytes }
    }

    /// Stores one token's key and value (d floats each) as row `row` of the block at `block` (w rows per
    /// section), converting to `precision`.
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
        case .int8, .k8v4, .k5v4, .k4v4:
            let scales = (block + scalesOffset(stride: w)).assumingMemoryBound(to: UInt16.self)   // (2, w) f16
            scales[row] = lh_quantize_i8(key, (block + row * keyRowBytes).assumingMemoryBound(to: Int8.self), Int64(d))
            let v = block + valuesOffset(stride: w) + row * valueRowBytes
            if precision == .int8 {
                scales[w + row] = lh_quantize_i8(value, v.assumingMemoryBound(to: Int8.self), Int64(d))
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { r in   // k8v4, k5v4, k4v4: rotated 4-bit values
                r.baseAddress!.update(from: value, count: d)
                lh_rotate_row(r.baseAddress!, Int64(d))
                scales[w + row] = lh_quantize_i4(r.baseAddress!, v.assumingMemoryBound(to: UInt8.self), Int64(d))
            }
        }
    }

    /// Whether sealed blocks of `rows` rows can be tiled (`tile`): rows a multiple of 16 up to 2048, d a multiple
    /// of 32 up to 512.
    public func canTile(rows: Int) -> Bool { sealsKeys && lh_kv_tiles_fit(Int64(rows), Int64(headDimension)) != 0 }

    /// Rearranges a sealed block's keys and values (`stride` rows per section, `canTile(rows: stride)`) in place
    /// into the tiles the integer attention kernels read (kv_tiles.c). The scales' sections (the sealed keys' constant
    /// scale, then the values' f16 scales) become the values' scales as f32, `StoredRows.tiledValueScales`. The
    /// block is then read with `StoredRows.tiled` set.
    public func tile(_ block: UnsafeMutableRawPointer, stride: Int) {
        precondition(canTile(rows: stride), "a block of \(stride) rows cannot be tiled")
        let d = headDimension, keyBytes = stride * keyRowBytes, valueBytes = stride * valueRowBytes
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: keyBytes + valueBytes + 2 * stride) { copy in
            let c = copy.baseAddress!
            c.update(from: block.assumingMemoryBound(to: UInt8.self), count: keyBytes + valueBytes)
            lh_tile_sealed_keys(UnsafeRawPointer(c).assumingMemoryBound(to: Int8.self), Int64(stride), Int64(d), keyLevels,
                                block.assumingMemoryBound(to: UInt8.self))
            lh_tile_values4(c + keyBytes, Int64(stride), Int64(d), (block + keyBytes).assumingMemoryBound(to: UInt8.self))
            let halves = UnsafeMutableRawPointer(c + keyBytes + valueBytes).assumingMemoryBound(to: UInt16.self)
            halves.update(from: (block + scalesOffset(stride: stride) + 2 * stride).assumingMemoryBound(to: UInt16.self), count: stride)
            lh_f16_to_f32(halves, (block + scalesOffset(stride: stride)).assumingMemoryBound(to: Float.self), Int64(stride))
        }
    }

    /// Converts the first `rows` keys and values of stored data at `src`, whose sections hold `stride` rows
    /// each (w for a block, r for a file payload), to f32: keys (rows, d) at `scratch`, values (rows, d) at
    /// `scratch + w·d`. Sealed keys (k5v4, k4v4) need the chunk's key bounds, `keyRanges` (minima d, then maxima d);
    /// `tiled` says that they and the values are in tiles (`tile`).
    public func decode(_ src: UnsafeRawPointer, stride: Int, rows: Int, into scratch: UnsafeMutablePointer<Float>,
                       keyRanges: UnsafePointer<Float>? = nil, tiled: Bool = false) {
        let w = chunkSize, d = headDimension
        if tiled {
            // Back to rows (the whole block: tiles interleave rows), then as any sealed block.
            let bytes = stride * (keyRowBytes + valueRowBytes) + 2 * stride * scaleBytes
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes) { rowsCopy in
                let c = rowsCopy.baseAddress!, valueBytes = stride * valueRowBytes
                lh_untile_sealed_keys(src.assumingMemoryBound(to: UInt8.self), Int64(stride), Int64(d), keyLevels,
                                      UnsafeMutableRawPointer(c).assumingMemoryBound(to: Int8.self))
                lh_untile_values4((src + stride * keyRowBytes).assumingMemoryBound(to: UInt8.self), Int64(stride), Int64(d),
                                  c + stride * keyRowBytes)
                let scales = UnsafeMutableRawPointer(c + stride * keyRowBytes + valueBytes).assumingMemoryBound(to: UInt16.self)
                scales.update(repeating: Self.sealedKeyScale, count: stride)
                lh_f32_to_f16((src + scalesOffset(stride: stride)).assumingMemoryBound(to: Float.self), scales + stride, Int64(stride))
                decode(UnsafeRawPointer(c), stride: stride, rows: rows, into: scratch, keyRanges: keyRanges)
            }
            return
        }
        switch precision {
        case .f32:
            let p = src.assumingMemoryBound(to: Float.self)
            scratch.update(from: p, count: rows * d)
            (scratch + w * d).update(from: p + stride * d, count: rows * d)
        case .f16:
            let p = src.assumingMemoryBound(to: UInt16.self)
            lh_f16_to_f32(p, scratch, Int64(rows * d))
            lh_f16_to_f32(p + stride * d, scratch + w * d, Int64(rows * d))
        case .int8, .k8v4, .k5v4, .k4v4:
            let st = StoredRows(base: src, stride: stride)
            let values = st.values(self), valueScales = st.valueScales(self)!
            let keys = st.keys(self).assumingMemoryBound(to: Int8.self)
            if isSealed(st) {
                guard let keyRanges else { preconditionFailure("sealed keys decoded without their chunk's key bounds") }
                lh_dequantize_channels(keys, Int64(rows), Int64(d), keyRanges, keyRanges + d, keyLevels, scratch)
            } else {
                lh_dequantize_i8_rows(keys, st.keyScales(self)!, scratch, Int64(rows), Int64(d))
            }
            if precision == .int8 {
                lh_dequantize_i8_rows(values.assumingMemoryBound(to: Int8.self), valueScales, scratch + w * d, Int64(rows), Int64(d))
            } else {
                lh_dequantize_i4_rows(values.assumingMemoryBound(to: UInt8.self), valueScales, scratch + w * d, Int64(rows), Int64(d))
                unrotateValues(scratch + w * d, rows: rows)
            }
        }
    }

    /// Seals the keys of a complete chunk's block (w rows per section, int8 key rows as `storeRow` wrote them):
    /// writes the per-channel minimum then maximum of the decoded keys (2·d floats) to `bounds`, then replaces
    /// each key row by its channel codes over those bounds (`lh_quantize_channels`) and its scale by
    /// `sealedKeyScale`. Values are unchanged. Only for layouts that `sealsKeys`.
    public func sealKeys(block: UnsafeMutableRawPointer, bounds: UnsafeMutablePointer<Float>) {
        precondition(sealsKeys, "only k5v4 and k4v4 seal their keys")
        let w = chunkSize, d = headDimension
        let st = StoredRows(base: block, stride: w)
        precondition(!isSealed(st), "a chunk's keys are sealed once")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: w * d) { keys in   // (w, d)
            let codes = block.assumingMemoryBound(to: Int8.self)
            lh_dequantize_i8_rows(codes, st.keyScales(self)!, keys.baseAddress!, Int64(w), Int64(d))
            KeyBounds.compute(keys: keys.baseAddress!, rows: w, d: d, out: bounds)
            lh_quantize_channels(keys.baseAddress!, Int64(w), Int64(d), bounds, bounds + d, keyLevels, codes)
        }
        let scales = (block + scalesOffset(stride: w)).assumingMemoryBound(to: UInt16.self)
        scales.update(repeating: Self.sealedKeyScale, count: w)
    }

    /// Rotates `rows` rows (rows, d) of values, or of products over stored values, back from the stored
    /// rotation (k8v4, k5v4, k4v4); nothing for the other precisions.
    public func unrotateValues(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        guard rotatesValues else { return }
        for r in 0..<rows { lh_unrotate_row(x + r * headDimension, Int64(headDimension)) }
    }

    /// The kernel element kind (`LH_KV_F32`, `LH_KV_F16`, `LH_KV_I8`) of the stored keys.
    public var keyKernelKind: Int32 {
        switch precision {
        case .f32: return Int32(LH_KV_F32)
        case .f16: return Int32(LH_KV_F16)
        case .int8, .k8v4, .k5v4, .k4v4: return Int32(LH_KV_I8)   // sealed rows too (`lh_channel_scaled_query`)
        }
    }
    /// The kernel element kind of the stored values: as `keyKernelKind`, `LH_KV_I4` for k8v4, k5v4 and k4v4.
    public var valueKernelKind: Int32 { hasFourBitValues ? Int32(LH_KV_I4) : keyKernelKind }

    /// Copies the first `rows` rows of every section from `src` (sections of `srcStride` rows) to `dst`
    /// (sections of `dstStride` rows): packs a block into a file payload or spreads a payload into a block.
    public func copyRows(_ rows: Int, from src: UnsafeRawPointer, stride srcStride: Int,
                         to dst: UnsafeMutableRawPointer, stride dstStride: Int) {
        var s = 0, t = 0
        for sec in sections {
            (dst + t).copyMemory(from: src + s, byteCount: rows * sec.rowBytes)
            s += srcStride * sec.rowBytes
            t += dstStride * sec.rowBytes
        }
    }
}

/// A block's rows as stored (no conversion), for kernels that read the element type directly.
public struct StoredRows {
    /// Start of the sections of `ChunkLayout.sections`, each of `stride` rows.
    public var base: UnsafeRawPointer
    /// Rows per section: w for a block in memory, r for a payload read from a file.
    public var stride: Int
    /// Keeps `base` alive (a cached block), nil when the store owns the memory.
    public var owner: AnyObject?
    /// The chunk's key bounds (minima d, then maxima d) when the store has them: the ranges of sealed keys (k5v4, k4v4).
    public var keyRanges: UnsafePointer<Float>?
    /// Whether the keys and values of this sealed block are in tiles (`ChunkLayout.tile`), read with the tiled
    /// kernels (`lh_kv_scores_tiled`, `lh_kv_accumulate_tiled4`) or `decode(tiled:)`.
    public var tiled: Bool

    public init(base: UnsafeRawPointer, stride: Int, owner: AnyObject? = nil, keyRanges: UnsafePointer<Float>? = nil,
                tiled: Bool = false) {
        self.base = base
        self.stride = stride
        self.owner = owner
        self.keyRanges = keyRanges
        self.tiled = tiled
    }

    /// Keys (stride, d) in the element type of `layout`.
    public func keys(_ layout: ChunkLayout) -> UnsafeRawPointer { base }
    /// Values (stride, d) in the element type of `layout`.
    public func values(_ layout: ChunkLayout) -> UnsafeRawPointer { base + layout.valuesOffset(stride: stride) }
    /// Key row scales (stride) as f16 for int8, k8v4, k5v4 and k4v4, nil otherwise.
    public func keyScales(_ layout: ChunkLayout) -> UnsafePointer<UInt16>? {
        layout.hasRowScales ? (base + layout.scalesOffset(stride: stride)).assumingMemoryBound(to: UInt16.self) : nil
    }
    /// Value row scales (stride) as f16 for int8, k8v4, k5v4 and k4v4, nil otherwise.
    public func valueScales(_ layout: ChunkLayout) -> UnsafePointer<UInt16>? { keyScales(layout).map { $0 + stride } }
    /// Value row scales (stride) as f32 of a `tiled` block (`ChunkLayout.tile`).
    public func tiledValueScales(_ layout: ChunkLayout) -> UnsafePointer<Float> {
        (base + layout.scalesOffset(stride: stride)).assumingMemoryBound(to: Float.self)
    }
}

/// Keys, values and summaries of a chunked document, addressable per (layer, KV head, chunk) so a
/// head's selection can be loaded without touching anything else.
///
/// A block holds, for the w tokens t of chunk i, the keys k̃_t = R(t mod w)·k_t (in-chunk RoPE) then the
/// values v_t, each (w, d) row-major in `layout.precision` (for int8 followed by their per-row scales, see
/// `ChunkLayout.sections`). Rows past the end of a partial chunk are
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
    /// The stored rows of a block (at least its first `rows` rows valid), without conversion. Safe to call
    /// concurrently.
    func storedRows(layer: Int, kvHead: Int, chunk: Int, rows: Int) -> StoredRows
    /// The raw bytes of a block (`layout.blockBytes`), for writing it to a file.
    func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer
    /// Seals the keys of complete chunk `chunk` for (layer, KV head) when `layout.seals(chunk:)` (k5v4, k4v4): the
    /// block's keys become channel codes over its key bounds (`ChunkLayout.sealKeys`), which it stores as the
    /// chunk's key bounds (the same values Quest's bounds take), and `storedRows` then passes them as
    /// `keyRanges`. Called once per complete chunk, after the batch that completed it has been attended.
    /// Safe to call concurrently for different (layer, KV head) pairs.
    func sealKeys(layer: Int, kvHead: Int, chunk: Int)
    /// Stores the summary (d floats) of a complete chunk for (layer, query head). Safe to call
    /// concurrently for different (layer, head) pairs.
    func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>)
    /// Summaries of chunks `0..<n` of (layer, query head): (n, d) row-major, valid for complete chunks.
    func summaries(layer: Int, head: Int) -> UnsafePointer<Float>
    /// Stores the per-channel minimum then maximum (2·d floats) of a complete chunk's stored keys k̃ for
    /// (layer, KV head): Quest's bounds. Safe to call concurrently for different (layer, KV head) pairs.
    func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>)
    /// Key bounds of chunks `0..<n` of (layer, KV head): (n, 2, d) row-major, valid for complete chunks.
    func keyBounds(layer: Int, kvHead: Int) -> KeyBoundRows
    /// Stores the r = `layout.representatives` representative keys k̃ (r·d floats, `RepresentativeKeys`) of a
    /// complete chunk for (layer, KV head). Only called when r > 0. Safe to call concurrently for different
    /// (layer, KV head) pairs.
    func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>)
    /// Representative keys of chunks `0..<n` of (layer, KV head): (n, r, d) row-major, valid for complete
    /// chunks. Only called when `layout.representatives` > 0.
    func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float>
    /// The rows of past chunk `chunk` that attention may read: all w, except in a corpus of documents
    /// (`CorpusChunkStore`), where a chunk a document left open holds fewer tokens, and the chat template's
    /// prefix that opens every document but the first is hidden (it would be a second attention sink).
    /// Rows outside take no attention and no part in scoring.
    func validRows(chunk: Int) -> Range<Int>
}

extension ChunkStore {
    /// Every past chunk of one document is whole.
    public func validRows(chunk: Int) -> Range<Int> { 0..<layout.chunkSize }
}

/// A `ChunkStore` in memory, growing by doubling.
public final class InMemoryChunkStore: ChunkStore, @unchecked Sendable {
    public let layout: ChunkLayout
    private var capacityChunks = 0
    private var blocks: [UnsafeMutableRawPointer] = []       // per (layer, KV head): (chunks, 2, w, d) elements
    private var summaryRows: [UnsafeMutablePointer<Float>] = [] // per (layer, head): (chunks, d)
    private var boundRows: [UnsafeMutablePointer<Float>] = []   // per (layer, KV head): (chunks, 2, d)
    private var repRows: [UnsafeMutablePointer<Float>] = []     // per (layer, KV head): (chunks, r, d); empty when r = 0

    public init(layout: ChunkLayout) {
        self.layout = layout
        reserveChunks(4)
    }

    deinit {
        for b in blocks { b.deallocate() }
        for s in summaryRows { s.deallocate() }
        for b in boundRows { b.deallocate() }
        for r in repRows { r.deallocate() }
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
        if layout.representatives > 0 {
            repRows = (0..<nb).map { grownRows(repRows.isEmpty ? nil : repRows[$0], width: layout.representatives * d) }
        }
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
        if layout.precision == .f32 {   // stored as f32: no conversion
            let p = base.assumingMemoryBound(to: Float.self)
            return (UnsafePointer(p), UnsafePointer(p + w * d))
        }
        layout.decode(base, stride: w, rows: rows, into: scratch, keyRanges: boundRow(layer, kvHead, chunk))
        return (UnsafePointer(scratch), UnsafePointer(scratch + w * d))
    }

    public func storedRows(layer: Int, kvHead: Int, chunk: Int, rows: Int) -> StoredRows {
        StoredRows(base: blockBase(layer, kvHead, chunk), stride: layout.chunkSize, keyRanges: boundRow(layer, kvHead, chunk))
    }

    private func boundRow(_ layer: Int, _ kvHead: Int, _ chunk: Int) -> UnsafeMutablePointer<Float> {
        boundRows[layer * layout.kvHeads + kvHead] + chunk * 2 * layout.headDimension
    }

    public func sealKeys(layer: Int, kvHead: Int, chunk: Int) {
        guard layout.seals(chunk: chunk) else { return }
        layout.sealKeys(block: blockBase(layer, kvHead, chunk), bounds: boundRow(layer, kvHead, chunk))
    }

    public func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: blockBase(layer, kvHead, chunk), count: layout.blockBytes)
    }

    /// Chunk `chunk` as it is now in every block and row table, to put back with `restore(_:)`. Several
    /// continuations of one document over one store (an evaluation's questions) need it: tokens that complete
    /// the document's open chunk seal its keys in place (k5v4, k4v4), and the next continuation must find the
    /// open chunk's rows as the document left them.
    public func snapshot(chunk: Int) -> ChunkSnapshot {
        guard chunk < capacityChunks else { return ChunkSnapshot(chunk: chunk, bytes: []) }
        var bytes: [UInt8] = []
        forEachRegion(of: chunk) { bytes.append(contentsOf: UnsafeRawBufferPointer(start: $0, count: $1)) }
        return ChunkSnapshot(chunk: chunk, bytes: bytes)
    }

    /// Puts back what `snapshot(chunk:)` took.
    public func restore(_ snapshot: ChunkSnapshot) {
        guard !snapshot.bytes.isEmpty else { return }
        var offset = 0
        snapshot.bytes.withUnsafeBytes { b in
            forEachRegion(of: snapshot.chunk) { p, n in
                p.copyMemory(from: b.baseAddress! + offset, byteCount: n)
                offset += n
            }
        }
    }

    /// Each memory region chunk `chunk` occupies (its blocks, bounds, summaries, representative keys), in one order.
    private func forEachRegion(of chunk: Int, _ body: (UnsafeMutableRawPointer, Int) -> Void) {
        let d = layout.headDimension, f = MemoryLayout<Float>.stride
        for b in blocks { body(b + chunk * layout.blockBytes, layout.blockBytes) }
        for r in boundRows { body(UnsafeMutableRawPointer(r + chunk * 2 * d), 2 * d * f) }
        for r in summaryRows { body(UnsafeMutableRawPointer(r + chunk * d), d * f) }
        let n = layout.representatives * d
        for r in repRows { body(UnsafeMutableRawPointer(r + chunk * n), n * f) }
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

    public func keyBounds(layer: Int, kvHead: Int) -> KeyBoundRows {
        .f32(UnsafePointer(boundRows[layer * layout.kvHeads + kvHead]))
    }

    public func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>) {
        precondition(chunk < capacityChunks, "chunk \(chunk) beyond the reserved \(capacityChunks)")
        let n = layout.representatives * layout.headDimension
        (repRows[layer * layout.kvHeads + kvHead] + chunk * n).update(from: keys, count: n)
    }

    public func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        precondition(layout.representatives > 0, "the store keeps no representative keys")
        return UnsafePointer(repRows[layer * layout.kvHeads + kvHead])
    }
}

/// One chunk of an `InMemoryChunkStore` as it was (`snapshot(chunk:)`); empty when the chunk had no room yet.
public struct ChunkSnapshot: Sendable {
    let chunk: Int
    let bytes: [UInt8]
}

/// The key bounds of chunks `0..<n` of one (layer, KV head), (n, 2, d) row-major: f32 as computed, or halves
/// rounded outward (each minimum down, each maximum up), so a chunk's Quest score is still an upper bound of
/// its keys' scores at half the memory (a corpus's table, `lh_f32_to_f16_directed`).
public enum KeyBoundRows {
    case f32(UnsafePointer<Float>)
    case f16(UnsafePointer<UInt16>)

    /// The bounds of `chunks`, (chunks.count, 2, d), as floats (halves converted exactly).
    public func floats(chunks: Range<Int>, d: Int) -> [Float] {
        let start = chunks.lowerBound * 2 * d, count = chunks.count * 2 * d
        switch self {
        case let .f32(p):
            return Array(UnsafeBufferPointer(start: p + start, count: count))
        case let .f16(p):
            var out = [Float](repeating: 0, count: count)
            lh_f16_to_f32(p + start, &out, Int64(count))
            return out
        }
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
