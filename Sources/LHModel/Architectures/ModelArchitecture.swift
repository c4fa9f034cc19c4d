// The LLaMA-family decoder architectures lhindex runs, and what each one changes in the shared forward pass.
//
// Every supported model is a pre-norm decoder: embedding, then per layer attention and a gated feed-forward
// network around RMSNorms, then a final norm and the output projection. An architecture adds only what differs
// (biases, per-head Q/K norms, post-norms, the activation, the RoPE pairing, sliding windows), declared in its own
// file (Llama.swift, Qwen2.swift, Qwen3.swift, Gemma3.swift) as a `ModelArchitecture.Traits` value.

/// A supported `general.architecture`.
public enum ModelArchitecture: String, Sendable, Codable, CaseIterable {
    case llama, qwen2, qwen3, gemma3

    /// How RoPE pairs the dimensions of a head.
    public enum RoPEPairing: String, Sendable, Codable {
        /// (x[2i], x[2i+1]) rotate together (llama.cpp's "normal" mode; LLaMA GGUFs permute Q/K rows for it).
        case adjacent
        /// (x[i], x[i + d/2]) rotate together (llama.cpp's "neox" mode: Qwen, Gemma). The forward pass interleaves
        /// each head's halves after the projection, so everything downstream sees adjacent pairs.
        case halves
    }

    /// The feed-forward network's gate activation: `act(x·Wgᵀ) ⊙ x·Wuᵀ`.
    public enum Activation: String, Sendable, Codable {
        /// SiLU (SwiGLU).
        case silu
        /// GELU, tanh approximation (GeGLU).
        case gelu
    }

    /// What an architecture changes in the shared forward pass.
    public struct Traits: Sendable {
        /// RoPE pairing of the dimensions.
        public var ropePairing: RoPEPairing = .adjacent
        /// Q, K and V projections have bias vectors (`blk.N.attn_{q,k,v}.bias`).
        public var projectionBiases = false
        /// Each head's query and key are RMS-normalised before RoPE (`blk.N.attn_{q,k}_norm.weight`, (d)).
        public var queryKeyNorms = false
        /// Attention and FFN outputs are RMS-normalised before the residual add
        /// (`blk.N.post_attention_norm.weight`, `blk.N.post_ffw_norm.weight`).
        public var postNorms = false
        /// The embedding rows are multiplied by √E.
        public var scaledEmbedding = false
        /// Gate activation of the feed-forward network.
        public var activation: Activation = .silu
        /// Layers attend a sliding window when `<arch>.attention.sliding_window` is set: every layer but the
        /// last of each group of this many (llama.cpp's swa pattern; 0 = no sliding-window layers).
        public var slidingWindowPattern = 0
    }

    /// The traits of this architecture (each defined in the architecture's own file).
    public var traits: Traits {
        switch self {
        case .llama: return Self.llamaTraits
        case .qwen2: return Self.qwen2Traits
        case .qwen3: return Self.qwen3Traits
        case .gemma3: return Self.gemma3Traits
        }
    }

    /// The names accepted, for messages.
    public static var supportedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
