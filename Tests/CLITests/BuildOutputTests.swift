// `build` and its output directory: one-line errors, one failed document does not stop the others, default names.
import Foundation
import XCTest
import LHTestSupport

final class BuildOutputTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    func words(_ n: Int) -> String { (0..<n).map { ["alpha", "beta", "river"][$0 % 3] }.joined(separator: " ") }

    func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func testOutputPathThatIsAFileIsAOneLineErrorPerDocument() throws {
        let dir = TestTemporary.path("out-file")
        try write(words(30), dir + "/c/a.txt")
        try write(words(30), dir + "/c/b.txt")
        try write("not a directory", dir + "/out")
        let r = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertFalse(r.err.contains("NSCocoaErrorDomain") || r.err.contains("Error Domain"), r.err)
        for doc in ["a.txt", "b.txt"] {
            XCTAssertTrue(r.err.contains("error \(dir)/c/\(doc): \(dir)/out: exists and is not a directory\n"), r.err)
        }
    }

    func testOneFailedDocumentDoesNotStopTheOthers() throws {
        let dir = TestTemporary.path("one-fails")
        try write(words(30), dir + "/c/a/x.txt")       // first in order: its bundle directory cannot be created
        try write(words(30), dir + "/c/b.txt")
        try write("in the way", dir + "/out/a")
        let r = try BinaryRunner.run(["build", dir + "/c", "-o", dir + "/out", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("error \(dir)/c/a/x.txt: \(dir)/out/a: exists and is not a directory\n"), r.err)
        XCTAssertTrue(r.err.contains("built \(dir)/out/b.txt.lhx"), r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/b.txt.lhx/index.sqlite"))
        XCTAssertFalse(r.err.contains("Error Domain"), r.err)
    }

    func testBuildDotIsNamedAfterTheDirectory() throws {
        let dir = TestTemporary.path("dotcorpus")
        try write(words(30), dir + "/a.txt")
        let r = try BinaryRunner.run(["build", ".", "-m", tiny] + small, directory: dir, timeout: 60)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + ".lhindex/a.txt.lhx/index.sqlite"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/..lhindex"), r.err)
        // From inside a subdirectory, `..` names the parent.
        try write(words(20), dir + "/sub/b.txt")
        let up = try BinaryRunner.run(["build", "..", "-m", tiny] + small, directory: dir + "/sub", timeout: 60)
        XCTAssertEqual(up.status, 0, up.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + ".lhindex/sub/b.txt.lhx/index.sqlite"), up.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/sub/...lhindex"), up.err)
    }

    func testNothingIndexedExitsOne() throws {
        let dir = TestTemporary.path("nothing")
        try write("", dir + "/empty.txt")
        let r = try BinaryRunner.run(["build", dir, "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("skip \(dir)/empty.txt: the file is empty"), r.err)
    }
}

final class BundleNamingTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 11)
    let small = ["--chunk-size", "16", "--attn-length", "64"]

    func testTwoSourcesWithOneBundleNameAreRefused() throws {
        let dir = TestTemporary.path("dups")
        for (sub, text) in [("x", "alpha beta river stone"), ("y", "north light gamma delta")] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/\(sub)/dup.txt"))
        }
        let r = try BinaryRunner.run(["build", dir + "/x/dup.txt", dir + "/y/dup.txt", "-o", dir + "/out", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertEqual(r.err, "lhindex: \(dir)/x/dup.txt and \(dir)/y/dup.txt would both be indexed as \(dir)/out/dup.txt.lhx; build them with different -o directories\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/dup.txt.lhx"))
        // A directory and a file inside it with -o: the file's bundle name collides with nothing here,
        // but the same document named twice (as a file and through its directory) is built once.
        let twice = try BinaryRunner.run(["build", dir + "/x/dup.txt", dir + "/x/../x/dup.txt", "-o", dir + "/out2", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(twice.status, 0, twice.err)
        XCTAssertEqual(twice.err.components(separatedBy: "built ").count - 1, 1, twice.err)
        // Two directories with -o whose files share a relative path collide as well.
        let dirs = try BinaryRunner.run(["build", dir + "/x", dir + "/y", "-o", dir + "/out3", "-m", tiny] + small, timeout: 60)
        XCTAssertEqual(dirs.status, 1, dirs.err)
        XCTAssertTrue(dirs.err.contains("\(dir)/x/dup.txt and \(dir)/y/dup.txt would both be indexed as \(dir)/out3/dup.txt.lhx"), dirs.err)
    }
}
