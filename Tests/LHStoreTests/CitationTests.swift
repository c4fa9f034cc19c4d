// Citations: excerpts cut at line or sentence boundaries, and on the default model a planted fact cited first.
import Foundation
import XCTest
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class CitationTests: XCTestCase {
    private func excerpt(_ s: String, _ r: Range<Int>, limit: Int = 200) -> String {
        CitationExcerpt.excerpt(Array(s.utf8), range: r, limit: limit)
    }

    func testExcerptStartsAtALineOrSentenceStartAndNeverCutsAWord() {
        let text = "alpha beta gamma.\nThe second line is here. And a sentence follows it without end"
        // A range starting mid-word in the first line starts at the next line.
        XCTAssertEqual(excerpt(text, 3..<text.utf8.count), "The second line is here. And a sentence follows it without end")
        // A range starting mid-sentence on a line starts at the next sentence.
        let mid = text.utf8.count - "line is here. And a sentence follows it without end".utf8.count
        XCTAssertEqual(excerpt(text, mid..<text.utf8.count), "And a sentence follows it without end")
        // A range ending inside a word drops that word and marks the cut.
        XCTAssertEqual(excerpt(text, 0..<(text.utf8.count - 2)), "alpha beta gamma. The second line is here. And a sentence follows it without …")
        // A long span ends at a sentence end within the limit when there is one past half of it.
        XCTAssertEqual(excerpt(text, 0..<text.utf8.count, limit: 50), "alpha beta gamma. The second line is here.")
        // Otherwise at a word end, marked.
        XCTAssertEqual(excerpt("one two three four five six", 0..<27, limit: 12), "one two …")
        XCTAssertEqual(excerpt("   \n  ", 0..<6), "")
    }

    /// On the default model, a fact planted in the middle of real text is the top citation of the question
    /// that asks for it.
    func testPlantedFactIsTheTopCitationOnTheDefaultModel() throws {
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        let policy = URL(fileURLWithPath: ModelLocatorPaths.home + "/texts/debian-policy-4.6.2.0.txt")
        guard let full = try? String(contentsOf: policy, encoding: .utf8) else {
            throw XCTSkip("the Debian Policy text is not in the cache (make text)")
        }
        var lines = full.split(separator: "\n", omittingEmptySubsequences: false).prefix(420).map(String.init)
        let at = 150
        lines.insert("The access code for the north server room is 43665.", at: at)
        let text = lines.joined(separator: "\n")
        let builder = try IndexBuilder(languageModel: lm, model: ModelFingerprint.identity(of: lm), settings: .standard)
        let bundle = StoreFixture.tempDir() + "/policy.lhx"
        _ = try builder.build(text: text, sourcePath: "policy.txt", bundle: bundle)
        let reader = try IndexReader(directory: bundle, languageModel: lm)
        let r = try reader.ask("What is the access code for the north server room?", maxTokens: 24, cite: true)
        XCTAssertTrue(r.answer.contains("43665"), r.answer)
        let top = try XCTUnwrap(r.citations?.first, "no citation for \(r.answer)")
        XCTAssertTrue((top.firstLine...top.lastLine).contains(at + 1), "\(top)")
        XCTAssertLessThan(top.chunk, reader.chunks.count - 2, "the fact sits far from the end")
        let shares = try XCTUnwrap(r.citations).map(\.weight)
        XCTAssertEqual(shares, shares.sorted(by: >))
        XCTAssertLessThanOrEqual(top.excerpt.count, 202)
    }
}

/// Where the cache of models and texts lives, as the command line finds it.
enum ModelLocatorPaths {
    static var home: String {
        ProcessInfo.processInfo.environment["LHINDEX_HOME"] ?? NSHomeDirectory() + "/.cache/lhindex"
    }
}
