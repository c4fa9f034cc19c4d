// The file store against the in-memory store: same logits, bit-identical blocks and summaries, after reopening too.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class FileChunkStoreTests: XCTestCase {
    func tokens(_ n: Int, seed: UInt64 = 3) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Int32(rng.next() % 256) }
    }

    /// Packs the first `rows` keys and values of an in-memory block as the file stores them.
    func packed(_ s: ChunkStore, _ l: Int, _ g: Int, _ c: Int, rows: Int) -> [UInt8] {
        let raw = s.rawBlock(layer: l, kvHead: g, chunk: c), lay = s.layout
        var out = [UInt8](repeating: 0, count: lay.payloadBytes(rows: rows))
        out.withUnsafeMutableBytes { lay.copyRows(rows, from: raw.baseAddress!, stride: lay.chunkSize, to: $0.baseAddress!, stride: rows) }
        return out
    }

    func testRoundTripEqualsInMemoryStore() throws {
        let model = StoreFixture.languageModel.model
        for precision in [KVPrecision.f16, .f32, .int8, .k8v4, .k5v4, .k4v4] {
            let settings = StoreFixture.settings(precision: precision)
            let n = 16 * 21 + 5, batch = 64
            let toks = tokens(n)
            let dir = StoreFixture.tempDir()
            let layout = ChunkLayout(layers: 2, heads: 4, kvHeads: 2, headDimension: 16, chunkSize: 16, precision: precision,
                                     representatives: settings.representatives)
            let file = try FileChunkStore.create(directory: dir, layout: layout, tokens: n, codec: .standard, cacheBytes: 1 << 16)
            let memory = InMemoryChunkStore(layout: layout)
            let lf = try LongHeadsAttention(model: model, settings: settings, store: file)
            let lm = try LongHeadsAttention(model: model, settings: settings, store: memory)
            let forward = ForwardPass(model: model, batchSize: batch)
            var pos = 0
            while pos < n {
                let end = min(pos + batch, n)
                let slice = Array(toks[pos..<end])
                let a = forward.run(slice, cache: lf, logitRows: Array(0..<slice.count))
                let b = forward.run(slice, cache: lm, logitRows: Array(0..<slice.count))
                XCTAssertEqual(a, b, "\(precision): logits of batch at \(pos)")
                XCTAssertNil(file.takeError())
                try file.flush(upTo: end, final: end == n)
                pos = end
            }
            XCTAssertGreaterThan(file.cache.statistics.misses, 0, "later batches re-read flushed chunks")
            let reader = try FileChunkStore.openForReading(directory: dir, layout: layout, codec: .standard)
            let scratchA = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * 16), scratchB = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 16 * 16)
            defer { scratchA.deallocate(); scratchB.deallocate() }
            for l in 0..<2 { for g in 0..<2 { for c in 0..<22 {
                let rows = min(16, n - c * 16)
                let frame = try reader.loadFrame(layer: l, kvHead: g, chunk: c)
                XCTAssertEqual(Array(UnsafeRawBufferPointer(start: frame.bytes, count: frame.count)), packed(memory, l, g, c, rows: rows))
                let x = reader.block(layer: l, kvHead: g, chunk: c, rows: rows, scratch: scratchA)
                let y = memory.block(layer: l, kvHead: g, chunk: c, rows: rows, scratch: scratchB)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: x.keys, count: rows * 16)), Array(UnsafeBufferPointer(start: y.keys, count: rows * 16)))
                XCTAssertEqual(Array(UnsafeBufferPointer(start: x.values, count: rows * 16)), Array(UnsafeBufferPointer(start: y.values, count: rows * 16)))
            } } }
            for l in 0..<2 { for h in 0..<4 {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: reader.summaries(layer: l, head: h), count: 21 * 16)),
                               Array(UnsafeBufferPointer(start: memory.summaries(layer: l, head: h), count: 21 * 16)), "summaries \(l) \(h)")
            } }
            let r = settings.representatives
            XCTAssertGreaterThan(r, 0)
            for l in 0..<2 { for g in 0..<2 {
                let stored = Array(UnsafeBufferPointer(start: reader.boundFloats(layer: l, kvHead: g), count: 21 * 32))
                XCTAssertEqual(stored, memory.keyBounds(layer: l, kvHead: g).floats(chunks: 0..<21, d: 16), "bounds \(l) \(g)")
                // Scored from halves rounded outward: each minimum at or below the stored one, each maximum at or
                // above, by less than one half step.
                let halves = reader.keyBounds(layer: l, kvHead: g).floats(chunks: 0..<21, d: 16)
                for i in 0..<(21 * 32) {
                    let lower = i % 32 < 16, step = max(abs(stored[i]) / 1024, 1.0 / 16384)
                    XCTAssertTrue(lower ? halves[i] <= stored[i] : halves[i] >= stored[i], "bounds \(l) \(g) [\(i)]: \(halves[i]) against \(stored[i])")
                    XCTAssertLessThanOrEqual(abs(halves[i] - stored[i]), step, "bounds \(l) \(g) [\(i)]")
                }
                XCTAssertEqual(Array(UnsafeBufferPointer(start: reader.representatives(layer: l, kvHead: g), count: 21 * r * 16)),
                               Array(UnsafeBufferPointer(start: memory.representatives(layer: l, kvHead: g), count: 21 * r * 16)), "representatives \(l) \(g)")
            } }
            XCTAssertNil(reader.takeError())
        }
    }

    /// While asking, bounds written after scoring has copied them as halves (question-time chunks, and the seal of
    /// a k5v4 chunk) reach the halves too, and clearing the question's rows clears theirs; sealed blocks read from
    /// kv.zst carry their own key ranges, the file's f32 rows.
    func testScoredHalvesFollowQuestionTimeBounds() throws {
        let model = StoreFixture.languageModel.model
        let settings = StoreFixture.settings(precision: .k5v4)
        let n = 16 * 21 + 5, dir = StoreFixture.tempDir()
        let layout = ChunkLayout(layers: 2, heads: 4, kvHeads: 2, headDimension: 16, chunkSize: 16, precision: .k5v4,
                                 representatives: settings.representatives)
        let file = try FileChunkStore.create(directory: dir, layout: layout, tokens: n, codec: .standard, cacheBytes: 1 << 16)
        let lh = try LongHeadsAttention(model: model, settings: settings, store: file)
        _ = ForwardPass(model: model, batchSize: 64).run(tokens(n), cache: lh, logitRows: [])
        try file.flush(upTo: n, final: true)
        let reader = try FileChunkStore.openForReading(directory: dir, layout: layout, codec: .standard)
        reader.reserve(tokens: n + 40)
        let before = reader.keyBounds(layer: 1, kvHead: 1).floats(chunks: 22..<23, d: 16)   // copies the halves
        XCTAssertEqual(before, [Float](repeating: 0, count: 32))
        let row: [Float] = (0..<32).map { i in i < 16 ? Float(-1 - i) / 3 : Float(1 + i) / 3 }
        reader.setKeyBounds(layer: 1, kvHead: 1, chunk: 22, row)
        let halves = reader.keyBounds(layer: 1, kvHead: 1).floats(chunks: 22..<23, d: 16)
        for i in 0..<32 {
            XCTAssertTrue(i < 16 ? halves[i] <= row[i] : halves[i] >= row[i], "[\(i)]: \(halves[i]) against \(row[i])")
            XCTAssertLessThan(abs(halves[i] - row[i]), 0.01)
        }
        try reader.truncateToDocument()
        XCTAssertEqual(reader.keyBounds(layer: 1, kvHead: 1).floats(chunks: 22..<23, d: 16), [Float](repeating: 0, count: 32))
        for c in [0, 7, 20] {
            let st = reader.storedRows(layer: 1, kvHead: 0, chunk: c, rows: 16)
            XCTAssertTrue(layout.isSealed(st))
            XCTAssertEqual(Array(UnsafeBufferPointer(start: st.keyRanges!, count: 32)),
                           Array(UnsafeBufferPointer(start: reader.boundFloats(layer: 1, kvHead: 0) + c * 32, count: 32)), "chunk \(c)")
        }
    }

    func testShuffleRoundTripAndCacheEviction() throws {
        let src = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        var shuffled = [UInt8](repeating: 0, count: 1000), back = [UInt8](repeating: 0, count: 1000)
        ByteShuffle.shuffle(src, &shuffled, count: 1000, width: 2)
        XCTAssertEqual(shuffled[0], src[0])
        XCTAssertEqual(shuffled[500], src[1])
        ByteShuffle.unshuffle(shuffled, &back, count: 1000, width: 2)
        XCTAssertEqual(back, src)
        let cache = BlockCache(capacityBytes: 300)
        for k in 0..<5 { _ = try cache.block(k) { (try CachedBlock(count: 100, rows: 1), 10) } }
        XCTAssertEqual(cache.residentBytes, 300)
        _ = try cache.block(4) { XCTFail("4 is cached"); return (try CachedBlock(count: 100, rows: 1), 10) }
        _ = try cache.block(0) { (try CachedBlock(count: 100, rows: 1), 10) }   // evicted earlier: a miss
        let s = cache.statistics
        XCTAssertEqual([s.hits, s.misses, s.bytesRead, s.bytesDecompressed], [1, 6, 60, 600])
    }
}
