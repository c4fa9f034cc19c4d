// The fuzz seed corpus (and any crash a fuzz run found, kept in Fixtures/fuzz) replays through each target without a crash.
import Foundation
import XCTest

final class FuzzReplayTests: XCTestCase {
    func testEverySeedAndKeptCrashReplaysCleanly() throws {
        let fuzz = CLITests.binary.deletingLastPathComponent().appendingPathComponent("lhindex-fuzz")
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fixtures/fuzz").standardized
        for target in ["gguf", "tokenizer", "lhx"] {
            let dir = fixtures.appendingPathComponent(target).path
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
            XCTAssertFalse(files.isEmpty, target)
            let p = Process()
            p.executableURL = fuzz
            p.arguments = [target] + files
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(target): \(text)")
            XCTAssertEqual(text.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count, files.count, text)
        }
    }
}
