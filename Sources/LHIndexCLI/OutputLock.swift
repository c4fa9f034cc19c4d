// The lock a build holds on its output directory, so a second build never resumes or deletes the first one's work.
import Foundation
import LHCore

/// An exclusive `flock` on `DIR/.lock`, held until the process exits (or the lock is released). The file
/// holds the holder's pid and start time, so a refused build can say who holds it. The file itself stays:
/// removing it would let a third build lock a new file while a second still waits on the old one.
///
/// Shard builds (`build --shard K/N`) take the same lock shared instead. The N shards of one build must
/// write into one directory at the same time (cluster tasks start together), and they can: their
/// documents are disjoint by construction (BuildShard), so no two of them ever touch the same bundle or
/// its `.partial`, and bundles are published by an atomic rename. What they do share is corpus.json
/// (whose writer also clears temporary files a killed build left, which could be another shard's file
/// being written): they update it under the exclusive `DIR/.corpus.lock`, held only for that short
/// update. A plain build still takes `.lock` exclusively, so it never runs beside a shard, whose
/// unfinished bundles it would take for its own. (Taking `.lock` exclusively with waiting in every shard
/// would also be correct, but it would run the N tasks of a cluster one after another.)
final class OutputLock {
    /// Name of the lock file inside the output directory.
    static let fileName = ".lock"
    /// Name of the lock shard builds hold while updating corpus.json.
    static let corpusFileName = ".corpus.lock"
    let path: String
    private let fd: Int32

    /// Takes the lock of `directory` (created if missing), exclusive or `shared` (then `label` is written after
    /// the holder's pid, such as "shard 2/3"). Without `wait`, a held lock is an error; with it, `waiting`
    /// is called once with the holder's description and the call blocks until the lock is free.
    /// - Throws: `LHError.invalidInput` naming the directory and the holder; `LHError` for file errors.
    init(directory: String, wait: Bool, shared: Bool = false, label: String? = nil, file: String = OutputLock.fileName,
         waiting: (String) -> Void = { _ in }) throws {
        try Directory.create(directory)
        path = directory + "/" + file
        fd = try RegularFile.open(path, flags: O_RDWR | O_CREAT)
        let mode = shared ? LOCK_SH : LOCK_EX
        if flock(fd, mode | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else { close(fd); throw LHError.io(path: path, call: "flock", errno: code) }
            let holder = Self.holder(fd)
            guard wait else {
                close(fd)
                throw LHError.invalidInput("\(directory): another build is writing here (\(holder)); wait for it to finish, or pass --wait")
            }
            waiting(holder)
            while flock(fd, mode) != 0 {
                guard errno == EINTR else { let e = errno; close(fd); throw LHError.io(path: path, call: "flock", errno: e) }
            }
        }
        let started = ISO8601DateFormatter().string(from: Date())
        let line = Array("pid \(getpid()) started \(started)\(label.map { " (\($0))" } ?? "")\n".utf8)
        _ = ftruncate(fd, 0)
        _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Runs `body` holding `directory`'s exclusive `.corpus.lock` (waiting for it): the update of corpus.json
    /// by one of several shard builds that hold `.lock` shared.
    static func updatingCorpus(of directory: String, _ body: () throws -> Void) throws {
        let lock = try OutputLock(directory: directory, wait: true, file: corpusFileName)
        try withExtendedLifetime(lock) { try body() }
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
