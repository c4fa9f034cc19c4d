// A model damaged where the size-and-ends fingerprint does not look is refused by ask and verify -m; an unchanged one is not rehashed.
import Foundation
import XCTest
import LHTestSupport

final class ModelIntegrityTests: XCTestCase {
    /// The tiny model with its weights more than 1 MiB from both ends (a long description before them,
    /// zeros after), so the fingerprint of size, first and last MiB cannot see a byte flipped among them.
    /// Returns the path and the offset of a weight byte.
    func paddedModel() throws -> (path: String, weightByte: Int) {
        let path = try TinyModel.write(seed: 5, overrides: ["general.description": .string(String(repeating: "x", count: 1_200_000))])
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        let weightsEnd = Int(try h.seekToEnd())
        try h.write(contentsOf: Data(count: 1_200_000))
        try h.close()
        let byte = weightsEnd - 1000
        XCTAssertTrue(byte > 1 << 20 && byte < weightsEnd + 1_200_000 - (1 << 20))
        return (path, byte)
    }

    func flip(_ path: String, at offset: Int) throws {
        let h = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try h.seek(toOffset: UInt64(offset))
        let b = try XCTUnwrap(try h.read(upToCount: 1))
        try h.seek(toOffset: UInt64(offset))
        try h.write(contentsOf: Data([b[0] ^ 0x10]))
        try h.close()
    }

    func testAModelDamagedInTheMiddleIsRefusedAndAnUnchangedOneIsNotRehashed() throws {
        let (model, byte) = try paddedModel()
        let home = TestTemporary.path("home"), doc = TestTemporary.path("doc.txt")
        let env = ["LHINDEX_HOME": home]
        try Data(String(repeating: "The river runs past the stone. ", count: 20).utf8).write(to: URL(fileURLWithPath: doc))
        let built = try BinaryRunner.run(["build", doc, "-m", model, "-o", home + "/out", "--chunk-size", "16", "--attn-length", "64"], environment: env)
        XCTAssertEqual(built.status, 0, built.err)
        let bundle = home + "/out/" + (doc as NSString).lastPathComponent + ".lhx"
        let ask = ["ask", bundle, "Where is the river?", "-m", model, "-n", "4", "-v"]

        // First ask hashes the model once; the second takes the hash from the cache.
        let first = try BinaryRunner.run(ask, environment: env)
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertTrue(first.err.contains("model sha256 computed"), first.err)
        let second = try BinaryRunner.run(ask, environment: env)
        XCTAssertEqual(second.status, 0, second.err)
        XCTAssertTrue(second.err.contains("model sha256 from the cache"), second.err)
        XCTAssertEqual(try BinaryRunner.run(["verify", bundle, "-m", model]).status, 0)

        // One weight byte flipped: same size, same first and last MiB, new modification time.
        try flip(model, at: byte)
        let damaged = try BinaryRunner.run(Array(ask.dropLast()), environment: env)
        XCTAssertEqual(damaged.status, 1, damaged.out)
        XCTAssertTrue(damaged.err.hasPrefix("lhindex: \(model): damaged model"), damaged.err)
        XCTAssertEqual(damaged.err.filter { $0 == "\n" }.count, 1, damaged.err)
        XCTAssertEqual(damaged.out, "")
        let verified = try BinaryRunner.run(["verify", bundle, "-m", model])
        XCTAssertEqual(verified.status, 1, verified.out)
        XCTAssertTrue(verified.err.hasPrefix("lhindex: \(model): SHA-256 "), verified.err)

        // Repaired, with a cache file of garbage: the garbage is ignored and the model hashed again.
        try flip(model, at: byte)
        try Data("not\ta cache\n\u{0}\u{1}zz".utf8).write(to: URL(fileURLWithPath: home + "/model-sha256.tsv"))
        let repaired = try BinaryRunner.run(ask, environment: env)
        XCTAssertEqual(repaired.status, 0, repaired.err)
        XCTAssertTrue(repaired.err.contains("model sha256 computed"), repaired.err)
        let again = try BinaryRunner.run(ask, environment: env)
        XCTAssertTrue(again.err.contains("model sha256 from the cache"), again.err)
    }
}
