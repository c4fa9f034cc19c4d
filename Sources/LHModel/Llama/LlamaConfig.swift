// Hyperparameters of a LLaMA-family model (llama, qwen2, qwen3, gemma3), read from GGUF metadata and validated once.
import Foundation
import LHCore

/// The shape of a LLaMA-family transformer. Derived sizes are computed, never stored twice.
public struct LlamaConfig: Sendable, Equatable, Codable {
    /// The architecture (what the forward pass adds to the LLaMA baseline).
    public var architecture: ModelArchitecture = .llama
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
    /// Head dimension (d): `attention.key_length`, else E / H.
    public var headDimension: Int
    /// RoPE position scale (1 / `rope.scaling.factor` for linear scaling, else 1).
    public var ropeFrequencyScale: Float = 1
    /// Tokens a sliding-window layer attends (the query and the `slidingWindow - 1` before it); 0 = none.
    public var slidingWindow = 0
    /// Period of the sliding-window layers: layer l slides when `l % pattern < pattern - 1` (0 = none).
    public var slidingWindowPattern = 0
    /// RoPE frequency base of the sliding-window layers.
    public var slidingRopeBase: Float = 10000
    /// Extra factor on the queries beyond attention's 1/√d (1 for every model but Gemma 3 27B).
    public var queryScale: Float = 1

    /// Query heads per key/value head.
    public var groupSize: Int { headCount / kvHeadCount }
    /// Width of the keys (and values) of one layer: G · d.
    public var kvWidth: Int { kvHeadCount * headDimension }
    /// Width of the queries and of the attention output of one layer: H · d (E for LLaMA, not for Gemma 3 or Qwen 3).
    public var queryWidth: Int { headCount * headDimension }
    /// The architecture's additions to the forward pass.
    public var traits: ModelArchitecture.Traits { architecture.traits }
    /// Whether layer `l` attends only a sliding window of `slidingWindow` tokens.
    public func isSlidingWindow(layer l: Int) -> Bool {
        slidingWindow > 0 && slidingWindowPattern > 0 && l % slidingWindowPattern < slidingWindowPattern - 1
    }
    /// Whether some layer attends a sliding window.
    public var hasSlidingWindowLayers: Bool { (0..<layerCount).contains { isSlidingWindow(layer: $0) } }
    /// The layers that attend every earlier token (all of them unless some attend a sliding window): the
    /// layers whose keys LongHeads stores in chunks and selects from.
    public var fullAttentionLayers: [Int] { (0..<layerCount).filter { !isSlidingWindow(layer: $0) } }

    /// Memberwise initializer (used by tests that build tiny models).
    public init(layerCount: Int, embeddingLength: Int, headCount: Int, kvHeadCount: Int,
                feedForwardLength: Int, vocabularySize: Int, contextLength: Int,
                ropeBase: Float = 10000, rmsEpsilon: Float = 1e-5, headDimension: Int? = nil,
                architecture: ModelArchitecture = .llama) {
        self.architecture = architecture
        self.headDimension = headDimension ?? embeddingLength / max(headCount, 1)
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

    /// Reads and validates the hyperparameters of a GGUF file.
    /// - Throws: `LHError.unsupportedModel` for another architecture or an inconsistent shape.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let arch = gguf.string(GGUFKey.architecture) else {
            throw LHError.unsupportedModel(path: path, reason: "no general.architecture in the metadata")
        }
        guard let architecture = ModelArchitecture(rawValue: arch) else {
            throw LHError.unsupportedModel(path: path, reason: "architecture '\(arch)' is not supported (supported: \(ModelArchitecture.supportedNames))")
        }
        self.architecture = architecture
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
        headDimension = headCount > 0 ? embeddingLength / headCount : 0
        if gguf.metadata[GGUFKey.keyLength(arch)] != nil { headDimension = try required(GGUFKey.keyLength(arch)) }
        if let valueLength = gguf.int(GGUFKey.valueLength(arch)), valueLength != headDimension {
            throw LHError.unsupportedModel(path: path, reason: "value length \(valueLength) differs from key length \(headDimension)")
        }
        let scalingFactor = try real(GGUFKey.ropeScalingFactor(arch), default: try real(GGUFKey.ropeScaleLinear(arch), default: 0))
        ropeFrequencyScale = scalingFactor == 0 ? 1 : 1 / scalingFactor
        if architecture.traits.slidingWindowPattern > 0, gguf.metadata[GGUFKey.slidingWindow(arch)] != nil {
            slidingWindow = try required(GGUFKey.slidingWindow(arch))
            slidingWindowPattern = gguf.metadata[GGUFKey.slidingWindowPattern(arch)] == nil
                ? architecture.traits.slidingWindowPattern : try required(GGUFKey.slidingWindowPattern(arch))
            slidingRopeBase = try real(GGUFKey.ropeFreqBaseSlidingWindow(arch), default: 10000)
        }
        if architecture == .gemma3 && layerCount == 62 {      // Gemma 3 27B scales queries by 1/√(E/H), not 1/√d
            queryScale = (Float(headDimension) / Float(embeddingLength / headCount)).squareRoot()
        }
        if let embd = gguf.tensorsByName[GGUFTensorName.tokenEmbedding], embd.dims.count == 2 {
            vocabularySize = embd.dims[1]
        } else {
            throw LHError.unsupportedModel(path: path, reason: "tensor \(GGUFTensorName.tokenEmbedding) is missing")
        }
        // Bounds before anything is sized by them (weights per layer, RoPE tables), named by GGUF key.
        try checkBounds(path: path) { Self.ggufKey($0, arch) }
        if let scaling = gguf.string(GGUFKey.ropeScalingType(arch)), !["none", "linear"].contains(scaling) {
            throw LHError.unsupportedModel(path: path, reason: "RoPE scaling '\(scaling)' is not supported (supported: linear, and Llama 3's rope_freqs tensor)")
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
        case "headDimension": return GGUFKey.keyLength(arch)
        case "slidingWindow": return GGUFKey.slidingWindow(arch)
        case "slidingWindowPattern": return GGUFKey.slidingWindowPattern(arch)
        case "ropeFrequencyScale": return GGUFKey.ropeScalingFactor(arch) + " (inverse)"
        case "slidingRopeBase": return GGUFKey.ropeFreqBaseSlidingWindow(arch)
        default: return field
        }
    }

    /// Sane bounds of every size: far above any LLaMA-family model, far below what would exhaust memory
    /// when a table is sized by them (a one-byte change of a header must not abort the process).
    public static let integerBounds: [(field: String, range: ClosedRange<Int>)] = [
        ("layerCount", 1...1024), ("embeddingLength", 1...65536), ("headCount", 1...1024), ("kvHeadCount", 1...1024),
        ("feedForwardLength", 1...1 << 20), ("vocabularySize", 1...1 << 24), ("contextLength", 1...1 << 24),
        ("headDimension", 2...1024), ("slidingWindow", 0...1 << 24), ("slidingWindowPattern", 0...1024),
    ]
    /// Bounds of the RoPE frequency base, (1, 10¹²], and of the RMSNorm epsilon, (0, 1]; NaN and infinities are out.
    public static let realBounds: [(field: String, contains: @Sendable (Float) -> Bool, expected: String)] = [
        ("ropeBase", { $0 > 1 && $0 <= 1e12 }, "a number in (1, 1e12]"),
        ("rmsEpsilon", { $0 > 0 && $0 <= 1 }, "a number in (0, 1]"),
        ("ropeFrequencyScale", { $0 > 0 && $0 <= 1 }, "a scaling factor of at least 1"),
        ("slidingRopeBase", { $0 > 1 && $0 <= 1e12 }, "a number in (1, 1e12]"),
        ("queryScale", { $0 > 0 && $0 <= 16 }, "a number in (0, 16]"),
    ]

    /// Checks every field against its bounds; `key` names a field for messages (the GGUF key, or the JSON
    /// field of an index's metadata).
    /// - Throws: `LHError.unsupportedModel` naming `path`, the key, the value found and the range expected.
    public func checkBounds(path: String, key: (String) -> String = { $0 }) throws {
        let values = ["layerCount": layerCount, "embeddingLength": embeddingLength, "headCount": headCount,
                      "kvHeadCount": kvHeadCount, "feedForwardLength": feedForwardLength,
                      "vocabularySize": vocabularySize, "contextLength": contextLength, "headDimension": headDimension,
                      "slidingWindow": slidingWindow, "slidingWindowPattern": slidingWindowPattern]
        for (field, range) in Self.integerBounds where !range.contains(values[field]!) {
            throw LHError.unsupportedModel(path: path, reason: "\(key(field)) is \(values[field]!), expected \(range.lowerBound)...\(range.upperBound)")
        }
        let reals = ["ropeBase": ropeBase, "rmsEpsilon": rmsEpsilon, "ropeFrequencyScale": ropeFrequencyScale,
                     "slidingRopeBase": slidingRopeBase, "queryScale": queryScale]
        for (field, contains, expected) in Self.realBounds where !contains(reals[field]!) {
            throw LHError.unsupportedModel(path: path, reason: "\(key(field)) is \(reals[field]!), expected \(expected)")
        }
    }

    /// Checks the bounds and the relations between the sizes.
    public func validate(path: String) throws {
        try checkBounds(path: path)
        func fail(_ why: String) -> LHError { .unsupportedModel(path: path, reason: why) }
        guard architecture != .llama || embeddingLength % headCount == 0 else {
            throw fail("embedding length \(embeddingLength) is not a multiple of \(headCount) heads")
        }
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else { throw fail("\(headCount) heads are not a multiple of \(kvHeadCount) KV heads") }
        guard headDimension % 2 == 0 else { throw fail("head dimension \(headDimension) is odd") }
        guard embeddingLength % 32 == 0, feedForwardLength % 32 == 0, queryWidth % 32 == 0 else {
            throw fail("embedding length \(embeddingLength), feed-forward length \(feedForwardLength) and query width \(queryWidth) must be multiples of 32")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, layerCount, embeddingLength, headCount, kvHeadCount, feedForwardLength, vocabularySize,
             contextLength, ropeBase, rmsEpsilon, headDimension, ropeFrequencyScale, slidingWindow,
             slidingWindowPattern, slidingRopeBase, queryScale
    }

    /// Decodes a configuration; indexes written before the architectures were added lack the new keys and
    /// get LLaMA's values (E/H head dimension, no scaling, no sliding windows).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        embeddingLength = try c.decode(Int.self, forKey: .embeddingLength)
        headCount = try c.decode(Int.self, forKey: .headCount)
        kvHeadCount = try c.decode(Int.self, forKey: .kvHeadCount)
        feedForwardLength = try c.decode(Int.self, forKey: .feedForwardLength)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        ropeBase = try c.decode(Float.self, forKey: .ropeBase)
        rmsEpsilon = try c.decode(Float.self, forKey: .rmsEpsilon)
        architecture = try c.decodeIfPresent(ModelArchitecture.self, forKey: .architecture) ?? .llama
        headDimension = try c.decodeIfPresent(Int.self, forKey: .headDimension) ?? embeddingLength / max(headCount, 1)
        ropeFrequencyScale = try c.decodeIfPresent(Float.self, forKey: .ropeFrequencyScale) ?? 1
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow) ?? 0
        slidingWindowPattern = try c.decodeIfPresent(Int.self, forKey: .slidingWindowPattern) ?? 0
        slidingRopeBase = try c.decodeIfPresent(Float.self, forKey: .slidingRopeBase) ?? 10000
        queryScale = try c.decodeIfPresent(Float.self, forKey: .queryScale) ?? 1
    }
}
