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
            guard let v = gguf.int(key) else {
                throw LHError.unsupportedModel(path: path, reason: "\(key) is missing or not an integer that fits")
            }
            return v
        }
        func real(_ key: String, default d: Float) throws -> Float {
            guard gguf.metadata[key] != nil else { return d }
            guard let v = gguf.float(key) else { throw LHError.unsupportedModel(path: path, reason: "\(key) is not a number") }
            return Float(v)
        }
        layerCount = try required(GGUFKey.blockCount(arch))
        embeddingLength = try required(GGUFKey.embeddingLength(arch))
        headCount = try required(GGUFKey.headCount(arch))
        kvHeadCount = gguf.metadata[GGUFKey.headCountKV(arch)] == nil ? headCount : try required(GGUFKey.headCountKV(arch))
        feedForwardLength = try required(GGUFKey.feedForwardLength(arch))
        contextLength = try required(GGUFKey.contextLength(arch))
        ropeBase = try real(GGUFKey.ropeFreqBase(arch), default: 10000)
        rmsEpsilon = try real(GGUFKey.rmsEpsilon(arch), default: 1e-5)
        if let embd = gguf.tensorsByName[GGUFTensorName.tokenEmbedding], embd.dims.count == 2 {
            vocabularySize = embd.dims[1]
        } else {
            throw LHError.unsupportedModel(path: path, reason: "tensor \(GGUFTensorName.tokenEmbedding) is missing")
        }
        // Bounds before anything is sized by them (weights per layer, RoPE tables), named by GGUF key.
        try checkBounds(path: path) { Self.ggufKey($0, arch) }
        if let scaling = gguf.string(GGUFKey.ropeScalingType(arch)), scaling != "none" {
            throw LHError.unsupportedModel(path: path, reason: "RoPE scaling '\(scaling)' is not supported")
        }
        try validate(path: path)
        if let ropeDims = gguf.int(GGUFKey.ropeDimensionCount(arch)), ropeDims != headDimension {
            throw LHError.unsupportedModel(path: path, reason: "partial RoPE (\(ropeDims) of \(headDimension) dimensions) is not supported")
        }
    }

    /// The GGUF key a field is read from (for messages).
    static func ggufKey(_ field: String, _ arch: String) -> String {
        switch field {
        case "layerCount": return GGUFKey.blockCount(arch)
        case "embeddingLength": return GGUFKey.embeddingLength(arch)
        case "headCount": return GGUFKey.headCount(arch)
        case "kvHeadCount": return GGUFKey.headCountKV(arch)
        case "feedForwardLength": return GGUFKey.feedForwardLength(arch)
        case "vocabularySize": return GGUFTensorName.tokenEmbedding + " rows"
        case "contextLength": return GGUFKey.contextLength(arch)
        case "ropeBase": return GGUFKey.ropeFreqBase(arch)
        case "rmsEpsilon": return GGUFKey.rmsEpsilon(arch)
        default: return field
        }
    }

    /// Sane bounds of every size: far above any LLaMA-family model, far below what would exhaust memory
    /// when a table is sized by them (a one-byte change of a header must not abort the process).
    public static let integerBounds: [(field: String, range: ClosedRange<Int>)] = [
        ("layerCount", 1...1024), ("embeddingLength", 1...65536), ("headCount", 1...1024), ("kvHeadCount", 1...1024),
        ("feedForwardLength", 1...1 << 20), ("vocabularySize", 1...1 << 24), ("contextLength", 1...1 << 24),
    ]
    /// Bounds of the RoPE frequency base, (1, 10¹²], and of the RMSNorm epsilon, (0, 1]; NaN and infinities are out.
    public static let realBounds: [(field: String, contains: @Sendable (Float) -> Bool, expected: String)] = [
        ("ropeBase", { $0 > 1 && $0 <= 1e12 }, "a number in (1, 1e12]"),
        ("rmsEpsilon", { $0 > 0 && $0 <= 1 }, "a number in (0, 1]"),
    ]

    /// Checks every field against its bounds; `key` names a field for messages (the GGUF key, or the JSON
    /// field of an index's metadata).
    /// - Throws: `LHError.unsupportedModel` naming `path`, the key, the value found and the range expected.
    public func checkBounds(path: String, key: (String) -> String = { $0 }) throws {
        let values = ["layerCount": layerCount, "embeddingLength": embeddingLength, "headCount": headCount,
                      "kvHeadCount": kvHeadCount, "feedForwardLength": feedForwardLength,
                      "vocabularySize": vocabularySize, "contextLength": contextLength]
        for (field, range) in Self.integerBounds where !range.contains(values[field]!) {
            throw LHError.unsupportedModel(path: path, reason: "\(key(field)) is \(values[field]!), expected \(range.lowerBound)...\(range.upperBound)")
        }
        let reals = ["ropeBase": ropeBase, "rmsEpsilon": rmsEpsilon]
        for (field, contains, expected) in Self.realBounds where !contains(reals[field]!) {
            throw LHError.unsupportedModel(path: path, reason: "\(key(field)) is \(reals[field]!), expected \(expected)")
        }
    }

    /// Checks the bounds and the relations between the sizes.
    public func validate(path: String) throws {
        try checkBounds(path: path)
        func fail(_ why: String) -> LHError { .unsupportedModel(path: path, reason: why) }
        guard embeddingLength % headCount == 0 else { throw fail("embedding length \(embeddingLength) is not a multiple of \(headCount) heads") }
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else { throw fail("\(headCount) heads are not a multiple of \(kvHeadCount) KV heads") }
        guard headDimension % 2 == 0 else { throw fail("head dimension \(headDimension) is odd") }
        guard embeddingLength % 32 == 0, feedForwardLength % 32 == 0 else {
            throw fail("embedding length \(embeddingLength) and feed-forward length \(feedForwardLength) must be multiples of 32")
        }
    }
}
