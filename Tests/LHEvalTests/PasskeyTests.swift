// The passkey task: prompts identical to the Python prototype's, scoring, and one real-model retrieval.
import XCTest
@testable import LHEval
import LHEngine
import LHModel
import LHTestSupport

final class PasskeyTests: XCTestCase {
    func testPromptsMatchThePythonPrototype() {
        // python3 passkey_gen.py 15000 SEED: keys from results.jsonl, text length and key offset from the script.
        let expected: [(seed: Int, key: Int, keyOffset: Int)] = [(0, 38288, 13599), (1, 33637, 12099), (2, 34526, 8814)]
        for e in expected {
            let p = PasskeyTask.prompt(garbageChars: 15000, seed: e.seed)
            XCTAssertEqual(p.key, e.key)
            XCTAssertEqual(p.text.count, 15247)
            XCTAssertEqual(p.text.distance(from: p.text.startIndex, to: p.text.range(of: "The pass key is")!.lowerBound), e.keyOffset)
            XCTAssertTrue(p.text.hasSuffix("\nWhat is the pass key? The pass key is"))
        }
        var r = PythonRandom(seed: 15000)
        XCTAssertEqual(r.randint(0, 15000), 13449)          // python3 -c "import random; print(random.Random(15000).randint(0,15000))"
        let small = PasskeyTask.prompt(garbageChars: 100, seed: 7)
        XCTAssertEqual(small.key, 40620)
        XCTAssertTrue(small.text.contains("green. The sky is \nThe pass key is 40620."))
    }

    func testScoringWantsTheWholeNumber() {
        XCTAssertTrue(PasskeyTask.isCorrect(answer: " 38288. Remember", key: 38288))
        XCTAssertFalse(PasskeyTask.isCorrect(answer: " 382880", key: 38288))
        XCTAssertFalse(PasskeyTask.isCorrect(answer: " 3828", key: 38288))
        XCTAssertFalse(PasskeyTask.isCorrect(answer: " the pass key.", key: 38288))
    }

    /// (e) The real model, a 1k-token prompt, w = 128, A = 512: the key sits in chunk 1, outside the sliding
    /// window's sink and recent chunks; LongHeads selects it and answers, the window cannot.
    func testRealModelRetrievesAPasskeyBeyondTheWindow() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let settings = LongHeadsSettings(chunkSize: 128, attentionLength: 512)
        let n = PasskeyTask.garbageChars(forTokens: 1024, tokenizer: lm.tokenizer)
        let item = RetrievalItem.passkey(length: 1024, garbageChars: n, seed: 4, tokenizer: lm.tokenizer)
        let needle = lm.tokenizer.decode(Array(item.tokens[item.needleTokens]))
        XCTAssertTrue(needle.contains("The pass key is \(item.key)"), needle)
        let results = try RetrievalSweep(languageModel: lm).run(item, configurations: [
            SweepConfiguration(name: "lh", mode: .longheads, settings: settings),
            SweepConfiguration(name: "window", mode: .window, settings: settings),
        ])
        XCTAssertEqual(results.map(\.configuration), ["lh", "window"])
        XCTAssertTrue(results[0].correct, "LongHeads should find the key, answered \(results[0].answer)")
        XCTAssertFalse(results[1].correct, "the key is outside the window, answered \(results[1].answer)")
    }
}
