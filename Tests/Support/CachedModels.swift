// Models besides the default one, in the cache `make models` fills.
import Foundation

extension TestPaths {
    /// Gemma 3 270M (Q4_K_M), fetched by `make models` / `make model MODEL=gemma3-270m`.
    public static var gemmaModel: String { cachedModel("gemma-3-270m-q4_k_m.gguf") }

    /// The Gemma model's path, or an error (failing the calling test) telling how to fetch it.
    public static func requireGemmaModel() throws -> String {
        guard FileManager.default.fileExists(atPath: gemmaModel) else { throw MissingModel(path: gemmaModel) }
        return gemmaModel
    }
}
