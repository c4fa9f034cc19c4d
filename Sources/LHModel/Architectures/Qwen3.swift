// Qwen 3 (dense): LLaMA with per-head RMSNorm of queries and keys before RoPE, half-split RoPE, no biases,
// and a head dimension of its own (attention.key_length, 128, not E/H).

extension ModelArchitecture {
    /// Per-head Q/K norms, RoPE over (x[i], x[i + d/2]) pairs.
    static let qwen3Traits = Traits(ropePairing: .halves, queryKeyNorms: true)
}
