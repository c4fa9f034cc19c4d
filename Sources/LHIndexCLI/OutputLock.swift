// The lock a build holds on its output directory, so a second build never resumes or deletes the first one's work.
import Foundation
import LHCore

/// An exclusive `flock` on `DIR/.lock`, held until the process exits (or the lock is released). The file
/// holds the holder's pid and start time, so a refused build can say who holds it. The file itself stays:
/// removing it would let a third build lock a new file while a second still waits on the old one.
final class OutputLock {
    /// Name of the lock file inside the output directory.
    static let fileName = ".lock"
    let path: String
    private let fd: Int32

    /// Takes the lock of `directory` (created if missing). Without `wait`, a held lock is an error;
    /// with it, `waiting` is called once with the holder's description and the call blocks until the lock is free.
    /// - Throws: `LHError.invalidInput` naming the directory and the holder; `LHError` for file errors.
    init(directory: String, wait: Bool, waiting: (String) -> Void = { _ in }) throws {
        try Directory.create(directory)
        path = directory + "/" + Self.fileName
        fd = try RegularFile.open(path, flags: O_RDWR | O_CREAT)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else { close(fd); throw LHError.io(path: path, call: "flock", errno: code) }
            let holder = Self.holder(fd)
            guard wait else {
                close(fd)
                throw LHError.invalidInput("\(directory): another build is writing here (\(holder)); wait for it to finish, or pass --wait")
            }
            waiting(holder)
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else { let e = errno; close(fd); throw LHError.io(path: path, call: "flock", errno: e) }
            }
        }
        let started = ISO8601DateFormatter().string(from: Date())
        let line = Array("pid \(getpid()) started \(started)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The holder as written in the lock file ("pid N started T"), or a fallback when it is not readable yet.
    private static func holder(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 200)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return text.isEmpty || text.contains("\n") ? "holder unknown" : text
    }
}
