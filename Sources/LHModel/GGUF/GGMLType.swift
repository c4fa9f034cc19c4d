// ggml tensor storage types: names for messages, block geometry for the supported ones.

/// A ggml tensor type id as stored in GGUF. Unknown ids are kept so errors can name them.
public struct GGMLType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let f32 = GGMLType(rawValue: 0)
    public static let f16 = GGMLType(rawValue: 1)
    public static let q4_0 = GGMLType(rawValue: 2)
    public static let q4_1 = GGMLType(rawValue: 3)
    public static let q5_0 = GGMLType(rawValue: 6)
    public static let q5_1 = GGMLType(rawValue: 7)
    public static let q8_0 = GGMLType(rawValue: 8)
    public static let q2_K = GGMLType(rawValue: 10)
    public static let q3_K = GGMLType(rawValue: 11)
    public static let q4_K = GGMLType(rawValue: 12)
    public static let q5_K = GGMLType(rawValue: 13)
    public static let q6_K = GGMLType(rawValue: 14)
    public static let bf16 = GGMLType(rawValue: 30)

    /// The types lhindex can compute with.
    public static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1,
                                               .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    static var supportedNames: String { supported.map(\.name).joined(separator: ", ") }

    /// ggml's name for the type (`Q6_K`, `IQ2_XS`, ...), or `type N` when unknown.
    public var name: String {
        let names: [UInt32: String] = [
            0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
            10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
            17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
            23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
            30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[rawValue] ?? "type \(rawValue)"
    }

    /// Elements per block, or nil if the type is not supported.
    public var blockElements: Int? {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256   // K-quant super-blocks
        default: return nil
        }
    }

    /// Bytes per block, or nil if the type is not supported.
    public var blockBytes: Int? {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        default: return nil
        }
    }

    /// Whether dot products with this type use 8-bit quantized activations (`lh_block_q8`, as llama.cpp does)
    /// rather than floats: every supported block-quantized type, 32-value blocks and K-quant super-blocks alike.
    public var usesQuantizedActivations: Bool { (blockElements ?? 1) > 1 }
}
