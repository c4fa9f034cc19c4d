// Build progress from the first second: one status line redrawn in place on a terminal, a plain line every
// 10 seconds in a log, with one estimate of the time left for the whole build.
import Foundation
import LHCore
import LHStore

/// Reports the progress of `lhindex build` on standard error. A timer draws it every second, so a build shows
/// progress before its first batch of tokens is done; the builder's reports (`update`) refresh the figures.
final class BuildProgressReporter: @unchecked Sendable {   // every mutable field is guarded by `lock`
    /// Where progress goes.
    enum Style {
        /// A status line redrawn in place (`\r`), at most 5 times a second and at least once a second.
        case terminal
        /// A plain line 1 second after the start, then every 10 seconds.
        case lines
        /// Nowhere (`--quiet`, or `--json` without a terminal).
        case off
    }

    let style: Style
    private let io: TerminalIO
    private let lock = NSLock()
    private let totalBytes: Int
    private var timer: DispatchSourceTimer?
    // The document being built.
    private var index = 0, count = 0, name = "", bytes = 0
    private var done = 0, total = 0, resumed = 0, reportedSeconds = 0.0
    private var documentStarted = Date(), reportedAt: Date? = nil
    // Finished documents: their bytes, and the bytes, tokens and seconds of the work this run did on them.
    private var finishedBytes = 0, workBytes = 0.0, workSeconds = 0.0, workTokens = 0
    // Output.
    private var lineShown = false, lastDraw = Date.distantPast, lastLine: Date? = nil

    /// `totalBytes`: the bytes of every document to build (the overall share and the time left are measured in bytes).
    init(io: TerminalIO, totalBytes: Int, style: Style) {
        self.io = io
        self.totalBytes = max(totalBytes, 1)
        self.style = style
    }

    /// Starts the timer that draws progress every second.
    func start() {
        guard style != .off else { return }
        let t = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in self?.tick() }
        t.resume()
        timer = t
    }

    /// Stops the timer and clears the status line.
    func stop() {
        timer?.cancel()
        timer = nil
        lock.withLock { clearLine() }
    }

    /// Document `index` of `count` (`bytes` long) starts.
    func begin(name: String, index: Int, count: Int, bytes: Int) {
        lock.withLock {
            (self.name, self.index, self.count, self.bytes) = (name, index, count, bytes)
            (done, total, resumed, reportedSeconds, reportedAt, documentStarted) = (0, 0, 0, 0, nil, Date())
        }
    }

    /// The builder committed a batch of the current document.
    func update(_ p: BuildProgress) {
        lock.withLock {
            (done, total, resumed, reportedSeconds, reportedAt) = (p.doneTokens, p.totalTokens, p.resumedTokens, p.seconds, Date())
            if style == .terminal, Date().timeIntervalSince(lastDraw) > 0.2 { draw() }
        }
    }

    /// The current document is finished; `work` is what this run built of it (nil when it was current, skipped or failed).
    func finish(work: (tokens: Int, resumed: Int, seconds: Double)?) {
        lock.withLock {
            finishedBytes += bytes
            if let w = work, w.tokens > 0 {
                workBytes += Double(bytes) * Double(w.tokens - w.resumed) / Double(w.tokens)
                workSeconds += w.seconds
                workTokens += w.tokens - w.resumed
            }
            (name, bytes, done, total, resumed, reportedSeconds, reportedAt) = ("", 0, 0, 0, 0, 0, nil)
        }
    }

    /// A line that is not progress (a result, a warning, an error): clears the status line first.
    func log(_ s: String) {
        lock.withLock {
            clearLine()
            io.err(Printable.escaped(s) + "\n")
        }
    }

    /// "1:05", or "1:02:03" past an hour.
    static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    /// The status text at `now`: the document and its tokens so far, the rate of the whole run, the share of the
    /// whole build done and the one estimate of the time it has left, e.g.
    /// `[2/5] apache-2.0.txt: 512/2,239 tokens, 193 tokens/s · all 4%, 1:53 left`.
    func status(now: Date = Date()) -> String {
        var s = "[\(index)/\(count)] " + Printable.escaped(name.count > 24 ? "…" + name.suffix(23) : name) + ": "
        let tokens = workTokens + (total > 0 ? done - resumed : 0)
        let seconds = workSeconds + (total > 0 ? reportedSeconds : 0)
        if total > 0 {
            s += "\(BuildHeader.number(done))/\(BuildHeader.number(total)) tokens"
        } else {
            s += "starting (\(Self.clock(now.timeIntervalSince(documentStarted))))"
        }
        if seconds > 0, tokens > 0 { s += String(format: ", %.0f tokens/s", Double(tokens) / seconds) }
        let currentBytes = total > 0 ? Double(bytes) * Double(done) / Double(total) : 0
        let share = min(1, (Double(finishedBytes) + currentBytes) / Double(totalBytes))
        s += String(format: " · all %.0f%%, ", 100 * share)
        let work = workBytes + (total > 0 ? Double(bytes) * Double(done - resumed) / Double(total) : 0)
        guard seconds > 0, work > 0 else { return s + "estimating time left" }
        let remaining = max(0, Double(totalBytes) - Double(finishedBytes) - currentBytes)
        let sinceFigures = now.timeIntervalSince(reportedAt ?? documentStarted)
        return s + Self.clock(max(0, remaining * seconds / work - sinceFigures)) + " left"
    }

    // MARK: drawing (with `lock` held)

    private func tick() {
        lock.withLock {
            let now = Date()
            guard count > 0 else { return }
            switch style {
            case .terminal:
                draw()
            case .lines:
                guard now.timeIntervalSince(lastLine ?? .distantPast) >= 10 else { return }
                lastLine = now
                io.err(status(now: now) + "\n")
            case .off:
                break
            }
        }
    }

    private func draw() {
        lastDraw = Date()
        let columns = Self.terminalColumns()
        var line = status(now: lastDraw)
        if line.count >= columns { line = String(line.prefix(columns - 2)) + "…" }
        io.err("\r\u{1B}[K" + line)
        lineShown = true
    }

    private func clearLine() {
        if lineShown { io.err("\r\u{1B}[K"); lineShown = false }
    }

    /// The width of the terminal on standard error (80 when unknown): a longer status line would wrap and
    /// could not be redrawn in place.
    static func terminalColumns() -> Int {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 10 ? Int(size.ws_col) : 80
    }
}
