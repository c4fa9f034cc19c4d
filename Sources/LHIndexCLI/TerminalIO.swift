// Standard output and error for commands: streamed text, flushed lines, terminal detection.
#if canImport(Glibc)
import Glibc
#endif

/// Where commands write. Output is written unbuffered so streamed tokens appear as they come.
public struct TerminalIO: Sendable {
    public init() {}

    /// Writes `s` to standard output immediately.
    public func out(_ s: String) { write(fd: 1, s) }
    /// Writes `s` to standard error immediately.
    public func err(_ s: String) { write(fd: 2, s) }
    /// Whether standard error is a terminal (progress bars go there).
    public var stderrIsTerminal: Bool { isatty(2) != 0 }

    private func write(fd: Int32, _ s: String) {
        var s = s
        s.withUTF8 { buf in
            var done = 0
            while done < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
    }
}
