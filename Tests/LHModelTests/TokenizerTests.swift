// Tokenizer against llama.cpp's golden tokenizations, round trips, streaming decode, and encoding speed.
import Foundation
import XCTest
@testable import LHModel

final class TokenizerTests: XCTestCase {
    /// One tokenizer for the whole class (loading the vocabulary takes a fraction of a second).
    nonisolated(unsafe) private static var cached: Tokenizer?

    private func tokenizer() throws -> Tokenizer {
        if let t = TokenizerTests.cached { return t }
        let env = ProcessInfo.processInfo.environment
        let path = env["LHINDEX_MODEL"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/lhindex/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("model not found at \(path): run `make model` (or set LHINDEX_MODEL)")
            throw Missing.model
        }
        let t = try Tokenizer(gguf: GGUFFile(path: path))
        TokenizerTests.cached = t
        return t
    }

    /// The golden directory: $LHINDEX_GOLDEN, else the first `shared/golden` found walking up from this file.
    private func goldenDirectory() throws -> URL {
        if let g = ProcessInfo.processInfo.environment["LHINDEX_GOLDEN"] { return URL(fileURLWithPath: g) }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared/golden")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("tokenizer.jsonl").path) {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        XCTFail("golden data (shared/golden/tokenizer.jsonl) not found above \(#filePath); set LHINDEX_GOLDEN")
        throw Missing.golden
    }

    private enum Missing: Error { case model, golden }

    private struct GoldenLine: Decodable {
        let text: String
        let parse_special: Bool
        let tokens: [Int32]
    }

    private func goldenLines() throws -> [GoldenLine] {
        let data = try String(contentsOf: try goldenDirectory().appendingPathComponent("tokenizer.jsonl"), encoding: .utf8)
        return try data.split(separator: "\n").map { try JSONDecoder().decode(GoldenLine.self, from: Data($0.utf8)) }
    }

    private func pplText() throws -> (String, [Int32]) {
        let dir = try goldenDirectory()
        let text = try String(contentsOf: dir.appendingPathComponent("ppl_text.txt"), encoding: .utf8)
        let tokens = try JSONDecoder().decode([Int32].self, from: Data(contentsOf: dir.appendingPathComponent("ppl_text.tokens.json")))
        return (text, tokens)
    }

    func testMetadata() throws {
        let t = try tokenizer()
        XCTAssertEqual(t.vocabularySize, 49152)
        XCTAssertEqual(t.bosToken, 1)
        XCTAssertEqual(t.eosToken, 2)
        XCTAssertEqual(t.eotToken, 2)
        XCTAssertFalse(t.addsBOS)
        XCTAssertEqual(t.specialToken("<|im_start|>"), 1)
        XCTAssertEqual(t.specialToken("<|im_end|>"), 2)
        XCTAssertNil(t.specialToken("Hello"))
        XCTAssertTrue(t.isEndOfGeneration(2))
        XCTAssertTrue(t.isEndOfGeneration(0))
        XCTAssertFalse(t.isEndOfGeneration(1))
        XCTAssertFalse(t.isEndOfGeneration(19556))
        XCTAssertEqual(t.tokenBytes(216), [0x20])
        XCTAssertEqual(t.tokenBytes(2), Array("<|im_end|>".utf8))
        XCTAssertEqual(t.tokenBytes(-1), [])
    }

    func testGoldenTokenizerLines() throws {
        let t = try tokenizer()
        let lines = try goldenLines()
        XCTAssertEqual(lines.count, 28)
        for line in lines {
            let got = t.encode(line.text, parseSpecial: line.parse_special)
            XCTAssertEqual(got, line.tokens, "parse_special=\(line.parse_special) text=\(line.text.debugDescription)")
        }
    }

    func testGoldenPerplexityText() throws {
        let t = try tokenizer()
        let (text, golden) = try pplText()
        let got = t.encode(text, parseSpecial: false)
        XCTAssertEqual(got.count, golden.count)
        if let i = (0..<min(got.count, golden.count)).first(where: { got[$0] != golden[$0] }) {
            XCTFail("first difference at token \(i): \(got[i]) vs golden \(golden[i])")
        }
        XCTAssertEqual(t.encode(text, parseSpecial: true), golden)
    }

    func testRoundTrips() throws {
        let t = try tokenizer()
        var texts = try goldenLines().map(\.text)
        texts.append(try pplText().0)
        texts += ["x" + String(repeating: "=", count: 300) + " y", String(repeating: "ab ", count: 50), "\u{0}\u{7f}\r\n\t"]
        for text in texts {
            for parse in [false, true] {
                XCTAssertEqual(t.decode(t.encode(text, parseSpecial: parse)), text, text.debugDescription)
            }
        }
    }

    func testPreTokenizerEdgeCases() throws {
        let t = try tokenizer()
        // Long words go through the heap merge; they must agree with the scan merge on their pieces.
        let long = String(repeating: "abcdefgh", count: 40)
        let tokens = t.encode(long, parseSpecial: false)
        XCTAssertEqual(t.decode(tokens), long)
        // Whitespace before a word: the run keeps its last space for the word.
        XCTAssertEqual(t.encode("a   b", parseSpecial: false).map { t.decode([$0]) }, ["a", "  ", " b"])
        // Digits are split one by one, and a space before a digit stays alone.
        XCTAssertEqual(t.encode("x 12", parseSpecial: false).map { t.decode([$0]) }, ["x", " ", "1", "2"])
        // Special tokens inside text when parsing them; ordinary text otherwise.
        let chat = "<|im_start|>user<|im_end|>"
        XCTAssertEqual(t.encode(chat, parseSpecial: true).first, 1)
        XCTAssertNotEqual(t.encode(chat, parseSpecial: false).first, 1)
        XCTAssertEqual(t.encode("", parseSpecial: true), [])
    }

    func testHeapMergeMatchesScanMerge() throws {
        let t = try tokenizer()
        var words = try pplText().0.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { " " + $0 }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aaabeeeinorst THE.,-'é日🎉")
        for _ in 0..<300 {
            words.append(String((0..<Int.random(in: 1...200, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
        }
        var scratch = BPEModel.Scratch()
        for w in words {
            let bytes = Array(w.utf8)
            var scan: [Int32] = [], heap: [Int32] = []
            bytes.withUnsafeBufferPointer { b in
                t.model.encode(word: b.baseAddress!, count: b.count, into: &scan, scratch: &scratch, heapThreshold: .max)
                t.model.encode(word: b.baseAddress!, count: b.count, into: &heap, scratch: &scratch, heapThreshold: 0)
            }
            XCTAssertEqual(scan, heap, w.debugDescription)
            XCTAssertEqual(t.decode(scan), w)
        }
    }

    func testStreamingDecoderHoldsBackPartialCharacters() throws {
        let t = try tokenizer()
        let text = "Emoji 🎉👍🏽 and 日本語のテキスト, 한국어, naïve ∑∫√ <|im_end|> done"
        let tokens = t.encode(text, parseSpecial: true)
        // The test is only meaningful if some character is split across tokens.
        let splits = tokens.filter { String(bytes: t.tokenBytes($0), encoding: .utf8) == nil }
        XCTAssertFalse(splits.isEmpty, "expected tokens holding partial UTF-8 characters")
        var decoder = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for token in tokens {
            let piece = decoder.append(token)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "U+FFFD emitted mid-stream after token \(token)")
            streamed += piece
        }
        streamed += decoder.finish()
        XCTAssertEqual(streamed, t.decode(tokens))
        XCTAssertEqual(streamed, text)
        // An unfinished character at the end comes out of finish() as U+FFFD, as decode() does.
        let partial = t.encode("🎉", parseSpecial: false)
        if partial.count > 1 {
            var d = StreamingDecoder(tokenizer: t)
            XCTAssertEqual(d.append(partial[0]), "")
            XCTAssertEqual(d.finish(), t.decode([partial[0]]))
        }
    }

    func testEncodingSpeed() throws {
        let t = try tokenizer()
        let (text, golden) = try pplText()
        let reps = 1_000_000 / golden.count + 1
        let big = String(repeating: text + "\n", count: reps)
        let start = Date()
        let tokens = t.encode(big, parseSpecial: false)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(tokens.count, 1_000_000)
        print(String(format: "tokenizer speed: %d tokens (%.1f MB) in %.3f s = %.0f tokens/s",
                     tokens.count, Double(big.utf8.count) / 1e6, seconds, Double(tokens.count) / seconds))
    }
}
