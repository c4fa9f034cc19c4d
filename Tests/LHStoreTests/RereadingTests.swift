// Re-reading (ask --reread): the chosen chunks' text, and the answer read from it by dense attention.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class RereadingTests: XCTestCase {
    let lm = StoreFixture.languageModel

    func build(_ text: String, name: String, dir: String) throws -> String {
        let bundle = dir + "/" + name + ".lhx"
        _ = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: name, bundle: bundle) { _ in true }
        return bundle
    }

    /// Chunks that follow each other in a document read as the document's text from the first one's start to
    /// the last one's end; other documents' chunks come after, in corpus order, behind the gap mark.
    func testRereadTextJoinsAdjacentChunksAndMarksGaps() throws {
        let dir = StoreFixture.tempDir()
        let a = StoreFixture.text(bytes: 600, seed: 31), b = StoreFixture.text(bytes: 500, seed: 32)
        let reader = try IndexReader(bundles: [(try build(a, name: "a", dir: dir), "a"), (try build(b, name: "b", dir: dir), "b")],
                                     languageModel: lm)
        let first = try XCTUnwrap(reader.store as? CorpusChunkStore).firstChunks
        XCTAssertGreaterThan(first[1], 3)
        let text = try reader.rereadText(chunks: [first[1] + 1, 2, 0, 1])
        let spans = reader.documents[0].chunks, other = reader.documents[1].chunks[1]
        let aBytes = Array(a.utf8), bBytes = Array(b.utf8)
        XCTAssertEqual(spans[0].byteStart, 0)
        XCTAssertEqual(text, String(decoding: aBytes[0..<spans[2].byteEnd], as: UTF8.self) + IndexReader.rereadGap
                       + String(decoding: bBytes[other.byteStart..<other.byteEnd], as: UTF8.self))
    }

    /// The answer of `ask(reread: 2)` is the greedy answer of a fresh dense cache over the two chunks it cites
    /// (the chunks it chose) read as text, then the question.
    func testRereadAnswerIsTheDenseAnswerOverTheChosenChunks() throws {
        let dir = StoreFixture.tempDir()
        let reader = try IndexReader(directory: try build(StoreFixture.text(bytes: 1500, seed: 33), name: "doc", dir: dir), languageModel: lm)
        let question = "where is the key?"
        let start = "The key is"
        let r = try reader.ask(question, answerStart: start, maxTokens: 24, cite: true, citationCount: 2, citationThreshold: 0, reread: 2)
        let chunks = try XCTUnwrap(r.citations).map(\.chunk)
        XCTAssertEqual(chunks.count, 2)
        let prompt = TokenizedDocument(text: try reader.rereadText(chunks: chunks), languageModel: lm).tokens + reader.questionTokens(question)
            + lm.tokenizer.encode(start, parseSpecial: false)
        let cache = lm.model.makeDenseCache(), forward = ForwardPass(model: lm.model)
        var logits = forward.runLast(prompt, cache: cache)
        var out: [Int32] = []
        var sampler = Sampler(answering: SamplingOptions(temperature: 0), tokenizer: lm.tokenizer)
        while out.count < 24 {
            let t = sampler.sample(logits)
            if lm.tokenizer.isEndOfGeneration(t) { break }
            out.append(t)
            sampler.accept(t)
            if out.count < 24 { logits = forward.runLast([t], cache: cache) }
        }
        XCTAssertEqual(r.answer, start + lm.tokenizer.decode(out))
        XCTAssertEqual(r.tokens, out.count)
        // Answered from the index, the same question reads otherwise.
        XCTAssertNotEqual(try reader.ask(question, answerStart: start, maxTokens: 24).answer, r.answer)
    }
}
