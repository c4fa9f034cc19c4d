// The cache of verified model hashes: a hit needs the same file unchanged, and lines of files that are gone are
// dropped when the cache is written.
import Foundation
import XCTest
import LHCore
@testable import LHStore

final class ModelHashCacheTests: XCTestCase {
    func write(_ path: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
    func sha(_ text: String) -> String { Array(text.utf8).withUnsafeBytes { SHA256.hex($0) } }

    func testHitsNeedTheSameFileAndGoneFilesAreDropped() throws {
        let dir = StoreFixture.tempDir(), cache = ModelHashCache(directory: dir + "/cache")
        let kept = dir + "/kept.gguf", gone = dir + "/gone.gguf"
        try write(kept, "the model in use")
        try write(gone, "a temporary model")
        let first = try cache.sha256(of: MappedFile(path: kept))
        XCTAssertTrue(first.computed)
        XCTAssertEqual(first.sha256, sha("the model in use"))
        XCTAssertTrue(try cache.sha256(of: MappedFile(path: gone)).computed)
        XCTAssertEqual(cache.load().count, 2)
        XCTAssertFalse(try cache.sha256(of: MappedFile(path: kept)).computed, "the same file: from the cache")

        try FileManager.default.removeItem(atPath: gone)
        let other = dir + "/other.gguf"
        try write(other, "another model")
        XCTAssertTrue(try cache.sha256(of: MappedFile(path: other)).computed)
        XCTAssertEqual(Set(cache.load().map { ($0.key.path as NSString).lastPathComponent }), ["kept.gguf", "other.gguf"],
                       "the gone file's line is dropped when the cache is written")

        try write(kept, "the model, replaced")   // a new size and time: hashed again
        let again = try cache.sha256(of: MappedFile(path: kept))
        XCTAssertTrue(again.computed)
        XCTAssertEqual(again.sha256, sha("the model, replaced"))
    }
}
