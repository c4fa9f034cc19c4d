// The sliding-window layers of a model whose layers differ (Gemma 3): under LongHeads they keep attending their
// own window of recent tokens exactly as trained; only the layers that attend everything select chunks.
import LHCore
import LHModel

/// The recent keys and values of every sliding-window layer, and their attention.
///
/// A sliding-window layer's query at position p sees positions max(0, p + 1 − W) … p, so after n tokens a
/// layer needs only the last min(n, W − 1) tokens' keys and values. They are kept before RoPE and rotated at
/// positions relative to the oldest kept token when attended: RoPE scores depend only on distances, so the
/// result is dense attention's (up to rounding), and the tables stay within W + one batch positions
/// however long the document.
final class SlidingWindowLayers {
    /// The model layers served here, in order.
    let layers: [Int]
    /// The window W (tokens a query sees, itself included).
    let window: Int
    private let config: LlamaConfig
    private let rope: RoPE
    private var slot: [Int: Int] = [:]                 // model layer → index in `layers`
    private var kept: [Int]                            // per slot: rows held (the last kept[i] positions)
    private let keys: [FloatBuffer]                    // per slot (rows, G·d) keys before RoPE
    private let values: [FloatBuffer]                  // per slot (rows, G·d)
    private let rotated = FloatBuffer(count: 0)        // (rows, G·d) the keys of one attend, rotated
    private let scores: [FloatBuffer]                  // per pool thread

    /// The sliding-window layers of `model` (none when it has none).
    init(model: LlamaModel) {
        let c = model.config
        config = c
        layers = (0..<c.layerCount).filter { c.isSlidingWindow(layer: $0) }
        window = c.slidingWindow
        rope = model.slidingRope
        for (i, l) in layers.enumerated() { slot[l] = i }
        kept = Array(repeating: 0, count: layers.count)
        keys = layers.map { _ in FloatBuffer(count: 0) }
        values = layers.map { _ in FloatBuffer(count: 0) }
        scores = (0..<max(Parallel.threadCount, 1)).map { _ in FloatBuffer(count: 0) }
    }

    /// Whether model layer `l` is a sliding-window layer.
    func serves(layer l: Int) -> Bool { slot[l] != nil }


    /// Per layer, the kept keys (rows, G·d) then values (rows, G·d), before RoPE.
    var state: [[Float]] {
        layers.indices.map { i in
            let n = kept[i] * config.kvWidth
            return Array(UnsafeBufferPointer(start: keys[i].pointer, count: n))
                + Array(UnsafeBufferPointer(start: values[i].pointer, count: n))
        }
    }

    /// Restores what `state` returned after `tokens` tokens. It may hold fewer rows than a single document
    /// of `tokens` tokens would (a corpus: the windows of its last, shorter document), the same for every layer.
    /// - Throws: `LHError.invalidInput` when `state` does not hold whole rows, alike for every layer.
    func restore(_ state: [[Float]], tokens: Int) throws {
        let most = OpenChunkState.slidingWindowFloats(config: config, tokens: tokens), n = state.first?.count ?? -1
        guard state.count == layers.count, n % (2 * config.kvWidth) == 0, n <= most, state.allSatisfy({ $0.count == n }),
              n > 0 || tokens == 0 else {
            throw LHError.invalidInput("resuming at token \(tokens) needs the last \(min(tokens, window - 1)) tokens of "
                                       + "each of the \(layers.count) sliding-window layers")
        }
        let rows = n / (2 * config.kvWidth)
        for (i, s) in state.enumerated() {
            keys[i].ensure(count: n / 2)
            values[i].ensure(count: n / 2)
            s.withUnsafeBufferPointer {
                keys[i].pointer.update(from: $0.baseAddress!, count: n / 2)
                values[i].pointer.update(from: $0.baseAddress! + n / 2, count: n / 2)
            }
            kept[i] = rows
        }
    }

    /// Attention of sliding-window layer `layer` for m new tokens (q (m, H·d), k and v (m, G·d), before RoPE)
    /// into `out` (m, H·d); then keeps the last W − 1 tokens.
    func attend(layer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                out: UnsafeMutablePointer<Float>) {
        let i = slot[layer]!, c = config, kvw = c.kvWidth, e = c.queryWidth
        let old = kept[i], rows = old + m
        // Append the new rows (buffers keep their contents only through `grow`).
        grow(keys[i], rows: old, to: rows)
        grow(values[i], rows: old, to: rows)
        (keys[i].pointer + old * kvw).update(from: k, count: m * kvw)
        (values[i].pointer + old * kvw).update(from: v, count: m * kvw)
        // Positions relative to the oldest kept token: keys at 0 ..< rows, the new queries at old ..< rows.
        rope.reserve(positions: rows)
        rotated.ensure(count: rows * kvw)
        rotated.pointer.update(from: keys[i].pointer, count: rows * kvw)
        for j in 0..<rows { rope.rotate(rotated.pointer + j * kvw, heads: c.kvHeadCount, position: j) }
        for j in 0..<m { rope.rotate(q + j * e, heads: c.headCount, position: old + j) }
        CausalAttention.attend(config: c, m: m, start: old, window: window, q: q, keys: rotated.pointer,
                               values: values[i].pointer, out: out, scores: scores)
        // Keep the last W − 1 rows.
        let keep = min(rows, window - 1), drop = rows - keep
        if drop > 0 {
            keys[i].pointer.update(from: keys[i].pointer + drop * kvw, count: keep * kvw)
            values[i].pointer.update(from: values[i].pointer + drop * kvw, count: keep * kvw)
        }
        kept[i] = keep
    }

    /// Grows `b` to hold `rows` rows, keeping its first `used` rows.
    private func grow(_ b: FloatBuffer, rows used: Int, to rows: Int) {
        let kvw = config.kvWidth
        guard rows * kvw > b.count else { return }
        let saved = Array(UnsafeBufferPointer(start: b.pointer, count: used * kvw))
        b.ensure(count: rows * kvw)
        saved.withUnsafeBufferPointer { b.pointer.update(from: $0.baseAddress!, count: used * kvw) }
    }
}
