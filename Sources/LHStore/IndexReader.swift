// Opens a .lhx bundle for questions: checks it against the model, maps it, answers from the document state.
import Foundation
import LHCore
import LHEngine
import LHModel

/// A document span that received attention while answering.
public struct Citation: Codable, Equatable, Sendable {
    /// Chunk index.
    public var chunk: Int
    /// 1-based first and last line of the span in the source.
    public var firstLine: Int
    public var lastLine: Int
    /// Share of the attention weight (see `IndexReader.ask`) that landed on this chunk, 0...1.
    public var weight: Double
    /// The start of the span's text, whitespace collapsed.
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
}

/// A bundle opened for asking. Questions reuse the mapped files and the block cache; each starts from
/// the document state (question tokens of one never reach the next).
public final class IndexReader {
    public let directory: String
    public let metadata: IndexMetadata
    public let chunks: [ChunkSpan]
    public let store: FileChunkStore
    public let languageModel: LanguageModel
    private let openChunkQueries: [[Float]]
    private let forward: ForwardPass
    private var sourceBytes: [UInt8]?

    /// Opens `directory` (a `.lhx` bundle) for `languageModel`.
    /// - Throws: `LHError` naming the file and the problem: not an index, unsupported version, incomplete,
    ///   built with another model, corrupt headers.
    public init(directory: String, languageModel: LanguageModel, cacheBytes: Int = BlockCache.defaultCapacityBytes) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw LHError.io(path: directory, call: "open", errno: ENOENT)
        }
        guard isDir.boolValue else { throw LHError.badFile(path: directory, reason: "not an index (a .lhx bundle is a directory)") }
        self.directory = directory
        let db = try IndexDatabase.open(path: directory + "/" + BundleFormat.database)
        guard let state = try db.buildState(), state.complete else {
            throw LHError.badFile(path: db.path, reason: "the index build is not complete; rerun 'lhindex build'")
        }
        metadata = try db.metadata()
        chunks = try db.chunks()
        try ChunkSpan.validate(chunks, tokens: metadata.document.tokens, chunkSize: metadata.settings.chunkSize,
                               sourceBytes: metadata.document.sourceBytes, path: db.path)
        let m = metadata.model
        let file = languageModel.model.gguf.file
        guard ModelFingerprint.fingerprint(file) == m.fingerprint, languageModel.model.config == m.hyperparameters else {
            throw LHError.invalidInput("\(directory): built with model '\(m.name)' (sha256 \(m.sha256.prefix(12))…), not \(file.path); pass that model with -m or rebuild the index")
        }
        try metadata.settings.validate(trainedContext: languageModel.model.config.contextLength)
        self.languageModel = languageModel
        store = try FileChunkStore.openForReading(directory: directory, layout: metadata.layout, codec: metadata.codec,
                                                  cacheBytes: cacheBytes)
        guard store.seekHeader.tokens == metadata.document.tokens, chunks.count == store.seekHeader.chunks else {
            throw LHError.badFile(path: directory + "/" + BundleFormat.seekFile, reason: "token or chunk count does not match index.sqlite")
        }
        openChunkQueries = try Self.readTail(directory: directory, metadata: metadata)
        forward = ForwardPass(model: languageModel.model)
        questionSettings = metadata.settings
    }

    /// Settings for questions and answers: the index's, unless changed with `setQuestionSettings`.
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

    /// tail.zst: per layer the (tokens mod w, H·d) f32 queries of the document's open chunk.
    static func readTail(directory: String, metadata: IndexMetadata) throws -> [[Float]] {
        let path = directory + "/" + BundleFormat.tailFile
        let file = try MappedFile(path: path)
        let c = metadata.model.hyperparameters
        let rows = metadata.document.tokens % metadata.settings.chunkSize
        let perLayer = rows * c.embeddingLength
        let bytes = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path,
                                            limit: c.layerCount * perLayer * 4)
        guard bytes.count == c.layerCount * perLayer * 4 else {
            throw LHError.badFile(path: path, reason: "holds \(bytes.count) bytes, expected \(c.layerCount * perLayer * 4)")
        }
        return bytes.withUnsafeBytes { raw in
            let f = raw.bindMemory(to: Float.self)
            return (0..<c.layerCount).map { Array(f[($0 * perLayer)..<(($0 + 1) * perLayer)]) }
        }
    }

    /// The source text's bytes (decompressed from source.zst on first use).
    public func source() throws -> [UInt8] {
        if let s = sourceBytes { return s }
        let path = directory + "/" + BundleFormat.sourceFile
        let file = try MappedFile(path: path)
        let s = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path,
                                        limit: metadata.document.sourceBytes)
        guard s.count == metadata.document.sourceBytes else {
            throw LHError.badFile(path: path, reason: "holds \(s.count) bytes, the index says \(metadata.document.sourceBytes)")
        }
        sourceBytes = s
        return s
    }

    /// Tokens appended after the document for `question`: the question as plain text (never control
    /// tokens), then the template's assistant opener.
    public func questionTokens(_ question: String) -> [Int32] {
        let tk = languageModel.tokenizer
        return tk.encode("\n\nQuestion: " + question, parseSpecial: false)
            + tk.encode(languageModel.chatTemplate.assistantPrefix, parseSpecial: true)
    }

    /// Answers `question`, streaming text through `onText`. With `cite`, sums for the last question token,
    /// every answer token and every (layer, head) the attention weight given to each document chunk of
    /// the window (the sink chunks excluded), and returns the `citationCount` chunks with the most.
    public func ask(_ question: String, maxTokens: Int, sampling: SamplingOptions = SamplingOptions(temperature: 0),
                    cite: Bool = false, citationCount: Int = 3, onText: (String) -> Void = { _ in }) throws -> AnswerResult {
        let began = Date()
        let before = store.cache.statistics
        try store.truncateToDocument()
        let n = metadata.document.tokens
        let engine = try EngineAdapter.make(model: languageModel.model, settings: questionSettings, store: store,
                                            startingAt: n, openChunkQueries: openChunkQueries)
        engine.questionStart = n
        let q = questionTokens(question)
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
        var weights = [Double](repeating: 0, count: chunks.count)
        // Attention mass per document chunk: for the last question token and every answer token, the
        // weight each (layer, head) gave each document chunk of its window, summed over heads and tokens.
        // The sink chunks are left out: every window holds them and the first tokens take weight whatever
        // the question (attention sinks).
        let st = questionSettings
        func collect() {
            for (layerSel, layerMass) in zip(engine.tracedSelections, engine.tracedAttentionMass) {
                for (sel, mass) in zip(layerSel, layerMass) {
                    guard let sel, let mass else { continue }
                    for (j, m) in zip(sel, mass) where j >= st.sinkChunks && j < chunks.count { weights[j] += Double(m) }
                }
            }
        }
        if cite { engine.tracePosition = n + q.count - 1 }
        var logits = forward.runLast(q, cache: engine)
        if let e = store.takeError() { throw e }
        if cite { collect() }
        var sampler = Sampler(options: sampling)
        var decoder = StreamingDecoder(tokenizer: languageModel.tokenizer)
        var out: [Int32] = []
        var text = ""
        var firstTokenAt: Date?
        while out.count < maxTokens {
            let t = sampler.sample(logits)
            if firstTokenAt == nil { firstTokenAt = Date() }
            if languageModel.tokenizer.isEndOfGeneration(t) { break }
            out.append(t)
            let piece = decoder.append(t)
            text += piece
            onText(piece)
            if out.count == maxTokens { break }
            if cite { engine.tracePosition = engine.count }
            logits = forward.runLast([t], cache: engine)
            if let e = store.takeError() { throw e }
            if cite { collect() }
        }
        let rest = decoder.finish()
        text += rest
        onText(rest)
        let end = Date()
        return AnswerResult(question: question, answer: text, tokens: out.count, seconds: end.timeIntervalSince(began),
                            firstTokenSeconds: (firstTokenAt ?? end).timeIntervalSince(began),
                            cache: store.cache.statistics.since(before),
                            citations: cite ? try citations(weights: weights, count: citationCount) : nil)
    }

    /// The `count` chunks with the largest weights, as line spans with excerpts.
    func citations(weights: [Double], count: Int) throws -> [Citation] {
        let total = weights.reduce(0, +)
        guard total > 0 else { return [] }
        let src = try source()
        let top = weights.indices.filter { weights[$0] > 0 }.sorted { weights[$0] > weights[$1] || (weights[$0] == weights[$1] && $0 < $1) }.prefix(count)
        return top.sorted().map { c in
            let s = chunks[c]
            let bytes = src[min(s.byteStart, src.count)..<min(s.byteEnd, src.count)]
            let lines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let text = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            return Citation(chunk: c, firstLine: s.firstLine, lastLine: s.firstLine + max(0, lines - (bytes.last == 0x0A ? 1 : 0)),
                            weight: weights[c] / total, excerpt: String(text.prefix(160)))
        }
    }
}
