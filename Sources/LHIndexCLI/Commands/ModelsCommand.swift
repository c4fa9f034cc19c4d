// `lhindex models`: the models lhindex knows by name and the model files in the cache, with their sizes.
import Foundation
import LHCore
import LHModel

/// Lists the known and the cached models.
struct ModelsCommand: Command {
    static let name = "models"
    static let abstract = "List the models lhindex knows by name and the model files in the cache."
    static let usage = "[--json]"
    static let discussion = """
    Known models are fetched into the cache with 'make model MODEL=NAME' (the file's sha256 is checked); any
    other .gguf file copied into the cache ($LHINDEX_HOME/models, default ~/.cache/lhindex/models) is listed
    too. Every command that loads a model takes -m NAME for either, or -m PATH for a file anywhere.
    """
    static let options: [OptionSpec] = [OptionSpec("json", help: "Print one JSON object per model, one per line.")]

    let json: Bool

    init(arguments a: ParsedArguments) throws {
        guard a.positional.isEmpty else { throw UsageError("'models' takes no arguments") }
        json = a.flag("json")
    }

    struct Row: Encodable {
        var name: String
        var file: String
        var bytes: Int?
        var architecture: String?
        var cached: Bool
        var summary: String
    }

    func rows() -> [Row] {
        let dir = ModelLocator.cacheDirectory
        let cachedFiles = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        func size(_ file: String) -> Int? {
            (try? FileManager.default.attributesOfItem(atPath: dir + "/" + file))?[.size] as? Int
        }
        func architecture(_ file: String) -> String? {
            (try? GGUFFile(path: dir + "/" + file, metadataOnly: true))?.string(GGUFKey.architecture)
        }
        var rows = KnownModel.all.map { m in
            let cached = cachedFiles.contains(m.file)
            return Row(name: m.name, file: m.file, bytes: size(m.file) ?? m.bytes, architecture: cached ? architecture(m.file) : nil,
                       cached: cached, summary: m.summary)
        }
        for f in cachedFiles where !KnownModel.all.contains(where: { $0.file == f }) {
            rows.append(Row(name: String(f.dropLast(5)), file: f, bytes: size(f), architecture: architecture(f), cached: true,
                            summary: "a file in the cache"))
        }
        return rows
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let rows = rows()
        if json {
            let encoder = CommandJSON.encoder()
            for r in rows { io.out(String(decoding: try encoder.encode(r), as: UTF8.self) + "\n") }
            return 0
        }
        let nameWidth = max(4, rows.map(\.name.count).max() ?? 0) + 2
        io.out("NAME".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "SIZE     ARCH     STATUS        ABOUT\n")
        for r in rows {
            let size = r.bytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "?"
            let status = r.cached ? "cached" : "make model MODEL=\(r.name)"
            io.out(r.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                   + size.padding(toLength: 9, withPad: " ", startingAt: 0)
                   + (r.architecture ?? "-").padding(toLength: 9, withPad: " ", startingAt: 0)
                   + (r.cached ? status.padding(toLength: 14, withPad: " ", startingAt: 0) : status + "  ")
                   + r.summary + "\n")
        }
        io.out("\ncache: \(ModelLocator.cacheDirectory)\n")
        return 0
    }
}
