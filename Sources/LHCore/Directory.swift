// Creating directories with errors that name the path in one line (never a raw Foundation error).
#if canImport(Glibc)
import Glibc
#endif

/// Directory creation for output paths.
public enum Directory {
    /// Creates `path` and any missing parents (like `mkdir -p`); an existing directory is fine.
    /// - Throws: `LHError.badFile` when the path or a parent exists but is not a directory, `LHError.io`
    ///   naming the path and errno otherwise (no permission, read-only file system, ...).
    public static func create(_ path: String) throws {
        guard !path.isEmpty else { return }
        switch RegularFile.kind(of: path) {
        case .directory: return
        case .regular: throw LHError.badFile(path: path, reason: "exists and is not a directory")
        case let .other(kind): throw LHError.badFile(path: path, reason: "exists and is not a directory (\(kind))")
        case .missing: break
        }
        var parent = path
        while parent.count > 1, parent.hasSuffix("/") { parent.removeLast() }
        if let slash = parent.lastIndex(of: "/") {
            let p = String(parent[..<slash])
            if !p.isEmpty { try create(p) }
        }
        FaultInjection.point()
        if mkdir(path, 0o755) != 0 {
            let code = errno
            if code == EEXIST, RegularFile.kind(of: path) == .directory { return }   // created concurrently
            throw LHError.io(path: path, call: "mkdir", errno: code)
        }
    }
}
