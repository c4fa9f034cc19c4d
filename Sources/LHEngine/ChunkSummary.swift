// The chunk summary of DESIGN §2: causal in-chunk attention, mean output as query, softmax-weighted key average.
import LHCore
import LHModel

/// Per-thread scratch for one summary computation.
final class SummaryScratch {
    let queries = FloatBuffer(count: 0)   // (w, d) pre-RoPE queries of one head, then rotated in place
    let weights = FloatBuffer(count: 0)   // (w, w) in-chunk attention weights
    let outputs = FloatBuffer(count: 0)   // (w, d) in-chunk attention outputs o_t
    let mean = FloatBuffer(count: 0)      // (d) q̄ = mean_t o_t
    let scores = FloatBuffer(count: 0)    // (w) softmax(q̄ · k̃_t / √d)
    let kv = FloatBuffer(count: 0)        // (2, w, d) f32 keys and values of the block

    func ensure(w: Int, d: Int) {
        queries.ensure(count: w * d)
        weights.ensure(count: w * w)
        outputs.ensure(count: w * d)
        mean.ensure(count: d)
        scores.ensure(count: w)
        kv.ensure(count: 2 * w * d)
    }
}

/// Computes chunk summaries.
enum ChunkSummary {
    /// The summary s (d) of one complete chunk for one query head.
    /// - Parameters:
    ///   - queries: (w, d) pre-RoPE queries of the chunk's tokens for this head, in `scratch.queries`.
    ///   - keys: (w, d) stored keys k̃_t = R(t mod w)·k_t.
    ///   - values: (w, d) values.
    ///   - out: (d) the summary s = Σ_t softmax_t(q̄·k̃_t/√d)·k̃_t.
    static func compute(w: Int, d: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                        rope: RoPE, scratch s: SummaryScratch, out: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(d).squareRoot()
        let q = s.queries.pointer, a = s.weights.pointer, o = s.outputs.pointer
        // 1. Causal attention inside the chunk with in-chunk positions: queries R(t)q_t.
        for t in 0..<w { rope.rotate(q + t * d, heads: 1, position: t) }
        Gemm.nt(m: w, n: w, k: d, alpha: scale, a: q, lda: d, b: keys, ldb: d, beta: 0, c: a, ldc: w)
        for t in 0..<w {
            let row = a + t * w
            TensorOps.softmax(row, count: t + 1)
            if t + 1 < w { (row + t + 1).update(repeating: 0, count: w - t - 1) }
        }
        Gemm.nn(m: w, n: d, k: w, alpha: 1, a: a, lda: w, b: values, ldb: d, beta: 0, c: o, ldc: d)
        // 2. q̄ = mean over the chunk of o_t.
        let mean = s.mean.pointer
        mean.update(repeating: 0, count: d)
        for t in 0..<w { for i in 0..<d { mean[i] += o[t * d + i] } }
        let inv = 1 / Float(w)
        for i in 0..<d { mean[i] *= inv }
        // 3. s = Σ_t softmax_t(q̄·k̃_t/√d)·k̃_t.
        let sc = s.scores.pointer
        Gemm.nt(m: 1, n: w, k: d, alpha: scale, a: mean, lda: d, b: keys, ldb: d, beta: 0, c: sc, ldc: w)
        TensorOps.softmax(sc, count: w)
        Gemm.nn(m: 1, n: d, k: w, alpha: 1, a: sc, lda: w, b: keys, ldb: d, beta: 0, c: out, ldc: d)
    }
}
