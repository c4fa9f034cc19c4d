// The LongHeads settings as command-line options, shared by eval, perplexity, bench, build and ask.
import LHCore
import LHEngine

/// The LongHeads settings options. Document options fix how a document is prefilled (and so an index);
/// question options only change how questions and answers read it, so `ask` accepts them too.
enum LongHeadsOptions {
    /// How a document is read; stored in its index. The common ones are document settings on help screens,
    /// the others advanced (`lhindex help settings`).
    static let documentSpecs: [OptionSpec] = [
        OptionSpec("chunk-size", value: "W", help: "Tokens per chunk, the unit each attention head chooses (default 256).", group: .document),
        OptionSpec("attn-length", value: "A", help: "How many tokens each head reads while the document is read, a multiple of the chunk size (default 2048).", group: .document),
        OptionSpec("local", value: "N", help: "How many of the latest chunks every head always reads while the document is read (default 4, fewer when the window leaves too little room).", group: .document),
        OptionSpec("kv", value: "k5v4|k4v4|k8v4|int8|f16|f32", help: "How keys and values are stored: k5v4 (default: keys in 40 levels per channel of each chunk, about 5 bits, and 4-bit values; about 0.35 of the size of f16, perplexity +0.7%), k4v4 (keys in 16 levels, about 3.6 bits, a document's first chunk in 8 bits; about 0.30 of f16, perplexity +0.8%), k8v4 (8-bit keys, 4-bit values, about 0.4), int8 (8-bit with a scale per row), f16 (half precision, 2.9 times the size of k5v4) or f32.", group: .document),
        OptionSpec("variant", value: "NAME", help: "Start from a preset: 'standard' (the default), 'paper' (the LongHeads paper: chunks of 256, a window of 4096, chunks chosen per token, contiguous positions, summary scores) or 'paper-block' (the paper's method, chunks chosen per block, a window of 2048).", group: .advanced),
        OptionSpec("select", value: "token|block", help: "Whether heads choose their chunks for every token of the document or once per block of tokens (default block).", group: .advanced),
        OptionSpec("positioning", value: "P", help: "The positions chosen chunks are read at: contiguous (one after another), true (their place in the document), self-extend:N or clipped:N (default contiguous).", group: .advanced),
        OptionSpec("scoring", value: "S", help: "How chunks are ranked for a head while the document is read: summaries, quest, max-key (reads every key of every candidate chunk: slow), reps or reps-mean (default summaries).", group: .advanced),
        OptionSpec("sinks", value: "N", help: "How many chunks at the start of the document every head always reads (default 1).", group: .advanced),
        OptionSpec("representatives", value: "R", help: "Keys kept per chunk and head for ranking chunks with --question-scoring reps: the R keys the chunk's own tokens attend to most (default 0, none).", group: .advanced),
    ]

    /// How questions and answers read an index; `build` stores them as the index's defaults, `ask` overrides them.
    static let questionSpecs: [OptionSpec] = [
        OptionSpec("question-length", value: "A", help: "How many tokens each head reads for question and answer tokens (default 8192, at most the model's trained length).", group: .question),
        OptionSpec("question-local", value: "N", help: "How many of the latest chunks every head always reads for question and answer tokens (default 1).", group: .question),
        OptionSpec("question-positioning", value: "P", help: "The positions chosen chunks are read at for question and answer tokens: contiguous, true, self-extend:N or clipped:N (default self-extend:2048; contiguous when several documents are asked).", group: .advanced),
        OptionSpec("question-scoring", value: "S", help: "How chunks are ranked for question and answer tokens: summaries, max-key (the best single key: reads every stored key for each token: over two minutes per question at 128k), quest, reps (the best of the chunk's representative keys; the document must be built with --representatives) or reps-mean (their mean) (default quest).", group: .advanced),
        OptionSpec("question-per-kv-head", value: "yes|no", help: "Whether the query heads that share keys and values choose their chunks together (default yes).", group: .advanced),
        OptionSpec("question-select", value: "token|block", help: "Whether the question's tokens choose their chunks one by one or once per block of them (block gives a faster first token; default token, block when several documents are asked).", group: .advanced),
        OptionSpec("answer-length", value: "A", help: "How many tokens each head reads for answer tokens after the first, at most the question length (the question's last token, which gives the first answer token, reads the question length; default: the question length).", group: .question),
        OptionSpec("answer-fresh", value: "N|all", help: "How many of its best-scored chunks each answer token after the first takes; it keeps the previous token's other chunks, so the blocks already read serve it again (all: every chunk chosen anew, as the paper does; default 16).", group: .advanced),
    ]

    /// What `build` accepts: the document settings, and the question settings as advanced ones (stored as the
    /// index's defaults, which `ask` overrides).
    static let buildSpecs = documentSpecs + questionSpecs.map { $0.grouped(.advanced) }

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
            guard let v = KVPrecision(rawValue: k) else { throw UsageError("--kv must be k5v4, k4v4, k8v4, int8, f16 or f32, got '\(k)'") }
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
        if a.string("answer-length") != nil { s.answerAttentionLength = try a.int("answer-length", default: 0, in: 1...1 << 20) }
        if let f = a.string("answer-fresh") {
            if f == "all" { s.answerFreshChunks = nil } else {
                guard let n = Int(f), n >= 0 else { throw UsageError("--answer-fresh must be a count of chunks (0 or more) or 'all', got '\(f)'") }
                s.answerFreshChunks = n
            }
        }
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
            + (s.answerSlots != s.questionSlots ? " Aa=\(s.answerSlots * s.chunkSize)" : "")
            + " answer-fresh=\(s.answerFreshChunks.map(String.init) ?? "all")"
    }
}
