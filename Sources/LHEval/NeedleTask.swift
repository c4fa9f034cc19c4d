// The needle-in-real-text task: a fact planted at a random depth in a long real text, asked as a chat question.
import LHModel
import LHEngine

/// Needle prompts in the shape `lhindex ask` uses: the chat template's user prefix, the document, then
/// "\n\nQuestion: …" and the assistant opener. The document is the start of a long real text (repeated
/// when shorter than the target) with one sentence stating a number inserted at a line boundary at a
/// uniformly random depth; the answer must contain the number.
public enum NeedleTask {
    /// (statement with N, question) pairs; one is drawn per trial so the choice is not tuned to one sentence.
    static let facts: [(String, String)] = [
        ("The access code for the north server room is N.", "What is the access code for the north server room?"),
        ("The release manager's lucky number is N.", "What is the release manager's lucky number?"),
        ("The mirror in Oslo keeps exactly N old snapshots.", "How many old snapshots does the mirror in Oslo keep?"),
        ("The build farm's spare disk has the serial number N.", "What is the serial number of the build farm's spare disk?"),
    ]

    /// The needle prompt of about `length` tokens for trial `seed` over `text`.
    public static func item(text: String, length: Int, seed: Int, languageModel lm: LanguageModel) -> RetrievalItem {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ UInt64(length))
        let key = Int(rng.next() % 50000) + 1
        let (statementTemplate, question) = facts[Int(rng.next() % UInt64(facts.count))]
        let statement = statementTemplate.replacingOccurrences(of: "N", with: String(key))
        let tk = lm.tokenizer
        let prefix = lm.encodeOpening(lm.chatTemplate.userPrefix())
        let tail = tk.encode("\n\nQuestion: " + question, parseSpecial: false)
            + tk.encode(lm.chatTemplate.assistantPrefix, parseSpecial: true)
        let budget = max(64, length - prefix.count - tail.count - 48)
        // The document: the text's first `budget` tokens (the text repeated when shorter), decoded back to text.
        let textTokens = tk.encode(text, parseSpecial: false)
        var docTokens: [Int32] = []
        while docTokens.count < budget { docTokens += textTokens.prefix(budget - docTokens.count) }
        var doc = Array(tk.decode(docTokens).unicodeScalars)
        // Insert the statement on its own line at the first line break after a uniform depth.
        var at = Int(rng.next() % UInt64(doc.count + 1))
        while at < doc.count, doc[at] != "\n" { at += 1 }
        let depth = Double(at) / Double(max(1, doc.count))
        doc.insert(contentsOf: ("\n" + statement).unicodeScalars, at: at)
        var s = String.UnicodeScalarView()
        s.append(contentsOf: doc)
        let text = String(s)
        let body = tk.encode(text, parseSpecial: false)
        let before = tk.encode(String(text.unicodeScalars.prefix(at + 1)), parseSpecial: false).count
        let through = tk.encode(String(text.unicodeScalars.prefix(at + 1 + statement.unicodeScalars.count)), parseSpecial: false).count
        return RetrievalItem(task: "needle", length: length, seed: seed, tokens: prefix + body + tail,
                             documentTokens: prefix.count + body.count, key: key, depth: depth, answerTokens: 24,
                             needleTokens: (prefix.count + before)..<(prefix.count + through))
    }
}
