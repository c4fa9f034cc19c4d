// Question-time variants: a shared document prefill equals a whole run; scorers, per-KV-head selection, clipping.
import XCTest
@testable import LHEngine
import LHModel
import LHCore
import LHTestSupport

final class QuestionVariantTests: XCTestCase {
    typealias T = LongHeadsTinyModelTests

    /// max |a − b| / max |b|.
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
    }

    func logits(_ tokens: [Int32], cache: AttentionCache) -> [Float] {
        ForwardPass(model: T.model, batchSize: 64).run(tokens, cache: cache, logitRows: Array(0..<tokens.count))
    }

    /// Question-time settings worth sweeping (w = 16, A = 64 for the document).
    static var variants: [LongHeadsSettings] {
        var base = T.settings(.block)
        base.representatives = 4          // the document keeps representative keys for the reps scorings
        var out: [LongHeadsSettings] = []
        for (positioning, length, scoring, perKV, select) in [
            (ChunkPositioning.contiguous, 64, ChunkScoring.summaries, false, SelectionGranularity.token),
            (.truePositions, 128, .summaries, false, .token),
            (.clipped(distance: 96), 128, .maxKey, false, .token),
            (.selfExtend(neighborTokens: 64), 128, .quest, true, .token),
            (.contiguous, 96, .summaries, true, .token),
            (.selfExtend(neighborTokens: 64), 128, .quest, true, .block),
            (.selfExtend(neighborTokens: 64), 128, .representatives, true, .token),
            (.truePositions, 128, .representativesMean, false, .token),
        ] {
            var s = base
            s.questionPositioning = positioning
            s.questionAttentionLength = length
            s.questionScoring = scoring
            s.questionSelectionPerKVHead = perKV
            s.questionGranularity = select
            out.append(s)
        }
        var moreLocal = out[3]                // the standard reading with three local chunks for questions
        moreLocal.questionLocalChunks = 3
        out.append(moreLocal)
        return out
    }

    /// The sweep's shortcut: prefill the document once with `documentSettings`, then run the question
    /// over the same store with each variant; equals one whole run of that variant.
    func testSharedPrefillEqualsWholeRun() throws {
        let tokens = T.tokens(330, seed: 12), start = 320
        let document = try LongHeadsAttention(model: T.model, settings: Self.variants[0].documentSettings)
        _ = ForwardPass(model: T.model, batchSize: 64).run(Array(tokens.prefix(start)), cache: document, logitRows: [])
        var answers: [[Float]] = []
        for s in Self.variants {
            XCTAssertEqual(s.documentSettings, Self.variants[0].documentSettings)
            let whole = try LongHeadsAttention(model: T.model, settings: s)
            whole.questionStart = start
            let expected = Array(logits(tokens, cache: whole).suffix(10 * T.vocab))
            let resumed = try LongHeadsAttention(model: T.model, settings: s, store: document.store, startingAt: start,
                                                 openChunk: nil)
            resumed.questionStart = start
            let got = logits(Array(tokens.suffix(10)), cache: resumed)
            XCTAssertLessThan(relativeError(got, expected), 1e-5, "\(s)")
            answers.append(got)
        }
        // The variants really differ at question time (the test above is not vacuous).
        XCTAssertGreaterThan(relativeError(answers[1], answers[0]), 1e-3)
        XCTAssertGreaterThan(relativeError(answers[2], answers[1]), 1e-3)
        XCTAssertGreaterThan(relativeError(answers[5], answers[3]), 1e-4, "block question selection changes nothing")
        XCTAssertGreaterThan(relativeError(answers[8], answers[3]), 1e-4, "question local chunks change nothing")
    }

    /// When the whole document fits the question window every chunk is selected, so the question's tokens
    /// selecting once per block attend exactly what they attend selecting per token.
    func testBlockQuestionSelectionEqualsPerTokenWhenTheDocumentFits() throws {
        let tokens = T.tokens(110, seed: 4), start = 96
        var perToken = T.settings(.block)
        perToken.questionAttentionLength = 128
        perToken.questionScoring = .quest
        var block = perToken
        block.questionGranularity = .block
        var out: [[Float]] = []
        for s in [perToken, block] {
            let cache = try LongHeadsAttention(model: T.model, settings: s)
            cache.questionStart = start
            out.append(logits(tokens, cache: cache))
        }
        XCTAssertLessThan(relativeError(out[1], out[0]), 1e-5)
    }

    /// max-key scores are the exact maximum of q·k̃ over the chunk; Quest's bound is never below it.
    func testScorersAgainstBruteForce() throws {
        let tokens = T.tokens(200, seed: 3)
        let lh = try LongHeadsAttention(model: T.model, settings: T.settings(.block))
        _ = ForwardPass(model: T.model, batchSize: 64).run(tokens, cache: lh, logitRows: [])
        let store = lh.store, d = store.layout.headDimension, w = store.layout.chunkSize
        var rng = SplitMix64(seed: 1)
        let m = 3
        let queries = (0..<(m * d)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 }
        let candidates = 1..<11, n = candidates.count
        let scratch = WindowScratch()
        var exact = [Float](repeating: 0, count: m * n), bound = exact
        for (scoring, out) in [(ChunkScoring.maxKey, 0), (.quest, 1)] {
            var result = [Float](repeating: 0, count: m * n)
            queries.withUnsafeBufferPointer { q in
                result.withUnsafeMutableBufferPointer { r in
                    ChunkScorer.score(scoring, store: store, layer: 1, head: 3, groupSize: 2, queries: q.baseAddress!, ld: d, m: m,
                                      candidates: candidates, accumulate: false, out: r.baseAddress!, scratch: scratch)
                }
            }
            if out == 0 { exact = result } else { bound = result }
        }
        let kv = FloatBuffer(count: 2 * w * d)
        for (j, chunk) in candidates.enumerated() {
            let keys = store.block(layer: 1, kvHead: 1, chunk: chunk, rows: w, scratch: kv.pointer).keys
            for i in 0..<m {
                var best = -Float.infinity
                for t in 0..<w { best = max(best, (0..<d).reduce(Float(0)) { $0 + queries[i * d + $1] * keys[t * d + $1] }) }
                XCTAssertEqual(exact[i * n + j], best, accuracy: 1e-4 * max(1, abs(best)))
                XCTAssertGreaterThanOrEqual(bound[i * n + j], best - 1e-4)
            }
        }
    }

    /// The document's own scoring setting is honoured: prefilling per token with `scoring` S equals reading
    /// every token as a question token scored by S over the same window, and differs from summaries.
    func testDocumentScoringSelectsLikeTheQuestionPath() throws {
        let tokens = T.tokens(200, seed: 9)
        var results: [[Float]] = []
        for (scoring, asQuestion) in [(ChunkScoring.quest, false), (.quest, true), (.summaries, false)] {
            var s = T.settings(.token)
            if asQuestion { s.questionScoring = scoring } else { s.scoring = scoring }
            let lh = try LongHeadsAttention(model: T.model, settings: s)
            if asQuestion { lh.questionStart = 0 }
            results.append(logits(tokens, cache: lh))
        }
        XCTAssertLessThan(relativeError(results[0], results[1]), 1e-5)
        XCTAssertGreaterThan(relativeError(results[0], results[2]), 1e-3, "document scoring changes nothing")
    }

    /// Per-KV-head selection gives the query heads of a group one selection for a question token.
    func testPerKVHeadSelectionIsSharedWithinAGroup() throws {
        let tokens = T.tokens(300, seed: 6)
        var s = T.settings(.block)
        s.questionSelectionPerKVHead = true
        let lh = try LongHeadsAttention(model: T.model, settings: s)
        lh.questionStart = 288
        lh.tracePosition = 295
        _ = ForwardPass(model: T.model, batchSize: 64).run(tokens, cache: lh, logitRows: [])
        for layer in lh.tracedSelections {
            XCTAssertEqual(layer[0], layer[1])
            XCTAssertEqual(layer[2], layer[3])
            XCTAssertNotNil(layer[0])
        }
    }

    /// The standard settings ask for an 8192-token question window; a model trained on less gets the most it can take.
    func testFittedToTheTrainedContext() throws {
        let s = LongHeadsSettings.standard
        XCTAssertEqual(s.fitted(trainedContext: 8192), s)
        XCTAssertNoThrow(try s.validate(trainedContext: 8192))
        var small = s
        small.chunkSize = 16
        small.attentionLength = 64
        small.localChunks = 1
        XCTAssertThrowsError(try small.validate(trainedContext: 512))
        let f = small.fitted(trainedContext: 512)
        XCTAssertEqual(f.questionAttentionLength, 512)
        XCTAssertEqual(f.questionPositioning, .selfExtend(neighborTokens: 240))
        XCTAssertEqual(f.documentSettings, small.documentSettings)
        XCTAssertNoThrow(try f.validate(trainedContext: 512))
    }

    /// Per-KV-head selection attends a group's query heads together; where every chunk fits the question
    /// window (same selection either way) that must equal attending head by head.
    func testGroupAttentionEqualsPerHeadAttention() throws {
        let tokens = T.tokens(300, seed: 13)
        var results: [[Float]] = []
        for perKV in [false, true] {
            var s = T.settings(.block)
            s.questionAttentionLength = 320
            s.questionSelectionPerKVHead = perKV
            let lh = try LongHeadsAttention(model: T.model, settings: s)
            lh.questionStart = 256
            results.append(Array(logits(tokens, cache: lh).suffix(44 * T.vocab)))
        }
        XCTAssertLessThan(relativeError(results[1], results[0]), 1e-5)
    }

    func testClippedOffsetsAndSettingsCoding() throws {
        // Chunks 0, 5 and 17 seen from chunk 20 (w = 16): distances 320, 240, 48, clipped at 128.
        XCTAssertEqual(ChunkSelector.offsets(chunks: [0, 5, 17], c: 20, w: 16, positioning: .clipped(distance: 128), trainedContext: 512),
                       [128, 128, 48])
        XCTAssertEqual(ChunkSelector.offsets(chunks: [0, 5, 17], c: 20, w: 16, positioning: .truePositions, trainedContext: 512),
                       [320, 240, 48])
        XCTAssertEqual(ChunkPositioning(argument: "clipped:2048"), .clipped(distance: 2048))
        XCTAssertThrowsError(try LongHeadsSettings(positioning: .clipped(distance: 8192)).validate(trainedContext: 8192))
        // Settings written before the question-time scoring fields existed still decode, with the paper's choices.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(LongHeadsSettings())) as! [String: Any]
        json["questionScoring"] = nil
        json["questionSelectionPerKVHead"] = nil
        json["questionGranularity"] = nil
        json["scoring"] = nil
        let old = try JSONDecoder().decode(LongHeadsSettings.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old, LongHeadsSettings())
        // Settings written before representative keys existed describe documents prefilled without them.
        json["representatives"] = nil
        var none = LongHeadsSettings()
        none.representatives = 0
        XCTAssertEqual(try JSONDecoder().decode(LongHeadsSettings.self, from: JSONSerialization.data(withJSONObject: json)), none)
        var layout = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ChunkLayout(layers: 1, heads: 2, kvHeads: 1, headDimension: 8, chunkSize: 16, precision: .f16, representatives: 4))) as! [String: Any]
        layout["representatives"] = nil
        XCTAssertEqual(try JSONDecoder().decode(ChunkLayout.self, from: JSONSerialization.data(withJSONObject: layout)),
                       ChunkLayout(layers: 1, heads: 2, kvHeads: 1, headDimension: 8, chunkSize: 16, precision: .f16))
        var changed = LongHeadsSettings.standard
        changed.questionLocalChunks = 2
        changed.questionScoring = .representatives
        changed.representatives = 8
        XCTAssertEqual(try JSONDecoder().decode(LongHeadsSettings.self, from: JSONEncoder().encode(changed)), changed)
    }
}
