// Causal (optionally windowed) multi-head attention of a batch of queries over keys and values laid out by
// position: the one attention kernel of DenseAttention and of the sliding-window layers under LongHeads.
import LHCore

/// Grouped-query causal attention over a contiguous key/value buffer.
public enum CausalAttention {
    /// Queries attend in blocks of this many rows, bounding the score matrix.
    public static let queryBlock = 256

    /// `out` (m, H·d) = softmax(q·kᵀ/√d, causal, windowed)·v for queries at buffer positions `start ..< start + m`.
    ///
    /// `keys` and `values` (start + m, G·d) hold, at row j, the key (RoPE applied) and value of buffer position j;
    /// the query at position p sees rows max(0, p + 1 − window) … p. `q` (m, H·d) holds rotated queries.
    /// `scores` holds one buffer per pool thread.
    public static func attend(config c: LlamaConfig, m: Int, start: Int, window: Int, q: UnsafePointer<Float>,
                              keys kc: UnsafePointer<Float>, values vc: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>, scores: [FloatBuffer]) {
        let d = c.headDimension, kvw = c.kvWidth, e = c.queryWidth
        let scale = 1 / Float(d).squareRoot()
        let blocks = (m + queryBlock - 1) / queryBlock
        // One task per (head, query block); each thread owns one score buffer.
        Parallel.forEach(c.headCount * blocks) { task, thread in
            let h = task / blocks, b = task % blocks
            let g = h / c.groupSize
            let q0 = b * queryBlock, mb = min(queryBlock, m - q0)
            let end = start + q0 + mb                     // keys visible to the block's last query: ..< end
            let lo = max(0, start + q0 + 1 - window)      // first key the block's first query sees
            let n = end - lo
            let s = scores[thread]
            s.ensure(count: mb * n)
            // s (mb, n) = q_h (mb, d) · k_g[lo ..< end]ᵀ (d, n) / √d
            Gemm.nt(m: mb, n: n, k: d, alpha: scale, a: q + q0 * e + h * d, lda: e, b: kc + lo * kvw + g * d, ldb: kvw,
                    c: s.pointer, ldc: n)
            // Causal (and windowed) softmax: query i sees keys max(0, p + 1 − window) … p, p = start + q0 + i.
            for i in 0..<mb {
                let row = s.pointer + i * n
                let p = start + q0 + i
                let first = max(0, p + 1 - window) - lo, visible = p + 1 - lo
                if first > 0 { row.update(repeating: 0, count: first) }
                TensorOps.softmax(row + first, count: visible - first)
                if visible < n { (row + visible).update(repeating: 0, count: n - visible) }
            }
            // out_h (mb, d) = s (mb, n) · v_g[lo ..< end] (n, d)
            Gemm.nn(m: mb, n: d, k: n, a: s.pointer, lda: n, b: vc + lo * kvw + g * d, ldb: kvw, c: out + q0 * e + h * d, ldc: e)
        }
    }
}
