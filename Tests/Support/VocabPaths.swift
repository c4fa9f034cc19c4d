// Where tests find llama.cpp's test vocabularies (`make vocab`), Gemma 3's model, and the tokenizer goldens.
import Foundation

extension TestPaths {
    /// $LHINDEX_HOME (default ~/.cache/lhindex).
    static var home: String {
        let env = ProcessInfo.processInfo.environment
        return env["LHINDEX_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache/lhindex")
    }

    /// A file of llama.cpp's test vocabularies (`ggml-vocab-llama-spm.gguf`, its `.inp`/`.out`, ...),
    /// or an error (failing the calling test) telling how to fetch them.
    public static func requireVocab(_ name: String) throws -> String {
        let path = home + "/vocab/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFile(path: path, fix: "run 'make vocab' (or 'make test', which fetches it)")
        }
        return path
    }

    /// Gemma 3 270M (Q4_K_M), whose vocabulary the SentencePiece tests use, or an error telling how to fetch it.
    public static func requireGemma3() throws -> String {
        let path = cachedModel("gemma-3-270m-q4_k_m.gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFile(path: path, fix: "run 'make model MODEL=gemma3-270m'")
        }
        return path
    }

    /// A test input is missing.
    public struct MissingFile: Error, CustomStringConvertible {
        public let path: String
        public let fix: String
        public var description: String { "missing \(path): \(fix)" }
    }

    /// `Fixtures/golden/tokenizer` of this repository (written by scripts/tokenizer-goldens.py).
    public static var tokenizerGoldens: URL { fixtureGolden.appendingPathComponent("tokenizer") }
}
