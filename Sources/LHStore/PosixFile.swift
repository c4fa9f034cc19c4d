// An open file descriptor with the few calls the store needs: positioned reads and writes, sync, truncate.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LHCore

/// A file descriptor, closed in `deinit`. Errors name the path and the failing call.
public final class PosixFile: @unchecked Sendable {
    /// The path it was opened from (for error messages).
    public let path: String
    /// The descriptor.
    public let fd: Int32

    /// Opens `path` for reading, or for reading and writing (creating it when `create`).
    /// - Throws: `LHError.io` when `open` fails; `LHError.badFile` when the path is not a regular file.
    public init(path: String, writable: Bool = false, create: Bool = false, truncate: Bool = false) throws {
        self.path = path
        var flags = writable ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        if create || truncate { FaultInjection.point() }
        fd = try RegularFile.open(path, flags: flags)
    }

    deinit { close(fd) }

    /// Creates (or empties) `path`, writes `bytes` into it and syncs it.
    public static func writeWhole(_ bytes: some ContiguousBytes, to path: String) throws {
        let f = try PosixFile(path: path, writable: true, create: true, truncate: true)
        try bytes.withUnsafeBytes { try f.write($0, at: 0) }
        try f.sync()
    }

    /// Replaces `path` with `bytes` atomically: a temporary file beside it (`path.tmp-PID`), written and
    /// synced, then renamed over it; the temporary file is removed when that fails.
    public static func replaceAtomically(_ path: String, with bytes: some ContiguousBytes) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try writeWhole(bytes, to: temporary)
            guard rename(temporary, path) == 0 else { throw LHError.io(path: path, call: "rename", errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// The current size in bytes.
    public func size() throws -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LHError.io(path: path, call: "fstat", errno: errno) }
        return Int(st.st_size)
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        FaultInjection.point()
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 { if errno == EINTR { continue }; throw LHError.io(path: path, call: "pwrite", errno: errno) }
            done += n
        }
    }

    /// Reads exactly `bytes.count` bytes at `offset`.
    /// - Throws: `LHError.badFile` when the file ends first.
    public func read(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pread(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 { if errno == EINTR { continue }; throw LHError.io(path: path, call: "pread", errno: errno) }
            if n == 0 { throw LHError.badFile(path: path, reason: "truncated: \(offset + bytes.count) bytes needed, the file ends at \(offset + done)") }
            done += n
        }
    }

    /// Sets the size to `size` bytes (extending with zeros).
    public func truncate(to size: Int) throws {
        FaultInjection.point()
        guard ftruncate(fd, off_t(size)) == 0 else { throw LHError.io(path: path, call: "ftruncate", errno: errno) }
    }

    /// Flushes written data to the disk.
    public func sync() throws {
        FaultInjection.point()
        guard fdatasync(fd) == 0 else { throw LHError.io(path: path, call: "fdatasync", errno: errno) }
    }
}

/// A memory map of a whole file: read-only, shared writable (changes reach the file) or private
/// writable (changes stay in this process, copy-on-write). Unmapped in `deinit`.
public final class MemoryMap: @unchecked Sendable {
    /// How the pages are mapped.
    public enum Mode: Sendable { case readOnly, shared, privateWritable }
    /// The mapped path (for error messages).
    public let path: String
    /// Mapped bytes.
    public let count: Int
    /// The first byte; writable unless `readOnly`. A 64-byte-aligned allocation when `count` is 0.
    public let base: UnsafeMutableRawPointer

    /// Maps all of `file` (its current size).
    public init(file: PosixFile, mode: Mode) throws {
        path = file.path
        count = try file.size()
        if count == 0 {
            base = .allocate(byteCount: 64, alignment: 64)
            return
        }
        let prot = mode == .readOnly ? PROT_READ : PROT_READ | PROT_WRITE
        let flags = mode == .shared ? MAP_SHARED : MAP_PRIVATE
        let p = mmap(nil, count, prot, flags, file.fd, 0)
        guard let p, p != MAP_FAILED else { throw LHError.io(path: path, call: "mmap", errno: errno) }
        base = p
    }

    deinit {
        if count == 0 { base.deallocate() } else { munmap(base, count) }
    }

    /// Whether `n` bytes at `offset` lie inside the map.
    public func contains(offset: Int, count n: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= count && n <= count - offset
    }

    /// Writes dirty pages of a shared map back to the file.
    public func sync() throws {
        guard count > 0 else { return }
        FaultInjection.point()
        guard msync(base, count, MS_SYNC) == 0 else { throw LHError.io(path: path, call: "msync", errno: errno) }
    }
}
