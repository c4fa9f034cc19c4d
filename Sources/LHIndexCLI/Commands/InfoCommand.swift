// `lhindex info`: what an index holds: model, settings, tokens, chunks, bytes on disk, bytes per token, ratio.
import Foundation
import LHCore
import LHStore

/// Describes a `.lhx` index without loading the model.
struct InfoCommand: Command {
    static let name = "info"
    static let abstract = "Describe an index: model, settings, document, sizes and compression."
    static let usage = "DOC.lhx [--json]"
    static let discussion = """
    Reads index.sqlite and the file sizes of the bundle. The compression ratio compares kv.zst with
    the raw keys and values (layers · KV heads · (key row + value row + scales) bytes per token;
    int8, k8v4, k5v4 and k4v4 rows carry a 2-byte scale, their 4-bit values take half a byte per element, and
    k5v4's 40-level and k4v4's 16-level key codes a byte each, which zstd then stores in about 5 and 3.6 bits).
    """
    static let options: [OptionSpec] = [OptionSpec("json", help: "Print one JSON object.")]

    let index: String
    let json: Bool

    init(arguments a: ParsedArguments) throws {
        guard a.positional.count == 1 else { throw UsageError(a.positional.isEmpty ? "missing DOC.lhx" : "give exactly one index") }
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
        var chunks: Int
        var files: [String: Int]
        var bytes: Int
        var bytes_per_token: Double
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

    func run(_ io: TerminalIO) throws -> Int32 {
        guard FileManager.default.fileExists(atPath: index) else { throw LHError.io(path: index, call: "open", errno: ENOENT) }
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
        let info = Info(index: index, format_version: BundleFormat.formatVersion, writer: m.writer, model: m.model.name,
                        model_sha256: m.model.sha256, settings: LongHeadsOptions.describe(m.settings),
                        compression: "zstd level \(m.codec.level), byte shuffle \(m.codec.shuffle ? "on" : "off")",
                        source: m.document.sourcePath, source_bytes: m.document.sourceBytes, tokens: n,
                        prefix_tokens: m.document.prefixTokens, chunks: (n + lay.chunkSize - 1) / lay.chunkSize, files: files,
                        bytes: total, bytes_per_token: Double(total) / Double(n), kv_bytes_per_token: Double(kv) / Double(n),
                        raw_kv_bytes_per_token: raw, compression_ratio: Double(raw * n) / Double(max(kv, 1)))
        if json {
            let enc = CommandJSON.encoder()
            io.out(String(decoding: try enc.encode(info), as: UTF8.self) + "\n")
            return 0
        }
        var s = """
        index:       \(index) (format \(info.format_version), written by \(info.writer))
        model:       \(info.model) (sha256 \(info.model_sha256))
        settings:    \(info.settings)
        compression: \(info.compression)
        document:    \(info.source) (\(info.source_bytes) bytes)
        tokens:      \(n) (\(info.prefix_tokens) template prefix) in \(info.chunks) chunks of \(lay.chunkSize)

        """
        for f in Self.listed(index) { s += "  " + f.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%12ld bytes\n", files[f] ?? 0) }
        s += String(format: "total:       %ld bytes, %.0f bytes/token (keys and values %.0f bytes/token, raw %ld: ratio %.2f)\n",
                    total, info.bytes_per_token, info.kv_bytes_per_token, raw, info.compression_ratio)
        io.out(s)
        return 0
    }
}
