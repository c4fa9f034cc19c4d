// Quest scoring as one matrix product, checked against the bound written out term by term.
import XCTest
@testable import LHEngine

final class ChunkScorerTests: XCTestCase {
    /// Σₓ max(qₓ·loₓ, qₓ·hiₓ) over random bounds and queries (both signs, zeros included), for a candidate
    /// range that does not start at chunk 0, overwritten and then accumulated.
    func testQuestScoresEqualTheBoundTermByTerm() {
        let d = 8, chunks = 12, m = 3
        let layout = ChunkLayout(layers: 1, heads: 2, kvHeads: 1, headDimension: d, chunkSize: 4, precision: .f32)
        let store = InMemoryChunkStore(layout: layout)
        store.reserve(tokens: chunks * layout.chunkSize)
        var rng = SystemRandomNumberGenerator()
        var bounds: [[Float]] = []
        for c in 0..<chunks {
            let a = (0..<d).map { _ in Float.random(in: -2...2, using: &rng) }, b = (0..<d).map { _ in Float.random(in: -2...2, using: &rng) }
            let row = zip(a, b).map { min($0, $1) } + zip(a, b).map { max($0, $1) }
            bounds.append(row)
            row.withUnsafeBufferPointer { store.setKeyBounds(layer: 0, kvHead: 0, chunk: c, $0.baseAddress!) }
        }
        var queries = (0..<(m * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        queries[1] = 0
        let candidates = 3..<11, n = candidates.count
        var out = [Float](repeating: .nan, count: m * n)
        let scratch = WindowScratch()
        for accumulate in [false, true] {
            queries.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    ChunkScorer.score(.quest, store: store, layer: 0, head: 1, groupSize: 2, queries: q.baseAddress!, ld: d, m: m,
                                      candidates: candidates, accumulate: accumulate, out: o.baseAddress!, scratch: scratch)
                }
            }
            for i in 0..<m {
                for (j, c) in candidates.enumerated() {
                    var bound: Float = 0
                    for x in 0..<d { bound += max(queries[i * d + x] * bounds[c][x], queries[i * d + x] * bounds[c][d + x]) }
                    XCTAssertEqual(out[i * n + j], (accumulate ? 2 : 1) * bound, accuracy: 1e-4, "query \(i) chunk \(c)")
                }
            }
        }
    }
}
