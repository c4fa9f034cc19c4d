// A build killed at each write point (LHINDEX_FAIL_AT_WRITE) leaves the old bundle, the new one or a resumable partial, never none and never a corrupt one.
import Foundation
import XCTest
import LHTestSupport

final class CrashConsistencyTests: XCTestCase, @unchecked Sendable {   // lets only; two lanes share it
    let tiny = try! TinyModel.write(seed: 19)
    /// Two batches of 512 tokens (the tiny model reads one token per byte), so a kill can land after a
    /// committed batch; chunks of 64 keep the frame writes few.
    let text = String(repeating: "The river runs past the old stone mill. ", count: 16)
    let settings = ["--chunk-size", "64", "--attn-length", "256"]
    let files = ["kv.seek", "kv.zst", "summaries.f32", "bounds.f32", "tail.zst", "source.zst"]

    func build(_ doc: String, _ out: String, force: Bool = false, failAt: Int? = nil) throws -> BinaryRun {
        try BinaryRunner.run(["build", doc, "-m", tiny, "-o", out] + settings + (force ? ["--force"] : []),
                             environment: failAt.map { ["LHINDEX_FAIL_AT_WRITE": String($0)] } ?? [:], timeout: 60)
    }

    func contents(_ bundle: String) throws -> [String: Data] {
        var d: [String: Data] = [:]
        for f in files { d[f] = try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + f)) }
        return d
    }

    /// A fresh scratch path on tmpfs when there is one (fsync costs nothing there; a kill is what is
    /// tested, not a power loss), else in the test's temporary directory.
    func scratch(_ name: String) -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDir), isDir.boolValue else { return TestTemporary.path(name) }
        let dir = "/dev/shm/lhindex-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + UUID().uuidString + "-" + name
    }

    /// Kills `build` (fresh, or `--force` over a copy of `seed`) at write point `n`; then NAME.lhx is absent
    /// (fresh builds only) or passes verify, and a rerun gives `reference`. Returns the problems found.
    func killAt(_ n: Int, force: Bool, doc: String, reference: [String: Data], seed: String?) throws -> [String] {
        let name = (doc as NSString).lastPathComponent + ".lhx", fm = FileManager.default
        let out = scratch("out-\(n)")
        defer { try? fm.removeItem(atPath: out) }
        if let seed { try fm.copyItem(atPath: seed, toPath: out) }
        let bundle = out + "/" + name
        var problems: [String] = []
        let killed = try build(doc, out, force: force, failAt: n)
        if killed.status != 137 { problems.append("point \(n): exit \(killed.status), not killed: \(killed.err)") }
        if fm.fileExists(atPath: bundle) {
            let v = try BinaryRunner.run(["verify", bundle], timeout: 60)
            if v.status != 0 { problems.append("point \(n): verify fails: \(v.err)") }
        } else if force {
            problems.append("point \(n): no bundle left after a killed --force rebuild")
        }
        let rerun = try build(doc, out, force: force)
        if rerun.status != 0 { problems.append("point \(n): the rerun fails: \(rerun.err)"); return problems }
        if (try? contents(bundle)) != reference { problems.append("point \(n): the rerun's bundle differs from an uninterrupted build") }
        let left = try fm.contentsOfDirectory(atPath: out).filter { $0 != name && $0 != ".lock" && $0 != "corpus.json" }
        if !left.isEmpty { problems.append("point \(n): left behind: \(left)") }
        return problems
    }

    /// Counts the write points of one run, then kills a run at each of them (two at a time).
    func killAtEveryWrite(force: Bool, doc: String, reference: [String: Data], seed: String?) throws -> Int {
        let counted = scratch("count")
        if let seed { try FileManager.default.copyItem(atPath: seed, toPath: counted) }
        let c = try build(doc, counted, force: force, failAt: 0)
        XCTAssertEqual(c.status, 0, c.err)
        let points = try XCTUnwrap(c.err.split(separator: "\n").last { $0.hasPrefix("lhindex: write points: ") }
            .flatMap { Int($0.split(separator: " ").last!) }, c.err)
        XCTAssertGreaterThan(points, 20)
        final class Problems: @unchecked Sendable {
            let lock = NSLock()
            var all: [String] = []
            func add(_ p: [String]) { lock.lock(); all += p; lock.unlock() }
        }
        let problems = Problems()
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            for n in stride(from: 1 + lane, through: points, by: 2) {
                problems.add((try? killAt(n, force: force, doc: doc, reference: reference, seed: seed)) ?? ["point \(n): could not run"])
            }
        }
        XCTAssertEqual(problems.all.sorted(), [], "\(points) write points, force: \(force)")
        return points
    }

    func testABuildKilledAtEveryWriteLeavesTheOldIndexTheNewOneOrAResumablePartial() throws {
        let doc = TestTemporary.path("doc.txt"), first = scratch("first")
        defer { try? FileManager.default.removeItem(atPath: (first as NSString).deletingLastPathComponent) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: doc))
        let r = try build(doc, first)
        XCTAssertEqual(r.status, 0, r.err)
        let reference = try contents(first + "/" + (doc as NSString).lastPathComponent + ".lhx")
        let fresh = try killAtEveryWrite(force: false, doc: doc, reference: reference, seed: nil)
        let forced = try killAtEveryWrite(force: true, doc: doc, reference: reference, seed: first)
        XCTAssertGreaterThan(forced, fresh)   // the --force rebuild also exchanges and removes the old bundle
        print("crash points: \(fresh) in a fresh build, \(forced) in a --force rebuild")
    }
}
