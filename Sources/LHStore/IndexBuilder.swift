// Builds one .lhx bundle: tokenize, prefill with LongHeads into a FileChunkStore, flush per batch, resume, rename.
import Foundation
import LHCore
import LHEngine
import LHModel

/// Progress of one document's build, reported after every batch.
public struct BuildProgress: Sendable {
    /// Tokens of the document (template prefix included).
    public var totalTokens: Int
    /// Tokens committed so far.
    public var doneTokens: Int
    /// Tokens that were already committed when this run started (resumed builds).
    public var resumedTokens: Int
    /// Seconds since this run started.
    public var seconds: Double
}

/// What `IndexBuilder.build` did.
public enum BuildOutcome: Equatable, Sendable {
    /// Built (or finished) the bundle; `resumedFrom` tokens came from an interrupted earlier run.
    case built(tokens: Int, resumedFrom: Int, seconds: Double)
    /// The bundle was current already.
    case upToDate(tokens: Int)
    /// A complete `.partial` of the same inputs, left by a run killed just before moving it into place, was published.
    case published(tokens: Int)
    /// The progress callback asked to stop; the partial bundle stays for a later run.
    case interrupted(completeTokens: Int)
}

/// Writes `.lhx` bundles with one model and one set of settings.
public final class IndexBuilder {
    public let languageModel: LanguageModel
    /// The model's identity recorded in every bundle.
    public let model: ModelIdentity
    public let settings: LongHeadsSettings
    public let codec: FrameCodecSettings
    /// Tokens per forward batch and per commit: a multiple of the chunk size. Resuming continues at a
    /// batch boundary, so a resumed bundle equals an uninterrupted one byte for byte.
    public let batchTokens: Int
    /// Byte budget of decompressed blocks re-read while building.
    public var cacheBytes = BlockCache.defaultCapacityBytes
    /// Program name recorded as the writer.
    public var writer = "lhindex"
    /// Receives one-line notes about what a build did besides building (an interrupted build restarted).
    public var note: (String) -> Void = { _ in }

    /// - Throws: `LHError.invalidInput` when the settings do not fit the model.
    public init(languageModel: LanguageModel, model: ModelIdentity, settings: LongHeadsSettings,
                codec: FrameCodecSettings = .standard, batchTokens: Int = 512) throws {
        try settings.validate(trainedContext: languageModel.model.config.contextLength)
        self.languageModel = languageModel
        self.model = model
        self.settings = settings
        self.codec = codec
        let w = settings.chunkSize
        self.batchTokens = max(1, (batchTokens + w - 1) / w) * w
    }

    /// The metadata a bundle of `text` from `sourcePath` gets.
    public func metadata(text: String, sourcePath: String, tokenized: TokenizedDocument) -> IndexMetadata {
        var bytes = text
        let sha = bytes.withUTF8 { SHA256.hex(UnsafeRawBufferPointer($0)) }
        let doc = DocumentIdentity(sourcePath: sourcePath, sourceBytes: text.utf8.count, sha256: sha, tokens: tokenized.tokens.count,
                                   prefixTokens: tokenized.prefixTokens, templatePrefix: tokenized.templatePrefix)
        return IndexMetadata(model: model, settings: settings, codec: codec, document: doc, writer: writer)
    }

    /// The directory an interrupted build of `bundle` is kept in.
    public static func partialPath(_ bundle: String) -> String { bundle + ".partial" }

    /// Whether `bundle` is complete and current for these inputs.
    public func isCurrent(bundle: String, metadata m: IndexMetadata) -> Bool {
        guard let db = try? IndexDatabase.open(path: bundle + "/" + BundleFormat.database),
              let old = try? db.metadata(), let state = try? db.buildState() else { return false }
        return state.complete && old.isCurrent(for: m)
    }

    /// Builds `bundle` (a path ending in `.lhx`) for `text`. Skips a current bundle unless `force`; resumes
    /// `bundle.partial` when it holds an interrupted build of the same inputs, and publishes it when that
    /// build was complete; restarts it (calling `note`) when it cannot be resumed. Callers hold the output
    /// directory's lock (no other build writes these paths). `progress` is called after every committed
    /// batch; returning false stops the build (the partial bundle stays).
    public func build(text: String, sourcePath: String, bundle: String, force: Bool = false,
                      progress: (BuildProgress) -> Bool = { _ in true }) throws -> BuildOutcome {
        let tokenized = TokenizedDocument(text: text, languageModel: languageModel)
        let meta = metadata(text: text, sourcePath: sourcePath, tokenized: tokenized)
        let n = tokenized.tokens.count
        let partial = Self.partialPath(bundle)
        // What a run killed while publishing left: a complete `.partial` goes into place, `.old-PID` goes away.
        if isCompleteAndIntact(partial: partial, metadata: meta) {
            try BundlePublisher.publish(partial: partial, bundle: bundle)
            BundlePublisher.removeStaleOldBundles(of: bundle)
            return .published(tokens: n)
        }
        BundlePublisher.removeStaleOldBundles(of: bundle)
        if !force, isCurrent(bundle: bundle, metadata: meta) { return .upToDate(tokens: n) }
        let exists = RegularFile.kind(of: partial) == .directory
        do {
            return try run(tokenized: tokenized, text: text, metadata: meta, partial: partial, bundle: bundle,
                           resume: !force && exists, progress: progress)
        } catch let e as LHError where !force && exists && Self.names(e, inside: partial) {
            // An interrupted build that cannot go on (a file shorter than its committed size, a damaged
            // or missing file) would fail the same way on every later run: start this document again.
            note("\(bundle): restarting the interrupted build from the start: \(e.description)")
            return try run(tokenized: tokenized, text: text, metadata: meta, partial: partial, bundle: bundle,
                           resume: false, progress: progress)
        }
    }

    /// Whether `e` is about a file inside `directory`.
    static func names(_ e: LHError, inside directory: String) -> Bool {
        switch e {
        case let .badFile(path, _), let .io(path, _, _): return path.hasPrefix(directory + "/")
        case .unsupportedModel, .invalidInput, .outOfMemory: return false
        }
    }

    /// Builds into `partial` (resuming it when `resume` and it holds a build of the same inputs) and publishes it.
    private func run(tokenized: TokenizedDocument, text: String, metadata meta: IndexMetadata, partial: String, bundle: String,
                     resume: Bool, progress: (BuildProgress) -> Bool) throws -> BuildOutcome {
        let n = tokenized.tokens.count
        let fm = FileManager.default
        let layout = meta.layout
        var start = 0
        let db: IndexDatabase, store: FileChunkStore
        if resume, let (d, s, state) = try reopen(partial: partial, metadata: meta) {
            db = d; store = s; start = state.completeTokens
        } else {
            if RegularFile.kind(of: partial) != .missing(ENOENT) { FaultInjection.point() }
            try? fm.removeItem(atPath: partial)
            try Directory.create(partial)
            db = try IndexDatabase.create(path: partial + "/" + BundleFormat.database)
            try db.write(meta)
            var source = text
            let spans = source.withUTF8 { tokenized.chunkSpans(w: settings.chunkSize, source: UnsafeRawBufferPointer($0)) }
            try db.write(chunks: spans)
            try writeSource(text, to: partial + "/" + BundleFormat.sourceFile)
            store = try FileChunkStore.create(directory: partial, layout: layout, tokens: n, codec: codec, cacheBytes: cacheBytes)
            try db.setBuildState(BuildState(completeTokens: 0, kvBytes: 0, complete: false))
        }
        let windows = WindowCheckpoints(partial: partial, metadata: meta)
        let engine = try EngineAdapter.make(model: languageModel.model, settings: settings, store: store, startingAt: start,
                                            openChunk: try windows.state(at: start))
        let forward = ForwardPass(model: languageModel.model, batchSize: batchTokens)
        let began = Date()
        var pos = start
        while pos < n {
            let end = min(pos + batchTokens, n)
            _ = forward.run(Array(tokenized.tokens[pos..<end]), cache: engine, logitRows: [])
            if let e = store.takeError() { throw e }
            let kv = try store.flush(upTo: end, final: end == n)
            if end < n {
                try windows.write(engine.openChunkState, at: end)
                try db.setBuildState(BuildState(completeTokens: end, kvBytes: kv, complete: false))
                windows.removeAll(except: end)
            }
            pos = end
            let p = BuildProgress(totalTokens: n, doneTokens: end, resumedTokens: start, seconds: Date().timeIntervalSince(began))
            if !progress(p), end < n { return .interrupted(completeTokens: end) }
        }
        windows.removeAll(except: nil)
        try finish(partial: partial, db: db, store: store, engine: engine, metadata: meta, bundle: bundle)
        return .built(tokens: n, resumedFrom: start, seconds: Date().timeIntervalSince(began))
    }

    /// Whether `partial` holds a complete build of these inputs whose recorded whole-file checksums still hold.
    func isCompleteAndIntact(partial: String, metadata m: IndexMetadata) -> Bool {
        guard RegularFile.kind(of: partial) == .directory,
              let db = try? IndexDatabase.open(path: partial + "/" + BundleFormat.database),
              let state = try? db.buildState(), state.complete, let old = try? db.metadata(), old.isCurrent(for: m),
              let recorded = try? db.meta(), let now = try? BundleChecksums.compute(directory: partial) else { return false }
        return now.values.allSatisfy { recorded[$0.key] == $0.value }
    }

    /// Opens an interrupted build of the same inputs, or returns nil.
    /// Errors of the partial's files (`LHError.badFile` naming one of them) propagate, and `build` restarts.
    private func reopen(partial: String, metadata m: IndexMetadata) throws -> (IndexDatabase, FileChunkStore, BuildState)? {
        guard let db = try? IndexDatabase.open(path: partial + "/" + BundleFormat.database, writable: true),
              let old = try? db.metadata() else { return nil }
        guard old.isCurrent(for: m), let state = try db.buildState(), !state.complete,
              state.completeTokens % settings.chunkSize == 0, state.completeTokens % batchTokens == 0 else { return nil }
        let store = try FileChunkStore.resume(directory: partial, layout: m.layout, codec: codec,
                                              completeTokens: state.completeTokens, kvBytes: state.kvBytes, cacheBytes: cacheBytes)
        return (db, store, state)
    }

    private func writeSource(_ text: String, to path: String) throws {
        var t = text
        let frame = try t.withUTF8 { try Zstd(level: 3).compressed(UnsafeRawBufferPointer($0)) }
        try PosixFile.writeWhole(frame, to: path)
    }

    /// Writes tail.zst, sealed.zst and the checksums, marks the build complete, and moves the bundle into place.
    private func finish(partial: String, db: IndexDatabase, store: FileChunkStore, engine: LongHeadsAttention,
                        metadata meta: IndexMetadata, bundle: String) throws {
        let open = engine.openChunkState
        let tailContent = try OpenChunkFile.write(open, to: partial + "/" + BundleFormat.tailFile,
                                                   halfWindows: OpenChunkFile.halfWindows(settings))
        let sealed = try SealedRows.compute(store: store, tokens: meta.document.tokens, prefixTokens: meta.document.prefixTokens,
                                            open: open, model: languageModel.model)
        if let e = store.takeError() { throw e }
        let sealedContent = try sealed.write(to: partial + "/" + BundleFormat.sealedFile)
        try db.setMeta([tailContent, sealedContent] + (try BundleChecksums.compute(directory: partial).pairs))
        try db.setBuildState(BuildState(completeTokens: store.seekHeader.tokens, kvBytes: store.kvBytes, complete: true))
        try BundlePublisher.publish(partial: partial, bundle: bundle)
    }
}
