// The tiles of sealed k5v4 and k4v4 blocks (kv_tiles.c): they hold exactly the rows they were made from, and the integer
// attention products over them stay within their roundings of the products over the decoded keys and values, with
// the same results at every SIMD level.
import XCTest
import CKernels
@testable import LHEngine
import LHModel
import LHTestSupport

final class KVTilesTests: XCTestCase {
    let d = 64, w = 48

    /// The precisions whose sealed blocks are tiled, with the levels FORMAT.md §3 gives their keys.
    let tiling: [(precision: KVPrecision, levels: Int)] = [(.k5v4, 40), (.k4v4, 16)]

    /// A sealed block of w rows (keys with an outlier and a constant channel, values with rows of both signs of
    /// scale) and its key bounds.
    func sealedBlock(_ precision: KVPrecision, seed: UInt64) -> (layout: ChunkLayout, block: UnsafeMutableRawPointer, bounds: [Float]) {
        let lay = ChunkLayout(layers: 1, heads: 3, kvHeads: 1, headDimension: d, chunkSize: w, precision: precision)
        var rng = SplitMix64(seed: seed)
        let block = UnsafeMutableRawPointer.allocate(byteCount: lay.blockBytes, alignment: 64)
        for r in 0..<w {
            var k = (0..<d).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * Float(r % 5 + 1) }
            k[3] = 40 + Float(r)
            k[7] = 0.5
            let v = (0..<d).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * Float(r % 3 + 1) }
            lay.storeRow(r, key: k, value: v, into: block)
        }
        var bounds = [Float](repeating: 0, count: 2 * d)
        lay.sealKeys(block: block, bounds: &bounds)
        return (lay, block, bounds)
    }

    func randoms(_ n: Int, _ rng: inout SplitMix64) -> [Float] { (0..<n).map { _ in Float(rng.next() % 20001) / 10000 - 1 } }

    func testTilesHoldTheRowsTheyWereMadeFrom() {
        for (p, levels) in tiling { tilesHoldTheRowsTheyWereMadeFrom(p, levels: levels) }
    }

    func tilesHoldTheRowsTheyWereMadeFrom(_ precision: KVPrecision, levels: Int) {
        let (lay, block, bounds) = sealedBlock(precision, seed: 3)
        defer { block.deallocate() }
        XCTAssertTrue(lay.canTile(rows: w))
        XCTAssertFalse(lay.canTile(rows: 40), "rows not a multiple of 16")
        XCTAssertFalse(ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: 16, chunkSize: w, precision: precision).canTile(rows: w))
        XCTAssertFalse(ChunkLayout(layers: 1, heads: 1, kvHeads: 1, headDimension: d, chunkSize: w, precision: .k8v4).canTile(rows: w))
        let rowsBefore = Array(UnsafeRawBufferPointer(start: block, count: lay.blockBytes))
        let plain = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d), fromTiles = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { plain.deallocate(); fromTiles.deallocate() }
        bounds.withUnsafeBufferPointer { lay.decode(block, stride: w, rows: w, into: plain, keyRanges: $0.baseAddress!) }
        lay.tile(block, stride: w)
        XCTAssertNotEqual(Array(UnsafeRawBufferPointer(start: block, count: lay.blockBytes)), rowsBefore, "tiling rearranges the block")
        forEachSIMDPath { path in
            for rows in [w, 21] {
                fromTiles.update(repeating: .nan, count: 2 * w * d)
                bounds.withUnsafeBufferPointer { lay.decode(block, stride: w, rows: rows, into: fromTiles, keyRanges: $0.baseAddress!, tiled: true) }
                XCTAssertEqual(Array(UnsafeBufferPointer(start: fromTiles, count: rows * d)), Array(UnsafeBufferPointer(start: plain, count: rows * d)), "\(path) keys, \(rows) rows")
                XCTAssertEqual(Array(UnsafeBufferPointer(start: fromTiles + w * d, count: rows * d)),
                               Array(UnsafeBufferPointer(start: plain + w * d, count: rows * d)), "\(path) values, \(rows) rows")
            }
        }
        // The raw rearrangements invert exactly.
        var rng = SplitMix64(seed: 9)
        let codes = (0..<(w * d)).map { _ in Int8(Int(rng.next() % UInt64(levels)) - levels / 2) }, nibbles = (0..<(w * d / 2)).map { _ in UInt8(rng.next() % 256) }
        var keyTiles = [UInt8](repeating: 0, count: w * d), valueTiles = [UInt8](repeating: 0, count: w * d / 2)
        var codesBack = [Int8](repeating: 0, count: w * d), nibblesBack = [UInt8](repeating: 0, count: w * d / 2)
        // Every SIMD level arranges the same bytes as the scalar loops (whose tiles the checks below read).
        var tilesByPath: [String: [UInt8]] = [:]
        forEachSIMDPath { path in
            keyTiles = [UInt8](repeating: 0, count: w * d)
            valueTiles = [UInt8](repeating: 0, count: w * d / 2)
            lh_tile_sealed_keys(codes, Int64(w), Int64(d), Int32(levels), &keyTiles)
            lh_tile_values4(nibbles, Int64(w), Int64(d), &valueTiles)
            tilesByPath[path] = keyTiles + valueTiles
        }
        for (path, t) in tilesByPath { XCTAssertEqual(t, tilesByPath["scalar"], "\(precision): \(path) tiles") }
        keyTiles = Array(tilesByPath["scalar"]!.prefix(w * d))
        valueTiles = Array(tilesByPath["scalar"]!.suffix(w * d / 2))
        lh_untile_sealed_keys(keyTiles, Int64(w), Int64(d), Int32(levels), &codesBack)
        lh_untile_values4(valueTiles, Int64(w), Int64(d), &nibblesBack)
        XCTAssertEqual(codesBack, codes)
        XCTAssertEqual(nibblesBack, nibbles)
        XCTAssertEqual(keyTiles[64 * 2 + 4 * 5 + 1], UInt8(Int(codes[5 * d + 2 * 4 + 1]) + levels / 2), "\(precision): tile 0, channel quad 2, row 5, channel 9")
        XCTAssertEqual(valueTiles[2 * d + 64 + 4 * 3 + 2] & 15, (nibbles[(6 * d + 32 + 3) / 2] >> 4) & 15, "group 1, block 1, row 6, channel 35")
    }

    /// Scores over key tiles: within the query's 16-bit rounding of q · k over the decoded keys, for one to four
    /// queries (the kernel takes three at a time) and a partial last tile; the same bits at every SIMD level.
    func testTiledScoresAreDotProductsWithTheDecodedKeys() {
        for (p, _) in tiling { tiledScoresAreDotProductsWithTheDecodedKeys(p) }
    }

    func tiledScoresAreDotProductsWithTheDecodedKeys(_ precision: KVPrecision) {
        let (lay, block, bounds) = sealedBlock(precision, seed: 5)
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: 2 * w * d)
        defer { block.deallocate(); decoded.deallocate() }
        bounds.withUnsafeBufferPointer { lay.decode(block, stride: w, rows: w, into: decoded, keyRanges: $0.baseAddress!) }
        lay.tile(block, stride: w)
        var rng = SplitMix64(seed: 2)
        for (m, rows) in [(1, w), (3, w), (4, 37)] {
            let q = randoms(m * d, &rng)
            var byPath: [String: [Float]] = [:]
            forEachSIMDPath { path in
                var scores = [Float](repeating: .nan, count: m * w)
                bounds.withUnsafeBufferPointer { b in
                    lh_kv_scores_tiled(block.assumingMemoryBound(to: UInt8.self), Int64(rows), Int64(d), lay.keyLevels, Int64(m), q,
                                       b.baseAddress!, b.baseAddress! + d, 0.5, &scores, Int64(w))
                }
                for i in 0..<m {
                    for t in 0..<w {
                        guard t < rows else { XCTAssertTrue(scores[i * w + t].isNaN, "\(path): row \(t) past the rows written"); continue }
                        let exact = 0.5 * (0..<d).reduce(Float(0)) { $0 + q[i * d + $1] * decoded[t * d + $1] }
                        XCTAssertEqual(scores[i * w + t], exact, accuracy: 1e-3 * max(1, abs(exact)), "\(precision) \(path) m \(m) query \(i) row \(t)")
                    }
                }
                byPath[path] = scores
            }
            for (path, s) in byPath { XCTAssertEqual(s.map(\.bitPattern), byPath.values.first!.map(\.bitPattern), "\(path), m \(m)") }
        }
    }

    /// Weighted sums over value tiles: within the weights' 16-bit rounding of Σ p · v over the stored values, added
    /// to what `out` held; all-zero weights add nothing; the same bits at every SIMD level.
    func testTiledValueSumsAreWeightedSumsOfTheDecodedValues() {
        let (lay, block, _) = sealedBlock(.k4v4, seed: 7)
        let stored = UnsafeMutablePointer<Float>.allocate(capacity: w * d)   // the values as stored (rotated), as floats
        defer { block.deallocate(); stored.deallocate() }
        let rowsBefore = StoredRows(base: block, stride: w)
        lh_dequantize_i4_rows(rowsBefore.values(lay).assumingMemoryBound(to: UInt8.self), rowsBefore.valueScales(lay), stored, Int64(w), Int64(d))
        lay.tile(block, stride: w)
        let st = StoredRows(base: block, stride: w, tiled: true)
        var rng = SplitMix64(seed: 4)
        for (m, rows) in [(1, w), (3, w), (4, 30)] {
            var p = randoms(m * w, &rng).map { abs($0) / Float(w) }
            p[1] = 0
            if m > 1 { for t in 0..<w { p[w + t] = 0 } }   // a query that gives this block no weight
            let start = randoms(m * d, &rng)
            var byPath: [String: [Float]] = [:]
            forEachSIMDPath { path in
                var out = start
                lh_kv_accumulate_tiled4(st.values(lay).assumingMemoryBound(to: UInt8.self), st.tiledValueScales(lay), Int64(rows), Int64(d),
                                        Int64(m), p, Int64(w), &out)
                let expected = start
                for i in 0..<m {
                    for x in 0..<d {
                        let sum = (0..<rows).reduce(Float(0)) { $0 + p[i * w + $1] * stored[$1 * d + x] }
                        XCTAssertEqual(out[i * d + x], expected[i * d + x] + sum, accuracy: 1e-4, "\(path) m \(m) query \(i) channel \(x)")
                    }
                }
                if m > 1 { XCTAssertEqual(Array(out[d..<(2 * d)]), Array(expected[d..<(2 * d)]), "\(path): no weight, no change") }
                byPath[path] = out
            }
            for (path, o) in byPath { XCTAssertEqual(o.map(\.bitPattern), byPath.values.first!.map(\.bitPattern), "\(path), m \(m)") }
        }
    }
}
