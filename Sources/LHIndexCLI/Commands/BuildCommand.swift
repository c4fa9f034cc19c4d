// `lhindex build`: finds documents, prefills each once with LongHeads and writes one .lhx bundle per document.
import Foundation
import LHCore
import LHEngine
import LHModel
import LHStore

/// Builds indexes of documents.
struct BuildCommand: Command {
    static let name = "build"
    static let abstract = "Index documents: prefill each once and store what LongHeads needs (.lhx bundles)."
    static let usage = "PATH... [-o DIR] [-m MODEL] [--chunk-size W] [--attn-length A] [--select token|block] [--kv f16|f32|int8|k8v4] [--force] [--shard K/N]"
    static let discussion = """
    PATH is a file or a directory (searched recursively; hidden files, .lhx bundles and .lhindex
    directories are ignored). Every UTF-8 text file becomes DIR/RELATIVE-PATH.lhx (a file given
    itself: DIR/NAME.lhx), where DIR is -o or, by default, PATH.lhindex next to PATH. Binary,
    non-UTF-8 and empty files, and entries that are not regular files (FIFOs, sockets, devices),
    are skipped with a one-line reason. Two different documents that would get the same bundle are
    refused before anything is built (give them different -o directories); the same document given
    twice is built once. A document whose index is current (same content, model and settings) is
    skipped; an interrupted build (NAME.lhx.partial) resumes from its last committed batch. The
    document is read as text: control tokens written in it are never recognised. A build locks
    each output directory (DIR/.lock): a second build of it exits 1 naming the first, or waits for
    it with --wait. A document that fails is reported in one line and the others are still built;
    exit status 1 when a document could not be indexed or none was found.

    The settings a directory was built with stick: DIR/corpus.json records them, and a build given
    no settings options reuses them (so a plain 'lhindex build DIR' after editing a file rebuilds
    that file only); given other options, the documents are rebuilt with those and a line says
    why. An index whose document is gone from the directories given is reported; --prune removes
    it. The build ends with a summary and the 'lhindex ask' command to run next.

    With --shard K/N the build indexes only its share of the documents, chosen by their bundle names,
    so that N builds given the same paths and --shard 1/N to N/N, on one machine or many writing one
    shared directory, make the same corpus as one build; shards do not wait for one another, do not
    report or prune the other shards' documents, and their summary counts the documents left to them.
    """
    static let options: [OptionSpec] = [
        OptionSpec("output", short: "o", value: "DIR", help: "Output directory (default: PATH.lhindex for each PATH)."),
        ModelLocator.option,
        OptionSpec("force", help: "Rebuild even when an index is current."),
        OptionSpec("wait", help: "Wait for another build writing the same output directory instead of exiting."),
        OptionSpec("prune", help: "Remove indexes whose document is gone from the directories given."),
        OptionSpec("level", value: "N", help: "zstd level of the key/value frames (default 1)."),
        OptionSpec("no-shuffle", help: "Do not byte-shuffle frames before compression."),
        OptionSpec("shard", value: "K/N", help: "Index only shard K of N of the documents (default: all of them)."),
    ] + LongHeadsOptions.specs

    let paths: [String]
    let output: String?
    let modelPath: String?
    let force: Bool
    let wait: Bool
    let prune: Bool
    /// The share of the documents to index (`--shard K/N`), or nil for all of them.
    let shard: BuildShard?
    let settings: LongHeadsSettings
    let codec: FrameCodecSettings
    /// Whether any settings or compression option was given (else a directory's own settings are reused).
    let settingsGiven: Bool

    init(arguments a: ParsedArguments) throws {
        guard !a.positional.isEmpty else { throw UsageError("missing PATH: give files or directories to index") }
        paths = a.positional
        output = a.string("output")
        modelPath = a.string("model")
        force = a.flag("force")
        wait = a.flag("wait")
        prune = a.flag("prune")
        shard = try a.string("shard").map(BuildShard.init(parsing:))
        settings = try LongHeadsOptions.parse(a)
        settingsGiven = (LongHeadsOptions.specs.map(\.long) + ["level", "no-shuffle"]).contains { a.string($0) != nil || a.flag($0) }
        codec = FrameCodecSettings(level: Int32(try a.int("level", default: 1, in: 1...19)), shuffle: !a.flag("no-shuffle"))
    }

    /// A document to index: its path, and the bundle path it gets.
    struct Job { let source: String; let display: String; let bundle: String; let outDir: String; var root: String? = nil }

    /// Documents under `paths`, with their bundle paths, in a stable order, and one line per entry of a
    /// directory that is skipped because it is not a regular file (a FIFO would block the build forever).
    /// - Throws: `LHError` when a given path is missing or is neither a directory nor a regular file.
    func findDocuments() throws -> (jobs: [Job], skipped: [String]) {
        let fm = FileManager.default
        var jobs: [Job] = [], skipped: [String] = []
        for p in paths {
            let root = p.count > 1 && p.hasSuffix("/") ? String(p.dropLast()) : p
            let outDir = try output ?? Self.defaultOutput(root)
            switch RegularFile.kind(of: root) {
            case let .missing(code):
                throw LHError.io(path: root, call: "stat", errno: code)
            case let .other(kind):
                throw LHError.badFile(path: root, reason: "not a regular file (\(kind))")
            case .regular:
                let name = (root as NSString).lastPathComponent
                jobs.append(Job(source: root, display: root, bundle: outDir + "/" + name + ".lhx", outDir: outDir))
                continue
            case .directory:
                break
            }
            guard let e = fm.enumerator(atPath: root) else { throw LHError.io(path: root, call: "opendir", errno: EACCES) }
            var rels: [String] = []
            while let rel = e.nextObject() as? String {
                let last = (rel as NSString).lastPathComponent
                let full = root + "/" + rel
                let kind = RegularFile.kind(of: full)
                if last.hasPrefix(".") || last.hasSuffix(".lhx") || last.hasSuffix(".lhindex") || last.hasSuffix(".partial") {
                    if kind == .directory { e.skipDescendants() }
                    continue
                }
                switch kind {
                case .regular: rels.append(rel)
                case .directory, .missing: break
                case let .other(what): skipped.append("skip \(full): not a regular file (\(what))")
                }
            }
            for rel in rels.sorted() {
                jobs.append(Job(source: root + "/" + rel, display: root + "/" + rel, bundle: outDir + "/" + rel + ".lhx", outDir: outDir, root: root))
            }
        }
        return (try Self.distinct(jobs), skipped.sorted())
    }

    /// `jobs` with a source given twice kept once, after checking that no two distinct sources share a
    /// bundle path (`x/dup.txt y/dup.txt -o out` would both be `out/dup.txt.lhx`: the second would
    /// overwrite the first and both would be reported built).
    /// - Throws: `LHError.invalidInput` naming both sources and the bundle.
    static func distinct(_ jobs: [Job]) throws -> [Job] {
        func canonical(_ p: String) -> String {
            guard let r = realpath(p, nil) else { return URL(fileURLWithPath: p).standardizedFileURL.path }
            defer { free(r) }
            return String(cString: r)
        }
        var owner: [String: (job: Job, source: String)] = [:]
        var out: [Job] = []
        for j in jobs {
            let bundle = URL(fileURLWithPath: j.bundle).standardizedFileURL.path, source = canonical(j.source)
            if let first = owner[bundle] {
                guard first.source == source else {
                    throw LHError.invalidInput("\(first.job.display) and \(j.display) would both be indexed as \(j.bundle); build them with different -o directories")
                }
                continue
            }
            owner[bundle] = (j, source)
            out.append(j)
        }
        return out
    }

    /// PATH.lhindex next to PATH; for a path ending in `.` or `..` (such as `build .`), the name comes from
    /// the absolute path, so `build .` in /data/corpus writes /data/corpus.lhindex, never `..lhindex`.
    static func defaultOutput(_ root: String) throws -> String {
        let last = (root as NSString).lastPathComponent
        guard last == "." || last == ".." || last == "/" || last.isEmpty else { return root + ".lhindex" }
        let absolute = URL(fileURLWithPath: root).standardizedFileURL.path
        guard absolute != "/", !absolute.isEmpty else {
            throw LHError.invalidInput("\(root): cannot name an output directory after the root directory; give -o DIR")
        }
        return absolute + ".lhindex"
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        let (found, skipped) = try findDocuments()
        for line in skipped { io.err(Printable.escaped(line) + "\n") }
        let jobs = found.filter { shard?.owns(bundle: $0.bundle, in: $0.outDir) ?? true }
        // Validate every document first (skips are reported once, before the long work).
        var texts: [(Job, String)] = []
        for j in jobs {
            do { texts.append((j, try TextFile.read(j.source))) } catch let e as LHError {
                io.err(Printable.line("skip \(j.display): \(Self.reason(e, path: j.source))\n"))
            }
        }
        if texts.isEmpty, let shard, !found.isEmpty {
            io.err("shard \(shard): nothing to build; \(jobs.count - texts.count + skipped.count) skipped, \(found.count - jobs.count) in other shards\n")
            return 0
        }
        guard !texts.isEmpty else { io.err("lhindex build: no text documents found\n"); return 1 }
        // One build per output directory at a time: lock them all (in order) before writing anything.
        // A directory that cannot be created fails its documents, not the others.
        var locks: [OutputLock] = [], lockErrors: [String: Error] = [:]
        for dir in Set(texts.map { $0.0.outDir }).sorted() {
            do {
                locks.append(try OutputLock(directory: dir, wait: wait, shared: shard != nil, label: shard.map { "shard \($0)" }) { holder in
                    io.err(Printable.line("waiting for \(dir): another build is writing there (\(holder))\n"))
                })
            } catch let e as LHError {
                if case .invalidInput = e { throw e }          // held by another build: nothing is built
                lockErrors[dir] = e
            }
        }
        defer { withExtendedLifetime(locks) {} }
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath))
        let identity = ModelFingerprint.identity(of: lm)
        let progress = BuildProgressReporter(io: io, totalBytes: texts.reduce(0) { $0 + $1.1.utf8.count })
        let outputs = Set(texts.map { $0.0.outDir }).subtracting(lockErrors.keys).sorted()
        let (settings, codec) = try CorpusUpkeep.settings(given: settingsGiven, settings: self.settings.fitted(trainedContext: lm.model.config.contextLength),
                                                          codec: self.codec, outputs: outputs, log: progress.log)
        let builder = try IndexBuilder(languageModel: lm, model: identity, settings: settings, codec: codec)
        builder.writer = "lhindex \(LHIndexCLI.version)"
        builder.note = { progress.log("note: " + $0) }
        progress.log("building \(texts.count) document(s) with \(identity.name): \(LongHeadsOptions.describe(settings))")
        var failures = 0, built = 0, current = 0, tokens = 0
        var succeeded = Set<String>()
        for (i, (job, text)) in texts.enumerated() {
            let bytes = text.utf8.count
            do {
                if let e = lockErrors[job.outDir] { throw e }
                try Directory.create((job.bundle as NSString).deletingLastPathComponent)
                let outcome = try builder.build(text: text, sourcePath: job.source, bundle: job.bundle, force: force) { p in
                    progress.update(name: job.display, index: i + 1, count: texts.count, bytes: bytes, done: p.doneTokens,
                                    total: p.totalTokens, resumed: p.resumedTokens, seconds: p.seconds)
                    return true
                }
                switch outcome {
                case let .built(n, _, _), let .published(n), let .upToDate(n):
                    tokens += n
                    succeeded.insert(job.outDir)
                case .interrupted: break
                }
                switch outcome {
                case let .built(tokens, resumed, seconds):
                    built += 1
                    let rate = Double(tokens - resumed) / max(seconds, 1e-9)
                    progress.log("built \(job.bundle): \(tokens) tokens in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", rate)) tok/s)"
                                 + (resumed > 0 ? ", resumed at token \(resumed)" : ""))
                case let .published(tokens):
                    built += 1
                    progress.log("built \(job.bundle): \(tokens) tokens, completed by an interrupted run and now moved into place")
                case let .upToDate(tokens):
                    current += 1
                    progress.log("current \(job.bundle): \(tokens) tokens, unchanged")
                case .interrupted:
                    break
                }
            } catch {
                // Reported, and the next document is built all the same; the exit status says one failed.
                failures += 1
                progress.log("error \(job.display): \((error as? LHError)?.description ?? error.localizedDescription)")
            }
            progress.finish(bytes: bytes)
        }
        for dir in succeeded.sorted() {
            let record = CorpusRecord(settings: settings, compression: codec)
            do { try shard == nil ? record.write(directory: dir) : OutputLock.updatingCorpus(of: dir) { try record.write(directory: dir) } } catch {
                progress.log("error \(dir): cannot record its settings (\((error as? LHError)?.description ?? "\(error)"))")
            }
        }
        // Indexes whose document is gone from the directories given.
        var gone = 0
        for dir in outputs {
            let roots = found.compactMap { $0.outDir == dir ? $0.root : nil }
            let expected = Set(found.filter { $0.outDir == dir }.map { URL(fileURLWithPath: $0.bundle).standardizedFileURL.path })
            for rel in (try? CorpusUpkeep.orphans(output: dir, roots: Array(Set(roots)), expected: expected)) ?? []
            where shard?.owns(bundle: dir + "/" + rel, in: dir) ?? true {   // another shard's gone document is its own to report
                if prune {
                    do { try FileManager.default.removeItem(atPath: dir + "/" + rel); progress.log("removed \(dir)/\(rel): its document is gone") }
                    catch { progress.log("error \(dir)/\(rel): cannot remove it (\(error.localizedDescription))") }
                } else {
                    gone += 1
                    progress.log("gone \(dir)/\(rel): its document is no longer there (--prune removes the index)")
                }
            }
        }
        let skippedCount = jobs.count - texts.count + skipped.count
        let bytes = outputs.reduce(0) { $0 + CorpusUpkeep.bytesOnDisk($1) }
        progress.log((shard.map { "shard \($0):" } ?? "done:") + " \(built) built, \(current) current, \(skippedCount) skipped, \(failures) failed"
                     + (gone > 0 ? ", \(gone) gone" : "") + (shard != nil ? ", \(found.count - jobs.count) in other shards" : "") + "; \(tokens) tokens, "
                     + String(format: "%.1f MB on disk", Double(bytes) / 1e6))
        if failures < texts.count, let dir = outputs.first {
            progress.log("next: lhindex ask \(dir) \"your question\"")
        }
        if failures > 0 { progress.log("\(failures) of \(texts.count) document(s) could not be indexed") }
        return failures == 0 ? 0 : 1
    }

    /// The reason part of a read error (without the repeated path).
    static func reason(_ e: LHError, path: String) -> String {
        let d = e.description
        return d.hasPrefix(path + ": ") ? String(d.dropFirst(path.count + 2)) : d
    }
}
