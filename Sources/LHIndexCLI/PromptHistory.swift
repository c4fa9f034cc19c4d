// The interactive session's history file: one line per entry, appended as lines are entered, bounded.
import Foundation
import LHCore
import LHStore

/// The lines entered at `lhindex ask`'s prompt, kept in `$LHINDEX_HOME/history` across sessions.
///
/// Each line is appended to the file when it is entered (`O_APPEND`, so sessions running side by side lose
/// nothing); opening the history keeps only the last `limit` lines, rewriting the file atomically when it
/// has grown past twice that.
struct PromptHistory {
    /// The history file under `ModelLocator.home`.
    static var defaultPath: String { ModelLocator.home + "/history" }
    /// Lines kept (the default bound of shells and REPLs).
    static let defaultLimit = 1000

    let path: String
    let limit: Int
    /// The last `limit` lines of the file when it was opened, oldest first.
    let entries: [String]

    /// Reads `path` (a missing file is an empty history). A file that cannot be read or trimmed leaves the
    /// history empty or untrimmed: history is a convenience, never a reason to refuse questions.
    init(path: String = Self.defaultPath, limit: Int = Self.defaultLimit) {
        self.path = path
        self.limit = limit
        let text = (try? TextFile.read(path)) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        entries = Array(lines.suffix(limit))
        if lines.count > 2 * limit {
            try? PosixFile.replaceAtomically(path, with: Array(entries.map { $0 + "\n" }.joined().utf8))
        }
    }

    /// Appends `line` to the file, creating it (and `$LHINDEX_HOME`) when missing. Errors are ignored for
    /// the reason `init` gives.
    func append(_ line: String) {
        guard !line.contains("\n") else { return }
        try? Directory.create((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
