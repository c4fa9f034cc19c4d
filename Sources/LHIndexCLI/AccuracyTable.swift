// Accuracy per (configuration, length) cell of a retrieval evaluation, as JSON cells and a text table.
import Foundation
import LHEngine
import LHEval

/// What the table needs of a scored trial (a sweep's prompt or a haystack's question).
protocol ScoredTrial {
    var configuration: String { get }
    var mode: AttentionMode { get }
    var length: Int { get }
    var tokens: Int { get }
    var correct: Bool { get }
    /// Seconds of the trial, the document's shared work included where it was counted.
    var totalSeconds: Double { get }
}

extension SweepTrial: ScoredTrial {
    var totalSeconds: Double { seconds + prefillSeconds }
}

extension HaystackTrial: ScoredTrial {
    var totalSeconds: Double { seconds + documentSeconds }
}

/// Accumulates trials into cells.
struct AccuracyTable {
    /// One (configuration, length) cell.
    struct Cell: Encodable {
        var configuration: String
        var mode: AttentionMode
        var length: Int
        /// Mean prompt tokens.
        var tokens: Int
        var trials: Int
        var correct: Int
        var accuracy: Double
        /// Mean seconds per trial, the shared prefill counted in full.
        var secondsPerTrial: Double
        /// Prompt tokens per second over the whole trial (shared prefill included).
        var tokensPerSecond: Double
    }

    let configurations: [String]
    private var trials: [String: [any ScoredTrial]] = [:]
    private var lengths: [Int] = []

    init(configurations: [String]) { self.configurations = configurations }

    mutating func add(_ t: any ScoredTrial) {
        if !lengths.contains(t.length) { lengths.append(t.length) }
        trials["\(t.configuration)\t\(t.length)", default: []].append(t)
    }

    var cells: [Cell] {
        configurations.flatMap { name in
            lengths.compactMap { length -> Cell? in
                guard let ts = trials["\(name)\t\(length)"], let first = ts.first else { return nil }
                let seconds = ts.reduce(0) { $0 + $1.totalSeconds }
                let tokens = ts.reduce(0) { $0 + $1.tokens }
                let correct = ts.filter(\.correct).count
                return Cell(configuration: name, mode: first.mode, length: length, tokens: tokens / ts.count, trials: ts.count,
                            correct: correct, accuracy: Double(correct) / Double(ts.count),
                            secondsPerTrial: seconds / Double(ts.count), tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0)
            }
        }
    }

    /// One row per configuration, one "correct/trials" column per length, then mean seconds per trial.
    func render() -> String {
        let width = max(13, (configurations.map(\.count).max() ?? 0) + 2)
        var out = "configuration".padding(toLength: width, withPad: " ", startingAt: 0)
        for l in lengths { out += (l % 1024 == 0 ? "\(l / 1024)k" : "\(l)").leftPadded(9) }
        out += "   s/trial\n"
        let all = cells
        for name in configurations {
            var row = name.padding(toLength: width, withPad: " ", startingAt: 0)
            var seconds: [Double] = []
            for l in lengths {
                if let c = all.first(where: { $0.configuration == name && $0.length == l }) {
                    row += "\(c.correct)/\(c.trials)".leftPadded(9)
                    seconds.append(c.secondsPerTrial)
                } else {
                    row += "-".leftPadded(9)
                }
            }
            row += seconds.isEmpty ? "" : "   " + seconds.map { String(format: "%.1f", $0) }.joined(separator: "/")
            out += row + "\n"
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
