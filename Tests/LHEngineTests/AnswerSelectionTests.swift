// Answer tokens keeping the previous token's chunks (LongHeadsSettings.answerFreshChunks), and the multi-query
// fused kernels the group's heads share.
import XCTest
@testable import LHEngine
import CKernels
import LHModel
import LHCore
import LHTestSupport

final class AnswerSelectionTests: XCTestCase {
    typealias T = LongHeadsTinyModelTests

    /// w = 16, question windows of 128 tokens: 8 slots, one sink, one local chunk and the current one, so
    /// five chunks are chosen freely.
    static var reading: (LongHeadsSettings, WindowReading) {
        var s = LongHeadsSettings(chunkSize: 16, attentionLength: 64, questionAttentionLength: 128, questionLocalChunks: 1)
        s.answerFreshChunks = 2
        return (s, s.reading(question: true))
    }

    /// The fresh best chunks, then the previous token's chunks best first, then the next best by score.
    func testFreshChunksThenKeptThenRanked() {
        let (s, r) = Self.reading
        // Chunk 20 is current: candidates are chunks 1 ..< 19 (index j is chunk j + 1), scored j, so chunk 18 is best.
        // With chunk 21 current they are chunks 1 ..< 20: the scores cover those 19.
        let scores = (0..<19).map { Float($0) }
        scores.withUnsafeBufferPointer { p in
            let sc = p.baseAddress!
            // Fresh: 18 and 17. Kept, best first: 11, 9, 5 (3 loses its place). Sink 0 and local 19 always.
            XCTAssertEqual(ChunkSelector.select(c: 20, reading: r, settings: s, scores: sc, keeping: [0, 3, 5, 9, 11, 17, 19], fresh: 2),
                           [0, 5, 9, 11, 17, 18, 19])
            // One previous chunk is still a candidate: the rest are the next best, 16 and 15.
            XCTAssertEqual(ChunkSelector.select(c: 20, reading: r, settings: s, scores: sc, keeping: [0, 4, 19], fresh: 2),
                           [0, 4, 15, 16, 17, 18, 19])
            // The previous token's local chunk 19 is a candidate once the current chunk moves on to 21.
            XCTAssertEqual(ChunkSelector.select(c: 21, reading: r, settings: s, scores: sc, keeping: [0, 3, 5, 9, 11, 19, 20], fresh: 2)
                               .filter { $0 != 0 && $0 != 20 }.count, 5)
            let fresh = ChunkSelector.select(c: 20, reading: r, settings: s, scores: sc)
            XCTAssertEqual(fresh, [0, 14, 15, 16, 17, 18, 19])
            // No previous token, or as many fresh chunks as free slots: the plain selection.
            XCTAssertEqual(ChunkSelector.select(c: 20, reading: r, settings: s, scores: sc, keeping: [], fresh: 2), fresh)
            XCTAssertEqual(ChunkSelector.select(c: 20, reading: r, settings: s, scores: sc, keeping: [0, 3, 5, 9, 11, 17, 19], fresh: 5), fresh)
        }
    }

    /// What a decode run gives: the logits of the question's last token, then of each answer token, and the
    /// chunks each head read at `trace`.
    typealias Decoded = (logits: [[Float]], selections: [[[Int]?]])

    /// A 300-token document, a 4-token question and 26 answer tokens (fed, not sampled), with question windows
    /// of 96 tokens (6 slots: the sink, one local chunk, the current one and 3 chosen freely among 15 or more
    /// candidates) chosen per KV head, and `change` applied to the settings.
    func decode(trace: Int, _ change: (inout LongHeadsSettings) -> Void) throws -> Decoded {
        let tokens = T.tokens(330, seed: 21), start = 300
        var s = T.settings(.block)
        s.questionAttentionLength = 96
        s.questionSelectionPerKVHead = true
        change(&s)
        let lh = try LongHeadsAttention(model: T.model, settings: s)
        lh.questionStart = start
        lh.tracePosition = trace
        let forward = ForwardPass(model: T.model)
        var rows = [forward.runLast(Array(tokens.prefix(start + 4)), cache: lh)]
        for i in (start + 4)..<tokens.count { rows.append(forward.runLast([tokens[i]], cache: lh)) }
        return (rows, lh.tracedSelections)
    }

    /// Decoding with as many fresh chunks as free slots equals selecting anew for every token; with none, every
    /// answer token of a chunk attends the first one's chunks; the question's own tokens are never affected.
    func testDecodeKeepsOrRenewsTheWindow() throws {
        func run(_ fresh: Int?, trace: Int) throws -> Decoded { try decode(trace: trace) { $0.answerFreshChunks = fresh } }
        let renewed = try run(nil, trace: 310), all = try run(3, trace: 310)
        XCTAssertEqual(all.logits, renewed.logits)
        let first = try run(0, trace: 304), later = try run(0, trace: 310)
        XCTAssertEqual(first.logits[0], renewed.logits[0], "the question's last token selects as before")
        XCTAssertEqual(first.selections, later.selections, "fresh 0 keeps the first answer token's chunks")
        XCTAssertNotEqual(renewed.selections, try run(nil, trace: 304).selections, "the test needs selections that move")
    }

    /// Answer tokens after the first read `answerAttentionLength`: a window as long as the question's changes
    /// nothing; a shorter one leaves the question's last token (the first answer token's logits) as it was and
    /// gives every later token's heads that many slots.
    func testAnswerTokensReadTheAnswerWindow() throws {
        func run(_ answer: Int?, trace: Int) throws -> Decoded { try decode(trace: trace) { $0.answerAttentionLength = answer } }
        let whole = try run(nil, trace: 310)
        XCTAssertEqual(try run(96, trace: 310).logits, whole.logits)
        XCTAssertEqual(try run(512, trace: 310).logits, whole.logits, "never more than the question window")
        let narrow = try run(64, trace: 310)            // 4 slots: 3 past chunks
        XCTAssertEqual(narrow.logits[0], whole.logits[0], "the question's last token reads the question window")
        XCTAssertNotEqual(narrow.logits.last, whole.logits.last)
        let counts = { (r: Decoded) in Set(r.selections.joined().compactMap { $0?.count }) }
        XCTAssertEqual(counts(whole), [5])
        XCTAssertEqual(counts(narrow), [3])
        XCTAssertEqual(counts(try run(64, trace: 303)), [5], "the question's tokens keep their window")
    }

    func testAnswerWindowSettings() throws {
        var s = LongHeadsSettings.standard
        XCTAssertEqual(s.answerSlots, s.questionSlots, "nil reads the question window")
        s.answerAttentionLength = 4096
        XCTAssertEqual(s.reading(question: true, answer: true).slots, 16)
        XCTAssertEqual(s.reading(question: true).slots, 32)
        XCTAssertNoThrow(try s.validate(trainedContext: 8192))
        XCTAssertEqual(s.documentSettings, LongHeadsSettings.standard.documentSettings, "a question-time setting")
        XCTAssertEqual(try JSONDecoder().decode(LongHeadsSettings.self, from: JSONEncoder().encode(s)), s)
        // Settings written before it existed have no such key, and nil writes none.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(LongHeadsSettings.standard)) as! [String: Any]
        XCTAssertNil(json["answerAttentionLength"])
        s.answerAttentionLength = 4000
        XCTAssertThrowsError(try s.validate(trainedContext: 8192), "not a multiple of the chunk size")
        s.answerAttentionLength = 256                   // 1 slot: no room for the sink and local chunks
        XCTAssertThrowsError(try s.validate(trainedContext: 8192))
        s.answerAttentionLength = 16384
        XCTAssertEqual(s.fitted(trainedContext: 8192).answerAttentionLength, 8192)
        XCTAssertEqual(s.fitted(trainedContext: 8192).answerSlots, 32)
    }

    /// The multi-query kernels equal one call per query bit for bit, for every stored precision, head dimensions
    /// with and without the 8-column tiles, row counts off the 8-row tiles, and up to five queries, at every SIMD
    /// level; and the AVX-512 kernels equal the AVX2 ones bit for bit.
    func testMultiQueryKernelsEqualOneCallPerQuery() {
        var rng = SplitMix64(seed: 9)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 1000 - 1 } }
        for precision in KVPrecision.allCases {
            for d in [64, 40, 256, 12] {
                let w = 16
                let lay = ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: d, chunkSize: w, precision: precision)
                if lay.rotatesValues, d & (d - 1) != 0 { continue }   // the value rotation needs a power of two
                let block = UnsafeMutableRawPointer.allocate(byteCount: lay.blockBytes, alignment: 64)
                defer { block.deallocate() }
                for r in 0..<w { lay.storeRow(r, key: random(d), value: random(d), into: block) }
                let st = StoredRows(base: block, stride: w)
                for rows in [1, 3, 4, 7, 13, 16] {
                    for m in 1...5 {
                        let q = random(m * d), p = random(m * (rows + 2))       // weights with leading dimension rows + 2
                        var outByLevel: [SIMDLevel: [Float]] = [:], scoresByLevel: [SIMDLevel: [Float]] = [:]
                        forEachSIMDLevel { level in
                            var expectScores = [Float](repeating: 0, count: m * rows), expectOut = [Float](repeating: 0.25, count: m * d)
                            var scores = expectScores, out = expectOut
                            do {
                                for h in 0..<m {
                                    expectScores.withUnsafeMutableBufferPointer { e in
                                        q.withUnsafeBufferPointer { lh_kv_scores(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(rows), Int64(d),
                                                                                 $0.baseAddress! + h * d, 0.5, e.baseAddress! + h * rows) }
                                    }
                                    expectOut.withUnsafeMutableBufferPointer { e in
                                        p.withUnsafeBufferPointer { lh_kv_accumulate(lay.valueKernelKind, st.values(lay), st.valueScales(lay), Int64(rows),
                                                                                     Int64(d), $0.baseAddress! + h * (rows + 2), e.baseAddress! + h * d) }
                                    }
                                }
                                lh_kv_scores_multi(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(rows), Int64(d), Int64(m), q, 0.5,
                                                   &scores, Int64(rows))
                                lh_kv_accumulate_multi(lay.valueKernelKind, st.values(lay), st.valueScales(lay), Int64(rows), Int64(d), Int64(m),
                                                       p, Int64(rows + 2), &out)
                            }
                            // Bit for bit: the same additions in the same order, so answers do not move.
                            let label = "\(precision) d \(d) rows \(rows) m \(m) \(level.name)"
                            XCTAssertEqual(scores, expectScores, label)
                            XCTAssertEqual(out, expectOut, label)
                            outByLevel[level] = out
                            scoresByLevel[level] = scores
                        }
                        if let wide = outByLevel[.avx512], let narrow = outByLevel[.avx2] {
                            XCTAssertEqual(wide, narrow, "\(precision) d \(d) rows \(rows) m \(m): AVX-512 values against AVX2")
                            XCTAssertEqual(scoresByLevel[.avx512], scoresByLevel[.avx2], "\(precision) d \(d) rows \(rows) m \(m): AVX-512 scores against AVX2")
                        }
                    }
                }
            }
        }
    }

    /// max |a − b| / max |b|.
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
    }
}

final class WindowPartsTests: XCTestCase {
    typealias T = LongHeadsTinyModelTests

    /// Decode steps whose windows are read in slices and merged by log-sum-exp give the attention outputs of
    /// whole windows, for one to nine slices (more slices than a window has slots leaves some empty), per KV group
    /// and per head. (Compared before the model's 8-bit decode products, which would turn float rounding into
    /// different activations.)
    func testWindowsReadInPartsEqualWholeWindows() throws {
        let c = T.model.config, start = 300, end = 340
        var rng = SplitMix64(seed: 31)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 500 - 2 } }
        let q = random(end * c.queryWidth * c.layerCount), k = random(end * c.kvWidth * c.layerCount), v = random(end * c.kvWidth * c.layerCount)
        for perKV in [true, false] {
            var s = T.settings(.block)
            s.questionAttentionLength = 96
            s.questionSelectionPerKVHead = perKV
            /// Attention outputs of the decode steps start ..< end, every layer.
            func decode(parts: Int, throughSegments: Bool = false) throws -> [Float] {
                let lh = try LongHeadsAttention(model: T.model, settings: s)
                lh.questionStart = start
                lh.windowParts = parts
                var outputs: [Float] = []
                func step(_ p0: Int, _ m: Int) {
                    var out = [Float](repeating: 0, count: m * c.queryWidth)
                    if throughSegments { lh.tracePosition = p0 }     // a traced step selects and attends in one task per group
                    for l in 0..<c.layerCount {
                        var qs = Array(q[((l * end + p0) * c.queryWidth)...].prefix(m * c.queryWidth))
                        var ks = Array(k[((l * end + p0) * c.kvWidth)...].prefix(m * c.kvWidth))
                        let vs = Array(v[((l * end + p0) * c.kvWidth)...].prefix(m * c.kvWidth))
                        lh.attend(layer: l, m: m, q: &qs, k: &ks, v: vs, out: &out)
                        if m == 1 { outputs += out }
                    }
                    lh.commit(m: m)
                }
                step(0, start)
                for p in start..<end { step(p, 1) }
                return outputs
            }
            let whole = try decode(parts: 1)
            // The decode path scores each group's candidates in halves by separate tasks: the same selections and
            // outputs as a group's selection in one task.
            let segments = try decode(parts: 1, throughSegments: true)
            XCTAssertLessThan(zip(segments, whole).map { abs($0 - $1) }.max()! / whole.map(abs).max()!, 1e-6, "per KV head \(perKV)")
            for parts in [2, 3, 4, 9] {
                let split = try decode(parts: parts)
                let err = zip(split, whole).map { abs($0 - $1) }.max()! / whole.map(abs).max()!
                XCTAssertLessThan(err, 1e-5, "\(parts) parts, per KV head \(perKV)")
            }
        }
    }

    /// Many queries through the matrix-product path, taken in blocks of `WindowAttention.rowBlock` rows, give the
    /// outputs of one pass over all of them (which `keepWeights` forces), for f32 and f16 stored keys and values.
    func testRowBlocksEqualOnePass() throws {
        let c = T.model.config, w = 64, d = c.headDimension, filled = 320
        var rng = SplitMix64(seed: 37)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.next() % 2001) / 500 - 2 } }
        for precision in [KVPrecision.f32, .f16] {
            let lh = try LongHeadsAttention(model: T.model, settings: T.settings(w: w, a: 256, .block, precision: precision))
            var out = [Float](repeating: 0, count: filled * c.queryWidth)
            var q = random(filled * c.queryWidth), k = random(filled * c.kvWidth)
            lh.attend(layer: 0, m: filled, q: &q, k: &k, v: random(filled * c.kvWidth), out: &out)
            lh.commit(m: filled)
            // 150 queries (more than two blocks, not a multiple of one) in chunk 4, reading chunks 0, 2 and 3.
            let m = 150, offsets = (0..<m).map { $0 % w }, chunks = [0, 2, 3], deltas = [17, 80, 150]
            let queries = random(m * d)
            func attend(keepWeights: Bool) -> [Float] {
                let s = WindowScratch()
                s.queries.ensure(count: m * d)
                s.queries.pointer.update(from: queries, count: m * d)
                WindowAttention.attend(store: lh.store, layer: 0, kvHead: 0, m: m, offsets: offsets, c: 4, chunks: chunks,
                                       deltas: deltas, rope: lh.rope, scratch: s, keepWeights: keepWeights)
                return Array(UnsafeBufferPointer(start: s.out.pointer, count: m * d))
            }
            XCTAssertGreaterThan(m, WindowAttention.rowBlock)
            let whole = attend(keepWeights: true), blocked = attend(keepWeights: false)
            let err = zip(blocked, whole).map { abs($0 - $1) }.max()! / whole.map(abs).max()!
            XCTAssertLessThan(err, 1e-5, "\(precision)")
        }
    }

    /// A softmax's log-sum-exp is log Σ exp over the row; a row with nothing to attend gives -inf and no weights.
    func testSoftmaxLogSumExp() {
        for simd in [true, false] {
            var x: [Float] = [0.5, -1, 2, 3, -.infinity, 0, 1, 1.5, -2]
            let expected = Float(log(x.map { Double(exp($0)) }.reduce(0, +)))
            let lse = withSIMD(simd) { lh_softmax_f32_lse(&x, Int64(x.count)) }
            XCTAssertEqual(lse, expected, accuracy: 1e-5)
            var masked = [Float](repeating: -.infinity, count: 11)
            XCTAssertEqual(withSIMD(simd) { lh_softmax_f32_lse(&masked, 11) }, -.infinity)
            XCTAssertEqual(masked, [Float](repeating: 0, count: 11))
        }
    }
}
