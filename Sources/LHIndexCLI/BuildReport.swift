// What `lhindex build` did to each document: the one-line results, the closing summary and the --json object.
import Foundation
import LHStore

/// How much `lhindex build` prints.
enum BuildVerbosity {
    /// Header, progress, a line per document, summary.
    case normal
    /// Errors and warnings only (`--quiet`).
    case quiet
    /// Errors and warnings on standard error, progress only on a terminal, one JSON object on standard output (`--json`).
    case json

    /// Whether the header, the per-document results and the summary are printed.
    var narrates: Bool { self == .normal }

    /// Where progress goes, given whether standard error is a terminal.
    func progressStyle(terminal: Bool) -> BuildProgressReporter.Style {
        switch self {
        case .normal: return terminal ? .terminal : .lines
        case .quiet: return .off
        case .json: return terminal ? .terminal : .off
        }
    }
}

/// The documents of one build and what became of them.
final class BuildReport {
    /// What became of a document (or of an index whose document is gone).
    enum Status: String, Encodable {
        case built, current, skipped, failed, interrupted
        /// An index whose document is no longer there (kept; `--prune` removes it).
        case gone
        /// Such an index, removed by `--prune`.
        case removed
    }

    /// One document, as --json lists it.
    struct Document: Encodable {
        /// The document's path as given (or the index's, for gone and removed ones).
        var name: String
        var status: Status
        /// Its index, when it has one.
        var bundle: String?
        /// Tokens of the document (0 when it was not read).
        var tokens = 0
        /// Bytes of its index on disk.
        var bytes = 0
        /// Seconds spent on it in this run.
        var seconds = 0.0
        /// Why it was skipped or failed.
        var reason: String?
    }

    /// The counts and sums of a build.
    struct Totals: Encodable {
        var built = 0, current = 0, skipped = 0, failed = 0, gone = 0, tokens = 0, bytes = 0
        var seconds = 0.0
    }

    /// The --json object.
    struct Summary: Encodable {
        var model: String?
        var modelFile: String?
        var outputDirectories: [String]
        var documents: [Document]
        var totals: Totals
        /// The command to ask the index with, when something was indexed.
        var next: String?
    }

    private(set) var documents: [Document] = []
    private let started = Date()
    /// The model's readable name and its file, once loaded.
    var model: (name: String, file: String)?

    /// Adds a document that is not built (skipped, failed, gone, removed).
    func add(_ name: String, _ status: Status, reason: String? = nil, seconds: Double = 0) {
        documents.append(Document(name: name, status: status, seconds: seconds, reason: reason))
    }

    /// Records what `IndexBuilder.build` did to `name` in `seconds` and returns the line that says so.
    func record(_ name: String, bundle: String, outcome: BuildOutcome, seconds: Double) -> String {
        var d = Document(name: name, status: .built, bundle: bundle, bytes: CorpusUpkeep.bytesOnDisk(bundle), seconds: seconds)
        let line: String
        switch outcome {
        case let .built(tokens, resumed, buildSeconds):
            d.tokens = tokens
            let rate = Double(tokens - resumed) / max(buildSeconds, 1e-9)
            line = "built \(bundle): \(BuildHeader.number(tokens)) tokens in \(String(format: "%.1f", buildSeconds)) s (\(String(format: "%.0f", rate)) tokens/s)"
                + (resumed > 0 ? ", resumed at token \(BuildHeader.number(resumed))" : "")
        case let .published(tokens):
            d.tokens = tokens
            line = "built \(bundle): \(BuildHeader.number(tokens)) tokens, completed by an interrupted run and now moved into place"
        case let .upToDate(tokens):
            (d.tokens, d.status) = (tokens, .current)
            line = "current \(bundle): \(BuildHeader.number(tokens)) tokens, unchanged"
        case let .interrupted(complete):
            (d.tokens, d.status, d.bytes) = (complete, .interrupted, 0)
            line = "stopped \(bundle) at token \(BuildHeader.number(complete))"
        }
        documents.append(d)
        return line
    }

    /// The counts and sums; `bytes` is what the output directories hold on disk.
    func totals(bytes: Int) -> Totals {
        var t = Totals(bytes: bytes, seconds: Date().timeIntervalSince(started))
        for d in documents {
            switch d.status {
            case .built: t.built += 1
            case .current: t.current += 1
            case .skipped: t.skipped += 1
            case .failed, .interrupted: t.failed += 1
            case .gone: t.gone += 1
            case .removed: break
            }
            if d.status == .built || d.status == .current { t.tokens += d.tokens }
        }
        return t
    }

    /// Whether some document has an index now.
    var indexedAny: Bool { documents.contains { $0.status == .built || $0.status == .current } }

    /// The `ask` command to run next, when something was indexed.
    func next(outputs: [String]) -> String? {
        guard indexedAny, let dir = outputs.first else { return nil }
        return "lhindex ask \(dir) \"your question\""
    }

    /// The closing lines: counts, tokens, bytes on disk and seconds, then the command to run next.
    /// `shard` ("2/3") labels a shard's build, whose summary also counts the documents left to other shards.
    func summaryLines(outputs: [String], bytes: Int, shard: String? = nil, otherShards: Int = 0) -> [String] {
        let t = totals(bytes: bytes)
        let label = shard.map { "shard \($0):" } ?? "done:"
        let others = shard != nil ? ", \(otherShards) in other shards" : ""
        var lines = [label + " \(t.built) built, \(t.current) current, \(t.skipped) skipped, \(t.failed) failed"
                     + (t.gone > 0 ? ", \(t.gone) gone" : "") + others + "; \(BuildHeader.number(t.tokens)) tokens, "
                     + String(format: "%.1f MB on disk, %.1f s", Double(bytes) / 1e6, t.seconds)]
        if let next = next(outputs: outputs) { lines.append("next: " + next) }
        return lines
    }

    /// The --json object, on one line.
    func json(outputs: [String], bytes: Int) throws -> String {
        let s = Summary(model: model?.name, modelFile: model?.file, outputDirectories: outputs, documents: documents,
                        totals: totals(bytes: bytes), next: next(outputs: outputs))
        return String(decoding: try CommandJSON.encoder().encode(s), as: UTF8.self) + "\n"
    }
}
