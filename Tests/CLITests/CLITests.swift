// End-to-end runs of the built `lhindex` binary: help screens, exit codes, one-line errors, real output.
import Foundation
import XCTest
import LHTestSupport

final class CLITests: XCTestCase {
    struct Run { let status: Int32; let out: String; let err: String }

    /// The executable next to the test bundle (`swift test` builds it into the same products directory).
    static var binary: URL {
        var dir = Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("lhindex").path) {
            dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/release")
        }
        return dir.appendingPathComponent("lhindex")
    }

    func run(_ args: [String], env: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    func temp(_ name: String, _ data: Data) throws -> String {
        let url = TestTemporary.url(name)
        try data.write(to: url)
        return url.path
    }

    func testRootHelpListsCommands() throws {
        let r = try run(["--help"])
        XCTAssertEqual(r.status, 0)
        for c in ["generate", "perplexity", "help COMMAND"] { XCTAssertTrue(r.out.contains(c), r.out) }
        XCTAssertEqual(try run(["--version"]).out, "lhindex 0.1.0\n")
    }

    /// Help is wrapped: 80 columns when standard output is not a terminal, whatever COLUMNS says.
    func testEveryHelpScreenFitsEightyColumns() throws {
        for args in [["--help"], ["help", "build"], ["help", "ask"], ["help", "info"], ["help", "verify"], ["help", "generate"],
                     ["help", "perplexity"], ["help", "eval"], ["help", "bench"], ["help", "trace"]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 0, "\(args)")
            let wide = r.out.split(separator: "\n").filter { $0.count > 80 }
            XCTAssertEqual(wide, [], "\(args)")
        }
    }

    func testCommandHelpStatesDefaults() throws {
        let r = try run(["help", "generate"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("USAGE: lhindex generate"))
        XCTAssertTrue(r.out.contains("(default 64)"))
        XCTAssertEqual(try run(["perplexity", "--help"]).out, try run(["help", "perplexity"]).out)
    }

    func testUsageErrorsExit64WithOneLineReason() throws {
        for args in [["frobnicate"], ["generate"], ["generate", "-p", "x", "--temp", "hot"], ["perplexity"],
                     ["generate", "-p", "x", "--no-such-option"], ["bench", "--simd", "sse4"], []] {
            let r = try run(args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.err)")
            XCTAssertFalse(r.err.isEmpty)
        }
        XCTAssertEqual(try run(["generate", "-p", "x", "-n", "-3"]).err,
                       "lhindex generate: --n-predict must be an integer in 0...1000000, got '-3'\nRun 'lhindex help generate' for usage.\n")
    }

    func testBadModelFilesGiveOneLineErrors() throws {
        let notGGUF = try temp("model.gguf", Data("just some text".utf8))
        let tiny = try Data(contentsOf: URL(fileURLWithPath: try TinyModel.write()))
        let truncated = try temp("truncated.gguf", tiny.prefix(tiny.count / 2))
        let wrongArch = try TinyModel.write(architecture: "falcon")
        for (path, fragment) in [(notGGUF, "not a GGUF file"), (truncated, "outside the file"),
                                 (wrongArch, "architecture 'falcon'"), ("/no/such/model.gguf", "No such file")] {
            let r = try run(["generate", "-m", path, "-p", "hello"])
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertTrue(r.err.hasPrefix("lhindex: \(path): "), r.err)
            XCTAssertTrue(r.err.contains(fragment), r.err)
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err)
        }
    }

    func testTinyModelGeneratesDeterministically() throws {
        let tiny = try TinyModel.write()
        let a = try run(["generate", "-m", tiny, "-p", "abc", "-n", "8"])
        XCTAssertEqual(a.status, 0, a.err)
        XCTAssertTrue(a.out.hasPrefix("abc"))
        XCTAssertEqual(a.out, try run(["generate", "-m", tiny, "-p", "abc", "-n", "8"]).out)
        let sampled = try run(["generate", "-m", tiny, "-p", "abc", "-n", "8", "--temp", "1", "--seed", "5"])
        XCTAssertEqual(sampled.status, 0)
        XCTAssertEqual(sampled.out, try run(["generate", "-m", tiny, "-p", "abc", "-n", "8", "--temp", "1", "--seed", "5"]).out)
    }

    func testPerplexityRejectsBadTextFiles() throws {
        let tiny = try TinyModel.write()
        for (path, fragment) in [(try temp("bin.txt", Data([0x41, 0, 0x42])), "binary file"),
                                 (try temp("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9])), "not valid UTF-8"),
                                 (try temp("empty.txt", Data()), "the file is empty"),
                                 ("/no/such/file.txt", "No such file")] {
            let r = try run(["perplexity", path, "-m", tiny])
            XCTAssertEqual(r.status, 1, r.err)
            XCTAssertTrue(r.err.contains(path) && r.err.contains(fragment), r.err)
        }
    }

    func testGenerateWithDefaultModelSaysParis() throws {
        let r = try run(["generate", "-m", try TestPaths.requireModel(), "-p", "The capital of France is", "-n", "4"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("The capital of France is Paris."), r.out)
    }

    func testPerplexityJSONWithDefaultModel() throws {
        let text = try String(contentsOf: TestPaths.golden.appendingPathComponent("ppl_text.txt"), encoding: .utf8)
        let file = try temp("ppl.txt", Data(text.prefix(3000).utf8))
        let r = try run(["perplexity", file, "-m", try TestPaths.requireModel(), "--ctx", "256", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let ppl = obj["perplexity"] as! Double
        XCTAssertGreaterThan(ppl, 5)
        XCTAssertLessThan(ppl, 60)
        XCTAssertGreaterThan(obj["tokens"] as! Int, 512)
    }
}
