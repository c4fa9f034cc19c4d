// The sealed keys of k5v4 and k4v4: a complete chunk's keys sealed into channel codes (40 and 16 levels) equal a direct
// transcription of FORMAT.md §3, the fused scores over sealed rows equal dot products with the decoded keys, and the
// tiny model's logits stay close to f32 storage and do not depend on whether tokens come one at a time or a chunk at
// a time.
import XCTest
import CKernels
@testable import LHEngine
import LHModel
import LHTestSupport

final class KVK5V4Tests: XCTestCase {
    let d = 64, w = 16
    /// The precisions that seal keys, with the levels FORMAT.md §3 gives each.
    let sealing: [(precision: KVPrecision, levels: Float)] = [(.k5v4, 40), (.k4v4, 16)]
    func layout(_ p: KVPrecision) -> ChunkLayout { ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: d, chunkSize: w, precision: p) }

    /// Keys with an outlier channel, a constant channel and a zero row, and values; stored as `storeRow` does.
    func filledBlock(_ lay: ChunkLayout, seed: UInt64) -> (block: UnsafeMutableRawPointer, keys: [[Float]]) {
        var rng = SplitMix64(seed: seed)
        let block = UnsafeMutableRawPointer.allocate(byteCount: lay.blockBytes, alignment: 64)
        var keys: [[Float]] = []
        for r in 0..<w {
            var k = (0..<d).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * Float(r % 5 + 1) }
            k[3] = 40 + Float(r)          // an outlier channel
            k[7] = 0                      // a constant channel (exact in int8): step 0
            if r == 5 { k = [Float](repeating: 0, count: d) }
            let v = (0..<d).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
            lay.storeRow(r, key: k, value: v, into: block)
            keys.append(k)
        }
        return (block, keys)
    }

    /// What FORMAT.md §3 says a sealed chunk decodes to, computed from the int8 rows the open chunk held.
    func transcription(int8Keys k: [[Float]], levels: Float) -> (bounds: [Float], keys: [[Float]]) {
        let lo = (0..<d).map { x in k.map { $0[x] }.min()! }, hi = (0..<d).map { x in k.map { $0[x] }.max()! }
        let keys = k.map { row in
            (0..<d).map { x -> Float in
                let step = (hi[x] - lo[x]) / (levels - 1)
                let c = step > 0 ? min(max(((row[x] - lo[x]) / step).rounded(.toNearestOrEven), 0), levels - 1) : 0
                return lo[x] + c * step
            }
        }
        return (lo + hi, keys)
    }

    func testSealedKeysEqualTheTranscription() {
        for (p, levels) in sealing { sealedKeysEqualTheTranscription(layout(p), levels: levels) }
    }

    func sealedKeysEqualTheTranscription(_ lay: ChunkLayout, levels: Float) {
        XCTAssertEqual(lay.keyLevels, Int32(levels))
        let (block, keys) = filledBlock(lay, seed: 5)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { block.deallocate(); scratch.deallocate() }
        lay.decode(block, stride: w, rows: w, into: scratch)
        let int8Keys = (0..<w).map { Array(UnsafeBufferPointer(start: scratch + $0 * d, count: d)) }
        let values = Array(UnsafeBufferPointer(start: scratch + w * d, count: w * d))
        for r in 0..<w {   // open rows are int8: within half a step of the row's scale
            XCTAssertLessThanOrEqual(zip(int8Keys[r], keys[r]).map { abs($0 - $1) }.max()!, keys[r].map(abs).max()! / 254 * 1.001, "row \(r)")
        }
        XCTAssertFalse(lay.isSealed(StoredRows(base: block, stride: w)))

        var bounds = [Float](repeating: 0, count: 2 * d)
        lay.sealKeys(block: block, bounds: &bounds)
        XCTAssertTrue(lay.isSealed(StoredRows(base: block, stride: w)))
        let expected = transcription(int8Keys: int8Keys, levels: levels)
        XCTAssertEqual(bounds, expected.bounds)
        forEachSIMDPath { path in
            bounds.withUnsafeBufferPointer { lay.decode(block, stride: w, rows: w, into: scratch, keyRanges: $0.baseAddress!) }
            for r in 0..<w {
                let got = Array(UnsafeBufferPointer(start: scratch + r * d, count: d))
                XCTAssertLessThan(zip(got, expected.keys[r]).map { abs($0 - $1) }.max()!, 1e-5, "\(lay.precision) \(path) key row \(r)")
                // Within half a step of the int8 key the open chunk held, and exact on the constant channel.
                for x in 0..<d {
                    XCTAssertLessThanOrEqual(abs(got[x] - int8Keys[r][x]), (bounds[d + x] - bounds[x]) / (2 * (levels - 1)) * 1.0001 + 1e-6,
                                             "\(lay.precision) \(path) row \(r) channel \(x)")
                }
                XCTAssertEqual(got[7], int8Keys[r][7])
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: scratch + w * d, count: w * d)), values, "\(path): values unchanged by sealing")
        }
    }

    /// The fused decode path scores sealed rows through the int8 kernel with channel-scaled queries plus an
    /// offset: equal to q · k for the decoded keys, at every SIMD level, for one to three queries.
    func testScaledQueryScoresEqualDotProductsWithDecodedKeys() {
        for (p, _) in sealing { scaledQueryScoresEqualDotProductsWithDecodedKeys(layout(p)) }
    }

    func scaledQueryScoresEqualDotProductsWithDecodedKeys(_ lay: ChunkLayout) {
        let (block, _) = filledBlock(lay, seed: 8)
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { block.deallocate(); decoded.deallocate() }
        var bounds = [Float](repeating: 0, count: 2 * d)
        lay.sealKeys(block: block, bounds: &bounds)
        bounds.withUnsafeBufferPointer { lay.decode(block, stride: w, rows: w, into: decoded, keyRanges: $0.baseAddress!) }
        var rng = SplitMix64(seed: 2)
        let st = StoredRows(base: block, stride: w)
        for m in 1...3 {
            let q = (0..<(m * d)).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
            var scaled = [Float](repeating: 0, count: m * d), offsets = [Float](repeating: 0, count: m)
            for i in 0..<m {
                q.withUnsafeBufferPointer { qp in bounds.withUnsafeBufferPointer { b in scaled.withUnsafeMutableBufferPointer { s in
                    offsets.withUnsafeMutableBufferPointer { o in
                        lh_channel_scaled_query(qp.baseAddress! + i * d, Int64(d), b.baseAddress!, b.baseAddress! + d, lay.keyLevels,
                                                s.baseAddress! + i * d, o.baseAddress! + i)
                    }
                } } }
            }
            forEachSIMDPath { path in
                var scores = [Float](repeating: 0, count: m * w)
                lh_kv_scores_multi(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(w), Int64(d), Int64(m), scaled, 0.5, &scores, Int64(w))
                for i in 0..<m {
                    for t in 0..<w {
                        let exact = 0.5 * (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * decoded[t * d + $1] }
                        XCTAssertEqual(scores[i * w + t] + 0.5 * offsets[i], exact, accuracy: 2e-3 * max(1, abs(exact)), "\(lay.precision) \(path) m \(m) query \(i) row \(t)")
                    }
                }
            }
        }
    }

    /// Over a sliding window at five times its length (chunks sealed and read back many times): close to f32
    /// storage (k5v4 and k4v4 within 1.5 times k8v4's error; measured 1.04 and 1.13 times), with every complete
    /// chunk sealed but k4v4's chunk 0; the same in single steps (fused kernels on the stored codes) as a chunk at a
    /// time (blocks decoded to f32), as far as the model's own batch paths agree (their gap is measured on f32
    /// storage).
    func testTinyModelLogitsCloseToF32() throws {
        let model = LongHeadsTinyModelTests.model
        let n = 328, tokens = LongHeadsTinyModelTests.tokens(n, seed: 9)   // 20 complete chunks of 16, and 8 rows open
        func run(_ p: KVPrecision, batch: Int) throws -> (logits: [Float], engine: LongHeadsAttention) {
            let cache = try SlidingWindowAttention(model: model, windowLength: 64, chunkSize: 16, precision: p)
            return (ForwardPass(model: model, batchSize: batch).run(tokens, cache: cache, logitRows: Array(0..<n)), cache.engine)
        }
        func rms(_ a: [Float], _ b: [Float]) -> Float { (zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Float(a.count)).squareRoot() }
        let exact = try run(.f32, batch: 8).logits
        let k8v4 = try run(.k8v4, batch: 8).logits
        let err8 = rms(k8v4, exact)
        let modelGap = rms(try run(.f32, batch: 1).logits, exact)
        for p in [KVPrecision.k5v4, .k4v4] {
            let (chunked, engine) = try run(p, batch: 8)
            let err = rms(chunked, exact)
            print("tiny model, \(n) tokens: rms logit error \(p) \(err), k8v4 \(err8)")
            XCTAssertGreaterThan(err, 0)
            XCTAssertLessThan(err, 1.5 * err8, "\(p)")
            XCTAssertNotEqual(chunked, k8v4, "\(p): sealed keys are read")
            // Single steps against 8-token batches (chunk-aligned): within the model's own gap between those paths.
            let single = try run(p, batch: 1).logits
            XCTAssertLessThan(rms(single, chunked), 2 * modelGap + 1e-6, "\(p)")
            let store = engine.store
            for c in 0..<(n / 16) {
                XCTAssertEqual(store.layout.isSealed(store.storedRows(layer: 0, kvHead: 0, chunk: c, rows: 16)), c > 0 || p == .k5v4,
                               "\(p): complete chunk \(c)")
            }
            XCTAssertFalse(store.layout.isSealed(store.storedRows(layer: 0, kvHead: 0, chunk: n / 16, rows: n % 16)), "\(p): the open chunk")
        }
    }
}
