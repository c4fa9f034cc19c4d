// End-to-end runs of `lhindex build`, `ask`, `info` and `verify` on the tiny model.
import Foundation
import XCTest
import LHTestSupport

final class IndexCLITests: XCTestCase {
    struct Run { let status: Int32; let out: String; let err: String }

    func run(_ args: [String], stdin: String? = nil) throws -> Run {
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// A corpus directory: two text documents (one nested), a binary file and an empty one.
    func corpus() throws -> String {
        let dir = TestTemporary.url("corpus")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let words = (0..<120).map { ["alpha", "beta", "river", "stone", "light"][$0 % 5] + ($0 % 11 == 0 ? "\n" : " ") }.joined()
        try Data(words.utf8).write(to: dir.appendingPathComponent("a.txt"))
        try Data(("The pass key is 4242.\n" + words).utf8).write(to: dir.appendingPathComponent("sub/b.md"))
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 1, 2]).write(to: dir.appendingPathComponent("tool.bin"))
        try Data().write(to: dir.appendingPathComponent("empty.txt"))
        return dir.path
    }

    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    /// `ask` takes a corpus directory, several bundles, or one: a corpus of one document answers exactly as
    /// that bundle; the arguments after the last index are questions (they used to be asked of the first
    /// bundle as questions); citations name the document.
    func testAskACorpus() throws {
        let dir = try corpus()
        XCTAssertEqual(try run(["build", dir, "-m", tiny] + small).status, 0)
        let out = dir + ".lhindex", q = "What is the pass key?"
        let one = TestTemporary.path("one")
        try FileManager.default.createDirectory(atPath: one, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: out + "/sub/b.md.lhx", toPath: one + "/b.md.lhx")
        let bundle = try run(["ask", one + "/b.md.lhx", q, "-m", tiny, "-n", "12", "--json", "--cite", "--cite-min", "0"])
        let corpusOfOne = try run(["ask", one, q, "-m", tiny, "-n", "12", "--json", "--cite", "--cite-min", "0"])
        XCTAssertEqual(bundle.status, 0, bundle.err)
        /// The answer object without its timings and cache counters (two threads may both miss one block).
        func untimed(_ json: String) throws -> NSDictionary {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return o.filter { !$0.key.contains("seconds") && $0.key != "cache" } as NSDictionary
        }
        XCTAssertEqual(try untimed(corpusOfOne.out), try untimed(bundle.out))
        // The whole corpus, as a directory and as its bundles one by one (the shell's expansion of *.lhx).
        let whole = try run(["ask", out, q, "Where is the river?", "-m", tiny, "-n", "12", "--json", "--cite", "--cite-min", "0"])
        XCTAssertEqual(whole.status, 0, whole.err)
        let answers = whole.out.split(separator: "\n")
        XCTAssertEqual(answers.count, 2, whole.out)
        XCTAssertTrue(whole.out.contains("\"document\":\""), whole.out)
        let listed = try run(["ask", out + "/a.txt.lhx", out + "/sub/b.md.lhx", q, "Where is the river?", "-m", tiny, "-n", "12", "--json", "--cite", "--cite-min", "0"])
        XCTAssertEqual(listed.status, 0, listed.err)
        XCTAssertEqual(listed.out.split(separator: "\n").count, 2, listed.out)
        XCTAssertFalse(listed.out.contains("\"question\":\"\(out)"), listed.out)
        // A directory without bundles is a one-line error.
        let none = TestTemporary.path("none")
        try FileManager.default.createDirectory(atPath: none, withIntermediateDirectories: true)
        let r = try run(["ask", none, q, "-m", tiny])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("no .lhx index found"), r.err)
    }

    /// A corpus keeps its settings: a plain build reuses them and rebuilds only a changed document; other
    /// options rebuild and say why; an index whose document is gone is reported, and removed with --prune;
    /// every build ends with a summary and the next command.
    func testCorpusSettingsStickAndGoneDocumentsAreReported() throws {
        let dir = try corpus(), out = dir + ".lhindex"
        let first = try run(["build", dir, "-m", tiny, "--kv", "int8"] + small)
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertTrue(first.err.contains("done: 2 built, 0 current, 2 skipped, 0 failed"), first.err)
        XCTAssertTrue(first.err.contains("next: lhindex ask \(out) "), first.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/corpus.json"))
        // A plain build after one file changed: the recorded settings, one document rebuilt.
        try Data("The pass key is 777.\nalpha beta river\n".utf8).write(to: URL(fileURLWithPath: dir + "/a.txt"))
        let plain = try run(["build", dir, "-m", tiny])
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertTrue(plain.err.contains("using the settings \(out) was built with"), plain.err)
        XCTAssertTrue(plain.err.contains("built \(out)/a.txt.lhx") && plain.err.contains("current \(out)/sub/b.md.lhx"), plain.err)
        let info = try run(["info", out + "/a.txt.lhx", "--json"])
        XCTAssertTrue(info.out.contains("int8"), info.out)
        // Another document setting: everything is rebuilt, and a line says why.
        let other = try run(["build", dir, "-m", tiny, "--kv", "f16"] + small)
        XCTAssertEqual(other.status, 0, other.err)
        XCTAssertTrue(other.err.contains("was built with other settings (precision: int8, now f16)"), other.err)
        XCTAssertTrue(other.err.contains("done: 2 built, 0 current"), other.err)
        // A document removed: reported, then pruned.
        try FileManager.default.removeItem(atPath: dir + "/sub/b.md")
        let gone = try run(["build", dir, "-m", tiny])
        XCTAssertEqual(gone.status, 0, gone.err)
        XCTAssertTrue(gone.err.contains("gone \(out)/sub/b.md.lhx"), gone.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/sub/b.md.lhx"))
        let pruned = try run(["build", dir, "-m", tiny, "--prune"])
        XCTAssertEqual(pruned.status, 0, pruned.err)
        XCTAssertTrue(pruned.err.contains("removed \(out)/sub/b.md.lhx"), pruned.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/sub/b.md.lhx"))
    }

    func testBuildAskInfoVerify() throws {
        let dir = try corpus()
        let b = try run(["build", dir, "-m", tiny] + small)
        XCTAssertEqual(b.status, 0, b.err)
        XCTAssertTrue(b.err.contains("skip \(dir)/tool.bin: binary file"), b.err)
        XCTAssertTrue(b.err.contains("skip \(dir)/empty.txt: the file is empty"), b.err)
        XCTAssertTrue(b.err.contains("built \(dir).lhindex/sub/b.md.lhx"), b.err)
        let doc = dir + ".lhindex/sub/b.md.lhx"
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + ".lhindex/a.txt.lhx/kv.zst"))
        // A second build skips current documents.
        let again = try run(["build", dir, "-m", tiny] + small)
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.err.components(separatedBy: "current ").count - 1, 2, again.err)

        let ask = try run(["ask", doc, "What is the pass key?", "-m", tiny, "-n", "6"])
        XCTAssertEqual(ask.status, 0, ask.err)
        XCTAssertFalse(ask.out.isEmpty)
        // A question longer than the question window (the standard 8192, fitted to the tiny model's 512) is refused in one line.
        let long = try run(["ask", doc, String(repeating: "word ", count: 100), "-m", tiny, "-n", "6"])
        XCTAssertEqual(long.status, 1, long.out)
        XCTAssertTrue(long.err.hasPrefix("lhindex: the question is ") && long.err.contains("longer than the question window of 512 tokens"), long.err)
        XCTAssertEqual(long.err.filter { $0 == "\n" }.count, 1)
        let json = try run(["ask", doc, "-m", tiny, "-n", "6", "--json", "--cite"], stdin: "first question\nsecond question\n")
        XCTAssertEqual(json.status, 0, json.err)
        let lines = json.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, json.out)
        for l in lines {
            let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            for k in ["answer", "tokens", "seconds", "first_token_seconds", "cache", "citations"] { XCTAssertNotNil(o[k], k) }
            // The random tiny model never ends its turn within 6 tokens: the limit cut it.
            XCTAssertEqual(o["finish_reason"] as? String, "length")
            XCTAssertEqual(o["tokens"] as? Int, 6)
        }
        // Text mode marks an answer the limit cut, and says so on standard error.
        XCTAssertTrue(ask.out.hasSuffix(" [...]\n"), ask.out)
        XCTAssertTrue(ask.err.contains("the answer was cut at 6 tokens; -n allows more"), ask.err)

        let info = try run(["info", doc, "--json"])
        XCTAssertEqual(info.status, 0, info.err)
        let i = try JSONSerialization.jsonObject(with: Data(info.out.utf8)) as! [String: Any]
        XCTAssertEqual(i["model"] as? String, "tiny-test")
        // The standard four local chunks do not fit 64/16 = 4 slots beside the sink and the current chunk:
        // without --local they are lowered to leave one chunk chosen freely.
        XCTAssertTrue((i["settings"] as? String ?? "").contains("sinks=1 local=1/1 "), "\(i["settings"] ?? "")")
        XCTAssertGreaterThan(i["tokens"] as! Int, 100)
        XCTAssertEqual(try run(["info", doc]).status, 0)

        let ok = try run(["verify", doc])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.hasPrefix("OK "), ok.out)
        var kv = try Data(contentsOf: URL(fileURLWithPath: doc + "/kv.zst"))
        kv[20] ^= 0x01                      // inside the first frame: chunk 0, the attention sink every head reads
        try kv.write(to: URL(fileURLWithPath: doc + "/kv.zst"))
        let bad = try run(["verify", doc])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("kv.zst"), bad.err)
        let badAsk = try run(["ask", doc, "What is the pass key?", "-m", tiny, "-n", "4"])
        XCTAssertEqual(badAsk.status, 1, badAsk.out)
        XCTAssertTrue(badAsk.err.hasPrefix("lhindex: \(doc)/kv.zst: "), badAsk.err)
    }

    /// `info` and `verify` take a corpus directory as `ask` does: info lists every document with the totals
    /// (the sums of the bundles' own info), verify checks every bundle and counts the damaged ones.
    func testInfoAndVerifyOfACorpus() throws {
        let dir = try corpus(), out = dir + ".lhindex"
        XCTAssertEqual(try run(["build", dir, "-m", tiny] + small).status, 0)
        let bundles = [out + "/a.txt.lhx", out + "/sub/b.md.lhx"]
        let own = try bundles.map { b -> [String: Any] in
            let r = try run(["info", b, "--json"])
            XCTAssertEqual(r.status, 0, r.err)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        }
        let info = try run(["info", out, "--json"])
        XCTAssertEqual(info.status, 0, info.err)
        let c = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.out.utf8)) as? [String: Any])
        let docs = try XCTUnwrap(c["documents"] as? [[String: Any]])
        XCTAssertEqual(docs.map { $0["index"] as? String }, bundles)
        XCTAssertEqual(c["tokens"] as? Int, own.reduce(0) { $0 + ($1["tokens"] as! Int) })
        XCTAssertEqual(c["bytes"] as? Int, own.reduce(0) { $0 + ($1["bytes"] as! Int) })
        let text = try run(["info", out])
        XCTAssertEqual(text.status, 0, text.err)
        XCTAssertTrue(text.out.hasPrefix("corpus:      \(out) (2 documents"), text.out)
        XCTAssertTrue(text.out.contains("\n  sub/b.md "), text.out)
        XCTAssertFalse(text.out.contains("differ"), text.out)

        let ok = try run(["verify", out])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.hasSuffix("all 2 indexes OK\n"), ok.out)
        var kv = try Data(contentsOf: URL(fileURLWithPath: bundles[1] + "/kv.zst"))
        kv[20] ^= 0x01
        try kv.write(to: URL(fileURLWithPath: bundles[1] + "/kv.zst"))
        let bad = try run(["verify", out])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.out.contains("OK \(bundles[0])"), bad.out)
        XCTAssertTrue(bad.err.contains("\(bundles[1])/kv.zst"), bad.err)
        XCTAssertTrue(bad.err.hasSuffix("lhindex: 1 of 2 indexes damaged\n"), bad.err)
        // A directory with no bundle is refused by both, as by ask.
        let none = TestTemporary.path("none")
        try FileManager.default.createDirectory(atPath: none, withIntermediateDirectories: true)
        for command in ["info", "verify"] {
            let r = try run([command, none])
            XCTAssertEqual(r.status, 1, command)
            XCTAssertTrue(r.err.contains("no .lhx index found"), r.err)
        }
    }

    func testUsageAndMissingIndex() throws {
        XCTAssertEqual(try run(["build"]).status, 64)
        XCTAssertEqual(try run(["ask"]).status, 64)
        let missing = try run(["ask", "/no/such.lhx", "q", "-m", tiny])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.err, "lhindex: /no/such.lhx: No such file or directory (open)\n")
        XCTAssertEqual(try run(["verify", "/no/such.lhx"]).status, 1)
        XCTAssertEqual(try run(["info", "/no/such.lhx"]).status, 1)
        let text = TestTemporary.path("plain.txt")
        try Data("not an index\n".utf8).write(to: URL(fileURLWithPath: text))
        let notIndex = try run(["info", text])
        XCTAssertEqual(notIndex.status, 1)
        XCTAssertEqual(notIndex.err, "lhindex: \(text): not an index (a .lhx bundle or a directory of them)\n")
        // An empty question on the command line is a mistake (an unset variable), not a silent success.
        let empty = try run(["ask", "/no/such.lhx", " ", "-m", tiny])
        XCTAssertEqual(empty.status, 64, empty.err)
        XCTAssertTrue(empty.err.hasPrefix("lhindex ask: a question is empty\n"), empty.err)
    }
}
