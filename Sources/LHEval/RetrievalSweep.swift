// Runs a grid of attention configurations over retrieval prompts, prefilling each document once per document configuration.
import Foundation
import LHModel
import LHEngine

/// One configuration of a sweep: a name, an attention mode and its settings.
public struct SweepConfiguration: Sendable {
    public var name: String
    public var mode: AttentionMode
    public var settings: LongHeadsSettings
    /// Prompts longer than this are skipped for this configuration (e.g. dense attention past 16k).
    public var maxLength: Int
    /// Diagnostic: question tokens' windows are forced to contain the chunk(s) of the planted fact.
    public var oracle: Bool

    public init(name: String, mode: AttentionMode, settings: LongHeadsSettings, maxLength: Int = .max, oracle: Bool = false) {
        self.name = name
        self.mode = mode
        self.settings = settings
        self.maxLength = maxLength
        self.oracle = oracle
    }
}

/// One scored (configuration, prompt) pair: a line of the sweep's JSON output.
public struct SweepTrial: Sendable, Codable {
    public var configuration: String
    public var mode: AttentionMode
    public var task: String
    public var length: Int
    public var tokens: Int
    public var seed: Int
    public var key: Int
    public var depth: Double
    public var answer: String
    public var correct: Bool
    /// Seconds of this configuration's own work: the question and answer when the document prefill was
    /// shared, the whole prompt otherwise.
    public var seconds: Double
    /// Seconds of the shared document prefill (0 when not shared).
    public var prefillSeconds: Double
    /// LongHeads: of all (layer, query head) windows of the last prompt token, how many held a chunk of
    /// the planted fact (selection recall; nil for dense and window).
    public var needleWindows: Int?
    public var windows: Int?
    public var settings: LongHeadsSettings
}

/// The sweep runner.
///
/// LongHeads configurations whose `documentSettings` agree share one prefill of the document part of each
/// prompt (everything before the question, rounded down to a chunk boundary); only the question and
/// answer are run per configuration, over the same chunk store. Dense and window configurations run the
/// whole prompt. `RetrievalSweepTests` checks that a shared prefill answers exactly as a whole-prompt run.
public final class RetrievalSweep {
    public let languageModel: LanguageModel
    private let forward: ForwardPass
    private let generator: Generator

    /// How answers are decoded: greedy, with the repeat penalty the command line chose.
    public let sampling: SamplingOptions

    public init(languageModel: LanguageModel, sampling: SamplingOptions = SamplingOptions(temperature: 0)) {
        self.languageModel = languageModel
        self.sampling = sampling
        forward = ForwardPass(model: languageModel.model)
        generator = Generator(languageModel: languageModel)
    }

    /// Runs every configuration on `item`; `onTrial` sees each result as it comes.
    public func run(_ item: RetrievalItem, configurations: [SweepConfiguration],
                    onTrial: (SweepTrial) -> Void = { _ in }) throws -> [SweepTrial] {
        var results: [SweepTrial] = []
        func record(_ c: SweepConfiguration, answer: [Int32], seconds: Double, prefill: Double,
                    selections: [[[Int]?]]? = nil) {
            let text = languageModel.tokenizer.decode(answer)
            let t = SweepTrial(configuration: c.name, mode: c.mode, task: item.task, length: item.length,
                               tokens: item.tokens.count, seed: item.seed, key: item.key, depth: item.depth, answer: text,
                               correct: item.isCorrect(text), seconds: seconds, prefillSeconds: prefill,
                               needleWindows: selections.map { windowsHoldingNeedle($0) },
                               windows: selections.map { $0.reduce(0) { $0 + $1.count } }, settings: c.settings)
            results.append(t)
            onTrial(t)
        }
        // Chunks of the planted fact, for the chunk size of the first configuration (recall is reported for
        // configurations with that chunk size).
        let needleW = configurations.first?.settings.chunkSize ?? 256
        let needleChunks = item.needleChunks(chunkSize: needleW)
        // The last token's own chunk is always attended: every window holds the fact when it sits there.
        let inOwnChunk = needleChunks.contains((item.tokens.count - 1) / needleW)
        func windowsHoldingNeedle(_ s: [[[Int]?]]) -> Int {
            s.reduce(0) { $0 + $1.filter { sel in sel.map { inOwnChunk || $0.contains(where: needleChunks.contains) } ?? false }.count }
        }
        let active = configurations.filter { item.length <= $0.maxLength }
        let greedy = sampling
        // Shared-prefill groups, in order of first appearance.
        var groups: [(document: LongHeadsSettings, members: [SweepConfiguration])] = []
        for c in active where c.mode == .longheads {
            if let i = groups.firstIndex(where: { $0.document == c.settings.documentSettings }) {
                groups[i].members.append(c)
            } else {
                groups.append((c.settings.documentSettings, [c]))
            }
        }
        for (document, members) in groups {
            let start = document.questionStart(documentTokens: item.documentTokens, promptTokens: item.tokens.count)
            let began = Date()
            let prefill = try LongHeadsAttention(model: languageModel.model, settings: document)
            if start > 0 { _ = forward.run(Array(item.tokens[..<start]), cache: prefill, logitRows: []) }
            let prefillSeconds = Date().timeIntervalSince(began)
            // `start` is a chunk boundary: no open rows, only the sliding-window layers' state (Gemma 3).
            let resumeState = prefill.openChunkState
            for c in members {
                let t0 = Date()
                // Question tokens overwrite the store's rows from `start` on, so each member starts clean.
                let cache = try LongHeadsAttention(model: languageModel.model, settings: c.settings, store: prefill.store,
                                                   startingAt: start, openChunk: resumeState)
                cache.questionStart = start
                cache.tracePosition = item.tokens.count - 1
                if c.oracle { cache.oracleChunks = Array(item.needleChunks(chunkSize: document.chunkSize)) }
                let out = generator.generate(prompt: Array(item.tokens[start...]), maxTokens: item.answerTokens,
                                             sampling: greedy, cache: cache)
                record(c, answer: out, seconds: Date().timeIntervalSince(t0), prefill: prefillSeconds,
                       selections: c.settings.chunkSize == needleW ? cache.tracedSelections : nil)
            }
        }
        for c in active where c.mode != .longheads {
            let t0 = Date()
            let cache = try c.mode.makeCache(model: languageModel.model, settings: c.settings)
            let out = generator.generate(prompt: item.tokens, maxTokens: item.answerTokens, sampling: greedy, cache: cache)
            record(c, answer: out, seconds: Date().timeIntervalSince(t0), prefill: 0)
        }
        return results
    }
}
