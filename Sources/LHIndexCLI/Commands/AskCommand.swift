// `lhindex ask`: answers questions about an indexed document or a corpus of them, reloading only the chunks each head selects.
import Foundation
import LHCore
import LHModel
import LHStore

/// Asks questions of a `.lhx` index.
struct AskCommand: Command {
    static let name = "ask"
    static let abstract = "Answer questions about indexed documents (.lhx, or a corpus directory), streamed."
    static let usage = "INDEX... [QUESTION...] [-f FILE] [-n N] [--temp T] [--seed S] [--json] [--cite [N]] [-m MODEL]"
    static let discussion = """
    INDEX is a .lhx bundle or a directory searched for them (what 'lhindex build' wrote, e.g.
    corpus.lhindex); the arguments after the last INDEX are questions. Several bundles are asked as one
    corpus: every head of every question and answer token picks its chunks among all the documents'
    chunks, and the question follows the last document (bundles in the order given, a directory's
    sorted by path). They must share the model and the document settings. The index is mapped, not
    read; "Question: ..." and the model's assistant opener follow the document, and the answer streams. Several questions (arguments, lines of -f FILE, or lines of
    standard input; an interactive prompt on a terminal) reuse the loaded index and its block cache;
    each starts from the document alone. --cite [N] lists at most N (default 3) passages (document,
    lines, share and an excerpt from a line or sentence start) that the answer attended to beyond
    what a question asking nothing ("What is it?") attends to, most first, or "no passage stood out";
    the first chunk, which takes the attention-sink weight, is left out. --json prints one object
    per question: answer, tokens, seconds, first_token_seconds, cache (hits, misses, bytes read and
    decompressed) and citations. The question options override the index's question-time settings
    (they do not change how the document was read, so no rebuild is needed).

    With no question and no -f on a terminal, ask starts an interactive session: a banner, a prompt with
    line editing and history (the last \(PromptHistory.defaultLimit) lines, kept in $LHINDEX_HOME/history), /help for the commands (/cite on|off, /clear,
    /bye), Ctrl-C to stop an answer and Ctrl-D to quit. From a pipe, each line is a question.
    """
    static let options: [OptionSpec] = [
        OptionSpec("model", short: "m", value: "MODEL", help: "Model file or name; must be the one the index was built with (default: $LHINDEX_MODEL, then the index's own model when it is a known model in the cache, then the default model)."),
        OptionSpec("file", short: "f", value: "FILE", help: "Read questions from FILE, one per line (a pipe works too: -f /dev/stdin, -f <(...))."),
        OptionSpec("n-predict", short: "n", value: "N", help: "Maximum answer tokens (default 128)."),
        OptionSpec("answer-start", value: "TEXT", help: "Begin every answer with TEXT, which the model continues (e.g. 'The pass key is'); the answer shown includes it."),
        OptionSpec("json", help: "Print one JSON object per question instead of text."),
        OptionSpec("cite", help: "List the passages the answer attended to beyond what their place explains, most first: at most N (default 3).",
                   optionalCount: true),
        OptionSpec("cite-min", value: "X", help: "The attention beyond the baseline a passage needs to be cited, as a root mean square over heads and tokens (default \(CitationEvidence.standOut); 0 lists the top passages whatever).",
                   group: .advanced),
        OptionSpec("reread", value: "N", help: "Answer from the N chunks the question attended to most, read again as text, in document order, by the model's own attention inside its trained context: a slower first token (default 0: answer from the index).",
                   group: .advanced),
        OptionSpec("cache-mb", value: "MB", help: "Memory for the parts of the index read while answering, in MB (default \(BlockCache.defaultCapacityBytes >> 20)); below about 180, answers slow down."),
        OptionSpec("verbose", short: "v", help: "Print timing and cache statistics to standard error."),
    ] + SamplingArguments.specs + LongHeadsOptions.questionSpecs

    /// The bundles to ask, with the names citations give them.
    let bundles: [(directory: String, name: String)]
    let questions: [String]
    let questionFile: String?
    let modelPath: String?
    let maxTokens: Int
    /// The text every answer begins with (`--answer-start`; empty: none).
    let answerStart: String
    let sampling: SamplingOptions
    let json: Bool
    let cite: Bool
    /// At most this many citations (`--cite N`).
    let citationCount: Int
    /// The excess a passage needs to be cited (`--cite-min`).
    let citationThreshold: Double
    /// Chunks re-read as text before answering (`--reread`; 0: none).
    let reread: Int
    let cacheBytes: Int
    let verbose: Bool
    /// The question-time LongHeads options as given (applied over the index's settings once it is open).
    let questionOptions: ParsedArguments

    init(arguments a: ParsedArguments) throws {
        guard let first = a.positional.first else { throw UsageError("missing INDEX (a .lhx bundle or a directory of them)") }
        // Paths while they name directories (the first always counts, so a missing one is reported); then questions.
        var paths = [first]
        for p in a.positional.dropFirst() {
            guard RegularFile.kind(of: p) == .directory else { break }
            paths.append(p)
        }
        bundles = try CorpusPaths.bundles(paths)
        questions = Array(a.positional.dropFirst(paths.count))
        // A blank line of -f FILE or of a pipe is skipped; a blank argument is a mistake (an unset shell variable).
        if questions.contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw UsageError("a question is empty")
        }
        questionFile = a.string("file")
        modelPath = a.string("model")
        maxTokens = try a.int("n-predict", default: 128, in: 1...100_000)
        answerStart = a.string("answer-start") ?? ""
        sampling = try SamplingArguments.parse(a)
        json = a.flag("json")
        cite = a.flag("cite")
        citationCount = try a.int("cite", default: 3, in: 1...100)
        citationThreshold = Double(try a.float("cite-min", default: Float(CitationEvidence.standOut), in: 0...1))
        reread = try a.int("reread", default: 0, in: 0...64)
        cacheBytes = try a.int("cache-mb", default: BlockCache.defaultCapacityBytes >> 20, in: 1...1 << 20) << 20
        verbose = a.flag("verbose")
        questionOptions = a
    }

    /// Address space a question needs beyond the block cache and the maps (forward-pass buffers, logits,
    /// pooled frames, thread stacks): `ask` of a 33k-token bundle with the default model and cache ran
    /// under 'ulimit -v 600000' and failed at 500000.
    static let workingBytes = 64 << 20

    struct JSONAnswer: Encodable {
        var question: String
        var answer: String
        var tokens: Int
        var seconds: Double
        var first_token_seconds: Double
        var cache: [String: Int]
        var citations: [Citation]?
        var finish_reason: String
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        var qs = questions
        if let f = questionFile { qs += try TextFile.readStream(f).split(whereSeparator: \.isNewline).map(String.init) }
        let interactive = qs.isEmpty && questionFile == nil && isatty(0) != 0
        let header = !interactive && (qs.count > 1 || qs.isEmpty)
        // Without -m or $LHINDEX_MODEL, the model the index was built with when it is a known model in the cache.
        let builtWith = bundles.first.flatMap { try? IndexDatabase.open(path: $0.directory + "/" + BundleFormat.database).metadata().model.sha256 }
        let lm = try LanguageModel(path: try ModelLocator.resolve(modelPath, builtWith: builtWith))
        // The whole model's hash, from the cache of verified hashes unless the file changed since.
        let hashed = Date()
        let model = try ModelHashCache(directory: ModelLocator.home).sha256(of: lm.model.gguf.file)
        if verbose {
            io.err(model.computed ? String(format: "model sha256 computed in %.3f s\n", Date().timeIntervalSince(hashed))
                                  : "model sha256 from the cache\n")
        }
        let opened = Date()
        let reader = try IndexReader(bundles: bundles, languageModel: lm, cacheBytes: cacheBytes, modelSHA256: model.sha256)
        // The block cache fills as questions run, with the forward pass's buffers: fail now, in one line,
        // rather than in an allocation midway through an answer.
        try Allocation.checkAddressSpace(bytes: cacheBytes + Self.workingBytes,
                                         what: "the block cache (\(cacheBytes >> 20) MB, --cache-mb) and the forward pass")
        var settings = reader.questionSettings
        try LongHeadsOptions.applyQuestionOptions(questionOptions, to: &settings)
        if settings != reader.questionSettings { try reader.setQuestionSettings(settings) }
        if verbose {
            io.err(String(format: "opened %d document(s) (%d tokens) in %.3f s\n", reader.documents.count, reader.tokens,
                          Date().timeIntervalSince(opened)))
        }
        func answer(_ q: String, cite: Bool, isStopped: () -> Bool = { false }) throws {
            let trimmed = q.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return }
            if !json && header { io.out("Q: \(trimmed)\nA: ") }
            let r = try reader.ask(trimmed, answerStart: answerStart, maxTokens: maxTokens, sampling: sampling, cite: cite, citationCount: citationCount, citationThreshold: citationThreshold,
                                 reread: reread, isStopped: isStopped) { piece in
                if !json { io.out(piece) }
            }
            if json {
                let enc = CommandJSON.encoder()
                let c = r.cache
                let obj = JSONAnswer(question: trimmed, answer: r.answer, tokens: r.tokens, seconds: r.seconds,
                                     first_token_seconds: r.firstTokenSeconds,
                                     cache: ["hits": c.hits, "misses": c.misses, "bytes_read": c.bytesRead, "bytes_decompressed": c.bytesDecompressed],
                                     citations: r.citations, finish_reason: r.finishReason.rawValue)
                io.out(String(decoding: try enc.encode(obj), as: UTF8.self) + "\n")
            } else {
                io.out(r.finishReason == .length ? " [...]\n" : r.finishReason == .stopped ? " [stopped]\n" : "\n")
                if r.finishReason == .length {
                    io.err("lhindex: the answer was cut at \(maxTokens) tokens; -n allows more\n")
                }
                if r.citations?.isEmpty == true { io.out("  (no passage stood out)\n") }
                for c in r.citations ?? [] {
                    let lines = c.firstLine == c.lastLine ? "line \(c.firstLine)" : "lines \(c.firstLine)-\(c.lastLine)"
                    io.out(String(format: "  [%@ %@, %.0f%%] %@\n", Printable.escaped(c.document), lines, 100 * c.weight, c.excerpt))
                }
            }
            if verbose {
                let c = r.cache
                io.err(String(format: "%d tokens in %.2f s, first token %.3f s; cache %d hits, %d misses, %.1f MB decompressed\n",
                              r.tokens, r.seconds, r.firstTokenSeconds, c.hits, c.misses, Double(c.bytesDecompressed) / 1e6))
            }
        }
        if !qs.isEmpty {
            for q in qs { try answer(q, cite: cite) }
        } else if interactive {
            let name = ((lm.model.gguf.path as NSString).lastPathComponent as NSString).deletingPathExtension
            var session = InteractiveAsk(io: io, documents: reader.documents.map(\.name), tokens: reader.tokens, model: name,
                                         cite: cite) { try answer($0, cite: $1, isStopped: $2) }
            return try session.run()
        } else {
            while let line = readLine() { try answer(line, cite: cite) }
        }
        return 0
    }
}
