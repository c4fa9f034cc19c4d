// One retrieval prompt, tokenized: the document part every configuration shares and the question after it.
import LHModel
import LHEngine

/// A prompt of a retrieval task (passkey or needle) with what a correct answer must contain.
public struct RetrievalItem: Sendable {
    /// Task name ("passkey", "needle").
    public var task: String
    /// Target prompt length in tokens (the table's column).
    public var length: Int
    public var seed: Int
    /// The whole prompt.
    public var tokens: [Int32]
    /// Tokens before the question: a sweep prefills these once per document configuration.
    public var documentTokens: Int
    /// The number a correct answer contains as a whole run of digits.
    public var key: Int
    /// Depth of the planted fact as a fraction of the document (0 = start).
    public var depth: Double
    /// Greedy tokens generated for the answer.
    public var answerTokens: Int
    /// Token positions of the planted fact (approximate at its edges: tokenization of the text before it).
    public var needleTokens: Range<Int>

    public init(task: String, length: Int, seed: Int, tokens: [Int32], documentTokens: Int, key: Int, depth: Double,
                answerTokens: Int, needleTokens: Range<Int>) {
        self.task = task
        self.length = length
        self.seed = seed
        self.tokens = tokens
        self.documentTokens = documentTokens
        self.key = key
        self.depth = depth
        self.answerTokens = answerTokens
        self.needleTokens = needleTokens
    }

    /// The chunks (of `chunkSize` tokens) that hold the planted fact.
    public func needleChunks(chunkSize w: Int) -> ClosedRange<Int> {
        (needleTokens.lowerBound / w)...(max(needleTokens.lowerBound, needleTokens.upperBound - 1) / w)
    }

    /// Whether `answer` is correct (contains the key as a whole number).
    public func isCorrect(_ answer: String) -> Bool { PasskeyTask.isCorrect(answer: answer, key: key) }

    /// The passkey prompt of `PasskeyTask` for `seed`; the last `tailTokens` tokens are the question.
    public static func passkey(length: Int, garbageChars: Int, seed: Int, tokenizer: Tokenizer, tailTokens: Int = 32) -> RetrievalItem {
        let p = PasskeyTask.prompt(garbageChars: garbageChars, seed: seed)
        let tokens = tokenizer.encode(p.text, parseSpecial: false)
        let before = tokenizer.encode(String(p.text.prefix(p.keyOffset)), parseSpecial: false).count
        let through = tokenizer.encode(String(p.text.prefix(p.keyOffset + p.keySentence.count)), parseSpecial: false).count
        return RetrievalItem(task: "passkey", length: length, seed: seed, tokens: tokens,
                             documentTokens: max(0, tokens.count - max(1, tailTokens)), key: p.key,
                             depth: garbageChars > 0 ? Double(p.prefixChars) / Double(garbageChars) : 0, answerTokens: 8,
                             needleTokens: before..<through)
    }
}
