// LongHeads on the other architectures' tiny models: equal to dense attention while the sequence fits (so the
// engine handles half-split RoPE, a head dimension other than E/H, biases, Q/K norms and Gemma 3's sliding-window
// layers), and a Gemma 3 cache resumed from its exported state equal to one uninterrupted run.
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport

final class ArchitectureLongHeadsTests: XCTestCase {
    private func logits(_ model: LlamaModel, _ tokens: [Int32], cache: AttentionCache, batch: Int) -> [Float] {
        ForwardPass(model: model, batchSize: batch).run(tokens, cache: cache, logitRows: Array(0..<tokens.count))
    }

    func testEqualsDenseWhileTheSequenceFits() throws {
        var rng = SplitMix64(seed: 5)
        let tokens = (0..<64).map { _ in Int32(rng.next() % 256) }
        for variant in TinyArchitecture.allCases {
            let model = try LlamaModel(path: try variant.write())
            let dense = logits(model, tokens, cache: model.makeDenseCache(), batch: 64)
            for granularity in SelectionGranularity.allCases {
                let settings = LongHeadsSettings(chunkSize: 16, attentionLength: 64, granularity: granularity, precision: .f32)
                let lh = logits(model, tokens, cache: try LongHeadsAttention(model: model, settings: settings), batch: 13)
                let err = zip(lh, dense).map { abs($0 - $1) }.max()! / dense.map(abs).max()!
                XCTAssertLessThan(err, 2e-5, "\(variant.rawValue), \(granularity)")
            }
        }
    }

    /// Past the attention length (chunks selected) and past the sliding window (4 tokens): a cache resumed at a
    /// chunk boundary and inside a chunk from `openChunkState` gives the logits of one uninterrupted run.
    func testSlidingWindowModelResumesFromItsExportedState() throws {
        let model = try LlamaModel(path: try TinyArchitecture.gemma3.write())
        XCTAssertEqual(model.config.fullAttentionLayers, [2])
        var rng = SplitMix64(seed: 9)
        let tokens = (0..<160).map { _ in Int32(rng.next() % 256) }
        // Per-token selection: a block's selection would depend on where the batches split its chunk.
        let settings = LongHeadsSettings(chunkSize: 16, attentionLength: 64, granularity: .token, precision: .f32)
        let whole = try LongHeadsAttention(model: model, settings: settings)
        XCTAssertEqual(whole.store.layout.layers, 1, "only the full-attention layer is stored")
        let expected = logits(model, tokens, cache: whole, batch: 24)
        let dense = logits(model, tokens, cache: model.makeDenseCache(), batch: 24)
        XCTAssertGreaterThan(zip(expected, dense).map { abs($0 - $1) }.max()!, 1e-3, "selection must matter at 160 tokens")
        for split in [96, 101] {
            let first = try LongHeadsAttention(model: model, settings: settings)
            _ = logits(model, Array(tokens[..<split]), cache: first, batch: 24)
            let state = first.openChunkState
            XCTAssertEqual(state.slidingWindows?.count, 2)
            XCTAssertEqual(state.slidingWindows?.first?.count, 2 * 3 * model.config.kvWidth, "W − 1 = 3 tokens of keys and values")
            let resumed = try LongHeadsAttention(model: model, settings: settings, store: first.store, startingAt: split,
                                                 openChunk: state)
            let rest = logits(model, Array(tokens[split...]), cache: resumed, batch: 24)
            let err = zip(rest, expected[(split * model.config.vocabularySize)...]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(err, 1e-5, "resumed at \(split)")
            // Without the sliding-window state it cannot continue: one line says so.
            XCTAssertThrowsError(try LongHeadsAttention(model: model, settings: settings, store: first.store, startingAt: split,
                                                        openChunk: OpenChunkState(rows: state.rows, outputSums: state.outputSums, queries: nil))) {
                XCTAssertTrue("\($0)".contains("sliding-window layers"), "\($0)")
            }
        }
    }
}
