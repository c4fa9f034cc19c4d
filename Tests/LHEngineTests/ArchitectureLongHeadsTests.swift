// LongHeads on the other architectures' tiny models: equal to dense attention while the sequence fits (so the
// engine handles half-split RoPE, a head dimension other than E/H, biases and Q/K norms), and a one-line refusal
// for the sliding-window layers it cannot serve yet.
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
        for variant in TinyArchitecture.allCases where variant != .gemma3 {
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

    func testSlidingWindowLayersAreRefusedInOneLine() throws {
        let model = try LlamaModel(path: try TinyArchitecture.gemma3.write())
        XCTAssertThrowsError(try LongHeadsAttention(model: model, settings: LongHeadsSettings(chunkSize: 16, attentionLength: 64))) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("LongHeads cannot serve gemma3's sliding-window layers yet"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }
}
