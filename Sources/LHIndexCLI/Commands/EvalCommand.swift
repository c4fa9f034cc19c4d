// `lhindex eval passkey|needle`: retrieval accuracy by configuration and prompt length, one run or a sweep.
import Foundation
import LHCore
import LHEngine
import LHEval
import LHModel

/// Evaluates long-context retrieval.
struct EvalCommand: Command {
    static let name = "eval"
    static let abstract = "Evaluate long-context retrieval (passkey, needle in real text) for attention configurations."
    static let usage = "passkey|needle|keys|values|vars|nolima [--lengths 4k,8k] [--trials N] [--mode dense,longheads,window] [--sweep FILE] [--text FILE] [--json] [LongHeads options]"
    static let discussion = """
    passkey: the task of the LongHeads and Landmark Attention papers, prompt for prompt the same as
    the NumPy prototype (reference/longheads-numpy/passkey_gen.py): a task description, the filler
    "The grass is green. ..." repeated, "The pass key is N. Remember it. N is the pass key." at a
    uniformly random depth (N uniform in 1..50000), then "What is the pass key? The pass key is".
    The answer (8 greedy tokens) is correct when it contains N as a whole number. --chars gives the
    filler length in characters instead of tokens, as the prototype does.

    needle: a sentence stating a number ("The access code for the north server room is N.", one of
    four) inserted at a line break at a uniformly random depth in a long real text (--text, default
    the Debian Policy Manual that 'make text' fetches), then asked as a chat question in the shape
    'lhindex ask' uses. 24 greedy tokens; correct when the answer contains N.

    keys, values, vars, nolima: RULER-style tasks over one long document with many planted facts,
    built once as an index (kept in --work, so a rerun or another configuration reuses it) and asked
    one question per fact through the same path as 'lhindex ask': keys plants "The pass key of room
    R is N." for 16 rooms and asks each; values plants four numbers for each of four labels and
    asks for all four; vars plants four chains "VAR A = N", "VAR B = VAR A", ... and asks which
    variables hold N (all four must be named); nolima plants "Actually, Yuki lives next to the
    Semper Opera House." and asks "Which character has been to Dresden?". The filler is the pass-key
    text (--filler passkey, the default) or the long real text (--filler text). --trials counts
    documents per length for these (default 2); dense attention skips lengths past the model's
    trained context.

    Trial t uses seed S+t. Without --sweep, one configuration per --mode runs with the LongHeads
    options given. --sweep FILE reads one configuration per line instead: a name, then options
    (the LongHeads options, --mode M, --max-length L to skip longer prompts, --oracle to force the
    chunk of the planted fact into every question token's window); '#' starts a comment.
    LongHeads configurations that differ only in question-time options (--question-length,
    --question-positioning, --question-scoring, --question-per-kv-head, --question-select,
    --answer-length, --answer-fresh) share one prefill of each
    document: only the question and answer run per configuration. --trials-out FILE appends one JSON
    line per (configuration, trial). Progress goes to standard error.
    """
    static let options: [OptionSpec] = [
        ModelLocator.option,
        OptionSpec("lengths", short: "l", value: "L,L", help: "Prompt lengths in tokens, k = 1024, m = 1024k (default 4k,8k)."),
        OptionSpec("chars", value: "N,N", help: "passkey: filler lengths in characters instead of --lengths."),
        OptionSpec("trials", short: "n", value: "N", help: "Trials per configuration and length (default 5; keys, values, vars, nolima: documents, default 2)."),
        OptionSpec("filler", value: "F", help: "keys, values, vars, nolima: passkey (default) or text (the long real text)."),
        OptionSpec("work", value: "DIR", help: "keys, values, vars, nolima: where the documents' indexes are kept (default under the cache)."),
        OptionSpec("answer-tokens", value: "N", help: "keys, values, vars, nolima: greedy tokens per answer (default 48)."),
        OptionSpec("mode", value: "M,M", help: "Attention modes: dense, longheads, window (default all three)."),
        OptionSpec("sweep", value: "FILE", help: "Configurations to compare, one per line (see below); replaces --mode."),
        OptionSpec("text", value: "FILE", help: "needle: the long text (default: the cache of 'make text')."),
        OptionSpec("seed", value: "S", help: "First trial seed (default 0)."),
        OptionSpec("tail", value: "N", help: "passkey: the chunk(s) holding the last N prompt tokens select per token (default 32)."),
        OptionSpec("trials-out", value: "FILE", help: "Append one JSON line per configuration and trial to FILE."),
        OptionSpec("json", help: "Print {\"results\": [...]} instead of a table."),
        OptionSpec("repeat-penalty", value: "R", help: "Repeat penalty of the greedy answers, as ask's (default \(SamplingArguments.defaultRepeatPenalty); 1 = off)."),
    ] + LongHeadsOptions.specs

    /// Options a --sweep line may carry besides the LongHeads options.
    static let sweepLineOptions: [OptionSpec] = [
        OptionSpec("mode", value: "M", help: "dense, longheads or window (default longheads)."),
        OptionSpec("max-length", value: "L", help: "Skip prompts longer than L tokens."),
        OptionSpec("oracle", help: "Diagnostic: force the chunk(s) of the planted fact into every question token's window."),
    ] + LongHeadsOptions.specs

    let task: String
    let repeatPenalty: Float
    let modelPath: String?
    let lengths: [Int]
    let chars: [Int]?
    let trials: Int
    let configurations: [SweepConfiguration]
    let textPath: String?
    let seed: Int
    let tail: Int
    let trialsOut: String?
    let json: Bool
    let filler: String
    let work: String?
    let answerTokens: Int

    /// Every task `eval` runs.
    static let tasks = ["passkey", "needle"] + HaystackKind.allCases.map(\.rawValue)

    static func parseLength(_ s: Substring) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("k"), let v = Int(t.dropLast()) { return v * 1024 }
        if t.hasSuffix("m"), let v = Int(t.dropLast()) { return v * 1024 * 1024 }
        return Int(t)
    }

    init(arguments a: ParsedArguments) throws {
        guard a.positional.count == 1, Self.tasks.contains(a.positional[0]) else {
            let known = Self.tasks.joined(separator: ", ")
            throw UsageError(a.positional.isEmpty ? "missing the task (\(known))"
                             : "unknown task '\(a.positional.joined(separator: " "))' (expected one of \(known))")
        }
        task = a.positional[0]
        modelPath = a.string("model")
        repeatPenalty = try a.float("repeat-penalty", default: SamplingArguments.defaultRepeatPenalty, in: 0.01...10)
        let ls = (a.string("lengths") ?? "4k,8k").split(separator: ",").map(Self.parseLength)
        guard !ls.isEmpty, ls.allSatisfy({ ($0 ?? 0) >= 64 }) else {
            throw UsageError("--lengths must be a comma-separated list of token counts of at least 64, like 4k,8k,16k")
        }
        lengths = ls.map { $0! }
        if let c = a.string("chars") {
            guard task == "passkey" else { throw UsageError("--chars applies to the passkey task only") }
            let v = c.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ ($0 ?? -1) >= 0 }) else { throw UsageError("--chars must be a comma-separated list of character counts") }
            chars = v.map { $0! }
        } else { chars = nil }
        let haystack = HaystackKind(rawValue: a.positional[0])
        trials = try a.int("trials", default: haystack == nil ? 5 : 2, in: 1...100_000)
        switch a.string("filler") ?? "passkey" {
        case "passkey": filler = "passkey"
        case "text": filler = "text"
        case let other: throw UsageError("--filler must be passkey or text, got '\(other)'")
        }
        work = a.string("work")
        answerTokens = try a.int("answer-tokens", default: 48, in: 1...4096)
        if let file = a.string("sweep") {
            guard a.string("mode") == nil else { throw UsageError("--sweep and --mode exclude each other: put the mode on the sweep's lines") }
            configurations = try Self.readSweep(file)
        } else {
            let settings = try LongHeadsOptions.parse(a)
            let ms = (a.string("mode") ?? "dense,longheads,window").split(separator: ",").map { AttentionMode(rawValue: String($0)) }
            guard !ms.isEmpty, ms.allSatisfy({ $0 != nil }) else { throw UsageError("--mode must list dense, longheads and/or window") }
            configurations = ms.map { SweepConfiguration(name: $0!.rawValue, mode: $0!, settings: settings) }
        }
        textPath = a.string("text")
        seed = try a.int("seed", default: 0, in: 0...1 << 40)
        tail = try a.int("tail", default: 32, in: 1...1 << 20)
        trialsOut = a.string("trials-out")
        json = a.flag("json")
    }

    /// Parses a sweep file: `NAME [options]` per line.
    static func readSweep(_ path: String) throws -> [SweepConfiguration] {
        let text = try TextFile.read(path)
        var out: [SweepConfiguration] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let name = words.first else { continue }
            do {
                let a = try ParsedArguments(Array(words.dropFirst()), specs: sweepLineOptions)
                guard a.positional.isEmpty else { throw UsageError("unexpected '\(a.positional[0])'") }
                let mode = try a.string("mode").map { m -> AttentionMode in
                    guard let v = AttentionMode(rawValue: m) else { throw UsageError("--mode must be dense, longheads or window, got '\(m)'") }
                    return v
                } ?? .longheads
                let maxLength = try a.string("max-length").map { s -> Int in
                    guard let v = parseLength(Substring(s)) else { throw UsageError("--max-length must be a token count, got '\(s)'") }
                    return v
                } ?? .max
                out.append(SweepConfiguration(name: name, mode: mode, settings: try LongHeadsOptions.parse(a), maxLength: maxLength,
                                       oracle: a.flag("oracle")))
            } catch let e as UsageError {
                throw LHError.invalidInput("\(path):\(i + 1): \(e.description)")
            }
        }
        guard !out.isEmpty else { throw LHError.invalidInput("\(path): no configurations (one per line: NAME [options])") }
        guard Set(out.map(\.name)).count == out.count else { throw LHError.invalidInput("\(path): configuration names must be unique") }
        return out
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        let configurations = try self.configurations.map { c -> SweepConfiguration in
            var c = c
            c.settings = try c.settings.fittedAndValidated(trainedContext: lm.model.config.contextLength)
            return c
        }
        if let kind = HaystackKind(rawValue: task) {
            return try runHaystack(kind, languageModel: lm, configurations: configurations, io)
        }
        let text = task == "needle" ? try TextFile.read(textPath ?? ModelLocator.home + "/texts/" + LongText.fileName) : ""
        if task == "needle", text.isEmpty { throw LHError.invalidInput("the needle text is empty") }
        let trialFile = try trialsOut.map(Self.appendHandle)
        for c in configurations { io.err("eval \(task): \(c.name) [\(c.mode.rawValue)] \(LongHeadsOptions.describe(c.settings))\n") }
        let sweep = RetrievalSweep(languageModel: lm, sampling: SamplingOptions(temperature: 0, repeatPenalty: repeatPenalty))
        let enc = CommandJSON.encoder()
        // (label length, passkey filler characters) per column.
        let columns: [(Int, Int)] = chars.map { $0.map { (0, $0) } }
            ?? lengths.map { ($0, task == "passkey" ? PasskeyTask.garbageChars(forTokens: $0, tokenizer: lm.tokenizer) : 0) }
        var table = AccuracyTable(configurations: configurations.map(\.name))
        for (length, garbage) in columns {
            for t in 0..<trials {
                let s = seed + t
                var item = task == "passkey"
                    ? RetrievalItem.passkey(length: length, garbageChars: garbage, seed: s, tokenizer: lm.tokenizer, tailTokens: tail)
                    : NeedleTask.item(text: text, length: length, seed: s, languageModel: lm)
                if length == 0 { item.length = garbage }
                _ = try sweep.run(item, configurations: configurations) { r in
                    io.err(String(format: "%@ %d seed %d: %d tokens, key %d at depth %.2f -> %@ %@ (%.1f s%@)\n",
                                  r.configuration, r.length, r.seed, r.tokens, r.key, r.depth, r.answer.debugDescription,
                                  r.correct ? "OK" : "MISS", r.seconds,
                                  r.prefillSeconds > 0 ? String(format: " + %.1f s shared prefill", r.prefillSeconds) : ""))
                    Self.keep(r, in: &table, file: trialFile, encoder: enc)
                }
            }
        }
        return try printTable(table, io)
    }

    /// Adds `trial` to `table` and appends it as one JSON line to the trials file, if any.
    static func keep<T: ScoredTrial & Encodable>(_ trial: T, in table: inout AccuracyTable, file: FileHandle?, encoder: JSONEncoder) {
        table.add(trial)
        if let f = file, var line = try? encoder.encode(trial) {
            line.append(0x0a)
            f.write(line)
        }
    }

    /// Prints the accuracy table, or `{"results": [...]}` with --json.
    func printTable(_ table: AccuracyTable, _ io: TerminalIO) throws -> Int32 {
        if json {
            io.out(String(decoding: try CommandJSON.encoder().encode(["results": table.cells]), as: UTF8.self) + "\n")
        } else {
            io.out(table.render())
        }
        return 0
    }

    /// `path` opened for appending (created if missing); a FIFO or other non-regular file is refused, not waited on.
    static func appendHandle(_ path: String) throws -> FileHandle {
        FileHandle(fileDescriptor: try RegularFile.open(path, flags: O_WRONLY | O_CREAT | O_APPEND), closeOnDealloc: true)
    }
}
