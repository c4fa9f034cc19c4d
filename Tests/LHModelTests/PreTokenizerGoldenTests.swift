// Byte-level BPE pre-tokenizers of Llama 3 (`llama-bpe`) and Qwen 2 (`qwen2`) on llama.cpp's test vocabularies.
import Foundation
import XCTest
@testable import LHModel
import LHTestSupport

final class PreTokenizerGoldenTests: XCTestCase {
    private func vocab(_ name: String) throws -> Tokenizer {
        try GoldenTokenizers.tokenizer(at: try TestPaths.requireVocab("ggml-vocab-\(name).gguf"))
    }

    func testLlamaBPEMetadata() throws {
        let t = try vocab("llama-bpe")
        XCTAssertEqual(t.vocabularyType, .bytePairEncoding)
        XCTAssertEqual(t.preTokenizerName, "llama-bpe")
        XCTAssertEqual(t.bosToken, 128000)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsSpacePrefix)
        XCTAssertEqual(t.specialToken("<|begin_of_text|>"), 128000)
    }

    func testQwen2Metadata() throws {
        let t = try vocab("qwen2")
        XCTAssertEqual(t.vocabularyType, .bytePairEncoding)
        XCTAssertEqual(t.preTokenizerName, "qwen2")
        XCTAssertEqual(t.specialToken("<|im_start|>"), 151644)
    }

    func testLlamaBPEGoldens() throws {
        XCTAssertGreaterThan(try checkGoldens(try vocab("llama-bpe"), "llama-bpe"), 150)
    }

    func testQwen2Goldens() throws {
        XCTAssertGreaterThan(try checkGoldens(try vocab("qwen2"), "qwen2"), 150)
    }

    func testLlamaBPELlamaCppCases() throws {
        XCTAssertGreaterThan(try checkLlamaCppCases(try vocab("llama-bpe"), "ggml-vocab-llama-bpe.gguf"), 30)
    }

    func testQwen2LlamaCppCases() throws {
        XCTAssertGreaterThan(try checkLlamaCppCases(try vocab("qwen2"), "ggml-vocab-qwen2.gguf"), 30)
    }

    func testRoundTrips() throws {
        for name in ["llama-bpe", "qwen2"] {
            let t = try vocab(name)
            for text in ["Hello world", "  lead and trail  ", "naïve 日本語 🦙👍🏽 1234567", "a\n\n\tb\r\n"] {
                checkRoundTrip(t, text)
            }
        }
    }

    func testEncodingSpeed() throws {
        for name in ["llama-bpe", "qwen2"] {
            let t = try vocab(name)
            let paragraph = "The quick brown fox jumps over the lazy dog; naïve café, 日本語のテキスト, 12345 numbers.\n"
                + "    indented code(x, y) { return x + y; }\n\n"
            let big = String(repeating: paragraph, count: 1_000_000 / paragraph.utf8.count + 1)
            let start = Date()
            let tokens = t.encode(big, parseSpecial: false)
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "%@ encode: %d tokens (%.1f MB) in %.3f s = %.0f tokens/s",
                         name, tokens.count, Double(big.utf8.count) / 1e6, seconds, Double(tokens.count) / seconds))
            XCTAssertEqual(t.decode(tokens), big)
        }
    }
}
