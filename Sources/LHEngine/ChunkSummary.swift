// The chunk summary of DESIGN §2: causal in-chunk attention, mean output as query, softmax-weighted key average.
import LHCore
import LHModel

/// Per-thread scratch for one summary computation.
final class SummaryScratch {
    let queries = FloatBuffer(count: 0)   // (w, d) pre-RoPE queries of one head, then rotated in place
    let weights = FloatBuffer(count: 0)   // (w, w) in-chunk attention weights
    let outputs = FloatBuffer(count: 0)   // (w, d) in-chunk attention outputs o_t
    let mean = FloatBuffer(count: 0)      // (d) q̄ = mean_t o_t
    let sum = FloatBuffer(count: 0)       // (d) a head's running Σ_t o_t while a chunk completes
    let scores = FloatBuffer(count: 0)    // (w) softmax(q̄ · k̃_t / √d)
    let kv = FloatBuffer(count: 0)        // (2, w, d) f32 keys and values of the block

    func ensure(w: Int, d: Int) {
        queries.ensure(count: w * d)
        weights.ensure(count: w * w)
        outputs.ensure(count: w * d)
        mean.ensure(count: d)
        sum.ensure(count: d)
        scores.ensure(count: w)
        kv.ensure(count: 2 * w * d)
    }
}

/// Computes chunk summaries (DESIGN §2) in two steps: the outputs of a chunk's rows are summed as they
/// arrive (`addOutputs`), then the summary is taken from the sum (`finish`). A chunk left open by a
/// document needs only that sum, not its queries, to be summarized once question tokens complete it.
enum ChunkSummary {
    /// Adds Σ_{t ∈ rows} o_t to `sum` (d), where o_t is the output of causal attention inside the chunk with
    /// in-chunk positions (query R(t)·q_t over keys 0...t). Rows are added in order, so summing a chunk in
    /// consecutive parts gives the same sum as one call over all its rows.
    /// - Parameters:
    ///   - queries: (rows.count, d) pre-RoPE queries of those rows for one head, in `scratch.queries`
    ///     (rotated in place).
    ///   - keys, values: (rows.upperBound, d) stored keys and values of the chunk's first rows.
    static func addOutputs(rows: Range<Int>, d: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                           rope: RoPE, scratch s: SummaryScratch, sum: UnsafeMutablePointer<Float>) {
        guard !rows.isEmpty else { return }
        let scale = 1 / Float(d).squareRoot()
        let m = rows.count, n = rows.upperBound
        let q = s.queries.pointer, a = s.weights.pointer, o = s.outputs.pointer
        for (i, t) in rows.enumerated() { rope.rotate(q + i * d, heads: 1, position: t) }
        // a (m, n): weights of row t over keys 0...t; o (m, d) = a · values.
        Gemm.nt(m: m, n: n, k: d, alpha: scale, a: q, lda: d, b: keys, ldb: d, beta: 0, c: a, ldc: n)
        for (i, t) in rows.enumerated() {
            let row = a + i * n
            TensorOps.softmax(row, count: t + 1)
            if t + 1 < n { (row + t + 1).update(repeating: 0, count: n - t - 1) }
        }
        Gemm.nn(m: m, n: d, k: n, alpha: 1, a: a, lda: n, b: values, ldb: d, beta: 0, c: o, ldc: d)
        for i in 0..<m { for x in 0..<d { sum[x] += o[i * d + x] } }
    }

    /// The summary (d) from the chunk's summed outputs: q̄ = outputSum / w, s = Σ_t softmax_t(q̄·k̃_t/√d)·k̃_t.
    /// - Parameter keys: (w, d) stored keys of the complete chunk.
    static func finish(w: Int, d: Int, outputSum: UnsafePointer<Float>, keys: UnsafePointer<Float>,
                       scratch s: SummaryScratch, out: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(d).squareRoot()
        let mean = s.mean.pointer
        let inv = 1 / Float(w)
        for i in 0..<d { mean[i] = outputSum[i] * inv }
        let sc = s.scores.pointer
        Gemm.nt(m: 1, n: w, k: d, alpha: scale, a: mean, lda: d, b: keys, ldb: d, beta: 0, c: sc, ldc: w)
        TensorOps.softmax(sc, count: w)
        Gemm.nn(m: 1, n: d, k: w, alpha: 1, a: sc, lda: w, b: keys, ldb: d, beta: 0, c: out, ldc: d)
    }
}
