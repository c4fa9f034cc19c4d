// Finds the model file: -m, then $LHINDEX_MODEL, then the cache that `make model` fills.
import Foundation
import LHCore

/// Model file lookup shared by every command that loads a model.
public enum ModelLocator {
    /// File name of the default model inside the cache.
    public static let defaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The lhindex cache directory: `$LHINDEX_HOME`, else `~/.cache/lhindex`.
    public static var home: String {
        let env = ProcessInfo.processInfo.environment
        if let h = env["LHINDEX_HOME"], !h.isEmpty { return h }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.cache/lhindex"
    }

    /// The `-m/--model` option every model-loading command takes (resolved by `resolve`).
    public static let option = OptionSpec("model", short: "m", value: "MODEL.gguf",
                                          help: "Model file (default: $LHINDEX_MODEL, then the cache of 'make model').")

    /// The default model path in the cache.
    public static var defaultPath: String { home + "/models/" + defaultModelFile }

    /// Resolves the model path from an explicit option, the environment, or the cache.
    /// - Throws: `LHError.invalidInput` telling how to get a model when none is found.
    public static func resolve(_ explicit: String?) throws -> String {
        if let p = explicit { return p }
        if let p = ProcessInfo.processInfo.environment["LHINDEX_MODEL"], !p.isEmpty { return p }
        let p = defaultPath
        guard FileManager.default.fileExists(atPath: p) else {
            throw LHError.invalidInput("no model found: pass -m MODEL.gguf, set LHINDEX_MODEL, or run 'make model' to fetch the default model into \(p)")
        }
        return p
    }
}
