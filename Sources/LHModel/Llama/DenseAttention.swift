// Ordinary causal attention with a full f32 KV cache (the reference the LongHeads engine is checked against).
// Sliding-window layers (Gemma 3) let a query see only the `slidingWindow` most recent keys, itself included.
import LHCore

/// Dense causal multi-head attention with grouped-query heads and a growable KV cache.
public final class DenseAttention: AttentionCache {
    public let config: LlamaConfig
    let ropes: [RoPE]                      // per layer
    public private(set) var count = 0
    private var capacity = 0
    private var keys: [FloatBuffer]        // per layer (capacity, G·d), RoPE applied at true positions
    private var values: [FloatBuffer]      // per layer (capacity, G·d)
    private var scores: [FloatBuffer]      // per thread (queryBlock, keys) attention weights
    /// Queries attend in blocks of this many rows, bounding the score matrix.
    static let queryBlock = 256

    /// An empty cache for `model`'s layers.
    public init(model: LlamaModel) {
        config = model.config
        ropes = (0..<config.layerCount).map { model.rope(layer: $0) }
        keys = (0..<config.layerCount).map { _ in FloatBuffer(count: 0) }
        values = (0..<config.layerCount).map { _ in FloatBuffer(count: 0) }
        scores = (0..<Parallel.threadCount).map { _ in FloatBuffer(count: 0) }
    }

    /// Forgets every cached token (keeps the memory).
    public func reset() { count = 0 }

    /// Drops cached tokens from position `n` on.
    public func truncate(to n: Int) { count = min(count, n) }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        let newCapacity = max(n, capacity * 2)
        let w = config.kvWidth, used = count
        func grow(_ b: FloatBuffer) -> FloatBuffer {
            let fresh = FloatBuffer(count: newCapacity * w)
            fresh.pointer.update(from: b.pointer, count: used * w)
            return fresh
        }
        keys = keys.map(grow)
        values = values.map(grow)
        capacity = newCapacity
    }

    public func attend(layer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                       v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = config, d = c.headDimension, kvw = c.kvWidth, e = c.queryWidth
        let rope = ropes[layer]
        let window = c.isSlidingWindow(layer: layer) ? c.slidingWindow : Int.max
        reserve(count + m)
        rope.reserve(positions: count + m)
        // Rotate the new queries and keys to their true positions and append k, v to the cache.
        for i in 0..<m {
            rope.rotate(q + i * e, heads: c.headCount, position: count + i)
            rope.rotate(k + i * kvw, heads: c.kvHeadCount, position: count + i)
        }
        let kc = keys[layer].pointer, vc = values[layer].pointer
        (kc + count * kvw).update(from: k, count: m * kvw)
        (vc + count * kvw).update(from: v, count: m * kvw)
        let scale = 1 / Float(d).squareRoot()
        let blocks = (m + Self.queryBlock - 1) / Self.queryBlock
        let start = count
        // One task per (head, query block); each thread owns one score buffer.
        Parallel.forEach(c.headCount * blocks) { task, thread in
            let h = task / blocks, b = task % blocks
            let g = h / c.groupSize
            let q0 = b * Self.queryBlock, mb = min(Self.queryBlock, m - q0)
            let end = start + q0 + mb                     // keys visible to the block's last query: ..< end
            let lo = max(0, start + q0 + 1 - window)      // first key the block's first query sees
            let n = end - lo
            let s = self.scores[thread]
            s.ensure(count: mb * n)
            // s (mb, n) = q_h (mb, d) · k_g[lo ..< end]ᵀ (d, n) / √d
            Gemm.nt(m: mb, n: n, k: d, alpha: scale, a: q + q0 * e + h * d, lda: e, b: kc + lo * kvw + g * d, ldb: kvw,
                    c: s.pointer, ldc: n)
            // Causal (and windowed) softmax: query i sees keys max(0, p + 1 - window) ... p, p = start + q0 + i.
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

    public func commit(m: Int) { count += m }
}
