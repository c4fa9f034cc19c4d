// Build progress: a redrawn `\r` status line on a terminal, plain log lines otherwise.
import Foundation
import LHCore

/// Reports per-document and overall progress of `lhindex build` on standard error.
final class BuildProgressReporter {
    private let io: TerminalIO
    private let terminal: Bool
    private let totalBytes: Int
    private var doneBytes = 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var lineShown = false

    /// `totalBytes`: the bytes of every document to build (overall progress is measured in bytes).
    init(io: TerminalIO, totalBytes: Int, terminal: Bool? = nil) {
        self.io = io
        self.totalBytes = max(totalBytes, 1)
        self.terminal = terminal ?? io.stderrIsTerminal
    }

    static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    /// A line that is not progress (skips, errors, results): clears the status line first.
    func log(_ s: String) {
        if lineShown { io.err("\r\u{1B}[K"); lineShown = false }
        io.err(Printable.escaped(s) + "\n")
    }

    /// Called after each committed batch of document `name` (`bytes` long).
    /// On a terminal the status line is redrawn at most 5 times a second; otherwise a plain line
    /// is logged at most every 30 seconds (long builds in logs still show they are alive).
    func update(name: String, index: Int, count: Int, bytes: Int, done: Int, total: Int, resumed: Int, seconds: Double) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > (terminal ? 0.2 : 30) || (terminal && done == total) else { return }
        if !terminal && done == total { return }
        lastDraw = now
        let rate = seconds > 0 ? Double(done - resumed) / seconds : 0
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let overallDone = Double(doneBytes) + Double(bytes) * Double(done) / Double(max(total, 1))
        let elapsed = now.timeIntervalSince(started)
        let overallEta = overallDone > 0 ? elapsed * (Double(totalBytes) / overallDone - 1) : .infinity
        let pct = 100 * done / max(total, 1)
        let shortName = Printable.escaped(name.count > 32 ? "…" + name.suffix(31) : name)
        let s = String(format: "[%d/%d] %@ %3d%% %d/%d tok %.0f tok/s ETA %@ | all %.0f%% ETA %@",
                       index, count, shortName, pct, done, total, rate, Self.clock(eta),
                       100 * overallDone / Double(totalBytes), Self.clock(overallEta))
        if terminal {
            io.err("\r\u{1B}[K" + s)
            lineShown = true
        } else {
            io.err(s + "\n")
        }
    }

    /// A document is finished (built, current, failed or skipped): counts its bytes as done.
    func finish(bytes: Int) { doneBytes += bytes }
}
