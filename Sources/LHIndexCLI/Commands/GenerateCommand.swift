// `lhindex generate`: plain completion from a model, streamed, for checking the engine.
import Foundation
import LHCore
import LHModel

/// Streams a completion of a prompt.
struct GenerateCommand: Command {
    static let name = "generate"
    static let abstract = "Continue a prompt with the model (plain completion, streamed)."
    static let usage = "[-m MODEL] -p PROMPT [-n N] [--temp T] [--seed S] [--chat]"
    static let discussion = """
    Runs the model densely on PROMPT and prints the continuation as it is generated. With --chat
    the prompt is wrapped in the model's chat template as one user turn, so an instruct model
    answers it. Temperature 0 (the default) is greedy decoding and always gives the same text.
    Special tokens written in the prompt, such as <|im_start|>, are recognised.
    """
    static let options: [OptionSpec] = [
        ModelLocator.option,
        OptionSpec("prompt", short: "p", value: "PROMPT", help: "Text to continue (required)."),
        OptionSpec("n-predict", short: "n", value: "N", help: "Maximum tokens to generate (default 64)."),
        OptionSpec("chat", help: "Wrap the prompt in the model's chat template."),
        OptionSpec("verbose", short: "v", help: "Print timing to standard error."),
    ] + SamplingArguments.specs

    let modelPath: String?
    let prompt: String
    let maxTokens: Int
    let sampling: SamplingOptions
    let chat: Bool
    let verbose: Bool

    init(arguments a: ParsedArguments) throws {
        guard a.positional.isEmpty else { throw UsageError("unexpected argument '\(a.positional[0])'") }
        guard let p = a.string("prompt") else { throw UsageError("missing --prompt (-p PROMPT)") }
        guard !p.isEmpty else { throw UsageError("the prompt is empty") }
        prompt = p
        modelPath = a.string("model")
        maxTokens = try a.int("n-predict", default: 64, in: 0...1_000_000)
        sampling = try SamplingArguments.parse(a)
        chat = a.flag("chat")
        verbose = a.flag("verbose")
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        let text = chat ? lm.chatTemplate.wrap(prompt) : prompt
        let tokens = lm.encodeOpening(text)
        guard tokens.count + maxTokens <= lm.model.config.contextLength else {
            throw LHError.invalidInput("the prompt (\(tokens.count) tokens) plus \(maxTokens) generated tokens exceed the model's context of \(lm.model.config.contextLength)")
        }
        if !chat { io.out(prompt) }
        var decoder = StreamingDecoder(tokenizer: lm.tokenizer)
        let generator = Generator(languageModel: lm)
        let start = Date()
        var firstTokenAt: Date? = nil
        let out = generator.generate(prompt: tokens, maxTokens: maxTokens, sampling: sampling) { t in
            if firstTokenAt == nil { firstTokenAt = Date() }
            io.out(decoder.append(t))
            return true
        }
        io.out(decoder.finish() + "\n")
        if verbose, let first = firstTokenAt {
            let prefill = first.timeIntervalSince(start)
            let decode = Date().timeIntervalSince(first)
            io.err(String(format: "prompt: %d tokens in %.3f s (%.1f tok/s); generated %d tokens (%.1f tok/s)\n",
                          tokens.count, prefill, Double(tokens.count) / prefill, out.count,
                          out.count > 1 ? Double(out.count - 1) / decode : 0))
        }
        return 0
    }
}
