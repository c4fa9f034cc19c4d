// ask refuses a bundle whose mapped files (kv.seek, summaries.f32, bounds.f32, reps.f32) differ from their recorded CRC-32s.
import Foundation
import XCTest
import LHTestSupport

final class MappedFileChecksumTests: XCTestCase {
    let tiny = try! TinyModel.write(seed: 13)

    /// A copy of `bundle` with `damage` applied to its file `name` (read, changed, written back).
    func damagedCopy(of bundle: String, _ name: String, _ damage: (inout [UInt8]) -> Void) throws -> String {
        let copy = TestTemporary.path("damaged.lhx")
        try FileManager.default.copyItem(atPath: bundle, toPath: copy)
        let url = URL(fileURLWithPath: copy + "/" + name)
        var bytes = [UInt8](try Data(contentsOf: url))
        damage(&bytes)
        try Data(bytes).write(to: url)
        return copy
    }

    func testEachMappedFileWithOneDamagedRowMakesAskFailNamingTheFile() throws {
        let doc = TestTemporary.path("doc.txt"), out = TestTemporary.path("out")
        try Data(String(repeating: "The river runs past the stone and the light. ", count: 12).utf8).write(to: URL(fileURLWithPath: doc))
        let built = try BinaryRunner.run(["build", doc, "-m", tiny, "-o", out, "--chunk-size", "16", "--attn-length", "64",
                                          "--representatives", "2"])
        XCTAssertEqual(built.status, 0, built.err)
        let bundle = out + "/" + (doc as NSString).lastPathComponent + ".lhx"
        let ask = ["Where is the river?", "-m", tiny, "-n", "4", "--question-scoring", "reps"]
        let intact = try BinaryRunner.run(["ask", bundle] + ask)
        XCTAssertEqual(intact.status, 0, intact.err)

        // One flipped byte in the rows of each rows file (past the 64-byte header, which has its own CRC).
        var cases: [(String, String)] = ["summaries.f32", "bounds.f32", "reps.f32"].map { name in
            (name, try! damagedCopy(of: bundle, name) { $0[64 + 4 * 3 + 1] ^= 0x40 })
        }
        // Two seek entries of full chunks swapped: each frame is intact, so zstd's checksum cannot tell.
        cases.append(("kv.seek", try damagedCopy(of: bundle, "kv.seek") { b in
            let a = 64, c = 64 + 24
            let first = Array(b[a..<a + 24])
            b.replaceSubrange(a..<a + 24, with: b[c..<c + 24])
            b.replaceSubrange(c..<c + 24, with: first)
        }))
        for (name, copy) in cases {
            let r = try BinaryRunner.run(["ask", copy] + ask)
            XCTAssertEqual(r.status, 1, "\(name): \(r.out)")
            XCTAssertTrue(r.err.hasPrefix("lhindex: \(copy)/\(name): checksum mismatch"), "\(name): \(r.err)")
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err)
            XCTAssertEqual(r.out, "", name)
        }
    }
}
