// Checks of the store's building blocks against known values: CRC-32, SHA-256, zstd round trips, SQLite.
import Foundation
import XCTest
import LHCore
import LHModel
import LHTestSupport
@testable import LHStore

final class StorePrimitivesTests: XCTestCase {
    func testCRC32KnownValue() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
        XCTAssertEqual([UInt8]().withUnsafeBytes { CRC32.checksum($0) }, 0)
        // zlib's crc32 of 100,000 bytes i·7 mod 256 (python3 -c "import zlib; print(hex(zlib.crc32(bytes(i*7%256 for i in range(100000)))))").
        let long = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        for simd in [true, false] { XCTAssertEqual(withSIMD(simd) { long.withUnsafeBytes { CRC32.checksum($0) } }, 0x0EAF_0153) }
    }

    /// Every length from 0 to 300 at every start offset mod 16, on the carry-less path and the tables, against
    /// the bit-at-a-time definition.
    func testCRC32EqualsTheBitwiseDefinition() {
        var rng = SplitMix64(seed: 3)
        let bytes = (0..<400).map { _ in UInt8.random(in: 0...255, using: &rng) }
        func bitwise(_ s: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in s {
                c ^= UInt32(b)
                for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return c ^ 0xFFFF_FFFF
        }
        for simd in [true, false] {
            for start in 0..<16 {
                for n in 0...300 where start + n <= bytes.count {
                    let s = bytes[start..<(start + n)]
                    let got = withSIMD(simd) { s.withUnsafeBytes { CRC32.checksum($0) } }
                    XCTAssertEqual(got, n == 0 ? 0 : bitwise(s), "start \(start) length \(n) simd \(simd)")
                }
            }
        }
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
