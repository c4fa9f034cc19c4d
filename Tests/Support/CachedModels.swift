// Models besides the default one, in the cache `make models` fills, and the repository's own golden files.
import Foundation

extension TestPaths {
    /// `$LHINDEX_HOME/models/<file>` (default home ~/.cache/lhindex).
    public static func cachedModel(_ file: String) -> String {
        let env = ProcessInfo.processInfo.environment
        let home = env["LHINDEX_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache/lhindex")
        return home + "/models/" + file
    }

    /// Gemma 3 270M (Q4_K_M), fetched by `make models` / `make model MODEL=gemma3-270m`.
    public static var gemmaModel: String { cachedModel("gemma-3-270m-q4_k_m.gguf") }

    /// The Gemma model's path, or an error (failing the calling test) telling how to fetch it.
    public static func requireGemmaModel() throws -> String {
        guard FileManager.default.fileExists(atPath: gemmaModel) else { throw MissingModel(path: gemmaModel) }
        return gemmaModel
    }

    /// The repository's `Fixtures/golden` (goldens this project generated with llama.cpp; `golden` is the shared set).
    public static var fixtureGolden: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden")
    }
}
