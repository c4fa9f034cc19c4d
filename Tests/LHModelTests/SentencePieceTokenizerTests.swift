// SentencePiece vocabularies (llama.cpp's llama-spm test vocabulary, Gemma 3's) against llama.cpp.
import Foundation
import XCTest
@testable import LHModel
import LHTestSupport

final class SentencePieceTokenizerTests: XCTestCase {
    private func llamaSPM() throws -> Tokenizer {
        try GoldenTokenizers.tokenizer(at: try TestPaths.requireVocab("ggml-vocab-llama-spm.gguf"))
    }

    private func gemma3() throws -> Tokenizer {
        try GoldenTokenizers.tokenizer(at: try TestPaths.requireGemma3())
    }

    func testLlamaSPMMetadata() throws {
        let t = try llamaSPM()
        XCTAssertEqual(t.vocabularyType, .sentencePiece)
        XCTAssertEqual(t.vocabularySize, 32000)
        XCTAssertEqual(t.bosToken, 1)
        XCTAssertEqual(t.eosToken, 2)
        XCTAssertEqual(t.unknownToken, 0)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsEOS)
        XCTAssertTrue(t.addsSpacePrefix)
        XCTAssertEqual(t.specialToken("<s>"), 1)
        XCTAssertEqual(t.specialToken("<unk>"), 0)
        XCTAssertEqual(t.tokenText(13), "<0x0A>")
        XCTAssertEqual(t.tokenBytes(13), [0x0A])            // byte token
        XCTAssertEqual(t.tokenBytes(1), Array("<s>".utf8))  // control token renders as its text
        XCTAssertEqual(t.tokenBytes(29871), [0x20])         // "▁" is a space
        XCTAssertTrue(t.isEndOfGeneration(2))
    }

    func testLlamaSPMGoldens() throws {
        let strings = try checkGoldens(try llamaSPM(), "llama-spm")
        print("llama-spm: \(strings) golden strings x 4 settings")
    }

    func testLlamaSPMLlamaCppCases() throws {
        let n = try checkLlamaCppCases(try llamaSPM(), "ggml-vocab-llama-spm.gguf")
        XCTAssertGreaterThan(n, 30)
    }

    func testGemma3Metadata() throws {
        let t = try gemma3()
        XCTAssertEqual(t.vocabularyType, .sentencePiece)
        XCTAssertEqual(t.vocabularySize, 262_144)
        XCTAssertEqual(t.bosToken, 2)
        XCTAssertEqual(t.eosToken, 1)
        XCTAssertEqual(t.unknownToken, 3)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsSpacePrefix)
        XCTAssertEqual(t.specialToken("<start_of_turn>"), 105)
        XCTAssertEqual(t.specialToken("<end_of_turn>"), 106)
        XCTAssertTrue(t.isEndOfGeneration(106))
        XCTAssertEqual(t.eotToken, 106)
    }

    func testGemma3Goldens() throws {
        let strings = try checkGoldens(try gemma3(), "gemma3")
        print("gemma3: \(strings) golden strings x 4 settings")
    }

    func testRoundTrips() throws {
        let texts = ["Hello world", "  two leading spaces", "tabs\tand\nnewlines\r\n", "naïve 日本語 🦙👍🏽 한국어",
                     "code:\n    if x == 1 { return }\n", "<start_of_turn>user\nHi<end_of_turn>"]
        let spm = try llamaSPM()
        for text in texts {
            // The space prefix decodes as a leading space (llama_token_to_piece keeps it).
            checkRoundTrip(spm, text, expected: " " + text)
        }
        let gemma = try gemma3()
        for text in texts { checkRoundTrip(gemma, text) }
    }

    /// Characters with no token come out as byte tokens, and the streaming decoder joins them.
    func testByteFallbackStreams() throws {
        let t = try llamaSPM()
        let text = "🦙 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
        let tokens = t.encode(text, parseSpecial: false)
        XCTAssertTrue(tokens.contains { (3...258).contains($0) }, "expected byte tokens <0xXX>: \(tokens)")
        var d = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for tok in tokens {
            let piece = d.append(tok)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"))
            streamed += piece
        }
        streamed += d.finish()
        XCTAssertEqual(streamed, " " + text)
    }

    /// Loading Gemma 3's 262,144-token vocabulary (GGUF metadata included) and encoding a large text.
    func testGemma3LoadAndEncodeSpeed() throws {
        let path = try TestPaths.requireGemma3()
        var start = Date()
        let gguf = try GGUFFile(path: path, metadataOnly: true)
        let openSeconds = Date().timeIntervalSince(start)
        start = Date()
        let t = try Tokenizer(gguf: gguf)
        let loadSeconds = Date().timeIntervalSince(start)
        print(String(format: "gemma3 vocabulary: GGUF metadata %.3f s, Tokenizer init %.3f s (%d tokens)",
                     openSeconds, loadSeconds, t.vocabularySize))
        XCTAssertLessThan(openSeconds + loadSeconds, 1.0)

        let paragraph = "The quick brown fox jumps over the lazy dog; naïve café, 日本語のテキスト, 12345 numbers.\n"
            + "    indented code(x, y) { return x + y; }\n\n"
        let big = String(repeating: paragraph, count: 1_000_000 / paragraph.utf8.count + 1)
        for parseSpecial in [false, true] {
            start = Date()
            let tokens = t.encode(big, parseSpecial: parseSpecial)
            let seconds = Date().timeIntervalSince(start)
            print(String(format: "gemma3 encode (parse_special %@): %d tokens (%.1f MB) in %.3f s = %.0f tokens/s",
                         parseSpecial ? "on" : "off", tokens.count, Double(big.utf8.count) / 1e6, seconds, Double(tokens.count) / seconds))
            XCTAssertEqual(t.decode(tokens), big)
        }
        let spm = try llamaSPM()
        start = Date()
        let tokens = spm.encode(big, parseSpecial: false)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "llama-spm encode: %d tokens (%.1f MB) in %.3f s = %.0f tokens/s",
                     tokens.count, Double(big.utf8.count) / 1e6, seconds, Double(tokens.count) / seconds))
    }
}
