// The LongHeads settings as command-line options, shared by eval, perplexity, bench and build.
import LHCore
import LHEngine

/// The LongHeads settings options shared by `eval` and `perplexity`.
enum LongHeadsOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("variant", value: "NAME", help: "Start from a preset: 'standard' (w 256, A 2048, block) or 'paper' (w 256, A 4096, token)."),
        OptionSpec("chunk-size", value: "W", help: "Chunk size in tokens (default 256)."),
        OptionSpec("attn-length", value: "A", help: "Attention length while prefilling, a multiple of W (default 2048)."),
        OptionSpec("question-length", value: "A", help: "Attention length for question and answer tokens (default: --attn-length)."),
        OptionSpec("select", value: "token|block", help: "Prefill selection granularity (default block)."),
        OptionSpec("positioning", value: "P", help: "contiguous (paper), true, self-extend:N or clipped:N (default contiguous)."),
        OptionSpec("question-positioning", value: "P", help: "Positioning for question and answer tokens (default: --positioning)."),
        OptionSpec("sinks", value: "N", help: "Leading chunks always attended (default 1)."),
        OptionSpec("local", value: "N", help: "Most recent chunks always attended (default 1)."),
        OptionSpec("kv", value: "f16|f32", help: "Key/value storage precision (default f16)."),
        OptionSpec("question-scoring", value: "S", help: "Chunk scoring for question and answer tokens: summaries (paper), max-key or quest (default summaries)."),
        OptionSpec("question-per-kv-head", help: "Question and answer tokens select once per KV head (the group's query heads share chunks)."),
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
                throw UsageError("--positioning must be contiguous, true, self-extend:N or clipped:N, got '\(p)'")
            }
            s.positioning = v
        }
        if let p = a.string("question-positioning") {
            guard let v = ChunkPositioning(argument: p) else {
                throw UsageError("--question-positioning must be contiguous, true, self-extend:N or clipped:N, got '\(p)'")
            }
            s.questionPositioning = v
        }
        s.sinkChunks = try a.int("sinks", default: s.sinkChunks, in: 0...1024)
        s.localChunks = try a.int("local", default: s.localChunks, in: 0...1024)
        if let k = a.string("kv") {
            guard let v = KVPrecision(rawValue: k) else { throw UsageError("--kv must be f16 or f32, got '\(k)'") }
            s.precision = v
        }
        if let q = a.string("question-scoring") {
            guard let v = ChunkScoring(rawValue: q) else {
                throw UsageError("--question-scoring must be summaries, max-key or quest, got '\(q)'")
            }
            s.questionScoring = v
        }
        if a.flag("question-per-kv-head") { s.questionSelectionPerKVHead = true }
        return s
    }

    /// One-line description for progress output.
    static func describe(_ s: LongHeadsSettings) -> String {
        "w=\(s.chunkSize) A=\(s.attentionLength) Aq=\(s.questionAttentionLength) select=\(s.granularity.rawValue) "
            + "positioning=\(s.positioning.argument)/\((s.questionPositioning ?? s.positioning).argument) sinks=\(s.sinkChunks) local=\(s.localChunks) kv=\(s.precision.rawValue) "
            + "scoring=\(s.questionScoring.rawValue)\(s.questionSelectionPerKVHead ? "/kv-head" : "")"
    }
}

