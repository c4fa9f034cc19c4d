// Two builds of one output directory: the second is refused in one line naming the first (or waits with --wait).
import Foundation
import XCTest
import LHTestSupport

final class OutputLockTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    func testASecondBuildOfTheSameOutputIsRefusedAndCanWait() throws {
        let dir = TestTemporary.path("locked")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let words = ["alpha", "beta", "river", "stone", "light"]
        var text = ""
        for i in 0..<12_000 { text += words[(i * 7) % 5]; text += i % 13 == 0 ? "\n" : " " }
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/doc.txt"))
        let out = dir + "/out", args = ["build", dir + "/doc.txt", "-o", out, "-m", tiny] + small
        let (first, firstErr) = try BinaryRunner.start(args)
        // Once the first build has written its pid into the lock, stop it where it is (mid-build).
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOfFile: out + "/.lock", encoding: .utf8))?.hasPrefix("pid \(first.processIdentifier) ") != true {
            XCTAssertTrue(first.isRunning, "the first build finished before it could be observed holding the lock")
            guard first.isRunning, Date() < deadline else { return }
            usleep(2_000)
        }
        kill(first.processIdentifier, SIGSTOP)
        defer { kill(first.processIdentifier, SIGCONT) }
        let partial = FileManager.default.fileExists(atPath: out + "/doc.txt.lhx.partial")

        let second = try BinaryRunner.run(args, timeout: 60)
        XCTAssertEqual(second.status, 1, second.err)
        XCTAssertTrue(second.err.hasPrefix("lhindex: \(out): another build is writing here (pid \(first.processIdentifier) started "), second.err)
        XCTAssertTrue(second.err.hasSuffix("); wait for it to finish, or pass --wait\n"), second.err)
        XCTAssertEqual(second.err.filter { $0 == "\n" }.count, 1, second.err)
        XCTAssertEqual(FileManager.default.fileExists(atPath: out + "/doc.txt.lhx.partial"), partial, "the second build touched the first one's partial bundle")

        // With --wait, a third build waits for the first, then finds its index current.
        let (third, thirdErr) = try BinaryRunner.start(args + ["--wait"])
        usleep(500_000)
        XCTAssertTrue(third.isRunning, "--wait did not wait")
        kill(first.processIdentifier, SIGCONT)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0, String(decoding: firstErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        third.waitUntilExit()
        let log = String(decoding: thirdErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(third.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("waiting for \(out): another build is writing there (pid \(first.processIdentifier) started "), log)
        XCTAssertTrue(log.contains("current \(out)/doc.txt.lhx"), log)
    }
}
