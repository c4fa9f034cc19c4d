// Questions from pipes (-f), control characters in file names, and a tight 'ulimit -v': one-line outcomes, never a hang or abort.
import Foundation
import XCTest
import LHTestSupport

final class InputEdgeTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 17)

    /// A bundle of a short document built with the tiny model.
    func bundle() throws -> String {
        let doc = TestTemporary.path("doc.txt"), out = TestTemporary.path("out")
        try Data(String(repeating: "The river runs past the stone. ", count: 10).utf8).write(to: URL(fileURLWithPath: doc))
        let r = try BinaryRunner.run(["build", doc, "-m", tiny, "-o", out, "--chunk-size", "16", "--attn-length", "64"])
        XCTAssertEqual(r.status, 0, r.err)
        return out + "/" + (doc as NSString).lastPathComponent + ".lhx"
    }

    /// Runs `script` with bash (`$0` the binary, then `args` as `$1`, `$2`, ...), stopped after `timeout` seconds.
    func bash(_ script: String, _ args: [String], timeout: Double = 60) throws -> BinaryRun {
        try BinaryRunner.run(executable: URL(fileURLWithPath: "/bin/bash"),
                             ["-c", script, CLITests.binary.standardizedFileURL.path] + args, timeout: timeout)
    }

    func testQuestionsFromAPipeOrStandardInputAreRead() throws {
        let b = try bundle()
        let substituted = try bash(#""$0" ask "$1" -m "$2" -n 2 --json -f <(printf 'Where is the river?\nWhat is the stone?\n')"#, [b, tiny])
        XCTAssertFalse(substituted.timedOut)
        XCTAssertEqual(substituted.status, 0, substituted.err)
        XCTAssertEqual(substituted.out.split(separator: "\n").count, 2, substituted.out)
        XCTAssertTrue(substituted.out.contains(#""question":"What is the stone?""#), substituted.out)
        let stdin = try BinaryRunner.run(["ask", b, "-m", tiny, "-n", "2", "--json", "-f", "/dev/stdin"], stdin: "Where is the river?\n", timeout: 60)
        XCTAssertEqual(stdin.status, 0, stdin.err)
        XCTAssertTrue(stdin.out.contains(#""question":"Where is the river?""#), stdin.out)
        // A directory is still refused, in one line.
        let dir = try BinaryRunner.run(["ask", b, "-m", tiny, "-f", NSTemporaryDirectory()], timeout: 60)
        XCTAssertEqual(dir.status, 1)
        XCTAssertTrue(dir.err.contains("is a directory"), dir.err)
        XCTAssertEqual(dir.err.filter { $0 == "\n" }.count, 1, dir.err)
    }

    func testControlCharactersInFileNamesAreEscapedInMessages() throws {
        let dir = TestTemporary.path("corpus")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data([0x7F, 0x45, 0, 1]).write(to: URL(fileURLWithPath: dir + "/bad\nname\u{1B}[31m.bin"))
        try Data("Some text about a river.\n".utf8).write(to: URL(fileURLWithPath: dir + "/ok.txt"))
        let built = try BinaryRunner.run(["build", dir, "-m", tiny, "--chunk-size", "16", "--attn-length", "64"])
        XCTAssertEqual(built.status, 0, built.err)
        let skip = built.err.split(separator: "\n").filter { $0.hasPrefix("skip ") }
        XCTAssertEqual(skip.count, 1, built.err)
        XCTAssertTrue(skip.first?.hasSuffix(#"/bad\nname\x1b[31m.bin: binary file (contains NUL bytes), expected UTF-8 text"#) == true, built.err)
        XCTAssertFalse(built.err.contains("\u{1B}"), built.err)
        // An error naming a missing bundle with a newline in its name stays one line.
        let missing = try BinaryRunner.run(["ask", dir + "/no\nsuch.lhx", "q", "-m", tiny], timeout: 60)
        XCTAssertEqual(missing.status, 1, missing.err)
        XCTAssertEqual(missing.err.filter { $0 == "\n" }.count, 1, missing.err)
        XCTAssertTrue(missing.err.contains(#"no\nsuch.lhx"#), missing.err)
    }

    /// Under 'ulimit -v' the process starts (OpenBLAS's worker threads, which retried a failed 128 MB
    /// allocation forever, are not started) and a block cache that cannot fit is refused before any work.
    func testATightAddressSpaceLimitGivesOneLineErrors() throws {
        // AddressSanitizer (make test-asan) maps terabytes of shadow memory: no binary starts under 'ulimit -v'.
        try XCTSkipIf(ProcessInfo.processInfo.environment["ASAN_OPTIONS"] != nil, "ulimit -v cannot apply under AddressSanitizer")
        let b = try bundle()
        let version = try bash(#"ulimit -v 200000 && exec "$0" --version"#, [], timeout: 30)
        XCTAssertFalse(version.timedOut, "hung under ulimit -v 200000")
        XCTAssertEqual(version.status, 0, version.err)
        let ask = try bash(#"ulimit -v 250000 && exec "$0" ask "$1" "Where is the river?" -m "$2" -n 2 --cache-mb 1024"#, [b, tiny])
        XCTAssertFalse(ask.timedOut)
        XCTAssertEqual(ask.status, 1, ask.err)
        XCTAssertTrue(ask.err.hasPrefix("lhindex: out of memory: could not allocate 1088 MB for the block cache"), ask.err)
        XCTAssertEqual(ask.err.filter { $0 == "\n" }.count, 1, ask.err)
        // With room for the cache it answers.
        let fits = try bash(#"ulimit -v 250000 && exec "$0" ask "$1" "Where is the river?" -m "$2" -n 2 --cache-mb 16"#, [b, tiny])
        XCTAssertEqual(fits.status, 0, fits.err)
    }
}
