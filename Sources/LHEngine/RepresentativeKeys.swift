// InfLLM-style representative keys of a chunk: the r stored keys that receive the most attention from the chunk's own queries.
import LHCore
import LHModel

/// Per-thread scratch for choosing representative keys.
final class RepresentativeScratch {
    let queries = FloatBuffer(count: 0)   // (m, d) pre-RoPE queries of a KV group's heads over the chunk
    let weights = FloatBuffer(count: 0)   // (m, w) attention weights of those queries over the chunk's keys
    let scores = FloatBuffer(count: 0)    // (w) attention received per key

    func ensure(m: Int, w: Int, d: Int) {
        queries.ensure(count: m * d)
        weights.ensure(count: m * w)
        scores.ensure(count: w)
    }
}

/// Representative keys (InfLLM, Xiao et al. 2024): per (layer, KV head, chunk), the r stored keys k̃_t with the
/// largest representative score, kept so that a question can score the chunk by its keys without reading it.
///
/// The representative score of key t is the attention it receives from the chunk's queries:
/// score_t = Σ_i softmax_t'(q_i·k̃_t' / √d)[t], summed over every query i of the chunk and of every query
/// head of the KV group. Queries are pre-RoPE and keys the stored in-chunk-rotated k̃, the space in which
/// `ChunkScorer` compares question queries with summaries, bounds and these keys. All w keys are visible to
/// every query (a chunk-level vote, not causal attention).
///
/// Why softmax-weighted and not InfLLM's formula Σ_i q_i·k̃_t: a plain sum of dot products is linear in the
/// queries, so it equals (Σ_i q_i)·k̃_t and ranks every chunk's keys along one direction, the chunk's mean
/// query, which is dominated by what all queries share; the keys it keeps are those that every query leans
/// towards a little (sink-like tokens). With the softmax each query casts one unit of attention, so a key
/// that a few queries attend to strongly (a salient word) can win. InfLLM's implementation also ranks tokens
/// by the attention scores they received, and H2O's heavy hitters are chosen the same way.
enum RepresentativeKeys {
    /// Writes the r keys with the highest representative score, in decreasing order of score (ties: the
    /// earlier token), to `out` (r, d).
    /// - Parameters:
    ///   - queries: (m, d) pre-RoPE queries, in `scratch.queries`.
    ///   - keys: (w, d) stored keys k̃ of a complete chunk.
    static func select(r: Int, m: Int, w: Int, d: Int, keys: UnsafePointer<Float>, scratch s: RepresentativeScratch,
                       out: UnsafeMutablePointer<Float>) {
        let sc = s.scores.pointer
        scores(m: m, w: w, d: d, keys: keys, scratch: s)
        let best = ChunkSelector.topK(sc, count: w, k: r).sorted { sc[$0] > sc[$1] || (sc[$0] == sc[$1] && $0 < $1) }
        for (j, t) in best.enumerated() { (out + j * d).update(from: keys + t * d, count: d) }
    }

    /// Fills `scratch.scores` (w) with the representative scores of the w keys for the m queries in
    /// `scratch.queries`.
    static func scores(m: Int, w: Int, d: Int, keys: UnsafePointer<Float>, scratch s: RepresentativeScratch) {
        let a = s.weights.pointer, sc = s.scores.pointer
        Gemm.nt(m: m, n: w, k: d, alpha: 1 / Float(d).squareRoot(), a: s.queries.pointer, lda: d, b: keys, ldb: d,
                beta: 0, c: a, ldc: w)
        sc.update(repeating: 0, count: w)
        for i in 0..<m {
            let row = a + i * w
            TensorOps.softmax(row, count: w)
            for t in 0..<w { sc[t] += row[t] }
        }
    }
}
