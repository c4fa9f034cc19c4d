// SHA-256s of model files already hashed, keyed by (absolute path, size, mtime, inode), so ask checks a model's full hash without rereading it per question.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LHCore

/// A small text file of verified model hashes in the lhindex cache directory (`model-sha256.tsv`).
///
/// Each line is `sha256 TAB size TAB mtime-ns TAB device TAB inode TAB absolute-path`. A model whose path,
/// size, modification time and inode match a line is taken to have that hash; any other model is hashed
/// whole (0.65-0.7 s for the default 98 MB model, measured) and its line replaces the path's old one. The file is
/// written to a temporary name and renamed, so a reader never sees half of it; lines that do not parse
/// are ignored (a damaged cache only costs a rehash).
public struct ModelHashCache: Sendable {
    /// The cache file.
    public let path: String

    /// File name inside the cache directory.
    public static let fileName = "model-sha256.tsv"

    /// The cache in `directory` (created when first written).
    public init(directory: String) {
        path = directory + "/" + Self.fileName
    }

    /// What identifies one version of a file without reading it.
    struct Key: Equatable {
        var path: String, size: Int, mtimeNanoseconds: Int, device: UInt64, inode: UInt64

        init(path: String, stat st: stat) {
            self.path = path
            size = Int(st.st_size)
            mtimeNanoseconds = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }

        init?(fields f: [Substring]) {
            guard f.count == 6, let s = Int(f[1]), let m = Int(f[2]), let d = UInt64(f[3]), let i = UInt64(f[4]) else { return nil }
            path = String(f[5]); size = s; mtimeNanoseconds = m; device = d; inode = i
        }

        func line(sha256: String) -> String { "\(sha256)\t\(size)\t\(mtimeNanoseconds)\t\(device)\t\(inode)\t\(path)\n" }
    }

    /// The SHA-256 of the model mapped in `file`, and whether it was computed now (false: from the cache).
    ///
    /// The key is taken from the file's path before and after hashing; a file that changes meanwhile is
    /// hashed but not remembered. Failing to write the cache is not an error (the hash is still right).
    /// - Throws: `LHError.io` when the model file cannot be examined.
    public func sha256(of file: MappedFile) throws -> (sha256: String, computed: Bool) {
        let absolute = Self.absolute(file.path)
        guard let before = Self.key(absolute), before.size == file.count else {
            throw LHError.io(path: file.path, call: "stat", errno: errno == 0 ? ENOENT : errno)
        }
        var entries = load()
        if let hit = entries.first(where: { $0.key == before }) { return (hit.sha256, false) }
        let sha = SHA256.hex(UnsafeRawBufferPointer(start: file.base, count: file.count))
        if Self.key(absolute) == before {
            entries.removeAll { $0.key.path == absolute }
            entries.append((before, sha))
            store(entries)
        }
        return (sha, true)
    }

    /// The parsed lines of the cache file; none when it is missing or unreadable.
    func load() -> [(key: Key, sha256: String)] {
        guard case .regular = RegularFile.kind(of: path), let file = try? MappedFile(path: path),
              file.count < 1 << 20 else { return [] }
        let text = String(decoding: UnsafeRawBufferPointer(start: file.base, count: file.count), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false)
            guard let sha = f.first, sha.count == 64, sha.allSatisfy(\.isHexDigit), let key = Key(fields: f) else { return nil }
            return (key, String(sha))
        }
    }

    /// Writes `entries` (the newest 64 whose files are still there, unchanged) to a temporary file and renames it
    /// over the cache; best effort. Lines of files that are gone (a test's temporary model, a replaced download)
    /// are dropped, so they cannot push a model still in use out of the 64.
    func store(_ entries: [(key: Key, sha256: String)]) {
        let dir = (path as NSString).deletingLastPathComponent
        guard (try? Directory.create(dir)) != nil else { return }
        let current = entries.filter { !$0.key.path.contains("\n") && Self.key($0.key.path) == $0.key }
        let text = current.suffix(64).map { $0.key.line(sha256: $0.sha256) }.joined()
        try? PosixFile.replaceAtomically(path, with: Array(text.utf8))
    }

    static func absolute(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    static func key(_ path: String) -> Key? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Key(path: path, stat: st)
    }
}
