// `lhindex bench`: prompt-processing and generation speed in the manner of llama-bench.
import Foundation
import LHCore
import LHEngine
import LHModel

/// Measures tokens per second for prompt processing and generation on random tokens.
struct BenchCommand: Command {
    static let name = "bench"
    static let abstract = "Measure prompt processing and generation speed (like llama-bench)."
    static let usage = "[-m MODEL] [--prompt 512,2048] [--gen 128] [--repeat R] [--mode dense|longheads|window] [--simd LEVEL] [--json]"
    static let discussion = """
    Feeds seeded random tokens (as llama-bench does) through the dense engine: one prompt of each
    length in --prompt from an empty cache, then --gen tokens generated one at a time after a
    short prompt. Each figure is the best of --repeat runs. Use it to compare builds and machines;
    'make bench' runs it beside llama.cpp. With --mode longheads or window the prompt runs through
    that attention (lengths like 8k or 128k; the LongHeads settings options apply), which shows
    whether prefill cost stays linear in the length. --simd avx2 (or scalar) runs the kernels an
    older CPU would, to compare paths on one machine.
    """
    static let options: [OptionSpec] = [
        ModelLocator.option,
        OptionSpec("prompt", value: "N,N", help: "Prompt lengths to time (default 512,2048)."),
        OptionSpec("gen", value: "N", help: "Tokens to generate for the generation figure; 0 skips it (default 128)."),
        OptionSpec("repeat", short: "r", value: "R", help: "Runs per figure, best kept (default 2)."),
        OptionSpec("mode", value: "MODE", help: "Attention: dense, longheads or window (default dense)."),
        OptionSpec("simd", value: "LEVEL", help: "Kernels: avx512, avx2 or scalar, at most what the CPU has (default: the best it has)."),
        OptionSpec("json", help: "Print one JSON object instead of a table."),
    ] + LongHeadsOptions.specs

    let modelPath: String?
    let promptLengths: [Int]
    let generate: Int
    let repeats: Int
    let json: Bool
    let mode: AttentionMode
    let settings: LongHeadsSettings
    let simd: SIMDLevel?

    init(arguments a: ParsedArguments) throws {
        guard a.positional.isEmpty else { throw UsageError("unexpected argument '\(a.positional[0])'") }
        modelPath = a.string("model")
        let lengths = (a.string("prompt") ?? "512,2048").split(separator: ",").map { EvalCommand.parseLength($0) }
        guard !lengths.isEmpty, lengths.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw UsageError("--prompt must be a comma-separated list of positive token counts")
        }
        promptLengths = lengths.map { $0! }
        generate = try a.int("gen", default: 128, in: 0...100_000)
        repeats = try a.int("repeat", default: 2, in: 1...100)
        json = a.flag("json")
        guard let m = AttentionMode(rawValue: a.string("mode") ?? "dense") else {
            throw UsageError("--mode must be dense, longheads or window")
        }
        mode = m
        settings = try LongHeadsOptions.parse(a)
        if let name = a.string("simd") {
            guard let level = SIMDLevel(name: name) else { throw UsageError("--simd must be avx512, avx2 or scalar") }
            guard level <= SIMDLevel.supported else {
                throw UsageError("--simd \(name): this CPU supports at most \(SIMDLevel.supported.name)")
            }
            simd = level
        } else {
            simd = nil
        }
    }

    struct Result: Codable {
        var test: String
        var tokens: Int
        var tokensPerSecond: Double
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let model = try LlamaModel(path: try ModelLocator.resolve(modelPath))
        if let simd { SIMDLevel.use(simd) }
        // Dense attention ignores the LongHeads settings, so they are only checked for the other modes (as perplexity does).
        let settings = mode == .dense ? self.settings : try self.settings.fittedAndValidated(trainedContext: model.config.contextLength)
        func cache() throws -> AttentionCache { try mode.makeCache(model: model, settings: settings) }
        var rng = SplitMix64(seed: 42)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % UInt64(model.config.vocabularySize)) } }
        let forward = ForwardPass(model: model)
        var results: [Result] = []
        for n in promptLengths {
            let tokens = randomTokens(n)
            var best = 0.0
            for _ in 0..<repeats {
                let t = Date()
                _ = forward.runLast(tokens, cache: try cache())
                best = max(best, Double(n) / Date().timeIntervalSince(t))
            }
            results.append(Result(test: mode == .dense ? "pp\(n)" : "pp\(n)-\(mode.rawValue)", tokens: n, tokensPerSecond: best))
            if !json { io.err("pp\(n): \(String(format: "%.1f", best)) tok/s\n") }
        }
        if generate > 0 {
            var best = 0.0
            for _ in 0..<repeats {
                let cache = try cache()
                var logits = forward.runLast(randomTokens(16), cache: cache)
                let t = Date()
                for _ in 0..<generate {
                    let next = logits.withUnsafeBufferPointer { Int32(Sampler.argmax($0)) }
                    logits = forward.runLast([next], cache: cache)
                }
                best = max(best, Double(generate) / Date().timeIntervalSince(t))
            }
            results.append(Result(test: "tg\(generate)", tokens: generate, tokensPerSecond: best))
            if !json { io.err("tg\(generate): \(String(format: "%.1f", best)) tok/s\n") }
        }
        if json {
            let enc = CommandJSON.encoder()
            struct Header: Encodable { var threads: Int; var simd: String; var weights: String }
            let header = Header(threads: Parallel.threadCount, simd: SIMDLevel.current.name, weights: model.gguf.file.residency.name)
            io.out(String(decoding: try enc.encode(header), as: UTF8.self).dropLast()
                   + ",\"results\":" + String(decoding: try enc.encode(results), as: UTF8.self) + "}\n")
        } else {
            io.out("simd: \(SIMDLevel.current.name), threads: \(Parallel.threadCount), weights: \(model.gguf.file.residency.name)\n")
            io.out("test              tokens   tok/s\n")
            for r in results {
                io.out(r.test.padding(toLength: 18, withPad: " ", startingAt: 0)
                       + String(format: "%6d  %7.1f\n", r.tokens, r.tokensPerSecond))
            }
        }
        return 0
    }
}
