// Every LongHeads choice as one Codable value: chunk size, attention lengths, granularity, positioning, selection.
import LHCore

/// How often the chunk selection is recomputed while prefilling.
public enum SelectionGranularity: String, Sendable, Codable, CaseIterable {
    /// One selection per query token and head (the paper; slow on a CPU).
    case token
    /// One selection per (head, block of queries of one chunk), scored by the sum of q·s over the
    /// block's queries; attention then is a few dense products per head.
    case block
}

/// Which past chunks fill a head's window.
public enum ChunkSelection: String, Sendable, Codable, CaseIterable {
    /// The paper: sinks, the local chunk(s), and the highest-scoring others by q·s (chunk summaries).
    case summaries
    /// No scoring: sinks plus the most recent chunks (a chunk-granular sliding window, the baseline).
    case recent
}

/// Where the selected chunks sit in the window, i.e. the relative distance the query sees to each.
public enum ChunkPositioning: Sendable, Codable, Equatable {
    /// The paper: selected chunks side by side in slots 0, w, 2w, … in document order, the current
    /// chunk in the last slot.
    case contiguous
    /// Each selected chunk keeps its true distance from the query; distances beyond the model's
    /// trained context minus one chunk are clipped to it (all far chunks at one distance, as InfLLM).
    case truePositions
    /// True distances up to `neighborTokens`; farther distances divided by one group factor chosen per
    /// query chunk so the farthest chunk fits the trained context (Self-Extend-style; DESIGN §8's
    /// first crude attempt). Identical to `truePositions` while the document fits.
    case selfExtend(neighborTokens: Int)
    /// True distances up to `distance`; every farther chunk at exactly `distance` (InfLLM places all
    /// retrieved memory at one distance). `truePositions` is `clipped(trainedContext − w)`.
    case clipped(distance: Int)
}

/// How a query scores candidate chunks: `LongHeadsSettings.scoring` for document tokens,
/// `LongHeadsSettings.questionScoring` for question and answer tokens.
public enum ChunkScoring: String, Sendable, Codable, CaseIterable {
    /// The paper: q · s_i with the chunk summary s_i.
    case summaries
    /// Exact max over the chunk's keys of q · k̃_t (needs every candidate chunk's keys: an upper bound
    /// on what scoring can do, not an index-friendly method).
    case maxKey = "max-key"
    /// Quest's bound Σ_x max(q_x·min_x, q_x·max_x) over per-channel key minima and maxima of the chunk.
    case quest
    /// InfLLM-style representative keys: max over the chunk's r stored representative keys k̃ of q·k̃
    /// (`LongHeadsSettings.representatives`, chosen when the chunk completes; see `RepresentativeKeys`).
    case representatives = "reps"
    /// As `representatives`, with the mean over the r keys instead of the max (InfLLM sums them).
    case representativesMean = "reps-mean"
}

extension ChunkScoring {
    /// Whether the scoring reads the stored representative keys.
    public var usesRepresentatives: Bool { self == .representatives || self == .representativesMean }
}

/// Precision of the stored keys and values.
public enum KVPrecision: String, Sendable, Codable, CaseIterable {
    case f16
    case f32
    /// Symmetric int8 per stored row (one token's key or value for one KV head) with an f16 scale.
    case int8
    /// Keys as int8 rows; values rotated (`lh_rotate_row`) then as 4-bit rows (ggml's Q4_0 scale over the
    /// row), two codes per byte; one f16 scale per row. About 9 KB per token for the default model.
    case k8v4
    /// Values as k8v4's; keys as int8 rows while their chunk is open, then, once it is complete, as codes of 40
    /// levels per channel over the chunk's key bounds (`ChunkLayout.sealKeys`), one byte each, which zstd's entropy
    /// coding stores in about 5 bits. Keys and values take about 6.4 KB per token for the default model once
    /// compressed (FORMAT.md §8).
    case k5v4
    /// As k5v4 with 16 levels per channel (about 3.6 bits once compressed), except that a document's first chunk
    /// keeps int8 key rows: it holds the attention sink, whose key every token reads. Keys and values take about
    /// 5.4 KB per token for the default model, perplexity +0.81% (k5v4 +0.77%); one needle in 30 lost against
    /// k5v4 (FORMAT.md §8).
    case k4v4
}

/// The choices that differ between the document's tokens and the question's: window slots, local
/// chunks always taken, where the chunks sit, and how candidates are scored.
public struct WindowReading: Sendable, Equatable {
    /// Window slots of w tokens (the last holds the query's own chunk).
    public var slots: Int
    /// Most recent complete chunks always selected.
    public var locals: Int
    /// Where the selected chunks sit in the window.
    public var positioning: ChunkPositioning
    /// How candidate chunks are scored.
    public var scoring: ChunkScoring
}

/// The LongHeads configuration (DESIGN §2, §8). The paper's values are `LongHeadsSettings.paper`.
public struct LongHeadsSettings: Sendable, Codable, Equatable {
    /// Chunk size w in tokens.
    public var chunkSize: Int
    /// Attention length A while prefilling (the document): each head sees K = A / w chunks.
    public var attentionLength: Int
    /// Attention length for question and generated tokens (may differ from A; at most the trained context).
    public var questionAttentionLength: Int
    /// Prefill selection granularity.
    public var granularity: SelectionGranularity
    /// Selection granularity of the question's tokens (an answer token is one token either way): `token`
    /// selects per token; `block` once per chunk of question tokens, scored by the sum of their queries,
    /// so they attend one shared window (fewer blocks loaded, batched attention; a faster first token).
    public var questionGranularity: SelectionGranularity
    /// How past chunks are chosen.
    public var selection: ChunkSelection
    /// How selected chunks are positioned in the window.
    public var positioning: ChunkPositioning
    /// Positioning for question and generated tokens (nil: same as `positioning`). DESIGN §8: true
    /// positions at question time kept the key where contiguous slots lost it.
    public var questionPositioning: ChunkPositioning?
    /// Leading chunks always selected (attention sinks); 1 = chunk 0.
    public var sinkChunks: Int
    /// Most recent complete chunks always selected (local context); 1 = chunk c−1.
    public var localChunks: Int
    /// Local chunks for question and generated tokens (nil: same as `localChunks`).
    public var questionLocalChunks: Int?
    /// Storage precision of keys and values.
    public var precision: KVPrecision
    /// Chunk scoring for document tokens while prefilling (the paper: summaries). A block of queries is
    /// scored by the sum of its queries.
    public var scoring: ChunkScoring
    /// Chunk scoring for question and answer tokens.
    public var questionScoring: ChunkScoring
    /// Question and answer tokens select once per KV head (scores summed over the group's query heads),
    /// so the heads sharing keys load the same chunks; false selects per query head (the paper).
    public var questionSelectionPerKVHead: Bool
    /// How answer tokens after the first choose their chunks: nil selects all of them anew for every token
    /// (the paper); N takes the token's N best-scored chunks and keeps the previous token's other chunks, best
    /// first, while they are still candidates, so the window changes only where the scores say it must and the
    /// blocks already decompressed are read again (128k-token f16 index: 601 block misses per answer token →
    /// 141 with 16; docs/answer-decoding-2026-12-04.md).
    public var answerFreshChunks: Int?
    /// Attention length for answer tokens after the first (nil: `questionAttentionLength`; never more than it).
    /// The question's tokens, whose last one gives the first answer token, read the whole question window;
    /// the tokens that follow continue from what they found and read fewer chunks, so each costs less.
    public var answerAttentionLength: Int?
    /// Representative keys kept per (layer, KV head, complete chunk) for `ChunkScoring.representatives`
    /// (a document setting: they are chosen while prefilling and stored in the index); 0 keeps none.
    public var representatives: Int

    /// Memberwise initializer; call `validate(trainedContext:)` before use.
    public init(chunkSize: Int = 256, attentionLength: Int = 2048, questionAttentionLength: Int? = nil,
                granularity: SelectionGranularity = .block, selection: ChunkSelection = .summaries,
                positioning: ChunkPositioning = .contiguous, questionPositioning: ChunkPositioning? = nil, sinkChunks: Int = 1, localChunks: Int = 1,
                questionLocalChunks: Int? = nil,
                precision: KVPrecision = .f16, scoring: ChunkScoring = .summaries, questionScoring: ChunkScoring = .summaries,
                questionSelectionPerKVHead: Bool = false, questionGranularity: SelectionGranularity = .token,
                representatives: Int = 0, answerFreshChunks: Int? = nil, answerAttentionLength: Int? = nil) {
        self.chunkSize = chunkSize
        self.attentionLength = attentionLength
        self.questionAttentionLength = questionAttentionLength ?? attentionLength
        self.granularity = granularity
        self.selection = selection
        self.positioning = positioning
        self.questionPositioning = questionPositioning
        self.sinkChunks = sinkChunks
        self.localChunks = localChunks
        self.questionLocalChunks = questionLocalChunks
        self.precision = precision
        self.scoring = scoring
        self.questionScoring = questionScoring
        self.questionSelectionPerKVHead = questionSelectionPerKVHead
        self.questionGranularity = questionGranularity
        self.representatives = representatives
        self.answerFreshChunks = answerFreshChunks
        self.answerAttentionLength = answerAttentionLength
    }

    /// These settings with every question-time choice reset: two settings with the same document
    /// settings prefill a document identically, so one prefill serves both.
    public var documentSettings: LongHeadsSettings {
        var s = self
        s.questionAttentionLength = attentionLength
        s.questionPositioning = nil
        s.questionLocalChunks = nil
        s.questionScoring = .summaries
        s.questionSelectionPerKVHead = false
        s.questionGranularity = .token
        s.answerFreshChunks = nil
        s.answerAttentionLength = nil
        return s
    }

    /// The first setting in which `other` differs (its property name and both values), or nil when none
    /// does. With `documentOnly` question-time settings are left aside: nil then means the two read
    /// documents alike, so their chunks can share windows.
    public func firstDifference(from other: LongHeadsSettings, documentOnly: Bool = false)
        -> (field: String, mine: String, theirs: String)? {
        let a = documentOnly ? documentSettings : self, b = documentOnly ? other.documentSettings : other
        for (x, y) in zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children) where "\(x.value)" != "\(y.value)" {
            return (x.label ?? "?", "\(x.value)", "\(y.value)")
        }
        return nil
    }

    /// The paper's configuration: w = 256, A = 4096 (K = 16), per-token selection, contiguous slots,
    /// chunk 0 as sink, summaries. (The authors later advised A = 2048; set `attentionLength`.)
    public static let paper = LongHeadsSettings(chunkSize: 256, attentionLength: 4096, granularity: .token)

    /// The engine default, chosen by measurement (docs/longheads-on-small-models.md): the document is
    /// prefilled as the paper does with block-granular selection and A = 2048, but with the four most
    /// recent chunks always in the window (64k perplexity within 2.5% of its 4k figure, where one gives
    /// +10.6%); questions and answers read it through 8192-token windows with one local chunk, chunks
    /// scored by Quest's key bounds once per KV head, and chunk distances kept exact up to 2048 and
    /// compressed beyond (Self-Extend), so the window fits the trained context without re-packing. The
    /// paper's own reading (contiguous 2048-token windows, summary scores per query head, one local
    /// chunk) is `LongHeadsSettings()`. Keys and values are stored as k5v4 (FORMAT.md §8: 0.35 of f16's bytes at
    /// 128k, perplexity +0.67%, the pass-key and needle tables as f16's).
    public static let standard = LongHeadsSettings(questionAttentionLength: 8192,
                                                   questionPositioning: .selfExtend(neighborTokens: 2048),
                                                   localChunks: 4, questionLocalChunks: 1, precision: .k5v4,
                                                   questionScoring: .quest, questionSelectionPerKVHead: true,
                                                   answerFreshChunks: 16)

    /// Where question-time selection starts for a prompt of `promptTokens` whose first `documentTokens`
    /// are the document: the chunk boundary at or before the question, so that the document part can be
    /// prefilled on its own (and shared) and never ends mid-chunk. At least one token is left to ask with.
    public func questionStart(documentTokens: Int, promptTokens: Int) -> Int {
        min(documentTokens, promptTokens - 1) / chunkSize * chunkSize
    }

    /// These settings fitted to a model trained on `trainedContext` tokens (`fitted`), then validated.
    public func fittedAndValidated(trainedContext: Int) throws -> LongHeadsSettings {
        let s = fitted(trainedContext: trainedContext)
        try s.validate(trainedContext: trainedContext)
        return s
    }

    /// Slots per window while prefilling: K = A / w.
    public var slots: Int { attentionLength / chunkSize }
    /// Slots per window for question tokens.
    public var questionSlots: Int { questionAttentionLength / chunkSize }
    /// Slots per window for answer tokens after the first.
    public var answerSlots: Int { min(answerAttentionLength ?? questionAttentionLength, questionAttentionLength) / chunkSize }
    /// The most local chunks that leave at least one freely chosen chunk in a prefill window beside the
    /// sink chunks and the current one, but at least 1: what a preset's local count is lowered to when a
    /// smaller attention length is asked for without a local count.
    public var localChunksLeavingAChoice: Int { max(1, slots - sinkChunks - 2) }

    /// How the tokens of one phase read the past: the document's own tokens while prefilling
    /// (`question` false), or question and generated tokens; `answer` narrows the window to `answerSlots`
    /// for answer tokens after the first.
    public func reading(question: Bool, answer: Bool = false) -> WindowReading {
        question ? WindowReading(slots: answer ? answerSlots : questionSlots, locals: questionLocalChunks ?? localChunks,
                                 positioning: questionPositioning ?? positioning, scoring: questionScoring)
                 : WindowReading(slots: slots, locals: localChunks, positioning: positioning, scoring: scoring)
    }

    /// These settings with the question window and the Self-Extend neighbour window lowered, where they
    /// exceed it, to what a model trained on `trainedContext` tokens can take (the presets ask for 8192).
    public func fitted(trainedContext t: Int) -> LongHeadsSettings {
        var s = self
        let w = max(chunkSize, 1)
        if s.questionAttentionLength > t { s.questionAttentionLength = max(w, t / w * w) }
        if let a = s.answerAttentionLength, a > s.questionAttentionLength { s.answerAttentionLength = s.questionAttentionLength }
        func fit(_ p: ChunkPositioning) -> ChunkPositioning {
            if case let .selfExtend(n) = p, n + 2 * w > t { return .selfExtend(neighborTokens: max(0, (t - 2 * w) / 2 / w * w)) }
            if case let .clipped(n) = p, n + w > t { return .clipped(distance: max(w, (t - w) / w * w)) }
            return p
        }
        s.positioning = fit(s.positioning)
        s.questionPositioning = s.questionPositioning.map(fit)
        return s
    }

    /// Checks the settings against each other and the model's trained context.
    /// - Throws: `LHError.invalidInput` with a sentence naming the offending setting.
    public func validate(trainedContext: Int) throws {
        func fail(_ s: String) -> LHError { .invalidInput("LongHeads settings: " + s) }
        guard chunkSize >= 1 else { throw fail("chunk size must be positive, got \(chunkSize)") }
        for (name, a) in [("attention length", attentionLength), ("question attention length", questionAttentionLength),
                          ("answer attention length", answerAttentionLength ?? questionAttentionLength)] {
            guard a > 0, a % chunkSize == 0 else {
                throw fail("\(name) \(a) must be a positive multiple of the chunk size \(chunkSize)")
            }
            guard a <= trainedContext else {
                throw fail("\(name) \(a) exceeds the model's trained context of \(trainedContext)")
            }
        }
        if let n = answerFreshChunks, n < 0 { throw fail("fresh chunks per answer token must not be negative, got \(n)") }
        guard (0...chunkSize).contains(representatives) else {
            throw fail("representative keys per chunk must be in 0...\(chunkSize) (the chunk size), got \(representatives)")
        }
        if scoring.usesRepresentatives, representatives == 0 {
            throw fail("scoring '\(scoring.rawValue)' needs representative keys, but the document keeps none (representatives 0)")
        }
        if questionScoring.usesRepresentatives, representatives == 0 {
            throw fail("question scoring '\(questionScoring.rawValue)' needs representative keys, but the document keeps none (representatives 0; an index built before they existed has none: rebuild it)")
        }
        let readings = [("attention length", reading(question: false)), ("question attention length", reading(question: true)),
                        ("answer attention length", reading(question: true, answer: true))]
        guard sinkChunks >= 0, readings.allSatisfy({ $0.1.locals >= 0 }) else { throw fail("sink and local chunk counts must not be negative") }
        for (name, r) in readings {
            guard r.slots >= sinkChunks + r.locals + 1 else {
                throw fail("\(name) gives \(r.slots) slots of \(chunkSize) tokens; at least \(sinkChunks + r.locals + 1) are needed for \(sinkChunks) sink chunk(s), \(r.locals) local chunk(s) and the current chunk")
            }
        }
        for (_, r) in readings {
            switch r.positioning {
            case let .selfExtend(n):
                guard n >= 0, n + 2 * chunkSize <= trainedContext else {
                    throw fail("self-extend neighbour window \(n) must be in 0...\(trainedContext - 2 * chunkSize)")
                }
            case let .clipped(n):
                guard n >= chunkSize, n + chunkSize <= trainedContext else {
                    throw fail("clipped distance \(n) must be in \(chunkSize)...\(trainedContext - chunkSize)")
                }
            case .contiguous, .truePositions: break
            }
        }
    }
}

extension ChunkPositioning {
    /// Parses `contiguous`, `true`, `self-extend:N` or `clipped:N` (command-line spelling).
    public init?(argument s: String) {
        switch s {
        case "contiguous", "paper": self = .contiguous
        case "true", "true-positions": self = .truePositions
        default:
            if s.hasPrefix("self-extend:"), let n = Int(s.dropFirst("self-extend:".count)) {
                self = .selfExtend(neighborTokens: n)
            } else if s.hasPrefix("clipped:"), let n = Int(s.dropFirst("clipped:".count)) {
                self = .clipped(distance: n)
            } else {
                return nil
            }
        }
    }

    /// The command-line spelling.
    public var argument: String {
        switch self {
        case .contiguous: return "contiguous"
        case .truePositions: return "true"
        case let .selfExtend(n): return "self-extend:\(n)"
        case let .clipped(n): return "clipped:\(n)"
        }
    }
}

extension LongHeadsSettings {
    private enum CodingKeys: String, CodingKey {
        case chunkSize, attentionLength, questionAttentionLength, granularity, selection, positioning,
             questionPositioning, sinkChunks, localChunks, questionLocalChunks, precision, scoring, questionScoring, questionSelectionPerKVHead,
             questionGranularity, representatives, answerFreshChunks, answerAttentionLength
    }

    /// Decodes settings; the question-time scoring fields, added after the first indexes were written,
    /// default to the paper's choices when absent. `representatives`, added later still, defaults to 0
    /// when absent: settings written before it existed describe documents prefilled without them; so does
    /// the document `scoring` (summaries, the only prefill scoring before it was a setting).
    /// A key that is present must decode (a `null` or a value of the wrong type is an error, never the
    /// default), and a key this version does not know is an error: settings written by a newer lhindex
    /// must not be read as different settings.
    public init(from decoder: Decoder) throws {
        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        for key in try decoder.container(keyedBy: AnyKey.self).allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [key], debugDescription: "is not a setting this lhindex knows"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func optional<T: Decodable>(_ t: T.Type, _ key: CodingKeys) throws -> T? {
            c.contains(key) ? try c.decode(t, forKey: key) : nil
        }
        self.init(chunkSize: try c.decode(Int.self, forKey: .chunkSize),
                  attentionLength: try c.decode(Int.self, forKey: .attentionLength),
                  questionAttentionLength: try c.decode(Int.self, forKey: .questionAttentionLength),
                  granularity: try c.decode(SelectionGranularity.self, forKey: .granularity),
                  selection: try c.decode(ChunkSelection.self, forKey: .selection),
                  positioning: try c.decode(ChunkPositioning.self, forKey: .positioning),
                  questionPositioning: try optional(ChunkPositioning.self, .questionPositioning),
                  sinkChunks: try c.decode(Int.self, forKey: .sinkChunks),
                  localChunks: try c.decode(Int.self, forKey: .localChunks),
                  questionLocalChunks: try optional(Int.self, .questionLocalChunks),
                  precision: try c.decode(KVPrecision.self, forKey: .precision),
                  scoring: try optional(ChunkScoring.self, .scoring) ?? .summaries,
                  questionScoring: try optional(ChunkScoring.self, .questionScoring) ?? .summaries,
                  questionSelectionPerKVHead: try optional(Bool.self, .questionSelectionPerKVHead) ?? false,
                  questionGranularity: try optional(SelectionGranularity.self, .questionGranularity) ?? .token,
                  representatives: try optional(Int.self, .representatives) ?? 0,
                  answerFreshChunks: try optional(Int.self, .answerFreshChunks),
                  answerAttentionLength: try optional(Int.self, .answerAttentionLength))
    }
}
