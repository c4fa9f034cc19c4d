// Which .lhx bundles the INDEX arguments of `ask` name: bundles themselves, or directories searched for them.
import Foundation
import LHCore

/// Resolves `ask`'s INDEX arguments to bundles and the names citations give them.
enum CorpusPaths {
    /// `paths` in order: a bundle (a directory holding index.sqlite) stands for itself, named by its file
    /// name; any other directory for every bundle below it, sorted by path and named by that path
    /// relative to it; `.lhx` is dropped from names. A bundle named twice is asked once.
    /// - Throws: `LHError` when a path is missing or a directory holds no bundle.
    static func bundles(_ paths: [String]) throws -> [(directory: String, name: String)] {
        var out: [(directory: String, name: String)] = [], seen = Set<String>()
        func add(_ directory: String, _ name: String) {
            let key = (directory as NSString).standardizingPath
            if seen.insert(key).inserted { out.append((directory, name)) }
        }
        for raw in paths {
            let path = raw.count > 1 && raw.hasSuffix("/") ? String(raw.dropLast()) : raw
            if !isCorpusDirectory(path) {
                add(path, stripped((path as NSString).lastPathComponent))   // a missing path is reported when opened
                continue
            }
            let found = try bundles(under: path)
            guard !found.isEmpty else { throw LHError.invalidInput("\(path): no .lhx index found below it; build one with 'lhindex build'") }
            for rel in found { add(path + "/" + rel, stripped(rel)) }
        }
        return out
    }

    /// Paths (relative to `root`, sorted) of the bundles below `root`; the inside of a bundle and unfinished
    /// builds (`.partial`) are not searched.
    static func bundles(under root: String) throws -> [String] {
        var found: [String] = []
        func walk(_ rel: String) throws {
            let dir = rel.isEmpty ? root : root + "/" + rel
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                throw LHError.invalidInput("\(dir): cannot list the directory")
            }
            for e in entries.sorted() {
                let r = rel.isEmpty ? e : rel + "/" + e, full = root + "/" + r
                guard isDirectory(full), !e.contains(".lhx.") else { continue }   // NAME.lhx.partial, NAME.lhx.old-PID
                if isBundle(full) { found.append(r) } else { try walk(r) }
            }
        }
        try walk("")
        return found
    }

    private static func stripped(_ name: String) -> String { name.hasSuffix(".lhx") ? String(name.dropLast(4)) : name }

    private static func isDirectory(_ path: String) -> Bool { RegularFile.kind(of: path) == .directory }

    /// Whether `path` stands for the bundles below it (a directory that is not itself a bundle), not for itself.
    static func isCorpusDirectory(_ path: String) -> Bool { !isBundle(path) && isDirectory(path) }

    /// A bundle: a directory named *.lhx, or any directory holding index.sqlite.
    private static func isBundle(_ path: String) -> Bool {
        path.hasSuffix(".lhx") || FileManager.default.fileExists(atPath: path + "/index.sqlite")
    }
}
