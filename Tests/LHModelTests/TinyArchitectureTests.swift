// Each architecture's forward pass against llama.cpp: tiny random models written here, llama.cpp's logits on the
// same bytes committed in Fixtures/golden/tiny-models (made by scripts/tiny-model-goldens.py).
import Foundation
import LHCore
import LHModel
import LHTestSupport
import XCTest

final class TinyArchitectureTests: XCTestCase {
    struct Golden: Decodable {
        let sha256: String
        let tokens: [Int32]
        let logits: [[Float]]
    }

    /// Tolerance on a position's logits, relative to its largest |logit|: llama.cpp keeps the KV cache in f16 and
    /// rounds activations to f16 for f16 weights, so its logits differ from lhindex's by at most about 5e-4 of the
    /// largest (measured: 0.0025 of 2.0 for gemma3, 0.010 of 22 for the others). A wrong RoPE pairing, scale,
    /// window or norm moves them by tenths.
    static let relativeTolerance: Float = 0.0015

    static var goldenDirectory: URL { TestPaths.fixtureGolden.appendingPathComponent("tiny-models") }

    /// Writes the variant's model (into $LHINDEX_TINY_MODEL_DIR when set: the golden script's way of getting the
    /// files) and compares every position's logits with llama.cpp's.
    func check(_ variant: TinyArchitecture) throws {
        let env = ProcessInfo.processInfo.environment["LHINDEX_TINY_MODEL_DIR"]
        let path = try variant.write(to: env ?? TestTemporary.directory)
        let goldenURL = Self.goldenDirectory.appendingPathComponent("tiny-\(variant.rawValue).json")
        if env != nil && !FileManager.default.fileExists(atPath: goldenURL.path) { return }   // writing files for the script
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: goldenURL))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(bytes.withUnsafeBytes { SHA256.hex($0) }, golden.sha256,
                       "the test writes a different file from the one llama.cpp saw: rerun scripts/tiny-model-goldens.py")
        XCTAssertEqual(golden.tokens, TinyArchitecture.tokens)

        let model = try LlamaModel(path: path)
        XCTAssertEqual(model.config.architecture.rawValue, variant.architecture)
        let vocab = model.config.vocabularySize
        let n = golden.tokens.count
        let logits = ForwardPass(model: model, batchSize: 5)       // several batches: the cache carries over
            .run(golden.tokens, cache: model.makeDenseCache(), logitRows: Array(0..<n))
        var worst: Float = 0
        for p in 0..<n {
            var difference: Float = 0, magnitude: Float = 0
            for v in 0..<vocab {
                difference = max(difference, abs(logits[p * vocab + v] - golden.logits[p][v]))
                magnitude = max(magnitude, abs(golden.logits[p][v]))
            }
            XCTAssertLessThan(difference, Self.relativeTolerance * magnitude + 0.002, "position \(p)")
            worst = max(worst, difference / magnitude)
        }
        print("\(variant.rawValue): largest logit difference from llama.cpp, relative to the position's largest logit: \(worst)")
    }

    func testQwen2() throws { try check(.qwen2) }
    func testQwen3() throws { try check(.qwen3) }
    func testGemma3() throws { try check(.gemma3) }
    func testLlamaRopeFactors() throws { try check(.llamaRopeFactors) }
    func testLlamaLinearRope() throws { try check(.llamaLinearRope) }
}
