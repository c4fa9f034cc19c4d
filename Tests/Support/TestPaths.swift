// Where tests find the real model (fetched by `make model`) and llama.cpp's golden outputs.
import Foundation

public enum TestPaths {
    /// The default model: $LHINDEX_MODEL, else the cache `make model` fills.
    public static var model: String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["LHINDEX_MODEL"], !p.isEmpty { return p }
        return cachedModel("SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// A model file in the model cache ($LHINDEX_HOME/models, default ~/.cache/lhindex/models); it may not exist.
    public static func cachedModel(_ file: String) -> String {
        home + "/models/" + file
    }

    /// The model path, or an error (failing the calling test) telling how to fetch it.
    public static func requireModel() throws -> String {
        guard FileManager.default.fileExists(atPath: model) else { throw MissingModel(path: model) }
        return model
    }

    /// The default model has not been fetched.
    public struct MissingModel: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "the default model is missing at \(path): run 'make model' (or 'make test', which fetches it)" }
    }

    /// `shared/golden`: $LHINDEX_GOLDEN, else found by walking up from this file.
    public static var golden: URL {
        if let g = ProcessInfo.processInfo.environment["LHINDEX_GOLDEN"], !g.isEmpty { return URL(fileURLWithPath: g) }
        return above("shared/golden", otherwise: "/work/shared/golden")
    }

    /// The repository's committed goldens, `Fixtures/golden` (found by walking up from this file).
    public static var fixtureGolden: URL { above("Fixtures/golden", otherwise: "Fixtures/golden") }

    /// The first `relative` directory found in this file's directory or one above it.
    static func above(_ relative: String, otherwise: String) -> URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: otherwise)
    }

    /// Lines of a JSON-lines golden file, decoded.
    public static func jsonLines<T: Decodable>(_ name: String, as: T.Type) throws -> [T] {
        let text = try String(contentsOf: golden.appendingPathComponent(name), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }
}
