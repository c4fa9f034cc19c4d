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
    static let usage = "PATH... [-o DIR] [-m MODEL] [--kv k5v4|k4v4|k8v4|int8|f16|f32] [--force] [--shard K/N] [--quiet | --json]"
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

    Progress shows on standard error from the first second: redrawn in place on a terminal, a line
    every 10 seconds otherwise, with one estimate of the time left for the whole build. Ctrl-C stops
    the build at once (exit status 130); run the same command again and it resumes where it left off.

    The settings a directory was built with stick: DIR/corpus.json records them, and a build given
    no settings options reuses them (so a plain 'lhindex build DIR' after editing a file rebuilds
    that file only); given other options, the documents are rebuilt with those and a line says
    why. An index whose document is gone from the directories given is reported; --prune removes
    it. The build ends with a summary (documents built, current, skipped and failed; tokens; bytes
    on disk; seconds) and the 'lhindex ask' command to run next. --json prints the same as one JSON
    object on standard output: model, model_file, output_directories, documents (name, status,
    bundle, tokens, bytes, seconds, reason) and totals.

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
        OptionSpec("quiet", short: "q", help: "Print only errors and warnings: no header, progress or summary."),
        OptionSpec("json", help: "Print one JSON object at the end on standard output instead of the summary; progress only on a terminal."),
        OptionSpec("shard", value: "K/N", help: "Index only shard K of N of the documents (default: all of them), for builds spread over machines."),
    ] + LongHeadsOptions.buildSpecs + [
        OptionSpec("level", value: "N", help: "How hard keys and values are compressed: zstd level 1 to 19 (default 1).", group: .document),
        OptionSpec("no-shuffle", help: "Compress keys and values without grouping their bytes first (larger; default: grouped).", group: .document),
    ]

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
    let verbosity: BuildVerbosity

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
        guard !(a.flag("quiet") && a.flag("json")) else { throw UsageError("--quiet and --json cannot be combined") }
        verbosity = a.flag("quiet") ? .quiet : a.flag("json") ? .json : .normal
    }

    /// A document to index: its path, and the bundle path it gets.
    struct Job { let source: String; let display: String; let bundle: String; let outDir: String; var root: String? = nil }

    /// Documents under `paths`, with their bundle paths, in a stable order, and one line per entry of a
    /// directory that is skipped because it is not a regular file (a FIFO would block the build forever).
    /// - Throws: `LHError` when a given path is missing or is neither a directory nor a regular file.
    func findDocuments() throws -> (jobs: [Job], skipped: [(path: String, reason: String)]) {
        let fm = FileManager.default
        var jobs: [Job] = [], skipped: [(path: String, reason: String)] = []
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
                case let .other(what): skipped.append((full, "not a regular file (\(what))"))
                }
            }
            for rel in rels.sorted() {
                jobs.append(Job(source: root + "/" + rel, display: root + "/" + rel, bundle: outDir + "/" + rel + ".lhx", outDir: outDir, root: root))
            }
        }
        return (try Self.distinct(jobs), skipped.sorted { $0.path < $1.path })
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
        BuildInterruption.install(terminal: io.stderrIsTerminal)
        let report = BuildReport()
        let (found, skipped) = try findDocuments()
        for (path, reason) in skipped {
            io.err(Printable.escaped("skip \(path): \(reason)") + "\n")
            report.add(path, .skipped, reason: reason)
        }
        let jobs = found.filter { shard?.owns(bundle: $0.bundle, in: $0.outDir) ?? true }
        // Validate every document first (skips are reported once, before the long work).
        var texts: [(Job, String)] = []
        for j in jobs {
            do { texts.append((j, try TextFile.read(j.source))) } catch let e as LHError {
                io.err(Printable.line("skip \(j.display): \(Self.reason(e, path: j.source))\n"))
                report.add(j.display, .skipped, reason: Self.reason(e, path: j.source))
            }
        }
        if texts.isEmpty, let shard, !found.isEmpty {
            io.err("shard \(shard): nothing to build; \(jobs.count - texts.count + skipped.count) skipped, \(found.count - jobs.count) in other shards\n")
            if verbosity == .json { io.out(try report.json(outputs: [], bytes: 0)) }
            return 0
        }
        guard !texts.isEmpty else {
            io.err("lhindex build: no text documents found\n")
            if verbosity == .json { io.out(try report.json(outputs: [], bytes: 0)) }
            return 1
        }
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
        report.model = (BuildHeader.modelName(identity: identity, gguf: lm.model.gguf), lm.model.gguf.file.path)
        let progress = BuildProgressReporter(io: io, totalBytes: texts.reduce(0) { $0 + $1.1.utf8.count },
                                             style: verbosity.progressStyle(terminal: io.stderrIsTerminal))
        let say: (String) -> Void = { if verbosity.narrates { progress.log($0) } }
        let outputs = Set(texts.map { $0.0.outDir }).subtracting(lockErrors.keys).sorted()
        let (settings, codec) = try CorpusUpkeep.settings(given: settingsGiven, settings: self.settings.fitted(trainedContext: lm.model.config.contextLength),
                                                          codec: self.codec, outputs: outputs, log: say)
        let builder = try IndexBuilder(languageModel: lm, model: identity, settings: settings, codec: codec)
        builder.writer = "lhindex \(LHIndexCLI.version)"
        builder.note = { progress.log("note: " + $0) }
        say(BuildHeader.countLine(documents: texts.count, outputs: Set(texts.map { $0.0.outDir }).sorted()))
        say(BuildHeader.settingsLine(model: report.model!.name, settings: settings))
        progress.start()
        var succeeded = Set<String>()
        for (i, (job, text)) in texts.enumerated() {
            progress.begin(name: job.display, index: i + 1, count: texts.count, bytes: text.utf8.count)
            let began = Date()
            var work: (tokens: Int, resumed: Int, seconds: Double)? = nil
            do {
                if let e = lockErrors[job.outDir] { throw e }
                try Directory.create((job.bundle as NSString).deletingLastPathComponent)
                let outcome = try builder.build(text: text, sourcePath: job.source, bundle: job.bundle, force: force) { p in
                    progress.update(p)
                    return true
                }
                if case let .built(tokens, resumed, seconds) = outcome { work = (tokens, resumed, seconds) }
                if case .interrupted = outcome {} else { succeeded.insert(job.outDir) }
                say(report.record(job.display, bundle: job.bundle, outcome: outcome, seconds: Date().timeIntervalSince(began)))
            } catch {
                // Reported, and the next document is built all the same; the exit status says one failed.
                let reason = (error as? LHError)?.description ?? error.localizedDescription
                report.add(job.display, .failed, reason: reason, seconds: Date().timeIntervalSince(began))
                progress.log("error \(job.display): \(reason)")
            }
            progress.finish(work: work)
        }
        progress.stop()
        for dir in succeeded.sorted() {
            let record = CorpusRecord(settings: settings, compression: codec)
            do { try shard == nil ? record.write(directory: dir) : OutputLock.updatingCorpus(of: dir) { try record.write(directory: dir) } } catch {
                progress.log("error \(dir): cannot record its settings (\((error as? LHError)?.description ?? "\(error)"))")
            }
        }
        // Indexes whose document is gone from the directories given.
        for dir in outputs {
            let roots = found.compactMap { $0.outDir == dir ? $0.root : nil }
            let expected = Set(found.filter { $0.outDir == dir }.map { URL(fileURLWithPath: $0.bundle).standardizedFileURL.path })
            for rel in (try? CorpusUpkeep.orphans(output: dir, roots: Array(Set(roots)), expected: expected)) ?? []
            where shard?.owns(bundle: dir + "/" + rel, in: dir) ?? true {   // another shard's gone document is its own to report
                if prune {
                    do {
                        try FileManager.default.removeItem(atPath: dir + "/" + rel)
                        report.add(dir + "/" + rel, .removed)
                        say("removed \(dir)/\(rel): its document is gone")
                    } catch { progress.log("error \(dir)/\(rel): cannot remove it (\(error.localizedDescription))") }
                } else {
                    report.add(dir + "/" + rel, .gone, reason: "its document is no longer there")
                    progress.log("gone \(dir)/\(rel): its document is no longer there (--prune removes the index)")
                }
            }
        }
        let bytes = outputs.reduce(0) { $0 + CorpusUpkeep.bytesOnDisk($1) }
        report.summaryLines(outputs: outputs, bytes: bytes, shard: shard.map { "\($0)" },
                            otherShards: found.count - jobs.count).forEach(say)
        let failures = report.totals(bytes: bytes).failed
        if failures > 0 { progress.log("\(failures) of \(texts.count) document(s) could not be indexed") }
        if verbosity == .json { io.out(try report.json(outputs: outputs, bytes: bytes)) }
        return failures == 0 && report.indexedAny ? 0 : 1
    }

    /// The reason part of a read error (without the repeated path).
    static func reason(_ e: LHError, path: String) -> String {
        let d = e.description
        return d.hasPrefix(path + ": ") ? String(d.dropFirst(path.count + 2)) : d
    }
}
