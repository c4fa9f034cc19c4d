// The transformer forward pass over a batch of tokens, in the order the data flows (after llama2.c's forward()).
// One loop for every architecture; what an architecture adds (ModelArchitecture.Traits) is a line each.
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
    private let gate = FloatBuffer(count: 0)     // (m, F) gate, then the gated product
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
                let batchRows = wanted.map { $0.element - start }
                if wanted.last!.offset - wanted[0].offset == wanted.count - 1 {
                    // Consecutive slots (the usual case): project straight into the result, no copy of
                    // (rows, vocab) floats (256 MB for 256 rows of Gemma 3's 262,144-token vocabulary).
                    logits.withUnsafeMutableBufferPointer { project(rowsOfBatch: batchRows, into: $0.baseAddress! + wanted[0].offset * vocab) }
                } else {
                    let batchLogits = [Float](unsafeUninitializedCapacity: wanted.count * vocab) { buf, n in
                        project(rowsOfBatch: batchRows, into: buf.baseAddress!)
                        n = wanted.count * vocab
                    }
                    for (j, (slot, _)) in wanted.enumerated() {
                        logits[(slot * vocab)..<((slot + 1) * vocab)] = batchLogits[(j * vocab)..<((j + 1) * vocab)]
                    }
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
        let m = tokens.count, e = c.embeddingLength, f = c.feedForwardLength, kvw = c.kvWidth, hd = c.queryWidth
        let d = c.headDimension, traits = c.traits
        for b in [x, h, y] { b.ensure(count: m * e) }
        for b in [q, att] { b.ensure(count: m * hd) }
        for b in [k, v] { b.ensure(count: m * kvw) }
        for b in [gate, up] { b.ensure(count: m * f) }

        // Token embeddings: x (m, E), times √E for Gemma.
        for (i, t) in tokens.enumerated() {
            precondition(t >= 0 && Int(t) < c.vocabularySize, "token id \(t) outside the vocabulary")
            Dequantize.rows(w.tokenEmbedding, Int(t)..<Int(t) + 1, into: x.pointer + i * e)
        }
        if traits.scaledEmbedding { TensorOps.scale(x.pointer, by: Float(e).squareRoot(), count: m * e) }
        for (l, layer) in w.layers.enumerated() {
            // Attention sublayer: h = norm(x); q, k, v = h·Wqᵀ (+ b), h·Wkᵀ (+ b), h·Wvᵀ (+ b);
            // q, k per-head normed (qwen3, gemma3); x += [post-norm] (attend(q, k, v)·Woᵀ)
            TensorOps.rmsNorm(x.pointer, weight: layer.attnNorm, eps: c.rmsEpsilon, rows: m, n: e, out: h.pointer)
            linear.apply([(layer.wq, q.pointer), (layer.wk, k.pointer), (layer.wv, v.pointer)], x: h.pointer, m: m)
            if let b = layer.qBias { TensorOps.addToRows(q.pointer, b, rows: m) }
            if let b = layer.kBias { TensorOps.addToRows(k.pointer, b, rows: m) }
            if let b = layer.vBias { TensorOps.addToRows(v.pointer, b, rows: m) }
            if let n = layer.qNorm { TensorOps.rmsNorm(q.pointer, weight: n, eps: c.rmsEpsilon, rows: m * c.headCount, n: d, out: q.pointer) }
            if let n = layer.kNorm { TensorOps.rmsNorm(k.pointer, weight: n, eps: c.rmsEpsilon, rows: m * c.kvHeadCount, n: d, out: k.pointer) }
            if c.queryScale != 1 { TensorOps.scale(q.pointer, by: c.queryScale, count: m * hd) }
            if traits.ropePairing == .halves {        // (x[i], x[i + d/2]) pairs become (x[2i], x[2i+1])
                TensorOps.interleaveHalves(q.pointer, vectors: m * c.headCount, d: d)
                TensorOps.interleaveHalves(k.pointer, vectors: m * c.kvHeadCount, d: d)
            }
            cache.attend(layer: l, m: m, q: q.pointer, k: k.pointer, v: v.pointer, out: att.pointer)
            linear.apply(layer.wo, x: att.pointer, m: m, y: y.pointer)
            if let n = layer.postAttentionNorm { TensorOps.rmsNorm(y.pointer, weight: n, eps: c.rmsEpsilon, rows: m, n: e, out: y.pointer) }
            TensorOps.add(x.pointer, y.pointer, count: m * e)
            // Feed-forward sublayer: h = norm(x); x += [post-norm] ((act(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ), act = SiLU or GELU
            TensorOps.rmsNorm(x.pointer, weight: layer.ffnNorm, eps: c.rmsEpsilon, rows: m, n: e, out: h.pointer)
            linear.apply([(layer.gate, gate.pointer), (layer.up, up.pointer)], x: h.pointer, m: m)
            switch traits.activation {
            case .silu: TensorOps.swiGLU(gate: gate.pointer, up: up.pointer, count: m * f)
            case .gelu: TensorOps.geGLU(gate: gate.pointer, up: up.pointer, count: m * f)
            }
            linear.apply(layer.down, x: gate.pointer, m: m, y: y.pointer)
            if let n = layer.postFFNNorm { TensorOps.rmsNorm(y.pointer, weight: n, eps: c.rmsEpsilon, rows: m, n: e, out: y.pointer) }
            TensorOps.add(x.pointer, y.pointer, count: m * e)
        }
        cache.commit(m: m)
    }

    /// Final norm and output projection of the given rows of the last batch into `out` (rows, vocab).
    private func project(rowsOfBatch rows: [Int], into out: UnsafeMutablePointer<Float>) {
        let c = model.config, e = c.embeddingLength
        // Gather the wanted rows of x into h, normalize them in place.
        for (j, r) in rows.enumerated() { (h.pointer + j * e).update(from: x.pointer + r * e, count: e) }
        TensorOps.rmsNorm(h.pointer, weight: model.weights.outputNorm, eps: c.rmsEpsilon, rows: rows.count, n: e, out: h.pointer)
        linear.apply(model.weights.output, x: h.pointer, m: rows.count, y: out)
    }
}
