// One scratch directory per test process, removed when the process exits, so test runs leave nothing in /tmp.
import Foundation

public enum TestTemporary {
    /// `$TMPDIR/lhindex-tests-<pid>`, created on first use; removed at exit.
    public static let directory: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("lhindex-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestTemporary.directory) }
        return d
    }()

    /// A fresh path in the scratch directory whose last component ends with `name`.
    public static func path(_ name: String) -> String {
        directory + "/" + UUID().uuidString + "-" + name
    }

    /// A fresh path as a file URL.
    public static func url(_ name: String) -> URL { URL(fileURLWithPath: path(name)) }
}
