// The one Swift file that imports libzstd: frame compression and decompression with reused contexts.
import CZstd
import LHCore

/// A zstd compressor and decompressor pair. Contexts are reused across calls; not thread-safe
/// (use one per thread).
public final class Zstd {
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer

    /// A codec compressing at `level` (1 = fastest; 3 is zstd's default), with frame checksums on.
    public init(level: Int32 = 1) {
        cctx = ZSTD_createCCtx()
        dctx = ZSTD_createDCtx()
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    /// Upper bound of the compressed size of `n` bytes.
    public static func bound(_ n: Int) -> Int { ZSTD_compressBound(n) }

    /// Compresses `src` into `dst` (capacity at least `bound(src.count)`); returns the frame size.
    public func compress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 { throw LHError.invalidInput("zstd compression failed: \(String(cString: ZSTD_getErrorName(n)))") }
        return n
    }

    /// Decompresses one frame `src` into `dst`, which must be exactly the original size.
    /// - Throws: `LHError.badFile` (naming `path`) when the frame is corrupt or has another size.
    public func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, path: String) throws {
        let n = ZSTD_decompressDCtx(dctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 {
            throw LHError.badFile(path: path, reason: "corrupt compressed frame (\(String(cString: ZSTD_getErrorName(n))))")
        }
        guard n == dst.count else {
            throw LHError.badFile(path: path, reason: "frame decompressed to \(n) bytes, expected \(dst.count)")
        }
    }
}
