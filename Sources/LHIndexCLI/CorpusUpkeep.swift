// What `build` does for an output directory as a whole: settings that stick, indexes whose source is gone, disk usage.
import Foundation
import LHCore
import LHEngine
import LHStore

/// The corpus-level part of a build.
enum CorpusUpkeep {
    /// The settings and compression to build with. Given on the command line (`given`), they are used, and
    /// a directory built with others is named (its documents will be rebuilt); given none, the ones the
    /// output directories were built with (corpus.json) are reused, so a plain `build` rebuilds nothing
    /// that is current.
    /// - Throws: `LHError.invalidInput` when no settings are given and two directories were built differently.
    static func settings(given: Bool, settings: LongHeadsSettings, codec: FrameCodecSettings, outputs: [String],
                         log: (String) -> Void) throws -> (LongHeadsSettings, FrameCodecSettings) {
        var records: [(String, CorpusRecord)] = []
        for d in outputs { if let r = try CorpusRecord.read(directory: d) { records.append((d, r)) } }
        guard let (dir, first) = records.first else { return (settings, codec) }
        if !given {
            if let (other, _) = records.first(where: { $0.1 != first }) {
                throw LHError.invalidInput("\(dir) and \(other) were built with different settings; give the options to build with")
            }
            if first.settings != settings || first.compression != codec {
                log("using the settings \(dir) was built with (\(CorpusRecord.fileName)): \(BuildHeader.settingsWords(first.settings))")
            }
            return (first.settings, first.compression)
        }
        for (d, r) in records where r.settings != settings || r.compression != codec {
            log("note: \(d) was built with other settings (\(difference(r, CorpusRecord(settings: settings, compression: codec)))); "
                + "its documents are rebuilt with the ones given")
        }
        return (settings, codec)
    }

    /// The first field in which two records differ, with both values.
    static func difference(_ a: CorpusRecord, _ b: CorpusRecord) -> String {
        if let d = a.settings.firstDifference(from: b.settings) { return "\(d.field): \(d.mine), now \(d.theirs)" }
        return "compression: level \(a.compression.level) shuffle \(a.compression.shuffle), now level \(b.compression.level) shuffle \(b.compression.shuffle)"
    }

    /// Bundles under `output` whose document is no longer under any of `roots` (the directories given to
    /// build that write into `output`), nor among `expected` (bundle paths of this build).
    static func orphans(output: String, roots: [String], expected: Set<String>) throws -> [String] {
        guard FileManager.default.fileExists(atPath: output) else { return [] }
        return try CorpusPaths.bundles(under: output).filter { rel in
            let bundle = output + "/" + rel
            guard !expected.contains(URL(fileURLWithPath: bundle).standardizedFileURL.path) else { return false }
            let source = String(rel.dropLast(4))   // REL.lhx indexes ROOT/REL
            return !roots.contains { FileManager.default.fileExists(atPath: $0 + "/" + source) }
        }
    }

    /// Bytes of the regular files below `directory`.
    static func bytesOnDisk(_ directory: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total = 0
        while let rel = e.nextObject() as? String {
            if let a = try? FileManager.default.attributesOfItem(atPath: directory + "/" + rel),
               a[.type] as? FileAttributeType == .typeRegular, let n = a[.size] as? Int { total += n }
        }
        return total
    }
}
