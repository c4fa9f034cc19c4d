// Runs the built `lhindex` binary with a time limit, so a test of a former hang fails instead of blocking the suite.
import Foundation
import XCTest

/// One finished (or stopped) run of the binary.
struct BinaryRun {
    let status: Int32
    let out: String
    let err: String
    /// Whether the run was stopped at the time limit.
    let timedOut: Bool
}

enum BinaryRunner {
    /// Runs `lhindex args` (in `directory` when given, with `environment` added to this process's) with
    /// standard input `stdin` (closed after writing), stopping it after `timeout` seconds.
    static func run(_ args: [String], stdin: String? = nil, directory: String? = nil, environment: [String: String] = [:],
                    timeout: Double = 120) throws -> BinaryRun {
        try run(executable: CLITests.binary.standardizedFileURL, args, stdin: stdin, directory: directory,
                environment: environment, timeout: timeout)
    }

    /// Runs any `executable` the same way (for `bash -c`, `/usr/bin/env TOOL`, ...).
    static func run(executable: URL, _ args: [String], stdin: String? = nil, directory: String? = nil,
                    environment: [String: String] = [:], timeout: Double = 120) throws -> BinaryRun {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        let watch = Watch(p)
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { watch.stopIfRunning() }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return BinaryRun(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self),
                         err: String(decoding: e, as: UTF8.self), timedOut: watch.stopped)
    }

    /// Starts `lhindex args` without waiting for it: the process, and the pipe of its standard error (standard
    /// output goes nowhere).
    static func start(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = CLITests.binary.standardizedFileURL
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    /// Stops a process at the time limit and remembers that it did.
    final class Watch: @unchecked Sendable {
        private let process: Process
        private let lock = NSLock()
        private var didStop = false
        init(_ p: Process) { process = p }
        func stopIfRunning() {
            lock.lock(); defer { lock.unlock() }
            if process.isRunning { didStop = true; process.terminate() }
        }
        var stopped: Bool { lock.lock(); defer { lock.unlock() }; return didStop }
    }

    /// Creates a FIFO at `path`.
    static func mkfifo(_ path: String) {
        precondition(Foundation.mkfifo(path, 0o644) == 0, "mkfifo \(path): errno \(errno)")
    }
}
