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

    /// `src` compressed into one new frame (the frame records its content size).
    public func compressed(_ src: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Zstd.bound(src.count))
        let n = try out.withUnsafeMutableBytes { try compress(src, into: $0) }
        out.removeSubrange(n...)
        return out
    }

    /// The content size a frame declares in its header.
    /// - Throws: `LHError.badFile` naming `path` when the header is unreadable or declares none.
    public static func contentSize(of frame: UnsafeRawBufferPointer, path: String) throws -> Int {
        let n = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard n != ZSTD_CONTENTSIZE_ERROR, n != ZSTD_CONTENTSIZE_UNKNOWN, n < UInt64(Int.max) else {
            throw LHError.badFile(path: path, reason: "not a zstd frame with a declared size")
        }
        return Int(n)
    }

    /// Decompresses a whole single-frame file's bytes (size taken from the frame header).
    public func decompressed(_ frame: UnsafeRawBufferPointer, path: String, limit: Int = 1 << 34) throws -> [UInt8] {
        let n = try Zstd.contentSize(of: frame, path: path)
        guard n <= limit else { throw LHError.badFile(path: path, reason: "frame declares \(n) bytes, more than expected") }
        var out = [UInt8](repeating: 0, count: n)
        try out.withUnsafeMutableBytes { try decompress(frame, into: $0, path: path) }
        return out
    }

    /// Compresses the concatenation of `parts` into one frame, ending a zstd block after each part so
    /// every part gets its own entropy tables (byte planes of floats have very different statistics).
    public func compress(parts: [UnsafeRawBufferPointer], into dst: UnsafeMutableRawBufferPointer) throws -> Int {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)
        var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
        for (i, part) in parts.enumerated() {
            var input = ZSTD_inBuffer(src: part.baseAddress, size: part.count, pos: 0)
            let last = i == parts.count - 1
            while true {
                let r = ZSTD_compressStream2(cctx, &output, &input, last ? ZSTD_e_end : ZSTD_e_flush)
                if ZSTD_isError(r) != 0 { throw LHError.invalidInput("zstd compression failed: \(String(cString: ZSTD_getErrorName(r)))") }
                if r == 0 { break }
                guard output.pos < output.size else { throw LHError.invalidInput("zstd compression: output buffer too small") }
            }
        }
        return output.pos
    }
}
