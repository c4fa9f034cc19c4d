// The passkey retrieval task of the LongHeads / Landmark Attention papers, prompt-for-prompt identical to the NumPy prototype.
import LHModel
import LHEngine

/// One passkey prompt.
public struct PasskeyPrompt: Sendable, Equatable {
    /// The full prompt text (plain text, no chat template).
    public var text: String
    /// The pass key N (1...50000).
    public var key: Int
    /// Characters of filler before the key sentence (the depth).
    public var prefixChars: Int
    /// Total filler characters.
    public var garbageChars: Int
    /// The key sentence and its character offset in `text`.
    public var keySentence: String
    public var keyOffset: Int
}

/// Prompt generation and scoring.
///
/// The prompt is exactly the one of `reference/longheads-numpy/passkey_gen.py` (same text, same Python
/// `random.Random(seed + garbageChars)` draws), so results can be compared prompt by prompt.
public enum PasskeyTask {
    static let task = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there."
    static let garbage = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    static let question = "What is the pass key? The pass key is"

    /// The prompt with `garbageChars` characters of filler for trial seed `seed`: the key sentence sits at a
    /// uniformly random character depth, the key is uniform in 1...50000.
    public static func prompt(garbageChars n: Int, seed: Int) -> PasskeyPrompt {
        var rnd = PythonRandom(seed: UInt64(seed + n))
        let pre = rnd.randint(0, n)
        let suf = n - pre
        let key = rnd.randint(1, 50000)
        let filler = Array(repeating: garbage, count: n / garbage.count + 2).joined(separator: " ")
        let info = "The pass key is \(key). Remember it. \(key) is the pass key."
        let text = [task, String(filler.prefix(pre)), info, String(filler.prefix(suf)), question].joined(separator: "\n")
        return PasskeyPrompt(text: text, key: key, prefixChars: pre, garbageChars: n, keySentence: info,
                             keyOffset: task.count + 1 + pre + 1)
    }

    /// Filler characters giving prompts of at most (and close to) `targetTokens` tokens.
    public static func garbageChars(forTokens targetTokens: Int, tokenizer: Tokenizer) -> Int {
        func tokens(_ n: Int) -> Int { tokenizer.encode(prompt(garbageChars: n, seed: 0).text, parseSpecial: false).count }
        var n = max(0, (targetTokens - 60) * 37 / 10)
        for _ in 0..<4 {
            let t = tokens(n)
            n = max(0, n + (targetTokens - t) * 37 / 10 - (t > targetTokens ? 0 : 8))
        }
        while n > 0, tokens(n) > targetTokens { n -= 32 }
        return n
    }

    /// Whether the answer contains the key as a whole run of digits (as the prototype scores it).
    public static func isCorrect(answer: String, key: Int) -> Bool {
        var runs: [String] = [], cur = ""
        for ch in answer {
            if ch.isASCII, ch.isNumber { cur.append(ch) } else if !cur.isEmpty { runs.append(cur); cur = "" }
        }
        if !cur.isEmpty { runs.append(cur) }
        return runs.contains(String(key))
    }
}

/// Python's `random.Random` (MT19937 seeded by `init_by_array`, `randint` via `getrandbits` rejection),
/// reproduced so prompts match the Python prototype's exactly.
struct PythonRandom {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt64) {
        var key: [UInt32] = []
        var s = seed
        repeat { key.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s > 0
        initGenrand(19650218)
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1664525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1566083941)) &- UInt32(i)
            i += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
        }
        mt[0] = 0x8000_0000
        index = 624
    }

    private mutating func initGenrand(_ s: UInt32) {
        mt[0] = s
        for i in 1..<624 { mt[i] = 1812433253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i) }
    }

    mutating func next32() -> UInt32 {
        if index >= 624 {
            for i in 0..<624 {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7fff_ffff)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_b0df : 0)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// `random.randint(a, b)` for b − a + 1 < 2^32.
    mutating func randint(_ a: Int, _ b: Int) -> Int {
        let n = UInt32(b - a + 1)
        let k = 32 - n.leadingZeroBitCount
        var r = next32() >> (32 - k)
        while r >= n { r = next32() >> (32 - k) }
        return a + Int(r)
    }
}
