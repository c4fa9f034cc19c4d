// The error type shared by every lhindex module; each case renders as one sentence for the user.
#if canImport(Glibc)
import Glibc
#endif

/// Errors that reach the user. `description` is a one-line message naming the file and the problem.
public enum LHError: Error, CustomStringConvertible, Equatable {
    /// A system call failed on a path.
    case io(path: String, call: String, errno: Int32)
    /// A file exists but its content is not what was expected (bad magic, truncated, corrupt).
    case badFile(path: String, reason: String)
    /// The model file is valid but not supported (architecture, tensor type, shape).
    case unsupportedModel(path: String, reason: String)
    /// The user asked for something invalid (bad option value, too-long prompt, ...).
    case invalidInput(String)
    /// A large allocation failed (`what` it was for, `bytes` requested).
    case outOfMemory(what: String, bytes: Int)

    public var description: String {
        switch self {
        case let .io(path, call, code):
            return "\(path): \(String(cString: strerror(code))) (\(call))"
        case let .badFile(path, reason):
            return "\(path): \(reason)"
        case let .unsupportedModel(path, reason):
            return "\(path): unsupported model: \(reason)"
        case let .invalidInput(message):
            return message
        case let .outOfMemory(what, bytes):
            let size = bytes >= 1 << 20 ? "\(bytes >> 20) MB" : "\(bytes) bytes"
            return "out of memory: could not allocate \(size) for \(what) (is 'ulimit -v' too low?)"
        }
    }
}
