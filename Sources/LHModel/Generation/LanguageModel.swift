// A model ready for text: weights, tokenizer and chat template loaded from one GGUF file.
import LHCore

/// A LLaMA model together with its tokenizer and chat template.
public final class LanguageModel: @unchecked Sendable {
    /// Weights and hyperparameters.
    public let model: LlamaModel
    /// The model's byte-level BPE tokenizer.
    public let tokenizer: Tokenizer
    /// The model's chat format.
    public let chatTemplate: ChatTemplate

    /// Loads the model at `path`.
    /// - Throws: `LHError` naming the file and the problem.
    public init(path: String) throws {
        let gguf = try GGUFFile(path: path)
        model = try LlamaModel(gguf: gguf)
        tokenizer = try Tokenizer(gguf: gguf)
        // Token ids index the embedding: a vocabulary larger than its rows would read past the tensor.
        guard tokenizer.vocabularySize <= model.config.vocabularySize else {
            throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerTokens) has \(tokenizer.vocabularySize) tokens, expected at most the \(model.config.vocabularySize) rows of \(GGUFTensorName.tokenEmbedding)")
        }
        chatTemplate = ChatTemplate(templateText: gguf.string(GGUFKey.chatTemplate))
    }

    /// Tokens of a prompt; special tokens such as `<|im_start|>` are recognised.
    public func encode(_ text: String) -> [Int32] { tokenizer.encode(text, parseSpecial: true) }

    /// Tokens that open a sequence: BOS when the model adds one (Gemma, Llama, Mistral; not SmolLM2), then `text`
    /// (a template prefix or a whole prompt) with special tokens recognised.
    public func encodeOpening(_ text: String) -> [Int32] {
        (tokenizer.addsBOS ? tokenizer.bosToken.map { [$0] } ?? [] : []) + encode(text)
    }
}
