// The weights of a LLaMA-family model, pointing into the GGUF memory map (nothing is dequantized at load;
// vectors such as norms and biases are copied out as f32).
import LHCore

/// A weight matrix of `rows` × `cols` stored row-major in one of the supported ggml types.
/// `y = x · Wᵀ` maps a `cols`-vector to a `rows`-vector.
public struct WeightMatrix: @unchecked Sendable {
    /// Storage type of the elements.
    public let type: GGMLType
    /// First byte of row 0 (inside the memory map).
    public let data: UnsafeRawPointer
    /// Output features (ne[1]).
    public let rows: Int
    /// Input features (ne[0]), a multiple of the type's block size.
    public let cols: Int
    /// Bytes from one row to the next.
    public var rowBytes: Int { cols / type.blockElements! * type.blockBytes! }
}

/// One transformer block's tensors. The optional ones exist only in the architectures that have them.
public struct LlamaLayerWeights: Sendable {
    public let attnNorm: [Float]          // (E)
    public let wq: WeightMatrix           // (H·d, E)    rows permuted by the LLaMA converter for adjacent-pair RoPE
    public let wk: WeightMatrix           // (G·d, E)
    public let wv: WeightMatrix           // (G·d, E)
    public let wo: WeightMatrix           // (E, H·d)
    public let ffnNorm: [Float]           // (E)
    public let gate: WeightMatrix         // (F, E)
    public let up: WeightMatrix           // (F, E)
    public let down: WeightMatrix         // (E, F)
    public var qBias: [Float]? = nil      // (H·d)  qwen2
    public var kBias: [Float]? = nil      // (G·d)  qwen2
    public var vBias: [Float]? = nil      // (G·d)  qwen2
    public var qNorm: [Float]? = nil      // (d)    qwen3, gemma3: per-head RMSNorm of the queries
    public var kNorm: [Float]? = nil      // (d)    qwen3, gemma3: per-head RMSNorm of the keys
    public var postAttentionNorm: [Float]? = nil   // (E)  gemma3
    public var postFFNNorm: [Float]? = nil         // (E)  gemma3
}

/// All tensors of a LLaMA model.
public struct LlamaWeights: Sendable {
    public let tokenEmbedding: WeightMatrix   // (vocab, E)
    public let layers: [LlamaLayerWeights]
    public let outputNorm: [Float]            // (E)
    public let output: WeightMatrix           // (vocab, E); the embedding itself when tied
    /// Llama 3's RoPE frequency divisors (d/2), when the file has `rope_freqs.weight`.
    public let ropeFrequencyFactors: [Float]?

    /// Looks up and shape-checks every tensor of `config` in `gguf`.
    /// - Throws: `LHError.unsupportedModel` naming the missing or misshapen tensor.
    public init(gguf: GGUFFile, config c: LlamaConfig) throws {
        let path = gguf.path
        func tensor(_ name: String) throws -> GGUFTensorInfo {
            guard let t = gguf.tensorsByName[name] else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(name)' is missing")
            }
            return t
        }
        func matrix(_ name: String, rows: Int, cols: Int) throws -> WeightMatrix {
            let t = try tensor(name)
            guard t.dims == [cols, rows] else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(name)' has shape \(t.dims), expected [\(cols), \(rows)]")
            }
            return WeightMatrix(type: t.type, data: gguf.data(t), rows: rows, cols: cols)
        }
        func vector(_ name: String, count: Int) throws -> [Float] {
            let t = try tensor(name)
            guard t.dims == [count] else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(name)' has shape \(t.dims), expected [\(count)]")
            }
            return Dequantize.row(WeightMatrix(type: t.type, data: gguf.data(t), rows: 1, cols: count), 0)
        }
        let e = c.embeddingLength, f = c.feedForwardLength, hd = c.queryWidth, traits = c.traits
        tokenEmbedding = try matrix(GGUFTensorName.tokenEmbedding, rows: c.vocabularySize, cols: e)
        layers = try (0..<c.layerCount).map { l in
            var layer = LlamaLayerWeights(
                attnNorm: try vector(GGUFTensorName.attnNorm(l), count: e),
                wq: try matrix(GGUFTensorName.attnQ(l), rows: hd, cols: e),
                wk: try matrix(GGUFTensorName.attnK(l), rows: c.kvWidth, cols: e),
                wv: try matrix(GGUFTensorName.attnV(l), rows: c.kvWidth, cols: e),
                wo: try matrix(GGUFTensorName.attnOutput(l), rows: e, cols: hd),
                ffnNorm: try vector(GGUFTensorName.ffnNorm(l), count: e),
                gate: try matrix(GGUFTensorName.ffnGate(l), rows: f, cols: e),
                up: try matrix(GGUFTensorName.ffnUp(l), rows: f, cols: e),
                down: try matrix(GGUFTensorName.ffnDown(l), rows: e, cols: f))
            // Biases are optional in every architecture (as in llama.cpp); Qwen 2 files have them.
            func bias(_ projection: String, count: Int) throws -> [Float]? {
                let name = GGUFTensorName.attnBias(l, projection)
                return gguf.tensorsByName[name] == nil && !traits.projectionBiases ? nil : try vector(name, count: count)
            }
            layer.qBias = try bias("q", count: hd)
            layer.kBias = try bias("k", count: c.kvWidth)
            layer.vBias = try bias("v", count: c.kvWidth)
            if traits.queryKeyNorms {
                layer.qNorm = try vector(GGUFTensorName.attnQNorm(l), count: c.headDimension)
                layer.kNorm = try vector(GGUFTensorName.attnKNorm(l), count: c.headDimension)
            }
            if traits.postNorms {
                layer.postAttentionNorm = try vector(GGUFTensorName.postAttentionNorm(l), count: e)
                layer.postFFNNorm = try vector(GGUFTensorName.postFFNNorm(l), count: e)
            }
            return layer
        }
        outputNorm = try vector(GGUFTensorName.outputNorm, count: e)
        if gguf.tensorsByName[GGUFTensorName.output] != nil {
            output = try matrix(GGUFTensorName.output, rows: c.vocabularySize, cols: e)
        } else {
            output = tokenEmbedding
        }
        if gguf.tensorsByName[GGUFTensorName.ropeFrequencies] != nil {
            let factors = try vector(GGUFTensorName.ropeFrequencies, count: c.headDimension / 2)
            guard factors.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(GGUFTensorName.ropeFrequencies)' holds a value that is not a positive number")
            }
            ropeFrequencyFactors = factors
        } else {
            ropeFrequencyFactors = nil
        }
    }
}
