// A corpus of bundles asked as one: its chunks laid end to end, checked against an in-memory store built from the bundles.
import CKernels
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class CorpusTests: XCTestCase {
    let lm = StoreFixture.languageModel

    /// A text of the fixture's words whose tokens (template prefix included) fill whole chunks of `w` iff
    /// `aligned`, found by lengthening the text.
    func text(seed: UInt64, bytes: Int, w: Int, aligned: Bool) -> String {
        var n = bytes
        while true {
            let t = StoreFixture.text(bytes: n, seed: seed)
            if (TokenizedDocument(text: t, languageModel: lm).tokens.count % w == 0) == aligned { return t }
            n += 1
        }
    }

    func build(_ text: String, name: String, settings: LongHeadsSettings, dir: String) throws -> String {
        let bundle = dir + "/" + name + ".lhx"
        _ = try StoreFixture.builder(settings).build(text: text, sourcePath: name, bundle: bundle) { _ in true }
        return bundle
    }

    /// Greedy answer tokens over `store`, which holds `tokens` tokens, the last document's open chunk `open`.
    func answer(_ question: [Int32], store: ChunkStore, tokens: Int, open: OpenChunkState, settings: LongHeadsSettings, n: Int) throws -> [Int32] {
        let engine = try LongHeadsAttention(model: lm.model, settings: settings, store: store, startingAt: tokens, openChunk: open)
        engine.questionStart = tokens
        let forward = ForwardPass(model: lm.model)
        var logits = forward.runLast(question, cache: engine)
        var out: [Int32] = []
        while out.count < n {
            let t = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            if lm.tokenizer.isEndOfGeneration(t) { break }
            out.append(t)
            logits = forward.runLast([t], cache: engine)
        }
        return out
    }

    /// The corpus of two bundles answers exactly as one in-memory store holding the first bundle's chunks
    /// and then the second's (keys, values, summaries, bounds, representative keys copied from the files),
    /// for every question setting that reads them differently.
    func testCorpusEqualsTheDocumentsLaidEndToEnd() throws {
        let base = StoreFixture.settings(precision: .f32)
        let w = base.chunkSize, dir = StoreFixture.tempDir()
        let first = try build(text(seed: 21, bytes: 500, w: w, aligned: true), name: "a", settings: base, dir: dir)
        let second = try build(text(seed: 22, bytes: 420, w: w, aligned: false), name: "b", settings: base, dir: dir)
        let reader = try IndexReader(bundles: [(first, "a"), (second, "b")], languageModel: lm, cacheBytes: 64 << 20)
        XCTAssertTrue(reader.store is CorpusChunkStore)
        // The reference: one in-memory store, the second document's chunks after the first's, the second's
        // template prefix hidden.
        let layout = reader.store.layout, d = layout.headDimension, r = layout.representatives
        let reference = HidingStore(InMemoryChunkStore(layout: layout), hidden: [reader.documents[0].metadata.document.tokens / w:
                                                                              reader.documents[1].metadata.document.prefixTokens])
        var offset = 0
        for doc in reader.documents {
            let s = try FileChunkStore.openForReading(directory: doc.directory, layout: layout, codec: doc.metadata.codec)
            let tokens = doc.metadata.document.tokens, complete = tokens / w
            reference.reserve(tokens: offset + tokens)
            var scratch = [Float](repeating: 0, count: 2 * w * d)
            for l in 0..<layout.layers {
                for g in 0..<layout.kvHeads {
                    for c in 0..<((tokens + w - 1) / w) {
                        let rows = min(w, tokens - c * w)
                        let blk = scratch.withUnsafeMutableBufferPointer { s.block(layer: l, kvHead: g, chunk: c, rows: rows, scratch: $0.baseAddress!) }
                        for t in 0..<rows {
                            reference.write(layer: l, kvHead: g, position: offset + c * w + t, key: blk.keys + t * d, value: blk.values + t * d)
                        }
                        guard c < complete else { continue }
                        // Key bounds over the rows attention may read.
                        let valid = reference.validRows(chunk: offset / w + c)
                        var bounds = [Float](repeating: 0, count: 2 * d)
                        bounds.withUnsafeMutableBufferPointer { KeyBounds.compute(keys: blk.keys + valid.lowerBound * d, rows: valid.count, d: d, out: $0.baseAddress!) }
                        XCTAssertTrue(valid != 0..<w || bounds == Array(UnsafeBufferPointer(start: s.boundFloats(layer: l, kvHead: g) + c * 2 * d, count: 2 * d)))
                        // The corpus keeps its bounds as halves rounded outward; the reference holds the same values.
                        var halves = [UInt16](repeating: 0, count: 2 * d)
                        lh_f32_to_f16_directed(bounds, &halves, Int64(d), 0)
                        halves.withUnsafeMutableBufferPointer { lh_f32_to_f16_directed(Array(bounds[d...]), $0.baseAddress! + d, Int64(d), 1) }
                        lh_f16_to_f32(halves, &bounds, Int64(2 * d))
                        reference.setKeyBounds(layer: l, kvHead: g, chunk: offset / w + c, bounds)
                        reference.setRepresentatives(layer: l, kvHead: g, chunk: offset / w + c, s.representatives(layer: l, kvHead: g) + c * r * d)
                    }
                }
                for h in 0..<layout.heads {
                    for c in 0..<complete { reference.setSummary(layer: l, head: h, chunk: offset / w + c, s.summaries(layer: l, head: h) + c * d) }
                }
            }
            offset += tokens
        }
        XCTAssertEqual(reader.tokens, offset)
        for (scoring, perKV) in [(ChunkScoring.quest, true), (.summaries, false), (.representatives, true)] {
            var q = base
            q.questionScoring = scoring
            q.questionSelectionPerKVHead = perKV
            q.questionPositioning = .selfExtend(neighborTokens: 32)
            try reader.setQuestionSettings(q)
            let question = "where is the key?"
            let got = try reader.ask(question, maxTokens: 40)
            let expected = try answer(reader.questionTokens(question), store: reference, tokens: offset,
                                      open: try reader.documents[1].openChunk(), settings: q, n: 40)
            XCTAssertEqual(got.answer, lm.tokenizer.decode(expected), "\(scoring)")
            XCTAssertGreaterThan(got.tokens, 4)
        }
    }

    /// A document that does not fill its last chunk, followed by another: that chunk is a past chunk of fewer
    /// tokens, given key bounds and summaries over its rows, and the corpus answers and cites both documents.
    func testShortLastChunkOfAnEarlierDocument() throws {
        let settings = StoreFixture.settings(precision: .f16)
        let w = settings.chunkSize, dir = StoreFixture.tempDir()
        let first = try build(text(seed: 23, bytes: 600, w: w, aligned: false), name: "a", settings: settings, dir: dir)
        let second = try build(text(seed: 24, bytes: 600, w: w, aligned: false), name: "sub/b", settings: settings, dir: dir)
        let reader = try IndexReader(bundles: [(first, "a"), (second, "sub/b")], languageModel: lm)
        let corpus = try XCTUnwrap(reader.store as? CorpusChunkStore)
        let a = reader.documents[0].metadata.document.tokens, short = a / w
        XCTAssertEqual(corpus.firstChunks, [0, short + 1])
        XCTAssertEqual(corpus.validRows(chunk: short), 0..<(a % w))
        XCTAssertEqual(corpus.validRows(chunk: short - 1), 0..<w)
        XCTAssertEqual(corpus.validRows(chunk: 0), 0..<w)              // the corpus's own attention sink
        let prefix = reader.documents[1].metadata.document.prefixTokens
        XCTAssertGreaterThan(prefix, 0)
        XCTAssertEqual(corpus.validRows(chunk: short + 1), prefix..<w)   // the second document's template prefix is hidden
        XCTAssertEqual(reader.tokens, (short + 1) * w + reader.documents[1].metadata.document.tokens)
        let d = corpus.layout.headDimension
        for l in 0..<corpus.layout.layers {
            let bounds = corpus.keyBounds(layer: l, kvHead: 0).floats(chunks: short..<(short + 1), d: d)
            XCTAssertTrue(zip(bounds.prefix(d), bounds.suffix(d)).allSatisfy { $0 <= $1 } && bounds.contains { $0 != 0 }, "layer \(l)")
            XCTAssertTrue(UnsafeBufferPointer(start: corpus.summaries(layer: l, head: 0) + short * d, count: d).contains { $0 != 0 })
        }
        let r = try reader.ask("alpha beta river?", maxTokens: 24, cite: true, citationCount: 8, citationThreshold: 0)
        XCTAssertGreaterThan(r.tokens, 0)
        XCTAssertEqual(Set(try XCTUnwrap(r.citations).map(\.document)), ["a", "sub/b"])
        // The same again: every question starts from the corpus alone.
        XCTAssertEqual(try reader.ask("alpha beta river?", maxTokens: 24).answer, r.answer)
    }

    /// The rows a build stores for later corpora (sealed.zst) are those a corpus computes from the blocks when
    /// an older bundle lacks them: same tables, same answer, three documents with short last chunks.
    func testSealedRowsStoredAtBuildEqualThoseComputedAtOpening() throws {
        let settings = StoreFixture.settings(precision: .f16)
        let w = settings.chunkSize, dir = StoreFixture.tempDir()
        let bundles = try (0..<3).map { i in
            (try build(text(seed: 40 + UInt64(i), bytes: 500 + 150 * i, w: w, aligned: false), name: "d\(i)", settings: settings, dir: dir), "d\(i)")
        }
        let stored = try IndexReader(bundles: bundles, languageModel: lm)
        XCTAssertNotNil(try stored.documents[0].readSealedRows())
        XCTAssertNil(try stored.documents[2].readSealedRows(), "the last document is continued, not sealed")
        let storedAnswer = try stored.ask("alpha beta river?", maxTokens: 24)
        let report = IndexVerifier.verify(directory: bundles[0].0)
        XCTAssertTrue(report.ok, "\(report.problems)")
        // The same bundles as an older build wrote them: no sealed.zst, no content key.
        for (bundle, _) in bundles {
            try FileManager.default.removeItem(atPath: bundle + "/" + BundleFormat.sealedFile)
            let db = try IndexDatabase.open(path: bundle + "/" + BundleFormat.database, writable: true)
            try db.removeMeta([SealedRows.contentKey, "sealed_crc32"])
        }
        let computed = try IndexReader(bundles: bundles, languageModel: lm)
        XCTAssertNil(try computed.documents[0].readSealedRows())
        let a = try XCTUnwrap(stored.store as? CorpusChunkStore), b = try XCTUnwrap(computed.store as? CorpusChunkStore)
        let lay = a.layout, d = lay.headDimension, chunks = b.firstChunks[2] + 1
        for l in 0..<lay.layers {
            for g in 0..<lay.kvHeads {
                XCTAssertEqual(a.keyBounds(layer: l, kvHead: g).floats(chunks: 0..<chunks, d: d),
                               b.keyBounds(layer: l, kvHead: g).floats(chunks: 0..<chunks, d: d), "bounds \(l) \(g)")
            }
            for h in 0..<lay.heads {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: a.summaries(layer: l, head: h), count: chunks * d)),
                               Array(UnsafeBufferPointer(start: b.summaries(layer: l, head: h), count: chunks * d)), "summaries \(l) \(h)")
            }
        }
        XCTAssertEqual(try computed.ask("alpha beta river?", maxTokens: 24).answer, storedAnswer.answer)
    }

    /// Bundles read with other document settings cannot share windows: one line names both and the setting.
    func testBundlesWithOtherSettingsAreRefused() throws {
        let dir = StoreFixture.tempDir()
        var other = StoreFixture.settings()
        other.localChunks = 2
        let a = try build(StoreFixture.text(bytes: 300, seed: 2), name: "a", settings: StoreFixture.settings(), dir: dir)
        let b = try build(StoreFixture.text(bytes: 300, seed: 3), name: "b", settings: other, dir: dir)
        XCTAssertThrowsError(try IndexReader(bundles: [(a, "a"), (b, "b")], languageModel: lm)) {
            let m = "\($0)"
            XCTAssertTrue(m.contains("a.lhx") && m.contains("b.lhx") && m.contains("localChunks"), m)
            XCTAssertFalse(m.contains("\n"), m)
        }
    }

    /// Over several documents the standard question positioning (fitted to the model) becomes contiguous; one document keeps it,
    /// and so does a corpus whose bundles keep another positioning, or a question that asks for one.
    func testCorpusPlacesChosenChunksContiguouslyByDefault() throws {
        let dir = StoreFixture.tempDir()
        var standard = StoreFixture.settings()
        standard.questionPositioning = LongHeadsSettings.standard.fitted(trainedContext: lm.model.config.contextLength).questionPositioning
        let a = try build(StoreFixture.text(bytes: 300, seed: 2), name: "a", settings: standard, dir: dir)
        let b = try build(StoreFixture.text(bytes: 300, seed: 3), name: "b", settings: standard, dir: dir)
        XCTAssertEqual(standard.questionGranularity, LongHeadsSettings.standard.questionGranularity)
        XCTAssertEqual(standard.questionGranularity, .token)
        let single = try IndexReader(bundles: [(a, "a")], languageModel: lm).questionSettings
        XCTAssertEqual(single.questionPositioning, standard.questionPositioning)
        XCTAssertEqual(single.questionGranularity, .token)
        let corpus = try IndexReader(bundles: [(a, "a"), (b, "b")], languageModel: lm)
        XCTAssertEqual(corpus.questionSettings.questionPositioning, .contiguous)
        XCTAssertEqual(corpus.questionSettings.questionGranularity, .block)
        var asked = corpus.questionSettings
        asked.questionPositioning = standard.questionPositioning
        asked.questionGranularity = .token
        try corpus.setQuestionSettings(asked)
        XCTAssertEqual(corpus.questionSettings.questionPositioning, standard.questionPositioning)
        XCTAssertEqual(corpus.questionSettings.questionGranularity, .token)
        var other = standard
        other.questionPositioning = .clipped(distance: 64)
        other.questionGranularity = .block
        let c = try build(StoreFixture.text(bytes: 300, seed: 2), name: "c", settings: other, dir: dir)
        let d = try build(StoreFixture.text(bytes: 300, seed: 3), name: "d", settings: other, dir: dir)
        XCTAssertEqual(try IndexReader(bundles: [(c, "c"), (d, "d")], languageModel: lm).questionSettings.questionPositioning,
                       .clipped(distance: 64))
    }
}

/// A store that hides the first rows of some chunks from attention, over another store (the reference for
/// a corpus, whose later documents' template prefixes are hidden).
final class HidingStore: ChunkStore {
    let base: InMemoryChunkStore
    let hidden: [Int: Int]
    init(_ base: InMemoryChunkStore, hidden: [Int: Int]) { self.base = base; self.hidden = hidden }
    var layout: ChunkLayout { base.layout }
    func reserve(tokens: Int) { base.reserve(tokens: tokens) }
    func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        base.write(layer: layer, kvHead: kvHead, position: position, key: key, value: value)
    }
    func block(layer: Int, kvHead: Int, chunk: Int, rows: Int, scratch: UnsafeMutablePointer<Float>) -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        base.block(layer: layer, kvHead: kvHead, chunk: chunk, rows: rows, scratch: scratch)
    }
    func storedRows(layer: Int, kvHead: Int, chunk: Int, rows: Int) -> StoredRows { base.storedRows(layer: layer, kvHead: kvHead, chunk: chunk, rows: rows) }
    func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer { base.rawBlock(layer: layer, kvHead: kvHead, chunk: chunk) }
    func sealKeys(layer: Int, kvHead: Int, chunk: Int) { base.sealKeys(layer: layer, kvHead: kvHead, chunk: chunk) }
    func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>) { base.setSummary(layer: layer, head: head, chunk: chunk, s) }
    func summaries(layer: Int, head: Int) -> UnsafePointer<Float> { base.summaries(layer: layer, head: head) }
    func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>) { base.setKeyBounds(layer: layer, kvHead: kvHead, chunk: chunk, b) }
    func keyBounds(layer: Int, kvHead: Int) -> KeyBoundRows { base.keyBounds(layer: layer, kvHead: kvHead) }
    func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>) {
        base.setRepresentatives(layer: layer, kvHead: kvHead, chunk: chunk, keys)
    }
    func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float> { base.representatives(layer: layer, kvHead: kvHead) }
    func validRows(chunk: Int) -> Range<Int> { (hidden[chunk] ?? 0)..<layout.chunkSize }
}

