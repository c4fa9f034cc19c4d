// A loaded LLaMA model: hyperparameters, weights in the memory map, RoPE tables.
import LHCore

/// A LLaMA-architecture model loaded from a GGUF file. Immutable once loaded; share it freely.
public final class LlamaModel: @unchecked Sendable {
    /// The parsed file; weights point into its memory map.
    public let gguf: GGUFFile
    /// Hyperparameters.
    public let config: LlamaConfig
    /// Weight tensors.
    public let weights: LlamaWeights
    /// Rotary embedding tables.
    public let rope: RoPE

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
        rope = RoPE(dimension: config.headDimension, base: config.ropeBase)
        rope.reserve(positions: min(config.contextLength, 8192))
        BLASThreads.useCallerThreadOnly()
    }

    /// A fresh dense KV cache for this model.
    public func makeDenseCache() -> DenseAttention { DenseAttention(config: config, rope: rope) }
}
