// The architectures' hyperparameters: read from GGUF, bounded, one clear line when out of bounds, and older
// indexes' stored configurations still decode.
import Foundation
import LHCore
import LHModel
import LHTestSupport
import XCTest

final class ArchitectureConfigTests: XCTestCase {
    private func expectRefusal(_ path: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LlamaModel(path: path), file: file, line: line) { e in
            let message = "\(e)"
            XCTAssertTrue(message.contains(path) && message.contains(text), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
        }
    }

    func testArchitecturesAreRead() throws {
        for variant in TinyArchitecture.allCases {
            let c = try LlamaModel(path: try variant.write()).config
            XCTAssertEqual(c.architecture.rawValue, variant.architecture)
            switch variant {
            case .qwen3:
                XCTAssertEqual(c.headDimension, 32)
                XCTAssertEqual(c.queryWidth, 128)
            case .gemma3:
                XCTAssertEqual(c.slidingWindow, 4)
                XCTAssertEqual((0..<3).map { c.isSlidingWindow(layer: $0) }, [true, true, false])
                XCTAssertEqual(c.slidingRopeBase, 10000)
                XCTAssertEqual(c.ropeBase, 1_000_000)
            case .llamaLinearRope:
                XCTAssertEqual(c.ropeFrequencyScale, 0.25)
            default:
                XCTAssertEqual(c.headDimension, 16)
                XCTAssertFalse(c.hasSlidingWindowLayers)
            }
        }
    }

    func testYaRNIsRefusedInOneLine() throws {
        expectRefusal(try TinyModel.write(overrides: ["llama.rope.scaling.type": .string("yarn")]),
                      contains: "RoPE scaling 'yarn' is not supported")
    }

    func testHeadDimensionOutOfBoundsIsNamed() throws {
        expectRefusal(try TinyModel.write(overrides: ["llama.attention.key_length": .u32(0)]),
                      contains: "llama.attention.key_length is 0, expected 2...1024")
    }

    func testSlidingWindowPatternOutOfBoundsIsNamed() throws {
        let path = try TinyModel.write(architecture: "gemma3", overrides: [
            "gemma3.attention.sliding_window": .u32(4), "gemma3.attention.sliding_window_pattern": .u32(1 << 30)])
        expectRefusal(path, contains: "gemma3.attention.sliding_window_pattern is 1073741824, expected 0...1024")
    }

    func testNaNScalingFactorIsRefused() throws {
        expectRefusal(try TinyModel.write(overrides: ["llama.rope.scaling.factor": .f32(.nan)]),
                      contains: "llama.rope.scaling.factor (inverse) is nan")
    }

    func testMissingArchitectureTensorIsNamed() throws {
        // A gemma3 file without Gemma's extra tensors (the plain LLaMA tensors only).
        expectRefusal(try TinyModel.write(architecture: "gemma3"), contains: "tensor 'blk.0.attn_q_norm.weight' is missing")
    }

    /// Indexes written before the architectures stored a configuration without the new keys.
    func testConfigurationsWithoutTheNewKeysDecodeAsLlama() throws {
        let old = #"{"layerCount":30,"embeddingLength":576,"headCount":9,"kvHeadCount":3,"feedForwardLength":1536,"vocabularySize":49152,"contextLength":8192,"ropeBase":100000,"rmsEpsilon":1e-05}"#
        let c = try JSONDecoder().decode(LlamaConfig.self, from: Data(old.utf8))
        XCTAssertEqual(c.architecture, .llama)
        XCTAssertEqual(c.headDimension, 64)
        XCTAssertEqual(c.queryWidth, 576)
        XCTAssertEqual(c.ropeFrequencyScale, 1)
        XCTAssertFalse(c.hasSlidingWindowLayers)
        XCTAssertEqual(try JSONDecoder().decode(LlamaConfig.self, from: try JSONEncoder().encode(c)), c)
    }
}
