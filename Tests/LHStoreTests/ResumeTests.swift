// An interrupted build whose files were damaged or cut short restarts once, with a note, instead of failing forever.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class ResumeTests: XCTestCase {
    let text = StoreFixture.text(bytes: 900, seed: 31)

    /// An interrupted build of `text` (stopped after the batch ending at token 256) in a fresh directory.
    func interrupted() throws -> String {
        let bundle = StoreFixture.tempDir() + "/doc.txt.lhx"
        let first = try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: bundle) { $0.doneTokens < 200 }
        guard case .interrupted(256) = first else { XCTFail("\(first)"); return bundle }
        return bundle
    }

    /// Resumes `bundle`, expecting a restart from token 0 with one note naming `file`, and a bundle equal to an uninterrupted build.
    func expectRestart(_ bundle: String, naming file: String, line: UInt = #line) throws {
        let builder = try StoreFixture.builder(StoreFixture.settings())
        var notes: [String] = []
        builder.note = { notes.append($0) }
        let outcome = try builder.build(text: text, sourcePath: "doc.txt", bundle: bundle)
        guard case .built(_, 0, _) = outcome else { return XCTFail("\(outcome)", line: line) }
        XCTAssertEqual(notes.count, 1, "\(notes)", line: line)
        XCTAssertTrue(notes.first?.contains("restarting the interrupted build") == true && notes.first?.contains(file) == true, "\(notes)", line: line)
        XCTAssertFalse(notes.first?.contains("\n") ?? true, line: line)
        XCTAssertTrue(IndexVerifier.verify(directory: bundle).ok, "\(IndexVerifier.verify(directory: bundle).problems)", line: line)
        // A later build finds it current: the failure is not permanent.
        XCTAssertEqual(try StoreFixture.builder(StoreFixture.settings()).build(text: text, sourcePath: "doc.txt", bundle: bundle),
                       .upToDate(tokens: try IndexReader(directory: bundle, languageModel: StoreFixture.languageModel).metadata.document.tokens), line: line)
    }

    func testShortKVFileRestartsTheBuild() throws {
        let bundle = try interrupted()
        let kv = bundle + ".partial/kv.zst"
        let data = try Data(contentsOf: URL(fileURLWithPath: kv))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: kv))
        try expectRestart(bundle, naming: "kv.zst")
    }

    func testDamagedFrameInThePartialRestartsTheBuild() throws {
        let bundle = try interrupted()
        let kv = URL(fileURLWithPath: bundle + ".partial/kv.zst")
        var data = try Data(contentsOf: kv)
        data[20] ^= 0x40                                  // chunk 0, the sink every window reads
        try data.write(to: kv)
        try expectRestart(bundle, naming: "kv.zst")
    }

    func testMissingFileInThePartialRestartsTheBuild() throws {
        let bundle = try interrupted()
        try FileManager.default.removeItem(atPath: bundle + ".partial/summaries.f32")
        try expectRestart(bundle, naming: "summaries.f32")
    }
}
