// A base model's answer ends at its own next "Question:", and no part of that text is ever streamed.
import XCTest
import LHModel

final class StopTextTests: XCTestCase {
    func testStopsAtTheTextAndNeverShowsAPartOfIt() {
        var s = StopText(stop: "\nQuestion:")
        var shown = ""
        for piece in ["30", " days.", "\n", "\nQue", "st", "ion: what", " else?"] { shown += s.append(piece) }
        XCTAssertTrue(s.stopped)
        XCTAssertEqual(shown + s.finish(), "30 days.\n")
    }

    func testHeldTextIsReleasedWhenItIsNotTheStop() {
        var s = StopText(stop: "\nQuestion:")
        var shown = s.append("a\nQue")
        XCTAssertEqual(shown, "a", "the possible start of the stop is held back")
        shown += s.append("en Mary")
        XCTAssertEqual(shown, "a\nQueen Mary")
        shown += s.append("\n")
        XCTAssertFalse(s.stopped)
        XCTAssertEqual(shown + s.finish(), "a\nQueen Mary\n")
    }

    func testOnlyPlainTextModelsHaveAStop() {
        XCTAssertEqual(ChatTemplate.none.answerStop, "\nQuestion:")
        XCTAssertNil(ChatTemplate.gemma.answerStop)
        XCTAssertNil(ChatTemplate.chatML(defaultSystem: nil).answerStop)
    }
}
