// The excerpt a citation shows: a span's text cut at line or sentence boundaries, never inside a word.

/// Excerpts of source text for citations.
public enum CitationExcerpt {
    /// The excerpt of `source[range]`: it starts at the first line or sentence start in the range (the range's
    /// own start when that is one; else the first word start), runs over whole words with whitespace
    /// collapsed, and ends within `limit` characters at a sentence or line end, or at a word end marked
    /// with "…". Empty when the range holds no word.
    public static func excerpt(_ source: [UInt8], range: Range<Int>, limit: Int = 200) -> String {
        let lo = max(0, min(range.lowerBound, source.count)), hi = max(lo, min(range.upperBound, source.count))
        guard let start = firstStart(source, lo, hi) else { return "" }
        // Words of the span, each remembering whether a line or sentence ends after it.
        var words: [(text: Substring, endsUnit: Bool)] = []
        let text = String(decoding: source[start..<hi], as: UTF8.self)
        var i = text.startIndex
        while i < text.endIndex {
            while i < text.endIndex, text[i].isWhitespace { i = text.index(after: i) }
            guard i < text.endIndex else { break }
            var j = i
            while j < text.endIndex, !text[j].isWhitespace { j = text.index(after: j) }
            let word = text[i..<j]
            let lineEnds = j < text.endIndex && text[j].isNewline
            let atEnd = j == text.endIndex
            // A span that stops inside a word (the next byte after the range is a letter) drops that word.
            if atEnd, hi < source.count, !isSpace(source[hi]) { break }
            words.append((word, lineEnds || endsSentence(word) || (atEnd && (hi == source.count || source[hi] == 0x0A))))
            i = j
        }
        var out = "", lastUnitEnd: String.Index?, included = 0
        for (w, endsUnit) in words {
            let next = out.isEmpty ? String(w) : out + " " + w
            if next.count > limit { break }
            out = next
            included += 1
            if endsUnit { lastUnitEnd = out.endIndex }
        }
        guard !out.isEmpty else { return "" }
        if included == words.count, words.last?.endsUnit == true { return out }
        if let e = lastUnitEnd, out.distance(from: out.startIndex, to: e) >= limit / 2 { return String(out[..<e]) }
        return out + " …"
    }

    /// The first line start, sentence start or (failing both) word start in `lo ..< hi`.
    static func firstStart(_ s: [UInt8], _ lo: Int, _ hi: Int) -> Int? {
        func skipSpace(_ p: Int) -> Int? {
            var p = p
            while p < hi, isSpace(s[p]) { p += 1 }
            return p < hi ? p : nil
        }
        if lo == 0 || s[lo - 1] == 0x0A { return skipSpace(lo) }
        var wordStart: Int?
        var p = lo
        while p < hi {
            if s[p] == 0x0A { if let q = skipSpace(p + 1) { return q } else { break } }
            // ". X" (or ! ?), a sentence's end then space: the next word starts a sentence.
            if p > lo, isSpace(s[p]), [0x2E, 0x21, 0x3F].contains(s[p - 1]), let q = skipSpace(p), s[q] != 0x0A,
               isSentenceStart(s[q]) {
                return q
            }
            if wordStart == nil, p > lo, isSpace(s[p - 1]), !isSpace(s[p]) { wordStart = p }
            p += 1
        }
        return wordStart
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }

    static func isSentenceStart(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x30...0x39).contains(b) || b >= 0x80 || b == 0x22 || b == 0x28 }

    static func endsSentence(_ w: Substring) -> Bool {
        let t = w.trimmingTrailing { $0 == "\"" || $0 == ")" || $0 == "'" }
        return t.hasSuffix(".") || t.hasSuffix("!") || t.hasSuffix("?") || t.hasSuffix(":")
    }
}

extension Substring {
    fileprivate func trimmingTrailing(_ drop: (Character) -> Bool) -> Substring {
        var e = endIndex
        while e > startIndex, drop(self[index(before: e)]) { e = index(before: e) }
        return self[startIndex..<e]
    }
}
