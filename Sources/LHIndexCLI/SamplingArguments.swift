// The sampling options shared by every command that generates text (generate, ask).
import LHModel

/// `--temp`, `--top-k`, `--top-p`, `--seed`, `--repeat-penalty`, `--repeat-last-n`: declared once, parsed once.
enum SamplingArguments {
    static let specs: [OptionSpec] = [
        OptionSpec("temp", value: "T", help: "Sampling temperature; 0 is greedy (default 0)."),
        OptionSpec("top-k", value: "K", help: "Sample among the K most likely tokens; 0 = all (default 40)."),
        OptionSpec("top-p", value: "P", help: "Sample within probability mass P (default 0.95)."),
        OptionSpec("seed", value: "S", help: "Random seed for sampling (default 0)."),
        OptionSpec("repeat-penalty", value: "R", help: "Make tokens the answer used among its last N tokens (--repeat-last-n) less likely, dividing their scores by R, so answers do not loop; digits and the question's tokens are left alone; 1 turns it off (default \(defaultRepeatPenalty))."),
        OptionSpec("repeat-last-n", value: "N", help: "How many recent answer tokens the repeat penalty looks at (default 64)."),
    ]

    /// The repeat penalty when none is given.
    static let defaultRepeatPenalty: Float = 1.1

    /// The sampling settings given on the command line, validated.
    static func parse(_ a: ParsedArguments) throws -> SamplingOptions {
        SamplingOptions(temperature: try a.float("temp", default: 0, in: 0...100),
                        topK: try a.int("top-k", default: 40, in: 0...1_000_000),
                        topP: try a.float("top-p", default: 0.95, in: 0...1),
                        seed: UInt64(try a.int("seed", default: 0, in: 0...Int.max)),
                        repeatPenalty: try a.float("repeat-penalty", default: defaultRepeatPenalty, in: 0.01...10),
                        repeatLastN: try a.int("repeat-last-n", default: 64, in: 0...1_000_000))
    }
}
