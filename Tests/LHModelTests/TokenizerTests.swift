// Tokenizer against llama.cpp's golden tokenizations, round trips, streaming decode, and encoding speed.
import Foundation
import XCTest
@testable import LHModel
import LHTestSupport

final class TokenizerTests: XCTestCase {
    /// One tokenizer for the whole class (loading the vocabulary takes a fraction of a second).
    nonisolated(unsafe) private static var cached: Tokenizer?

    /// The default model's tokenizer; fails (telling to run `make model`) when the model is missing.
    private func tokenizer() throws -> Tokenizer {
        if let t = TokenizerTests.cached { return t }
        let t = try Tokenizer(gguf: GGUFFile(path: try TestPaths.requireModel()))
        TokenizerTests.cached = t
        return t
    }

    /// The golden directory (TestPaths: $LHINDEX_GOLDEN, else `shared/golden` above the sources).
    private func goldenDirectory() throws -> URL {
        let dir = TestPaths.golden
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("tokenizer.jsonl").path) else {
            XCTFail("golden data not found at \(dir.path); set LHINDEX_GOLDEN")
            throw Missing.golden
        }
        return dir
    }

    private enum Missing: Error { case golden }

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
        XCTAssertTrue(t.isEndOfGeneration(4))   // <reponame>: llama.cpp's FIM-repo detection makes it EOG
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

    /// A vocabulary-only copy of the default model's tokenizer with another pre-tokenizer and
    /// optionally changed token types, written to a temporary GGUF file.
    private func variant(pre: String, types change: [Int: Int32] = [:]) throws -> Tokenizer {
        let g = try GGUFFile(path: try TestPaths.requireModel())
        var types = g.intArray(GGUFKey.tokenizerTokenTypes)!.map { Int32($0) }
        for (i, t) in change { types[i] = t }
        var w = GGUFWriter()
        w.set(GGUFKey.architecture, .string("llama"))
        w.set(GGUFKey.tokenizerModel, .string("gpt2"))
        w.set(GGUFKey.tokenizerPre, .string(pre))
        w.set(GGUFKey.tokenizerTokens, .strings(g.stringArray(GGUFKey.tokenizerTokens)!))
        w.set(GGUFKey.tokenizerTokenTypes, .i32s(types))
        w.set(GGUFKey.tokenizerMerges, .strings(g.stringArray(GGUFKey.tokenizerMerges)!))
        w.set(GGUFKey.tokenizerBOS, .u32(1))
        w.set(GGUFKey.tokenizerEOS, .u32(2))
        let url = TestTemporary.url("tok-\(pre).gguf")
        try w.encoded().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try Tokenizer(gguf: GGUFFile(path: url.path))
    }

    /// Expected ids from llama.cpp (llama-cpp-python 0.3.36, vocab_only) on the same vocabulary.
    func testOtherPreTokenizersMatchLlamaCpp() throws {
        let texts = [
            "Don'T STOP: I'M here, WE'LL see; they'Re 1234567 apples (٣٤٥٦) and ½.\n\n\tNext:\r\n  done!!\n",
            "x = f(a,b)->{ return a+b; }\n    // 2026-11-24  \u{a0} ok\u{3000}ok  \n\n",
            "$100 + <tag>=value|pipe^caret~tilde `tick` §¶ «quoted» — dash…",
        ]
        let expected: [String: [[Int32]]] = [
            "llama-bpe": [
                [8084, 23, 68, 5022, 7627, 42, 339, 23, 61, 1535, 28, 26587, 23, 16421, 963, 43, 502, 23, 3733, 216, 33, 34, 35, 36, 37, 38, 39, 13855, 365, 164, 113, 164, 114, 164, 115, 164, 116, 25, 284, 216, 16738, 30, 1116, 197, 8693, 42, 2738, 216, 2294, 10095, 198],
                [104, 446, 275, 24, 81, 28, 82, 14400, 46, 107, 1003, 253, 27, 82, 43, 4029, 198, 333, 13241, 216, 34, 32, 34, 38, 29, 33, 33, 29, 34, 36, 256, 15442, 10907, 12109, 218, 2231, 256, 1116],
                [20, 33, 32, 32, 1232, 2067, 9204, 31615, 3221, 108, 26899, 78, 3325, 100, 110, 100, 45111, 2179, 20166, 80, 20850, 141, 131, 23708, 385, 5036, 20306, 1841, 20740, 2829],
            ],
            "gpt-2": [
                [8084, 23, 68, 5022, 7627, 42, 339, 23, 61, 1535, 28, 26587, 23, 16421, 963, 43, 502, 23, 3733, 216, 33, 34, 35, 36, 37, 38, 39, 13855, 365, 164, 113, 164, 114, 164, 115, 164, 116, 25, 284, 3351, 138, 30, 1116, 197, 8693, 42, 23799, 2294, 10095, 198],
                [104, 446, 275, 24, 81, 28, 82, 14400, 46, 107, 1003, 253, 27, 82, 43, 4029, 472, 13241, 216, 34, 32, 34, 38, 29, 33, 33, 29, 34, 36, 256, 15442, 10907, 12109, 218, 2231, 256, 1116],
                [20, 33, 32, 32, 1232, 2067, 9204, 31615, 3221, 108, 26899, 78, 3325, 100, 110, 100, 45111, 2179, 20166, 80, 20850, 141, 131, 23708, 385, 5036, 20306, 1841, 20740, 2829],
            ],
            "default": [
                [8084, 23, 68, 5022, 7627, 42, 339, 23, 61, 1535, 28, 26587, 23, 16421, 963, 43, 502, 23, 3733, 216, 33, 34, 35, 36, 37, 38, 39, 13855, 216, 24, 164, 113, 164, 114, 164, 115, 164, 116, 25, 284, 216, 16738, 30, 1116, 197, 8693, 42, 23799, 2294, 10095, 198],
                [104, 216, 45, 275, 24, 81, 28, 82, 14400, 46, 107, 1003, 253, 27, 82, 43, 216, 109, 2367, 1559, 216, 34, 32, 34, 38, 29, 33, 33, 29, 34, 36, 256, 15442, 10907, 12109, 218, 2231, 256, 1116],
                [20, 33, 32, 32, 216, 27, 216, 44, 9204, 31615, 3221, 108, 26899, 78, 3325, 100, 110, 100, 45111, 2179, 20166, 80, 216, 31854, 141, 131, 216, 39969, 385, 5036, 20306, 216, 1265, 20740, 2829],
            ],
        ]
        for (pre, lines) in expected.sorted(by: { $0.key < $1.key }) {
            let t = try variant(pre: pre)
            XCTAssertEqual(t.addsBOS, pre == "llama-bpe")   // add_bos_token absent: llama.cpp's per-name default
            for (text, want) in zip(texts, lines) {
                XCTAssertEqual(t.encode(text, parseSpecial: false), want, "\(pre): \(text.debugDescription)")
                XCTAssertEqual(t.decode(want), text)
            }
        }
        XCTAssertThrowsError(try variant(pre: "no-such-pre")) { error in
            XCTAssertTrue("\(error)".contains("'no-such-pre'"), "\(error)")
        }
    }

    /// User-defined tokens are matched even when not parsing special tokens, and render as their
    /// raw text; a normal-typed `<|im_end|>` is made a control token (llama.cpp's EOG fix-up).
    func testUserDefinedTokensMatchLlamaCpp() throws {
        // 5 <file_sep>, 256 ĠĠ, 1195 the, 25276 abc, 309 ation -> user-defined; 2 <|im_end|> -> normal
        let t = try variant(pre: "smollm", types: [5: 4, 256: 4, 1195: 4, 25276: 4, 309: 4, 2: 1])
        let text = "Hello world<|im_end|>abcthe<file_sep>xabc  ation"
        XCTAssertEqual(t.encode(text, parseSpecial: false), [19556, 905, 44, 108, 306, 79, 486, 108, 46, 25276, 1195, 5, 104, 25276, 256, 309])
        XCTAssertEqual(t.encode(text, parseSpecial: true), [19556, 905, 2, 25276, 1195, 5, 104, 25276, 256, 309])
        XCTAssertEqual(t.decode(t.encode(text, parseSpecial: true)), "Hello world<|im_end|>abcthe<file_sep>xabcĠĠation")
        XCTAssertTrue(t.isEndOfGeneration(2))
        XCTAssertEqual(t.specialToken("<|im_end|>"), 2)
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
