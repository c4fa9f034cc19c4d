// Whole-file CRC-32s of a bundle's small files, recorded in index.sqlite at the end of a build and checked by verify.
import Foundation
import LHCore

/// CRC-32 of kv.seek, summaries.f32, bounds.f32, reps.f32 and sealed.zst (when present), tail.zst and source.zst, and the size of kv.zst.
public struct BundleChecksums: Equatable, Sendable {
    public var values: [String: String]

    /// Metadata keys holding the checksums, with their files; an optional file may be absent (reps.f32
    /// exists only when the settings keep representative keys; the verifier checks that).
    public static let keys: [(key: String, file: String, optional: Bool)] = [
        ("kv_seek_crc32", BundleFormat.seekFile, false), ("summaries_crc32", BundleFormat.summariesFile, false),
        ("bounds_crc32", BundleFormat.boundsFile, false), ("reps_crc32", BundleFormat.representativesFile, true),
        ("tail_crc32", BundleFormat.tailFile, false), ("source_crc32", BundleFormat.sourceFile, false),
        ("sealed_crc32", BundleFormat.sealedFile, true),
    ]

    /// Reads the files of the bundle at `directory`.
    public static func compute(directory: String) throws -> BundleChecksums {
        var v: [String: String] = [:]
        for (key, file, optional) in keys {
            if optional, !FileManager.default.fileExists(atPath: directory + "/" + file) { continue }
            let m = try MappedFile(path: directory + "/" + file)
            v[key] = String(format32: CRC32.checksum(UnsafeRawBufferPointer(start: m.base, count: m.count)))
        }
        v["kv_bytes"] = String(try MappedFile(path: directory + "/" + BundleFormat.kvFile).count)
        return BundleChecksums(values: v)
    }

    /// The keys of the files `ask` maps and scores without another check: a flipped byte in them would
    /// change which chunks are selected (kv.seek's entries, summaries, key bounds, representative keys).
    public static let mappedKeys: Set<String> = ["kv_seek_crc32", "summaries_crc32", "bounds_crc32", "reps_crc32"]

    /// Checks the whole-file CRC-32 of each file of `keys` in `directory` against `recorded` (index.sqlite's
    /// meta table). An optional file (reps.f32) that is absent must have no recorded checksum.
    /// - Throws: `LHError.badFile` naming the first file whose CRC-32 differs or is not recorded.
    public static func check(directory: String, recorded: [String: String], keys: Set<String> = mappedKeys) throws {
        for (key, file, optional) in Self.keys where keys.contains(key) {
            let path = directory + "/" + file
            if optional, recorded[key] == nil, RegularFile.kind(of: path) != .regular { continue }
            let m = try MappedFile(path: path)
            let crc = String(format32: CRC32.checksum(UnsafeRawBufferPointer(start: m.base, count: m.count)))
            guard recorded[key] == crc else {
                throw LHError.badFile(path: path, reason: "checksum mismatch (CRC-32 \(crc), index.sqlite records \(recorded[key] ?? "none")): the file is damaged; run 'lhindex verify' or rebuild the index")
            }
        }
    }

    /// As metadata key/value pairs.
    public var pairs: [(String, String)] { values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}

extension String {
    /// Eight lowercase hex digits.
    init(format32 v: UInt32) {
        let s = String(v, radix: 16)
        self = String(repeating: "0", count: 8 - s.count) + s
    }
}
