// Which tokens the repeat penalty leaves alone: numbers and white space repeat legitimately.
//
// Measured with the default model (eval needle at 4k, eval passkey at 8k, 6 trials each, 2026-12-03): a
// penalty of 1.1 on every recent answer token cut answers that repeat a digit ("1383." for 13833, "427" for
// 42422; needle 4/6 against 6/6 without the penalty), because SmolLM2 spells numbers one digit per token.

extension Tokenizer {
    /// Whether `token` spells only digits and white space (the repeat penalty does not count such tokens).
    public func spellsDigitsOrSpace(_ token: Int32) -> Bool {
        let bytes = tokenBytes(token)
        return !bytes.isEmpty && bytes.allSatisfy { (0x30...0x39).contains($0) || $0 == 0x20 || $0 == 0x0A || $0 == 0x09 }
    }
}

extension Sampler {
    /// The sampler of an answer: the repeat penalty of `options` counts the answer's own tokens only (the caller
    /// never accepts the prompt's) and leaves `tokenizer`'s digits and white space alone.
    public init(answering options: SamplingOptions, tokenizer: Tokenizer) {
        self.init(options: options, exempt: { tokenizer.spellsDigitsOrSpace($0) })
    }
}
