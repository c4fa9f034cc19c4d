// Autoregressive generation: prefill a prompt, then sample one token at a time.
import LHCore

/// Generates continuations with a dense KV cache.
public final class Generator {
    public let languageModel: LanguageModel
    private let forward: ForwardPass

    public init(languageModel: LanguageModel) {
        self.languageModel = languageModel
        forward = ForwardPass(model: languageModel.model)
    }

    /// Generates up to `maxTokens` tokens after `prompt`, calling `onToken` with each one
    /// (return false to stop). Stops early at an end-of-generation token (not passed on).
    /// - Returns: the generated tokens.
    @discardableResult
    public func generate(prompt: [Int32], maxTokens: Int, sampling: SamplingOptions,
                         cache: AttentionCache? = nil, onToken: (Int32) -> Bool = { _ in true }) -> [Int32] {
        generateWithReason(prompt: prompt, maxTokens: maxTokens, sampling: sampling, cache: cache, onToken: onToken).tokens
    }

    /// `generate`, also saying why it ended (`length` when `maxTokens` or `onToken` cut it).
    public func generateWithReason(prompt: [Int32], maxTokens: Int, sampling: SamplingOptions, cache: AttentionCache? = nil,
                                   onToken: (Int32) -> Bool = { _ in true }) -> (tokens: [Int32], finish: FinishReason) {
        precondition(!prompt.isEmpty, "empty prompt")
        let cache = cache ?? languageModel.model.makeDenseCache()
        var sampler = Sampler(answering: sampling, tokenizer: languageModel.tokenizer)
        var logits = forward.runLast(prompt, cache: cache)
        var out: [Int32] = []
        while out.count < maxTokens {
            let t = sampler.sample(logits)
            if languageModel.tokenizer.isEndOfGeneration(t) { return (out, .stop) }
            out.append(t)
            sampler.accept(t)
            if !onToken(t) || out.count == maxTokens { break }
            logits = forward.runLast([t], cache: cache)
        }
        return (out, .length)
    }
}
