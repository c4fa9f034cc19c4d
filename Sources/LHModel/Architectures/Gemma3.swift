// Gemma 3: embeddings scaled by √E; per-head Q/K RMSNorm; RMSNorm after attention and after the FFN as well as
// before; GeGLU; half-split RoPE; five layers in six attend a sliding window (attention.sliding_window tokens)
// with their own RoPE base (rope.freq_base_swa, 10,000 when absent), one in six attends everything with
// rope.freq_base. The converter stores the norms' weights with Gemma's +1 already added.

extension ModelArchitecture {
    /// Gemma 3's differences from LLaMA (see the file comment).
    static let gemma3Traits = Traits(ropePairing: .halves, queryKeyNorms: true, postNorms: true,
                                     scaledEmbedding: true, activation: .gelu, slidingWindowPattern: 6)
}
