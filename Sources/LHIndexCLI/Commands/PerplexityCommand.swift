// `lhindex perplexity`: perplexity of a text file by llama.cpp's method.
import Foundation
import LHCore
import LHEngine
import LHModel

/// Measures perplexity of a UTF-8 text file.
struct PerplexityCommand: Command {
    static let name = "perplexity"
    static let abstract = "Measure the model's perplexity on a text file (llama.cpp's method)."
    static let usage = "FILE [-m MODEL] [--ctx N] [--mode dense|longheads|window] [LongHeads options] [--json]"
    static let discussion = """
    Tokenizes FILE, cuts the tokens into consecutive windows of N tokens (the remainder is
    dropped), evaluates each window from an empty cache and averages the negative log-likelihood
    of the second half of every window, exactly as llama.cpp's perplexity tool does, so the
    numbers are comparable. Lower is better. --mode picks the attention: dense (the default),
    longheads (DESIGN §2, settings below) or window (a sliding window of --attn-length tokens that
    keeps the first chunk as attention sinks). --ctx may exceed the model's trained context in every
    mode; dense attention then degrades, which is what the comparison shows.
    """
    static let options: [OptionSpec] = [
        ModelLocator.option,
        OptionSpec("ctx", short: "c", value: "N", help: "Window length in tokens (default 512)."),
        OptionSpec("mode", value: "M", help: "Attention: dense, longheads or window (default dense)."),
        OptionSpec("windows", value: "N", help: "Evaluate at most N windows (default all)."),
        OptionSpec("from-window", value: "K", help: "Skip the first K windows (default 0): score the same part of a text at several --ctx."),
        OptionSpec("json", help: "Print one JSON object instead of text."),
    ] + LongHeadsOptions.specs

    let file: String
    let modelPath: String?
    let context: Int
    let windows: Int
    let firstWindow: Int
    let json: Bool
    let mode: AttentionMode
    let settings: LongHeadsSettings

    init(arguments a: ParsedArguments) throws {
        guard a.positional.count == 1 else {
            throw UsageError(a.positional.isEmpty ? "missing FILE" : "expected one FILE, got \(a.positional.count) arguments")
        }
        file = a.positional[0]
        modelPath = a.string("model")
        context = try a.int("ctx", default: 512, in: 4...1 << 20)
        windows = try a.int("windows", default: .max, in: 1...Int.max)
        firstWindow = try a.int("from-window", default: 0, in: 0...Int.max)
        json = a.flag("json")
        let m = a.string("mode") ?? "dense"
        guard let mode = AttentionMode(rawValue: m) else { throw UsageError("--mode must be dense, longheads or window, got '\(m)'") }
        self.mode = mode
        settings = try LongHeadsOptions.parse(a)
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let text = try TextFile.read(file)
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        // Dense attention ignores the LongHeads settings, so they are only checked for the other modes.
        let settings = mode == .dense ? self.settings : try self.settings.fittedAndValidated(trainedContext: lm.model.config.contextLength)
        // Models that add BOS (Gemma, Llama) see it at the start of the text and of every window, as in llama-perplexity.
        let bos = lm.tokenizer.addsBOS ? lm.tokenizer.bosToken : nil
        let tokens = (bos.map { [$0] } ?? []) + lm.tokenizer.encode(text, parseSpecial: false)
        let result = try Perplexity.evaluate(model: lm.model, tokens: tokens, context: context, firstWindow: firstWindow, maxWindows: windows, bos: bos,
                                             makeCache: { try mode.makeCache(model: lm.model, settings: settings) }) { done, total in
            if !json { io.err("\r[\(done)/\(total)] windows") }
        }
        if json {
            let enc = CommandJSON.encoder()
            // The result's fields, plus the attention mode and settings it was measured with.
            var obj = try JSONSerialization.jsonObject(with: try enc.encode(result)) as? [String: Any] ?? [:]
            obj["mode"] = mode.rawValue
            if mode != .dense { obj["settings"] = LongHeadsOptions.describe(settings) }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            io.out(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            io.err("\n")
            let how = mode == .dense ? "dense" : "\(mode.rawValue), \(LongHeadsOptions.describe(settings))"
            io.out(String(format: "perplexity %.4f over %d windows of %d tokens (%d tokens, %.0f tok/s; %@)\n",
                          result.perplexity, result.chunks, context, result.tokens, result.tokensPerSecond, how))
        }
        return 0
    }
}
