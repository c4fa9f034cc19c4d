// The transformer forward pass over a batch of tokens, in the order the data flows (after llama2.c's forward()).
import LHCore

/// Runs tokens through the model. Holds scratch memory sized for one batch; not thread-safe.
public final class ForwardPass {
    /// The model being run.
    public let model: LlamaModel
    /// Tokens are processed in batches of at most this many (bounds scratch memory).
    public var batchSize: Int
    private let linear = LinearScratch()
    private let x = FloatBuffer(count: 0)        // (m, E) residual stream
    private let h = FloatBuffer(count: 0)        // (m, E) normalized input of a sublayer
    private let q = FloatBuffer(count: 0)        // (m, H·d) queries
    private let k = FloatBuffer(count: 0)        // (m, G·d) keys
    private let v = FloatBuffer(count: 0)        // (m, G·d) values
    private let att = FloatBuffer(count: 0)      // (m, H·d) attention output
    private let gate = FloatBuffer(count: 0)     // (m, F) SwiGLU gate, then the product
    private let up = FloatBuffer(count: 0)       // (m, F)
    private let y = FloatBuffer(count: 0)        // (m, E) sublayer output before the residual add

    /// Scratch for `model`; `batchSize` tokens per internal batch.
    public init(model: LlamaModel, batchSize: Int = 512) {
        self.model = model
        self.batchSize = batchSize
    }

    /// Feeds `tokens` (appended after what `cache` holds) and returns the logits of the tokens
    /// at the given indices of `tokens`, `(rows.count, vocab)` row-major, in the order given.
    public func run(_ tokens: [Int32], cache: AttentionCache, logitRows rows: [Int]) -> [Float] {
        let vocab = model.config.vocabularySize
        var logits = [Float](repeating: 0, count: rows.count * vocab)
        var start = 0
        while start < tokens.count {
            let m = min(batchSize, tokens.count - start)
            let wanted = rows.enumerated().filter { $0.element >= start && $0.element < start + m }
            forwardBatch(tokens[start..<(start + m)], cache: cache)
            if !wanted.isEmpty {
                let batchLogits = project(rowsOfBatch: wanted.map { $0.element - start })
                for (j, (slot, _)) in wanted.enumerated() {
                    logits[(slot * vocab)..<((slot + 1) * vocab)] = batchLogits[(j * vocab)..<((j + 1) * vocab)]
                }
            }
            start += m
        }
        return logits
    }

    /// Logits of the last token of `tokens` (vocab values).
    public func runLast(_ tokens: [Int32], cache: AttentionCache) -> [Float] {
        run(tokens, cache: cache, logitRows: [tokens.count - 1])
    }

    /// One batch through every layer; leaves the final residual stream in `x`.
    private func forwardBatch(_ tokens: ArraySlice<Int32>, cache: AttentionCache) {
        let c = model.config, w = model.weights
        let m = tokens.count, e = c.embeddingLength, f = c.feedForwardLength, kvw = c.kvWidth
        for b in [x, h, q, att, y] { b.ensure(count: m * e) }
        for b in [k, v] { b.ensure(count: m * kvw) }
        for b in [gate, up] { b.ensure(count: m * f) }

        // Token embeddings: x (m, E).
        for (i, t) in tokens.enumerated() {
            precondition(t >= 0 && Int(t) < c.vocabularySize, "token id \(t) outside the vocabulary")
            Dequantize.rows(w.tokenEmbedding, Int(t)..<Int(t) + 1, into: x.pointer + i * e)
        }
        for (l, layer) in w.layers.enumerated() {
            // Attention sublayer: h = norm(x); q, k, v = h·Wqᵀ, h·Wkᵀ, h·Wvᵀ; x += attend(q, k, v)·Woᵀ
            TensorOps.rmsNorm(x.pointer, weight: layer.attnNorm, eps: c.rmsEpsilon, rows: m, n: e, out: h.pointer)
            linear.apply(layer.wq, x: h.pointer, m: m, y: q.pointer)
            linear.apply(layer.wk, x: h.pointer, m: m, y: k.pointer)
            linear.apply(layer.wv, x: h.pointer, m: m, y: v.pointer)
            cache.attend(layer: l, m: m, q: q.pointer, k: k.pointer, v: v.pointer, out: att.pointer)
            linear.apply(layer.wo, x: att.pointer, m: m, y: y.pointer)
            TensorOps.add(x.pointer, y.pointer, count: m * e)
            // Feed-forward sublayer: h = norm(x); x += (silu(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ
            TensorOps.rmsNorm(x.pointer, weight: layer.ffnNorm, eps: c.rmsEpsilon, rows: m, n: e, out: h.pointer)
            linear.apply(layer.gate, x: h.pointer, m: m, y: gate.pointer)
            linear.apply(layer.up, x: h.pointer, m: m, y: up.pointer)
            TensorOps.swiGLU(gate: gate.pointer, up: up.pointer, count: m * f)
            linear.apply(layer.down, x: gate.pointer, m: m, y: y.pointer)
            TensorOps.add(x.pointer, y.pointer, count: m * e)
        }
        cache.commit(m: m)
    }

    /// Final norm and output projection of the given rows of the last batch: (rows, vocab).
    private func project(rowsOfBatch rows: [Int]) -> [Float] {
        let c = model.config, e = c.embeddingLength, vocab = c.vocabularySize
        // Gather the wanted rows of x into h, normalize them in place.
        for (j, r) in rows.enumerated() { (h.pointer + j * e).update(from: x.pointer + r * e, count: e) }
        TensorOps.rmsNorm(h.pointer, weight: model.weights.outputNorm, eps: c.rmsEpsilon, rows: rows.count, n: e, out: h.pointer)
        return [Float](unsafeUninitializedCapacity: rows.count * vocab) { buf, n in
            linear.apply(model.weights.output, x: h.pointer, m: rows.count, y: buf.baseAddress!)
            n = rows.count * vocab
        }
    }
}
