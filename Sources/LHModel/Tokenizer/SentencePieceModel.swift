// SentencePiece (GGUF `tokenizer.ggml.model` = `llama`): llama.cpp's llm_tokenizer_spm, score-ordered merging.
//
// A stretch of text (between special tokens) is encoded as a whole, with no pre-tokenizer: spaces
// become U+2581 "▁" (and one "▁" is prepended when the vocabulary adds a space prefix and the
// stretch starts the text or follows a special token); the text starts as one symbol per UTF-8
// character; every adjacent pair whose concatenation is a vocabulary token is queued by that
// token's score, and the best pair (highest score, leftmost on ties) is merged repeatedly, with
// stale queue entries skipped. Each final symbol is its token, or, when it is a single character
// that is not a token, the byte tokens `<0xXX>` of its UTF-8 bytes.
//
// Speed: a merge can never join two characters that no token holds side by side. A space (or
// literal "▁") that follows a character other than "▁" starts a new segment unless some token has
// that character right before a "▁" (Gemma 3 has one such token, ">▁</"; Llama 2 none), so the
// text is encoded segment by segment with the same result, and repeated segments are memoized.

import LHCore

/// The SentencePiece model of a vocabulary: token texts by bytes, scores, and byte-fallback tokens.
struct SentencePieceModel: Sendable {
    /// Token text (bytes) -> id.
    let table: TokenTextTable
    /// `tokenizer.ggml.scores`, one per token (0 when the file has none).
    let scores: [Float]
    /// The token of each byte: `<0xXX>`, else the byte's own one-character text, else -1.
    let byteToken: [Int32]
    /// Emitted for a byte with no token (llama.cpp would fail there); -1 when there is none either.
    let unknownToken: Int32
    /// Whether a "▁" starts each stretch of text that begins the input or follows a special token.
    let addsSpacePrefix: Bool
    /// Characters (scalar values, not "▁") that some token has right before a "▁": a space after
    /// one of them does not start a new segment.
    let joinsBeforeSpace: Set<UInt32>

    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]   // U+2581
    static let scoresKey = "tokenizer.ggml.scores"

    /// `tokenizer.ggml.scores` as floats (integers accepted, as llama.cpp does), or zeros when absent.
    /// - Throws: `LHError.badFile` if the array is shorter than the vocabulary or holds a non-number.
    static func scores(_ gguf: GGUFFile, count n: Int) throws -> [Float] {
        var scores = [Float](repeating: 0, count: n)
        guard let value = gguf.metadata[scoresKey] else { return scores }
        guard case let .array(values) = value, values.count >= n else {
            throw LHError.badFile(path: gguf.path, reason: "\(scoresKey) must be \(n) numbers, one per token")
        }
        for i in 0..<n {
            switch values[i] {
            case let .float(v): scores[i] = Float(v)
            case let .int(v): scores[i] = Float(v)
            case let .uint(v): scores[i] = Float(v)
            default: throw LHError.badFile(path: gguf.path, reason: "\(scoresKey)[\(i)] is not a number")
            }
        }
        return scores
    }

    /// - Parameters:
    ///   - texts: token texts, id order; `table` their lookup.
    init(texts: [String], table: TokenTextTable, scores: [Float], addsSpacePrefix: Bool, unknownToken: Int32?) {
        self.table = table
        self.scores = scores
        self.addsSpacePrefix = addsSpacePrefix
        self.unknownToken = unknownToken ?? -1
        let hex = Array("0123456789ABCDEF".utf8)
        var joins = Set<UInt32>()
        for t in texts where t.utf8.count > 3 && t.utf8.dropFirst().contains(0x81) {
            var previous: UInt32 = 0x2581
            for scalar in t.unicodeScalars {
                if scalar.value == 0x2581 && previous != 0x2581 { joins.insert(previous) }
                previous = scalar.value
            }
        }
        joinsBeforeSpace = joins
        byteToken = (0..<256).map { b in
            let spelled: [UInt8] = [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            let id = table.id(spelled)
            return id >= 0 ? id : table.id([UInt8(b)])
        }
    }

    /// Reusable buffers for `encode`.
    struct Scratch {
        var text: [UInt8] = []
        var start: [Int32] = []
        var length: [Int32] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap: [Bigram] = []
    }

    struct Bigram {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// Whether `self` pops before `other`: higher score, then the leftmost.
        @inline(__always)
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Appends the tokens of the text `bytes[start..<end]` to `out`, segment by segment.
    /// - Parameters:
    ///   - prefixSpace: whether to prepend a space (the caller applies `addsSpacePrefix`).
    ///   - cache: memo of segments of `bytes` already encoded in this call.
    func encode(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, prefixSpace: Bool,
                into out: inout [Int32], scratch s: inout Scratch, cache: inout WordCache) {
        @inline(__always) func isSpace(_ i: Int) -> Bool {
            bytes[i] == 0x20 || (bytes[i] == 0xE2 && i + 2 < end && bytes[i + 1] == 0x96 && bytes[i + 2] == 0x81)
        }
        var segmentStart = start
        var first = prefixSpace
        var previous = -1          // start of the previous character, -1 before the first
        var i = start
        while i < end {
            let space = isSpace(i)
            if space && previous >= segmentStart && !isSpace(previous) && !joinsBeforeSpace.contains(scalar(bytes, previous)) {
                encodeSegment(bytes, segmentStart, i, prefixSpace: first, &out, &s, &cache)
                first = false
                segmentStart = i
            }
            previous = i
            i += min(UTF8Reader.length(lead: bytes[i]), end - i)
        }
        encodeSegment(bytes, segmentStart, end, prefixSpace: first, &out, &s, &cache)
    }

    /// The scalar value of the UTF-8 character at `p[i]` (valid UTF-8).
    @inline(__always)
    private func scalar(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt32 {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return b0 }
        if b0 < 0xE0 { return (b0 & 0x1F) << 6 | (UInt32(p[i + 1]) & 0x3F) }
        if b0 < 0xF0 { return (b0 & 0x0F) << 12 | (UInt32(p[i + 1]) & 0x3F) << 6 | (UInt32(p[i + 2]) & 0x3F) }
        return (b0 & 0x07) << 18 | (UInt32(p[i + 1]) & 0x3F) << 12 | (UInt32(p[i + 2]) & 0x3F) << 6 | (UInt32(p[i + 3]) & 0x3F)
    }

    private func encodeSegment(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, prefixSpace: Bool,
                               _ out: inout [Int32], _ s: inout Scratch, _ cache: inout WordCache) {
        let count = end - start
        guard count > 0 || prefixSpace else { return }
        var h: UInt64 = 0
        if !prefixSpace {   // a prefixed segment is not the same text as its bytes: not memoized
            h = WordCache.hash(bytes + start, count)
            if cache.lookup(start: start, count: count, hash: h, into: &out) { return }
        }
        let before = out.count
        encodeEscaped(bytes, start, end, prefixSpace: prefixSpace, into: &out, scratch: &s)
        if !prefixSpace { cache.insert(start: start, count: count, hash: h, tokens: out[before...]) }
    }

    /// Appends the tokens of `bytes[start..<end]` encoded as one piece (llama.cpp's whole-text merge).
    func encodeEscaped(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, prefixSpace: Bool,
                       into out: inout [Int32], scratch s: inout Scratch) {
        s.text.removeAll(keepingCapacity: true)
        if prefixSpace { s.text.append(contentsOf: SentencePieceModel.escapedSpace) }
        for i in start..<end {
            let c = bytes[i]
            if c == 0x20 { s.text.append(contentsOf: SentencePieceModel.escapedSpace) } else { s.text.append(c) }
        }
        guard !s.text.isEmpty else { return }
        s.text.withUnsafeBufferPointer { text in
            merge(text.baseAddress!, text.count, &out, &s)
        }
    }

    private func merge(_ text: UnsafePointer<UInt8>, _ count: Int, _ out: inout [Int32], _ s: inout Scratch) {
        s.start.removeAll(keepingCapacity: true)
        s.length.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < count {
            let n = min(UTF8Reader.length(lead: text[offset]), count - offset)
            s.start.append(Int32(offset))
            s.length.append(Int32(n))
            offset += n
        }
        let symbols = s.start.count
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        for i in 0..<symbols {
            s.prev.append(Int32(i - 1))
            s.next.append(i + 1 < symbols ? Int32(i + 1) : -1)
        }
        var heap = s.heap
        heap.removeAll(keepingCapacity: true)
        defer { s.heap = heap }

        s.start.withUnsafeMutableBufferPointer { start in
        s.length.withUnsafeMutableBufferPointer { length in
        s.prev.withUnsafeMutableBufferPointer { prev in
        s.next.withUnsafeMutableBufferPointer { next in
            @inline(__always) func tryAdd(_ l: Int32, _ r: Int32) {
                guard l >= 0, r >= 0 else { return }
                let size = Int(length[Int(l)] + length[Int(r)])
                let id = table.id(text + Int(start[Int(l)]), size)
                guard id >= 0, Int(id) < scores.count else { return }
                heap.append(Bigram(score: scores[Int(id)], left: l, right: r, size: Int32(size)))
                var c = heap.count - 1
                while c > 0 {
                    let p = (c - 1) / 2
                    if !heap[c].precedes(heap[p]) { break }
                    heap.swapAt(p, c); c = p
                }
            }
            @inline(__always) func pop() -> Bigram {
                let top = heap[0]
                let last = heap.removeLast()
                if !heap.isEmpty {
                    heap[0] = last
                    var c = 0
                    let n = heap.count
                    while true {
                        let a = 2 * c + 1, b = a + 1
                        var m = c
                        if a < n && heap[a].precedes(heap[m]) { m = a }
                        if b < n && heap[b].precedes(heap[m]) { m = b }
                        if m == c { break }
                        heap.swapAt(m, c); c = m
                    }
                }
                return top
            }

            for i in 1..<max(symbols, 1) { tryAdd(Int32(i - 1), Int32(i)) }
            while !heap.isEmpty {
                let b = pop()
                let l = Int(b.left), r = Int(b.right)
                // Skip pairs whose symbols have merged since they were queued.
                if length[l] == 0 || length[r] == 0 || length[l] + length[r] != b.size { continue }
                length[l] += length[r]
                length[r] = 0
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
                tryAdd(prev[l], Int32(l))
                tryAdd(Int32(l), next[l])
            }

            var i: Int32 = 0
            while i >= 0 {
                let p = text + Int(start[Int(i)]), n = Int(length[Int(i)])
                let id = table.id(p, n)
                if id >= 0 {
                    out.append(id)
                } else {
                    // A character that is no token: its bytes (llama.cpp's resegment finds no merge for it).
                    for k in 0..<n {
                        let t = byteToken[Int(p[k])]
                        if t >= 0 { out.append(t) } else if unknownToken >= 0 { out.append(unknownToken) }
                    }
                }
                i = next[Int(i)]
            }
        }
        }
        }
        }
    }
}
