// Ctrl-C during `lhindex build`: one line saying the build stopped and will resume, then exit status 130.
import Foundation

/// The SIGINT handler of `build`. Every write of a build is crash-consistent (a bundle is published by rename,
/// a `.partial` records how far it is committed, SQLite journals its writes; CrashConsistencyTests kills a
/// build at each write point), so stopping at any instruction is safe: the handler only writes its prepared
/// line with write(2) and calls _exit(2), both async-signal-safe. The output lock (flock) goes with the process.
enum BuildInterruption {
    /// The exit status of a build stopped by SIGINT (128 + 2, as shells report it).
    static let status: Int32 = 130

    /// The line printed when the build is stopped.
    static let message = "lhindex build: stopped; run the same command again to resume where it left off\n"

    /// The prepared bytes of the line (prepared before the handler is installed: a handler may not allocate).
    nonisolated(unsafe) private static var line: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) private static var length = 0

    /// Installs the handler. `terminal`: standard error is a terminal, so a status line is first cleared.
    static func install(terminal: Bool) {
        let text = (terminal ? "\r\u{1B}[K" : "") + message
        line = strdup(text)
        length = text.utf8.count
        signal(SIGINT) { _ in
            if let line = BuildInterruption.line { _ = write(2, line, BuildInterruption.length) }
            _exit(BuildInterruption.status)
        }
    }
}
