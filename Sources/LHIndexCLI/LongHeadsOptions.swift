// The LongHeads settings as command-line options, shared by eval, perplexity, bench, build and ask.
import LHCore
import LHEngine

/// The LongHeads settings options. Document options fix how a document is prefilled (and so an index);
/// question options only change how questions and answers read it, so `ask` accepts them too.
enum LongHeadsOptions {
    static let documentSpecs: [OptionSpec] = [
        OptionSpec("variant", value: "NAME", help: "Start from a preset: 'standard' (the measured default: A 2048 block prefill; questions read 8192-token windows, Quest scores per KV head, Self-Extend distances beyond 2048) or 'paper' (w 256, A 4096, per-token selection, contiguous windows, summary scores) or 'paper-block' (the paper's method with block prefill and A 2048, the default before the sweep)."),
        OptionSpec("chunk-size", value: "W", help: "Chunk size in tokens (default 256)."),
        OptionSpec("attn-length", value: "A", help: "Attention length while prefilling, a multiple of W (default 2048)."),
        OptionSpec("select", value: "token|block", help: "Prefill selection granularity (default block)."),
        OptionSpec("positioning", value: "P", help: "contiguous (paper), true, self-extend:N or clipped:N (default contiguous)."),
        OptionSpec("scoring", value: "S", help: "Chunk scoring while prefilling the document: summaries (paper), quest, max-key, reps or reps-mean (default summaries; see --question-scoring)."),
        OptionSpec("sinks", value: "N", help: "Leading chunks always attended (default 1)."),
        OptionSpec("local", value: "N", help: "Most recent chunks always attended while prefilling (standard: 4, fewer when --attn-length leaves too few slots; the paper: 1). 64k perplexity is within 2.5% of the 4k figure with 4, +10.6% with 1 (README)."),
        OptionSpec("kv", value: "f16|f32|int8|k8v4", help: "Key/value storage precision (default f16; int8: one f16 scale per row; k8v4: int8 keys and 4-bit values, about 0.4 of f16's size; see the README)."),
        OptionSpec("representatives", value: "R", help: "Representative keys kept per chunk and KV head for --question-scoring reps: the R keys that receive the most attention from the chunk's own queries (InfLLM; default 0 = none; measured no better than Quest)."),
    ]

    static let questionSpecs: [OptionSpec] = [
        OptionSpec("question-length", value: "A", help: "Attention length for question and answer tokens (standard: 8192, at most the trained context)."),
        OptionSpec("question-local", value: "N", help: "Most recent chunks always attended by question and answer tokens (standard: 1; the paper: --local's). 4 lost a 32k pass key that 1 answers (README)."),
        OptionSpec("question-positioning", value: "P", help: "Positioning for question and answer tokens: contiguous, true, self-extend:N, clipped:N (standard: self-extend:2048)."),
        OptionSpec("question-scoring", value: "S", help: "Chunk scoring for question and answer tokens: summaries (paper), max-key, quest, reps (max of q·k over the chunk's representative keys; needs --representatives > 0 when the document is prefilled) or reps-mean (their mean) (standard: quest)."),
        OptionSpec("question-per-kv-head", value: "yes|no", help: "Question and answer tokens select once per KV head, the group's query heads sharing chunks (standard: yes)."),
        OptionSpec("question-select", value: "token|block", help: "The question's tokens select per token, or once per chunk of them from their summed queries (faster first token; standard: token)."),
    ]

    static let specs = documentSpecs + questionSpecs

    /// Settings from the parsed options (validated against the model later).
    static func parse(_ a: ParsedArguments) throws -> LongHeadsSettings {
        var s: LongHeadsSettings
        switch a.string("variant") ?? "standard" {
        case "standard": s = .standard
        case "paper": s = .paper
        case "paper-block": s = LongHeadsSettings()
        case let v: throw UsageError("--variant must be 'standard', 'paper' or 'paper-block', got '\(v)'")
        }
        s.chunkSize = try a.int("chunk-size", default: s.chunkSize, in: 1...65536)
        if a.string("attn-length") != nil {
            // The question length follows A unless given, as in the presets.
            let followed = s.questionAttentionLength == s.attentionLength
            s.attentionLength = try a.int("attn-length", default: 0, in: 1...1 << 20)
            if followed { s.questionAttentionLength = s.attentionLength }
        }
        if let g = a.string("select") { s.granularity = try granularity(g, option: "select") }
        if let p = a.string("positioning") { s.positioning = try positioning(p, option: "positioning") }
        if let v = a.string("scoring") { s.scoring = try scoring(v, option: "scoring") }
        s.sinkChunks = try a.int("sinks", default: s.sinkChunks, in: 0...1024)
        if a.string("local") != nil {
            s.localChunks = try a.int("local", default: 0, in: 0...1024)
        } else {
            // A preset's local count shrinks with a smaller attention length rather than fill the window.
            s.localChunks = min(s.localChunks, s.localChunksLeavingAChoice)
        }
        s.representatives = try a.int("representatives", default: s.representatives, in: 0...65536)
        if let k = a.string("kv") {
            guard let v = KVPrecision(rawValue: k) else { throw UsageError("--kv must be f16, f32, int8 or k8v4, got '\(k)'") }
            s.precision = v
        }
        try applyQuestionOptions(a, to: &s)
        return s
    }

    /// Applies the question options present in `a` to `s`.
    static func applyQuestionOptions(_ a: ParsedArguments, to s: inout LongHeadsSettings) throws {
        s.questionAttentionLength = try a.int("question-length", default: s.questionAttentionLength, in: 1...1 << 20)
        if a.string("question-local") != nil { s.questionLocalChunks = try a.int("question-local", default: 0, in: 0...1024) }
        if let p = a.string("question-positioning") { s.questionPositioning = try positioning(p, option: "question-positioning") }
        if let q = a.string("question-scoring") { s.questionScoring = try scoring(q, option: "question-scoring") }
        if let v = a.string("question-per-kv-head") {
            guard v == "yes" || v == "no" else { throw UsageError("--question-per-kv-head must be yes or no, got '\(v)'") }
            s.questionSelectionPerKVHead = v == "yes"
        }
        if let g = a.string("question-select") { s.questionGranularity = try granularity(g, option: "question-select") }
    }

    static func scoring(_ v: String, option: String) throws -> ChunkScoring {
        guard let s = ChunkScoring(rawValue: v) else {
            throw UsageError("--\(option) must be summaries, max-key, quest, reps or reps-mean, got '\(v)'")
        }
        return s
    }

    static func granularity(_ g: String, option: String) throws -> SelectionGranularity {
        guard let v = SelectionGranularity(rawValue: g) else { throw UsageError("--\(option) must be token or block, got '\(g)'") }
        return v
    }

    static func positioning(_ p: String, option: String) throws -> ChunkPositioning {
        guard let v = ChunkPositioning(argument: p) else {
            throw UsageError("--\(option) must be contiguous, true, self-extend:N or clipped:N, got '\(p)'")
        }
        return v
    }

    /// One-line description for progress output.
    static func describe(_ s: LongHeadsSettings) -> String {
        "w=\(s.chunkSize) A=\(s.attentionLength) Aq=\(s.questionAttentionLength) select=\(s.granularity.rawValue) "
            + (s.scoring == .summaries ? "" : "prefill-scoring=\(s.scoring.rawValue) ") + "positioning=\(s.positioning.argument)/\((s.questionPositioning ?? s.positioning).argument) sinks=\(s.sinkChunks) local=\(s.localChunks)\(s.questionLocalChunks.map { "/\($0)" } ?? "") kv=\(s.precision.rawValue) "
            + "scoring=\(s.questionScoring.rawValue)\(s.questionSelectionPerKVHead ? "/kv-head" : "")"
            + (s.representatives > 0 ? " reps=\(s.representatives)" : "")
            + (s.questionGranularity == .block ? " question-select=block" : "")
    }
}
