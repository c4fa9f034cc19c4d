// One .lhx bundle opened for asking: its metadata, chunk table, store and open-chunk state, checked against the model.
import Foundation
import LHCore
import LHEngine
import LHModel

/// A document of an `IndexReader`: one bundle, checked and mapped.
public final class IndexedDocument {
    /// The bundle directory.
    public let directory: String
    /// How citations name the document: its path relative to the corpus directory, without `.lhx`.
    public let name: String
    public let metadata: IndexMetadata
    /// The chunk table (token and byte ranges, first lines).
    public let chunks: [ChunkSpan]
    /// Keys, values, summaries and bounds of the bundle.
    public let store: FileChunkStore
    /// Whether no question continues the document (every document of a corpus but the last).
    public let sealed: Bool
    private let recorded: [String: String]                       // index.sqlite's meta table
    private var openChunkState: OpenChunkState?
    private var sourceBytes: [UInt8]?

    /// Opens `directory` for `languageModel`.
    /// - Parameters:
    ///   - name: how citations name it.
    ///   - memory: the block cache it shares with the other documents of a reader; nil for a new one of
    ///     `cacheBytes`.
    ///   - cacheKeyBase: distinct per document sharing `memory`.
    ///   - sealed: no question continues it (every document of a corpus but the last).
    ///   - modelFingerprint: `ModelFingerprint.fingerprint` of the model's file (a reader computes it once).
    ///   - modelSHA256: the SHA-256 of the whole model file, when known (checked against the index's).
    /// - Throws: `LHError` naming the file and the problem: not an index, unsupported version, incomplete,
    ///   built with another model, a damaged model, corrupt headers.
    init(directory: String, name: String, languageModel: LanguageModel, memory: BlockMemory?, cacheBytes: Int,
         cacheKeyBase: Int, sealed: Bool, modelFingerprint: String, modelSHA256: String? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw LHError.io(path: directory, call: "open", errno: ENOENT)
        }
        guard isDir.boolValue else { throw LHError.badFile(path: directory, reason: "not an index (a .lhx bundle is a directory)") }
        self.directory = directory
        self.name = name
        self.sealed = sealed
        let db = try IndexDatabase.open(path: directory + "/" + BundleFormat.database)
        guard let state = try db.buildState(), state.complete else {
            throw LHError.badFile(path: db.path, reason: "the index build is not complete; rerun 'lhindex build'")
        }
        metadata = try db.metadata()
        chunks = try db.chunks()
        try ChunkSpan.validate(chunks, tokens: metadata.document.tokens, chunkSize: metadata.settings.chunkSize,
                               sourceBytes: metadata.document.sourceBytes, path: db.path)
        let m = metadata.model
        let file = languageModel.model.gguf.file
        guard modelFingerprint == m.fingerprint, languageModel.model.config == m.hyperparameters else {
            throw LHError.invalidInput("\(directory): built with model '\(m.name)' (sha256 \(m.sha256.prefix(12))…), not \(file.path); pass that model with -m or rebuild the index")
        }
        // Same size, first and last MiB, another hash: the model was damaged in the middle.
        if let sha = modelSHA256, sha != m.sha256 {
            throw LHError.badFile(path: file.path, reason: "damaged model: its SHA-256 is \(sha.prefix(12))…, \(directory) was built with \(m.sha256.prefix(12))… (same size, first and last MiB); fetch the model again")
        }
        try metadata.settings.validate(trainedContext: languageModel.model.config.contextLength)
        store = try FileChunkStore.openForReading(directory: directory, layout: metadata.layout, codec: metadata.codec,
                                                  memory: memory ?? BlockMemory(layout: metadata.layout, cacheBytes: cacheBytes),
                                                  cacheKeyBase: cacheKeyBase, sealed: sealed)
        guard store.seekHeader.tokens == metadata.document.tokens, chunks.count == store.seekHeader.chunks else {
            throw LHError.badFile(path: directory + "/" + BundleFormat.seekFile, reason: "token or chunk count does not match index.sqlite")
        }
        recorded = try db.meta()
        // The mapped files questions score are read without per-row checks: check them whole, once.
        try BundleChecksums.check(directory: directory, recorded: recorded)
    }

    /// What a question continuing this document needs of its open last chunk (tail.zst), read on first use
    /// (a corpus continues only its last document; its others need it only when their index predates sealed.zst).
    public func openChunk() throws -> OpenChunkState {
        if let s = openChunkState { return s }
        let s = try OpenChunkFile.read(directory: directory, metadata: metadata, content: recorded[OpenChunkFile.contentKey])
        if !sealed { openChunkState = s }
        return s
    }

    /// What a corpus needs of the document when it is not the last (sealed.zst), read anew on every call so a
    /// corpus holds no document's rows longer than it uses them; nil when the document is the one questions
    /// continue, or its index predates the file.
    public func readSealedRows() throws -> SealedRows? {
        guard sealed else { return nil }
        return try SealedRows.read(directory: directory, layout: metadata.layout, tokens: metadata.document.tokens,
                                   content: recorded[SealedRows.contentKey])
    }

    /// The source text's bytes (decompressed from source.zst on first use).
    public func source() throws -> [UInt8] {
        if let s = sourceBytes { return s }
        let path = directory + "/" + BundleFormat.sourceFile
        let file = try MappedFile(path: path)
        let s = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path,
                                        limit: metadata.document.sourceBytes)
        guard s.count == metadata.document.sourceBytes else {
            throw LHError.badFile(path: path, reason: "holds \(s.count) bytes, the index says \(metadata.document.sourceBytes)")
        }
        sourceBytes = s
        return s
    }
}
