// `lhindex info`: what an index holds: model, settings, tokens, chunks, bytes on disk, bytes per token, ratio;
// for a corpus directory, the same per document and the totals.
import Foundation
import LHCore
import LHStore

/// Describes a `.lhx` index, or every bundle of a corpus directory, without loading the model.
struct InfoCommand: Command {
    static let name = "info"
    static let abstract = "Describe an index: model, settings, document, sizes and compression."
    static let usage = "INDEX [--json]"
    static let discussion = """
    Reads index.sqlite and the file sizes of the bundle. The compression ratio compares kv.zst with
    the raw keys and values (layers · KV heads · (key row + value row + scales) bytes per token;
    int8, k8v4, k5v4 and k4v4 rows carry a 2-byte scale, their 4-bit values take half a byte per element, and
    k5v4's 40-level and k4v4's 16-level key codes a byte each, which zstd then stores in about 5 and 3.6 bits).
    INDEX may be a corpus directory: then the model, settings and compression of its first bundle (and
    whether the others differ), one line per document and the totals.
    """
    static let options: [OptionSpec] = [OptionSpec("json", help: "Print one JSON object.")]

    let index: String
    let json: Bool

    init(arguments a: ParsedArguments) throws {
        guard a.positional.count == 1 else {
            throw UsageError(a.positional.isEmpty ? "missing INDEX (a .lhx bundle or a directory of them)" : "give exactly one index")
        }
        index = a.positional[0]
        json = a.flag("json")
    }

    struct Info: Encodable {
        var index: String
        var format_version: Int
        var writer: String
        var model: String
        var model_sha256: String
        var settings: String
        var compression: String
        var source: String
        var source_bytes: Int
        var tokens: Int
        var prefix_tokens: Int
        var chunk_size: Int
        var chunks: Int
        var files: [String: Int]
        var bytes: Int
        var bytes_per_token: Double
        var kv_bytes: Int
        var kv_bytes_per_token: Double
        var raw_kv_bytes_per_token: Int
        var compression_ratio: Double
    }

    /// The files of the bundle at `index` that `info` lists: every required one, and those only some bundles hold.
    static func listed(_ index: String) -> [String] {
        BundleFormat.files + [BundleFormat.representativesFile, BundleFormat.sealedFile].filter {
            FileManager.default.fileExists(atPath: index + "/" + $0)
        }
    }

    /// What the bundle at `index` holds.
    /// - Throws: `LHError` when it is missing, damaged or not completely built.
    static func describe(_ index: String) throws -> Info {
        switch RegularFile.kind(of: index) {
        case let .missing(errno): throw LHError.io(path: index, call: "open", errno: errno)
        case .directory: break
        default: throw LHError.badFile(path: index, reason: "not an index (a .lhx bundle or a directory of them)")
        }
        let db = try IndexDatabase.open(path: index + "/" + BundleFormat.database)
        let m = try db.metadata()
        guard let state = try db.buildState(), state.complete else {
            throw LHError.badFile(path: db.path, reason: "the index build is not complete")
        }
        var files: [String: Int] = [:]
        for f in Self.listed(index) {
            let attrs = try? FileManager.default.attributesOfItem(atPath: index + "/" + f)
            files[f] = (attrs?[.size] as? NSNumber)?.intValue ?? 0
        }
        let total = files.values.reduce(0, +), n = m.document.tokens, lay = m.layout
        let raw = lay.layers * lay.kvHeads * lay.payloadBytes(rows: 1)
        let kv = files[BundleFormat.kvFile] ?? 0
        return Info(index: index, format_version: BundleFormat.formatVersion, writer: m.writer, model: m.model.name,
                    model_sha256: m.model.sha256, settings: LongHeadsOptions.describe(m.settings),
                    compression: "zstd level \(m.codec.level), byte shuffle \(m.codec.shuffle ? "on" : "off")",
                    source: m.document.sourcePath, source_bytes: m.document.sourceBytes, tokens: n,
                    prefix_tokens: m.document.prefixTokens, chunk_size: lay.chunkSize, chunks: (n + lay.chunkSize - 1) / lay.chunkSize,
                    files: files, bytes: total, bytes_per_token: Double(total) / Double(n), kv_bytes: kv,
                    kv_bytes_per_token: Double(kv) / Double(n), raw_kv_bytes_per_token: raw,
                    compression_ratio: Double(raw * n) / Double(max(kv, 1)))
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        CorpusPaths.isCorpusDirectory(index) ? try describeCorpus(try CorpusPaths.bundles([index]), io) : try describeBundle(io)
    }

    private func describeBundle(_ io: TerminalIO) throws -> Int32 {
        let info = try Self.describe(index)
        if json {
            io.out(String(decoding: try CommandJSON.encoder().encode(info), as: UTF8.self) + "\n")
            return 0
        }
        var s = """
        index:       \(index) (format \(info.format_version), written by \(info.writer))
        model:       \(info.model) (sha256 \(info.model_sha256))
        settings:    \(info.settings)
        compression: \(info.compression)
        document:    \(info.source) (\(info.source_bytes) bytes)
        tokens:      \(info.tokens) (\(info.prefix_tokens) template prefix) in \(info.chunks) chunks of \(info.chunk_size)

        """
        for f in Self.listed(index) { s += "  " + f.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%12ld bytes\n", info.files[f] ?? 0) }
        s += String(format: "total:       %ld bytes, %.0f bytes/token (keys and values %.0f bytes/token, raw %ld: ratio %.2f)\n",
                    info.bytes, info.bytes_per_token, info.kv_bytes_per_token, info.raw_kv_bytes_per_token, info.compression_ratio)
        io.out(s)
        return 0
    }

    /// A corpus directory's bundles, in `ask`'s order, with their totals.
    struct CorpusInfo: Encodable {
        var index: String
        var documents: [Info]
        var tokens: Int
        var bytes: Int
        var bytes_per_token: Double
        var kv_bytes_per_token: Double
    }

    private func describeCorpus(_ bundles: [(directory: String, name: String)], _ io: TerminalIO) throws -> Int32 {
        let docs = try bundles.map { try Self.describe($0.directory) }
        let tokens = docs.reduce(0) { $0 + $1.tokens }, bytes = docs.reduce(0) { $0 + $1.bytes }
        let kv = docs.reduce(0) { $0 + $1.kv_bytes }
        let corpus = CorpusInfo(index: index, documents: docs, tokens: tokens, bytes: bytes,
                                bytes_per_token: Double(bytes) / Double(max(tokens, 1)), kv_bytes_per_token: Double(kv) / Double(max(tokens, 1)))
        if json {
            io.out(String(decoding: try CommandJSON.encoder().encode(corpus), as: UTF8.self) + "\n")
            return 0
        }
        let first = docs[0]
        /// The first bundle's value, and how many others differ (`refused`: ask refuses the corpus then, as for another
        /// model; the settings line also holds question-time settings, which may differ).
        func shared(_ value: (Info) -> String, refused: Bool = true) -> String {
            let others = docs.dropFirst().filter { value($0) != value(first) }.count
            guard others > 0 else { return value(first) }
            return value(first) + " (\(others) other document\(others == 1 ? " differs" : "s differ")\(refused ? ": ask refuses this corpus" : ""))"
        }
        var s = """
        corpus:      \(index) (\(docs.count) documents, format \(first.format_version))
        model:       \(shared { "\($0.model) (sha256 \($0.model_sha256))" })
        settings:    \(shared(\.settings, refused: false))
        compression: \(shared(\.compression, refused: false))

        """
        let width = min(40, bundles.map(\.name.count).max() ?? 0)
        for (b, d) in zip(bundles, docs) {
            s += "  " + Printable.escaped(b.name).padding(toLength: max(width, 1), withPad: " ", startingAt: 0)
                + String(format: " %10ld tokens %14ld bytes %8.0f bytes/token\n", d.tokens, d.bytes, d.bytes_per_token)
        }
        s += String(format: "total:       %ld tokens, %ld bytes, %.0f bytes/token (keys and values %.0f bytes/token)\n",
                    tokens, bytes, corpus.bytes_per_token, corpus.kv_bytes_per_token)
        io.out(s)
        return 0
    }
}
