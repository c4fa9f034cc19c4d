// CRC-32 (IEEE, the zlib polynomial) of byte ranges, for the per-frame checksums of the seek table.
import CKernels

/// CRC-32 with the reflected polynomial 0xEDB88320 (`lh_crc32`: carry-less multiplication, or slicing-by-8).
public enum CRC32 {
    /// The CRC-32 of `bytes` (0 for an empty range); `checksum("123456789") == 0xCBF43926`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let start = bytes.baseAddress else { return 0 }
        return lh_crc32(start, Int64(bytes.count))
    }
}
