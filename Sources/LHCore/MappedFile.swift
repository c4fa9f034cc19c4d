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
    /// How the bytes are held.
    public let residency: Residency

    /// How the bytes are held in memory.
    public enum Residency: Sendable {
        /// The file's pages, mapped (shared with the page cache, 4 KB pages).
        case mapped
        /// A private copy read into anonymous memory advised for transparent huge pages (2 MB pages). For data
        /// read in full over and over (model weights), where the TLB misses of 4 KB pages cost measurable time.
        case hugePageCopy

        /// How `bench` names it: `mapped` or `huge-pages`.
        public var name: String { self == .mapped ? "mapped" : "huge-pages" }
    }

    /// Maps `path` read-only, or reads it into huge-page memory (`residency`).
    /// - Throws: `LHError.io` naming the path and the failing call; `LHError.badFile` when the path is not a
    ///   regular file (a FIFO is refused, never waited on) or shrank while it was read.
    public init(path: String, residency: Residency = .mapped) throws {
        self.path = path
        self.residency = residency
        let fd = try RegularFile.open(path, flags: O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LHError.io(path: path, call: "fstat", errno: errno) }
        count = Int(st.st_size)
        if count == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        switch residency {
        case .mapped:
            let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let p, p != MAP_FAILED else { throw LHError.io(path: path, call: "mmap", errno: errno) }
            base = UnsafeRawPointer(p)
        case .hugePageCopy:
            base = UnsafeRawPointer(try Self.readIntoHugePages(fd: fd, count: count, path: path))
        }
    }

    /// Anonymous memory of `count` bytes advised for huge pages, filled from `fd` and then made read-only.
    private static func readIntoHugePages(fd: Int32, count: Int, path: String) throws -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw LHError.io(path: path, call: "mmap", errno: errno)
        }
        Allocation.adviseHugePages(p, count: count)
        var done = 0
        while done < count {
            let n = pread(fd, p + done, min(count - done, 1 << 30), off_t(done))
            if n > 0 { done += n; continue }
            let code = errno
            if n < 0 && code == EINTR { continue }
            munmap(p, count)
            if n == 0 { throw LHError.badFile(path: path, reason: "shrank to \(done) bytes while being read (expected \(count))") }
            throw LHError.io(path: path, call: "pread", errno: code)
        }
        _ = mprotect(p, count, PROT_READ)
        return p
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
