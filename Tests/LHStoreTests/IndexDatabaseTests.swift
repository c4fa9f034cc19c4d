// index.sqlite as read from disk: integrity check, the format value, strict settings, a hot journal.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class IndexDatabaseTests: XCTestCase {
    let lm = StoreFixture.languageModel
    static let built: String = {
        let bundle = StoreFixture.tempDir() + "/doc.txt.lhx"
        _ = try! StoreFixture.builder(StoreFixture.settings()).build(text: StoreFixture.text(bytes: 300, seed: 41), sourcePath: "doc.txt", bundle: bundle)
        return bundle
    }()

    func copy() throws -> String {
        let c = StoreFixture.tempDir() + "/copy.lhx"
        try FileManager.default.copyItem(atPath: Self.built, toPath: c)
        return c
    }

    func assertRefused(_ bundle: String, _ fragment: String, line: UInt = #line) {
        let r = IndexVerifier.verify(directory: bundle)
        XCTAssertTrue(r.problems.contains { $0.contains("index.sqlite") && $0.contains(fragment) && !$0.contains("\n") }, "\(r.problems)", line: line)
        XCTAssertThrowsError(try IndexReader(directory: bundle, languageModel: lm), line: line) {
            XCTAssertTrue("\($0)".contains("index.sqlite: ") && "\($0)".contains(fragment), "\($0)", line: line)
        }
    }

    func testVerifyRunsSQLiteIntegrityCheck() throws {
        let b = try copy()
        XCTAssertTrue(IndexVerifier.verify(directory: b).ok)
        // A freelist count in the header that the pages do not bear out: every query still works.
        let url = URL(fileURLWithPath: b + "/index.sqlite")
        var data = try Data(contentsOf: url)
        data[39] = 3
        try data.write(to: url)
        XCTAssertEqual(try SQLiteDatabase(path: b + "/index.sqlite").scalarInt("SELECT count(*) FROM meta").map { $0 > 0 }, true)
        let r = IndexVerifier.verify(directory: b)
        XCTAssertTrue(r.problems.contains { $0.hasPrefix(b + "/index.sqlite: SQLite integrity check failed: ") && $0.contains("freelist") && !$0.contains("\n") }, "\(r.problems)")
    }

    func testFormatValueIsChecked() throws {
        XCTAssertEqual(try IndexDatabase.open(path: Self.built + "/index.sqlite").meta()["format"], "lhx 2")
        for (value, fragment) in [("lhx 1", "index format 'lhx 1' is not supported (this lhindex reads 'lhx 2')"),
                                  ("lhx 3", "index format 'lhx 3' is not supported")] {
            let b = try copy()
            try SQLiteDatabase(path: b + "/index.sqlite").execute("UPDATE meta SET value = '\(value)' WHERE key = 'format'")
            assertRefused(b, fragment)
        }
        let b = try copy()
        try SQLiteDatabase(path: b + "/index.sqlite").execute("DELETE FROM meta WHERE key = 'format'")
        assertRefused(b, "metadata key 'format' is missing")
    }

    func testSettingsThatDoNotDecodeAreErrorsNotDefaults() throws {
        let settings = try XCTUnwrap(try IndexDatabase.open(path: Self.built + "/index.sqlite").meta()["settings"])
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(settings.utf8)) as? [String: Any])
        for (key, value, fragment) in [("representatives", NSNull() as Any, "'representatives' has no value"),
                                       ("questionScoring", "bogus" as Any, "'questionScoring'"),
                                       ("represenatives", 4 as Any, "'represenatives' is not a setting this lhindex knows"),
                                       ("sinkChunks", "one" as Any, "'sinkChunks' is not a Int")] {
            var j = json
            j[key] = value
            let text = String(decoding: try JSONSerialization.data(withJSONObject: j), as: UTF8.self)
            let b = try copy()
            try SQLiteDatabase(path: b + "/index.sqlite").query("UPDATE meta SET value = ? WHERE key = 'settings'", [.text(text)])
            assertRefused(b, "metadata key 'settings' is not valid: " + fragment)
        }
        json["representatives"] = nil      // absent (an index written before the key existed) is still the documented default
        XCTAssertNoThrow(try JSONDecoder().decode(LongHeadsSettings.self, from: JSONSerialization.data(withJSONObject: json)))
    }

    func testHotJournalIsRolledBackNotReadAsAnotherFile() throws {
        let b = try copy()
        // A write interrupted mid-transaction: pages spilled to the database file, the journal holding the
        // originals. Copy both while the transaction is open, as a crash would leave them.
        let db = try SQLiteDatabase(path: b + "/index.sqlite")
        try db.execute("PRAGMA cache_size = 1; BEGIN; UPDATE meta SET value = 'changed' WHERE key = 'writer'; DELETE FROM chunks;")
        for i in 0..<300 { try db.query("INSERT INTO chunks VALUES (?, 0, 0, 0, 0, 1)", [.int(i)]) }
        let hot = StoreFixture.tempDir() + "/hot.lhx"
        try FileManager.default.createDirectory(atPath: hot, withIntermediateDirectories: false)
        for f in try FileManager.default.contentsOfDirectory(atPath: b) {
            try FileManager.default.copyItem(atPath: b + "/" + f, toPath: hot + "/" + f)
        }
        try db.execute("ROLLBACK")
        XCTAssertTrue(FileManager.default.fileExists(atPath: hot + "/index.sqlite-journal"))
        let r = IndexVerifier.verify(directory: hot)
        XCTAssertTrue(r.ok, "\(r.problems)")
        let reader = try IndexReader(directory: hot, languageModel: lm)
        XCTAssertEqual(reader.metadata.writer, "lhindex")
        XCTAssertNoThrow(try reader.ask("river?", maxTokens: 2))
    }
}
