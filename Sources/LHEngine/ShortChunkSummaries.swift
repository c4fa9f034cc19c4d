// Summaries and key bounds of a chunk a document left open, for a store that serves it as a past chunk (a corpus).
import LHCore
import LHModel

/// A document's last chunk holds r < w tokens and has no summary or key bounds in its index: it was still
/// open. Inside a corpus it is a past chunk like any other, so it is given them here: key bounds over its r
/// keys, and summaries whose mean output q̄ is taken over its r rows (DESIGN §2 with r in place of w).
public enum ShortChunkSummaries {
    /// Writes the summaries (every query head) and key bounds (every KV head) of `chunk` of `store`, whose
    /// first `state.rows` rows hold the open chunk `state` describes, into `store`.
    /// - Throws: `LHError.invalidInput` when `state` holds neither output sums nor queries of the model's shape.
    public static func write(store: ChunkStore, chunk: Int, state: OpenChunkState, model: LlamaModel) throws {
        let c = model.config, d = c.headDimension, e = c.queryWidth, r = state.rows, w = store.layout.chunkSize
        let layers = store.layout.layers
        guard r > 0 else { return }
        let sums = state.outputSums ?? []
        let queries = state.queries ?? []
        guard sums.count == layers && sums.allSatisfy({ $0.count == e })
                || queries.count == layers && queries.allSatisfy({ $0.count == r * e }) else {
            throw LHError.invalidInput("the open chunk of \(r) rows has neither output sums nor queries for \(layers) layers")
        }
        let scratch = (0..<max(Parallel.threadCount, 1)).map { _ in SummaryScratch() }
        Parallel.forEach(layers * c.kvHeadCount) { task, thread in
            let l = task / c.kvHeadCount, g = task % c.kvHeadCount
            let s = scratch[thread]
            s.ensure(w: w, d: d)
            let blk = store.block(layer: l, kvHead: g, chunk: chunk, rows: r, scratch: s.kv.pointer)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * d) { out in
                KeyBounds.compute(keys: blk.keys, rows: r, d: d, out: out.baseAddress!)
                store.setKeyBounds(layer: l, kvHead: g, chunk: chunk, out.baseAddress!)
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
                    ChunkSummary.finish(w: r, d: d, outputSum: sum, keys: blk.keys, scratch: s, out: out.baseAddress!)
                    store.setSummary(layer: l, head: h, chunk: chunk, out.baseAddress!)
                }
            }
        }
    }
}

private extension UnsafeMutablePointer where Pointee == Float {
    /// Copies `count` floats of `array` starting at `offset`.
    func update(from array: [Float], at offset: Int, count: Int) {
        array.withUnsafeBufferPointer { self.update(from: $0.baseAddress! + offset, count: count) }
    }
}
