// KernelTests: checks every CKernels entry point against naive Swift loops written here, on both the AVX2 and the
// scalar paths, and prints matvec bandwidth and thread-pool overhead (without asserting on speed).

import CKernels
import LHModel
import Foundation
import Synchronization
import XCTest
import LHTestSupport

// MARK: - Naive references


private let quantTypes: [Int32] = [Int32(LH_TYPE_Q4_0), Int32(LH_TYPE_Q4_1), Int32(LH_TYPE_Q8_0)]
private let floatTypes: [Int32] = [Int32(LH_TYPE_F32), Int32(LH_TYPE_F16), Int32(LH_TYPE_BF16)]

private func typeName(_ type: Int32) -> String {
    switch Int(type) {
    case Int(LH_TYPE_F32): return "F32"
    case Int(LH_TYPE_F16): return "F16"
    case Int(LH_TYPE_BF16): return "BF16"
    case Int(LH_TYPE_Q4_0): return "Q4_0"
    case Int(LH_TYPE_Q4_1): return "Q4_1"
    default: return "Q8_0"
    }
}

private func halfBits(_ x: Float) -> UInt16 { Float16(x).bitPattern }
private func halfValue(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

private func readU16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }

private func writeU16(_ bytes: inout [UInt8], _ at: Int, _ v: UInt16) {
    bytes[at] = UInt8(v & 0xFF)
    bytes[at + 1] = UInt8(v >> 8)
}

/// Bytes of one packed row of `cols` elements (without padding).
private func packedRowBytes(_ type: Int32, _ cols: Int) -> Int {
    Int(lh_type_block_bytes(type)) * cols / Int(lh_type_block_elems(type))
}

/// `rows` rows of random weights, each `rowBytes` long (packed row plus padding). Quantized blocks get sane f16
/// scales and random quant bytes; row 0 has an all-zero block and a subnormal scale to exercise the corner cases.
private func randomWeights(_ type: Int32, rows: Int, cols: Int, rowBytes: Int,
                           rng: inout SplitMix64) -> [UInt8] {
    var w = [UInt8](repeating: 0, count: rows * rowBytes)
    for i in w.indices { w[i] = UInt8.random(in: 0...255, using: &rng) }
    let bb = Int(lh_type_block_bytes(type))
    for r in 0..<rows {
        let base = r * rowBytes
        switch Int(type) {
        case Int(LH_TYPE_F32):
            for c in 0..<cols {
                let bits = Float.random(in: -1...1, using: &rng).bitPattern
                for k in 0..<4 { w[base + 4 * c + k] = UInt8((bits >> (8 * UInt32(k))) & 0xFF) }
            }
        case Int(LH_TYPE_F16):
            for c in 0..<cols { writeU16(&w, base + 2 * c, halfBits(Float.random(in: -1...1, using: &rng))) }
        case Int(LH_TYPE_BF16):
            for c in 0..<cols {
                writeU16(&w, base + 2 * c, UInt16(Float.random(in: -1...1, using: &rng).bitPattern >> 16))
            }
        default:
            for b in 0..<cols / 32 {
                let blk = base + b * bb
                switch Int(type) {
                case Int(LH_TYPE_Q4_0):
                    writeU16(&w, blk, halfBits(Float.random(in: -0.05...0.05, using: &rng)))
                case Int(LH_TYPE_Q4_1):
                    writeU16(&w, blk, halfBits(Float.random(in: 0.001...0.05, using: &rng)))
                    writeU16(&w, blk + 2, halfBits(Float.random(in: -0.4...0.1, using: &rng)))
                default:
                    writeU16(&w, blk, halfBits(Float.random(in: 0.0005...0.01, using: &rng)))
                }
                if r == 0 && b == 0 {
                    for k in 0..<bb { w[blk + k] = 0 }
                } else if r == 0 && b == 1 {
                    writeU16(&w, blk, 0x0123)  // subnormal half scale
                }
            }
        }
    }
    return w
}

/// Naive dequantization of one packed row starting at `at`.
private func naiveDequantize(_ type: Int32, _ w: [UInt8], at: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: cols)
    switch Int(type) {
    case Int(LH_TYPE_F32):
        for c in 0..<cols {
            var bits: UInt32 = 0
            for k in 0..<4 { bits |= UInt32(w[at + 4 * c + k]) << (8 * UInt32(k)) }
            out[c] = Float(bitPattern: bits)
        }
    case Int(LH_TYPE_F16):
        for c in 0..<cols { out[c] = halfValue(readU16(w, at + 2 * c)) }
    case Int(LH_TYPE_BF16):
        for c in 0..<cols { out[c] = Float(bitPattern: UInt32(readU16(w, at + 2 * c)) << 16) }
    default:
        let bb = Int(lh_type_block_bytes(type))
        for b in 0..<cols / 32 {
            let blk = at + b * bb
            let d = halfValue(readU16(w, blk))
            switch Int(type) {
            case Int(LH_TYPE_Q4_0):
                for j in 0..<16 {
                    let q = w[blk + 2 + j]
                    out[32 * b + j] = Float(Int(q & 0xF) - 8) * d
                    out[32 * b + j + 16] = Float(Int(q >> 4) - 8) * d
                }
            case Int(LH_TYPE_Q4_1):
                let m = halfValue(readU16(w, blk + 2))
                for j in 0..<16 {
                    let q = w[blk + 4 + j]
                    out[32 * b + j] = Float(q & 0xF) * d + m
                    out[32 * b + j + 16] = Float(q >> 4) * d + m
                }
            default:
                for j in 0..<32 { out[32 * b + j] = Float(Int8(bitPattern: w[blk + 2 + j])) * d }
            }
        }
    }
    return out
}

/// Naive q8 activation quantizer: d = max|x|/127, q = round-half-even(x * (1/d)), s = d * sum(q).
private func naiveQuantizeQ8(_ x: [Float]) -> [(d: Float, s: Float, qs: [Int8])] {
    stride(from: 0, to: x.count, by: 32).map { start in
        let block = x[start..<start + 32]
        let amax = block.map { abs($0) }.max()!
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        let qs = block.map { Int8(($0 * id).rounded(.toNearestOrEven)) }
        return (d, d * Float(qs.reduce(0) { $0 + Int($1) }), qs)
    }
}

private func blockQuants(_ b: lh_block_q8) -> [Int8] {
    withUnsafeBytes(of: b.qs) { Array($0.bindMemory(to: Int8.self)) }
}

/// Arrivals at the two-task barrier of the pool-overhead benchmark.
private let benchmarkArrivals = Atomic<Int>(0)


final class KernelTests: XCTestCase {
    func testTypeSizes() {
        let expected: [(Int32, Int64, Int64)] = [
            (Int32(LH_TYPE_F32), 1, 4), (Int32(LH_TYPE_F16), 1, 2), (Int32(LH_TYPE_BF16), 1, 2),
            (Int32(LH_TYPE_Q4_0), 32, 18), (Int32(LH_TYPE_Q4_1), 32, 20), (Int32(LH_TYPE_Q8_0), 32, 34), (99, 0, 0),
        ]
        for (type, elems, bytes) in expected {
            XCTAssertEqual(lh_type_block_elems(type), elems, "type \(type)")
            XCTAssertEqual(lh_type_block_bytes(type), bytes, "type \(type)")
        }
        XCTAssertEqual(MemoryLayout<lh_block_q8>.size, 40)
    }

    func testDequantizeMatchesNaive() {
        var rng = SplitMix64(seed: 1)
        for type in quantTypes + floatTypes {
            let cols = 576 + (type == Int32(LH_TYPE_F32) ? 3 : 0)
            let rowBytes = packedRowBytes(type, cols)
            let w = randomWeights(type, rows: 2, cols: cols, rowBytes: rowBytes, rng: &rng)
            for r in 0..<2 {
                let expected = naiveDequantize(type, w, at: r * rowBytes, cols: cols)
                forEachSIMDPath { path in
                    var got = [Float](repeating: .nan, count: cols)
                    w.withUnsafeBytes { lh_dequantize_row(type, $0.baseAddress! + r * rowBytes, &got, Int64(cols)) }
                    for c in 0..<cols where abs(got[c] - expected[c]) > 1e-6 * max(1, abs(expected[c])) {
                        XCTFail("\(typeName(type)) \(path) row \(r) col \(c): \(got[c]) != \(expected[c])")
                        return
                    }
                }
            }
        }
    }

    func testHalfConversionsMatchFloat16() {
        var rng = SplitMix64(seed: 2)
        var xs: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, -70000, .infinity, -.infinity, .nan,
                           6.1e-5, 6.0e-5, 1e-7, 2.98e-8, 2.99e-8, 1e-9, -3e-6, 0.1, 1 / 3]
        for _ in 0..<5000 {
            xs.append(Float(sign: Bool.random(using: &rng) ? .plus : .minus,
                            exponent: Int.random(in: -30...17, using: &rng),
                            significand: Float.random(in: 1..<2, using: &rng)))
        }
        let allBits = (0...UInt16.max).map { $0 }
        forEachSIMDPath { path in
            var halves = [UInt16](repeating: 0, count: xs.count)
            lh_f32_to_f16(xs, &halves, Int64(xs.count))
            for (x, h) in zip(xs, halves) {
                if x.isNaN { XCTAssertTrue(Float16(bitPattern: h).isNaN, "\(path): NaN -> \(h)") }
                else { XCTAssertEqual(h, halfBits(x), "\(path): \(x)") }
            }
            var floats = [Float](repeating: 0, count: allBits.count)
            lh_f16_to_f32(allBits, &floats, Int64(allBits.count))
            for (h, f) in zip(allBits, floats) {
                let want = halfValue(h)
                if want.isNaN { XCTAssertTrue(f.isNaN, "\(path): \(h)") }
                else if f.bitPattern != want.bitPattern { XCTFail("\(path): half \(h) -> \(f), want \(want)"); return }
            }
        }
    }

    func testQuantizeQ8MatchesNaive() {
        var rng = SplitMix64(seed: 3)
        var x = (0..<(32 * 40)).map { _ in Float.random(in: -3...3, using: &rng) }
        for j in 0..<32 { x[j] = 0 }                  // all-zero block: d = 0
        for j in 32..<64 { x[j] = Float(j - 48) / 2 } // exact halves after scaling exercise tie rounding
        let expected = naiveQuantizeQ8(x)
        var reference: [lh_block_q8] = []
        forEachSIMDPath { path in
            var blocks = [lh_block_q8](repeating: lh_block_q8(), count: x.count / 32)
            lh_quantize_row_q8(x, &blocks, Int64(x.count))
            for (b, (got, want)) in zip(blocks, expected).enumerated() {
                XCTAssertEqual(got.d, want.d, "\(path) block \(b) d")
                XCTAssertEqual(got.s, want.s, accuracy: 1e-6 * max(1, abs(want.s)), "\(path) block \(b) s")
                XCTAssertEqual(blockQuants(got), want.qs, "\(path) block \(b) qs")
            }
            if reference.isEmpty { reference = blocks }
            else { XCTAssertEqual(blocks.map(blockQuants), reference.map(blockQuants), "avx2 and scalar differ") }
        }
    }

    func testQuantizedMatmulMatchesNaive() {
        var rng = SplitMix64(seed: 4)
        for type in quantTypes {
            for (cols, rows, padding) in [(64, 203, 0), (576, 203, 0), (576, 37, 6)] {
                let rowBytes = packedRowBytes(type, cols) + padding
                let w = randomWeights(type, rows: rows, cols: cols, rowBytes: rowBytes, rng: &rng)
                let wf = (0..<rows).map { naiveDequantize(type, w, at: $0 * rowBytes, cols: cols) }
                for m in [1, 3, 9] {
                    let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
                    let xd = naiveQuantizeQ8(x).flatMap { b in b.qs.map { Float($0) * b.d } }  // what the kernel sees
                    var blocks = [lh_block_q8](repeating: lh_block_q8(), count: m * cols / 32)
                    lh_quantize_row_q8(x, &blocks, Int64(m * cols))
                    forEachSIMDPath { path in
                        for threads: Int32 in [1, 2, 0] {
                            var y = [Float](repeating: .nan, count: m * rows)
                            w.withUnsafeBytes {
                                lh_matmul_rows(type, $0.baseAddress, rowBytes, Int64(rows), Int64(cols), nil, blocks,
                                               &y, Int64(m), threads)
                            }
                            for i in 0..<m {
                                for r in 0..<rows {
                                    var exact = 0.0, magnitude = 0.0, floatDot = 0.0, wNorm = 0.0, xNorm = 0.0
                                    for c in 0..<cols {
                                        let wv = Double(wf[r][c]), xv = Double(xd[i * cols + c])
                                        let xf = Double(x[i * cols + c])
                                        exact += wv * xv
                                        magnitude += abs(wv * xv)
                                        floatDot += wv * xf
                                        wNorm += wv * wv
                                        xNorm += xf * xf
                                    }
                                    let got = Double(y[i * rows + r])
                                    let what = "\(typeName(type)) \(path) cols \(cols) m \(m) threads \(threads) [\(i),\(r)]"
                                    // Same quantized activations: only float rounding differs.
                                    if abs(got - exact) > 1e-4 * magnitude + 1e-6 {
                                        XCTFail("\(what): \(got) vs \(exact)"); return
                                    }
                                    // Against the float activations: the 8-bit activation error.
                                    if abs(got - floatDot) > 1e-2 * (wNorm * xNorm).squareRoot() {
                                        XCTFail("\(what): \(got) vs float \(floatDot)"); return
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A group job (a layer's q, k, v) gives each matrix exactly what its own lh_matmul_rows call gives: the same
    /// row pairs and kernels, only split over the pool differently. Mixed types, odd row counts, a part of unknown
    /// type (skipped, its output untouched).
    func testGroupMatmulEqualsSeparateProducts() {
        var rng = SplitMix64(seed: 12)
        let cols = 576
        let shapes: [(type: Int32, rows: Int)] = [(Int32(LH_TYPE_Q4_1), 203), (Int32(LH_TYPE_Q8_0), 37),
                                                  (Int32(LH_TYPE_F16), 64), (Int32(LH_TYPE_Q4_0), 1)]
        let weights = shapes.map { randomWeights($0.type, rows: $0.rows, cols: cols, rowBytes: packedRowBytes($0.type, cols), rng: &rng) }
        for m in [1, 3] {
            let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
            var xq = [lh_block_q8](repeating: lh_block_q8(), count: m * cols / 32)
            lh_quantize_row_q8(x, &xq, Int64(m * cols))
            forEachSIMDPath { path in
                for threads: Int32 in [1, 2] {
                    for count in [2, 3, 4] {
                        var separate = shapes.prefix(count).map { [Float](repeating: .nan, count: m * $0.rows) }
                        for i in 0..<count {
                            weights[i].withUnsafeBytes { w in
                                lh_matmul_rows(shapes[i].type, w.baseAddress, packedRowBytes(shapes[i].type, cols),
                                               Int64(shapes[i].rows), Int64(cols), x, xq, &separate[i], Int64(m), threads)
                            }
                        }
                        // Stable pointers for the part descriptions: weights copied out, outputs allocated.
                        let w = weights.prefix(count).map { bytes -> UnsafeMutableRawPointer in
                            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
                            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                            return p
                        }
                        let y = shapes.prefix(count).map { shape -> UnsafeMutablePointer<Float> in
                            let p = UnsafeMutablePointer<Float>.allocate(capacity: m * shape.rows)
                            p.initialize(repeating: .nan, count: m * shape.rows)
                            return p
                        }
                        let unknown = UnsafeMutablePointer<Float>.allocate(capacity: m)
                        unknown.initialize(repeating: 7, count: m)
                        defer { w.forEach { $0.deallocate() }; y.forEach { $0.deallocate() }; unknown.deallocate() }
                        var parts = (0..<count).map {
                            lh_matmul_part(type: shapes[$0].type, w: w[$0], row_bytes: packedRowBytes(shapes[$0].type, cols),
                                           rows: Int64(shapes[$0].rows), y: y[$0])
                        }
                        // With four valid parts this makes five, more than one job takes: the part-by-part fallback.
                        parts.insert(lh_matmul_part(type: 999, w: w[0], row_bytes: 1, rows: 1, y: unknown), at: 1)
                        lh_matmul_rows_group(parts, Int32(parts.count), Int64(cols), x, xq, Int64(m), threads)
                        for i in 0..<count {
                            let grouped = Array(UnsafeBufferPointer(start: y[i], count: m * shapes[i].rows))
                            XCTAssertEqual(grouped.map(\.bitPattern), separate[i].map(\.bitPattern),
                                           "\(path) m \(m) threads \(threads) \(parts.count) parts: part \(i) (\(typeName(shapes[i].type)))")
                        }
                        XCTAssertEqual(Array(UnsafeBufferPointer(start: unknown, count: m)), [Float](repeating: 7, count: m),
                                       "a part of unknown type is skipped")
                    }
                }
            }
        }
    }

    func testFloatMatmulMatchesNaive() {
        var rng = SplitMix64(seed: 5)
        for type in floatTypes {
            for (cols, rows) in [(64, 203), (576, 37), (37, 11)] {
                let rowBytes = packedRowBytes(type, cols) + 8
                let w = randomWeights(type, rows: rows, cols: cols, rowBytes: rowBytes, rng: &rng)
                let wf = (0..<rows).map { naiveDequantize(type, w, at: $0 * rowBytes, cols: cols) }
                for m in [1, 3, 9] {
                    let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &rng) }
                    forEachSIMDPath { path in
                        for threads: Int32 in [1, 2] {
                            var y = [Float](repeating: .nan, count: m * rows)
                            w.withUnsafeBytes {
                                lh_matmul_rows(type, $0.baseAddress, rowBytes, Int64(rows), Int64(cols), x, nil, &y,
                                               Int64(m), threads)
                            }
                            for i in 0..<m {
                                for r in 0..<rows {
                                    var exact = 0.0, magnitude = 0.0
                                    for c in 0..<cols {
                                        let p = Double(wf[r][c]) * Double(x[i * cols + c])
                                        exact += p
                                        magnitude += abs(p)
                                    }
                                    if abs(Double(y[i * rows + r]) - exact) > 1e-4 * magnitude + 1e-6 {
                                        XCTFail("\(typeName(type)) \(path) cols \(cols) m \(m) [\(i),\(r)]: "
                                                + "\(y[i * rows + r]) vs \(exact)")
                                        return
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testDotAndAxpyMatchNaive() {
        var rng = SplitMix64(seed: 6)
        for n in [0, 1, 7, 8, 15, 31, 33, 100, 1000] {
            let a = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
            let exact = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let magnitude = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            forEachSIMDPath { path in
                XCTAssertEqual(Double(lh_dot_f32(a, b, Int64(n))), exact, accuracy: 1e-5 * magnitude + 1e-7,
                               "\(path) dot n \(n)")
                var y = b
                lh_axpy_f32(0.75, a, &y, Int64(n))
                for i in 0..<n { XCTAssertEqual(y[i], b[i] + 0.75 * a[i], accuracy: 1e-6, "\(path) axpy n \(n)") }
            }
        }
    }

    func testParallelForRunsEveryTaskOnce() {
        lh_pool_init(2)
        let size = Int(lh_pool_size())
        XCTAssertGreaterThanOrEqual(size, 1)
        // ctx layout: [0] thread-count bound, [1] bad-thread flag, [2...] per-task counters.
        for n in [0, 1, 2, 3, 7, 64, 1000] {
            for threads: Int32 in [0, 1, 2] {
                var state = [Int32](repeating: 0, count: n + 2)
                state[0] = Int32(size)
                state.withUnsafeMutableBufferPointer { buf in
                    lh_parallel_for_threads(Int64(n), threads, { ctx, task, thread in
                        let s = ctx!.assumingMemoryBound(to: Int32.self)
                        if thread < 0 || thread >= s[0] { s[1] = 1 }
                        s[2 + Int(task)] += 1
                    }, buf.baseAddress)
                }
                XCTAssertEqual(state[1], 0, "thread index out of range")
                XCTAssertEqual(Array(state[2...]), [Int32](repeating: 1, count: n), "n \(n) threads \(threads)")
            }
        }
        // Nested calls run serially on the calling thread: every (outer, inner) pair exactly once.
        var pairs = [Int32](repeating: 0, count: 16 * 5)
        pairs.withUnsafeMutableBufferPointer { buf in
            lh_parallel_for(16, { ctx, outer, _ in
                var job = (ctx!, outer)
                withUnsafeMutablePointer(to: &job) { jp in
                    lh_parallel_for(5, { inner, task, _ in
                        let (base, outer) = inner!.assumingMemoryBound(to: (UnsafeMutableRawPointer, Int64).self).pointee
                        base.assumingMemoryBound(to: Int32.self)[Int(outer) * 5 + Int(task)] += 1
                    }, jp)
                }
            }, buf.baseAddress)
        }
        XCTAssertEqual(pairs, [Int32](repeating: 1, count: 16 * 5))
    }

    /// Prints matvec bandwidth (m = 1, 2 threads) and per-call pool overhead; does not assert on speed.
    func testBenchmarkQ4_1Matvec() {
        lh_pool_init(2)
        var rng = SplitMix64(seed: 7)
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        for (type, rows, cols) in [(Int32(LH_TYPE_Q4_1), 576, 1536), (Int32(LH_TYPE_Q4_1), 1536, 576),
                                   (Int32(LH_TYPE_Q8_0), 49152, 576)] {
            let rowBytes = packedRowBytes(type, cols)
            // Random quant bytes with a fixed sane scale in every block (quick to fill even for 30 MB).
            var w = [UInt8](repeating: 0, count: rows * rowBytes)
            w.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices { words[i] = rng.next() }
            }
            let bb = Int(lh_type_block_bytes(type))
            for blk in stride(from: 0, to: w.count, by: bb) {
                writeU16(&w, blk, halfBits(0.01))
                if type == Int32(LH_TYPE_Q4_1) { writeU16(&w, blk + 2, halfBits(-0.08)) }
            }
            let x = (0..<cols).map { _ in Float.random(in: -1...1, using: &rng) }
            var xq = [lh_block_q8](repeating: lh_block_q8(), count: cols / 32)
            lh_quantize_row_q8(x, &xq, Int64(cols))
            var y = [Float](repeating: 0, count: rows)
            let iterations = max(20, 200_000_000 / w.count)
            var best = Double.infinity
            w.withUnsafeBytes { wp in
                for _ in 0..<3 {
                    let elapsed = clock.measure {
                        for _ in 0..<iterations {
                            lh_matmul_rows(type, wp.baseAddress, rowBytes, Int64(rows), Int64(cols), nil, xq, &y, 1, 2)
                        }
                    }
                    best = min(best, seconds(elapsed) / Double(iterations))
                }
            }
            print(String(format: "lh_matmul_rows %@ %dx%d m=1, 2 threads: %.1f us, %.1f GB/s",
                         typeName(type), rows, cols, best * 1e6, Double(w.count) / best / 1e9))
        }
        // Fork-join round trip: each of the 2 tasks waits (boundedly) until both have started, so the worker must
        // take part; ctx points at the arrival count that completes this call's barrier. Batches of 1000 calls,
        // best batch kept, at most ~0.5 s in total (a loaded machine deschedules the worker now and then).
        var best = Double.infinity
        let budget = clock.now.advanced(by: .milliseconds(500))
        for _ in 0..<10 where clock.now < budget {
            var target = benchmarkArrivals.load(ordering: .relaxed)
            let elapsed = clock.measure {
                for _ in 0..<1000 {
                    target += 2
                    lh_parallel_for(2, { ctx, _, _ in
                        let target = ctx!.load(as: Int.self)
                        benchmarkArrivals.add(1, ordering: .relaxed)
                        for _ in 0..<100_000 where benchmarkArrivals.load(ordering: .relaxed) >= target { break }
                    }, &target)
                }
            }
            best = min(best, seconds(elapsed) / 1000)
        }
        print(String(format: "lh_parallel_for fork-join round trip (2 tasks, %d threads): %.2f us per call",
                     lh_pool_size(), best * 1e6))
    }
}

/// The vectorised softmax against a Double reference, at every SIMD level the CPU has (AVX-512, AVX2, scalar).
final class SoftmaxKernelTests: XCTestCase {
    func testSoftmaxMatchesDoubleReference() {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 7, 8, 9, 100, 4097] {
            let x = (0..<n).map { _ in Float.random(in: -30...30, using: &rng) }
            let mx = Double(x.max()!)
            let e = x.map { exp(Double($0) - mx) }
            let z = e.reduce(0, +)
            forEachSIMDPath { simd in
                var y = x
                y.withUnsafeMutableBufferPointer { lh_softmax_f32($0.baseAddress!, Int64(n)) }
                for i in 0..<n { XCTAssertEqual(Double(y[i]), e[i] / z, accuracy: 2e-5 * e[i] / z + 1e-9, "n \(n) i \(i) simd \(simd)") }
            }
        }
    }

    /// Masked keys (-inf) and keys far below the row's maximum get weight exactly 0, never a subnormal
    /// (subnormal weights make every FMA of the weights-times-values product slow on Intel cores).
    func testSoftmaxWeightsAreNormalOrZero() {
        let n = 67
        var x = (0..<n).map { Float($0 % 5) }
        for i in stride(from: 3, to: n, by: 4) { x[i] = -.infinity }        // causally masked keys
        // The row's maximum is 4. exp(-94) is subnormal; exp(-86.5) ≈ 2.7e-38 is normal, but not once divided
        // by the row's sum (about 20).
        for i in stride(from: 2, to: n, by: 9) { x[i] = 4 - 94 }
        for i in stride(from: 6, to: n, by: 11) { x[i] = 4 - 86.5 }
        forEachSIMDPath { simd in
            var y = x
            y.withUnsafeMutableBufferPointer { lh_softmax_f32($0.baseAddress!, Int64(n)) }
            for i in 0..<n {
                XCTAssertFalse(y[i].isSubnormal, "weight \(i) is subnormal (\(y[i])), simd \(simd)")
                if x[i] <= 4 - 86 { XCTAssertEqual(y[i], 0, "weight \(i) of logit \(x[i]), simd \(simd)") }
            }
            XCTAssertEqual(Double(y.reduce(0, +)), 1, accuracy: 1e-5, "simd \(simd)")
        }
    }
}

/// The gated activations (GeGLU, SwiGLU) against a Double reference, on both the AVX2 and the scalar path.
final class GatedActivationKernelTests: XCTestCase {
    func testGatedActivationsMatchDoubleReference() {
        var rng = SystemRandomNumberGenerator()
        // gelu(g) = 0.5 g (1 + tanh(u)) = g sigmoid(2u): the sigmoid form avoids 1 + tanh(u)'s cancellation for g < 0.
        func geluArgument(_ g: Double) -> Double { 2 * (2 / Double.pi).squareRoot() * g * (1 + 0.044715 * g * g) }
        func gelu(_ g: Double) -> Double { g / (1 + exp(-geluArgument(g))) }
        func silu(_ g: Double) -> Double { g / (1 + exp(-g)) }
        // Values across the useful range, its tails (where exp saturates) and exact zeros; lengths off the 8-lane width.
        for n in [1, 7, 8, 9, 100, 4099] {
            var gate = (0..<n).map { _ in Float.random(in: -12...12, using: &rng) }
            let specials: [Float] = [0, -0.0, 100, -100, 1e-20, -95, 95, 44, -44]
            for (i, v) in specials.enumerated() where i < n { gate[i] = v }
            let up = (0..<n).map { _ in Float.random(in: -3...3, using: &rng) }
            for (name, f, ref, arg) in [("geglu", lh_geglu_f32, gelu, geluArgument), ("swiglu", lh_swiglu_f32, silu, { $0 }),
                                          ("swiglu-avx2", lh_swiglu_f32_avx2, silu, { $0 })]
                as [(String, (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, Int64) -> Void, (Double) -> Double,
                     (Double) -> Double)] {
                for simd in [1, 0] {
                    var y = gate
                    withSIMD(simd == 1) { y.withUnsafeMutableBufferPointer { f($0.baseAddress!, up, Int64(n)) } }
                    for i in 0..<n {
                        let want = ref(Double(gate[i])) * Double(up[i])
                        // The float argument z of exp(-z) carries a few ulps, a relative error of the result
                        // proportional to |z|.
                        let z = min(abs(arg(Double(gate[i]))), 88)
                        XCTAssertEqual(Double(y[i]), want, accuracy: (1e-6 + 4e-7 * z) * abs(want) + 1e-30,
                                       "\(name) n \(n) i \(i) g \(gate[i]) simd \(simd)")
                    }
                }
            }
        }
    }
}
