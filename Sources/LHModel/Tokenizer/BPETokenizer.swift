// Byte-level BPE over pre-tokenized words: the merge-rank table and the merge loop.
//
// llama.cpp (llm_tokenizer_bpe_session) starts each word as one symbol per byte, then repeatedly
// merges the adjacent pair with the lowest merge rank (leftmost first on ties) while one exists.
// Symbols here are integers: a vocabulary token's id when its text is in the vocabulary, or an
// extra id past the vocabulary for merge parts/results that are not (which llama.cpp would emit as
// the single-byte tokens of their text, so the extras remember that fallback).

/// Open-addressing map from a (left symbol, right symbol) pair to (rank << 32 | merged symbol).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int
    static let empty = UInt64.max

    init(minimumCapacity: Int) {
        var bits = 4
        while (1 << bits) < minimumCapacity * 2 { bits += 1 }
        keys = [UInt64](repeating: PairTable.empty, count: 1 << bits)
        values = [UInt64](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Inserts unless the key is present (the first merge listed for a pair wins, as in llama.cpp).
    mutating func insertIfAbsent(_ key: UInt64, _ value: UInt64) {
        var i = slot(key)
        while keys[i] != PairTable.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = value
    }

    /// The value for `key`, or `UInt64.max` when absent.
    @inline(__always)
    func get(_ key: UInt64) -> UInt64 {
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == PairTable.empty { return UInt64.max }
            i = (i + 1) & mask
        }
    }
}

/// The BPE merge model of a vocabulary.
struct BPEModel: Sendable {
    let vocabularySize: Int
    /// The symbol of each single byte.
    let byteSymbol: [Int32]
    /// The output of a word that is one byte, or -1 when that is not a single token.
    let singleByteToken: [Int32]
    let merges: PairTable
    /// Output tokens of each extra (non-vocabulary) symbol, indexed by symbol - vocabularySize.
    let extraOutput: [[Int32]]

    /// - Parameters:
    ///   - texts: token texts (vocabulary spelling), id order.
    ///   - idOfText: text -> id (the last id when texts repeat, as llama.cpp's map).
    ///   - merges: `tokenizer.ggml.merges`, "left right" in rank order.
    init(texts: [String], idOfText: [String: Int32], merges mergeList: [String]) {
        vocabularySize = texts.count
        var symbolOf = idOfText
        var extraTexts: [String] = []
        func symbol(_ t: String) -> Int32 {
            if let s = symbolOf[t] { return s }
            let s = Int32(texts.count + extraTexts.count)
            extraTexts.append(t)
            symbolOf[t] = s
            return s
        }
        byteSymbol = (0..<256).map { symbol(String(Unicode.Scalar(ByteUnicode.scalarForByte[$0])!)) }

        var table = PairTable(minimumCapacity: mergeList.count)
        for (rank, m) in mergeList.enumerated() {
            // llama.cpp splits at the first space at byte index >= 1
            let u = Array(m.utf8)
            guard u.count > 1, let sp = u[1...].firstIndex(of: 0x20) else { continue }
            let left = String(decoding: u[..<sp], as: UTF8.self)
            let right = String(decoding: u[(sp + 1)...], as: UTF8.self)
            let l = symbol(left), r = symbol(right), merged = symbol(left + right)
            table.insertIfAbsent(PairTable.key(l, r), UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged)))
        }
        self.merges = table

        // A symbol that is not a token is emitted as the tokens of its single (ASCII) bytes.
        extraOutput = extraTexts.map { t in
            t.utf8.compactMap { b in b < 0x80 ? idOfText[String(Unicode.Scalar(b))] : nil }
        }
        var single = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let s = byteSymbol[b]
            if Int(s) < texts.count { single[b] = s }
            else if extraOutput[Int(s) - texts.count].count == 1 { single[b] = extraOutput[Int(s) - texts.count][0] }
        }
        singleByteToken = single
    }

    /// Reusable buffers for `encode(word:)`.
    struct Scratch {
        var symbols: [Int32] = []
        var ranks: [UInt64] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        var heap: [HeapEntry] = []
    }

    struct HeapEntry {
        var key: UInt64          // rank << 32 | left index: smaller pops first
        var left: Int32, right: Int32
        var leftSymbol: Int32, rightSymbol: Int32
    }

    /// Appends the tokens of one word (raw bytes) to `out`. Words longer than `heapThreshold`
    /// bytes use the O(n log n) heap merge, shorter ones the rank scan (both give the same tokens).
    func encode(word: UnsafePointer<UInt8>, count: Int, into out: inout [Int32], scratch: inout Scratch,
                heapThreshold: Int = 64) {
        if count <= heapThreshold {
            mergeByScan(word, count, &scratch)
        } else {
            mergeByHeap(word, count, &scratch)
        }
        for s in scratch.symbols {
            if Int(s) < vocabularySize { out.append(s) } else { out.append(contentsOf: extraOutput[Int(s) - vocabularySize]) }
        }
    }

    @inline(__always)
    private func lookup(_ l: Int32, _ r: Int32) -> UInt64 { merges.get(PairTable.key(l, r)) }

    /// Short words: rescan the pair ranks for the minimum each round (leaves `scratch.symbols`).
    private func mergeByScan(_ word: UnsafePointer<UInt8>, _ count: Int, _ s: inout Scratch) {
        s.symbols.removeAll(keepingCapacity: true)
        s.ranks.removeAll(keepingCapacity: true)
        for i in 0..<count { s.symbols.append(byteSymbol[Int(word[i])]) }
        if count < 2 { return }
        for i in 0..<(count - 1) { s.ranks.append(lookup(s.symbols[i], s.symbols[i + 1])) }
        var n = count
        while n > 1 {
            var best = UInt64.max, at = -1
            for i in 0..<(n - 1) where s.ranks[i] < best { best = s.ranks[i]; at = i }
            if at < 0 { break }
            s.symbols[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            s.symbols.remove(at: at + 1)
            s.ranks.remove(at: at)
            n -= 1
            if at > 0 { s.ranks[at - 1] = lookup(s.symbols[at - 1], s.symbols[at]) }
            if at < n - 1 { s.ranks[at] = lookup(s.symbols[at], s.symbols[at + 1]) }
        }
    }

    /// Long words: llama.cpp's linked list and priority queue, O(n log n) (leaves `scratch.symbols`).
    private func mergeByHeap(_ word: UnsafePointer<UInt8>, _ count: Int, _ s: inout Scratch) {
        var sym = (0..<count).map { byteSymbol[Int(word[$0])] }
        var next = (0..<count).map { Int32($0 + 1) }
        var prev = (0..<count).map { Int32($0 - 1) }
        next[count - 1] = -1
        var alive = [Bool](repeating: true, count: count)
        var heap = s.heap
        heap.removeAll(keepingCapacity: true)

        func push(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0 else { return }
            let v = lookup(sym[Int(l)], sym[Int(r)])
            guard v != UInt64.max else { return }
            heap.append(HeapEntry(key: (v & 0xFFFF_FFFF_0000_0000) | UInt64(UInt32(l)), left: l, right: r,
                                  leftSymbol: sym[Int(l)], rightSymbol: sym[Int(r)]))
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                if heap[p].key <= heap[c].key { break }
                heap.swapAt(p, c); c = p
            }
        }
        func pop() -> HeapEntry {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var c = 0
                while true {
                    let a = 2 * c + 1, b = a + 1
                    var m = c
                    if a < heap.count && heap[a].key < heap[m].key { m = a }
                    if b < heap.count && heap[b].key < heap[m].key { m = b }
                    if m == c { break }
                    heap.swapAt(m, c); c = m
                }
            }
            return top
        }

        for i in 1..<count { push(Int32(i - 1), Int32(i)) }
        while !heap.isEmpty {
            let e = pop()
            let l = Int(e.left), r = Int(e.right)
            guard alive[l], alive[r], sym[l] == e.leftSymbol, sym[r] == e.rightSymbol else { continue }
            sym[l] = Int32(truncatingIfNeeded: lookup(e.leftSymbol, e.rightSymbol) & 0xFFFF_FFFF)
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
            push(prev[l], Int32(l))
            push(Int32(l), next[l])
        }
        s.heap = heap
        s.symbols.removeAll(keepingCapacity: true)
        var i: Int32 = 0
        while i >= 0 { s.symbols.append(sym[Int(i)]); i = next[Int(i)] }
    }
}
