// A read-only memory map of a whole file, with bounds-checked access to its bytes.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A file mapped read-only into memory for its whole lifetime. Unmapped in `deinit`.
///
/// Everything that reads model weights or index data points into one of these maps instead
/// of copying, so opening a large file costs a system call, not a read.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from (for error messages).
    public let path: String
    /// Number of bytes in the file.
    public let count: Int
    /// The first mapped byte (a dangling but valid pointer when the file is empty).
    public let base: UnsafeRawPointer

    /// Maps `path` read-only.
    /// - Throws: `LHError.io` naming the path and the failing call; `LHError.badFile` when the path is not a
    ///   regular file (a FIFO is refused, never waited on).
    public init(path: String) throws {
        self.path = path
        let fd = try RegularFile.open(path, flags: O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LHError.io(path: path, call: "fstat", errno: errno) }
        count = Int(st.st_size)
        if count == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw LHError.io(path: path, call: "mmap", errno: errno) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if count == 0 { UnsafeMutableRawPointer(mutating: base).deallocate() } else {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
    }

    /// Whether `count` bytes starting at `offset` lie inside the file.
    public func contains(offset: Int, count n: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= count && n <= count - offset
    }

    /// Advises the kernel that the range will be read sequentially soon (best effort).
    public func willNeed(offset: Int = 0, count n: Int? = nil) {
        let len = n ?? count - offset
        guard count > 0, contains(offset: offset, count: len) else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), len + offset - start, MADV_WILLNEED)
    }
}
