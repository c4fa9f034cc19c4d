// The haystack documents: every fact planted once, spread through the document in the length budget, the
// same document for the same seed, answers scored as the task says.
import XCTest
@testable import LHEval
import LHEngine
import LHModel
import LHTestSupport

final class HaystackTaskTests: XCTestCase {
    func testEveryFactIsPlantedOnceAndSpreadWithinTheLength() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let text = (1...300).map { "Line \($0): packages must declare their dependencies in the control file.\n" }.joined()
        for kind in HaystackKind.allCases {
            for filler in [HaystackFiller.passkey, .text(text)] {
                let d = HaystackTask.document(kind: kind, filler: filler, length: 2048, seed: 3, tokenizer: lm.tokenizer)
                let tokens = lm.tokenizer.encode(d.text, parseSpecial: false).count
                XCTAssertLessThanOrEqual(tokens, 2048, "\(kind)")
                XCTAssertGreaterThan(tokens, 1800, "\(kind)")
                XCTAssertGreaterThanOrEqual(d.planted, 16)
                XCTAssertEqual(d.questions.count, kind == .values || kind == .vars ? 4 : 16, "\(kind)")
                for q in d.questions {
                    for e in q.expected {
                        let count = d.text.components(separatedBy: e).count - 1
                        // A vars name appears in its own sentence and in the next link's.
                        XCTAssertTrue(kind == .vars ? (1...2).contains(count) : count == 1, "\(kind): '\(e)' appears \(count) times")
                    }
                    XCTAssertTrue((0...1).contains(q.depth))
                    let utf8 = Array(d.text.utf8)
                    let needed = q.byteRanges.map { String(decoding: utf8[$0], as: UTF8.self) }
                    XCTAssertEqual(needed.count, kind == .values || kind == .vars ? 4 : 1)
                    XCTAssertTrue(q.expected.allSatisfy { e in needed.contains { $0.contains(e) } }, "\(kind): \(needed) / \(q.expected)")
                }
                // One sentence per question (keys, nolima): the questions' depths spread over the document.
                let depths = d.questions.map(\.depth).sorted()
                XCTAssertLessThan(depths.first!, 0.35, "\(kind): facts start early")
                if kind == .keys || kind == .nolima { XCTAssertGreaterThan(depths.last!, 0.65, "\(kind): and reach late") }
                let again = HaystackTask.document(kind: kind, filler: filler, length: 2048, seed: 3, tokenizer: lm.tokenizer)
                XCTAssertEqual(again.text, d.text, "\(kind): the same seed makes the same document")
                XCTAssertNotEqual(HaystackTask.document(kind: kind, filler: filler, length: 2048, seed: 4, tokenizer: lm.tokenizer).text, d.text)
            }
        }
    }

    /// Documents of consecutive seeds ask about different facts: no expected answer of seed s is one of seed
    /// s + 1's (the generator once seeded with SplitMix64's own step, and shared 15 of 16 facts between them).
    /// Kept indexes are found by a hash of their document settings in the name: settings that gain a question-time
    /// field must keep the names earlier versions gave (e1db148a: the standard settings with f16, 3433d4cb: with
    /// k5v4, as in the work directories of the many-fact runs of 2026-12-03 and 2026-12-04).
    func testIndexNamesOutliveNewQuestionSettings() {
        func name(_ p: KVPrecision) -> String {
            var s = LongHeadsSettings.standard
            s.precision = p
            s.answerAttentionLength = 4096
            return String(HaystackEvaluation.nameDescription(s.documentSettings).hashValueStable % 0xFFFF_FFFF, radix: 16)
        }
        XCTAssertEqual(name(.f16), "e1db148a")
        XCTAssertEqual(name(.k5v4), "3433d4cb")
    }

    func testConsecutiveSeedsPlantDifferentFacts() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        for kind in [HaystackKind.keys, .values, .vars] {   // nolima's answers are names from a short list
            let answers = (0..<3).map { seed in
                Set(HaystackTask.document(kind: kind, filler: .passkey, length: 1024, seed: seed, tokenizer: lm.tokenizer)
                    .questions.flatMap(\.expected))
            }
            for s in 0..<2 {
                // Five-digit numbers drawn at random: a shared one by chance is rare (16 · 16 / 90,000 per pair).
                XCTAssertLessThanOrEqual(answers[s].intersection(answers[s + 1]).count, 1, "\(kind) seeds \(s), \(s + 1)")
            }
        }
    }

    func testNoLiMaQuestionsShareNoWordWithTheirSentence() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let d = HaystackTask.document(kind: .nolima, filler: .passkey, length: 1024, seed: 1, tokenizer: lm.tokenizer)
        func words(_ s: String) -> Set<String> {
            Set(s.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init).filter { $0.count > 3 })
        }
        for q in d.questions {
            let sentence = d.text.components(separatedBy: "\n").flatMap { $0.components(separatedBy: ". ") }
                .first { $0.contains("Actually, \(q.expected[0]) lives") }!
            XCTAssertTrue(words(sentence).subtracting([q.expected[0].lowercased()]).isDisjoint(with: words(q.question)),
                          "\(sentence) / \(q.question)")
        }
    }

    func testScoringNeedsEveryExpectedValue() {
        let q = HaystackQuestion(question: "?", expected: ["12345", "67890"], depth: 0)
        XCTAssertTrue(q.isCorrect("They are 12345 and 67890."))
        XCTAssertFalse(q.isCorrect("They are 12345 and 6789."))
        XCTAssertFalse(q.isCorrect("123456 and 67890"))
        XCTAssertFalse(q.isCorrect("12345\n\nQuestion: and the other?\n\nAnswer: 67890"), "a base model's next answer does not count")
        let names = HaystackQuestion(question: "?", expected: ["QXKPD", "Yuki"], depth: 0)
        XCTAssertTrue(names.isCorrect("VAR qxkpd, then yuki"))
        XCTAssertFalse(names.isCorrect("VAR QXKP"))
    }
}
