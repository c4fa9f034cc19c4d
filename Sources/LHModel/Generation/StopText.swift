// Ends an answer at a text the model writes when it has finished (a base model's next "Question:"), without
// ever streaming a part of that text.

/// Streams an answer's text until `stop` appears, holding back any tail that could be the start of it.
public struct StopText: Sendable {
    /// The text that ends the answer (not part of it).
    public let stop: String
    private var held = ""
    /// Whether `stop` has appeared; later pieces are ignored.
    public private(set) var stopped = false

    public init(stop: String) { self.stop = stop }

    /// Takes the next piece of the answer and returns what may be shown now.
    public mutating func append(_ piece: String) -> String {
        guard !stopped else { return "" }
        held += piece
        if let r = held.range(of: stop) {
            stopped = true
            let out = String(held[..<r.lowerBound])
            held = ""
            return out
        }
        // Keep the longest tail of `held` that is a prefix of `stop`.
        var keep = min(held.count, stop.count - 1)
        while keep > 0, !stop.hasPrefix(held.suffix(keep)) { keep -= 1 }
        let out = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return out
    }

    /// What is still held back once the answer ended without `stop`.
    public mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
    }
}

extension ChatTemplate {
    /// Text that ends an answer to `ask`'s "Question: …" when the model has no end of turn: a base model
    /// answering in plain text goes on with a question of its own.
    public var answerStop: String? {
        switch self {
        case .none: return "\nQuestion:"
        case .chatML, .llama3, .gemma, .mistral: return nil
        }
    }
}
