// `build --shard K/N`: three shard processes writing one directory at once make the corpus one build makes.
import Foundation
import XCTest
import LHTestSupport

final class ShardBuildTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    /// A corpus of eight small documents in two directories, each with its own words.
    func corpus(_ dir: String) throws -> [String] {
        let words = ["alpha", "beta", "river", "stone", "light", "north", "gamma", "delta", "cloud", "maple"]
        var names: [String] = []
        for i in 0..<8 {
            let name = (i % 3 == 0 ? "sub/" : "") + "doc\(i).txt"
            let text = (0..<(40 + 25 * i)).map { words[($0 * (i + 3) + i) % words.count] }.joined(separator: i % 2 == 0 ? " " : "\n")
            try FileManager.default.createDirectory(atPath: ((dir + "/" + name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
            names.append(name)
        }
        return names
    }

    /// Every regular file below `dir` except the lock files, by relative path.
    func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = try XCTUnwrap(FileManager.default.enumerator(atPath: dir))
        while let rel = e.nextObject() as? String {
            let path = dir + "/" + rel, name = (rel as NSString).lastPathComponent
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                  name != ".lock", name != ".corpus.lock" else { continue }
            out[rel] = try Data(contentsOf: URL(fileURLWithPath: path))
        }
        return out
    }

    func testThreeConcurrentShardsMakeTheCorpusOneBuildMakes() throws {
        let dir = TestTemporary.path("shards")
        let names = try corpus(dir + "/c")
        let whole = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/one", "-m", tiny] + small, timeout: 120)
        XCTAssertEqual(whole.status, 0, whole.err)

        // Three shard processes on one directory at the same time: none waits for or refuses another.
        let processes = try (1...3).map { k -> (Process, Pipe) in
            let p = Process(), err = Pipe()
            p.executableURL = CLITests.binary.standardizedFileURL
            p.arguments = ["build", dir + "/c", "-o", dir + "/three", "-m", tiny, "--shard", "\(k)/3"] + small
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return (p, err)
        }
        var builtByShards = 0
        for (k, (p, err)) in zip(1..., processes) {
            let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, log)
            XCTAssertFalse(log.contains("waiting for") || log.contains("gone "), log)
            let summary = try XCTUnwrap(log.split(separator: "\n").first { $0.hasPrefix("shard \(k)/3: ") }, log)
            let built = log.components(separatedBy: "\nbuilt \(dir)/three/").count - 1 + (log.hasPrefix("built ") ? 1 : 0)
            builtByShards += built
            XCTAssertTrue(summary.hasPrefix("shard \(k)/3: \(built) built, 0 current") || (built == 0 && summary.contains("nothing to build")), log)
            XCTAssertTrue(summary.contains(", \(names.count - built) in other shards"), log)
        }
        XCTAssertEqual(builtByShards, names.count)

        // The same bundles, byte for byte, and corpus.json; the same answer.
        let one = try files(dir + "/one"), three = try files(dir + "/three")
        XCTAssertEqual(one.keys.sorted(), three.keys.sorted())
        XCTAssertTrue(one.keys.contains("corpus.json") && one.keys.contains("sub/doc0.txt.lhx/index.sqlite"), "\(one.keys.sorted())")
        for (rel, data) in one { XCTAssertEqual(three[rel], data, "\(rel) differs") }
        let q = "Where is the river?"
        let a1 = try BinaryRunner.run(["ask", dir + "/one", q, "-m", tiny, "-n", "12", "--cite"], timeout: 60)
        let a3 = try BinaryRunner.run(["ask", dir + "/three", q, "-m", tiny, "-n", "12", "--cite"], timeout: 60)
        XCTAssertEqual(a1.status, 0, a1.err)
        XCTAssertFalse(a1.out.isEmpty)
        XCTAssertEqual(a3.out, a1.out.replacingOccurrences(of: dir + "/one", with: dir + "/three"))

        // A plain build of the sharded directory finds everything current.
        let again = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/three", "-m", tiny], timeout: 120)
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("done: 0 built, \(names.count) current, 0 skipped, 0 failed"), again.err)

        // A document that is gone is reported by the one shard it belongs to, and pruned by it alone.
        try FileManager.default.removeItem(atPath: dir + "/c/doc4.txt")
        var reports = 0
        for k in 1...3 {
            let r = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/three", "-m", tiny, "--shard", "\(k)/3", "--prune"], timeout: 120)
            XCTAssertEqual(r.status, 0, r.err)
            reports += r.err.components(separatedBy: "removed \(dir)/three/doc4.txt.lhx: its document is gone").count - 1
        }
        XCTAssertEqual(reports, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/three/doc4.txt.lhx"))
    }

    func testBadShardsAreRefusedInOneLine() throws {
        let dir = TestTemporary.path("bad-shards")
        _ = try corpus(dir)
        for bad in ["0/3", "4/3", "x", "1/0", "2/", "-1/3"] {
            let r = try BinaryRunner.run(["build", dir, "-o", dir + ".out", "-m", tiny, "--shard", bad], timeout: 60)
            XCTAssertNotEqual(r.status, 0, "--shard \(bad): \(r.err)")
            XCTAssertEqual(r.status, 64, r.err)
            XCTAssertTrue(r.err.hasPrefix("lhindex build: --shard "), r.err)
            XCTAssertEqual(r.err.split(separator: "\n").filter { !$0.hasPrefix("Run 'lhindex help build'") }.count, 1, r.err)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + ".out"))
    }
}
