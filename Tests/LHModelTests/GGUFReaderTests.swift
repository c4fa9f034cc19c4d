// The GGUF reader on hand-built broken files: each gives an error naming the file and the problem.
import XCTest
@testable import LHModel
import LHCore
import LHTestSupport

final class GGUFReaderTests: XCTestCase {
    func temp(_ data: Data) throws -> String {
        let url = TestTemporary.url("bad.gguf")
        try data.write(to: url)
        return url.path
    }

    func expectError(_ path: String, contains fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LlamaModel(path: path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "message does not name the file: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(fragment), "expected '\(fragment)' in: \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "message is not one line", file: file, line: line)
        }
    }

    func testNotAGGUFFile() throws {
        expectError(try temp(Data("hello, this is text".utf8)), contains: "not a GGUF file")
    }

    func testEmptyFile() throws {
        expectError(try temp(Data()), contains: "truncated")
    }

    func testMissingFile() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/model.gguf: No such file or directory (open)")
        }
    }

    func testTruncatedFileAtEveryRegion() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: try TinyModel.write()))
        // Cut inside the header, inside the metadata, inside the tensor infos and inside the data.
        for cut in [6, 20, 300, 3000, full.count / 2, full.count - 1] {
            let path = try temp(full.prefix(cut))
            XCTAssertThrowsError(try LlamaModel(path: path), "cut at \(cut)") { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains(path) && (m.contains("truncated") || m.contains("outside the file")), m)
            }
        }
    }

    func testUnsupportedVersion() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: try TinyModel.write()))
        data[4] = 9
        expectError(try temp(data), contains: "GGUF version 9 is not supported (expected 2 or 3)")
    }

    func testUnsupportedArchitecture() throws {
        expectError(try TinyModel.write(architecture: "gpt2"), contains: "architecture 'gpt2' is not supported (supported: llama, qwen2, qwen3, gemma3)")
    }

    func testUnsupportedWeightTypeIsNamed() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.add("token_embd.weight", dims: [256, 4], type: 17, data: Data(count: 4 * 74))   // IQ2_XS
        expectError(try temp(w.encoded()), contains: "tensor 'token_embd.weight' has type IQ2_XS")
    }

    /// Dimensions whose product wraps around Int would pass the bounds check with a tiny size in a build
    /// without overflow checks: 2^32 · 2^32 elements of f32.
    func testTensorDimensionsWhoseProductOverflowsAreRefused() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.add("some.weight", dims: [1 << 32, 1 << 32], type: 0, data: Data(count: 32))
        XCTAssertThrowsError(try GGUFFile(path: try temp(w.encoded()))) {
            XCTAssertTrue("\($0)".contains("tensor 'some.weight' has dimensions [4294967296, 4294967296], more elements than any file can hold"), "\($0)")
        }
    }

    func testMetadataValuesRoundTrip() throws {
        let g = try GGUFFile(path: try TinyModel.write())
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.string("general.architecture"), "llama")
        XCTAssertEqual(g.int("llama.block_count"), 2)
        XCTAssertEqual(g.float("llama.rope.freq_base"), 10000)
        XCTAssertEqual(g.stringArray("tokenizer.ggml.tokens")?.count, 258)
        XCTAssertEqual(g.intArray("tokenizer.ggml.token_type")?.last, 3)
    }
}
