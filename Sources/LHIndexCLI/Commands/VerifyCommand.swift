// `lhindex verify`: checks every frame and the metadata of an index; exit 1 with what is wrong.
import Foundation
import LHCore
import LHStore

/// Verifies `.lhx` indexes: bundles, or every bundle below a corpus directory.
struct VerifyCommand: Command {
    static let name = "verify"
    static let abstract = "Check every checksum of an index (frames, headers, metadata); exit 1 on damage."
    static let usage = "INDEX... [-m MODEL]"
    static let discussion = """
    Checks index.sqlite (application_id, format version, metadata, chunk table, build state), the
    kv.seek and summaries.f32 headers against it, the CRC-32 and the zstd checksum of every key/value
    frame, the whole-file CRC-32s recorded at build time, and the source text's SHA-256. Prints OK or
    one line per problem, naming the file. With -m, also reads the whole model file and checks its
    SHA-256 against the one the index was built with (ask checks it too, hashing a model again only
    when its size, modification time or inode changed). INDEX is a .lhx bundle or a directory: every
    bundle below it is checked, and a last line counts the damaged ones.
    """
    static let options: [OptionSpec] = [
        OptionSpec("model", short: "m", value: "MODEL", help: "Also check that the index was built with this model (a file or a name from 'lhindex models'; its full SHA-256)."),
    ]

    let indexes: [String]
    let modelPath: String?

    init(arguments a: ParsedArguments) throws {
        guard !a.positional.isEmpty else { throw UsageError("missing INDEX (a .lhx bundle or a directory of them)") }
        indexes = try CorpusPaths.bundles(a.positional).map(\.directory)
        modelPath = a.string("model")
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        var damaged = 0
        let model = try modelPath.map { name in
            let p = try ModelLocator.resolveName(name)
            let file = try MappedFile(path: p)
            return (path: p, sha256: SHA256.hex(UnsafeRawBufferPointer(start: file.base, count: file.count)))
        }
        for index in indexes {
            let r = IndexVerifier.verify(directory: index, model: model)
            if r.ok {
                io.out(Printable.line("OK \(index): \(r.frames) frames, \(r.bytes) bytes checked\n"))
            } else {
                damaged += 1
                for p in r.problems { io.err(Printable.line("lhindex: \(p)\n")) }
            }
        }
        if indexes.count > 1 {
            if damaged == 0 { io.out("all \(indexes.count) indexes OK\n") } else { io.err("lhindex: \(damaged) of \(indexes.count) indexes damaged\n") }
        }
        return damaged == 0 ? 0 : 1
    }
}
