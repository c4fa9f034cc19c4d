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
        let c = config, kvw = c.kvWidth, e = c.queryWidth
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
        CausalAttention.attend(config: c, m: m, start: count, window: window, q: q, keys: kc, values: vc, out: out,
                               scores: scores)
    }

    public func commit(m: Int) { count += m }
}
