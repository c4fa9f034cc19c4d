// `lhindex trace`: one prompt's last-token logits and LongHeads selections, for cross-checking other implementations.
import Foundation
import LHCore
import LHEngine
import LHEval
import LHModel

/// Dumps what an independent implementation needs to be compared with lhindex on one prompt:
/// the prompt's token ids, the last prompt token's logits and, under LongHeads, the chunks every
/// (layer, head) selected for that token. Used by scripts/compare-numpy.py (docs/numpy-crosscheck.md).
struct TraceCommand: Command {
    static let name = "trace"
    static let abstract = "Dump a prompt's last-token logits and LongHeads selections (for cross-checks)."
    static let usage = "--text FILE | --tokens FILE.json [--tail N] [--mode dense|longheads|window] [-n N] [--f32-logits] [LongHeads options] [--json]"
    static let discussion = """
    A diagnostic for comparing lhindex with another implementation of the same model and method
    (docs/numpy-crosscheck.md). The prompt is the plain text of --text (tokenized without special
    tokens, as the passkey task does) or the token ids of --tokens: a JSON array of integers, or an
    object with a "tokens" array (such as this command's own --json output). It runs through the
    model in one prefill with --mode attention (default longheads). Under LongHeads the chunk(s)
    holding the last --tail prompt tokens select per token, as in 'lhindex eval passkey' (default
    32), and the selections of the last prompt token are recorded. -n N greedily continues N tokens.

    The last token's logits come, as in generation, from the output projection with 8-bit
    quantized activations (llama.cpp's way); --f32-logits computes them with f32 activations
    instead, which removes that rounding (about 0.3 in the logits) from a comparison with an f32
    implementation.

    --json prints one object: tokens (the prompt ids), question_start, last_logits (every vocabulary
    logit of the last prompt token), top (the 10 largest: ids and logits), selections (per layer, per
    query head, the sorted past chunks the last prompt token attended to, or null when none were
    recorded: dense and window modes) and answer_tokens / answer (the greedy continuation). Without
    --json a short summary is printed.
    """
    static let options: [OptionSpec] = [
        ModelLocator.option,
        OptionSpec("text", value: "FILE", help: "The prompt as plain UTF-8 text."),
        OptionSpec("tokens", value: "FILE.json", help: "The prompt as token ids: [ids] or {\"tokens\": [ids]}."),
        OptionSpec("tail", value: "N", help: "The chunk(s) holding the last N prompt tokens select per token (default 32)."),
        OptionSpec("mode", value: "M", help: "Attention: dense, longheads or window (default longheads)."),
        OptionSpec("n-predict", short: "n", value: "N", help: "Greedy tokens to generate after the prompt (default 0)."),
        OptionSpec("f32-logits", help: "Project the last token with f32 activations (sgemm), not the 8-bit decode kernel."),
        OptionSpec("json", help: "Print the full trace as one JSON object."),
    ] + LongHeadsOptions.specs

    let modelPath: String?
    let textPath: String?
    let tokensPath: String?
    let tail: Int
    let mode: AttentionMode
    let answerTokens: Int
    let json: Bool
    let f32Logits: Bool
    let settings: LongHeadsSettings

    init(arguments a: ParsedArguments) throws {
        guard a.positional.isEmpty else { throw UsageError("unexpected argument '\(a.positional[0])'") }
        textPath = a.string("text")
        tokensPath = a.string("tokens")
        guard (textPath == nil) != (tokensPath == nil) else { throw UsageError("give exactly one of --text FILE and --tokens FILE.json") }
        modelPath = a.string("model")
        tail = try a.int("tail", default: 32, in: 1...1 << 30)
        let m = a.string("mode") ?? "longheads"
        guard let mode = AttentionMode(rawValue: m) else { throw UsageError("--mode must be dense, longheads or window, got '\(m)'") }
        self.mode = mode
        answerTokens = try a.int("n-predict", default: 0, in: 0...100_000)
        json = a.flag("json")
        f32Logits = a.flag("f32-logits")
        settings = try LongHeadsOptions.parse(a)
    }

    /// Token ids from a JSON file: an array of integers or an object with a "tokens" array.
    static func readTokens(_ path: String) throws -> [Int32] {
        let file = try MappedFile(path: path)
        let data = Data(UnsafeRawBufferPointer(start: file.base, count: file.count))
        let any = try? JSONSerialization.jsonObject(with: data)
        let list = (any as? [Any]) ?? ((any as? [String: Any])?["tokens"] as? [Any])
        guard let list, let ids = list.map({ ($0 as? NSNumber)?.int32Value }) as? [Int32] else {
            throw LHError.invalidInput("\(path): expected a JSON array of token ids or an object with a \"tokens\" array")
        }
        return ids
    }

    struct Trace: Encodable {
        var mode: String
        var f32_logits: Bool
        var settings: String
        var tokens: [Int32]
        var question_start: Int?
        var last_logits: [Float]
        var top: [TopEntry]
        var selections: [[[Int]?]]
        var answer_tokens: [Int32]
        var answer: String
    }

    struct TopEntry: Encodable {
        var id: Int
        var logit: Float
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        let config = lm.model.config
        if mode != .dense { try settings.validate(trainedContext: config.contextLength) }
        let tokens = try textPath.map { lm.tokenizer.encode(try TextFile.read($0), parseSpecial: false) } ?? Self.readTokens(tokensPath!)
        guard !tokens.isEmpty else { throw LHError.invalidInput("the prompt is empty") }
        guard tokens.allSatisfy({ $0 >= 0 && Int($0) < config.vocabularySize }) else {
            throw LHError.invalidInput("token ids must lie in 0..<\(config.vocabularySize)")
        }
        let n = tokens.count
        // As RetrievalSweep: the question starts at the chunk boundary at or before the last `tail` tokens.
        let questionStart = mode == .longheads ? settings.questionStart(documentTokens: max(0, n - tail), promptTokens: n) : nil
        let cache = try mode.makeCache(model: lm.model, settings: settings, questionStart: questionStart ?? .max)
        let longHeads = cache as? LongHeadsAttention
        longHeads?.tracePosition = n - 1
        let forward = ForwardPass(model: lm.model)
        // One logit row goes through the 8-bit-activation kernel (as generation does); asking for the same
        // row more often than that kernel's row limit sends the output projection through f32 sgemm.
        let rows = f32Logits ? LinearScratch.quantizedKernelMaxRows + 1 : 1
        let logits = Array(forward.run(tokens, cache: cache, logitRows: Array(repeating: n - 1, count: rows))
            .prefix(config.vocabularySize))
        var answer: [Int32] = []
        var next = logits
        while answer.count < answerTokens {
            let t = Int32(next.withUnsafeBufferPointer { Sampler.argmax($0) })
            if lm.tokenizer.isEndOfGeneration(t) { break }
            answer.append(t)
            if answer.count < answerTokens { next = forward.runLast([t], cache: cache) }
        }
        let top: [Int] = Array(logits.indices.sorted { (a: Int, b: Int) -> Bool in
            logits[a] != logits[b] ? logits[a] > logits[b] : a < b
        }.prefix(10))
        let selections = longHeads?.tracedSelections ?? []
        let text = lm.tokenizer.decode(answer)
        if json {
            let trace = Trace(mode: mode.rawValue, f32_logits: f32Logits, settings: mode == .dense ? "" : LongHeadsOptions.describe(settings),
                              tokens: tokens, question_start: questionStart, last_logits: logits,
                              top: top.map { TopEntry(id: $0, logit: logits[$0]) }, selections: selections,
                              answer_tokens: answer, answer: text)
            let enc = CommandJSON.encoder()
            io.out(String(decoding: try enc.encode(trace), as: UTF8.self) + "\n")
        } else {
            io.out("\(n) tokens, mode \(mode.rawValue)\(mode == .dense ? "" : ", " + LongHeadsOptions.describe(settings))"
                   + (questionStart.map { ", per-token selection from \($0)" } ?? "") + "\n")
            io.out("top: " + top.map { "\($0) \(lm.tokenizer.decode([Int32($0)]).debugDescription) \(String(format: "%.3f", logits[$0]))" }
                .joined(separator: ", ") + "\n")
            let recorded = selections.flatMap { $0 }.compactMap { $0 }
            if !recorded.isEmpty { io.out("selections recorded for \(recorded.count) (layer, head) pairs of the last token\n") }
            if answerTokens > 0 { io.out("answer: \(text.debugDescription)\n") }
        }
        return 0
    }
}
