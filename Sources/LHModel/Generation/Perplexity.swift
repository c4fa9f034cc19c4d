// Perplexity by llama.cpp's method: independent windows of n_ctx tokens, scored on their second half.
import Foundation
import LHCore

/// Result of a perplexity run.
public struct PerplexityResult: Sendable, Codable {
    /// exp(mean negative log-likelihood).
    public var perplexity: Double
    /// Tokens in the text.
    public var tokens: Int
    /// Window length.
    public var context: Int
    /// Number of windows evaluated (the remainder of the text is dropped).
    public var chunks: Int
    /// Number of predictions scored.
    public var scored: Int
    /// Tokens processed per second.
    public var tokensPerSecond: Double
}

/// Perplexity evaluation.
public enum Perplexity {
    /// Scores `tokens` in consecutive windows of `context` tokens, each evaluated from an empty cache;
    /// within a window, predictions of tokens `context/2 + 1 ..< context` count (llama.cpp's method).
    /// - Parameters:
    ///   - firstWindow: skip the windows before this one (e.g. to score the same region of a text at
    ///     several context lengths).
    ///   - maxWindows: evaluate at most this many windows from `firstWindow` on.
    ///   - bos: the model's BOS token when it adds one: every window starts with it in place of its first token
    ///     (llama-perplexity does this; `tokens` should then start with BOS too).
    ///   - makeCache: a fresh attention cache per window (dense, LongHeads, ...).
    ///   - progress: called after each window with (done, total).
    public static func evaluate(model: LlamaModel, tokens: [Int32], context: Int, firstWindow: Int = 0, maxWindows: Int = .max,
                                bos: Int32? = nil, makeCache: () throws -> AttentionCache,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> PerplexityResult {
        guard context >= 4 else { throw LHError.invalidInput("context \(context) is too small (minimum 4)") }
        let chunks = min(max(0, tokens.count / context - firstWindow), maxWindows)
        guard chunks > 0 else {
            throw LHError.invalidInput("the text has \(tokens.count) tokens, fewer than \(firstWindow + 1) window(s) of \(context)")
        }
        let forward = ForwardPass(model: model)
        let vocab = model.config.vocabularySize
        let first = context / 2
        var nll = 0.0, scored = 0
        let started = Date()
        for c in firstWindow..<(firstWindow + chunks) {
            var window = Array(tokens[(c * context)..<((c + 1) * context)])
            if let bos { window[0] = bos }
            let rows = Array(first..<(context - 1))
            let logits = forward.run(window, cache: try makeCache(), logitRows: rows)
            logits.withUnsafeBufferPointer { l in
                for (j, r) in rows.enumerated() {
                    nll -= TensorOps.logProbability(l.baseAddress! + j * vocab, count: vocab, index: Int(window[r + 1]))
                }
            }
            scored += rows.count
            progress(c - firstWindow + 1, chunks)
        }
        let seconds = Date().timeIntervalSince(started)
        return PerplexityResult(perplexity: exp(nll / Double(scored)), tokens: tokens.count, context: context,
                                chunks: chunks, scored: scored, tokensPerSecond: Double(chunks * context) / seconds)
    }
}
