// `lhindex ask` on a terminal: the interactive session in a real pseudo-terminal, with the default model.
import Foundation
import XCTest
import LHTestSupport
@testable import LHIndexCLI

final class InteractiveAskTests: XCTestCase {
    /// The terminal's output from `offset` with carriage returns and terminal control sequences removed.
    func plain(_ text: String) -> String {
        text.replacingOccurrences(of: "\r", with: "")
            .replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
            .replacingOccurrences(of: "\u{1B}[()][0-9A-Za-z]", with: "", options: .regularExpression)
    }

    /// A session of `lhindex ask` on a terminal: banner; /help answered without the model; a question
    /// answered; Up and Return asking the previous question again; Ctrl-C stopping a long answer with the
    /// prompt back and the process alive; Ctrl-C at the prompt dropping the line; /bye exiting with 0; the
    /// history file (under LHINDEX_HOME) holding the entered lines.
    func testInteractiveSessionOnATerminal() throws {
        let model = try TestPaths.requireModel()
        let dir = TestTemporary.path("interactive")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let doc = dir + "/doc.txt", index = dir + "/doc.lhindex", home = dir + "/home"
        try "The river runs past the old mill.\nThe pass key is 4242.\nThe stone bridge was built long ago.\n"
            .write(toFile: doc, atomically: true, encoding: .utf8)
        let built = try BinaryRunner.run(["build", doc, "-o", index, "-m", model], timeout: 60)
        XCTAssertEqual(built.status, 0, built.err)

        let term = try PseudoTerminal(CLITests.binary.path, ["ask", index, "-m", model, "-n", "400"],
                                      environment: ["LHINDEX_HOME": home, "TERM": "xterm", "LHINDEX_MODEL": ""])
        defer { term.stop() }
        /// Waits for the next prompt (unless `seen`) and for libedit to take the terminal, then types `line`.
        func type(_ line: String, seen: Bool = false) throws {
            if !seen {
                try XCTUnwrap(term.waitFor("> ", timeout: 30), "no prompt before \(line.debugDescription):\n\(term.output)")
            }
            usleep(200_000)
            term.send(line)
        }

        let banner = try XCTUnwrap(term.waitFor("Type a question, /help for commands, /bye or Ctrl-D to quit", timeout: 30),
                                   term.output)
        XCTAssertTrue(plain(term.output(from: 0, to: banner)).contains("Asking 1 document (doc.txt), "), term.output)
        XCTAssertTrue(term.output.contains("with SmolLM2-135M-Instruct.Q4_1."), term.output)

        // /help lists the commands and goes to no model: the next prompt follows the help text directly.
        try type("/help\r")
        let helpStart = term.cursor
        try XCTUnwrap(term.waitFor("History: " + home + "/history", timeout: 10), term.output)
        let prompt = try XCTUnwrap(term.waitFor("> ", timeout: 10), term.output)
        let help = plain(term.output(from: helpStart, to: prompt))
        XCTAssertEqual(help, "/help\n" + SessionCommand.help(cite: false, history: home + "/history"))
        try type("/nonsense\r", seen: true)
        try XCTUnwrap(term.waitFor("unknown command /nonsense; /help lists the commands", timeout: 10), term.output)

        // A question, then Up and Return: the previous question is shown again and answered again.
        try type("What is the pass key?\r")
        try XCTUnwrap(term.waitFor("4242", timeout: 30), term.output)
        try type("\u{1B}[A")
        try XCTUnwrap(term.waitFor("What is the pass key?", timeout: 10), "Up did not recall the question:\n\(term.output)")
        term.send("\r")
        try XCTUnwrap(term.waitFor("4242", timeout: 30), term.output)

        // Ctrl-C during a long answer stops it; the prompt comes back and the process lives on.
        try type("Write a long story about a river.\r")
        try XCTUnwrap(term.waitFor("river.", timeout: 10), term.output)
        XCTAssertTrue(term.waitForBytes(term.cursor + 40, timeout: 30), "no answer streamed:\n\(term.output)")
        term.send("\u{03}")
        try XCTUnwrap(term.waitFor(" [stopped]", timeout: 20), "Ctrl-C did not stop the answer:\n\(term.output)")
        XCTAssertNotNil(term.waitFor("> ", timeout: 10), term.output)
        XCTAssertNil(term.status, "the process ended at Ctrl-C:\n\(term.output)")

        // Ctrl-C at the prompt drops the line being typed; /bye then exits with 0.
        usleep(200_000)
        term.send("not a question")
        try XCTUnwrap(term.waitFor("not a question", timeout: 10), term.output)
        term.send("\u{03}")
        try type("/bye\r")
        XCTAssertEqual(term.waitForExit(timeout: 20), 0, term.output)
        XCTAssertFalse(plain(term.output).contains("not a question/bye"), term.output)

        let history = try String(contentsOfFile: home + "/history", encoding: .utf8)
        XCTAssertEqual(history, "/help\n/nonsense\nWhat is the pass key?\nWrite a long story about a river.\n/bye\n")
    }

    /// Slash commands parse to commands (never questions), with one-line reasons for unknown ones.
    func testSessionCommandsParse() {
        XCTAssertNil(SessionCommand.parse("What is /etc?"))
        XCTAssertEqual(SessionCommand.parse("/bye"), .bye)
        XCTAssertEqual(SessionCommand.parse(" /QUIT "), .bye)
        XCTAssertEqual(SessionCommand.parse("/exit"), .bye)
        XCTAssertEqual(SessionCommand.parse("/help"), .help)
        XCTAssertEqual(SessionCommand.parse("/cite on"), .cite(true))
        XCTAssertEqual(SessionCommand.parse("/cite off"), .cite(false))
        XCTAssertEqual(SessionCommand.parse("/cite"), .cite(nil))
        XCTAssertEqual(SessionCommand.parse("/cite maybe"), .invalid("/cite takes on or off"))
        XCTAssertEqual(SessionCommand.parse("/clear"), .clear)
        XCTAssertEqual(SessionCommand.parse("/bye now"), .invalid("/bye takes no argument"))
        XCTAssertEqual(SessionCommand.parse("/frobnicate"), .invalid("unknown command /frobnicate; /help lists the commands"))
        for line in SessionCommand.help(cite: true, history: "/h").split(separator: "\n") {
            XCTAssertLessThanOrEqual(line.count, 100, String(line))
        }
    }

    /// The history file keeps the last lines: appended as entered, trimmed when it has grown past twice the bound.
    func testPromptHistoryIsBounded() throws {
        let path = TestTemporary.path("home") + "/history"
        let empty = PromptHistory(path: path, limit: 3)
        XCTAssertEqual(empty.entries, [])
        for i in 1...7 { empty.append("q\(i)") }
        XCTAssertEqual(PromptHistory(path: path, limit: 3).entries, ["q5", "q6", "q7"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "q5\nq6\nq7\n")
        PromptHistory(path: path, limit: 3).append("q8")
        XCTAssertEqual(PromptHistory(path: path, limit: 3).entries, ["q6", "q7", "q8"])
    }
}
