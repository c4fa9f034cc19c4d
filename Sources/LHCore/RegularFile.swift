// Opening files without blocking on FIFOs or devices: every path lhindex reads or writes goes through here.
#if canImport(Glibc)
import Glibc
#endif

/// Opens and checks paths so that only regular files are ever read: a FIFO, socket or device given as a
/// document, a model or a bundle file would otherwise block `open` or `read` forever.
public enum RegularFile {
    /// What a non-regular file is, for messages ("a FIFO", "a directory", ...).
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "not a plain file"
        }
    }

    /// The error for a path that exists but is not a regular file.
    static func notRegular(_ path: String, _ mode: mode_t) -> LHError {
        .badFile(path: path, reason: "not a regular file (\(kind(mode)))")
    }

    /// Opens `path` with `flags` (O_CLOEXEC is added) and returns the descriptor of a regular file.
    /// The open never blocks (O_NONBLOCK, which regular files ignore); anything else is closed again.
    /// - Throws: `LHError.io` when `open` fails, `LHError.badFile` when the path is not a regular file.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC | O_NONBLOCK, mode)
        guard fd >= 0 else {
            let code = errno
            // A FIFO opened for writing without a reader fails (ENXIO) rather than blocking: say what it is.
            if case let .other(kind) = kind(of: path) { throw LHError.badFile(path: path, reason: "not a regular file (\(kind))") }
            throw LHError.io(path: path, call: "open", errno: code)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw LHError.io(path: path, call: "fstat", errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw notRegular(path, st.st_mode)
        }
        return fd
    }

    /// Checks, without opening it, that `path` is a regular file when it exists (for paths another
    /// library opens, such as SQLite). Symbolic links are followed.
    /// - Throws: `LHError.badFile` when the path exists and is not a regular file.
    public static func checkIfExists(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw notRegular(path, st.st_mode) }
    }

    /// What `path` is: a regular file, a directory, something else (with its kind), or missing (with errno).
    public enum Kind: Equatable, Sendable {
        case regular, directory, other(String), missing(Int32)
    }

    /// Classifies `path`, following symbolic links, without opening it.
    public static func kind(of path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing(errno) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other(kind(st.st_mode))
        }
    }
}
