// sealed.zst: the rows a corpus needs of a document that a question does not continue, computed once at build time.
import LHCore
import LHEngine
import LHModel

/// What a corpus (`CorpusChunkStore`) needs of a document that is not its last, beyond the per-chunk files
/// (FORMAT.md §5a): the key bounds of chunk 0 over the rows after the template prefix (the prefix is hidden
/// inside a corpus), and the key bounds and summaries of the short last chunk (r = N mod w rows) the
/// document left open. Computing them when a corpus opens reads two blocks per (layer, KV head) of every
/// document (1.3 GB of frames for 200 documents), so the build stores them.
public struct SealedRows: Equatable, Sendable {
    /// `meta` key naming the content of sealed.zst; absent in indexes written before it (a corpus then computes the rows).
    static let contentKey = "sealed_content"
    static let content = "first-bounds,short-chunk"

    /// (L·G, 2·d): chunk 0's key bounds over rows prefixTokens ..< min(w, N); zeros when that range is empty.
    public var firstChunkBounds: [Float]
    /// (L·G, 2·d) and (L·H, d): the short last chunk's key bounds and summaries; empty when N mod w = 0.
    public var shortChunkBounds: [Float]
    public var shortChunkSummaries: [Float]

    /// The rows of the document `store` holds (`tokens` tokens, the first `prefixTokens` of them the template
    /// prefix), whose open last chunk `open` describes.
    static func compute(store: ChunkStore, tokens: Int, prefixTokens: Int, open: OpenChunkState, model: LlamaModel) throws -> SealedRows {
        let lay = store.layout, d = lay.headDimension, w = lay.chunkSize
        var rows = SealedRows(firstChunkBounds: firstChunkBounds(store: store, valid: min(prefixTokens, w)..<min(w, tokens)),
                              shortChunkBounds: [], shortChunkSummaries: [])
        if open.rows > 0 {
            rows.shortChunkBounds = [Float](repeating: 0, count: lay.layers * lay.kvHeads * 2 * d)
            rows.shortChunkSummaries = [Float](repeating: 0, count: lay.layers * lay.heads * d)
            try ShortChunkSummaries.compute(store: store, chunk: tokens / w, state: open, model: model,
                                            bounds: &rows.shortChunkBounds, summaries: &rows.shortChunkSummaries)
        }
        return rows
    }

    /// (L·G, 2·d): chunk 0's key bounds over its rows `valid` of `store`; zeros when `valid` is empty.
    static func firstChunkBounds(store: ChunkStore, valid: Range<Int>) -> [Float] {
        let lay = store.layout, d = lay.headDimension
        var out = [Float](repeating: 0, count: lay.layers * lay.kvHeads * 2 * d)
        guard !valid.isEmpty else { return out }
        var scratch = [Float](repeating: 0, count: 2 * lay.chunkSize * d)
        for l in 0..<lay.layers {
            for g in 0..<lay.kvHeads {
                let keys = scratch.withUnsafeMutableBufferPointer {
                    store.block(layer: l, kvHead: g, chunk: 0, rows: valid.upperBound, scratch: $0.baseAddress!).keys
                }
                out.withUnsafeMutableBufferPointer {
                    KeyBounds.compute(keys: keys + valid.lowerBound * d, rows: valid.count, d: d,
                                      out: $0.baseAddress! + (l * lay.kvHeads + g) * 2 * d)
                }
            }
        }
        return out
    }

    /// Writes the rows to `path` (one zstd frame of f32: first-chunk bounds, then the short chunk's bounds
    /// and summaries) and returns the `meta` pair naming its content.
    func write(to path: String) throws -> (String, String) {
        let floats = firstChunkBounds + shortChunkBounds + shortChunkSummaries
        let frame = try floats.withUnsafeBytes { try Zstd(level: 1).compressed($0) }
        try PosixFile.writeWhole(frame, to: path)
        return (Self.contentKey, Self.content)
    }

    /// The rows stored in `directory` for a document of `tokens` tokens with `layout`; nil when the index
    /// predates sealed.zst (`content` nil).
    /// - Throws: `LHError.badFile` for an unknown content or a frame that does not hold exactly the floats expected.
    static func read(directory: String, layout lay: ChunkLayout, tokens: Int, content: String?) throws -> SealedRows? {
        let path = directory + "/" + BundleFormat.sealedFile
        guard let content else { return nil }
        guard content == Self.content else {
            throw LHError.badFile(path: path, reason: "unknown content '\(content)' (index.sqlite \(contentKey))")
        }
        let d = lay.headDimension, bounds = lay.layers * lay.kvHeads * 2 * d
        let short = tokens % lay.chunkSize > 0 ? bounds + lay.layers * lay.heads * d : 0
        let expected = (bounds + short) * MemoryLayout<Float>.stride
        let file = try MappedFile(path: path)
        let bytes = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path, limit: expected)
        guard bytes.count == expected else {
            throw LHError.badFile(path: path, reason: "holds \(bytes.count) bytes, expected \(expected)")
        }
        let f = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return SealedRows(firstChunkBounds: Array(f[..<bounds]),
                          shortChunkBounds: short > 0 ? Array(f[bounds..<(2 * bounds)]) : [],
                          shortChunkSummaries: short > 0 ? Array(f[(2 * bounds)...]) : [])
    }
}
