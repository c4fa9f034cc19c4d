// Runs passkey trials for one attention mode and prompt length: prefill, greedy answer, score, timing.
import Foundation
import LHModel

/// One scored trial.
public struct PasskeyTrial: Sendable, Codable {
    public var mode: AttentionMode
    /// Target prompt length in tokens (0 when the filler was given in characters).
    public var length: Int
    /// Actual prompt tokens.
    public var tokens: Int
    public var garbageChars: Int
    public var seed: Int
    public var key: Int
    /// Depth of the key sentence as a fraction of the filler (0 = start).
    public var depth: Double
    public var answer: String
    public var correct: Bool
    public var seconds: Double
}

/// Accuracy of one (mode, length) cell.
public struct PasskeyCell: Sendable, Codable {
    public var mode: AttentionMode
    public var length: Int
    /// Filler characters of the prompts.
    public var garbageChars: Int
    /// Mean prompt tokens over the trials.
    public var tokens: Int
    public var trials: Int
    public var correct: Int
    public var accuracy: Double
    /// Prompt tokens processed per second (prefill and answer included).
    public var tokensPerSecond: Double
}

/// The passkey harness.
public final class PasskeyEval {
    public let languageModel: LanguageModel
    /// LongHeads (and window) configuration.
    public let settings: LongHeadsSettings
    /// The chunk(s) holding the last `tailTokens` prompt tokens select per token (question tokens), as the prototype.
    public let tailTokens: Int
    /// Greedy tokens generated for the answer.
    public let answerTokens: Int

    public init(languageModel: LanguageModel, settings: LongHeadsSettings, tailTokens: Int = 32, answerTokens: Int = 8) {
        self.languageModel = languageModel
        self.settings = settings
        self.tailTokens = tailTokens
        self.answerTokens = answerTokens
    }

    /// Runs one trial per seed with `garbageChars` filler characters; `onTrial` sees each result as it comes.
    public func run(mode: AttentionMode, length: Int, garbageChars: Int, seeds: [Int],
                    onTrial: (PasskeyTrial) -> Void = { _ in }) throws -> PasskeyCell {
        let generator = Generator(languageModel: languageModel)
        var trials: [PasskeyTrial] = []
        for seed in seeds {
            let p = PasskeyTask.prompt(garbageChars: garbageChars, seed: seed)
            let tokens = languageModel.tokenizer.encode(p.text, parseSpecial: false)
            let w = settings.chunkSize
            let questionStart = max(0, tokens.count - tailTokens) / w * w
            let cache = try mode.makeCache(model: languageModel.model, settings: settings, questionStart: questionStart)
            let start = Date()
            let out = generator.generate(prompt: tokens, maxTokens: answerTokens, sampling: SamplingOptions(temperature: 0), cache: cache)
            let seconds = Date().timeIntervalSince(start)
            let answer = languageModel.tokenizer.decode(out)
            let trial = PasskeyTrial(mode: mode, length: length, tokens: tokens.count, garbageChars: garbageChars, seed: seed,
                                     key: p.key, depth: garbageChars > 0 ? Double(p.prefixChars) / Double(garbageChars) : 0,
                                     answer: answer, correct: PasskeyTask.isCorrect(answer: answer, key: p.key), seconds: seconds)
            trials.append(trial)
            onTrial(trial)
        }
        let correct = trials.filter(\.correct).count
        let totalTokens = trials.reduce(0) { $0 + $1.tokens }, totalSeconds = trials.reduce(0) { $0 + $1.seconds }
        return PasskeyCell(mode: mode, length: length, garbageChars: garbageChars, tokens: trials.isEmpty ? 0 : totalTokens / trials.count,
                           trials: trials.count, correct: correct,
                           accuracy: trials.isEmpty ? 0 : Double(correct) / Double(trials.count),
                           tokensPerSecond: totalSeconds > 0 ? Double(totalTokens) / totalSeconds : 0)
    }
}
