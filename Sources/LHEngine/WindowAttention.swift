// One head's attention over its window: selected chunks at their slot offsets plus the causal current chunk.
import CKernels
import Foundation
import LHCore
import LHModel

/// Per-thread scratch for window attention and selection.
final class WindowScratch {
    let queries = FloatBuffer(count: 0)   // (m, d) gathered pre-RoPE queries of one group
    let rotated = FloatBuffer(count: 0)   // (m, d) the queries rotated for one slot
    let scores = FloatBuffer(count: 0)    // (m, N) logits, then weights, N = keys in the window
    let kv = FloatBuffer(count: 0)        // (slots, 2, w, d) f32 keys and values of the window's blocks
    let out = FloatBuffer(count: 0)       // (m, d) attention output of one group
    let candidateScores = FloatBuffer(count: 0) // (m, candidates) selection scores
    let keyScores = FloatBuffer(count: 0)   // (m, w) q·k̃ of one chunk while scoring (or (m, 2·d) queries split by sign for Quest)
    let scoringQueries = FloatBuffer(count: 0) // (heads of a group, d) summed block queries
    let groupScores = FloatBuffer(count: 0)    // (heads of a group, candidates) one token's scores per head
    let summary = SummaryScratch()
    let representatives = RepresentativeScratch()
}

/// Attention of a group of queries that share one window.
enum WindowAttention {
    /// Groups of at most this many queries (decode steps, per-token question selections) read the stored
    /// rows directly with fused kernels; larger groups convert each block to f32 once and use matrix products.
    static let fusedMaxQueries = 4

    /// Queries per pass of the matrix-product path: 64 queries' logits over a 2,304-key window are 590 KB, which
    /// stay in a 2 MB L2 beside the window's f32 keys and values (1.2 MB); all 256 queries of a chunk at once
    /// wrote 2.4 MB of logits (7 MB for a question's KV group of three heads), read back twice from L3.
    static let rowBlock = 64

    /// Attends `m` queries of one head, all in chunk `c`, to the selected chunks and the current chunk.
    /// - Parameters:
    ///   - offsets: in-chunk positions (p mod w) of the m queries; query i sees current-chunk keys 0...offsets[i].
    ///   - chunks: selected past chunks (sorted); `deltas[r]` is slot r's rotation offset (see `ChunkSelector.offsets`).
    ///   - s: scratch; `s.queries` holds the (m, d) pre-RoPE queries on entry. Output lands in `s.out` (m, d).
    ///   - part: the slots to attend (slot r < chunks.count reads chunks[r], slot chunks.count the current chunk);
    ///     nil: all of them. The output is then the attention over these slots' keys alone, and `logSumExp` (m)
    ///     receives each query's log Σ exp(logit) over them, so parts can be merged (`mergeParts`).
    ///   - keepWeights: leave all m rows of attention weights in `s.scores` (m, n) for the caller (tracing);
    ///     otherwise only the last pass's rows are there.
    static func attend(store: ChunkStore, layer: Int, kvHead g: Int, m: Int, offsets: [Int], c: Int,
                       chunks: [Int], deltas: [Int], rope: RoPE, scratch s: WindowScratch,
                       part: Range<Int>? = nil, logSumExp: UnsafeMutablePointer<Float>? = nil, keepWeights: Bool = false) {
        let lay = store.layout, w = lay.chunkSize, d = lay.headDimension
        let ns = chunks.count
        let part = part ?? 0..<(ns + 1)
        let cur = offsets.max()! + 1
        let hasCurrent = part.contains(ns)
        let n = (part.count - (hasCurrent ? 1 : 0)) * w + (hasCurrent ? cur : 0)   // keys in the part
        // Rows each slot may attend: all w, or a part of a chunk of a corpus (`ChunkStore.validRows`); rows are
        // read up to the part's end and the others masked.
        let valid = part.map { $0 == ns ? 0..<cur : store.validRows(chunk: chunks[$0]) }
        let slotRows = part.map { $0 == ns ? cur : valid[$0 - part.lowerBound].upperBound }
        let fused = m <= fusedMaxQueries
        // Queries per pass: all of them for the fused kernels or when the caller reads the weights afterwards;
        // otherwise blocks of `rowBlock`, so that a block's logits stay in L2 beside the window's keys and values.
        let mb = fused || keepWeights ? m : min(m, rowBlock)
        s.rotated.ensure(count: mb * d)
        s.scores.ensure(count: mb * n)
        s.out.ensure(count: m * d)
        let q = s.queries.pointer, rot = s.rotated.pointer, sc = s.scores.pointer
        let scale = 1 / Float(d).squareRoot()
        /// rot (count, d) = queries i0 ..< i0 + count rotated for slot r: R(δ_r + offset_i)·q_i. Their logits against
        /// the slot's keys go to scores[:, j·w ..< (j+1)·w] (j = r − part.lowerBound), scaled by 1/√d.
        func rotateQueries(_ i0: Int, _ count: Int, slot r: Int) {
            let delta = r == ns ? 0 : deltas[r]
            rot.update(from: q + i0 * d, count: count * d)
            for i in 0..<count { rope.rotate(rot + i * d, heads: 1, position: delta + offsets[i0 + i]) }
        }
        /// Masks the keys query i (of the pass starting at i0) may not see, then turns its logits into weights.
        func softmaxRows(_ i0: Int, _ count: Int) {
            // Rows of short chunks hold no token; causal mask inside the current chunk; one softmax over all keys.
            for (j, r) in part.enumerated() where r < ns && valid[j] != 0..<w {
                for i in 0..<count {
                    (sc + i * n + j * w).update(repeating: -.infinity, count: valid[j].lowerBound)
                    (sc + i * n + j * w + valid[j].upperBound).update(repeating: -.infinity, count: w - valid[j].upperBound)
                }
            }
            let currentBase = (ns - part.lowerBound) * w
            for i in 0..<count {
                let row = sc + i * n
                if hasCurrent {
                    for t in (offsets[i0 + i] + 1)..<max(cur, offsets[i0 + i] + 1) { row[currentBase + t] = -.infinity }
                }
                let lse = lh_softmax_f32_lse(row, Int64(n))
                logSumExp?[i0 + i] = lse
            }
        }
        /// Logits of the m queries `queries` (m, d) against sealed keys (channel codes over the chunk's
        /// key bounds): the int8 row kernel on the queries scaled by each channel's step, plus each query's offset.
        func sealedScores(_ st: StoredRows, rows: Int, queries: UnsafePointer<Float>, scale: Float, into out: UnsafeMutablePointer<Float>) {
            guard let ranges = st.keyRanges else { preconditionFailure("sealed keys read without their chunk's key bounds") }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m * (d + 1)) { buf in
                let scaled = buf.baseAddress!, offsets = scaled + m * d   // (m, d), (m)
                for i in 0..<m { lh_channel_scaled_query(queries + i * d, Int64(d), ranges, ranges + d, lay.keyLevels, scaled + i * d, offsets + i) }
                lh_kv_scores_multi(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(rows), Int64(d), Int64(m), scaled, scale,
                                   out, Int64(n))
                for i in 0..<m {
                    let shift = scale * offsets[i], row = out + i * n
                    for t in 0..<rows { row[t] += shift }
                }
            }
        }
        if fused {
            let stored = part.enumerated().map { j, r in store.storedRows(layer: layer, kvHead: g, chunk: r == ns ? c : chunks[r], rows: slotRows[j]) }
            /// Brings slot j's tiles towards the cache while the slot before it is read (keys, or values and scales).
            func prefetch(_ j: Int, keys: Bool) {
                guard j < stored.count, stored[j].tiled else { return }
                let st = stored[j], rows = Int64(slotRows[j])
                if !keys {
                    lh_kv_tiles_prefetch_values(st.values(lay).assumingMemoryBound(to: UInt8.self), st.tiledValueScales(lay), rows, Int64(d))
                } else if let ranges = st.keyRanges {
                    lh_kv_tiles_prefetch_keys(st.keys(lay).assumingMemoryBound(to: UInt8.self), ranges, rows, Int64(d))
                }
            }
            prefetch(0, keys: true)
            for (j, r) in part.enumerated() {
                let st = stored[j]
                prefetch(j + 1, keys: true)
                rotateQueries(0, m, slot: r)
                if st.tiled {
                    guard let ranges = st.keyRanges else { preconditionFailure("tiled keys read without their chunk's key bounds") }
                    lh_kv_scores_tiled(st.keys(lay).assumingMemoryBound(to: UInt8.self), Int64(slotRows[j]), Int64(d), lay.keyLevels,
                                       Int64(m), rot, ranges, ranges + d, scale, sc + j * w, Int64(n))
                    continue
                }
                if lay.isSealed(st) {
                    sealedScores(st, rows: slotRows[j], queries: rot, scale: scale, into: sc + j * w)
                    continue
                }
                lh_kv_scores_multi(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(slotRows[j]), Int64(d), Int64(m), rot, scale,
                                   sc + j * w, Int64(n))
            }
            prefetch(0, keys: false)   // on its way during the softmax
            softmaxRows(0, m)
            // out (m, d) = Σ_j weights[:, slot j] · v_j.
            let out = s.out.pointer
            out.update(repeating: 0, count: m * d)
            for (j, st) in stored.enumerated() {
                prefetch(j + 1, keys: false)
                if st.tiled {
                    lh_kv_accumulate_tiled4(st.values(lay).assumingMemoryBound(to: UInt8.self), st.tiledValueScales(lay), Int64(slotRows[j]),
                                            Int64(d), Int64(m), sc + j * w, Int64(n), out)
                    continue
                }
                lh_kv_accumulate_multi(lay.valueKernelKind, st.values(lay), st.valueScales(lay), Int64(slotRows[j]), Int64(d), Int64(m),
                                       sc + j * w, Int64(n), out)
            }
            withExtendedLifetime(stored) {}
            lay.unrotateValues(out, rows: m)   // the products were taken over rotated values (k8v4)
            return
        }
        // The window's blocks in f32, converted once for every pass.
        s.kv.ensure(count: part.count * 2 * w * d)
        let blocks = part.enumerated().map { j, r in
            store.block(layer: layer, kvHead: g, chunk: r == ns ? c : chunks[r], rows: slotRows[j], scratch: s.kv.pointer + j * 2 * w * d)
        }
        for i0 in stride(from: 0, to: m, by: mb) {
            let rows = min(mb, m - i0)
            for (j, r) in part.enumerated() {
                rotateQueries(i0, rows, slot: r)
                Gemm.nt(m: rows, n: slotRows[j], k: d, alpha: scale, a: rot, lda: d, b: blocks[j].keys, ldb: d,
                        beta: 0, c: sc + j * w, ldc: n)
            }
            softmaxRows(i0, rows)
            // out (rows, d) = Σ_j weights[:, slot j] · v_j.
            for j in 0..<part.count {
                Gemm.nn(m: rows, n: d, k: slotRows[j], alpha: 1, a: sc + j * w, lda: n, b: blocks[j].values, ldb: d,
                        beta: j == 0 ? 0 : 1, c: s.out.pointer + i0 * d, ldc: d)
            }
        }
    }

    /// Merges the outputs of attention over disjoint parts of one window: `outs[p]` (m, d) and `logSumExp[p]` (m)
    /// from `attend(…part:logSumExp:)`; the result (m, d), written to `out` (row i at `out + rowOffsets[i]`), is the
    /// attention over all of them: Σ_p exp(lse_p − lse) · out_p with lse = log Σ_p exp(lse_p).
    static func mergeParts(_ outs: [UnsafePointer<Float>], logSumExp: [UnsafePointer<Float>], m: Int, d: Int,
                           into out: UnsafeMutablePointer<Float>, rowOffsets: [Int]) {
        for i in 0..<m {
            let top = logSumExp.map { $0[i] }.max()!
            let weights = logSumExp.map { top == -.infinity ? 0 : exp($0[i] - top) }
            let total = weights.reduce(0, +)
            let row = out + rowOffsets[i]
            row.update(repeating: 0, count: d)
            guard total > 0 else { continue }
            for (p, o) in outs.enumerated() where weights[p] > 0 { lh_axpy_f32(weights[p] / total, o + i * d, row, Int64(d)) }
        }
    }
}
