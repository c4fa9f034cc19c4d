// The int8 key/value rows: round trip through a block within half a quantization step, SIMD equal to scalar, tiny-model logits.
import XCTest
import CKernels
@testable import LHEngine
import LHModel
import LHCore
import LHTestSupport

final class KVInt8Tests: XCTestCase {
    let layout = ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: 64, chunkSize: 16, precision: .int8)

    /// Row r of the test data: normal values of scale 10^(r mod 5 − 2), one outlier channel in every third row,
    /// row 7 all zero.
    func row(_ r: Int, _ rng: inout SplitMix64) -> [Float] {
        let scale = Float(pow(10.0, Double(r % 5 - 2)))
        var x = (0..<64).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * scale }
        if r % 3 == 0 { x[Int(rng.next() % 64)] = 20 * scale }
        if r == 7 { x = [Float](repeating: 0, count: 64) }
        return x
    }

    /// Every decoded value is within half a step of the stored one: |x − x̂| ≤ s/2 with s = f16(max|x|/127)
    /// ≤ max|x|/127 · (1 + 2⁻¹¹), so the bound checked is max|x| / 254 · (1 + 2⁻¹⁰) per row.
    func testBlockRoundTripWithinHalfAStep() {
        var rng = SplitMix64(seed: 21)
        let w = layout.chunkSize, d = layout.headDimension
        XCTAssertEqual(layout.blockBytes, 2 * w * (d + 2))
        let block = UnsafeMutableRawPointer.allocate(byteCount: layout.blockBytes, alignment: 64)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { block.deallocate(); scratch.deallocate() }
        let keys = (0..<w).map { row($0, &rng) }, values = (0..<w).map { row($0 + 1, &rng) }
        for r in 0..<w { layout.storeRow(r, key: keys[r], value: values[r], into: block) }
        for simd in [true, false] {
            withSIMD(simd) { layout.decode(block, stride: w, rows: w, into: scratch) }
            for (half, rows) in [(0, keys), (1, values)] {
                for r in 0..<w {
                    let amax = rows[r].map(abs).max()!, bound = amax / 254 * (1 + 1 / 1024)
                    let decoded = Array(UnsafeBufferPointer(start: scratch + half * w * d + r * d, count: d))
                    let err = zip(rows[r], decoded).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(err, bound, "simd \(simd), \(half == 0 ? "key" : "value") row \(r)")
                    if amax == 0 { XCTAssertEqual(decoded, rows[r]) }
                }
            }
        }
        // Packing the first rows of every section and spreading them back gives the same block rows.
        let rows = 5
        let packed = UnsafeMutableRawPointer.allocate(byteCount: layout.payloadBytes(rows: rows), alignment: 64)
        let back = UnsafeMutableRawPointer.allocate(byteCount: layout.blockBytes, alignment: 64)
        defer { packed.deallocate(); back.deallocate() }
        layout.copyRows(rows, from: block, stride: w, to: packed, stride: rows)
        layout.copyRows(rows, from: packed, stride: rows, to: back, stride: w)
        let other = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { other.deallocate() }
        layout.decode(block, stride: w, rows: rows, into: scratch)
        layout.decode(packed, stride: rows, rows: rows, into: other)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: scratch, count: rows * d)), Array(UnsafeBufferPointer(start: other, count: rows * d)))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: scratch + w * d, count: rows * d)),
                       Array(UnsafeBufferPointer(start: other + w * d, count: rows * d)))
    }

    /// The fused decode kernels (scores and weighted values read from stored rows) equal products over the
    /// decoded f32 rows, for every precision, at every SIMD level.
    func testFusedKernelsEqualProductsOfDecodedRows() {
        var rng = SplitMix64(seed: 5)
        let w = 16, d = 64, rows = 11
        let q = (0..<d).map { _ in Float(rng.next() % 2001) / 1000 - 1 }, p = (0..<rows).map { _ in Float(rng.next() % 1001) / 1000 }
        for precision in KVPrecision.allCases {
            let lay = ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: d, chunkSize: w, precision: precision)
            let block = UnsafeMutableRawPointer.allocate(byteCount: lay.blockBytes, alignment: 64)
            let f = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
            defer { block.deallocate(); f.deallocate() }
            for r in 0..<w { lay.storeRow(r, key: row(r, &rng), value: row(r + 2, &rng), into: block) }
            lay.decode(block, stride: w, rows: rows, into: f)
            let expectScores = (0..<rows).map { t in 0.5 * (0..<d).reduce(Float(0)) { $0 + q[$1] * f[t * d + $1] } }
            let expectOut = (0..<d).map { i in (0..<rows).reduce(Float(0)) { $0 + p[$1] * f[w * d + $1 * d + i] } }
            let st = StoredRows(base: block, stride: w)
            forEachSIMDLevel { level in
                var scores = [Float](repeating: 0, count: rows), out = [Float](repeating: 0, count: d)
                do {
                    lh_kv_scores(lay.keyKernelKind, st.keys(lay), st.keyScales(lay), Int64(rows), Int64(d), q, 0.5, &scores)
                    lh_kv_accumulate(lay.valueKernelKind, st.values(lay), st.valueScales(lay), Int64(rows), Int64(d), p, &out)
                }
                lay.unrotateValues(&out, rows: 1)
                let e1 = zip(scores, expectScores).map { abs($0 - $1) }.max()! / expectScores.map(abs).max()!
                let e2 = zip(out, expectOut).map { abs($0 - $1) }.max()! / expectOut.map(abs).max()!
                XCTAssertLessThan(e1, 1e-5, "\(precision) \(level.name) scores")
                XCTAssertLessThan(e2, 1e-5, "\(precision) \(level.name) values")
            }
        }
    }

    /// Values too large for an f16 scale clamp instead of becoming infinite or NaN.
    func testHugeAndNaNRowsStayFinite() {
        var q = [Int8](repeating: 0, count: 4), y = [Float](repeating: 0, count: 4)
        var s = lh_quantize_i8([1e10, -1e10, 3, Float.nan], &q, 4)
        XCTAssertEqual(s, 0x7BFF)
        lh_dequantize_i8_rows(q, &s, &y, 1, 4)
        XCTAssertTrue(y.allSatisfy { $0.isFinite }, "\(y)")
        XCTAssertEqual(q[0], 127)
        XCTAssertEqual(q[1], -127)
    }

    /// The tiny model with int8 keys and values stays close to f32 storage: LongHeads while the text fits
    /// (dense attention), and a sliding window at five times its length (many stored chunks, no selection:
    /// with summary selection a quantization error can flip a chunk choice, and the logits then differ by
    /// more than the storage error).
    func testTinyModelLogitsCloseToF32() throws {
        let model = LongHeadsTinyModelTests.model
        for n in [64, 320] {
            let tokens = LongHeadsTinyModelTests.tokens(n, seed: 9)
            func run(_ p: KVPrecision) throws -> [Float] {
                let cache: AttentionCache = n <= 64
                    ? try LongHeadsAttention(model: model, settings: LongHeadsTinyModelTests.settings(.block, precision: p))
                    : try SlidingWindowAttention(model: model, windowLength: 64, chunkSize: 16, precision: p)
                return ForwardPass(model: model, batchSize: 64).run(tokens, cache: cache, logitRows: Array(0..<n))
            }
            let exact = try run(.f32), int8 = try run(.int8), f16 = try run(.f16)
            let err8 = zip(int8, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
            let err16 = zip(f16, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
            print("tiny model, \(n) tokens: relative logit error int8 \(err8), f16 \(err16)")
            XCTAssertLessThan(err8, 1e-2, "\(n) tokens")
        }
    }
}
