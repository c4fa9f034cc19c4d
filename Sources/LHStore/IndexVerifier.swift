// `verify`: every frame's CRC-32 and zstd checksum, whole-file checksums, headers against index.sqlite.
import Foundation
import LHCore
import LHEngine

/// The result of checking a bundle.
public struct VerifyReport: Sendable {
    /// Problems found, each one line naming the file.
    public var problems: [String] = []
    /// Frames checked.
    public var frames = 0
    /// Compressed bytes checked.
    public var bytes = 0
    public var ok: Bool { problems.isEmpty }
}

/// Checks a bundle without a model.
public enum IndexVerifier {
    /// Checks everything in the bundle at `directory`, collecting at most `limit` problems; with `model`
    /// (a model file's path and the SHA-256 of all of it), also that the index was built with that file.
    public static func verify(directory: String, limit: Int = 20, model: (path: String, sha256: String)? = nil) -> VerifyReport {
        var r = VerifyReport()
        func fail(_ e: Error) { if r.problems.count < limit { r.problems.append((e as? LHError)?.description ?? "\(directory): \(e)") } }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            fail(LHError.badFile(path: directory, reason: "no such index directory"))
            return r
        }
        for f in BundleFormat.files where !fm.fileExists(atPath: directory + "/" + f) {
            fail(LHError.badFile(path: directory + "/" + f, reason: "missing"))
        }
        guard r.ok else { return r }
        let meta: IndexMetadata, db: IndexDatabase, chunks: [ChunkSpan]
        do {
            db = try IndexDatabase.open(path: directory + "/" + BundleFormat.database)
            let check = try db.db.query("PRAGMA integrity_check").compactMap { $0.first?.text }
            if check != ["ok"] {
                // SQLite's report spans lines; the problem stays one line.
                let lines = check.flatMap { $0.split(whereSeparator: \.isNewline) }.filter { !$0.hasPrefix("***") }
                throw LHError.badFile(path: db.path, reason: "SQLite integrity check failed: " + lines.prefix(3).joined(separator: "; "))
            }
            meta = try db.metadata()
            chunks = try db.chunks()
            guard let s = try db.buildState(), s.complete else {
                throw LHError.badFile(path: db.path, reason: "the build is not complete")
            }
        } catch { fail(error); return r }
        if let model, model.sha256 != meta.model.sha256 {
            fail(LHError.badFile(path: model.path, reason: "SHA-256 \(model.sha256.prefix(12))… is not the \(meta.model.sha256.prefix(12))… of the model '\(meta.model.name)' \(directory) was built with (\(meta.model.bytes) bytes): another or a damaged model"))
        }
        if meta.settings.representatives > 0, !fm.fileExists(atPath: directory + "/" + BundleFormat.representativesFile) {
            fail(LHError.badFile(path: directory + "/" + BundleFormat.representativesFile, reason: "missing"))
            return r
        }
        // Whole-file checksums recorded at the end of the build.
        do {
            let recorded = try db.meta(), now = try BundleChecksums.compute(directory: directory)
            for (key, file, _) in BundleChecksums.keys where recorded[key] != now.values[key] {
                fail(LHError.badFile(path: directory + "/" + file, reason: "checksum mismatch (CRC-32 \(now.values[key] ?? "?"), index.sqlite records \(recorded[key] ?? "none"))"))
            }
            if recorded["kv_bytes"] != now.values["kv_bytes"] {
                fail(LHError.badFile(path: directory + "/" + BundleFormat.kvFile, reason: "\(now.values["kv_bytes"] ?? "?") bytes, index.sqlite records \(recorded["kv_bytes"] ?? "none")"))
            }
        } catch { fail(error) }
        // Headers, then every frame.
        let store: FileChunkStore
        do {
            store = try FileChunkStore.openForReading(directory: directory, layout: meta.layout, codec: meta.codec, cacheBytes: 0)
        } catch { fail(error); return r }
        let h = store.seekHeader
        if h.tokens != meta.document.tokens || chunks.count != h.chunks {
            fail(LHError.badFile(path: directory + "/" + BundleFormat.seekFile, reason: "\(h.tokens) tokens in \(h.chunks) chunks, index.sqlite says \(meta.document.tokens) tokens in \(chunks.count) chunks"))
        }
        do {
            try ChunkSpan.validate(chunks, tokens: meta.document.tokens, chunkSize: meta.settings.chunkSize,
                                   sourceBytes: meta.document.sourceBytes, path: db.path)
        } catch { fail(error) }
        var frameBytes = 0
        for l in 0..<h.layers {
            for g in 0..<h.kvHeads {
                for c in 0..<h.chunks {
                    do {
                        _ = try store.loadFrame(layer: l, kvHead: g, chunk: c)
                        let e = store.entry(layer: l, kvHead: g, chunk: c)
                        frameBytes += e.compressedSize
                        r.frames += 1
                    } catch { fail(error) }
                }
            }
        }
        r.bytes = frameBytes
        if r.ok, frameBytes != store.kvBytes {
            fail(LHError.badFile(path: directory + "/" + BundleFormat.kvFile, reason: "frames cover \(frameBytes) of \(store.kvBytes) bytes"))
        }
        // The small compressed files decompress and match the metadata.
        do { _ = try OpenChunkFile.read(directory: directory, metadata: meta, content: try db.meta()[OpenChunkFile.contentKey]) } catch { fail(error) }
        do {
            let path = directory + "/" + BundleFormat.sourceFile
            let file = try MappedFile(path: path)
            let src = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path,
                                              limit: meta.document.sourceBytes)
            if src.withUnsafeBytes({ SHA256.hex($0) }) != meta.document.sha256 {
                fail(LHError.badFile(path: path, reason: "the text's SHA-256 differs from index.sqlite's"))
            }
        } catch { fail(error) }
        return r
    }
}
