// Opens a .lhx bundle for questions: checks it against the model, maps it, answers from the document state.
import Foundation
import LHCore
import LHEngine
import LHModel

/// A document span that received attention while answering.
public struct Citation: Codable, Equatable, Sendable {
    /// The document: its path relative to the corpus, without `.lhx`.
    public var document: String
    /// Chunk index in the document.
    public var chunk: Int
    /// 1-based first and last line of the span in the source.
    public var firstLine: Int
    public var lastLine: Int
    /// This chunk's share of the attention the answer paid beyond the baseline (see `IndexReader.ask`), 0...1.
    public var weight: Double
    /// Up to 200 characters of the span's text from its first line or sentence start, whole words,
    /// whitespace collapsed (`CitationExcerpt`).
    public var excerpt: String
}

/// One answered question.
public struct AnswerResult: Codable, Sendable {
    public var question: String
    public var answer: String
    /// Generated tokens.
    public var tokens: Int
    /// Seconds from the start of the question to the end of the answer.
    public var seconds: Double
    /// Seconds from the start of the question to the first answer token.
    public var firstTokenSeconds: Double
    /// Block cache activity during this question.
    public var cache: CacheStatistics
    /// Spans the heads attended most, when asked for.
    public var citations: [Citation]?
    /// `stop` when the model ended its answer, `length` when `maxTokens` cut it, `stopped` when the caller's
    /// `isStopped` did.
    public var finishReason: FinishReason = .length
    /// Diagnostics (`recordSelections`): the chunks each (layer, query head) selected for the last question
    /// token, per model layer then head; nil where a layer selects nothing (sliding-window layers).
    public var questionSelections: [[[Int]?]]?
}

/// One bundle, or a corpus of bundles, opened for asking. Questions reuse the mapped files and the block
/// cache; each starts from the documents' state (question tokens of one never reach the next).
///
/// A corpus's documents are laid end to end in the order given (`CorpusChunkStore`): every head of every
/// question and answer token selects its chunks among all of theirs, and the question continues the last
/// document. All must share the model and the document settings.
public final class IndexReader {
    /// The documents, in corpus order.
    public let documents: [IndexedDocument]
    /// The keys, values and summaries questions read: the single document's store, or the corpus's.
    public let store: any AnswerStore
    public let languageModel: LanguageModel
    /// Tokens before the question: the document's, or the corpus's chunks laid end to end.
    public let tokens: Int
    private let forward: ForwardPass

    /// The first document's directory.
    public var directory: String { documents[0].directory }
    /// Diagnostic ("oracle"): corpus chunks every question and answer token's window must contain, whatever
    /// their scores (e.g. the chunk holding a planted fact). Empty in normal use.
    public var oracleChunks: [Int] = []
    /// The first document's metadata (model and settings are every document's).
    public var metadata: IndexMetadata { documents[0].metadata }
    /// The first document's chunk table.
    public var chunks: [ChunkSpan] { documents[0].chunks }

    /// Opens `directory` (a `.lhx` bundle) for `languageModel`.
    /// - Throws: `LHError` naming the file and the problem: not an index, unsupported version, incomplete,
    ///   built with another model, corrupt headers.
    public convenience init(directory: String, languageModel: LanguageModel, cacheBytes: Int = BlockCache.defaultCapacityBytes) throws {
        let name = ((directory as NSString).lastPathComponent as NSString).deletingPathExtension
        try self.init(bundles: [(directory, name)], languageModel: languageModel, cacheBytes: cacheBytes)
    }

    /// Opens `bundles` (directory and citation name each) as one corpus, in that order, sharing one block
    /// cache of `cacheBytes`. With `modelSHA256` (the whole model file's, e.g. from `ModelHashCache`) a model
    /// damaged where the fingerprint does not look is refused too.
    /// - Throws: `LHError` as `init(directory:…)`, or `.invalidInput` naming two bundles whose settings differ.
    public init(bundles: [(directory: String, name: String)], languageModel: LanguageModel,
                cacheBytes: Int = BlockCache.defaultCapacityBytes, modelSHA256: String? = nil) throws {
        guard !bundles.isEmpty else { throw LHError.invalidInput("no index to open") }
        var docs: [IndexedDocument] = []
        var memory: BlockMemory?
        let fingerprint = ModelFingerprint.fingerprint(languageModel.model.gguf.file)
        for (i, b) in bundles.enumerated() {
            let doc = try IndexedDocument(directory: b.directory, name: b.name, languageModel: languageModel,
                                          memory: memory, cacheBytes: cacheBytes, cacheKeyBase: i << 40, sealed: i < bundles.count - 1,
                                          modelFingerprint: fingerprint, modelSHA256: modelSHA256)
            memory = memory ?? doc.store.memory
            if let first = docs.first, let d = first.metadata.settings.firstDifference(from: doc.metadata.settings, documentOnly: true) {
                throw LHError.invalidInput("\(first.directory) and \(doc.directory) were built with different settings (\(d.field) \(d.mine) and \(d.theirs)); rebuild one of them with the other's options")
            }
            docs.append(doc)
        }
        documents = docs
        self.languageModel = languageModel
        if docs.count == 1 {
            store = docs[0].store
        } else {
            store = try CorpusChunkStore(documents: docs.map(\.store), prefixTokens: docs.map(\.metadata.document.prefixTokens),
                                         openChunk: { try docs[$0].openChunk() }, sealedRows: { try docs[$0].readSealedRows() },
                                         model: languageModel.model)
        }
        tokens = (store as? CorpusChunkStore)?.tokens ?? docs[0].metadata.document.tokens
        forward = ForwardPass(model: languageModel.model)
        questionSettings = docs[0].metadata.settings
        // Over several documents, two question defaults differ from one document's (a question option, or a
        // corpus whose bundles store other question settings, keeps its own; docs/longheads-on-small-models.md):
        // - positioning: separately built documents lie at no distance from each other that the model could read,
        //   and Self-Extend would squeeze a large corpus's distances by a factor of hundreds, so the chosen chunks
        //   are placed one after another (Gemma 3 270M, pass key in one of 20 documents at 128k: 10/10 against 9/10);
        // - selection once per block of question tokens: each token choosing among thousands of chunks loads many
        //   more distinct blocks than among one document's (first token over 1.07M tokens in 200 documents, quiet:
        //   0.74-0.76 s against 1.05-1.17 s, its largest document alone 0.76-0.83 s; pass keys 10/10 at 32k and 128k either way).
        let standard = LongHeadsSettings.standard.fitted(trainedContext: languageModel.model.config.contextLength)
        if docs.count > 1 {
            if questionSettings.questionPositioning == standard.questionPositioning { questionSettings.questionPositioning = .contiguous }
            if questionSettings.questionGranularity == standard.questionGranularity { questionSettings.questionGranularity = .block }
        }
    }

    /// Settings for questions and answers: the index's, unless changed with `setQuestionSettings`; over several
    /// documents, contiguous positioning and selection per block of question tokens where the index keeps the
    /// standard ones (fitted to the model).
    public private(set) var questionSettings: LongHeadsSettings

    /// Reads questions with other question-time settings (question attention length, positioning,
    /// scoring, per-KV-head selection) over the same index.
    /// - Throws: `LHError.invalidInput` when `s` differs from the index in a document setting, or is invalid.
    public func setQuestionSettings(_ s: LongHeadsSettings) throws {
        guard s.documentSettings == metadata.settings.documentSettings else {
            throw LHError.invalidInput("\(directory): only question-time settings can change at ask time; the index was built with different document settings")
        }
        try s.validate(trainedContext: languageModel.model.config.contextLength)
        questionSettings = s
    }

    /// Tokens appended after the document for `question`: the question as plain text (never control
    /// tokens), then the template's assistant opener.
    public func questionTokens(_ question: String) -> [Int32] { Self.questionTokens(question, languageModel: languageModel) }

    /// `questionTokens` for `lm`: what ask appends after any document.
    public static func questionTokens(_ question: String, languageModel lm: LanguageModel) -> [Int32] {
        lm.tokenizer.encode("\n\nQuestion: " + question, parseSpecial: false)
            + lm.tokenizer.encode(lm.chatTemplate.assistantPrefix, parseSpecial: true)
    }

    /// Answers `question`, streaming text through `onText`. With `cite`, traces for the last question token
    /// and every answer token the attention each (layer, head) gave each document chunk of its window, then
    /// (after the answer) the same for a question that asks nothing, and returns at most `citationCount`
    /// chunks whose attention beyond that baseline stood out (`CitationEvidence`), most first; none when
    /// no chunk did. `citationThreshold` is the excess a chunk needs (0: the top chunks whatever they got).
    /// `isStopped` is asked after the question is read and after every answer token: when it says true the
    /// answer ends there (what was streamed stays the answer) with finish reason `stopped`. A non-empty
    /// `answerStart` is read after the assistant opener as the start of the answer, which the model continues; it
    /// is streamed first and is part of the answer's text (not of its token count).
    ///
    /// With `reread` > 0 the answer is not read from the index: the `reread` chunks the question's last token
    /// attended to most beyond the baseline are read again as text, in document order, with the question after
    /// them, by the model's own dense attention inside its trained context (`rereadText`), and the answer
    /// continues from that prompt. Citations are then those chunks, ranked by the question's attention.
    public func ask(_ question: String, answerStart: String = "", maxTokens: Int, sampling: SamplingOptions = SamplingOptions(temperature: 0),
                    cite: Bool = false, citationCount: Int = 3, citationThreshold: Double = CitationEvidence.standOut,
                    reread: Int = 0, recordSelections: Bool = false, isStopped: () -> Bool = { false },
                    onText: (String) -> Void = { _ in }) throws -> AnswerResult {
        let began = Date()
        let before = store.cacheStatistics
        try store.truncateToDocument()
        let n = tokens
        let engine = try questionEngine()
        engine.oracleChunks = oracleChunks
        let q = questionTokens(question)
            + (answerStart.isEmpty ? [] : languageModel.tokenizer.encode(answerStart, parseSpecial: false))
        // The question must fit one question window; question and answer together must fit the room the
        // bundle reserves after the document for question-time chunks.
        let window = questionSettings.questionAttentionLength
        guard q.count <= window else {
            throw LHError.invalidInput("the question is \(q.count) tokens, longer than the question window of \(window) tokens")
        }
        let room = (BundleFormat.questionChunkRoom - 1) * questionSettings.chunkSize
        guard q.count + maxTokens <= room else {
            throw LHError.invalidInput("the question (\(q.count) tokens) and up to \(maxTokens) answer tokens exceed the \(room) tokens an index reserves after the document; lower -n")
        }
        let documentChunks = (n + questionSettings.chunkSize - 1) / questionSettings.chunkSize
        var evidence = CitationEvidence(documentChunks: documentChunks)
        func collect() { evidence.record(selections: engine.tracedMassChunks, masses: engine.tracedAttentionMass) }
        if cite || recordSelections || reread > 0 { engine.tracePosition = n + q.count - 1 }
        var logits = forward.runLast(q, cache: engine)
        if let e = store.takeError() { throw e }
        let selections = recordSelections ? engine.tracedSelections : nil
        if cite || reread > 0 { collect() }
        // The cache answer tokens read: the index, or the re-read chunks' dense prompt.
        var cache: AttentionCache = engine
        if reread > 0 {
            try recordBaseline(&evidence)
            let chunks = evidence.standingOut(count: reread, threshold: 0).map(\.chunk)
            let prompt = TokenizedDocument(text: try rereadText(chunks: chunks), languageModel: languageModel).tokens + q
            guard prompt.count <= languageModel.model.config.contextLength else {
                throw LHError.invalidInput("\(reread) re-read chunks and the question are \(prompt.count) tokens, more than the model's \(languageModel.model.config.contextLength); lower --reread")
            }
            cache = languageModel.model.makeDenseCache()
            logits = forward.runLast(prompt, cache: cache)
        }
        var sampler = Sampler(answering: sampling, tokenizer: languageModel.tokenizer)
        var decoder = StreamingDecoder(tokenizer: languageModel.tokenizer)
        // A base model's answer ends where it starts a question of its own.
        var stopText = languageModel.chatTemplate.answerStop.map { StopText(stop: $0) }
        func show(_ piece: String) {
            let visible = stopText != nil ? stopText!.append(piece) : piece
            text += visible
            onText(visible)
        }
        var out: [Int32] = []
        var text = ""
        if !answerStart.isEmpty { show(answerStart) }
        var firstTokenAt: Date?
        var finish = FinishReason.length
        while out.count < maxTokens {
            if isStopped() { finish = .stopped; break }
            let t = sampler.sample(logits)
            if firstTokenAt == nil { firstTokenAt = Date() }
            if languageModel.tokenizer.isEndOfGeneration(t) { finish = .stop; break }
            out.append(t)
            sampler.accept(t)
            show(decoder.append(t))
            if stopText?.stopped == true { finish = .stop; break }
            if out.count == maxTokens { break }
            let traced = cite && reread == 0
            if traced { engine.tracePosition = engine.count }
            logits = forward.runLast([t], cache: cache)
            if let e = store.takeError() { throw e }
            if traced { collect() }
        }
        show(decoder.finish())
        if let rest = stopText?.finish() {
            text += rest
            onText(rest)
        }
        let end = Date()
        if cite && reread == 0 { try recordBaseline(&evidence) }
        return AnswerResult(question: question, answer: text, tokens: out.count, seconds: end.timeIntervalSince(began),
                            firstTokenSeconds: (firstTokenAt ?? end).timeIntervalSince(began),
                            cache: store.cacheStatistics.since(before),
                            citations: cite ? try citations(evidence: evidence, count: citationCount, threshold: citationThreshold) : nil,
                            finishReason: finish, questionSelections: selections)
    }

    /// A LongHeads cache continuing the documents with question settings; a trace it records leaves out the
    /// first document's template prefix, the corpus's attention sink.
    private func questionEngine() throws -> LongHeadsAttention {
        let engine = try EngineAdapter.make(model: languageModel.model, settings: questionSettings, store: store,
                                            startingAt: tokens, openChunk: try documents[documents.count - 1].openChunk())
        engine.questionStart = tokens
        engine.traceSkippedRows = documents[0].metadata.document.prefixTokens
        return engine
    }

    /// Records in `evidence` the baseline: the last token of `CitationEvidence.neutralQuestion` asked of the
    /// document and the first `CitationEvidence.baselineAnswerTokens` tokens of its greedy answer, averaged
    /// per (layer, head). Leaves the question's tokens in the store (the next question truncates them).
    func recordBaseline(_ evidence: inout CitationEvidence) throws {
        try store.truncateToDocument()
        let engine = try questionEngine()
        let q = questionTokens(CitationEvidence.neutralQuestion)
        engine.tracePosition = tokens + q.count - 1
        var logits = forward.runLast(q, cache: engine)
        var traced = [CitationEvidence.observation(selections: engine.tracedMassChunks, masses: engine.tracedAttentionMass)]
        for _ in 0..<CitationEvidence.baselineAnswerTokens {
            let t = Int32(logits.withUnsafeBufferPointer { Sampler.argmax($0) })
            if languageModel.tokenizer.isEndOfGeneration(t) { break }
            engine.tracePosition = engine.count
            logits = forward.runLast([t], cache: engine)
            traced.append(CitationEvidence.observation(selections: engine.tracedMassChunks, masses: engine.tracedAttentionMass))
        }
        if let e = store.takeError() { throw e }
        evidence.baseline = CitationEvidence.Observation.mean(traced)
    }

    /// The chunks that stood out (`CitationEvidence.standingOut`), most first, as line spans with excerpts
    /// naming their document.
    func citations(evidence: CitationEvidence, count: Int, threshold: Double) throws -> [Citation] {
        if let path = ProcessInfo.processInfo.environment["LHINDEX_CITE_TRACE"] { evidence.dump(to: path) }
        return try evidence.standingOut(count: count, threshold: threshold).compactMap { c, share in
            guard let (i, j, s) = documentChunk(c) else { return nil }
            let doc = documents[i], src = try doc.source()
            let bytes = src[s.byteRange(inSourceOf: src.count)]
            let lines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            return Citation(document: doc.name, chunk: j, firstLine: s.firstLine,
                            lastLine: s.firstLine + max(0, lines - (bytes.last == 0x0A ? 1 : 0)),
                            weight: share, excerpt: CitationExcerpt.excerpt(src, range: s.byteStart..<s.byteEnd))
        }
    }

    /// The document holding corpus chunk `c`, the chunk's index in it and its span; nil for a chunk of the
    /// question's tokens.
    func documentChunk(_ c: Int) -> (document: Int, chunk: Int, span: ChunkSpan)? {
        let first = (store as? CorpusChunkStore)?.firstChunks ?? [0]
        let i = first.lastIndex { $0 <= c }!, j = c - first[i]
        return j < documents[i].chunks.count ? (i, j, documents[i].chunks[j]) : nil
    }
}

/// A store questions can be asked of: one document's (`FileChunkStore`) or a corpus's (`CorpusChunkStore`).
public protocol AnswerStore: ChunkStore {
    /// Restores the documents' state after a question.
    func truncateToDocument() throws
    /// The first error a block read met since the last call (reads cannot throw), cleared.
    func takeError() -> LHError?
    /// Counters of the block cache.
    var cacheStatistics: CacheStatistics { get }
}

extension FileChunkStore: AnswerStore {
    public var cacheStatistics: CacheStatistics { cache.statistics }
}

extension CorpusChunkStore: AnswerStore {}
