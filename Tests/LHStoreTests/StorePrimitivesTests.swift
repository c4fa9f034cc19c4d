// Checks of the store's building blocks against known values: CRC-32, SHA-256, zstd round trips, SQLite.
import Foundation
import XCTest
import LHCore
import LHTestSupport
@testable import LHStore

final class StorePrimitivesTests: XCTestCase {
    func testCRC32KnownValue() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { CRC32.checksum($0) }, 0)
    }

    func testSHA256KnownValues() {
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { SHA256.hex($0) },
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual([UInt8]().withUnsafeBytes { SHA256.hex($0) },
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Incremental updates across block boundaries equal one update.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var s = SHA256()
        data[..<63].withUnsafeBytes { s.update($0) }
        data[63...].withUnsafeBytes { s.update($0) }
        XCTAssertEqual(s.finalizeHex(), data.withUnsafeBytes { SHA256.hex($0) })
        XCTAssertEqual(Array(String(repeating: "a", count: 1_000_000).utf8).withUnsafeBytes { SHA256.hex($0) },
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testZstdRoundTripAndCorruption() throws {
        let z = Zstd()
        let src = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        var dst = [UInt8](repeating: 0, count: Zstd.bound(src.count))
        let n = try src.withUnsafeBytes { s in try dst.withUnsafeMutableBytes { try z.compress(s, into: $0) } }
        XCTAssertLessThan(n, src.count / 4)
        var back = [UInt8](repeating: 0, count: src.count)
        try dst[..<n].withUnsafeBytes { s in try back.withUnsafeMutableBytes { try z.decompress(s, into: $0, path: "x") } }
        XCTAssertEqual(back, src)
        dst[n / 2] ^= 0xFF
        XCTAssertThrowsError(try dst[..<n].withUnsafeBytes { s in try back.withUnsafeMutableBytes { try z.decompress(s, into: $0, path: "x") } })
    }

    func testSQLiteRoundTrip() throws {
        let path = TestTemporary.path("t.sqlite")
        let db = try SQLiteDatabase(path: path, create: true)
        try db.execute("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER, d REAL)")
        try db.transaction { try db.query("INSERT INTO t VALUES (?, ?, ?)", [.text("a'b"), .int(1 << 40), .double(0.5)]) }
        XCTAssertEqual(try db.query("SELECT k, v, d FROM t"), [[.text("a'b"), .int(1 << 40), .double(0.5)]])
        XCTAssertThrowsError(try SQLiteDatabase(path: "/no/such/dir/x.sqlite", create: true))
    }
}
