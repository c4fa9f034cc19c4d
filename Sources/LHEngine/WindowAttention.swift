// One head's attention over its window: selected chunks at their slot offsets plus the causal current chunk.
import CKernels
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
    let summary = SummaryScratch()
    let representatives = RepresentativeScratch()
}

/// Attention of a group of queries that share one window.
enum WindowAttention {
    /// Groups of at most this many queries (decode steps, per-token question selections) read the stored
    /// rows directly with fused kernels; larger groups convert each block to f32 once and use matrix products.
    static let fusedMaxQueries = 4

    /// Attends `m` queries of one head, all in chunk `c`, to the selected chunks and the current chunk.
    /// - Parameters:
    ///   - offsets: in-chunk positions (p mod w) of the m queries; query i sees current-chunk keys 0...offsets[i].
    ///   - chunks: selected past chunks (sorted); `deltas[r]` is slot r's rotation offset (see `ChunkSelector.offsets`).
    ///   - s: scratch; `s.queries` holds the (m, d) pre-RoPE queries on entry. Output lands in `s.out` (m, d).
    static func attend(store: ChunkStore, layer: Int, kvHead g: Int, m: Int, offsets: [Int], c: Int,
                       chunks: [Int], deltas: [Int], rope: RoPE, scratch s: WindowScratch) {
        let lay = store.layout, w = lay.chunkSize, d = lay.headDimension
        let ns = chunks.count
        let cur = offsets.max()! + 1
        let n = ns * w + cur
        s.rotated.ensure(count: m * d)
        s.scores.ensure(count: m * n)
        s.kv.ensure(count: (ns + 1) * 2 * w * d)
        s.out.ensure(count: m * d)
        let q = s.queries.pointer, rot = s.rotated.pointer, sc = s.scores.pointer
        let scale = 1 / Float(d).squareRoot()
        // Logits per slot: scores[:, r·w ..< (r+1)·w] = (R(δ_r + i)·q_i) · k̃ᵀ / √d.
        var values: [UnsafePointer<Float>] = []
        var stored: [StoredRows] = []
        let fused = m <= fusedMaxQueries
        // Rows each slot may attend: all w, or a part of a chunk of a corpus (`ChunkStore.validRows`); rows are
        // read up to the part's end and the others masked.
        let valid = (0..<ns).map { store.validRows(chunk: chunks[$0]) }
        let slotRows = (0...ns).map { $0 == ns ? cur : valid[$0].upperBound }
        for r in 0...ns {
            let current = r == ns
            let rows = slotRows[r]
            let chunk = current ? c : chunks[r]
            let delta = current ? 0 : deltas[r]
            rot.update(from: q, count: m * d)
            for i in 0..<m { rope.rotate(rot + i * d, heads: 1, position: delta + offsets[i]) }
            if fused {
                let st = store.storedRows(layer: layer, kvHead: g, chunk: chunk, rows: rows)
                stored.append(st)
                lh_kv_scores_multi(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(rows), Int64(d), Int64(m), rot, scale,
                                   sc + r * w, Int64(n))
            } else {
                let blk = store.block(layer: layer, kvHead: g, chunk: chunk, rows: rows, scratch: s.kv.pointer + r * 2 * w * d)
                values.append(blk.values)
                Gemm.nt(m: m, n: rows, k: d, alpha: scale, a: rot, lda: d, b: blk.keys, ldb: d,
                        beta: 0, c: sc + r * w, ldc: n)
            }
        }
        // Rows of short chunks hold no token; causal mask inside the current chunk; one softmax over all keys.
        for r in 0..<ns where valid[r] != 0..<w {
            for i in 0..<m {
                (sc + i * n + r * w).update(repeating: -.infinity, count: valid[r].lowerBound)
                (sc + i * n + r * w + valid[r].upperBound).update(repeating: -.infinity, count: w - valid[r].upperBound)
            }
        }
        for i in 0..<m {
            let row = sc + i * n
            for t in (offsets[i] + 1)..<max(cur, offsets[i] + 1) { row[ns * w + t] = -.infinity }
            TensorOps.softmax(row, count: n)
        }
        // out (m, d) = Σ_r weights[:, slot r] · v_r.
        if fused {
            let out = s.out.pointer
            out.update(repeating: 0, count: m * d)
            for (r, st) in stored.enumerated() {
                let rows = slotRows[r]
                lh_kv_accumulate_multi(lay.valueKernelKind, st.values(lay), st.valueScales(lay), Int64(rows), Int64(d), Int64(m),
                                       sc + r * w, Int64(n), out)
            }
            withExtendedLifetime(stored) {}
            lay.unrotateValues(out, rows: m)   // the products were taken over rotated values (k8v4)
            return
        }
        for r in 0...ns {
            let rows = slotRows[r]
            Gemm.nn(m: m, n: d, k: rows, alpha: 1, a: sc + r * w, lda: n, b: values[r], ldb: d,
                      beta: r == 0 ? 0 : 1, c: s.out.pointer, ldc: d)
        }
    }
}
