// Runs a program on a pseudo-terminal, as a user at a terminal would: its own session with the terminal as
// controlling terminal, so a written 0x03 is Ctrl-C (SIGINT) and the program's isatty(0) is true.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One program on a pseudo-terminal. Everything it writes is collected by a reader thread; `waitFor` scans
/// it from a cursor with a time limit, so a broken program fails the test instead of hanging it.
final class PseudoTerminal: @unchecked Sendable {
    let pid: pid_t
    private let master: Int32
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    /// Where `waitFor` looks from: the end of the last match.
    private(set) var cursor = 0
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` and this process's environment plus `environment`, on a new
    /// terminal of `columns` x `rows`.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         columns: UInt16 = 100, rows: UInt16 = 40) throws {
        // posix_openpt, unlockpt and ptsname are hidden from Swift's Glibc module: their Linux ioctls instead.
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0, number: UInt32 = 0
        let setLock: UInt = 0x4004_5431, getNumber: UInt = 0x8004_5430     // TIOCSPTLCK, TIOCGPTN
        guard m >= 0, ioctl(m, setLock, &unlock) == 0, ioctl(m, getNumber, &number) == 0 else {
            let code = errno
            if m >= 0 { close(m) }
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        master = m
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(m, UInt(TIOCSWINSZ), &size)
        let slave = "/dev/pts/\(number)"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Opened after setsid (glibc's order) and without O_NOCTTY: it becomes the controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        let setsid: Int32 = 0x80    // POSIX_SPAWN_SETSID, which Swift's Glibc module leaves out
        posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { close(m); throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        pid = child
        let thread = Thread { [self] in self.readUntilClosed() }
        thread.start()
    }

    deinit { close(master) }

    /// Copies the terminal's output into `bytes` until the program and its children close the terminal.
    private func readUntilClosed() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }     // EIO once the last slave descriptor is closed
            lock.lock()
            bytes += chunk[0..<n]
            lock.unlock()
        }
    }

    /// Everything written so far, as text.
    var output: String { lock.lock(); defer { lock.unlock() }; return String(decoding: bytes, as: UTF8.self) }

    /// What was written from `from` (a byte offset) to `to` (default: the end).
    func output(from: Int, to: Int? = nil) -> String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: bytes[min(from, bytes.count)..<min(to ?? bytes.count, bytes.count)], as: UTF8.self)
    }

    /// Bytes written so far.
    var count: Int { lock.lock(); defer { lock.unlock() }; return bytes.count }

    /// Types `text` (bytes as they are: "\r" is Return, "\u{03}" Ctrl-C, "\u{1B}[A" the Up key).
    func send(_ text: String) {
        let data = Array(text.utf8)
        _ = data.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Waits until `text` appears after the cursor, then moves the cursor past it.
    /// - Returns: the byte offset where `text` starts, or nil when `timeout` seconds passed first.
    @discardableResult
    func waitFor(_ text: String, timeout: Double) -> Int? {
        let pattern = Array(text.utf8)
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            lock.lock()
            let found = bytes[cursor...].firstRange(of: pattern)
            if let found { cursor = found.upperBound }
            lock.unlock()
            if let found { return found.lowerBound }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    /// Waits until at least `count` bytes were written. - Returns: whether they were before `timeout`.
    func waitForBytes(_ count: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while self.count < count {
            guard Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    /// The exit status once the program has exited normally, -signal when a signal ended it, nil while it runs.
    var status: Int32? {
        if let exitStatus { return exitStatus }
        var s: Int32 = 0
        guard waitpid(pid, &s, WNOHANG) == pid else { return nil }
        exitStatus = s & 0x7F == 0 ? (s >> 8) & 0xFF : -(s & 0x7F)
        return exitStatus
    }

    /// Waits for the program to exit. - Returns: `status`, nil when `timeout` seconds passed first.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while status == nil && Date() < deadline { usleep(20_000) }
        return status
    }

    /// Kills the program (its whole process group) when it still runs.
    func stop() {
        guard status == nil else { return }
        kill(-pid, SIGKILL)
        var s: Int32 = 0
        waitpid(pid, &s, 0)
        exitStatus = -SIGKILL
    }
}
