// Incremental detokenization: emits text as tokens arrive, holding back an incomplete UTF-8 character.

/// Turns a stream of tokens into text, holding back bytes of an incomplete UTF-8 character until
/// it completes. The concatenation of everything `append` and `finish` return equals
/// `tokenizer.decode` of all the tokens.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    /// A decoder with nothing pending.
    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds a token; returns the text that became complete (possibly empty).
    public mutating func append(_ token: Int32) -> String {
        tokenizer.appendBytes(of: token, to: &pending)
        let held = StreamingDecoder.incompleteSuffixLength(pending)
        if held == pending.count { return "" }
        let text = String(decoding: pending[..<(pending.count - held)], as: UTF8.self)
        pending.removeFirst(pending.count - held)
        return text
    }

    /// Returns whatever is still held back (an unfinished character decodes as U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the trailing bytes that begin a well-formed UTF-8 character but do not finish it
    /// (0 if the bytes end with a complete character or with bytes that can never become one).
    /// Splitting there never changes how the whole byte string decodes.
    static func incompleteSuffixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var k = 1
        while k <= min(3, n) {
            let lead = b[n - k]
            if lead & 0xC0 == 0x80 { k += 1; continue }            // continuation byte: look further back
            let need: Int
            switch lead {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return 0                                       // ASCII or a byte that never starts a character
            }
            guard k < need else { return 0 }                        // complete (or over-long: ill-formed anyway)
            if k >= 2 {                                             // the second byte's range depends on the lead
                let second = b[n - k + 1]
                let ok: Bool
                switch lead {
                case 0xE0: ok = second >= 0xA0
                case 0xED: ok = second <= 0x9F
                case 0xF0: ok = second >= 0x90
                case 0xF4: ok = second <= 0x8F
                default: ok = true
                }
                if !ok { return 0 }
            }
            return k
        }
        return 0
    }
}
