// Qwen 2 / 2.5: LLaMA with biases on the Q, K and V projections and half-split ("neox") RoPE.

extension ModelArchitecture {
    /// Q/K/V biases, RoPE over (x[i], x[i + d/2]) pairs.
    static let qwen2Traits = Traits(ropePairing: .halves, projectionBiases: true)
}
