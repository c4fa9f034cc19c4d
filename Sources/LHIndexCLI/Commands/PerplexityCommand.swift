// `lhindex perplexity`: perplexity of a text file by llama.cpp's method.
import Foundation
import LHCore
import LHModel

/// Measures perplexity of a UTF-8 text file.
struct PerplexityCommand: Command {
    static let name = "perplexity"
    static let abstract = "Measure the model's perplexity on a text file (llama.cpp's method)."
    static let usage = "FILE [-m MODEL.gguf] [--ctx N] [--json]"
    static let discussion = """
    Tokenizes FILE, cuts the tokens into consecutive windows of N tokens (the remainder is
    dropped), evaluates each window from an empty cache and averages the negative log-likelihood
    of the second half of every window, exactly as llama.cpp's perplexity tool does, so the
    numbers are comparable. Lower is better.
    """
    static let options: [OptionSpec] = [
        OptionSpec("model", short: "m", value: "MODEL.gguf", help: "Model file (default: $LHINDEX_MODEL, then the cache of 'make model')."),
        OptionSpec("ctx", short: "c", value: "N", help: "Window length in tokens (default 512)."),
        OptionSpec("json", help: "Print one JSON object instead of text."),
    ]

    let file: String
    let modelPath: String?
    let context: Int
    let json: Bool

    init(arguments a: ParsedArguments) throws {
        guard a.positional.count == 1 else {
            throw UsageError(a.positional.isEmpty ? "missing FILE" : "expected one FILE, got \(a.positional.count) arguments")
        }
        file = a.positional[0]
        modelPath = a.string("model")
        context = try a.int("ctx", default: 512, in: 4...1 << 20)
        json = a.flag("json")
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let text = try TextFile.read(file)
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        guard context <= lm.model.config.contextLength else {
            throw LHError.invalidInput("--ctx \(context) exceeds the model's trained context of \(lm.model.config.contextLength)")
        }
        let tokens = lm.tokenizer.encode(text, parseSpecial: false)
        let result = try Perplexity.evaluate(model: lm.model, tokens: tokens, context: context,
                                             makeCache: { lm.model.makeDenseCache() }) { done, total in
            if !json { io.err("\r[\(done)/\(total)] windows") }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            io.out(String(decoding: try enc.encode(result), as: UTF8.self) + "\n")
        } else {
            io.err("\n")
            io.out(String(format: "perplexity %.4f over %d windows of %d tokens (%d tokens, %.0f tok/s)\n",
                          result.perplexity, result.chunks, context, result.tokens, result.tokensPerSecond))
        }
        return 0
    }
}
