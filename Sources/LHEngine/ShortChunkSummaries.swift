// Summaries and key bounds of a chunk a document left open, for a store that serves it as a past chunk (a corpus).
import LHCore
import LHModel

/// A document's last chunk holds r < w tokens and has no summary or key bounds in its index: it was still
/// open. Inside a corpus it is a past chunk like any other, so it is given them here: key bounds over its r
/// keys, and summaries whose mean output q̄ is taken over its r rows (DESIGN §2 with r in place of w).
public enum ShortChunkSummaries {
    /// The key bounds, (L·G, 2·d), and summaries, (L·H, d), of `chunk` of `store`, whose first `state.rows`
    /// (> 0) rows hold the open chunk `state` describes.
    /// - Throws: `LHError.invalidInput` when `state` holds neither output sums nor queries of the model's shape.
    public static func compute(store: ChunkStore, chunk: Int, state: OpenChunkState, model: LlamaModel,
                               bounds: inout [Float], summaries: inout [Float]) throws {
        let c = model.config, d = c.headDimension, e = c.queryWidth, r = state.rows, w = store.layout.chunkSize
        let layers = store.layout.layers
        let sums = state.outputSums ?? []
        let queries = state.queries ?? []
        guard r > 0, sums.count == layers && sums.allSatisfy({ $0.count == e })
                || queries.count == layers && queries.allSatisfy({ $0.count == r * e }) else {
            throw LHError.invalidInput("the open chunk of \(r) rows has neither output sums nor queries for \(layers) layers")
        }
        let scratch = (0..<max(Parallel.threadCount, 1)).map { _ in SummaryScratch() }
        bounds.withUnsafeMutableBufferPointer { boundsOut in
            summaries.withUnsafeMutableBufferPointer { summariesOut in
                let bOut = boundsOut.baseAddress!, sOut = summariesOut.baseAddress!
                Parallel.forEach(layers * c.kvHeadCount) { task, thread in
                    let l = task / c.kvHeadCount, g = task % c.kvHeadCount
                    let s = scratch[thread]
                    s.ensure(w: w, d: d)
                    let blk = store.block(layer: l, kvHead: g, chunk: chunk, rows: r, scratch: s.kv.pointer)
                    KeyBounds.compute(keys: blk.keys, rows: r, d: d, out: bOut + task * 2 * d)
                    for h in (g * c.groupSize)..<((g + 1) * c.groupSize) {
                        let sum = s.sum.pointer
                        if sums.isEmpty {
                            sum.update(repeating: 0, count: d)
                            for t in 0..<r { (s.queries.pointer + t * d).update(from: queries[l], at: t * e + h * d, count: d) }
                            ChunkSummary.addOutputs(rows: 0..<r, d: d, keys: blk.keys, values: blk.values, rope: model.rope,
                                                    scratch: s, sum: sum)
                        } else {
                            sum.update(from: sums[l], at: h * d, count: d)
                        }
                        ChunkSummary.finish(w: r, d: d, outputSum: sum, keys: blk.keys, scratch: s, out: sOut + (l * c.headCount + h) * d)
                    }
                }
            }
        }
    }
}

extension ChunkStore {
    /// Sets the key bounds of (layer, KV head, chunk) to `rows[offset ..< offset + 2·d]`.
    public func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ rows: [Float], at offset: Int) {
        rows.withUnsafeBufferPointer { setKeyBounds(layer: layer, kvHead: kvHead, chunk: chunk, $0.baseAddress! + offset) }
    }

    /// Sets the summary of (layer, head, chunk) to `rows[offset ..< offset + d]`.
    public func setSummary(layer: Int, head: Int, chunk: Int, _ rows: [Float], at offset: Int) {
        rows.withUnsafeBufferPointer { setSummary(layer: layer, head: head, chunk: chunk, $0.baseAddress! + offset) }
    }
}

private extension UnsafeMutablePointer where Pointee == Float {
    /// Copies `count` floats of `array` starting at `offset`.
    func update(from array: [Float], at offset: Int, count: Int) {
        array.withUnsafeBufferPointer { self.update(from: $0.baseAddress! + offset, count: count) }
    }
}
