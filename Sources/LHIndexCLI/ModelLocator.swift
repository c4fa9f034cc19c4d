// Finds the model file: -m (a path, or a model's short name or file name in the cache), then $LHINDEX_MODEL,
// then the default model in the cache that `make model` fills.
import Foundation
import LHCore

/// Model file lookup shared by every command that loads a model.
public enum ModelLocator {
    /// File name of the default model inside the cache.
    public static var defaultModelFile: String { KnownModel.defaultModel.file }

    /// The lhindex cache directory: `$LHINDEX_HOME`, else `~/.cache/lhindex`.
    public static var home: String {
        let env = ProcessInfo.processInfo.environment
        if let h = env["LHINDEX_HOME"], !h.isEmpty { return h }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.cache/lhindex"
    }

    /// The `-m/--model` option every model-loading command takes (resolved by `resolve`).
    public static let option = OptionSpec("model", short: "m", value: "MODEL",
                                          help: "Model: a .gguf path, or a name from 'lhindex models' (default: $LHINDEX_MODEL, then \(KnownModel.defaultModel.name)).")

    /// The model cache directory.
    public static var cacheDirectory: String { home + "/models" }

    /// The default model path in the cache.
    public static var defaultPath: String { cacheDirectory + "/" + defaultModelFile }

    /// Resolves the model path from an explicit option, the environment, or the cache.
    /// A value that names no existing file but a known model (`gemma3-270m`) or a cached file (with or without
    /// `.gguf`) resolves to the cached file.
    /// - Throws: `LHError.invalidInput` telling how to get a model when none is found.
    /// `builtWith`, an index's model sha256, picks that model when it is a known model in the cache and no
    /// model is named.
    public static func resolve(_ explicit: String?, builtWith: String? = nil) throws -> String {
        if let p = explicit ?? ProcessInfo.processInfo.environment["LHINDEX_MODEL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try resolveName(p)
        }
        if let sha = builtWith, let known = KnownModel.all.first(where: { $0.sha256 == sha }),
           FileManager.default.fileExists(atPath: cacheDirectory + "/" + known.file) {
            return cacheDirectory + "/" + known.file
        }
        let p = defaultPath
        guard FileManager.default.fileExists(atPath: p) else {
            throw LHError.invalidInput("no model found: pass -m MODEL (a .gguf file or a name from 'lhindex models'), set LHINDEX_MODEL, or run 'make model' to fetch the default model into \(p)")
        }
        return p
    }

    /// A path as given when it exists or looks like a path; otherwise a known model's or a cached file's path.
    static func resolveName(_ value: String) throws -> String {
        if value.contains("/") || FileManager.default.fileExists(atPath: value) { return value }
        if let known = KnownModel.named(value) {
            let p = cacheDirectory + "/" + known.file
            guard FileManager.default.fileExists(atPath: p) else {
                throw LHError.invalidInput("model '\(value)' is not in the cache \(cacheDirectory): fetch it with 'make model MODEL=\(value)' in the lhindex source tree")
            }
            return p
        }
        for candidate in [value, value + ".gguf"] where FileManager.default.fileExists(atPath: cacheDirectory + "/" + candidate) {
            return cacheDirectory + "/" + candidate
        }
        if value.hasSuffix(".gguf") { return value }      // a file name that does not exist: the loader names it
        let names = KnownModel.all.map(\.name).joined(separator: ", ")
        throw LHError.invalidInput("no model file or known model called '\(value)' (known: \(names); 'lhindex models' lists the cache)")
    }
}
