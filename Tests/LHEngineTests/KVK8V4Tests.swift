// The k8v4 key/value rows: decoding equals a direct transcription of FORMAT.md §3 (explicit Hadamard matrix,
// Q4_0 codes), the rotation is orthonormal, and the tiny model's logits stay close to f32 storage.
import XCTest
import CKernels
@testable import LHEngine
import LHModel
import LHTestSupport

final class KVK8V4Tests: XCTestCase {
    let d = 64, w = 16
    var layout: ChunkLayout { ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: d, chunkSize: w, precision: .k8v4) }

    /// H·D·x/√n with H_ij = (−1)^popcount(i & j) and D_i = −1 when bit 15 of the u32 product i · 2654435761 is set.
    func referenceRotate(_ x: [Float]) -> [Float] {
        let n = x.count
        let sign: (Int) -> Float = { i in ((UInt32(i) &* 2654435761) >> 15) & 1 == 1 ? -1 : 1 }
        return (0..<n).map { i in
            (0..<n).reduce(Float(0)) { $0 + ((i & $1).nonzeroBitCount % 2 == 0 ? 1 : -1) * sign($1) * x[$1] } / Float(n).squareRoot()
        }
    }

    /// Q4_0 of one row: s = f16(m / −8) for the element m of largest magnitude, code clamp(round(x/s) + 8, 0, 15).
    func referenceQuantize4(_ x: [Float]) -> [Float] {
        let m = x.max { abs($0) < abs($1) }!
        let s = Float(Float16(m / -8))
        guard s != 0 else { return x.map { _ in 0 } }
        return x.map { (min(max(($0 / s).rounded(.toNearestOrEven) + 8, 0), 15) - 8) * s }
    }

    /// Rows of 64 (AVX2 and scalar paths) and of 16 (scalar only).
    func testRotationIsOrthonormalAndMatchesTheMatrix() {
        var rng = SplitMix64(seed: 3)
        for (n, simd) in [(64, true), (64, false), (16, true)] {
            let x = (0..<n).map { _ in Float(rng.next() % 20001) / 10000 - 1 }
            var y = x
            withSIMD(simd) { lh_rotate_row(&y, Int64(n)) }
            let expect = referenceRotate(x)
            XCTAssertLessThan(zip(y, expect).map { abs($0 - $1) }.max()!, 1e-5, "n \(n) simd \(simd)")
            let norm = { (v: [Float]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            XCTAssertEqual(norm(y), norm(x), accuracy: 1e-4)
            withSIMD(simd) { lh_unrotate_row(&y, Int64(n)) }
            XCTAssertLessThan(zip(y, x).map { abs($0 - $1) }.max()!, 1e-5, "n \(n) simd \(simd)")
        }
    }

    func testDecodedBlockEqualsTheTranscription() {
        var rng = SplitMix64(seed: 11)
        let lay = layout
        XCTAssertEqual(lay.blockBytes, w * (d + d / 2 + 4))
        let block = UnsafeMutableRawPointer.allocate(byteCount: lay.blockBytes, alignment: 64)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { block.deallocate(); scratch.deallocate() }
        func row(_ r: Int) -> [Float] {
            var x = (0..<d).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * Float(r + 1) }
            if r % 4 == 0 { x[Int(rng.next() % UInt64(d))] = 30 }          // an outlier channel
            if r == 5 { x = [Float](repeating: 0, count: d) }
            return x
        }
        let keys = (0..<w).map(row), values = (0..<w).map(row)
        for r in 0..<w { lay.storeRow(r, key: keys[r], value: values[r], into: block) }
        for simd in [true, false] {
            withSIMD(simd) { lay.decode(block, stride: w, rows: w, into: scratch) }
            for r in 0..<w {
                // Values: rotate, Q4_0, rotate back (H·D is its own inverse up to D·H).
                let q = referenceQuantize4(referenceRotate(values[r]))
                var back = q
                lh_unrotate_row(&back, Int64(d))
                let got = Array(UnsafeBufferPointer(start: scratch + w * d + r * d, count: d))
                XCTAssertLessThan(zip(got, back).map { abs($0 - $1) }.max()!, 1e-4 * max(1, values[r].map(abs).max()!), "value row \(r)")
                // Keys: int8 within half a step.
                let amax = keys[r].map(abs).max()!
                let k = Array(UnsafeBufferPointer(start: scratch + r * d, count: d))
                XCTAssertLessThanOrEqual(zip(k, keys[r]).map { abs($0 - $1) }.max()!, amax / 254 * (1 + 1 / 1024), "key row \(r)")
            }
        }
        // The rotation is what makes 4 bits usable: the outlier rows' errors are far below plain Q4_0's.
        var rotatedError: Float = 0, plainError: Float = 0
        for r in stride(from: 0, to: w, by: 4) {
            let got = Array(UnsafeBufferPointer(start: scratch + w * d + r * d, count: d))
            rotatedError += zip(got, values[r]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            plainError += zip(referenceQuantize4(values[r]), values[r]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        XCTAssertLessThan(rotatedError, plainError / 2)
    }

    /// The tiny model with k8v4 storage stays close to f32 storage over a sliding window at five times its
    /// length (as the int8 test; 4-bit values allow a larger error).
    func testTinyModelLogitsCloseToF32() throws {
        let model = LongHeadsTinyModelTests.model
        let n = 320, tokens = LongHeadsTinyModelTests.tokens(n, seed: 9)
        func run(_ p: KVPrecision) throws -> [Float] {
            let cache = try SlidingWindowAttention(model: model, windowLength: 64, chunkSize: 16, precision: p)
            return ForwardPass(model: model, batchSize: 64).run(tokens, cache: cache, logitRows: Array(0..<n))
        }
        let exact = try run(.f32), k8v4 = try run(.k8v4), int8 = try run(.int8)
        let err = zip(k8v4, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
        let err8 = zip(int8, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
        print("tiny model, \(n) tokens: relative logit error k8v4 \(err), int8 \(err8)")
        XCTAssertLessThan(err, 0.1)
        XCTAssertGreaterThan(err, 0)
    }
}
