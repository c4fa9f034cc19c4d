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
        XCTAssertGreaterThan(try checkGoldens(try llamaSPM(), "llama-spm"), 150)
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
        XCTAssertGreaterThan(try checkGoldens(try gemma3(), "gemma3"), 150)
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

        for (name, text) in SentencePieceTokenizerTests.speedTexts() {
            for (vocab, tokenizer) in [("gemma3", t), ("llama-spm", try llamaSPM())] {
                for parseSpecial in vocab == "gemma3" ? [false, true] : [false] {
                    start = Date()
                    let tokens = tokenizer.encode(text, parseSpecial: parseSpecial)
                    let seconds = Date().timeIntervalSince(start)
                    print(String(format: "%@ encode, %@ (parse_special %@): %d tokens (%.2f MB) in %.3f s = %.0f tokens/s",
                                 vocab, name, parseSpecial ? "on" : "off", tokens.count, Double(text.utf8.count) / 1e6,
                                 seconds, Double(tokens.count) / seconds))
                    XCTAssertEqual(tokenizer.decode(tokens), (tokenizer.addsSpacePrefix ? " " : "") + text)
                }
            }
        }
    }

    /// Texts for the speed test: a repeated paragraph (1 MB), pseudo-random words (1 MB, few repeats),
    /// and Japanese without spaces (0.3 MB, one long stretch merged as a whole).
    static func speedTexts() -> [(String, String)] {
        let paragraph = "The quick brown fox jumps over the lazy dog; naïve café, 日本語のテキスト, 12345 numbers.\n"
            + "    indented code(x, y) { return x + y; }\n\n"
        let repeated = String(repeating: paragraph, count: 1_000_000 / paragraph.utf8.count + 1)
        let syllables = ["ka", "lo", "mi", "ster", "tion", "pre", "un", "ble", "ing", "qu", "zz", "é", "ø", "th", "ough", "x"]
        let separators = [" ", " ", " ", " ", ", ", ". ", "\n", "  ", "\t", " (", ") ", " 42 ", "-"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var words = ""
        while words.utf8.count < 1_000_000 {
            for _ in 0..<(1 + next(4)) { words += syllables[next(syllables.count)] }
            words += separators[next(separators.count)]
        }
        let kana = Array("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん日本語文字")
        var japanese = ""
        while japanese.utf8.count < 300_000 { japanese.append(kana[next(kana.count)]) }
        return [("repeated paragraph", repeated), ("pseudo-random words", words), ("Japanese without spaces", japanese)]
    }

    /// The llama-spm vocabulary rewritten without its special-token and add_* keys (and with
    /// `extra` keys), to check llama.cpp's defaults.
    private func bareSPMCopy(_ name: String, model: String = "llama", extra: [(String, GGUFWriter.Value)] = []) throws -> URL {
        let g = try GGUFFile(path: try TestPaths.requireVocab("ggml-vocab-llama-spm.gguf"))
        var scores: [Float] = []
        if case let .array(values)? = g.metadata[SentencePieceModel.scoresKey] {
            scores = values.map { if case let .float(v) = $0 { return Float(v) }; return 0 }
        }
        XCTAssertEqual(scores.count, 32000)
        var w = GGUFWriter()
        w.set(GGUFKey.architecture, .string("llama"))
        w.set(GGUFKey.tokenizerModel, .string(model))
        w.set(GGUFKey.tokenizerTokens, .strings(g.stringArray(GGUFKey.tokenizerTokens)!))
        w.set(SentencePieceModel.scoresKey, .f32s(scores))
        w.set(GGUFKey.tokenizerTokenTypes, .i32s(g.intArray(GGUFKey.tokenizerTokenTypes)!.map { Int32($0) }))
        for (k, v) in extra { w.set(k, v) }
        let url = TestTemporary.url("spm-\(name).gguf")
        try w.encoded().write(to: url)
        return url
    }

    /// Without the keys, SentencePiece uses llama.cpp's defaults: BOS 1, EOS 2, UNK 0, add BOS,
    /// no EOS, a space prefix; the keys override them.
    func testSentencePieceDefaults() throws {
        let bare = try bareSPMCopy("bare")
        defer { try? FileManager.default.removeItem(at: bare) }
        let t = try Tokenizer(gguf: GGUFFile(path: bare.path))
        XCTAssertEqual(t.bosToken, 1)
        XCTAssertEqual(t.eosToken, 2)
        XCTAssertEqual(t.unknownToken, 0)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsEOS)
        XCTAssertTrue(t.addsSpacePrefix)
        XCTAssertEqual(t.encode("Hello", addSpecial: true, parseSpecial: false), [1, 15043])

        let set = try bareSPMCopy("set", extra: [(GGUFKey.tokenizerAddBOS, .bool(false)), (Tokenizer.addEOSKey, .bool(true)),
                                                 (Tokenizer.addSpacePrefixKey, .bool(false)), (GGUFKey.tokenizerEOS, .u32(13))])
        defer { try? FileManager.default.removeItem(at: set) }
        let u = try Tokenizer(gguf: GGUFFile(path: set.path))
        XCTAssertFalse(u.addsBOS)
        XCTAssertTrue(u.addsEOS)
        XCTAssertFalse(u.addsSpacePrefix)
        XCTAssertEqual(u.eosToken, 13)
        // No space prefix: "Hello" is not "▁Hello" (15043) any more; EOS (here <0x0A>) is appended.
        let ids = u.encode("Hello", addSpecial: true, parseSpecial: false)
        XCTAssertNotEqual(ids.first, 15043)
        XCTAssertEqual(ids.last, 13)
        XCTAssertEqual(u.decode(ids), "Hello\n")
    }

    /// An unsupported vocabulary type is one line naming the file and the value.
    func testUnsupportedVocabularyTypeNamesFileAndValue() throws {
        let url = try bareSPMCopy("bert", model: "bert")
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try Tokenizer(gguf: GGUFFile(path: url.path))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(url.path), message)
            XCTAssertTrue(message.contains("'bert'"), message)
            XCTAssertFalse(message.contains("\n"), message)
        }
    }

    /// Encoding segment by segment (with the memo) gives what merging each whole stretch gives.
    func testSegmentedEncodingMatchesWholeStretch() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aaaeeinorstTH  ▁>/<.,'\n\t1é日🦙")
        var texts = ["a > </b>", "x>  </y", "  lead", "trail  ", "▁▁x ▁y", ">▁</ >  </"]
        for _ in 0..<300 {
            texts.append(String((0..<Int.random(in: 1...80, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }))
        }
        for t in [try llamaSPM(), try gemma3()] {
            guard case let .sentencePiece(spm) = t.encoderForTesting else { return XCTFail("not SentencePiece") }
            for text in texts {
                for prefix in [false, true] {
                    let bytes = Array(text.utf8)
                    var whole: [Int32] = [], segmented: [Int32] = []
                    var scratch = SentencePieceModel.Scratch()
                    bytes.withUnsafeBufferPointer { b in
                        spm.encodeEscaped(b.baseAddress!, 0, b.count, prefixSpace: prefix, into: &whole, scratch: &scratch)
                        var cache = WordCache(text: b.baseAddress!)
                        spm.encode(b.baseAddress!, 0, b.count, prefixSpace: prefix, into: &segmented, scratch: &scratch, cache: &cache)
                    }
                    XCTAssertEqual(segmented, whole, "\(t.vocabularySize): \(text.debugDescription) prefix \(prefix)")
                }
            }
        }
    }
}
