// Pre-tokenizers: split text into the words BPE runs on, as llama.cpp's unicode_regex_split does.
//
// Each regex of llama.cpp is a hand-written scanner here over UTF-8 bytes (character classes from
// CodepointFlags). A stage splits every piece of the previous stage; pieces never cross, so a
// later regex cannot look past the end of its piece (llama.cpp's OUT_OF_RANGE). Scanners append
// the byte offset where each word ends; words are contiguous and cover the text.

/// Which pre-tokenizer a vocabulary uses (GGUF `tokenizer.ggml.pre`).
enum PreTokenizerKind: Sendable {
    /// `\p{N}` (each number character alone), then the GPT-2 regex.
    case smollm
    /// The GPT-2 regex alone.
    case gpt2
    /// Llama 3's regex (case-insensitive contractions, letters with one leading non-letter,
    /// numbers in groups of up to three, punctuation with trailing newlines).
    case llama3
    /// Qwen 2's regex: Llama 3's, except that each number character is a word of its own (`\p{N}`).
    case qwen2
    /// llama.cpp's fallback: punctuation runs, the GPT-2 regex, number runs, then `[0-9]{3}`.
    case fallback

    /// Names llama.cpp (as vendored in llama-cpp-python 0.3.36) maps to each kind, with its
    /// per-name flags. A missing `tokenizer.ggml.pre` means `default`.
    struct Entry { let kind: PreTokenizerKind; let ignoreMerges: Bool; let addBOS: Bool }

    static let byName: [String: Entry] = {
        var m: [String: Entry] = [:]
        for n in ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2"] {
            m[n] = Entry(kind: .smollm, ignoreMerges: false, addBOS: false)
        }
        for n in ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                  "a.x-4.0", "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe",
                  "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"] {
            m[n] = Entry(kind: .gpt2, ignoreMerges: false, addBOS: false)
        }
        for n in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"] {
            m[n] = Entry(kind: .llama3, ignoreMerges: true, addBOS: true)
        }
        for n in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan"] {
            m[n] = Entry(kind: .qwen2, ignoreMerges: false, addBOS: false)
        }
        for n in ["dbrx", "smaug-bpe"] {
            m[n] = Entry(kind: .llama3, ignoreMerges: false, addBOS: false)
        }
        // llama.cpp spells GPT-2's pre-tokenizer "gpt-2" and rejects "gpt2"; lhindex accepts both.
        m["gpt2"] = Entry(kind: .gpt2, ignoreMerges: false, addBOS: false)
        m["default"] = Entry(kind: .fallback, ignoreMerges: false, addBOS: false)
        return m
    }()
}

/// Splits UTF-8 text into pre-tokenized words.
struct PreTokenizer {
    let kind: PreTokenizerKind

    /// Appends to `ends` the end offset of every word of `bytes[start..<end]`.
    func split(_ r: UTF8Reader, _ start: Int, _ end: Int, into ends: inout [Int]) {
        switch kind {
        case .smollm: PreTokenizer.splitNumbersThenGPT2(r, start, end, &ends)
        case .gpt2: PreTokenizer.gpt2(r, start, end, &ends)
        case .llama3: PreTokenizer.llama3(r, start, end, &ends, digitsPerWord: 3)
        case .qwen2: PreTokenizer.llama3(r, start, end, &ends, digitsPerWord: 1)
        case .fallback: PreTokenizer.fallback(r, start, end, &ends)
        }
    }

    // MARK: GPT-2

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` with
    /// llama.cpp's semantics (unicode_regex_split_custom_gpt2).
    static func gpt2(_ r: UTF8Reader, _ start: Int, _ end: Int, _ ends: inout [Int]) {
        let L = CodepointFlags.letter, N = CodepointFlags.number, W = CodepointFlags.whitespace
        let b = r.bytes
        var pos = start
        while pos < end {
            let c0 = b[pos]
            let f = r.flags(at: pos, end: end)
            // 's|'t|'re|'ve|'m|'ll|'d (a multi-byte next character never equals these letters)
            if c0 == UInt8(ascii: "'") && pos + 1 < end {
                let c1 = b[pos + 1]
                if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m") || c1 == UInt8(ascii: "d") {
                    pos += 2; ends.append(pos); continue
                }
                if pos + 2 < end {
                    let c2 = b[pos + 2]
                    if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e")) || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) {
                        pos += 3; ends.append(pos); continue
                    }
                }
            }
            let isSpace = c0 == 0x20
            let f2 = isSpace ? r.flags(at: pos + 1, end: end) : f
            // ' ?\p{L}+', ' ?\p{N}+'
            if f2 & (L | N) != 0 {
                let cls = f2 & L != 0 ? L : N
                var p = pos + (isSpace ? 1 : 0)
                while r.flags(at: p, end: end) & cls != 0 { p += r.length(at: p) }
                pos = p; ends.append(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+' (flags 0 = past the end never matches)
            if f2 & (W | L | N) == 0 && f2 != 0 {
                var p = pos + (isSpace ? 1 : 0)
                while true {
                    let g = r.flags(at: p, end: end)
                    if g & (W | L | N) != 0 || g == 0 { break }
                    p += r.length(at: p)
                }
                pos = p; ends.append(pos); continue
            }
            // whitespace run: '\s+(?!\S)' leaves its last character to the next word
            var count = 0, last = pos, p = pos
            while r.flags(at: p, end: end) & W != 0 { last = p; p += r.length(at: p); count += 1 }
            if count > 1 && p < end { pos = last; ends.append(pos); continue }
            if count > 0 { pos = p; ends.append(pos); continue }
            pos += r.length(at: pos); ends.append(pos)   // no match: one character
        }
    }

    /// smollm: `\p{N}` splits every number character into its own piece (the text between them
    /// forms pieces too), then the GPT-2 regex runs inside each piece.
    static func splitNumbersThenGPT2(_ r: UTF8Reader, _ start: Int, _ end: Int, _ ends: inout [Int]) {
        let b = r.bytes
        var pos = start, pieceStart = start
        while pos < end {
            let c0 = b[pos]
            let len: Int, isNumber: Bool
            if c0 < 0x80 {
                len = 1; isNumber = c0 &- 0x30 < 10
            } else {
                let (v, l) = r.scalar(at: pos)
                len = l; isNumber = r.flags(of: v) & CodepointFlags.number != 0
            }
            if isNumber {
                if pieceStart < pos { gpt2(r, pieceStart, pos, &ends) }
                pos += len
                ends.append(pos)
                pieceStart = pos
            } else {
                pos += len
            }
        }
        if pieceStart < end { gpt2(r, pieceStart, end, &ends) }
    }

    // MARK: Llama 3

    /// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` with llama.cpp's semantics
    /// (unicode_regex_split_custom_llama3). With `digitsPerWord` 1 it is Qwen 2's regex, `\p{N}{1,3}`
    /// becoming `\p{N}` (unicode_regex_split_custom_qwen2).
    static func llama3(_ r: UTF8Reader, _ start: Int, _ end: Int, _ ends: inout [Int], digitsPerWord: Int) {
        let L = CodepointFlags.letter, N = CodepointFlags.number, W = CodepointFlags.whitespace
        let b = r.bytes
        @inline(__always) func lower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }
        var pos = start
        while pos < end {
            let c0 = b[pos]
            let len = r.length(at: pos)
            let f = r.flags(at: pos, end: end)
            if c0 == UInt8(ascii: "'") && pos + 1 < end {
                let c1 = lower(b[pos + 1])
                if c1 == UInt8(ascii: "s") || c1 == UInt8(ascii: "t") || c1 == UInt8(ascii: "m") || c1 == UInt8(ascii: "d") {
                    pos += 2; ends.append(pos); continue
                }
                if pos + 2 < end {
                    let c2 = lower(b[pos + 2])
                    if (c1 == UInt8(ascii: "r") && c2 == UInt8(ascii: "e")) || (c1 == UInt8(ascii: "v") && c2 == UInt8(ascii: "e"))
                        || (c1 == UInt8(ascii: "l") && c2 == UInt8(ascii: "l")) {
                        pos += 3; ends.append(pos); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c0 == 0x0D || c0 == 0x0A || f & N != 0) {
                if f & L != 0 || r.flags(at: pos + len, end: end) & L != 0 {
                    var p = pos + len
                    while r.flags(at: p, end: end) & L != 0 { p += r.length(at: p) }
                    pos = p; ends.append(pos); continue
                }
            }
            // \p{N}{1,3} (\p{N} for Qwen 2)
            if f & N != 0 {
                var p = pos, run = 0
                while r.flags(at: p, end: end) & N != 0 {
                    p += r.length(at: p); run += 1
                    if run == digitsPerWord { ends.append(p); run = 0 }
                }
                if run > 0 { ends.append(p) }
                pos = p; continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (llama.cpp tests the first character's flags here)
            let isSpace = c0 == 0x20
            let f2 = isSpace ? r.flags(at: pos + 1, end: end) : f
            if f2 & (W | L | N) == 0 && f != 0 {
                var p = pos + (isSpace ? 1 : 0)
                while true {
                    let g = r.flags(at: p, end: end)
                    if g & (W | L | N) != 0 || g == 0 { break }
                    p += r.length(at: p)
                }
                while p < end && (b[p] == 0x0D || b[p] == 0x0A) { p += 1 }
                pos = p; ends.append(pos); continue
            }
            // whitespace: '\s*[\r\n]+', then '\s+(?!\S)', then '\s+'
            var count = 0, last = pos, p = pos, lastNewlineEnd = -1
            while r.flags(at: p, end: end) & W != 0 {
                last = p
                if b[p] == 0x0D || b[p] == 0x0A { lastNewlineEnd = p + 1 }
                p += r.length(at: p); count += 1
            }
            if lastNewlineEnd >= 0 { pos = lastNewlineEnd; ends.append(pos); continue }
            if count > 1 && p < end { pos = last; ends.append(pos); continue }
            if count > 0 { pos = p; ends.append(pos); continue }
            pos += len; ends.append(pos)
        }
    }

    // MARK: llama.cpp default

    /// llama.cpp's default BPE pre-tokenizer: `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 regex, `\p{N}+`,
    /// `[0-9][0-9][0-9]`, each applied inside the pieces of the previous one.
    static func fallback(_ r: UTF8Reader, _ start: Int, _ end: Int, _ ends: inout [Int]) {
        let b = r.bytes
        // Stage 1: runs of punctuation or $ + < = > ^ ~ |
        var stage1: [Int] = []
        splitByRuns(r, start, end, &stage1) { pos in
            let c = b[pos]
            if c < 0x80 {
                if r.bmp[Int(c)] & CodepointFlags.punctuation != 0 { return true }
                switch c {
                case UInt8(ascii: "$"), UInt8(ascii: "+"), UInt8(ascii: "<"), UInt8(ascii: "="), UInt8(ascii: ">"),
                     UInt8(ascii: "^"), UInt8(ascii: "~"), UInt8(ascii: "|"): return true
                default: return false
                }
            }
            return r.flags(of: r.scalar(at: pos).value) & CodepointFlags.punctuation != 0
        }
        // Stage 2: GPT-2
        var stage2: [Int] = []
        var s = start
        for e in stage1 { gpt2(r, s, e, &stage2); s = e }
        // Stage 3: runs of numbers
        var stage3: [Int] = []
        s = start
        for e in stage2 {
            splitByRuns(r, s, e, &stage3) { pos in r.flags(at: pos, end: e) & CodepointFlags.number != 0 }
            s = e
        }
        // Stage 4: three ASCII digits at a time
        s = start
        for e in stage3 {
            var pos = s, gapStart = s
            while pos + 3 <= e {
                if b[pos] &- 0x30 < 10 && b[pos + 1] &- 0x30 < 10 && b[pos + 2] &- 0x30 < 10 {
                    if gapStart < pos { ends.append(pos) }
                    pos += 3; ends.append(pos); gapStart = pos
                } else {
                    pos += r.length(at: pos)
                }
            }
            if gapStart < e { ends.append(e) }
            s = e
        }
    }

    /// Splits `[start, end)` into maximal runs of characters matching `inRun` and the gaps between
    /// them (what llama.cpp's std::regex fallback does for a `[class]+` regex).
    private static func splitByRuns(_ r: UTF8Reader, _ start: Int, _ end: Int, _ ends: inout [Int],
                                    _ inRun: (Int) -> Bool) {
        var pos = start, pieceStart = start
        var inside = false
        while pos < end {
            let m = inRun(pos)
            if m != inside && pos > pieceStart { ends.append(pos); pieceStart = pos }
            inside = m
            pos += r.length(at: pos)
        }
        if pieceStart < end { ends.append(end) }
    }
}
