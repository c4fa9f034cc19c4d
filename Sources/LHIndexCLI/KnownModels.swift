// The models lhindex knows by short name: where `make model MODEL=NAME` fetches them from, and their checksums.
import Foundation

/// A model lhindex can fetch and name: `-m gemma3-270m` finds its file in the cache.
public struct KnownModel: Sendable {
    /// Short name for `-m` and `make model MODEL=...`.
    public let name: String
    /// File name inside `$LHINDEX_HOME/models`.
    public let file: String
    /// What it is, in a few words.
    public let summary: String
    /// Size of the GGUF file in bytes.
    public let bytes: Int
    /// sha256 of the GGUF file (checked by scripts/fetch-model.sh).
    public let sha256: String

    /// The default model first.
    public static let all: [KnownModel] = [
        KnownModel(name: "smollm2-135m", file: "SmolLM2-135M-Instruct.Q4_1.gguf",
                   summary: "SmolLM2 135M Instruct, Q4_1, 8k context (default)", bytes: 98_362_432,
                   sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        KnownModel(name: "gemma3-270m", file: "gemma-3-270m-q4_k_m.gguf",
                   summary: "Gemma 3 270M base, Q4_K_M, 32k context; dense attention only for now", bytes: 253_113_024,
                   sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
    ]

    /// The default model.
    public static var defaultModel: KnownModel { all[0] }

    /// The known model called `name`, if any.
    public static func named(_ name: String) -> KnownModel? { all.first { $0.name == name } }
}
