// Choosing the next token from logits: greedy, or temperature with top-k and top-p, reproducible by seed.
import Foundation

/// Sampling settings. `temperature <= 0` means greedy (argmax).
public struct SamplingOptions: Sendable, Equatable {
    /// Softmax temperature; 0 picks the most likely token.
    public var temperature: Float = 0
    /// Keep only the k most likely tokens (0 = no limit).
    public var topK: Int = 40
    /// Keep the smallest set of tokens whose probability reaches p (1 = no limit).
    public var topP: Float = 0.95
    /// Random seed; the same seed and logits give the same tokens.
    public var seed: UInt64 = 0
    /// llama.cpp's repeat penalty: the logit of every token among the last `repeatLastN` generated tokens is
    /// divided by it when positive, multiplied by it when negative. 1 = off. Unlike llama.cpp, the prompt's tokens
    /// do not count (counting the question lost one pass key in six at 8k tokens, " a special password..."
    /// instead of the key, at 1.1), nor do tokens the sampler's `exempt` predicate names (digits: RepeatPenalty.swift).
    public var repeatPenalty: Float = 1
    /// How many of the most recent generated tokens the repeat penalty looks at (0 = none).
    public var repeatLastN: Int = 64

    public init(temperature: Float = 0, topK: Int = 40, topP: Float = 0.95, seed: UInt64 = 0,
                repeatPenalty: Float = 1, repeatLastN: Int = 64) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// The model ended its turn (an end-of-generation token).
    case stop
    /// The token limit (`-n`) cut the answer.
    case length
    /// The caller stopped the answer (Ctrl-C in an interactive `lhindex ask`).
    case stopped
}

/// SplitMix64: a small, fast, seedable generator (same sequence on every platform).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Picks tokens from logits according to `SamplingOptions`.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SplitMix64
    private var recent: [Int32] = []         // the last `repeatLastN` accepted tokens, oldest first
    private let exempt: @Sendable (Int32) -> Bool

    /// A sampler; `exempt` names tokens the repeat penalty never counts.
    public init(options: SamplingOptions, exempt: @escaping @Sendable (Int32) -> Bool = { _ in false }) {
        self.options = options
        self.exempt = exempt
        rng = SplitMix64(seed: options.seed)
    }

    /// Index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            best = i
            bestValue = logits[i]
        }
        return best
    }

    /// Token indices by decreasing logit, cut to the `topK` largest (all when `topK` is 0). With a
    /// limit, one pass keeps a small sorted list instead of sorting the whole vocabulary.
    /// - Complexity: O(n log k) comparisons and O(n) typical insertions for n logits.
    static func candidates(_ l: UnsafeBufferPointer<Float>, topK k: Int) -> [Int] {
        guard k > 0 && k < l.count else { return (0..<l.count).sorted { l[$0] > l[$1] } }
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for i in 0..<l.count where top.count < k || l[i] > l[top[k - 1]] {
            var lo = 0, hi = top.count              // first position whose logit is below l[i]
            while lo < hi {
                let mid = (lo + hi) / 2
                if l[top[mid]] >= l[i] { lo = mid + 1 } else { hi = mid }
            }
            top.insert(i, at: lo)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// Records a token of the prompt or of the answer for the repeat penalty.
    public mutating func accept(_ token: Int32) {
        guard options.repeatPenalty != 1 && options.repeatLastN > 0 && !exempt(token) else { return }
        recent.append(token)
        if recent.count > options.repeatLastN { recent.removeFirst(recent.count - options.repeatLastN) }
    }

    /// Records several tokens (a prompt) for the repeat penalty.
    public mutating func accept<S: Sequence>(_ tokens: S) where S.Element == Int32 { for t in tokens { accept(t) } }

    /// `logits` with the repeat penalty applied once to each distinct recent token.
    func penalized(_ logits: [Float]) -> [Float] {
        guard !recent.isEmpty else { return logits }
        var l = logits
        for t in Set(recent) where t >= 0 && Int(t) < l.count {
            let i = Int(t)
            l[i] = l[i] > 0 ? l[i] / options.repeatPenalty : l[i] * options.repeatPenalty
        }
        return l
    }

    /// The next token for `logits` (one value per vocabulary entry), after the repeat penalty.
    public mutating func sample(_ logits: [Float]) -> Int32 {
        penalized(logits).withUnsafeBufferPointer { l in
            if options.temperature <= 0 { return Int32(Self.argmax(l)) }
            let idx = Self.candidates(l, topK: options.topK)
            let mx = l[idx[0]]
            var probs = idx.map { expf((l[$0] - mx) / options.temperature) }
            let total = probs.reduce(0, +)
            probs = probs.map { $0 / total }
            // Top-p: the smallest prefix whose mass reaches p.
            var keep = probs.count
            if options.topP < 1 {
                var mass: Float = 0
                for (i, p) in probs.enumerated() {
                    mass += p
                    if mass >= options.topP { keep = i + 1; break }
                }
            }
            let kept = probs[..<keep].reduce(0, +)
            var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * kept
            for i in 0..<keep {
                r -= probs[i]
                if r <= 0 { return Int32(idx[i]) }
            }
            return Int32(idx[keep - 1])
        }
    }
}
