// A loaded LLaMA-family model: hyperparameters, weights in the memory map, RoPE tables.
import LHCore

/// A LLaMA-family model (llama, qwen2, qwen3, gemma3) loaded from a GGUF file. Immutable once loaded; share it freely.
public final class LlamaModel: @unchecked Sendable {
    /// The parsed file; weights point into its memory map.
    public let gguf: GGUFFile
    /// Hyperparameters.
    public let config: LlamaConfig
    /// Weight tensors.
    public let weights: LlamaWeights
    /// Rotary embedding tables of the layers that attend everything.
    public let rope: RoPE
    /// Rotary embedding tables of the sliding-window layers (Gemma 3: their own base), or `rope` itself.
    public let slidingRope: RoPE

    /// Loads and validates the model at `path`.
    /// - Throws: `LHError` naming the file and what is wrong with it.
    public convenience init(path: String) throws {
        try self.init(gguf: try GGUFFile(path: path))
    }

    /// Wraps an already parsed GGUF file.
    public init(gguf: GGUFFile) throws {
        self.gguf = gguf
        config = try LlamaConfig(gguf: gguf)
        weights = try LlamaWeights(gguf: gguf, config: config)
        rope = RoPE(dimension: config.headDimension, base: config.ropeBase, frequencyScale: config.ropeFrequencyScale,
                    frequencyFactors: weights.ropeFrequencyFactors)
        rope.reserve(positions: min(config.contextLength, 8192))
        if config.hasSlidingWindowLayers {
            slidingRope = RoPE(dimension: config.headDimension, base: config.slidingRopeBase)
            slidingRope.reserve(positions: min(config.contextLength, 8192))
        } else {
            slidingRope = rope
        }
        BLASThreads.useCallerThreadOnly()
    }

    /// A fresh dense KV cache for this model.
    public func makeDenseCache() -> DenseAttention { DenseAttention(model: self) }

    /// The RoPE tables of layer `l`.
    public func rope(layer l: Int) -> RoPE { config.isSlidingWindow(layer: l) ? slidingRope : rope }
}
