// HalfRowsTests: lh_f32_to_f16_directed against Swift's Float16 rounding (then stepped towards the bound), and
// lh_sgemm_nt_f16b against a Double triple loop over the halves at every SIMD level, AVX-512 equal to AVX2 bit for bit.

import CKernels
import Foundation
import LHModel
import LHTestSupport
import XCTest

final class HalfRowsTests: XCTestCase {
    /// Floats across the half range: zeros, subnormals, normals, exact halves, the largest half, beyond it.
    private func samples() -> [Float] {
        var rng = SplitMix64(seed: 7)
        var xs: [Float] = [0, -0, 1, -1, 65504, -65504, 65505, -65505, 70000, -1e9, 5.96e-8, -5.96e-8, 1e-9, -1e-9,
                           6.1e-5, -6.1e-5, 1.00048828125, -1.00048828125]
        for e in -30...17 {
            for _ in 0..<20 { xs.append(Float.random(in: -1...1, using: &rng) * Float(pow(2.0, Double(e)))) }
        }
        return xs
    }

    /// The reference: the nearest half (Swift's Float16 conversion), stepped once if it lies on the wrong side.
    private func reference(_ x: Float, up: Bool) -> Float {
        let c = min(max(x, -65504), 65504)
        let h = Float16(c)
        if up { return Float(h) < c ? Float(h.nextUp) : Float(h) }
        return Float(h) > c ? Float(h.nextDown) : Float(h)
    }

    func testDirectedRoundingGivesTheNearestHalfOnTheBoundSide() {
        let xs = samples()
        for simd in [true, false] {
            for up in [false, true] {
                var halves = [UInt16](repeating: 0, count: xs.count)
                withSIMD(simd) { lh_f32_to_f16_directed(xs, &halves, Int64(xs.count), up ? 1 : 0) }
                for (x, h) in zip(xs, halves) {
                    let got = Float(Float16(bitPattern: h)), want = reference(x, up: up)
                    XCTAssertEqual(got, want, "x \(x) up \(up) simd \(simd)")
                    if abs(x) <= 65504 { XCTAssertTrue(up ? got >= x : got <= x, "x \(x) up \(up) simd \(simd)") }
                }
            }
        }
    }

    func testProductWithHalfRowsEqualsTheProductOverTheirValues() {
        var rng = SplitMix64(seed: 11)
        for (m, n, k) in [(1, 1, 8), (1, 70, 128), (2, 9, 13), (3, 33, 128), (4, 5, 512), (5, 70, 128), (9, 17, 13), (40, 130, 128), (3, 4, 9000)] {
            let lda = k + 3, ldb = k + 5, ldc = n + 2
            let a = (0..<(m * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<(n * ldb)).map { _ in Float16(Float.random(in: -4...4, using: &rng)).bitPattern }
            let c0 = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
            for beta: Float in [0, 1] {
                var byLevel: [SIMDLevel: [Float]] = [:]
                forEachSIMDLevel { level in
                    var c = c0
                    lh_sgemm_nt_f16b(Int64(m), Int64(n), Int64(k), a, Int64(lda), b, Int64(ldb), beta, &c, Int64(ldc))
                    byLevel[level] = c
                    let simd = level.name
                    for i in 0..<m {
                        for j in 0..<ldc {
                            guard j < n else { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "padding"); continue }
                            var want = 0.0, scale = 0.0
                            for p in 0..<k {
                                let t = Double(a[i * lda + p]) * Double(Float16(bitPattern: b[j * ldb + p]))
                                want += t
                                scale += abs(t)
                            }
                            want += Double(beta) * Double(c0[i * ldc + j])
                            XCTAssertEqual(Double(c[i * ldc + j]), want, accuracy: 1e-5 * (scale + 1), "m \(m) n \(n) k \(k) beta \(beta) simd \(simd)")
                        }
                    }
                }
                // The AVX-512 rows in pairs add exactly as the AVX2 rows, so selections do not depend on the CPU.
                if m <= 4, let wide = byLevel[.avx512], let narrow = byLevel[.avx2] {
                    XCTAssertEqual(wide, narrow, "m \(m) n \(n) k \(k) beta \(beta): AVX-512 against AVX2")
                }
            }
        }
    }
}
