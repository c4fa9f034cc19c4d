// Runs the haystack tasks as a user would: one document built once with the index builder, then one question
// per planted fact through IndexReader.ask (LongHeads); dense attention and the sliding window prefill the
// same tokens once in memory and answer the same questions after them.
import Foundation
import LHCore
import LHModel
import LHEngine
import LHStore

/// One answered question of a haystack document: a line of `--trials-out`.
public struct HaystackTrial: Sendable, Codable {
    public var configuration: String
    public var mode: AttentionMode
    public var task: String
    /// Target document length in tokens (the table's column).
    public var length: Int
    /// Document tokens (template prefix included).
    public var tokens: Int
    /// Document seed.
    public var seed: Int
    public var question: String
    public var expected: [String]
    public var depth: Double
    public var answer: String
    public var correct: Bool
    /// LongHeads: of all (layer, query head) windows of the last question token, how many held a chunk of
    /// every sentence the answer needs (selection recall), and how many windows there were.
    public var needleWindows: Int?
    public var windows: Int?
    /// Seconds of this question (prefill of the question, answer).
    public var seconds: Double
    /// Seconds spent building or prefilling the document, counted once per document (on its first question).
    public var documentSeconds: Double
}

/// Builds (or reuses) each document's index under `workDirectory` and asks its questions.
public final class HaystackEvaluation {
    public let languageModel: LanguageModel
    public let sampling: SamplingOptions
    /// Where bundles are kept, so a rerun (or the other configurations) reuses each document's build.
    public let workDirectory: String
    /// Greedy tokens per answer.
    public let answerTokens: Int
    /// Lines of progress (builds), for standard error.
    public var note: (String) -> Void = { _ in }

    public init(languageModel: LanguageModel, sampling: SamplingOptions, workDirectory: String, answerTokens: Int) {
        self.languageModel = languageModel
        self.sampling = sampling
        self.workDirectory = workDirectory
        self.answerTokens = answerTokens
    }

    /// Asks every question of `document` with one configuration; `onTrial` sees each answer as it comes.
    public func run(_ document: HaystackDocument, length: Int, seed: Int, configuration c: SweepConfiguration,
                    onTrial: (HaystackTrial) -> Void = { _ in }) throws -> [HaystackTrial] {
        var results: [HaystackTrial] = []
        var documentSeconds = 0.0, tokens = 0
        func record(_ q: HaystackQuestion, answer: String, seconds: Double, recall: (Int, Int)? = nil) {
            let t = HaystackTrial(configuration: c.name, mode: c.mode, task: document.kind.rawValue, length: length, tokens: tokens,
                                  seed: seed, question: q.question, expected: q.expected, depth: q.depth, answer: answer,
                                  correct: q.isCorrect(answer), needleWindows: recall?.0, windows: recall?.1, seconds: seconds,
                                  documentSeconds: results.isEmpty ? documentSeconds : 0)
            results.append(t)
            onTrial(t)
        }
        let began = Date()
        switch c.mode {
        case .longheads:
            let reader = try index(document, length: length, seed: seed, settings: c.settings)
            if reader.questionSettings != c.settings { try reader.setQuestionSettings(c.settings) }
            documentSeconds = Date().timeIntervalSince(began)
            tokens = reader.tokens
            let chunks = reader.documents[0].chunks
            for q in document.questions {
                // The chunks holding each needed sentence (by the index's byte spans of its chunks).
                let needed = q.byteRanges.map { b in Set(chunks.filter { $0.byteStart < b.upperBound && b.lowerBound < $0.byteEnd }.map(\.chunk)) }
                reader.oracleChunks = c.oracle ? needed.flatMap { $0 }.sorted() : []
                let r = try reader.ask(q.question, maxTokens: answerTokens, sampling: sampling, recordSelections: true)
                let windows = (r.questionSelections ?? []).flatMap { $0 }.compactMap { $0 }
                // The question's own chunk is always read: a sentence there counts as held.
                let own = (reader.tokens - 1) / c.settings.chunkSize
                let held = windows.filter { sel in needed.allSatisfy { !$0.isDisjoint(with: sel + [own]) } }.count
                record(q, answer: r.answer, seconds: r.seconds, recall: (held, windows.count))
            }
        case .dense, .window:
            let model = languageModel.model
            let doc = TokenizedDocument(text: document.text, languageModel: languageModel).tokens
            tokens = doc.count
            let generator = Generator(languageModel: languageModel)
            let forward = ForwardPass(model: model)
            // One prefill of the document; `fresh()` gives a cache continuing it for one question.
            let fresh: () throws -> AttentionCache
            if c.mode == .dense {
                let cache = model.makeDenseCache()
                _ = forward.run(doc, cache: cache, logitRows: [])
                fresh = { cache.truncate(to: doc.count); return cache }
            } else {
                let settings = SlidingWindowAttention.settings(like: c.settings)
                let prefill = try LongHeadsAttention(model: model, settings: settings)
                _ = forward.run(doc, cache: prefill, logitRows: [])
                guard let store = prefill.store as? InMemoryChunkStore else { preconditionFailure("a fresh engine keeps its chunks in memory") }
                let state = prefill.openChunkState
                // Each question starts from the document's end: a question before it that completed the open
                // chunk sealed its keys in place (k5v4, k4v4), so the chunk is put back as the document left it.
                let open = store.snapshot(chunk: doc.count / settings.chunkSize)
                fresh = {
                    store.restore(open)
                    return try LongHeadsAttention(model: model, settings: settings, store: store, startingAt: doc.count, openChunk: state)
                }
            }
            documentSeconds = Date().timeIntervalSince(began)
            for q in document.questions {
                let t0 = Date()
                let out = generator.generate(prompt: IndexReader.questionTokens(q.question, languageModel: languageModel),
                                             maxTokens: answerTokens, sampling: sampling, cache: try fresh())
                record(q, answer: languageModel.tokenizer.decode(out), seconds: Date().timeIntervalSince(t0))
            }
        }
        return results
    }

    /// The document settings as index names spell them: their description without the question-time settings
    /// added after the first indexes were kept (nil in document settings), so adding one does not orphan them.
    static func nameDescription(_ doc: LongHeadsSettings) -> String {
        String(describing: doc).replacingOccurrences(of: ", answerAttentionLength: nil", with: "")
    }

    /// The index of `document` under the work directory, built now unless a current one is there (an
    /// interrupted build resumes).
    private func index(_ document: HaystackDocument, length: Int, seed: Int, settings: LongHeadsSettings) throws -> IndexReader {
        try Directory.create(workDirectory)
        let doc = settings.documentSettings
        // Named by the document's text too, so that a changed generator never reuses an index of another text.
        let name = "\(document.kind.rawValue)-\(length)-seed\(seed)-"
            + String(Self.nameDescription(doc).hashValueStable % 0xFFFF_FFFF, radix: 16) + "-"
            + String(document.text.hashValueStable % 0xFFFF_FFFF, radix: 16)
        let bundle = workDirectory + "/" + name + ".lhx"
        let builder = try IndexBuilder(languageModel: languageModel, model: ModelFingerprint.identity(of: languageModel),
                                       settings: doc)
        var lastNote = Date.distantPast
        let outcome = try builder.build(text: document.text, sourcePath: name + ".txt", bundle: bundle) { p in
            if Date().timeIntervalSince(lastNote) > 30 {
                lastNote = Date()
                self.note(String(format: "building %@: %d/%d tokens\n", name, p.doneTokens, p.totalTokens))
            }
            return true
        }
        if case .built(let n, _, let s) = outcome { note(String(format: "built %@: %d tokens in %.0f s\n", name, n, s)) }
        return try IndexReader(directory: bundle, languageModel: languageModel)
    }
}
