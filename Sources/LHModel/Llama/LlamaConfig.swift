// Hyperparameters of a LLaMA-architecture model, read from GGUF metadata and validated once.
import LHCore

/// The shape of a LLaMA-family transformer. Derived sizes are computed, never stored twice.
public struct LlamaConfig: Sendable, Equatable, Codable {
    /// Number of transformer blocks (L).
    public var layerCount: Int
    /// Width of the residual stream.
    public var embeddingLength: Int
    /// Number of query heads (H).
    public var headCount: Int
    /// Number of key/value heads (G); each serves `headCount / kvHeadCount` query heads.
    public var kvHeadCount: Int
    /// Hidden width of the SwiGLU feed-forward network.
    public var feedForwardLength: Int
    /// Vocabulary size (rows of the embedding and output matrices).
    public var vocabularySize: Int
    /// Context length the model was trained on.
    public var contextLength: Int
    /// RoPE frequency base.
    public var ropeBase: Float
    /// RMSNorm epsilon.
    public var rmsEpsilon: Float

    /// Head dimension (d).
    public var headDimension: Int { embeddingLength / headCount }
    /// Query heads per key/value head.
    public var groupSize: Int { headCount / kvHeadCount }
    /// Width of the keys (and values) of one layer: G · d.
    public var kvWidth: Int { kvHeadCount * headDimension }

    /// Memberwise initializer (used by tests that build tiny models).
    public init(layerCount: Int, embeddingLength: Int, headCount: Int, kvHeadCount: Int,
                feedForwardLength: Int, vocabularySize: Int, contextLength: Int,
                ropeBase: Float = 10000, rmsEpsilon: Float = 1e-5) {
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.feedForwardLength = feedForwardLength
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.rmsEpsilon = rmsEpsilon
    }

    /// Architectures whose GGUF layout is the LLaMA one (same tensor names, adjacent-pair RoPE).
    public static let supportedArchitectures: Set<String> = ["llama"]

    /// Reads and validates the hyperparameters of a GGUF file.
    /// - Throws: `LHError.unsupportedModel` for another architecture or an inconsistent shape.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let arch = gguf.string(GGUFKey.architecture) else {
            throw LHError.unsupportedModel(path: path, reason: "no general.architecture in the metadata")
        }
        guard Self.supportedArchitectures.contains(arch) else {
            throw LHError.unsupportedModel(path: path, reason: "architecture '\(arch)' (expected llama)")
        }
        func required(_ key: String) throws -> Int {
            guard let v = gguf.int(key), v > 0 else {
                throw LHError.unsupportedModel(path: path, reason: "missing or invalid \(key)")
            }
            return v
        }
        layerCount = try required(GGUFKey.blockCount(arch))
        embeddingLength = try required(GGUFKey.embeddingLength(arch))
        headCount = try required(GGUFKey.headCount(arch))
        kvHeadCount = gguf.int(GGUFKey.headCountKV(arch)) ?? headCount
        feedForwardLength = try required(GGUFKey.feedForwardLength(arch))
        contextLength = try required(GGUFKey.contextLength(arch))
        ropeBase = Float(gguf.float(GGUFKey.ropeFreqBase(arch)) ?? 10000)
        rmsEpsilon = Float(gguf.float(GGUFKey.rmsEpsilon(arch)) ?? 1e-5)
        if let embd = gguf.tensorsByName[GGUFTensorName.tokenEmbedding], embd.dims.count == 2 {
            vocabularySize = embd.dims[1]
        } else {
            throw LHError.unsupportedModel(path: path, reason: "tensor \(GGUFTensorName.tokenEmbedding) is missing")
        }
        if let scaling = gguf.string(GGUFKey.ropeScalingType(arch)), scaling != "none" {
            throw LHError.unsupportedModel(path: path, reason: "RoPE scaling '\(scaling)' is not supported")
        }
        try validate(path: path)
        if let ropeDims = gguf.int(GGUFKey.ropeDimensionCount(arch)), ropeDims != headDimension {
            throw LHError.unsupportedModel(path: path, reason: "partial RoPE (\(ropeDims) of \(headDimension) dimensions) is not supported")
        }
    }

    /// Checks the relations between the sizes.
    public func validate(path: String) throws {
        func fail(_ why: String) -> LHError { .unsupportedModel(path: path, reason: why) }
        guard embeddingLength % headCount == 0 else { throw fail("embedding length \(embeddingLength) is not a multiple of \(headCount) heads") }
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else { throw fail("\(headCount) heads are not a multiple of \(kvHeadCount) KV heads") }
        guard headDimension % 2 == 0 else { throw fail("head dimension \(headDimension) is odd") }
        guard embeddingLength % 32 == 0, feedForwardLength % 32 == 0 else {
            throw fail("embedding length \(embeddingLength) and feed-forward length \(feedForwardLength) must be multiples of 32")
        }
    }
}
