// One cheap real-model case: greedy answers from an index equal the in-memory engine's, token for token.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class RealModelIndexTests: XCTestCase {
    func testAskEqualsInMemoryEngineOnTheDefaultModel() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fixtures/corpus/apache-2.0.txt")
        let text = String(try String(contentsOf: corpus, encoding: .utf8).prefix(6000))
        let settings = LongHeadsSettings(chunkSize: 128, attentionLength: 512)
        let builder = try IndexBuilder(languageModel: lm, model: ModelFingerprint.identity(of: lm), settings: settings)
        let bundle = StoreFixture.tempDir() + "/apache.lhx"
        _ = try builder.build(text: text, sourcePath: "apache-2.0.txt", bundle: bundle)
        let reader = try IndexReader(directory: bundle, languageModel: lm)
        let n = reader.metadata.document.tokens
        XCTAssertGreaterThan(n, 2 * settings.attentionLength)
        let question = "What does the license say about trademarks?"
        let answer = try reader.ask(question, maxTokens: 16)
        // The in-memory engine on the same tokens, batched like the builder.
        let doc = TokenizedDocument(text: text, languageModel: lm)
        let lh = try LongHeadsAttention(model: lm.model, settings: settings)
        lh.questionStart = n
        _ = ForwardPass(model: lm.model, batchSize: builder.batchTokens).run(doc.tokens, cache: lh, logitRows: [])
        let forward = ForwardPass(model: lm.model)
        var logits = forward.runLast(reader.questionTokens(question), cache: lh)
        var out: [Int32] = []
        while out.count < 16 {
            let t = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            if lm.tokenizer.isEndOfGeneration(t) { break }
            out.append(t)
            if out.count == 16 { break }
            logits = forward.runLast([t], cache: lh)
        }
        print("real model, \(n) tokens (\(n % 128) in the last chunk): '\(answer.answer)'")
        XCTAssertEqual(answer.answer, lm.tokenizer.decode(out))
    }
}
