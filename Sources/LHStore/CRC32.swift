// CRC-32 (IEEE, the zlib polynomial) of byte ranges, for the per-frame checksums of the seek table.

/// CRC-32 with the reflected polynomial 0xEDB88320, slicing-by-8 for speed.
public enum CRC32 {
    /// 8 tables of 256 entries, flattened: entry `k * 256 + i`.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { t[k * 256 + i] = (t[(k - 1) * 256 + i] >> 8) ^ t[Int(t[(k - 1) * 256 + i] & 0xFF)] }
        }
        return t
    }()

    /// The CRC-32 of `bytes` (0 for an empty range); `checksum("123456789") == 0xCBF43926`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let start = bytes.baseAddress else { return 0 }
        return table.withUnsafeBufferPointer { t in
            var c: UInt32 = 0xFFFF_FFFF
            var q = start
            var n = bytes.count
            while n >= 8 {
                let lo = UInt32(littleEndian: q.loadUnaligned(as: UInt32.self)) ^ c
                let hi = UInt32(littleEndian: (q + 4).loadUnaligned(as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                  ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                  ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                  ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                q += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(q.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                q += 1
                n -= 1
            }
            return c ^ 0xFFFF_FFFF
        }
    }
}
