// SgemmTests: checks lh_sgemm_nt / lh_sgemm_nn (at each SIMD level, and their scalar fallbacks) against a naive Double triple loop
// written here, including odd sizes, strides, alpha/beta variants, NaN-filled C with beta = 0 and concurrent calls
// from several threads; prints single-threaded GF/s for lhindex's real shapes without asserting on speed.

import CKernels
import LHModel
import LHTestSupport
import Dispatch
import Foundation
import XCTest


/// One product: C (m x n) = alpha * A (m x k) * op(B) + beta * C, with op(B) = B^T (NT, B is n x k) or B (NN).
private struct GemmCase {
    var nt: Bool
    var m, n, k: Int
    var lda, ldb, ldc: Int
    var alpha: Float = 1
    var beta: Float = 0

    var label: String {
        "\(nt ? "NT" : "NN") m=\(m) n=\(n) k=\(k) lda=\(lda) ldb=\(ldb) ldc=\(ldc) alpha=\(alpha) beta=\(beta)"
    }
    /// Floats needed for each operand: the last row only needs its width, so reading past it is caught by the
    /// tests' neighbours (padding of C is checked to stay untouched).
    var aCount: Int { (m - 1) * lda + k }
    var bCount: Int { nt ? (n - 1) * ldb + k : (k - 1) * ldb + n }
    var cCount: Int { m * ldc }
}

/// Output slots written by concurrent iterations, each iteration its own element.
private struct OutputSlots: @unchecked Sendable { let base: UnsafeMutablePointer<[Float]> }

private func randomFloats(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
}

/// Calls the library (or its scalar fallback) on copies of the operands.
private func runGemm(_ t: GemmCase, _ a: [Float], _ b: [Float], _ c: inout [Float], scalar: Bool = false) {
    let f = t.nt ? (scalar ? lh_sgemm_nt_scalar : lh_sgemm_nt) : (scalar ? lh_sgemm_nn_scalar : lh_sgemm_nn)
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                f(Int64(t.m), Int64(t.n), Int64(t.k), t.alpha, ap.baseAddress, Int64(t.lda), bp.baseAddress,
                  Int64(t.ldb), t.beta, cp.baseAddress, Int64(t.ldc))
            }
        }
    }
}

/// Checks C against a naive Double loop: |C - ref| <= 1e-4 * (|alpha| * sum |a*b| + |beta * c0|) per element (a
/// relative tolerance that stays meaningful when the sum cancels), and the padding columns of C are bit-identical.
private func checkGemm(_ t: GemmCase, _ a: [Float], _ b: [Float], c0: [Float], c: [Float],
                       file: StaticString = #filePath, line: UInt = #line) {
    var bad = 0
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            for i in 0..<t.m {
                for j in 0..<t.ldc {
                    let got = c[i * t.ldc + j], old = c0[i * t.ldc + j]
                    if j >= t.n {
                        if got.bitPattern != old.bitPattern { bad += 1 }
                        continue
                    }
                    var sum = 0.0, mag = 0.0
                    for p in 0..<t.k {
                        let bv = t.nt ? b[j * t.ldb + p] : b[p * t.ldb + j]
                        let term = Double(a[i * t.lda + p]) * Double(bv)
                        sum += term
                        mag += abs(term)
                    }
                    var ref = Double(t.alpha) * sum, tol = 1e-4 * abs(Double(t.alpha)) * mag
                    if t.beta != 0 {
                        ref += Double(t.beta) * Double(old)
                        tol += 1e-4 * abs(Double(t.beta) * Double(old))
                    }
                    if !(abs(Double(got) - ref) <= tol + 1e-30) {
                        if bad < 3 { XCTFail("\(t.label): C[\(i)][\(j)] = \(got), expected \(ref)", file: file, line: line) }
                        bad += 1
                    }
                }
            }
        }
    }
    if bad > 3 { XCTFail("\(t.label): \(bad) wrong elements in all", file: file, line: line) }
}

/// Random operands for t; C is NaN when beta == 0 (it must not be read), random otherwise.
private func makeOperands(_ t: GemmCase, _ rng: inout SplitMix64) -> (a: [Float], b: [Float], c: [Float]) {
    let a = randomFloats(t.aCount, &rng), b = randomFloats(t.bCount, &rng)
    let c = t.beta == 0 ? [Float](repeating: .nan, count: t.cCount) : randomFloats(t.cCount, &rng)
    return (a, b, c)
}

/// Checks one product on random operands: the dispatching entry points at every SIMD level the CPU has from AVX2
/// up (AVX2, then AVX2 with AVX-512 tiles), or the scalar fallback.
private func verify(_ t: GemmCase, _ rng: inout SplitMix64, scalar: Bool = false,
                    file: StaticString = #filePath, line: UInt = #line) {
    let (a, b, c0) = makeOperands(t, &rng)
    let simdLevels = SIMDLevel.allCases.filter { $0 >= .avx2 && $0 <= SIMDLevel.supported }
    for level in scalar || simdLevels.isEmpty ? [SIMDLevel.current] : simdLevels {
        withSIMDLevel(level) {
            var c = c0
            runGemm(t, a, b, &c, scalar: scalar)
            checkGemm(t, a, b, c0: c0, c: c, file: file, line: line)
        }
    }
}

final class SgemmTests: XCTestCase {
    private static let sizes = [1, 3, 7, 16, 33, 64, 100, 257]

    /// Every combination of odd and round sizes (up to 2M multiply-adds), with strides wider than the rows and
    /// alpha/beta cycling through 1/0, 0.125/0 (NaN-filled C), 1/1, -0.5/0.75.
    func testOddSizesMatchNaive() {
        var rng = SplitMix64(seed: 1)
        let ab: [(Float, Float)] = [(1, 0), (0.125, 0), (1, 1), (-0.5, 0.75)]
        var index = 0
        for nt in [true, false] {
            for m in Self.sizes {
                for n in Self.sizes {
                    for k in Self.sizes where m * n * k <= 2_000_000 {
                        index += 1
                        let pad = [0, 1, 5, 17][index % 4]
                        let (alpha, beta) = ab[(index / 4) % 4]
                        let t = GemmCase(nt: nt, m: m, n: n, k: k, lda: k + pad, ldb: (nt ? k : n) + (pad + 3) % 7,
                                         ldc: n + pad % 3, alpha: alpha, beta: beta)
                        verify(t, &rng)
                    }
                }
            }
        }
    }

    /// Shapes that exercise each internal path and its edges: few-row dot products, the transposed (C^T = B A^T)
    /// path with 8-row and 1-3-row leftovers, packed B with narrow last panels, B read in place for NN, long k.
    func testPathsAndEdgesMatchNaive() {
        var rng = SplitMix64(seed: 2)
        let shapes: [(Int, Int, Int)] = [
            (1, 300, 1536), (2, 37, 600), (5, 41, 64), (8, 1000, 600), (12, 37, 300), (17, 600, 1536),
            (20, 100, 64), (24, 70, 65), (40, 13, 64), (50, 300, 1536), (35, 80, 2000), (130, 200, 577),
            (190, 150, 1100), (200, 100, 1536), (5, 9, 10000), (300, 1100, 40),
        ]
        for (index, (m, n, k)) in shapes.enumerated() {
            for nt in [true, false] {
                for (alpha, beta): (Float, Float) in [(1, 0), (0.3, -0.7)] {
                    let t = GemmCase(nt: nt, m: m, n: n, k: k, lda: k + index % 3, ldb: (nt ? k : n) + 2,
                                     ldc: n + 1, alpha: alpha, beta: beta)
                    verify(t, &rng)
                }
            }
        }
    }

    /// The real lhindex shapes, with their strides: weight products, attention scores, attention output.
    func testRealShapesMatchNaive() {
        var rng = SplitMix64(seed: 3)
        verify(GemmCase(nt: true, m: 64, n: 192, k: 576, lda: 576, ldb: 576, ldc: 192), &rng)
        verify(GemmCase(nt: true, m: 100, n: 1536, k: 576, lda: 576, ldb: 576, ldc: 1536), &rng)
        verify(GemmCase(nt: true, m: 33, n: 576, k: 1536, lda: 1536, ldb: 1536, ldc: 576, beta: 1), &rng)
        verify(GemmCase(nt: true, m: 1, n: 700, k: 64, lda: 576, ldb: 192, ldc: 700, alpha: 0.125), &rng)
        verify(GemmCase(nt: true, m: 70, n: 1000, k: 64, lda: 576, ldb: 192, ldc: 1000, alpha: 0.125), &rng)
        verify(GemmCase(nt: false, m: 1, n: 64, k: 1000, lda: 1000, ldb: 192, ldc: 576), &rng)
        verify(GemmCase(nt: false, m: 70, n: 64, k: 1000, lda: 1024, ldb: 192, ldc: 576), &rng)
    }

    /// The scalar fallbacks give the same results (up to rounding) on machines where the SIMD path runs.
    func testScalarFallbackMatchesNaive() {
        var rng = SplitMix64(seed: 4)
        for nt in [true, false] {
            for (m, n, k) in [(1, 1, 1), (3, 7, 16), (33, 16, 100), (7, 257, 3), (64, 33, 64)] {
                for (alpha, beta): (Float, Float) in [(1, 0), (0.5, 2)] {
                    let t = GemmCase(nt: nt, m: m, n: n, k: k, lda: k + 3, ldb: (nt ? k : n) + 1, ldc: n + 2,
                                     alpha: alpha, beta: beta)
                    verify(t, &rng, scalar: true)
                }
            }
        }
    }

    /// k == 0 or alpha == 0 scale C by beta without reading A or B (NaN there must not leak); m or n == 0 is a no-op.
    func testDegenerateCalls() {
        for nt in [true, false] {
            let f = nt ? lh_sgemm_nt : lh_sgemm_nn
            let a = [Float](repeating: .nan, count: 64), b = [Float](repeating: .nan, count: 64)
            var c: [Float] = [1, 2, 3, 4, 5, 6]
            f(2, 3, 8, 0, a, 8, b, 8, 0.5, &c, 3)
            XCTAssertEqual(c, [0.5, 1, 1.5, 2, 2.5, 3])
            f(2, 3, 0, 1, a, 8, b, 8, 2, &c, 3)
            XCTAssertEqual(c, [1, 2, 3, 4, 5, 6])
            c = [Float](repeating: .nan, count: 6)
            f(2, 3, 0, 1, a, 8, b, 8, 0, &c, 3)
            XCTAssertEqual(c, [0, 0, 0, 0, 0, 0])
            c = [7]
            f(0, 1, 4, 1, a, 8, b, 8, 0, &c, 1)
            f(1, 0, 4, 1, a, 8, b, 8, 0, &c, 1)
            XCTAssertEqual(c, [7])
        }
    }

    /// Several threads call at once on different outputs (each with its own per-thread packing buffer): every
    /// result equals the single-threaded one bit for bit, and the naive reference up to rounding.
    func testConcurrentCallsGiveSameResults() {
        var rng = SplitMix64(seed: 5)
        // One case per path, big enough that the calls overlap in time.
        let cases = [
            GemmCase(nt: true, m: 96, n: 768, k: 576, lda: 576, ldb: 576, ldc: 768),
            GemmCase(nt: true, m: 256, n: 512, k: 64, lda: 576, ldb: 192, ldc: 512, alpha: 0.125),
            GemmCase(nt: false, m: 128, n: 64, k: 1024, lda: 1024, ldb: 192, ldc: 64),
            GemmCase(nt: true, m: 5, n: 900, k: 1536, lda: 1536, ldb: 1536, ldc: 900, beta: 1),
            GemmCase(nt: false, m: 10, n: 300, k: 700, lda: 700, ldb: 300, ldc: 300),
            GemmCase(nt: true, m: 300, n: 200, k: 1100, lda: 1100, ldb: 1100, ldc: 200),
        ]
        let operands = cases.map { makeOperands($0, &rng) }
        let expected: [[Float]] = cases.indices.map { i in
            var c = operands[i].c
            runGemm(cases[i], operands[i].a, operands[i].b, &c)
            checkGemm(cases[i], operands[i].a, operands[i].b, c0: operands[i].c, c: c)
            return c
        }
        for round in 0..<4 {
            var outputs = operands.map(\.c)
            outputs.withUnsafeMutableBufferPointer { outs in
                // Two calls per case at once (pairs of iterations), each writing its own output array.
                let slots = OutputSlots(base: outs.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: cases.count * 2) { it in
                    let i = (it + round) % cases.count
                    if it < cases.count {
                        runGemm(cases[i], operands[i].a, operands[i].b, &slots.base[i])
                    } else {
                        var c = operands[i].c
                        for _ in 0..<2 { c = operands[i].c; runGemm(cases[i], operands[i].a, operands[i].b, &c) }
                        if c != expected[i] { XCTFail("concurrent duplicate of \(cases[i].label) differs") }
                    }
                }
            }
            for i in cases.indices {
                XCTAssertEqual(outputs[i], expected[i], "round \(round): \(cases[i].label)")
            }
        }
    }

    /// Prints single-threaded GF/s for lhindex's shapes (best of several timed batches); does not assert on speed.
    func testBenchmarkShapes() {
        var rng = SplitMix64(seed: 6)
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        let shapes: [(String, GemmCase)] = [
            ("weights NT", GemmCase(nt: true, m: 64, n: 1536, k: 576, lda: 576, ldb: 576, ldc: 1536)),
            ("weights NT", GemmCase(nt: true, m: 256, n: 1536, k: 576, lda: 576, ldb: 576, ldc: 1536)),
            ("weights NT", GemmCase(nt: true, m: 64, n: 4096, k: 1536, lda: 1536, ldb: 1536, ldc: 4096)),
            ("weights NT", GemmCase(nt: true, m: 256, n: 576, k: 1536, lda: 1536, ldb: 1536, ldc: 576)),
            ("weights NT", GemmCase(nt: true, m: 512, n: 192, k: 576, lda: 576, ldb: 576, ldc: 192)),
            ("scores NT", GemmCase(nt: true, m: 1, n: 8192, k: 64, lda: 576, ldb: 192, ldc: 8192, alpha: 0.125)),
            ("scores NT", GemmCase(nt: true, m: 64, n: 8192, k: 64, lda: 576, ldb: 192, ldc: 8192, alpha: 0.125)),
            ("scores NT", GemmCase(nt: true, m: 256, n: 8192, k: 64, lda: 576, ldb: 192, ldc: 8192, alpha: 0.125)),
            ("attn out NN", GemmCase(nt: false, m: 1, n: 64, k: 8192, lda: 8192, ldb: 192, ldc: 576)),
            ("attn out NN", GemmCase(nt: false, m: 64, n: 64, k: 8192, lda: 8192, ldb: 192, ldc: 576)),
            ("attn out NN", GemmCase(nt: false, m: 256, n: 64, k: 8192, lda: 8192, ldb: 192, ldc: 576)),
        ]
        for (name, t) in shapes {
            let (a, b, _) = makeOperands(t, &rng)
            var c = [Float](repeating: 0, count: t.cCount)
            let flops = 2.0 * Double(t.m * t.n * t.k)
            let calls = max(1, Int(4e7 / flops))
            for level in SIMDLevel.allCases where level >= .avx2 && level <= SIMDLevel.supported {
                var best = Double.infinity
                withSIMDLevel(level) {
                    let budget = clock.now.advanced(by: .milliseconds(150))
                    for batch in 0..<20 where batch < 3 || clock.now < budget {
                        let elapsed = clock.measure {
                            for _ in 0..<calls { runGemm(t, a, b, &c) }
                        }
                        best = min(best, seconds(elapsed) / Double(calls))
                    }
                }
                print(String(format: "lh_sgemm %@ m=%d n=%d k=%d %@: %.1f GF/s (%.1f us per call)",
                             name, t.m, t.n, t.k, level.name, flops / best / 1e9, best * 1e6))
            }
        }
    }
}
