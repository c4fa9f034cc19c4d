// The sampling options shared by every command that generates text (generate, ask).
import LHModel

/// `--temp`, `--top-k`, `--top-p`, `--seed`: declared once, parsed once.
enum SamplingArguments {
    static let specs: [OptionSpec] = [
        OptionSpec("temp", value: "T", help: "Sampling temperature; 0 is greedy (default 0)."),
        OptionSpec("top-k", value: "K", help: "Sample among the K most likely tokens; 0 = all (default 40)."),
        OptionSpec("top-p", value: "P", help: "Sample within probability mass P (default 0.95)."),
        OptionSpec("seed", value: "S", help: "Random seed for sampling (default 0)."),
    ]

    /// The sampling settings given on the command line, validated.
    static func parse(_ a: ParsedArguments) throws -> SamplingOptions {
        SamplingOptions(temperature: try a.float("temp", default: 0, in: 0...100),
                        topK: try a.int("top-k", default: 40, in: 0...1_000_000),
                        topP: try a.float("top-p", default: 0.95, in: 0...1),
                        seed: UInt64(try a.int("seed", default: 0, in: 0...Int.max)))
    }
}
