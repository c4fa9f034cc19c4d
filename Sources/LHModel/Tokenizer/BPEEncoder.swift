// Byte-level BPE (GGUF `tokenizer.ggml.model` = `gpt2`) of a stretch of text: pre-tokenize, then merge each word.

/// Encodes text between special tokens for a byte-level BPE vocabulary: the pre-tokenizer splits
/// it into words, each word's bytes are merged with the BPE ranks (memoized per encode call).
struct BPEEncoder: Sendable {
    let preTokenizer: PreTokenizer
    let model: BPEModel
    /// Llama 3 style: a word that is a whole token is that token, without merging.
    let ignoreMerges: Bool
    /// Raw word bytes -> token, for `ignoreMerges`.
    let rawTokenIndex: [[UInt8]: Int32]
    let flagTable: [UInt8]

    init(kind: PreTokenizerKind, ignoreMerges: Bool, texts: [String], idOfText: [String: Int32], merges: [String]) {
        preTokenizer = PreTokenizer(kind: kind)
        model = BPEModel(texts: texts, idOfText: idOfText, merges: merges)
        self.ignoreMerges = ignoreMerges
        var raw: [[UInt8]: Int32] = [:]
        if ignoreMerges {
            for (t, id) in idOfText { if let b = ByteUnicode.decodeExactly(t) { raw[b] = id } }
        }
        rawTokenIndex = raw
        flagTable = CodepointFlags.bmpTable
    }

    /// Per-call state: the word memo and merge buffers.
    struct Session {
        var cache: WordCache
        var scratch = BPEModel.Scratch()
        var ends: [Int] = []
        init(text: UnsafePointer<UInt8>) { cache = WordCache(text: text) }
    }

    /// Appends the tokens of `bytes[start..<end]` to `out`.
    func encode(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, into out: inout [Int32], session s: inout Session) {
        flagTable.withUnsafeBufferPointer { table in
            let reader = UTF8Reader(bytes: bytes, bmp: table.baseAddress!)
            s.ends.removeAll(keepingCapacity: true)
            preTokenizer.split(reader, start, end, into: &s.ends)
            var wordStart = start
            for wordEnd in s.ends {
                encodeWord(bytes, wordStart, wordEnd - wordStart, &out, &s.cache, &s.scratch)
                wordStart = wordEnd
            }
        }
    }

    @inline(__always)
    private func encodeWord(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int, _ out: inout [Int32],
                            _ cache: inout WordCache, _ scratch: inout BPEModel.Scratch) {
        if count == 1 {
            let t = model.singleByteToken[Int(text[start])]
            if t >= 0 { out.append(t); return }
        }
        let h = WordCache.hash(text + start, count)
        if cache.lookup(start: start, count: count, hash: h, into: &out) { return }
        let before = out.count
        if ignoreMerges, let id = rawTokenIndex[Array(UnsafeBufferPointer(start: text + start, count: count))] {
            out.append(id)
        } else {
            model.encode(word: text + start, count: count, into: &out, scratch: &scratch)
        }
        cache.insert(start: start, count: count, hash: h, tokens: out[before...])
    }
}
