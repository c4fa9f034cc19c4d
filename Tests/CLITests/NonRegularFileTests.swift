// A FIFO (or a directory) where lhindex expects a file is refused or skipped in one line, never waited on.
import Foundation
import XCTest
import LHTestSupport

final class NonRegularFileTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    func words(_ n: Int) -> String { (0..<n).map { ["alpha", "beta", "river"][$0 % 3] }.joined(separator: " ") }

    func assertOneLineRefusal(_ r: BinaryRun, _ path: String, _ kind: String = "a FIFO", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.timedOut, "blocked on \(path)", file: file, line: line)
        XCTAssertEqual(r.status, 1, r.err, file: file, line: line)
        XCTAssertTrue(r.err.contains("\(path): not a regular file (\(kind))"), r.err, file: file, line: line)
        XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err, file: file, line: line)
    }

    func testFIFOInACorpusIsSkippedWithAWarning() throws {
        let dir = TestTemporary.path("fifo-corpus")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(words(40).utf8).write(to: URL(fileURLWithPath: dir + "/a.txt"))
        BinaryRunner.mkfifo(dir + "/p.txt")
        let r = try BinaryRunner.run(["build", dir, "-m", tiny] + small, timeout: 60)
        XCTAssertFalse(r.timedOut, "build blocked on the FIFO")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("skip \(dir)/p.txt: not a regular file (a FIFO)\n"), r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + ".lhindex/a.txt.lhx/index.sqlite"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".lhindex/p.txt.lhx"))
    }

    func testExplicitFIFOsAreOneLineErrors() throws {
        let fifo = TestTemporary.path("explicit.txt")
        BinaryRunner.mkfifo(fifo)
        assertOneLineRefusal(try BinaryRunner.run(["build", fifo, "-m", tiny] + small, timeout: 30), fifo)
        assertOneLineRefusal(try BinaryRunner.run(["generate", "-m", fifo, "-p", "abc", "-n", "2"], timeout: 30), fifo)
        assertOneLineRefusal(try BinaryRunner.run(["perplexity", fifo, "-m", tiny], timeout: 30), fifo)
        assertOneLineRefusal(try BinaryRunner.run(["eval", "passkey", "-m", tiny, "--lengths", "256", "--trials", "1", "--trials-out", fifo] + small, timeout: 30), fifo)
        let dir = TestTemporary.path("model-dir")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        assertOneLineRefusal(try BinaryRunner.run(["generate", "-m", dir, "-p", "abc", "-n", "2"], timeout: 30), dir, "a directory")
    }

    /// Every file of a bundle replaced by a FIFO: ask, verify and info refuse it instead of blocking.
    func testFIFOInABundleIsRefused() throws {
        let dir = TestTemporary.path("fifo-bundle")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(words(60).utf8).write(to: URL(fileURLWithPath: dir + "/doc.txt"))
        let b = try BinaryRunner.run(["build", dir + "/doc.txt", "-o", dir + "/out", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(b.status, 0, b.err)
        let bundle = dir + "/out/doc.txt.lhx"
        for f in ["index.sqlite", "kv.seek", "kv.zst", "summaries.f32", "bounds.f32", "tail.zst", "source.zst"] {
            let copy = dir + "/copy-\(f).lhx"
            try FileManager.default.copyItem(atPath: bundle, toPath: copy)
            try FileManager.default.removeItem(atPath: copy + "/" + f)
            BinaryRunner.mkfifo(copy + "/" + f)
            let ask = try BinaryRunner.run(["ask", copy, "river?", "-m", tiny, "-n", "2", "--cite"], timeout: 30)
            XCTAssertFalse(ask.timedOut, "ask blocked on \(f)")
            XCTAssertEqual(ask.status, 1, "\(f): \(ask.err)")
            XCTAssertTrue(ask.err.contains(copy + "/" + f + ": not a regular file (a FIFO)"), "\(f): \(ask.err)")
            let verify = try BinaryRunner.run(["verify", copy], timeout: 30)
            XCTAssertFalse(verify.timedOut, "verify blocked on \(f)")
            XCTAssertEqual(verify.status, 1, "\(f): \(verify.err)")
            XCTAssertTrue(verify.err.contains(copy + "/" + f + ": not a regular file (a FIFO)"), "\(f): \(verify.err)")
            XCTAssertFalse(try BinaryRunner.run(["info", copy], timeout: 30).timedOut, "info blocked on \(f)")
        }
        // Questions from a FIFO given with -f are read, not refused: a stream the user gave on purpose
        // (InputEdgeTests.testQuestionsFromAPipeOrStandardInputAreRead).
    }
}
