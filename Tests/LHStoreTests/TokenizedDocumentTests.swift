// Chunk byte ranges stay on the source when the tokenizer drops bytes its vocabulary cannot spell.
import Foundation
import XCTest
import LHModel
import LHTestSupport
@testable import LHStore

final class TokenizedDocumentTests: XCTestCase {
    /// SmolLM2 has no token for 0x1D (found by `make fuzz`): a tiny model whose byte token for 0x1D is
    /// renamed drops it the same way. Every chunk's byte range must still spell that chunk's tokens.
    func testChunkByteRangesSkipBytesNoTokenSpells() throws {
        var byte = TinyModel.byteToUnicode().map { String($0) }
        byte[0x1D] = "<|no-gs|>"
        let path = try TinyModel.write(overrides: ["tokenizer.ggml.tokens": .strings(byte + ["<|im_start|>", "<|im_end|>"])])
        let lm = try LanguageModel(path: path)
        let text = (0..<12).map { "line \($0) has a\u{1D}group separator\n" }.joined()
        let doc = TokenizedDocument(text: text, languageModel: lm)
        let source = Array(text.utf8)
        XCTAssertEqual(doc.tokens.count - doc.prefixTokens, source.count - 12, "the tokenizer drops 0x1D")
        let spans = source.withUnsafeBytes { doc.chunkSpans(w: 16, source: $0) }
        for s in spans where s.tokenStart >= doc.prefixTokens {
            let spelled = doc.tokens[s.tokenStart..<s.tokenEnd].flatMap { lm.tokenizer.tokenBytes($0) }
            XCTAssertEqual(source[s.byteStart..<s.byteEnd].filter { $0 != 0x1D }, spelled, "chunk \(s.chunk)")
            XCTAssertEqual(s.firstLine, 1 + source[..<s.byteStart].filter { $0 == 0x0A }.count, "chunk \(s.chunk)")
        }
        XCTAssertEqual(spans.last?.byteEnd, source.count)
    }
}
