// Replacing a bundle: atomic exchange, and what a build killed while publishing leaves is finished by the next build.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class PublishTests: XCTestCase {
    let fm = FileManager.default

    func inode(_ path: String) throws -> UInt64 {
        try XCTUnwrap((try fm.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.uint64Value)
    }

    /// A complete bundle of `text` built elsewhere, moved to `path`.
    func completeBundle(_ text: String, at path: String) throws {
        let elsewhere = StoreFixture.tempDir() + "/doc.txt.lhx"
        let outcome = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: elsewhere)
        guard case .built = outcome else { return XCTFail("\(outcome)") }
        try fm.moveItem(atPath: elsewhere, toPath: path)
    }

    func testCompletePartialIsPublishedNotRebuiltAndStaleOldBundlesGo() throws {
        let text = StoreFixture.text(bytes: 400, seed: 21)
        // Killed after the old bundle was renamed aside (the fallback sequence): no NAME.lhx, a stale
        // NAME.lhx.old-PID, and the complete partial.
        let dir = StoreFixture.tempDir(), bundle = dir + "/doc.txt.lhx"
        try completeBundle(StoreFixture.text(bytes: 300, seed: 22), at: bundle + ".old-4242")
        try completeBundle(text, at: bundle + ".partial")
        let partialInode = try inode(bundle + ".partial")
        let outcome = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: bundle, force: true)
        guard case .published = outcome else { return XCTFail("rebuilt instead of publishing: \(outcome)") }
        XCTAssertEqual(try inode(bundle), partialInode, "the complete partial was not moved into place")
        XCTAssertFalse(fm.fileExists(atPath: bundle + ".partial"))
        XCTAssertFalse(fm.fileExists(atPath: bundle + ".old-4242"), "a stale old bundle stayed")
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok)

        // Killed before the exchange, with an old bundle of other content in place: the partial replaces it.
        let dir2 = StoreFixture.tempDir(), bundle2 = dir2 + "/doc.txt.lhx"
        try completeBundle(StoreFixture.text(bytes: 300, seed: 23), at: bundle2)
        try completeBundle(text, at: bundle2 + ".partial")
        let partial2 = try inode(bundle2 + ".partial")
        let second = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: bundle2)
        guard case .published = second else { return XCTFail("\(second)") }
        XCTAssertEqual(try inode(bundle2), partial2)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dir2), ["doc.txt.lhx"])

        // A damaged complete partial is not published: it is rebuilt.
        let dir3 = StoreFixture.tempDir(), bundle3 = dir3 + "/doc.txt.lhx"
        try completeBundle(text, at: bundle3 + ".partial")
        var seek = try Data(contentsOf: URL(fileURLWithPath: bundle3 + ".partial/kv.seek"))
        seek[70] ^= 1
        try seek.write(to: URL(fileURLWithPath: bundle3 + ".partial/kv.seek"))
        let third = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: bundle3)
        guard case .built(_, 0, _) = third else { return XCTFail("\(third)") }
        XCTAssertTrue(IndexVerifier.verify(directory: bundle3).ok)
    }

    func testPublishExchangesWithTheOldBundleAndLeavesNothingBehind() throws {
        let dir = StoreFixture.tempDir(), bundle = dir + "/doc.txt.lhx"
        try completeBundle(StoreFixture.text(bytes: 300, seed: 24), at: bundle)
        try completeBundle(StoreFixture.text(bytes: 350, seed: 25), at: bundle + ".partial")
        let new = try inode(bundle + ".partial")
        try BundlePublisher.publish(partial: bundle + ".partial", bundle: bundle)
        XCTAssertEqual(try inode(bundle), new)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: dir), ["doc.txt.lhx"])
        // The exchange itself: both entries swap in one call.
        try fm.createDirectory(atPath: dir + "/a", withIntermediateDirectories: false)
        try fm.createDirectory(atPath: dir + "/b", withIntermediateDirectories: false)
        let (a, b) = (try inode(dir + "/a"), try inode(dir + "/b"))
        XCTAssertTrue(BundlePublisher.exchange(dir + "/a", dir + "/b"), "errno \(errno)")
        XCTAssertEqual(try inode(dir + "/a"), b)
        XCTAssertEqual(try inode(dir + "/b"), a)
    }
}
