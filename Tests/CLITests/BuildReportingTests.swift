// What `build` says while it works and when it ends: progress lines, --quiet, --json, Ctrl-C; and the help
// screens it and the other commands show.
import Foundation
import XCTest
import LHTestSupport

final class BuildReportingTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 23)
    /// Chunks of 64 keep the frame writes few; the tiny model reads one token per byte.
    let settings = ["--chunk-size", "64", "--attn-length", "256"]

    func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// About `bytes` bytes (so as many tokens) of plain text.
    func text(_ bytes: Int) -> String {
        String(String(repeating: "The river runs past the old stone mill. ", count: bytes / 40 + 1).prefix(bytes))
    }

    func testQuietPrintsNothingOnSuccessAndTheErrorOnFailure() throws {
        let dir = TestTemporary.path("quiet")
        try write(text(600), dir + "/c/a.txt")
        let ok = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny, "-q"] + settings, timeout: 60)
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertEqual(ok.out, "")
        XCTAssertEqual(ok.err, "")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/a.txt.lhx/index.sqlite"))
        // The same build without -q narrates: the header, the document, the summary.
        let loud = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny] + settings, timeout: 60)
        XCTAssertEqual(loud.status, 0, loud.err)
        for words in ["building 1 document into", "chunks of 64 tokens", "current \(dir)/out/a.txt.lhx", "done: 0 built, 1 current"] {
            XCTAssertTrue(loud.err.contains(words), loud.err)
        }
        // A failure still says why.
        try write("in the way", dir + "/blocked")
        let bad = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/blocked", "-m", tiny, "--quiet"] + settings, timeout: 60)
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.out, "")
        XCTAssertTrue(bad.err.contains("error \(dir)/c/a.txt: \(dir)/blocked: exists and is not a directory"), bad.err)
        XCTAssertFalse(bad.err.contains("done:"), bad.err)
    }

    func testJSONIsOneSnakeCaseObjectWithDocumentsAndTotals() throws {
        let dir = TestTemporary.path("json")
        try write(text(600), dir + "/c/a.txt")
        try write("", dir + "/c/empty.txt")
        let r = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny, "--json"] + settings, timeout: 60)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.filter { $0 == "\n" }.count, 1, r.out)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        XCTAssertEqual(object["output_directories"] as? [String], [dir + "/out"])
        XCTAssertEqual(object["model_file"] as? String, tiny)
        XCTAssertNotNil(object["model"] as? String)
        let documents = try XCTUnwrap(object["documents"] as? [[String: Any]])
        let a = try XCTUnwrap(documents.first { $0["name"] as? String == dir + "/c/a.txt" }, "\(documents)")
        XCTAssertEqual(a["status"] as? String, "built")
        XCTAssertGreaterThanOrEqual(a["tokens"] as? Int ?? 0, 600)   // the text, and the template's tokens
        XCTAssertGreaterThan(a["bytes"] as? Int ?? 0, 0)
        XCTAssertNotNil(a["seconds"] as? Double)
        let empty = try XCTUnwrap(documents.first { $0["name"] as? String == dir + "/c/empty.txt" }, "\(documents)")
        XCTAssertEqual(empty["status"] as? String, "skipped")
        let totals = try XCTUnwrap(object["totals"] as? [String: Any])
        XCTAssertEqual(totals["built"] as? Int, 1)
        XCTAssertEqual(totals["skipped"] as? Int, 1)
        XCTAssertEqual(totals["failed"] as? Int, 0)
        XCTAssertGreaterThan(totals["bytes"] as? Int ?? 0, 0)
        // Errors and skips stay on standard error; the narration does not.
        XCTAssertTrue(r.err.contains("skip \(dir)/c/empty.txt"), r.err)
        XCTAssertFalse(r.err.contains("done:") || r.err.contains("building "), r.err)
        XCTAssertEqual(try BinaryRunner.run(["build", dir + "/c", "--json", "-q"]).status, 64)
    }

    /// Without a terminal, a build that takes more than a second prints a progress line with tokens, a rate and
    /// the one estimate of the time left, and no `\r`.
    func testProgressShowsInALogWithinTheFirstSeconds() throws {
        let dir = TestTemporary.path("progress")
        try write(text(300), dir + "/c/a.txt")
        try write(text(60_000), dir + "/c/b.txt")
        let r = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny] + settings, timeout: 300)
        XCTAssertEqual(r.status, 0, r.err)
        let seconds = try XCTUnwrap(r.err.split(separator: "\n").first { $0.hasPrefix("done:") }
            .flatMap { Double($0.split(separator: " ").dropLast().last ?? "") }, r.err)
        guard seconds > 1.5 else { throw XCTSkip("the build took \(seconds) s, too fast to show progress") }
        let progress = r.err.split(separator: "\n").filter { $0.hasPrefix("[") }
        XCTAssertFalse(progress.isEmpty, r.err)
        XCTAssertTrue(progress.allSatisfy { $0.contains(" · all ") && ($0.contains(" left") || $0.contains("estimating")) }, "\(progress)")
        XCTAssertFalse(r.err.contains("\r"), r.err)
        XCTAssertFalse(r.err.contains("ETA"), r.err)   // one estimate, in words
    }

    /// Ctrl-C stops the build at once with a line saying it resumes, exit status 130; the next run completes it and
    /// the index verifies.
    func testSIGINTStopsWithAMessageAndTheNextBuildResumes() throws {
        let dir = TestTemporary.path("sigint")
        try write(text(300), dir + "/c/a.txt")
        try write(text(200_000), dir + "/c/b.txt")
        let args = ["build", dir + "/c", "-o", dir + "/out", "-m", tiny] + settings
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var data = Data()
            var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
        }
        let collected = Collected()
        let (p, err) = try BinaryRunner.start(args)
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            collected.lock.withLock { collected.data.append(d) }
        }
        // Wait for the first document to be built and the second to be under way.
        let deadline = Date().addingTimeInterval(120)
        while !collected.text.contains("built \(dir)/out/a.txt.lhx"), p.isRunning, Date() < deadline { usleep(50_000) }
        usleep(1_500_000)
        XCTAssertTrue(p.isRunning, "the build ended before it could be interrupted: \(collected.text)")
        let sent = Date()
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5, "SIGINT did not stop the build promptly")
        err.fileHandleForReading.readabilityHandler = nil
        let stopped = collected.text + String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 130, stopped)
        XCTAssertTrue(stopped.hasSuffix("lhindex build: stopped; run the same command again to resume where it left off\n"), stopped)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/b.txt.lhx"))
        // The next run keeps a, finishes b (from its last committed batch when it had one), and both verify.
        let again = try BinaryRunner.run(args, timeout: 600)
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("current \(dir)/out/a.txt.lhx"), again.err)
        XCTAssertTrue(again.err.contains("built \(dir)/out/b.txt.lhx"), again.err)
        for doc in ["a", "b"] {
            let v = try BinaryRunner.run(["verify", dir + "/out/\(doc).txt.lhx"], timeout: 120)
            XCTAssertEqual(v.status, 0, "\(doc): \(v.out) \(v.err)")
        }
    }

    /// Every help screen, `help settings` included, fits 100 columns (80 here: standard output is no terminal).
    func testEveryHelpScreenFitsAHundredColumns() throws {
        for args in [["--help"], ["help", "settings"]] + CompletionTests.commands.map({ ["help", $0] }) {
            let r = try BinaryRunner.run(args)
            XCTAssertEqual(r.status, 0, "\(args)")
            XCTAssertFalse(r.out.isEmpty, "\(args)")
            XCTAssertEqual(r.out.split(separator: "\n").filter { $0.count > 100 }, [], "\(args)")
        }
    }

    /// `build --help` lists document settings, not question-time ones or research internals; `ask --help` lists
    /// question settings; `help settings` lists all of them; both point to it. Advanced settings still work.
    func testHelpGroupsSettingsAndLeavesAdvancedOnesToHelpSettings() throws {
        let build = try BinaryRunner.run(["build", "--help"]).out
        for shown in ["DOCUMENT SETTINGS", "--chunk-size", "--kv", "--quiet", "--json", "Advanced settings: lhindex help settings"] {
            XCTAssertTrue(build.contains(shown), shown)
        }
        for hidden in ["--question-length", "--question-local", "--question-scoring", "--representatives", "--scoring", "(README)"] {
            XCTAssertFalse(build.contains(hidden), hidden)
        }
        let ask = try BinaryRunner.run(["help", "ask"]).out
        for shown in ["QUESTION SETTINGS", "--question-length", "Advanced settings: lhindex help settings"] {
            XCTAssertTrue(ask.contains(shown), shown)
        }
        XCTAssertFalse(ask.contains("--question-scoring"))
        XCTAssertFalse(ask.contains("--chunk-size"))
        let topic = try BinaryRunner.run(["help", "settings"]).out
        for option in ["--chunk-size", "--variant", "--representatives", "--question-scoring", "--question-per-kv-head"] {
            XCTAssertTrue(topic.contains(option), option)
        }
        XCTAssertFalse(topic.contains("(README)") || topic.contains("lost a"), topic)
        XCTAssertTrue(try BinaryRunner.run(["--help"]).out.contains("help settings"))
        // Hidden from help, still accepted.
        let dir = TestTemporary.path("advanced")
        try write(text(300), dir + "/a.txt")
        let advanced = ["--sinks", "1", "--question-local", "1"]
        let r = try BinaryRunner.run(["build", dir + "/a.txt", "-o", dir + "/out", "-m", tiny] + advanced + settings, timeout: 60)
        XCTAssertEqual(r.status, 0, r.err)
    }
}
