// Bundles end to end on the tiny model: ask equals the in-memory engine, reuse, resume, corruption, model checks.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class IndexTests: XCTestCase {
    let lm = StoreFixture.languageModel

    func build(_ text: String, settings: LongHeadsSettings = StoreFixture.settings(), dir: String? = nil,
               stopAfter: Int? = nil) throws -> (String, BuildOutcome) {
        let bundle = (dir ?? StoreFixture.tempDir()) + "/doc.txt.lhx"
        let b = try StoreFixture.builder(settings)
        let outcome = try b.build(text: text, sourcePath: "doc.txt", bundle: bundle) { p in stopAfter.map { p.doneTokens < $0 } ?? true }
        return (bundle, outcome)
    }

    /// Greedy answer tokens of the in-memory engine: document in batches like the builder, then the question.
    func inMemoryAnswer(_ text: String, _ question: String, answerStart: String = "", settings: LongHeadsSettings, n: Int,
                        reader: IndexReader, compareSummaries: Bool = false) throws -> [Int32] {
        let doc = TokenizedDocument(text: text, languageModel: lm)
        let lh = try LongHeadsAttention(model: lm.model, settings: settings)
        lh.questionStart = doc.tokens.count
        let batch = try StoreFixture.builder(settings).batchTokens
        _ = ForwardPass(model: lm.model, batchSize: batch).run(doc.tokens, cache: lh, logitRows: [])
        let forward = ForwardPass(model: lm.model)
        var logits = forward.runLast(reader.questionTokens(question) + lm.tokenizer.encode(answerStart, parseSpecial: false), cache: lh)
        var out: [Int32] = []
        while out.count < n {
            let t = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            if lm.tokenizer.isEndOfGeneration(t) { break }
            out.append(t)
            if out.count == n { break }
            logits = forward.runLast([t], cache: lh)
        }
        // The document's last chunk, completed by the question: its summaries need the stored queries.
        let c = doc.tokens.count / settings.chunkSize, d = lm.model.config.headDimension
        if compareSummaries, EngineAdapter.restoresOpenChunk, doc.tokens.count % settings.chunkSize != 0, lh.count >= (c + 1) * settings.chunkSize {
            for l in 0..<lm.model.config.layerCount { for h in 0..<lm.model.config.headCount {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: reader.store.summaries(layer: l, head: h) + c * d, count: d)),
                               Array(UnsafeBufferPointer(start: lh.store.summaries(layer: l, head: h) + c * d, count: d)),
                               "summary of the document's last chunk \(c), layer \(l) head \(h)")
            } }
            let r = settings.representatives
            for l in 0..<lm.model.config.layerCount { for g in 0..<lm.model.config.kvHeadCount where r > 0 {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: reader.store.representatives(layer: l, kvHead: g) + c * r * d, count: r * d)),
                               Array(UnsafeBufferPointer(start: lh.store.representatives(layer: l, kvHead: g) + c * r * d, count: r * d)),
                               "representative keys of the document's last chunk \(c), layer \(l) KV head \(g)")
            } }
        }
        return out
    }

    func testAskEqualsInMemoryEngineAndReusesCache() throws {
        for (bytes, precision) in [(698, KVPrecision.f16), (413, .f32), (835, .f16), (835, .int8), (835, .k8v4), (835, .k5v4), (835, .k4v4)] {   // 704, 419, 841 tokens: aligned and not
            let settings = StoreFixture.settings(precision: precision)
            let text = StoreFixture.text(bytes: bytes, seed: UInt64(bytes))
            let (bundle, outcome) = try build(text, settings: settings)
            guard case .built = outcome else { return XCTFail("\(outcome)") }
            XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok, "\(IndexVerifier.verify(directory: bundle).problems)")
            let reader = try IndexReader(directory: bundle, languageModel: lm, cacheBytes: 64 << 20)
            let n = reader.metadata.document.tokens
            XCTAssertGreaterThan(n, 6 * settings.attentionLength)
            for q in ["where is the key?", "alpha beta gamma delta, and what else?"] {
                let a = try reader.ask(q, maxTokens: 48)
                let expected = try inMemoryAnswer(text, q, settings: settings, n: 48, reader: reader, compareSummaries: true)
                XCTAssertEqual(a.tokens, expected.count)
                XCTAssertEqual(a.answer, lm.tokenizer.decode(expected), "\(bytes) bytes, \(n) tokens (\(n % 16) in the last chunk), \(precision): '\(q)'")
            }
            // The same question again re-reads nothing: every block it selects is cached.
            let first = try reader.ask("where is the key?", maxTokens: 24)
            let again = try reader.ask("where is the key?", maxTokens: 24)
            XCTAssertEqual(first.answer, again.answer)
            XCTAssertEqual(again.cache.misses, 0)
            XCTAssertEqual(again.cache.bytesDecompressed, 0)
            XCTAssertGreaterThan(again.cache.hits, 0)
        }
    }

    /// An answer start is read after the assistant opener and continued: the answer is that text and the in-memory
    /// engine's continuation of the question followed by it; its tokens are not counted as answer tokens.
    func testAnswerStartIsReadAndContinued() throws {
        let settings = StoreFixture.settings(precision: .f16)
        let text = StoreFixture.text(bytes: 835, seed: 9)
        let (bundle, _) = try build(text, settings: settings)
        let reader = try IndexReader(directory: bundle, languageModel: lm, cacheBytes: 64 << 20)
        let start = "The key is"
        var streamed = ""
        let a = try reader.ask("where is the key?", answerStart: start, maxTokens: 24, onText: { streamed += $0 })
        let expected = try inMemoryAnswer(text, "where is the key?", answerStart: start, settings: settings, n: 24, reader: reader)
        XCTAssertEqual(a.answer, start + lm.tokenizer.decode(expected))
        XCTAssertEqual(streamed, a.answer)
        XCTAssertEqual(a.tokens, expected.count)
        let plain = try reader.ask("where is the key?", maxTokens: 24)
        XCTAssertNotEqual(plain.answer, a.answer)
    }

    /// Question-time settings changed at ask time (Quest scoring from the stored key bounds, representative
    /// keys from reps.f32, per-KV-head selection, a longer question window, other positioning) answer like the
    /// in-memory engine with them.
    func testQuestionSettingsOverIndexEqualInMemoryEngine() throws {
        let settings = StoreFixture.settings(precision: .f32)
        let text = StoreFixture.text(bytes: 835, seed: 5)
        let (bundle, _) = try build(text, settings: settings)
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok, "\(IndexVerifier.verify(directory: bundle).problems)")
        let reader = try IndexReader(directory: bundle, languageModel: lm, cacheBytes: 64 << 20)
        for (scoring, perKV, positioning, select) in [
            (ChunkScoring.quest, true, ChunkPositioning.selfExtend(neighborTokens: 32), SelectionGranularity.token),
            (.quest, false, .truePositions, .token), (.summaries, true, .contiguous, .token),
            (.quest, true, .selfExtend(neighborTokens: 32), .block),
            (.representatives, true, .selfExtend(neighborTokens: 32), .token),
            (.representatives, false, .truePositions, .token), (.representativesMean, true, .contiguous, .token),
        ] {
            var q = settings
            q.questionScoring = scoring
            q.questionSelectionPerKVHead = perKV
            q.questionPositioning = positioning
            q.questionGranularity = select
            q.questionAttentionLength = 2 * settings.attentionLength
            try reader.setQuestionSettings(q)
            let a = try reader.ask("where is the key?", maxTokens: 32)
            let expected = try inMemoryAnswer(text, "where is the key?", settings: q, n: 32, reader: reader)
            XCTAssertEqual(a.answer, lm.tokenizer.decode(expected), "\(scoring) per KV head \(perKV) \(positioning) \(select)")
        }
        var other = settings
        other.attentionLength *= 2
        XCTAssertThrowsError(try reader.setQuestionSettings(other)) { XCTAssertTrue("\($0)".contains("document settings"), "\($0)") }
    }

    /// An index without representative keys (built with --representatives 0, or before they existed: its
    /// settings decode with 0) has no reps.f32, verifies, answers, and refuses reps scoring in one sentence.
    func testIndexWithoutRepresentatives() throws {
        var settings = StoreFixture.settings(precision: .f16)
        settings.representatives = 0
        let (bundle, _) = try build(StoreFixture.text(bytes: 700, seed: 8), settings: settings)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bundle + "/" + BundleFormat.representativesFile))
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok, "\(IndexVerifier.verify(directory: bundle).problems)")
        let reader = try IndexReader(directory: bundle, languageModel: lm)
        XCTAssertNoThrow(try reader.ask("where is the key?", maxTokens: 4))
        var q = settings
        q.questionScoring = .representatives
        XCTAssertThrowsError(try reader.setQuestionSettings(q)) {
            XCTAssertTrue("\($0)".contains("needs representative keys"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n"), "\($0)")
        }
        // With them, the file is there and a missing one is reported by verify.
        let (withReps, _) = try build(StoreFixture.text(bytes: 700, seed: 8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: withReps + "/" + BundleFormat.representativesFile))
        try FileManager.default.removeItem(atPath: withReps + "/" + BundleFormat.representativesFile)
        XCTAssertTrue(IndexVerifier.verify(directory: withReps).problems.joined().contains("reps.f32"))
    }

    /// The document's open last chunk is kept as per-head output sums (H·d floats per layer), not as its
    /// queries (rows·H·d per layer), unless representative keys need the queries; either way a question that
    /// completes the chunk gives it the summaries of one uninterrupted run.
    func testOpenChunkIsKeptAsOutputSums() throws {
        let c = lm.model.config
        for reps in [0, 4] {
            var settings = StoreFixture.settings(precision: .f16)
            settings.representatives = reps
            let text = StoreFixture.text(bytes: 835, seed: 3)
            let (bundle, _) = try build(text, settings: settings)
            let db = try IndexDatabase.open(path: bundle + "/" + BundleFormat.database)
            let meta = try db.metadata()
            let rows = meta.document.tokens % settings.chunkSize
            XCTAssertGreaterThan(rows, 1)
            let open = try OpenChunkFile.read(directory: bundle, metadata: meta, content: try db.meta()[OpenChunkFile.contentKey])
            XCTAssertEqual(open.outputSums?.map(\.count), Array(repeating: c.embeddingLength, count: c.layerCount))
            XCTAssertEqual(open.queries?.map(\.count), reps > 0 ? Array(repeating: rows * c.embeddingLength, count: c.layerCount) : nil)
            let reader = try IndexReader(directory: bundle, languageModel: lm, cacheBytes: 64 << 20)
            let q = "alpha beta gamma delta, and what else?"
            let answer = try reader.ask(q, maxTokens: 40).answer   // leaves the completed chunk's summaries in the store
            let expected = try inMemoryAnswer(text, q, settings: settings, n: 40, reader: reader, compareSummaries: true)
            XCTAssertEqual(answer, lm.tokenizer.decode(expected), "representatives \(reps)")
        }
    }

    /// An index from before the output sums (tail.zst holding the open chunk's queries, no `tail_content`)
    /// opens, verifies and answers exactly as the same index with sums.
    func testOlderIndexWithOpenChunkQueriesAnswersTheSame() throws {
        var settings = StoreFixture.settings(precision: .f16)
        settings.representatives = 0
        let text = StoreFixture.text(bytes: 835, seed: 11)
        let (bundle, _) = try build(text, settings: settings)
        let questions = ["where is the key?", "alpha beta gamma delta, and what else?"]
        let current = try IndexReader(directory: bundle, languageModel: lm)
        let answers = try questions.map { try current.ask($0, maxTokens: 40).answer }
        // The open chunk's queries, as the older builder wrote them: the document through the engine in builder batches.
        let doc = TokenizedDocument(text: text, languageModel: lm)
        let engine = try LongHeadsAttention(model: lm.model, settings: settings)
        _ = ForwardPass(model: lm.model, batchSize: try StoreFixture.builder(settings).batchTokens).run(doc.tokens, cache: engine, logitRows: [])
        let payload = engine.openChunkQueries.flatMap { $0 }
        XCTAssertEqual(payload.count, lm.model.config.layerCount * (doc.tokens.count % settings.chunkSize) * lm.model.config.embeddingLength)
        let older = try copyBundle(bundle)
        let frame = try payload.withUnsafeBytes { try Zstd(level: 1).compressed($0) }
        try Data(frame).write(to: URL(fileURLWithPath: older + "/" + BundleFormat.tailFile))
        try SQLiteDatabase(path: older + "/" + BundleFormat.database).execute("DELETE FROM meta WHERE key = '\(OpenChunkFile.contentKey)'")
        let db = try IndexDatabase.open(path: older + "/" + BundleFormat.database, writable: true)
        try db.setMeta(try BundleChecksums.compute(directory: older).pairs)
        XCTAssertTrue(IndexVerifier.verify(directory: older).ok, "\(IndexVerifier.verify(directory: older).problems)")
        let reader = try IndexReader(directory: older, languageModel: lm)
        XCTAssertEqual(try questions.map { try reader.ask($0, maxTokens: 40).answer }, answers)
    }

    /// `isStopped` ends an answer where it is: the tokens streamed so far are the answer, finish reason `stopped`.
    func testAskStopsWhenTheCallerSays() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 700, seed: 4))
        let reader = try IndexReader(directory: bundle, languageModel: lm)
        let whole = try reader.ask("river?", maxTokens: 12)
        XCTAssertNotEqual(whole.finishReason, .stopped)
        XCTAssertGreaterThan(whole.tokens, 3, "the tiny model's answer ended too soon for this test")
        var pieces = 0
        let cut = try reader.ask("river?", maxTokens: 12, isStopped: { pieces == 3 }) { _ in pieces += 1 }
        XCTAssertEqual(cut.finishReason, .stopped)
        XCTAssertEqual(cut.tokens, 3)
        XCTAssertTrue(whole.answer.hasPrefix(cut.answer), "'\(cut.answer)' is not the start of '\(whole.answer)'")
        let none = try reader.ask("river?", maxTokens: 12, isStopped: { true })
        XCTAssertEqual(none.finishReason, .stopped)
        XCTAssertEqual(none.tokens, 0)
        XCTAssertEqual(none.answer, "")
    }

    func testCitationsPointIntoTheDocument() throws {
        let text = StoreFixture.text(bytes: 700, seed: 4)
        let (bundle, _) = try build(text)
        let reader = try IndexReader(directory: bundle, languageModel: lm)
        let r = try reader.ask("river?", maxTokens: 8, cite: true, citationThreshold: 0)
        let cites = try XCTUnwrap(r.citations)
        XCTAssertFalse(cites.isEmpty)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        for c in cites {
            XCTAssertTrue(1...lines ~= c.firstLine && c.firstLine <= c.lastLine, "\(c)")
            XCTAssertTrue(text.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(c.excerpt.replacingOccurrences(of: " …", with: "").prefix(40)), c.excerpt)
        }
    }

    func testInterruptedBuildResumesToTheSameBundle() throws {
        let text = StoreFixture.text(bytes: 900, seed: 9)
        let (whole, _) = try build(text)
        let dir = StoreFixture.tempDir()
        let (bundle, first) = try build(text, dir: dir, stopAfter: 200)
        guard case let .interrupted(done) = first else { return XCTFail("\(first)") }
        XCTAssertEqual(done, 256)
        XCTAssertTrue(FileManager.default.fileExists(atPath: IndexBuilder.partialPath(bundle)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: bundle))
        let (_, second) = try build(text, dir: dir)
        guard case let .built(_, resumed, _) = second else { return XCTFail("\(second)") }
        XCTAssertEqual(resumed, 256)
        XCTAssertFalse(FileManager.default.fileExists(atPath: IndexBuilder.partialPath(bundle)))
        for f in BundleFormat.files + [BundleFormat.representativesFile] where f != BundleFormat.database {
            XCTAssertEqual(FileManager.default.contents(atPath: whole + "/" + f), FileManager.default.contents(atPath: bundle + "/" + f), f)
        }
        // Building again is a no-op; a changed document is rebuilt.
        let (_, third) = try build(text, dir: dir)
        XCTAssertEqual(third, .upToDate(tokens: try IndexReader(directory: bundle, languageModel: lm).metadata.document.tokens))
        let (_, fourth) = try build(text + "more", dir: dir)
        guard case .built(_, 0, _) = fourth else { return XCTFail("\(fourth)") }
    }

    func copyBundle(_ bundle: String) throws -> String {
        let copy = StoreFixture.tempDir() + "/copy.lhx"
        try FileManager.default.copyItem(atPath: bundle, toPath: copy)
        return copy
    }

    func expectFailure(_ bundle: String, naming file: String, _ fragment: String, line: UInt = #line) {
        let r = IndexVerifier.verify(directory: bundle)
        XCTAssertFalse(r.ok, "verify passed a damaged \(file)", line: line)
        XCTAssertTrue(r.problems.contains { $0.contains(file) && $0.contains(fragment) }, "\(r.problems)", line: line)
        do {
            let reader = try IndexReader(directory: bundle, languageModel: lm)
            for _ in 0..<2 { _ = try reader.ask("where is the key?", maxTokens: 4) }
            if file == BundleFormat.kvFile { XCTFail("ask did not notice the damaged \(file)", line: line) }
        } catch let e as LHError {
            XCTAssertTrue(e.description.contains(file), e.description, line: line)
            XCTAssertFalse(e.description.contains("\n"), line: line)
        } catch { XCTFail("\(error)", line: line) }
    }

    func testDamagedBundlesFailWithOneLineErrorsNamingTheFile() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 700, seed: 5))
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok)
        // A flipped byte in the middle of the key/value frames.
        var b = try copyBundle(bundle)
        var kv = try Data(contentsOf: URL(fileURLWithPath: b + "/kv.zst"))
        kv[20] ^= 0x40                      // inside a frame of chunk 0, which every window holds
        try kv.write(to: URL(fileURLWithPath: b + "/kv.zst"))
        expectFailure(b, naming: "kv.zst", "checksum")
        // A truncated seek table.
        b = try copyBundle(bundle)
        let seek = try Data(contentsOf: URL(fileURLWithPath: b + "/kv.seek"))
        try seek.prefix(seek.count - 10).write(to: URL(fileURLWithPath: b + "/kv.seek"))
        expectFailure(b, naming: "kv.seek", "truncated")
        // A wrong application_id.
        b = try copyBundle(bundle)
        try SQLiteDatabase(path: b + "/index.sqlite").execute("PRAGMA application_id = 1234")
        expectFailure(b, naming: "index.sqlite", "application_id")
        // A missing file.
        b = try copyBundle(bundle)
        try FileManager.default.removeItem(atPath: b + "/summaries.f32")
        expectFailure(b, naming: "summaries.f32", "missing")
    }

    /// Chunk table rows are read from disk and index the source text: a byte range outside the source or
    /// backwards, a wrong token range or a line number below 1 is a one-line error from ask and from verify.
    func testBadChunkTableRowsAreRefusedNotRead() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 700, seed: 5))
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok)
        for (update, fragment) in [
            ("byte_end = byte_start - 1 WHERE chunk = 20", "row 20 has byte range"),
            ("byte_start = -200 WHERE chunk = 0", "row 0 has byte range"),
            ("byte_end = 1000000 WHERE chunk = 30", "row 30 has byte range"),
            ("first_line = 0 WHERE chunk = 0", "row 0 has first line"),
            ("token_end = 9999 WHERE chunk = 2", "row 2 has token range"),
        ] {
            let b = try copyBundle(bundle)
            try SQLiteDatabase(path: b + "/index.sqlite").execute("UPDATE chunks SET " + update)
            let r = IndexVerifier.verify(directory: b)
            XCTAssertTrue(r.problems.contains { $0.contains("index.sqlite") && $0.contains(fragment) }, "\(update): \(r.problems)")
            XCTAssertThrowsError(try IndexReader(directory: b, languageModel: lm).ask("river?", maxTokens: 4, cite: true), update) {
                XCTAssertTrue("\($0)".contains(b + "/index.sqlite: chunk table " + fragment), "\($0)")
                XCTAssertFalse("\($0)".contains("\n"))
            }
        }
        // A missing row.
        let b = try copyBundle(bundle)
        try SQLiteDatabase(path: b + "/index.sqlite").execute("DELETE FROM chunks WHERE chunk = 3")
        XCTAssertThrowsError(try IndexReader(directory: b, languageModel: lm)) { XCTAssertTrue("\($0)".contains("chunk table"), "\($0)") }
        XCTAssertFalse(IndexVerifier.verify(directory: b).ok)
    }

    /// A seek entry whose offset is near Int.max must not wrap around the bounds check.
    func testSeekEntryWithAnOffsetPastTheFileIsRefused() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 300, seed: 6))
        for offset in [UInt64(Int.max) - 8, UInt64.max - 8] {
            let b = try copyBundle(bundle)
            let url = URL(fileURLWithPath: b + "/kv.seek")
            var seek = try Data(contentsOf: url)
            withUnsafeBytes(of: offset.littleEndian) { seek.replaceSubrange(64..<72, with: $0) }   // entry 0: layer 0, KV head 0, chunk 0
            try seek.write(to: url)
            let r = IndexVerifier.verify(directory: b)
            XCTAssertTrue(r.problems.contains { $0.contains("kv.zst: truncated: frame of layer 0, KV head 0, chunk 0") }, "\(r.problems)")
        }
    }

    /// Every element type this reader knows opens (FORMAT.md §3); one it does not know (0, or 7, after k4v4's 6)
    /// is refused by name, even with a valid header CRC.
    func testUnknownElementTypeIsRefused() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 300, seed: 6))
        let known = KVPrecision.allCases.map(BundleFormat.elementCode)
        XCTAssertEqual(Set(known), Set(1...6))
        let url = URL(fileURLWithPath: bundle + "/kv.seek")
        for type in known + [0, 7] {
            var seek = try Data(contentsOf: url)
            var header = try seek.withUnsafeBytes { try SeekHeader(decoding: $0, path: url.path) }
            header.elementType = type
            seek.replaceSubrange(0..<64, with: header.encoded())
            let parsed = Result { try seek.withUnsafeBytes { try SeekHeader(decoding: $0, path: url.path) } }
            if known.contains(type) {
                XCTAssertEqual(try parsed.get().elementType, type)
            } else {
                XCTAssertThrowsError(try parsed.get()) { XCTAssertTrue("\($0)".contains("unknown element type \(type)"), "\($0)") }
            }
        }
    }

    func testAnotherModelIsRejected() throws {
        let (bundle, _) = try build(StoreFixture.text(bytes: 300, seed: 6))
        let other = try LanguageModel(path: try TinyModel.write(seed: 12))
        XCTAssertThrowsError(try IndexReader(directory: bundle, languageModel: other)) {
            XCTAssertTrue("\($0)".contains("built with model 'tiny-test'"), "\($0)")
        }
    }
}
