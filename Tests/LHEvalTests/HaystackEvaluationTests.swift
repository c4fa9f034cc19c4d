// The in-memory configurations of the haystack evaluation: every question continues the document as it was.
import Foundation
import XCTest
import LHEngine
@testable import LHEval
import LHStore
import LHModel
import LHTestSupport

final class HaystackEvaluationTests: XCTestCase {
    /// The sliding-window baseline prefills a document once and asks each question after it. A question whose
    /// tokens complete the document's open chunk seals that chunk's keys (k5v4, k4v4); the next question must
    /// still find the rows the document left, so every answer is the one the question gets when asked alone.
    /// (Before the fix, every question after the first read negated keys and answered with garbage.)
    func testEachWindowQuestionContinuesTheDocumentAsItWas() throws {
        // The default model: a random tiny model answers every question with the same newlines.
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let filler = String(repeating: "The grass is green. The sky is blue. The sun is yellow. Here we go. ", count: 12)
        let words = filler + "The pass key of room 12 is 43521. The pass key of room 7 is 18230. " + filler + "Remember them."
        let questions = ["What is the pass key of room 12?", "What is the pass key of room 7?"].map {
            HaystackQuestion(question: $0, expected: ["43521"], depth: 0.5)
        }
        let document = HaystackDocument(kind: .keys, text: words, questions: questions, planted: 2)
        let tokens = TokenizedDocument(text: words, languageModel: lm).tokens.count
        XCTAssertNotEqual(tokens % 32, 0, "the document ends inside a chunk, which the questions complete")
        for precision in [KVPrecision.k5v4, .k4v4] {
            let settings = LongHeadsSettings(chunkSize: 32, attentionLength: 128, precision: precision)
            let evaluation = HaystackEvaluation(languageModel: lm, sampling: SamplingOptions(temperature: 0), workDirectory: TestTemporary.path("work"),
                                                answerTokens: 12)
            let window = SweepConfiguration(name: "window", mode: .window, settings: settings)
            let together = try evaluation.run(document, length: tokens, seed: 0, configuration: window).map(\.answer)
            for (i, q) in questions.enumerated() {
                var alone = document
                alone.questions = [q]
                let answer = try evaluation.run(alone, length: tokens, seed: 0, configuration: window)[0].answer
                XCTAssertEqual(together[i], answer, "\(precision): question \(i) after \(i) others")
            }
        }
    }
}
