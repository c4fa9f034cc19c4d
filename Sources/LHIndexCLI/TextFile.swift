// Reading user text files with clear errors for missing, binary or non-UTF-8 input.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LHCore

/// Validated reading of plain-text input files.
public enum TextFile {
    /// The contents of `path` as a String.
    /// - Throws: `LHError` if the file is missing, unreadable, empty, binary (contains NUL) or not UTF-8.
    public static func read(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.count)
        guard file.count > 0 else { throw LHError.badFile(path: path, reason: "the file is empty") }
        if bytes.contains(0) { throw LHError.badFile(path: path, reason: "binary file (contains NUL bytes), expected UTF-8 text") }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw LHError.badFile(path: path, reason: "not valid UTF-8 text")
        }
        return s
    }

    /// The contents of `path` as a String, where `path` may also be a pipe, FIFO or character device the
    /// user named on purpose (`-f <(...)`, `-f /dev/stdin`): read to its end, blocking like `cat`, up to
    /// `limit` bytes. A regular file is read as by `read`.
    /// - Throws: `LHError` if the path is missing, a directory, unreadable, longer than `limit`, empty,
    ///   binary or not UTF-8.
    public static func readStream(_ path: String, limit: Int = 16 << 20) throws -> String {
        switch RegularFile.kind(of: path) {
        case .regular: return try read(path)
        case .directory: throw LHError.badFile(path: path, reason: "is a directory, expected a text file")
        case let .missing(code): throw LHError.io(path: path, call: "open", errno: code)
        case .other: break
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LHError.io(path: path, call: "open", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw LHError.io(path: path, call: "read", errno: errno) }
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count <= limit else { throw LHError.badFile(path: path, reason: "longer than \(limit >> 20) MiB, expected a text file") }
        }
        guard !bytes.isEmpty else { throw LHError.badFile(path: path, reason: "the file is empty") }
        if bytes.contains(0) { throw LHError.badFile(path: path, reason: "binary file (contains NUL bytes), expected UTF-8 text") }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw LHError.badFile(path: path, reason: "not valid UTF-8 text") }
        return s
    }
}
