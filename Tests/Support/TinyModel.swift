// A tiny random LLaMA model written as a GGUF by the tests, plus a plain reference forward pass for it.
import Foundation
import LHModel

/// Builds a tiny model file with a byte-level vocabulary and a mix of weight types.
public enum TinyModel {
    public static let config = LlamaConfig(layerCount: 2, embeddingLength: 64, headCount: 4, kvHeadCount: 2,
                                    feedForwardLength: 96, vocabularySize: 258, contextLength: 512,
                                    ropeBase: 10000, rmsEpsilon: 1e-5)

    /// GPT-2's byte → printable character mapping (the vocabulary's spelling of raw bytes).
    public static func byteToUnicode() -> [Character] {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b); cs.append(256 + n); n += 1
        }
        var map = [Character](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { map[b] = Character(Unicode.Scalar(c)!) }
        return map
    }

    /// Weight types per layer: layer 0 quantized like the real model, layer 1 the other supported types.
    public static let layerTypes: [[String: UInt32]] = [
        ["attn_q": 3, "attn_k": 3, "attn_v": 3, "attn_output": 3, "ffn_gate": 3, "ffn_up": 3, "ffn_down": 3],
        ["attn_q": 1, "attn_k": 30, "attn_v": 0, "attn_output": 2, "ffn_gate": 8, "ffn_up": 1, "ffn_down": 30],
    ]

    /// Writes the tiny model to a temporary file and returns its path. `overrides` replace (or add) metadata
    /// values, for deliberately broken files.
    public static func write(seed: UInt64 = 7, architecture: String = "llama", embeddingType: UInt32 = 8,
                      file name: String = "tiny-\(UUID().uuidString).gguf",
                      overrides: [String: GGUFWriter.Value] = [:]) throws -> String {
        let c = config
        var rng = SplitMix64(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in (Float(Double(rng.next() >> 11) / Double(1 << 53)) * 2 - 1) * scale }
        }
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture))
        w.set("general.name", .string("tiny-test"))
        let a = architecture
        w.set("\(a).block_count", .u32(UInt32(c.layerCount)))
        w.set("\(a).context_length", .u32(UInt32(c.contextLength)))
        w.set("\(a).embedding_length", .u32(UInt32(c.embeddingLength)))
        w.set("\(a).feed_forward_length", .u32(UInt32(c.feedForwardLength)))
        w.set("\(a).attention.head_count", .u32(UInt32(c.headCount)))
        w.set("\(a).attention.head_count_kv", .u32(UInt32(c.kvHeadCount)))
        w.set("\(a).rope.freq_base", .f32(c.ropeBase))
        w.set("\(a).attention.layer_norm_rms_epsilon", .f32(c.rmsEpsilon))
        let bytes = byteToUnicode().map { String($0) }
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .strings(bytes + ["<|im_start|>", "<|im_end|>"]))
        w.set("tokenizer.ggml.token_type", .i32s([Int32](repeating: 1, count: 256) + [3, 3]))
        w.set("tokenizer.ggml.merges", .strings([]))
        w.set("tokenizer.ggml.eos_token_id", .u32(257))
        w.set("tokenizer.chat_template", .string("{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"))

        let e = c.embeddingLength, f = c.feedForwardLength, kv = c.kvWidth
        func add(_ name: String, rows: Int, cols: Int, type: UInt32, scale: Float) {
            w.add(name, dims: rows == 1 ? [cols] : [cols, rows], type: type,
                  data: TestQuant.encode(random(rows * cols, scale: scale), type: type))
        }
        add("token_embd.weight", rows: c.vocabularySize, cols: e, type: embeddingType, scale: 1)
        for l in 0..<c.layerCount {
            let t = layerTypes[l]
            w.add("blk.\(l).attn_norm.weight", dims: [e], type: 0,
                  data: TestQuant.encode(random(e, scale: 0.2).map { 1 + $0 }, type: 0))
            add("blk.\(l).attn_q.weight", rows: e, cols: e, type: t["attn_q"]!, scale: 0.25)
            add("blk.\(l).attn_k.weight", rows: kv, cols: e, type: t["attn_k"]!, scale: 0.25)
            add("blk.\(l).attn_v.weight", rows: kv, cols: e, type: t["attn_v"]!, scale: 0.25)
            add("blk.\(l).attn_output.weight", rows: e, cols: e, type: t["attn_output"]!, scale: 0.15)
            w.add("blk.\(l).ffn_norm.weight", dims: [e], type: 0,
                  data: TestQuant.encode(random(e, scale: 0.2).map { 1 + $0 }, type: 0))
            add("blk.\(l).ffn_gate.weight", rows: f, cols: e, type: t["ffn_gate"]!, scale: 0.2)
            add("blk.\(l).ffn_up.weight", rows: f, cols: e, type: t["ffn_up"]!, scale: 0.2)
            add("blk.\(l).ffn_down.weight", rows: e, cols: f, type: t["ffn_down"]!, scale: 0.15)
        }
        w.add("output_norm.weight", dims: [e], type: 0, data: TestQuant.encode([Float](repeating: 1, count: e), type: 0))
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if let i = w.metadata.firstIndex(where: { $0.0 == key }) { w.metadata[i].1 = value } else { w.set(key, value) }
        }
        let url = URL(fileURLWithPath: TestTemporary.directory + "/" + name)
        try w.write(to: url)
        return url.path
    }
}

/// The forward pass written as directly as possible from the LLaMA definition, in Double,
/// for checking the engine. Quadratic, unbatched, no cache tricks.
public struct ReferenceLlama: Sendable {
    public let config: LlamaConfig
    public let layers: [[String: [[Double]]]]
    public let norms: [[String: [Double]]]
    public let embedding: [[Double]]
    public let outputNorm: [Double]

    public init(model: LlamaModel) {
        config = model.config
        func mat(_ w: WeightMatrix) -> [[Double]] { (0..<w.rows).map { Dequantize.row(w, $0).map(Double.init) } }
        let w = model.weights
        embedding = mat(w.tokenEmbedding)
        outputNorm = w.outputNorm.map(Double.init)
        layers = w.layers.map { l in
            ["q": mat(l.wq), "k": mat(l.wk), "v": mat(l.wv), "o": mat(l.wo), "gate": mat(l.gate), "up": mat(l.up), "down": mat(l.down)]
        }
        norms = w.layers.map { ["attn": $0.attnNorm.map(Double.init), "ffn": $0.ffnNorm.map(Double.init)] }
    }

    public static func matvec(_ m: [[Double]], _ x: [Double]) -> [Double] {
        m.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    public func rmsNorm(_ x: [Double], _ w: [Double]) -> [Double] {
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let s = 1 / (ms + Double(config.rmsEpsilon)).squareRoot()
        return zip(x, w).map { $0 * s * $1 }
    }

    /// Rotates adjacent pairs of each head of `x` by position `p`.
    public func rope(_ x: [Double], position p: Int) -> [Double] {
        let d = config.headDimension
        var y = x
        for h in 0..<(x.count / d) {
            for i in 0..<(d / 2) {
                let theta = Double(p) * pow(Double(config.ropeBase), -2 * Double(i) / Double(d))
                let a = x[h * d + 2 * i], b = x[h * d + 2 * i + 1]
                y[h * d + 2 * i] = a * cos(theta) - b * sin(theta)
                y[h * d + 2 * i + 1] = a * sin(theta) + b * cos(theta)
            }
        }
        return y
    }

    /// Logits (vocab) for every position of `tokens`.
    public func logits(_ tokens: [Int32]) -> [[Double]] {
        let c = config, d = c.headDimension
        var xs = tokens.map { embedding[Int($0)] }
        for (l, w) in layers.enumerated() {
            var ks: [[Double]] = [], vs: [[Double]] = []
            var next: [[Double]] = []
            for (p, x) in xs.enumerated() {
                let h = rmsNorm(x, norms[l]["attn"]!)
                let q = rope(Self.matvec(w["q"]!, h), position: p)
                ks.append(rope(Self.matvec(w["k"]!, h), position: p))
                vs.append(Self.matvec(w["v"]!, h))
                var att = [Double](repeating: 0, count: c.embeddingLength)
                for head in 0..<c.headCount {
                    let g = head / c.groupSize
                    let qh = Array(q[(head * d)..<((head + 1) * d)])
                    let scores = ks.map { k in zip(qh, k[(g * d)..<((g + 1) * d)]).reduce(0) { $0 + $1.0 * $1.1 } / Double(d).squareRoot() }
                    let mx = scores.max()!
                    let e = scores.map { exp($0 - mx) }
                    let z = e.reduce(0, +)
                    for (j, v) in vs.enumerated() {
                        for i in 0..<d { att[head * d + i] += e[j] / z * v[g * d + i] }
                    }
                }
                var x1 = zip(x, Self.matvec(w["o"]!, att)).map { $0 + $1 }
                let h2 = rmsNorm(x1, norms[l]["ffn"]!)
                let gate = Self.matvec(w["gate"]!, h2), up = Self.matvec(w["up"]!, h2)
                let act = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                x1 = zip(x1, Self.matvec(w["down"]!, act)).map { $0 + $1 }
                next.append(x1)
            }
            xs = next
        }
        return xs.map { Self.matvec(embedding, rmsNorm($0, outputNorm)) }
    }
}
