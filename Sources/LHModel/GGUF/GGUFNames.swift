// Every GGUF metadata key and tensor name lhindex reads, spelled once (as llama.cpp's llama-arch.cpp does).

/// GGUF metadata keys. Architecture-specific keys take the architecture name as prefix.
public enum GGUFKey {
    public static let architecture = "general.architecture"
    public static let name = "general.name"
    public static let alignment = "general.alignment"
    public static let fileType = "general.file_type"

    public static func contextLength(_ arch: String) -> String { "\(arch).context_length" }
    public static func embeddingLength(_ arch: String) -> String { "\(arch).embedding_length" }
    public static func blockCount(_ arch: String) -> String { "\(arch).block_count" }
    public static func feedForwardLength(_ arch: String) -> String { "\(arch).feed_forward_length" }
    public static func headCount(_ arch: String) -> String { "\(arch).attention.head_count" }
    public static func headCountKV(_ arch: String) -> String { "\(arch).attention.head_count_kv" }
    public static func keyLength(_ arch: String) -> String { "\(arch).attention.key_length" }
    public static func valueLength(_ arch: String) -> String { "\(arch).attention.value_length" }
    public static func slidingWindow(_ arch: String) -> String { "\(arch).attention.sliding_window" }
    public static func slidingWindowPattern(_ arch: String) -> String { "\(arch).attention.sliding_window_pattern" }
    public static func rmsEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_rms_epsilon" }
    public static func ropeFreqBase(_ arch: String) -> String { "\(arch).rope.freq_base" }
    public static func ropeDimensionCount(_ arch: String) -> String { "\(arch).rope.dimension_count" }
    public static func ropeScalingType(_ arch: String) -> String { "\(arch).rope.scaling.type" }
    public static func ropeScalingFactor(_ arch: String) -> String { "\(arch).rope.scaling.factor" }
    public static func ropeScaleLinear(_ arch: String) -> String { "\(arch).rope.scale_linear" }
    public static func ropeFreqBaseSlidingWindow(_ arch: String) -> String { "\(arch).rope.freq_base_swa" }
    public static func vocabSize(_ arch: String) -> String { "\(arch).vocab_size" }

    public static let tokenizerModel = "tokenizer.ggml.model"
    public static let tokenizerPre = "tokenizer.ggml.pre"
    public static let tokenizerTokens = "tokenizer.ggml.tokens"
    public static let tokenizerTokenTypes = "tokenizer.ggml.token_type"
    public static let tokenizerMerges = "tokenizer.ggml.merges"
    public static let tokenizerBOS = "tokenizer.ggml.bos_token_id"
    public static let tokenizerEOS = "tokenizer.ggml.eos_token_id"
    public static let tokenizerEOT = "tokenizer.ggml.eot_token_id"
    public static let tokenizerPadding = "tokenizer.ggml.padding_token_id"
    public static let tokenizerAddBOS = "tokenizer.ggml.add_bos_token"
    public static let chatTemplate = "tokenizer.chat_template"
}

/// GGUF tensor names of the LLaMA family (the architectures' extra tensors included).
public enum GGUFTensorName {
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"

    public static func attnNorm(_ layer: Int) -> String { "blk.\(layer).attn_norm.weight" }
    public static func attnQ(_ layer: Int) -> String { "blk.\(layer).attn_q.weight" }
    public static func attnK(_ layer: Int) -> String { "blk.\(layer).attn_k.weight" }
    public static func attnV(_ layer: Int) -> String { "blk.\(layer).attn_v.weight" }
    public static func attnOutput(_ layer: Int) -> String { "blk.\(layer).attn_output.weight" }
    public static func ffnNorm(_ layer: Int) -> String { "blk.\(layer).ffn_norm.weight" }
    public static func ffnGate(_ layer: Int) -> String { "blk.\(layer).ffn_gate.weight" }
    public static func ffnUp(_ layer: Int) -> String { "blk.\(layer).ffn_up.weight" }
    public static func ffnDown(_ layer: Int) -> String { "blk.\(layer).ffn_down.weight" }
    public static func attnBias(_ layer: Int, _ projection: String) -> String { "blk.\(layer).attn_\(projection).bias" }
    public static func attnQNorm(_ layer: Int) -> String { "blk.\(layer).attn_q_norm.weight" }
    public static func attnKNorm(_ layer: Int) -> String { "blk.\(layer).attn_k_norm.weight" }
    public static func postAttentionNorm(_ layer: Int) -> String { "blk.\(layer).post_attention_norm.weight" }
    public static func postFFNNorm(_ layer: Int) -> String { "blk.\(layer).post_ffw_norm.weight" }
    /// Llama 3's per-frequency RoPE divisors, (d/2) floats.
    public static let ropeFrequencies = "rope_freqs.weight"
}
