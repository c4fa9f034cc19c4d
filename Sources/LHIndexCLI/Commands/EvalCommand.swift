// `lhindex eval passkey`: passkey retrieval accuracy by attention mode and prompt length; also the shared LongHeads options.
import Foundation
import LHCore
import LHEngine
import LHModel

/// The LongHeads settings options shared by `eval` and `perplexity`.
enum LongHeadsOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("variant", value: "NAME", help: "Start from a preset: 'standard' (w 256, A 2048, block) or 'paper' (w 256, A 4096, token)."),
        OptionSpec("chunk-size", value: "W", help: "Chunk size in tokens (default 256)."),
        OptionSpec("attn-length", value: "A", help: "Attention length while prefilling, a multiple of W (default 2048)."),
        OptionSpec("question-length", value: "A", help: "Attention length for question and answer tokens (default: --attn-length)."),
        OptionSpec("select", value: "token|block", help: "Prefill selection granularity (default block)."),
        OptionSpec("positioning", value: "P", help: "contiguous (paper), true, or self-extend:N (default contiguous)."),
        OptionSpec("question-positioning", value: "P", help: "Positioning for question and answer tokens (default: --positioning)."),
        OptionSpec("sinks", value: "N", help: "Leading chunks always attended (default 1)."),
        OptionSpec("local", value: "N", help: "Most recent chunks always attended (default 1)."),
        OptionSpec("kv", value: "f16|f32|int8", help: "Key/value storage precision (default f16; int8: one f16 scale per row)."),
    ]

    /// Settings from the parsed options (validated against the model later).
    static func parse(_ a: ParsedArguments) throws -> LongHeadsSettings {
        var s: LongHeadsSettings
        switch a.string("variant") ?? "standard" {
        case "standard": s = .standard
        case "paper": s = .paper
        case let v: throw UsageError("--variant must be 'standard' or 'paper', got '\(v)'")
        }
        s.chunkSize = try a.int("chunk-size", default: s.chunkSize, in: 1...65536)
        let explicitQuestion = a.string("question-length") != nil
        s.attentionLength = try a.int("attn-length", default: s.attentionLength, in: 1...1 << 20)
        s.questionAttentionLength = explicitQuestion ? try a.int("question-length", default: 0, in: 1...1 << 20) : s.attentionLength
        if let g = a.string("select") {
            guard let v = SelectionGranularity(rawValue: g) else { throw UsageError("--select must be token or block, got '\(g)'") }
            s.granularity = v
        }
        if let p = a.string("positioning") {
            guard let v = ChunkPositioning(argument: p) else {
                throw UsageError("--positioning must be contiguous, true or self-extend:N, got '\(p)'")
            }
            s.positioning = v
        }
        if let p = a.string("question-positioning") {
            guard let v = ChunkPositioning(argument: p) else {
                throw UsageError("--question-positioning must be contiguous, true or self-extend:N, got '\(p)'")
            }
            s.questionPositioning = v
        }
        s.sinkChunks = try a.int("sinks", default: s.sinkChunks, in: 0...1024)
        s.localChunks = try a.int("local", default: s.localChunks, in: 0...1024)
        if let k = a.string("kv") {
            guard let v = KVPrecision(rawValue: k) else { throw UsageError("--kv must be f16, f32 or int8, got '\(k)'") }
            s.precision = v
        }
        return s
    }

    /// One-line description for progress output.
    static func describe(_ s: LongHeadsSettings) -> String {
        "w=\(s.chunkSize) A=\(s.attentionLength) Aq=\(s.questionAttentionLength) select=\(s.granularity.rawValue) "
            + "positioning=\(s.positioning.argument)/\((s.questionPositioning ?? s.positioning).argument) sinks=\(s.sinkChunks) local=\(s.localChunks) kv=\(s.precision.rawValue)"
    }
}

/// Evaluates long-context retrieval.
struct EvalCommand: Command {
    static let name = "eval"
    static let abstract = "Evaluate long-context retrieval (passkey) for dense, LongHeads and window attention."
    static let usage = "passkey [--lengths 4k,8k] [--trials N] [--mode dense,longheads,window] [--seed S] [--json] [LongHeads options]"
    static let discussion = """
    The passkey task of the LongHeads and Landmark Attention papers, prompt for prompt the same as
    the NumPy prototype (reference/longheads-numpy/passkey_gen.py): a task description, the filler
    "The grass is green. ..." repeated, "The pass key is N. Remember it. N is the pass key." at a
    uniformly random depth (N uniform in 1..50000), then "What is the pass key? The pass key is".
    Trial t uses seed S+t. The answer (8 greedy tokens) is correct when it contains N as a whole
    number. Lengths are prompt token counts (the filler is fitted to them); --chars gives the filler
    length in characters instead, as the prototype does. The table's tok/s is prompt tokens over the
    whole trial time (prefill and answer). Progress goes to standard error.
    """
    static let options: [OptionSpec] = [
        OptionSpec("model", short: "m", value: "MODEL.gguf", help: "Model file (default: $LHINDEX_MODEL, then the cache of 'make model')."),
        OptionSpec("lengths", short: "l", value: "L,L", help: "Prompt lengths in tokens, k = 1024 (default 4k,8k)."),
        OptionSpec("chars", value: "N,N", help: "Filler lengths in characters instead of --lengths."),
        OptionSpec("trials", short: "n", value: "N", help: "Trials per mode and length (default 5)."),
        OptionSpec("mode", value: "M,M", help: "Attention modes: dense, longheads, window (default all three)."),
        OptionSpec("seed", value: "S", help: "First trial seed (default 0)."),
        OptionSpec("tail", value: "N", help: "Chunks holding the last N prompt tokens select per token (default 32)."),
        OptionSpec("answer-tokens", value: "N", help: "Greedy tokens generated per answer (default 8)."),
        OptionSpec("trials-out", value: "FILE", help: "Append one JSON line per trial to FILE."),
        OptionSpec("json", help: "Print {\"results\": [...]} instead of a table."),
    ] + LongHeadsOptions.specs

    let modelPath: String?
    let lengths: [Int]
    let chars: [Int]?
    let trials: Int
    let modes: [AttentionMode]
    let seed: Int
    let tail: Int
    let answerTokens: Int
    let trialsOut: String?
    let json: Bool
    let settings: LongHeadsSettings

    static func parseLength(_ s: Substring) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("k"), let v = Int(t.dropLast()) { return v * 1024 }
        return Int(t)
    }

    init(arguments a: ParsedArguments) throws {
        guard a.positional == ["passkey"] else {
            throw UsageError(a.positional.isEmpty ? "missing the task (passkey)" : "unknown task '\(a.positional.joined(separator: " "))' (expected passkey)")
        }
        modelPath = a.string("model")
        let ls = (a.string("lengths") ?? "4k,8k").split(separator: ",").map(Self.parseLength)
        guard !ls.isEmpty, ls.allSatisfy({ ($0 ?? 0) >= 64 }) else {
            throw UsageError("--lengths must be a comma-separated list of token counts of at least 64, like 4k,8k,16k")
        }
        lengths = ls.map { $0! }
        if let c = a.string("chars") {
            let v = c.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ ($0 ?? -1) >= 0 }) else { throw UsageError("--chars must be a comma-separated list of character counts") }
            chars = v.map { $0! }
        } else { chars = nil }
        trials = try a.int("trials", default: 5, in: 1...100_000)
        let ms = (a.string("mode") ?? "dense,longheads,window").split(separator: ",").map { AttentionMode(rawValue: String($0)) }
        guard !ms.isEmpty, ms.allSatisfy({ $0 != nil }) else { throw UsageError("--mode must list dense, longheads and/or window") }
        modes = ms.map { $0! }
        seed = try a.int("seed", default: 0, in: 0...1 << 40)
        tail = try a.int("tail", default: 32, in: 0...1 << 20)
        answerTokens = try a.int("answer-tokens", default: 8, in: 1...1024)
        trialsOut = a.string("trials-out")
        json = a.flag("json")
        settings = try LongHeadsOptions.parse(a)
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        try settings.validate(trainedContext: lm.model.config.contextLength)
        let eval = PasskeyEval(languageModel: lm, settings: settings, tailTokens: tail, answerTokens: answerTokens)
        let trialFile = try trialsOut.map { path -> FileHandle in
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            guard let h = FileHandle(forWritingAtPath: path) else { throw LHError.io(path: path, call: "open", errno: EACCES) }
            h.seekToEndOfFile()
            return h
        }
        io.err("eval passkey: \(LongHeadsOptions.describe(settings))\n")
        // (label length, filler characters) per cell.
        let cells: [(Int, Int)] = chars.map { $0.map { (0, $0) } }
            ?? lengths.map { ($0, PasskeyTask.garbageChars(forTokens: $0, tokenizer: lm.tokenizer)) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var results: [PasskeyCell] = []
        for (length, n) in cells {
            for mode in modes {
                let cell = try eval.run(mode: mode, length: length, garbageChars: n, seeds: Array(seed..<(seed + trials))) { t in
                    io.err(String(format: "%@ %@ seed %d: %d tokens, key %d at depth %.2f -> %@ %@ (%.1f s)\n",
                                  mode.rawValue, length > 0 ? "\(length)" : "\(n) chars", t.seed, t.tokens, t.key, t.depth,
                                  t.answer.debugDescription, t.correct ? "OK" : "MISS", t.seconds))
                    if let f = trialFile, var line = try? enc.encode(TrialLine(trial: t, settings: settings)) {
                        line.append(0x0a)
                        f.write(line)
                    }
                }
                results.append(cell)
            }
        }
        if json {
            io.out(String(decoding: try enc.encode(["results": results]), as: UTF8.self) + "\n")
        } else {
            io.out("mode        length   chars  tokens  correct  accuracy   tok/s\n")
            for r in results {
                io.out(r.mode.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                       + (r.length > 0 ? String(format: "%8d", r.length) : "       -")
                       + String(format: "%8d%8d%6d/%-4d%7.0f%%%9.1f\n", r.garbageChars, r.tokens, r.correct, r.trials,
                                r.accuracy * 100, r.tokensPerSecond))
            }
        }
        return 0
    }

    /// One JSON line of --trials-out: the trial and the configuration it ran with.
    struct TrialLine: Encodable {
        var trial: PasskeyTrial
        var settings: LongHeadsSettings
    }
}
