// RULER-style tasks with many planted facts in one long document, asked one question per fact: labelled pass
// keys, several values for one label, variable tracking, and a needle sharing no words with its question.
import LHModel

/// The kinds of haystack task (`lhindex eval keys|values|vars|nolima`).
public enum HaystackKind: String, CaseIterable, Sendable, Codable {
    /// "The pass key of room 17 is 43521." × 16 rooms; one question per room, the other rooms distract.
    case keys
    /// Four labels with four values each, the 16 sentences spread through the document; one question per
    /// label, every value must be recalled.
    case values
    /// Four chains "VAR QXKPD = 12345", "VAR MBTRA = VAR QXKPD", …, four variables each, interleaved; one
    /// question per value: which variables hold it (all of the chain).
    case vars
    /// NoLiMa style: "Actually, Yuki lives next to the Semper Opera House." asked as "Which character has
    /// been to Dresden?": the question shares no word with the sentence.
    case nolima
}

/// One question of a haystack document and what a correct answer contains.
public struct HaystackQuestion: Sendable, Codable, Equatable {
    public var question: String
    /// Every one of these must appear in the answer (numbers as whole runs of digits, words case-insensitively).
    public var expected: [String]
    /// Depth (0 = start, 1 = end of the document) of the first planted sentence the answer needs.
    public var depth: Double
    /// UTF-8 byte ranges in the document of the planted sentences the answer needs.
    public var byteRanges: [Range<Int>] = []

    /// Whether `answer` contains every expected string before it asks a question of its own (a base model
    /// goes on with "Question: …" and more answers, which must not count).
    public func isCorrect(_ answer: String) -> Bool {
        let own = answer.components(separatedBy: "Question:").first ?? answer
        return expected.allSatisfy { e in
            e.allSatisfy(\.isNumber) ? PasskeyTask.isCorrect(answer: own, key: Int(e) ?? -1)
                                     : own.lowercased().contains(e.lowercased())
        }
    }
}

/// A generated document with its planted facts and questions.
public struct HaystackDocument: Sendable {
    public var kind: HaystackKind
    public var text: String
    public var questions: [HaystackQuestion]
    /// Sentences planted (at least 16).
    public var planted: Int
}

/// What fills the document between the planted sentences.
public enum HaystackFiller: Sendable {
    /// The pass-key task's "The grass is green. The sky is blue. …", repeated.
    case passkey
    /// A real text (repeated when shorter than the document), cut at line breaks.
    case text(String)
}

/// The document generators.
public enum HaystackTask {
    /// A document of about `length` tokens (with `tokenizer`) for `kind` and `seed`, its sentences planted at
    /// evenly spread, jittered depths at line or sentence boundaries of `filler`.
    public static func document(kind: HaystackKind, filler: HaystackFiller, length: Int, seed: Int,
                                tokenizer: Tokenizer) -> HaystackDocument {
        var rng = SplitMix64(seed: streamSeed(seed: seed, length: length, kind: kind))
        let (sentences, questions) = facts(kind: kind, rng: &rng)
        let factTokens = sentences.reduce(0) { $0 + tokenizer.encode(" " + $1.text, parseSpecial: false).count }
        let budget = max(64, length - factTokens - 48)
        let base: String
        switch filler {
        case .passkey: base = Array(repeating: PasskeyTask.garbage, count: 64).joined(separator: " ") + "\n"
        case .text(let t): base = t.isEmpty ? PasskeyTask.garbage : t
        }
        // The filler's first `budget` tokens (repeated when shorter), decoded back to text.
        let baseTokens = tokenizer.encode(base, parseSpecial: false)
        var fill: [Int32] = []
        while fill.count < budget { fill += baseTokens.prefix(budget - fill.count) }
        let text = Array(tokenizer.decode(fill).unicodeScalars)
        // Boundaries where a sentence may go: after a line break or after ". ".
        var boundaries: [Int] = []
        for i in 1..<max(text.count, 1) where text[i - 1] == "\n" || (text[i - 1] == " " && i >= 2 && text[i - 2] == ".") {
            boundaries.append(i)
        }
        if boundaries.isEmpty { boundaries = [text.count] }
        // Slot s of n at depth (s + u) / n, u uniform in [0.1, 0.9): spread, never two at one boundary.
        let n = sentences.count
        var at: [Int] = []
        for s in 0..<n {
            let u = 0.1 + 0.8 * Double(rng.next() % 10_000) / 10_000
            let target = Int((Double(s) + u) / Double(n) * Double(text.count))
            var b = boundaries.firstIndex(where: { $0 >= target }) ?? boundaries.count - 1
            while let last = at.last, b <= boundaries.firstIndex(of: last)!, b + 1 < boundaries.count { b += 1 }
            at.append(boundaries[b])
        }
        // Sentences go to the slots in a shuffled order (a chain's links are not in document order).
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        if kind == .vars { order = Array(0..<n) }       // a chain is written in order: X2 = X1 needs X1 first
        var out = String.UnicodeScalarView()
        var bytes = 0                                   // UTF-8 length of `out`
        func append<S: Sequence>(_ scalars: S) where S.Element == Unicode.Scalar {
            for u in scalars { out.append(u); bytes += UTF8.width(u) }
        }
        var depthOfSentence = [Double](repeating: 0, count: n)
        var bytesOfSentence = [Range<Int>](repeating: 0..<0, count: n)
        var last = 0
        for (slot, position) in at.enumerated() {
            append(text[last..<position])
            let sentence = sentences[order[slot]]
            let start = bytes
            append(sentence.text.unicodeScalars)
            bytesOfSentence[order[slot]] = start..<bytes
            append((text[position - 1] == "\n" ? "\n" : " ").unicodeScalars)
            depthOfSentence[order[slot]] = Double(position) / Double(max(1, text.count))
            last = position
        }
        append(text[last...])
        let asked = questions.map { q -> HaystackQuestion in
            var q = q
            q.depth = q.sentences.map { depthOfSentence[$0] }.min() ?? 0
            q.question.byteRanges = q.sentences.map { bytesOfSentence[$0] }
            return q.question
        }
        return HaystackDocument(kind: kind, text: String(out), questions: asked, planted: n)
    }

    struct Planted { var text: String }
    struct Asked {
        var question: HaystackQuestion
        var sentences: [Int]
        var depth: Double {
            get { question.depth }
            set { question.depth = newValue }
        }
    }

    /// The sentences and the questions (with the indices of the sentences each needs) of one document.
    /// The generator's starting state for (seed, length, kind), each part passed through SplitMix64's mixer so that
    /// nearby seeds start unrelated streams. (Seeding with seed · 0x9E3779B97F4A7C15, SplitMix64's own step, made
    /// seed s + 1's stream seed s's shifted by one draw: consecutive seeds' documents shared 15 of their 16 facts.)
    static func streamSeed(seed: Int, length: Int, kind: HaystackKind) -> UInt64 {
        func mixed(_ x: UInt64) -> UInt64 { var g = SplitMix64(seed: x); return g.next() }
        return mixed(mixed(mixed(UInt64(bitPattern: Int64(seed))) ^ UInt64(length)) ^ kind.rawValue.hashValueStable)
    }

    static func facts(kind: HaystackKind, rng: inout SplitMix64) -> ([Planted], [Asked]) {
        func number() -> String { String(10_000 + Int(rng.next() % 90_000)) }
        func distinct<T: Hashable>(_ count: Int, _ make: () -> T) -> [T] {
            var seen: [T] = [], set = Set<T>()
            while seen.count < count { let v = make(); if set.insert(v).inserted { seen.append(v) } }
            return seen
        }
        switch kind {
        case .keys:
            let rooms = distinct(16) { 1 + Int(rng.next() % 999) }
            let keys = distinct(16, number)
            let planted = zip(rooms, keys).map { Planted(text: "The pass key of room \($0) is \($1).") }
            let asked = zip(rooms, keys).enumerated().map { i, rk in
                Asked(question: HaystackQuestion(question: "What is the pass key of room \(rk.0)?", expected: [rk.1], depth: 0),
                      sentences: [i])
            }
            return (planted, asked)
        case .values:
            let labels = distinct(4) { labelWords[Int(rng.next() % UInt64(labelWords.count))] }
            let values = distinct(16, number)
            var planted: [Planted] = [], asked: [Asked] = []
            for (l, label) in labels.enumerated() {
                let mine = Array(values[(4 * l)..<(4 * l + 4)])
                for v in mine { planted.append(Planted(text: "One of the special magic numbers for \(label) is: \(v).")) }
                asked.append(Asked(question: HaystackQuestion(question: "What are all the special magic numbers for \(label)?",
                                                              expected: mine, depth: 0),
                                   sentences: Array((4 * l)..<(4 * l + 4))))
            }
            return (planted, asked)
        case .vars:
            let names = distinct(16) { String((0..<5).map { _ in Character(UnicodeScalar(65 + UInt8(rng.next() % 26))) }) }
            let values = distinct(4, number)
            var planted: [Planted] = [], asked: [Asked] = []
            // Chains interleaved link by link: sentence 4·k + c is link k of chain c.
            for k in 0..<4 {
                for c in 0..<4 {
                    let name = names[4 * c + k]
                    planted.append(Planted(text: k == 0 ? "VAR \(name) = \(values[c])." : "VAR \(name) = VAR \(names[4 * c + k - 1])."))
                }
            }
            for c in 0..<4 {
                asked.append(Asked(question: HaystackQuestion(question: "Which variables are assigned the value \(values[c])? List all of them.",
                                                              expected: (0..<4).map { names[4 * c + $0] }, depth: 0),
                                   sentences: (0..<4).map { 4 * $0 + c }))
            }
            return (planted, asked)
        case .nolima:
            let people = distinct(16) { characterNames[Int(rng.next() % UInt64(characterNames.count))] }
            let places = distinct(16) { Int(rng.next() % UInt64(landmarks.count)) }
            let planted = zip(people, places).map { Planted(text: "Actually, \($0) lives next to \(landmarks[$1].landmark).") }
            let asked = zip(people, places).enumerated().map { i, pp in
                Asked(question: HaystackQuestion(question: "Which character has been to \(landmarks[pp.1].city)?", expected: [pp.0], depth: 0),
                      sentences: [i])
            }
            return (planted, asked)
        }
    }

    static let labelWords = ["the lighthouse", "the orchard", "the glacier", "the observatory", "the harbour", "the vineyard",
                             "the monastery", "the canyon", "the quarry", "the aqueduct"]
    static let characterNames = ["Yuki", "Stuart", "Katie", "Veronica", "Diego", "Mandla", "Ingrid", "Tomasz", "Aroha", "Kofi",
                                 "Leilani", "Ravi", "Sergei", "Noor", "Mateo", "Freya", "Chidi", "Hana", "Pavel", "Zainab"]
    /// Landmarks whose city the question names; no word of the landmark is in the city's name.
    static let landmarks: [(landmark: String, city: String)] = [
        ("the Semper Opera House", "Dresden"), ("the Kiasma museum", "Helsinki"), ("the Little Mermaid statue", "Copenhagen"),
        ("the Atomium", "Brussels"), ("the Sagrada Familia", "Barcelona"), ("the Colosseum", "Rome"),
        ("the Acropolis", "Athens"), ("the Hermitage Museum", "Saint Petersburg"), ("the Golden Gate Bridge", "San Francisco"),
        ("the Space Needle", "Seattle"), ("the CN Tower", "Toronto"), ("the Christ the Redeemer statue", "Rio de Janeiro"),
        ("the Burj Khalifa", "Dubai"), ("the Forbidden City", "Beijing"), ("the Petronas Towers", "Kuala Lumpur"),
        ("the Sydney Opera House", "Australia"), ("the Charles Bridge", "Prague"), ("the Alhambra", "Granada"),
        ("the Brandenburg Gate", "Berlin"), ("the Rijksmuseum", "Amsterdam"),
    ]
}

extension String {
    /// FNV-1a: a hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 { utf8.reduce(1469598103934665603) { ($0 ^ UInt64($1)) &* 1099511628211 } }
}
