// corpus.json: the settings a corpus directory was built with, so a plain `build` of it reuses them.
import Foundation
import LHCore
import LHEngine

/// What an output directory of `build` remembers of the builds that wrote it (FORMAT.md §7): the LongHeads
/// settings and the compression of its bundles. A later build given no settings reuses them, so
/// rebuilding a corpus never changes its settings by accident (which would rebuild every document).
public struct CorpusRecord: Codable, Equatable, Sendable {
    /// File name inside the output directory.
    public static let fileName = "corpus.json"
    /// The format this version writes and reads.
    public static let currentFormat = "lhindex corpus 1"
    /// Format of this record.
    public var format = currentFormat
    /// Settings the bundles were built with (fitted to the model).
    public var settings: LongHeadsSettings
    /// Compression of their key/value frames.
    public var compression: FrameCodecSettings

    public init(settings: LongHeadsSettings, compression: FrameCodecSettings) {
        self.settings = settings
        self.compression = compression
    }

    /// The record of `directory`, or nil when it has none.
    /// - Throws: `LHError.badFile` when the file exists but is not a record this version reads.
    public static func read(directory: String) throws -> CorpusRecord? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try MappedFile(path: path)
        let bytes = Data(UnsafeRawBufferPointer(start: data.base, count: data.count))
        guard let r = try? JSONDecoder().decode(CorpusRecord.self, from: bytes), r.format == currentFormat else {
            throw LHError.badFile(path: path, reason: "not a corpus record this lhindex reads; delete it to build with the options given")
        }
        return r
    }

    /// Writes the record into `directory` atomically (a temporary file, synced, then renamed), first
    /// removing temporary files a killed build left (the caller holds the directory's build lock).
    public func write(directory: String) throws {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(Self.fileName + ".tmp-") {
            unlink(directory + "/" + name)
        }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try e.encode(self) + Data("\n".utf8)
        try PosixFile.replaceAtomically(directory + "/" + Self.fileName, with: data)
    }
}
