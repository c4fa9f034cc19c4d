// Tiny random models of the architectures besides plain LLaMA, written by the tests as GGUF files that llama.cpp
// also loads: its logits on the very same bytes are the committed goldens (scripts/tiny-model-goldens.py).
import Foundation
import LHModel

/// One tiny model per architectural difference: the file is a pure function of the variant (fixed seed).
public enum TinyArchitecture: String, CaseIterable, Sendable {
    /// Q/K/V biases, half-split RoPE.
    case qwen2
    /// Per-head Q/K norms, head dimension 32 ≠ E/H, half-split RoPE.
    case qwen3
    /// Scaled embedding, Q/K norms, post-norms, GeGLU, half-split RoPE, sliding-window layers (window 4,
    /// pattern 3: layers 0 and 1 slide, layer 2 is global) with their own RoPE base, head dimension 32.
    case gemma3
    /// LLaMA with Llama 3's per-frequency RoPE factors (`rope_freqs.weight`).
    case llamaRopeFactors = "llama-rope-freqs"
    /// LLaMA with linear RoPE scaling, factor 4.
    case llamaLinearRope = "llama-linear-rope"

    /// The GGUF `general.architecture`.
    public var architecture: String {
        switch self {
        case .qwen2: return "qwen2"
        case .qwen3: return "qwen3"
        case .gemma3: return "gemma3"
        case .llamaRopeFactors, .llamaLinearRope: return "llama"
        }
    }

    /// The tokens the goldens were computed on (byte-level vocabulary: ids 0..<256 are bytes).
    public static let tokens: [Int32] = [40, 17, 200, 3, 99, 99, 128, 250, 7, 64, 33, 180, 5, 90]

    /// Writes the model into `directory` as `tiny-<variant>.gguf` and returns its path.
    public func write(to directory: String = TestTemporary.directory) throws -> String {
        let arch = architecture
        let layers = self == .gemma3 ? 3 : 2
        let e = 64, heads = 4, f = 96, vocab = 258
        let kvHeads = self == .gemma3 ? 1 : 2
        let d = (self == .qwen3 || self == .gemma3) ? 32 : e / heads
        let hd = heads * d, kvw = kvHeads * d
        var rng = SplitMix64(seed: 0x5eed + UInt64(Self.allCases.firstIndex(of: self)!))
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in (Float(Double(rng.next() >> 11) / Double(1 << 53)) * 2 - 1) * scale }
        }
        var w = GGUFWriter()
        w.set("general.architecture", .string(arch))
        w.set("general.name", .string("tiny-\(rawValue)"))
        w.set("\(arch).block_count", .u32(UInt32(layers)))
        w.set("\(arch).context_length", .u32(256))
        w.set("\(arch).embedding_length", .u32(UInt32(e)))
        w.set("\(arch).feed_forward_length", .u32(UInt32(f)))
        w.set("\(arch).attention.head_count", .u32(UInt32(heads)))
        w.set("\(arch).attention.head_count_kv", .u32(UInt32(kvHeads)))
        w.set("\(arch).rope.freq_base", .f32(self == .gemma3 ? 1_000_000 : 10000))
        w.set("\(arch).attention.layer_norm_rms_epsilon", .f32(self == .gemma3 ? 1e-6 : 1e-5))
        if d != e / heads {
            w.set("\(arch).attention.key_length", .u32(UInt32(d)))
            w.set("\(arch).attention.value_length", .u32(UInt32(d)))
        }
        if self == .gemma3 {
            w.set("\(arch).attention.sliding_window", .u32(4))
            w.set("\(arch).attention.sliding_window_pattern", .u32(3))
            w.set("\(arch).rope.freq_base_swa", .f32(10000))
        }
        if self == .llamaLinearRope {
            w.set("\(arch).rope.scaling.type", .string("linear"))
            w.set("\(arch).rope.scaling.factor", .f32(4))
        }
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .strings(TinyModel.byteToUnicode().map { String($0) } + ["<|im_start|>", "<|im_end|>"]))
        w.set("tokenizer.ggml.token_type", .i32s([Int32](repeating: 1, count: 256) + [3, 3]))
        w.set("tokenizer.ggml.merges", .strings([]))
        w.set("tokenizer.ggml.eos_token_id", .u32(257))

        func matrix(_ name: String, rows: Int, cols: Int, type: UInt32, scale: Float) {
            w.add(name, dims: [cols, rows], type: type, data: TestQuant.encode(random(rows * cols, scale: scale), type: type))
        }
        func vector(_ name: String, _ values: [Float]) {
            w.add(name, dims: [values.count], type: 0, data: TestQuant.encode(values, type: 0))
        }
        func norm(_ n: Int) -> [Float] { random(n, scale: 0.2).map { 1 + $0 } }
        // f32 and f16 weights only: llama.cpp's 8-bit activations on quantized types would blur the comparison
        // (about 1% of the largest logit), and the quantized kernels have goldens of their own.
        matrix("token_embd.weight", rows: vocab, cols: e, type: 0, scale: self == .gemma3 ? 0.15 : 1)
        if self == .llamaRopeFactors {   // divisors 1 ... 8, as Llama 3's grow from high to low frequencies
            vector("rope_freqs.weight", (0..<(d / 2)).map { 1 + 7 * Float($0) / Float(d / 2 - 1) })
        }
        let types: [UInt32] = [1, 0, 1]      // f16, f32, f16 by layer
        for l in 0..<layers {
            let t = types[l % types.count]
            vector("blk.\(l).attn_norm.weight", norm(e))
            matrix("blk.\(l).attn_q.weight", rows: hd, cols: e, type: t, scale: 0.25)
            matrix("blk.\(l).attn_k.weight", rows: kvw, cols: e, type: t, scale: 0.25)
            matrix("blk.\(l).attn_v.weight", rows: kvw, cols: e, type: t, scale: 0.25)
            if self == .qwen2 {
                vector("blk.\(l).attn_q.bias", random(hd, scale: 0.3))
                vector("blk.\(l).attn_k.bias", random(kvw, scale: 0.3))
                vector("blk.\(l).attn_v.bias", random(kvw, scale: 0.3))
            }
            if self == .qwen3 || self == .gemma3 {
                vector("blk.\(l).attn_q_norm.weight", norm(d))
                vector("blk.\(l).attn_k_norm.weight", norm(d))
            }
            matrix("blk.\(l).attn_output.weight", rows: e, cols: hd, type: t, scale: 0.15)
            if self == .gemma3 { vector("blk.\(l).post_attention_norm.weight", norm(e)) }
            vector("blk.\(l).ffn_norm.weight", norm(e))
            matrix("blk.\(l).ffn_gate.weight", rows: f, cols: e, type: t, scale: 0.2)
            matrix("blk.\(l).ffn_up.weight", rows: f, cols: e, type: t, scale: 0.2)
            matrix("blk.\(l).ffn_down.weight", rows: e, cols: f, type: t, scale: 0.15)
            if self == .gemma3 { vector("blk.\(l).post_ffw_norm.weight", norm(e)) }
        }
        vector("output_norm.weight", norm(e))
        let url = URL(fileURLWithPath: directory + "/tiny-\(rawValue).gguf")
        try w.write(to: url)
        return url.path
    }
}
