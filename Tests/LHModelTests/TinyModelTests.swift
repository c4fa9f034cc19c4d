// The forward pass on a tiny random model checked against the plain reference implementation.
import XCTest
@testable import LHModel
import LHCore
import LHTestSupport

final class TinyModelTests: XCTestCase {
    static let path = try! TinyModel.write()
    static let model = try! LlamaModel(path: path)
    static let reference = ReferenceLlama(model: model)
    static let tokens: [Int32] = (0..<40).map { Int32(($0 * 37 + 11) % 258) }

    /// Largest |a − b| over all entries, relative to the largest |b|.
    func relativeError(_ a: [Float], _ b: [[Double]]) -> Double {
        let flat = b.flatMap { $0 }
        let scale = flat.map(abs).max()!
        return zip(a, flat).map { abs(Double($0) - $1) }.max()! / scale
    }

    func testConfigIsReadFromMetadata() {
        XCTAssertEqual(Self.model.config, TinyModel.config)
        XCTAssertEqual(Self.model.weights.layers[1].wk.type, .bf16)
        XCTAssertEqual(Self.model.weights.output.rows, 258)
    }

    func testBatchedPrefillMatchesReference() {
        let forward = ForwardPass(model: Self.model)
        let logits = forward.run(Self.tokens, cache: Self.model.makeDenseCache(), logitRows: Array(0..<Self.tokens.count))
        let err = relativeError(logits, Self.reference.logits(Self.tokens))
        XCTAssertLessThan(err, 1e-4, "f32 batched path (sgemm) differs from the reference")
    }

    func testSmallBatchesThroughTheCacheMatchReference() {
        // Batches of 10 tokens (all above the quantized-kernel threshold, so f32 throughout):
        // later batches attend to cached keys of earlier ones.
        let forward = ForwardPass(model: Self.model, batchSize: 10)
        let logits = forward.run(Self.tokens, cache: Self.model.makeDenseCache(), logitRows: Array(0..<Self.tokens.count))
        XCTAssertLessThan(relativeError(logits, Self.reference.logits(Self.tokens)), 1e-4)
    }

    func testTokenByTokenDecodeMatchesReference() {
        // m = 1 uses the quantized kernels with 8-bit activations: agreement within a few percent.
        let forward = ForwardPass(model: Self.model)
        let cache = Self.model.makeDenseCache()
        var logits: [Float] = []
        for t in Self.tokens.prefix(20) { logits += forward.runLast([t], cache: cache) }
        let ref = Self.reference.logits(Array(Self.tokens.prefix(20)))
        XCTAssertLessThan(relativeError(logits, ref), 3e-2)
        // The most likely next token agrees wherever the reference has a clear winner.
        for (i, row) in ref.enumerated() {
            let sorted = row.sorted(by: >)
            guard sorted[0] - sorted[1] > 0.05 * sorted[0].magnitude + 0.05 else { continue }
            let ours = Array(logits[(i * 258)..<((i + 1) * 258)])
            XCTAssertEqual(ours.firstIndex(of: ours.max()!), row.firstIndex(of: sorted[0]), "position \(i)")
        }
    }

    func testLogitRowsAreReturnedInTheOrderAsked() {
        let forward = ForwardPass(model: Self.model, batchSize: 16)
        let all = forward.run(Self.tokens, cache: Self.model.makeDenseCache(), logitRows: Array(0..<Self.tokens.count))
        // Rows 3, 4 and 5 share the first batch but not consecutive slots (the copying path); 35 and 20 are alone.
        let asked = [35, 3, 20, 4, 5]
        let some = forward.run(Self.tokens, cache: Self.model.makeDenseCache(), logitRows: asked)
        // A few rows of a batch go through the quantized kernel, 16 through sgemm: equal within 8-bit rounding.
        for (j, r) in asked.enumerated() {
            let a = some[(j * 258)..<((j + 1) * 258)], b = all[(r * 258)..<((r + 1) * 258)]
            let scale = b.map(abs).max()!
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()! / scale, 3e-2, "row \(r)")
        }
    }
}

/// Sampling: top-k candidates equal a full sort's prefix; the same seed gives the same tokens.
final class SamplerTests: XCTestCase {
    func testTopKCandidatesEqualFullSortPrefix() {
        var rng = SplitMix64(seed: 3)
        let logits = (0..<5000).map { _ in Float(rng.next() % 1000) / 10 }   // many ties
        logits.withUnsafeBufferPointer { l in
            let full = Sampler.candidates(l, topK: 0)
            for k in [1, 7, 40, 4999] {
                let top = Sampler.candidates(l, topK: k)
                XCTAssertEqual(top.count, k)
                XCTAssertEqual(top.map { l[$0] }, full.prefix(k).map { l[$0] }, "k \(k)")
            }
        }
    }

    func testSeededSamplingIsReproducibleAndGreedyIsArgmax() {
        let logits: [Float] = (0..<100).map { Float($0 % 17) }
        var a = Sampler(options: SamplingOptions(temperature: 0.8, topK: 10, topP: 0.9, seed: 9))
        var b = Sampler(options: SamplingOptions(temperature: 0.8, topK: 10, topP: 0.9, seed: 9))
        XCTAssertEqual((0..<20).map { _ in a.sample(logits) }, (0..<20).map { _ in b.sample(logits) })
        var g = Sampler(options: SamplingOptions(temperature: 0))
        XCTAssertEqual(g.sample(logits), 16)
    }
}
