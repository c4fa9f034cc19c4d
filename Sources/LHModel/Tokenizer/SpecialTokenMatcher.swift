// Splitting text at special tokens (llama.cpp's tokenizer_st_partition) in one pass with a trie.
//
// llama.cpp takes the special tokens longest text first (ties by id); each splits every remaining
// text fragment at all its non-overlapping occurrences, searching each fragment left to right.
// That costs one scan of the text per special token: Gemma 3 has 6,414 of them, and 1 MB of HTML
// took 14 s. Here every occurrence of every special token is found in one pass (a byte trie walked
// from each position), then claimed in llama.cpp's order: token by token in priority order, an
// occurrence is taken when it starts at or after the end of that token's previous claim and
// overlaps no byte claimed before. That is exactly what llama.cpp's fragment search finds (an
// occurrence lies inside one remaining fragment iff it overlaps no earlier claim).
#if canImport(Glibc)
import Glibc
#endif

/// A piece of input after special-token partitioning: raw text (a byte range) or a special token.
enum Fragment: Equatable {
    case text(start: Int, end: Int)
    case token(Int32)
}

/// Splits text at special tokens exactly as llama.cpp's tokenizer_st_partition does.
struct SpecialTokenMatcher: Sendable {
    /// Special token ids (control, user-defined, unknown), longest text first (ties by id): the
    /// priority order. A token's rank is its index here.
    let ids: [Int32]
    /// Their UTF-8 texts, parallel to `ids`.
    let texts: [[UInt8]]
    /// Whether each is matched only when parsing special tokens (control and unknown tokens).
    let onlyWhenParsingSpecial: [Bool]

    /// The trie: node 0 is the root; `child(node, byte)` through `edges`.
    private let edges: EdgeTable
    /// Per node, the best rank of a token whose text ends there (-1 if none), counting all special tokens...
    private let rankAny: [Int32]
    /// ... and counting only those matched when not parsing special tokens (user-defined).
    private let rankUserDefined: [Int32]
    /// Per byte, whether some special token starts with it (skips most positions without a lookup).
    private let startsToken: [Bool]

    init(texts allTexts: [String], attrs: [TokenAttr]) {
        var entries: [(Int32, [UInt8], Bool)] = []
        for (i, a) in attrs.enumerated() where !a.isDisjoint(with: [.control, .userDefined, .unknown]) {
            entries.append((Int32(i), Array(allTexts[i].utf8), !a.isDisjoint(with: [.control, .unknown])))
        }
        entries.sort { $0.1.count != $1.1.count ? $0.1.count > $1.1.count : $0.0 < $1.0 }
        ids = entries.map(\.0)
        texts = entries.map(\.1)
        onlyWhenParsingSpecial = entries.map(\.2)

        var edges = EdgeTable(minimumCapacity: entries.reduce(0) { $0 + $1.1.count })
        var rankAny: [Int32] = [-1]
        var rankUserDefined: [Int32] = [-1]
        var starts = [Bool](repeating: false, count: 256)
        for (rank, e) in entries.enumerated() where !e.1.isEmpty {
            starts[Int(e.1[0])] = true
            var node: Int32 = 0
            for b in e.1 {
                if let c = edges.child(node, b) {
                    node = c
                } else {
                    let c = Int32(rankAny.count)
                    rankAny.append(-1)
                    rankUserDefined.append(-1)
                    edges.insert(node, b, c)
                    node = c
                }
            }
            // Ranks ascend, so the first token to end at a node is its best.
            if rankAny[Int(node)] < 0 { rankAny[Int(node)] = Int32(rank) }
            if !e.2 && rankUserDefined[Int(node)] < 0 { rankUserDefined[Int(node)] = Int32(rank) }
        }
        self.edges = edges
        self.rankAny = rankAny
        self.rankUserDefined = rankUserDefined
        startsToken = starts
    }

    /// Fragments of `bytes[0..<count]`.
    func partition(_ bytes: UnsafePointer<UInt8>, count: Int, parseSpecial: Bool) -> [Fragment] {
        guard count > 0 else { return [] }
        // 1. Every occurrence (rank, start), in start order.
        var occurrences: [(rank: Int32, start: Int)] = []
        let ranks = parseSpecial ? rankAny : rankUserDefined
        for p in 0..<count where startsToken[Int(bytes[p])] {
            var node: Int32 = 0
            var q = p
            while q < count, let c = edges.child(node, bytes[q]) {
                node = c
                q += 1
                let r = ranks[Int(node)]
                if r >= 0 { occurrences.append((r, p)) }
            }
        }
        guard !occurrences.isEmpty else { return [.text(start: 0, end: count)] }

        // 2. Claim in priority order (stable: each token's occurrences stay in start order).
        occurrences.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.start < $1.start }
        var claimed = [Bool](repeating: false, count: count)
        var claims: [(start: Int, rank: Int32)] = []
        var i = 0
        while i < occurrences.count {
            let rank = occurrences[i].rank
            let length = texts[Int(rank)].count
            var lastEnd = 0
            while i < occurrences.count && occurrences[i].rank == rank {
                let s = occurrences[i].start
                i += 1
                guard s >= lastEnd else { continue }
                var free = true
                for k in s..<(s + length) where claimed[k] { free = false; break }
                guard free else { continue }
                for k in s..<(s + length) { claimed[k] = true }
                claims.append((s, rank))
                lastEnd = s + length
            }
        }

        // 3. Fragments in text order.
        claims.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        fragments.reserveCapacity(claims.count * 2 + 1)
        var p = 0
        for c in claims {
            if c.start > p { fragments.append(.text(start: p, end: c.start)) }
            fragments.append(.token(ids[Int(c.rank)]))
            p = c.start + texts[Int(c.rank)].count
        }
        if p < count { fragments.append(.text(start: p, end: count)) }
        return fragments
    }
}

/// Open-addressing map (trie node, byte) -> child node.
private struct EdgeTable: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private var used = 0
    private static let empty = UInt64.max

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size *= 2 }
        keys = [UInt64](repeating: EdgeTable.empty, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ node: Int32, _ byte: UInt8) -> UInt64 { UInt64(UInt32(bitPattern: node)) << 8 | UInt64(byte) }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask }

    @inline(__always)
    func child(_ node: Int32, _ byte: UInt8) -> Int32? {
        let k = EdgeTable.key(node, byte)
        var i = slot(k)
        while true {
            let stored = keys[i]
            if stored == k { return values[i] }
            if stored == EdgeTable.empty { return nil }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ node: Int32, _ byte: UInt8, _ child: Int32) {
        if (used + 1) * 2 > keys.count { grow() }
        let k = EdgeTable.key(node, byte)
        var i = slot(k)
        while keys[i] != EdgeTable.empty { i = (i + 1) & mask }
        keys[i] = k
        values[i] = child
        used += 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: EdgeTable.empty, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (k, v) in zip(oldKeys, oldValues) where k != EdgeTable.empty {
            var i = slot(k)
            while keys[i] != EdgeTable.empty { i = (i + 1) & mask }
            keys[i] = k
            values[i] = v
        }
    }
}
