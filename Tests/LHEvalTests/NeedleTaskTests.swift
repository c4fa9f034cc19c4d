// The needle-in-real-text prompt: shape of `ask`, the fact planted once, its token span, the length budget.
import XCTest
@testable import LHEval
import LHEngine
import LHModel
import LHTestSupport

final class NeedleTaskTests: XCTestCase {
    func testPromptPlantsTheFactOnceInsideTheDocument() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let text = (1...400).map { "Line \($0): packages must declare their dependencies in the control file.\n" }.joined()
        for seed in 0..<4 {
            let item = NeedleTask.item(text: text, length: 2048, seed: seed, languageModel: lm)
            let prompt = lm.tokenizer.decode(item.tokens)
            XCTAssertLessThanOrEqual(item.tokens.count, 2048)
            XCTAssertGreaterThan(item.tokens.count, 1900)
            XCTAssertTrue(prompt.hasPrefix(lm.chatTemplate.userPrefix()))
            XCTAssertTrue(prompt.hasSuffix(lm.chatTemplate.assistantPrefix))
            XCTAssertEqual(prompt.components(separatedBy: String(item.key)).count, 2, "the key appears once")
            let needle = lm.tokenizer.decode(Array(item.tokens[item.needleTokens]))
            XCTAssertTrue(needle.contains(String(item.key)), needle)
            XCTAssertLessThan(item.needleTokens.upperBound, item.documentTokens)
            let question = lm.tokenizer.decode(Array(item.tokens[item.documentTokens...]))
            XCTAssertTrue(question.hasPrefix("\n\nQuestion: "), question)
            XCTAssertFalse(question.contains(String(item.key)))
        }
    }
}
