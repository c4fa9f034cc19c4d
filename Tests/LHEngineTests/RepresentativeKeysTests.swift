// Representative keys: the stored selection equals a direct computation from the recorded queries; the scorer reads them.
import XCTest
@testable import LHEngine
import LHModel
import LHCore
import LHTestSupport

/// Passes every call to a LongHeads cache and keeps a copy of the pre-RoPE queries it is given, per layer.
final class QueryRecorder: AttentionCache {
    let inner: LongHeadsAttention
    var queries: [[Float]]        // per layer (tokens, H·d)
    let width: Int

    init(_ inner: LongHeadsAttention) {
        self.inner = inner
        width = inner.config.embeddingLength
        queries = Array(repeating: [], count: inner.config.layerCount)
    }

    var count: Int { inner.count }

    func attend(layer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        queries[layer] += Array(UnsafeBufferPointer(start: q, count: m * width))
        inner.attend(layer: layer, m: m, q: q, k: k, v: v, out: out)
    }

    func commit(m: Int) { inner.commit(m: m) }
}

final class RepresentativeKeysTests: XCTestCase {
    typealias T = LongHeadsTinyModelTests

    /// Every stored representative key, for every (layer, KV head, complete chunk), is the key a slow Double
    /// computation of InfLLM's vote ranks there: Σ over the group's heads and the chunk's queries of
    /// softmax_t(q·k̃_t/√d), pre-RoPE queries against the stored keys, best first.
    func testSelectionEqualsDirectComputation() throws {
        var s = T.settings(.block)           // f32 keys: the stored keys are exact
        s.representatives = 3
        let lh = try LongHeadsAttention(model: T.model, settings: s)
        let rec = QueryRecorder(lh)
        let tokens = T.tokens(200, seed: 21)
        _ = ForwardPass(model: T.model, batchSize: 40).run(tokens, cache: rec, logitRows: [])   // batches end mid-chunk
        let c = T.model.config, d = c.headDimension, w = s.chunkSize, e = c.embeddingLength, r = s.representatives
        let store = lh.store
        let kv = FloatBuffer(count: 2 * w * d)
        var checked = 0
        for l in 0..<c.layerCount {
            for g in 0..<c.kvHeadCount {
                let reps = store.representatives(layer: l, kvHead: g)
                for chunk in 0..<(tokens.count / w) {
                    let keys = store.block(layer: l, kvHead: g, chunk: chunk, rows: w, scratch: kv.pointer).keys
                    var score = [Double](repeating: 0, count: w)
                    for h in (g * c.groupSize)..<((g + 1) * c.groupSize) {
                        for i in 0..<w {
                            let q = (0..<d).map { Double(rec.queries[l][(chunk * w + i) * e + h * d + $0]) }
                            let logits = (0..<w).map { t in (0..<d).reduce(0.0) { $0 + q[$1] * Double(keys[t * d + $1]) } / Double(d).squareRoot() }
                            let top = logits.max()!
                            let p = logits.map { exp($0 - top) }
                            let z = p.reduce(0, +)
                            for t in 0..<w { score[t] += p[t] / z }
                        }
                    }
                    let best = (0..<w).sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }.prefix(r)
                    for (j, t) in best.enumerated() {
                        XCTAssertEqual(Array(UnsafeBufferPointer(start: reps + (chunk * r + j) * d, count: d)),
                                       Array(UnsafeBufferPointer(start: keys + t * d, count: d)),
                                       "layer \(l) KV head \(g) chunk \(chunk): representative \(j) should be key \(t)")
                    }
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, c.layerCount * c.kvHeadCount * 12)
    }

    /// reps scores are the max (reps-mean: the mean) of q·k over a chunk's stored representative keys; the
    /// max is never above max-key's exact maximum over all the chunk's keys.
    func testScorerReadsTheRepresentatives() throws {
        var s = T.settings(.block)
        s.representatives = 4
        let lh = try LongHeadsAttention(model: T.model, settings: s)
        _ = ForwardPass(model: T.model, batchSize: 64).run(T.tokens(200, seed: 3), cache: lh, logitRows: [])
        let store = lh.store, d = store.layout.headDimension, r = store.layout.representatives
        XCTAssertEqual(r, 4)
        var rng = SplitMix64(seed: 2)
        let m = 3
        let queries = (0..<(m * d)).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 }
        let candidates = 1..<11, n = candidates.count
        var results: [ChunkScoring: [Float]] = [:]
        for scoring in [ChunkScoring.representatives, .representativesMean, .maxKey] {
            var out = [Float](repeating: 0, count: m * n)
            queries.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    ChunkScorer.score(scoring, store: store, layer: 1, head: 3, groupSize: 2, queries: q.baseAddress!, ld: d, m: m,
                                      candidates: candidates, accumulate: false, out: o.baseAddress!, scratch: WindowScratch())
                }
            }
            results[scoring] = out
        }
        let reps = store.representatives(layer: 1, kvHead: 1)
        for (j, chunk) in candidates.enumerated() {
            for i in 0..<m {
                let dots = (0..<r).map { k in (0..<d).reduce(Float(0)) { $0 + queries[i * d + $1] * reps[(chunk * r + k) * d + $1] } }
                let mx = dots.max()!, mean = dots.reduce(0, +) / Float(r)
                XCTAssertEqual(results[.representatives]![i * n + j], mx, accuracy: 1e-4 * max(1, abs(mx)))
                XCTAssertEqual(results[.representativesMean]![i * n + j], mean, accuracy: 1e-4 * max(1, abs(mean)))
                XCTAssertLessThanOrEqual(mx, results[.maxKey]![i * n + j] + 1e-4)
            }
        }
    }

    /// Scoring by representative keys needs them: settings without any are refused with one sentence.
    func testRepresentativeScoringNeedsRepresentatives() throws {
        var s = T.settings(.block)
        s.representatives = 0
        XCTAssertNoThrow(try s.validate(trainedContext: 512))
        s.questionScoring = .representatives
        XCTAssertThrowsError(try s.validate(trainedContext: 512)) { XCTAssertTrue("\($0)".contains("representative keys"), "\($0)") }
        s.representatives = 17
        XCTAssertThrowsError(try s.validate(trainedContext: 512))
        XCTAssertEqual(ChunkScoring(rawValue: "reps"), .representatives)
        XCTAssertEqual(ChunkScoring(rawValue: "reps-mean"), .representativesMean)
    }
}
