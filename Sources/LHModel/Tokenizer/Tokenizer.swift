// The public tokenizer: loads a byte-level BPE vocabulary from GGUF, encodes text and decodes tokens like llama.cpp.
#if canImport(Glibc)
import Glibc
#endif
import LHCore

/// A byte-level BPE tokenizer (GGUF `tokenizer.ggml.model` = `gpt2`), token for token identical to
/// llama.cpp's `llama_tokenize` / `llama_token_to_piece`.
///
/// Encoding splits the text at special tokens (when asked to), pre-tokenizes each stretch of text
/// into words with the model's pre-tokenizer, and merges each word's bytes with the BPE merge
/// ranks. Safe to use from several threads at once.
public final class Tokenizer: Sendable {
    /// Number of tokens in the vocabulary.
    public let vocabularySize: Int
    /// Beginning-of-sequence token (`tokenizer.ggml.bos_token_id`), if the model names one.
    public let bosToken: Int32?
    /// End-of-sequence token (`tokenizer.ggml.eos_token_id`), if the model names one.
    public let eosToken: Int32?
    /// End-of-turn token: `tokenizer.ggml.eot_token_id`, else the first of `<|eot_id|>`,
    /// `<|im_end|>`, `<|end|>`, `<end_of_turn>`, `<|endoftext|>`, ... found in the vocabulary.
    public let eotToken: Int32?
    /// Whether prompts should start with `bosToken` (`tokenizer.ggml.add_bos_token`; when absent,
    /// true for Llama 3 pre-tokenizers and false otherwise, as in llama.cpp). `encode` never adds it.
    public let addsBOS: Bool
    /// The pre-tokenizer name (`tokenizer.ggml.pre`, `default` when absent).
    public let preTokenizerName: String

    private let texts: [String]
    private let attrs: [TokenAttr]
    private let idOfText: [String: Int32]
    private let pieceBytes: [UInt8]
    private let pieceOffsets: [Int]
    private let endOfGeneration: [Bool]
    private let matcher: SpecialTokenMatcher
    private let preTokenizer: PreTokenizer
    let model: BPEModel
    private let ignoreMerges: Bool
    private let rawTokenIndex: [[UInt8]: Int32]
    private let flagTable: [UInt8]

    /// Loads the tokenizer of a GGUF model.
    /// - Throws: `LHError.unsupportedModel` if the vocabulary is not byte-level BPE or its
    ///   pre-tokenizer is unknown (naming it); `LHError.badFile` if vocabulary arrays are missing
    ///   or inconsistent.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let modelName = gguf.string(GGUFKey.tokenizerModel) else {
            throw LHError.badFile(path: path, reason: "no \(GGUFKey.tokenizerModel) in the metadata (not a language model?)")
        }
        guard modelName == "gpt2" else {
            throw LHError.unsupportedModel(path: path, reason: "tokenizer '\(modelName)' is not supported; only byte-level BPE ('gpt2') vocabularies are")
        }
        let pre = gguf.string(GGUFKey.tokenizerPre) ?? "default"
        guard let entry = PreTokenizerKind.byName[pre] else {
            let known = PreTokenizerKind.byName.keys.sorted().joined(separator: ", ")
            throw LHError.unsupportedModel(path: path, reason: "pre-tokenizer '\(pre)' (\(GGUFKey.tokenizerPre)) is not supported; supported: \(known)")
        }
        guard var tokenTexts = gguf.stringArray(GGUFKey.tokenizerTokens), !tokenTexts.isEmpty else {
            throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerTokens) is missing or not an array of strings")
        }
        guard tokenTexts.count < Int(Int32.max) / 2 else {
            throw LHError.badFile(path: path, reason: "vocabulary of \(tokenTexts.count) tokens is too large")
        }
        guard let merges = gguf.stringArray(GGUFKey.tokenizerMerges) else {
            throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerMerges) is missing or not an array of strings (a BPE vocabulary needs its merges)")
        }
        let n = tokenTexts.count
        var attrs = [TokenAttr](repeating: .normal, count: n)
        if gguf.metadata[GGUFKey.tokenizerTokenTypes] != nil {
            guard let types = gguf.intArray(GGUFKey.tokenizerTokenTypes), types.count >= n else {
                throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerTokenTypes) must be \(n) integers, one per token")
            }
            for i in 0..<n { attrs[i] = TokenAttr(ggufType: types[i]) }
        }
        var idOfText: [String: Int32] = [:]
        idOfText.reserveCapacity(n)
        for i in 0..<n {
            if tokenTexts[i].isEmpty { tokenTexts[i] = "[EMPTY_\(i)]" }   // as llama.cpp
            idOfText[tokenTexts[i]] = Int32(i)
        }

        // A special token id outside the vocabulary is a damaged file, not a default to fall back on.
        for key in [GGUFKey.tokenizerBOS, GGUFKey.tokenizerEOS, GGUFKey.tokenizerEOT, GGUFKey.tokenizerPadding]
        where gguf.metadata[key] != nil {
            guard let v = gguf.int(key), (0..<n).contains(v) else {
                let found = gguf.int(key).map(String.init) ?? "not an integer that fits"
                throw LHError.badFile(path: path, reason: "\(key) is \(found), expected a token id in 0..<\(n)")
            }
        }
        let info = SpecialTokenInfo(gguf: gguf, texts: tokenTexts, idOfText: idOfText, attrs: &attrs)
        vocabularySize = n
        bosToken = info.bos
        eosToken = info.eos
        eotToken = info.eot
        addsBOS = gguf.bool(GGUFKey.tokenizerAddBOS) ?? entry.addBOS
        preTokenizerName = pre
        texts = tokenTexts
        self.attrs = attrs
        self.idOfText = idOfText
        var eog = [Bool](repeating: false, count: n)
        for t in info.endOfGeneration { eog[Int(t)] = true }
        endOfGeneration = eog

        // What each token renders as (llama.cpp's token_to_piece with special = true).
        var bytes: [UInt8] = []
        var offsets = [0]
        offsets.reserveCapacity(n + 1)
        for i in 0..<n {
            let a = attrs[i]
            if !a.isDisjoint(with: [.control, .unknown, .userDefined]) {
                bytes.append(contentsOf: tokenTexts[i].utf8)
            } else if a.contains(.normal) {
                bytes.append(contentsOf: ByteUnicode.decodeLossy(tokenTexts[i]))
            }
            offsets.append(bytes.count)
        }
        pieceBytes = bytes
        pieceOffsets = offsets

        matcher = SpecialTokenMatcher(texts: tokenTexts, attrs: attrs)
        preTokenizer = PreTokenizer(kind: entry.kind)
        model = BPEModel(texts: tokenTexts, idOfText: idOfText, merges: merges)
        ignoreMerges = entry.ignoreMerges
        var raw: [[UInt8]: Int32] = [:]
        if entry.ignoreMerges {
            for (t, id) in idOfText { if let b = ByteUnicode.decodeExactly(t) { raw[b] = id } }
        }
        rawTokenIndex = raw
        flagTable = CodepointFlags.bmpTable
    }

    /// Token ids of `text`. No BOS is added.
    /// - Parameter parseSpecial: whether control tokens written in the text (`<|im_start|>`, ...)
    ///   become their ids; when false they are tokenized as ordinary text. User-defined tokens
    ///   are matched either way, as in llama.cpp.
    public func encode(_ text: String, parseSpecial: Bool) -> [Int32] {
        var text = text
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { buf -> [Int32] in
            guard let base = buf.baseAddress, buf.count > 0 else { return [] }
            return encode(bytes: base, count: buf.count, parseSpecial: parseSpecial)
        } ?? encode(bytes: Array(text.utf8), parseSpecial: parseSpecial)
    }

    private func encode(bytes: [UInt8], parseSpecial: Bool) -> [Int32] {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress, b.count > 0 else { return [] }
            return encode(bytes: base, count: b.count, parseSpecial: parseSpecial)
        }
    }

    private func encode(bytes: UnsafePointer<UInt8>, count: Int, parseSpecial: Bool) -> [Int32] {
        let fragments = matcher.partition(bytes, count: count, parseSpecial: parseSpecial)
        var out: [Int32] = []
        out.reserveCapacity(count / 3 + 16)
        var cache = WordCache(text: bytes)
        var scratch = BPEModel.Scratch()
        var ends: [Int] = []
        flagTable.withUnsafeBufferPointer { table in
            let reader = UTF8Reader(bytes: bytes, bmp: table.baseAddress!)
            for fragment in fragments {
                switch fragment {
                case let .token(id):
                    out.append(id)
                case let .text(start, end):
                    ends.removeAll(keepingCapacity: true)
                    preTokenizer.split(reader, start, end, into: &ends)
                    var wordStart = start
                    for wordEnd in ends {
                        encodeWord(bytes, wordStart, wordEnd - wordStart, &out, &cache, &scratch)
                        wordStart = wordEnd
                    }
                }
            }
        }
        return out
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

    /// The text of `tokens`: their bytes (see `tokenBytes`) concatenated and decoded as UTF-8, with
    /// U+FFFD for ill-formed sequences. Special tokens render as their text (`<|im_end|>`), as
    /// llama.cpp's detokenizer does when asked to render special tokens; no spaces are cleaned up.
    public func decode(_ tokens: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for t in tokens { appendBytes(of: t, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes a token stands for: a normal token's bytes (possibly part of a UTF-8
    /// character); a control, user-defined or unknown token's text; nothing for other token
    /// types or ids outside the vocabulary.
    public func tokenBytes(_ token: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        appendBytes(of: token, to: &bytes)
        return bytes
    }

    @inline(__always)
    func appendBytes(of token: Int32, to bytes: inout [UInt8]) {
        guard token >= 0, Int(token) < vocabularySize else { return }
        let s = pieceOffsets[Int(token)], e = pieceOffsets[Int(token) + 1]
        if s < e { bytes.append(contentsOf: pieceBytes[s..<e]) }
    }

    /// The id of a special token (control, user-defined or unknown type) by its exact text, such
    /// as `<|im_start|>`; nil if the vocabulary has no such special token.
    public func specialToken(_ text: String) -> Int32? {
        guard let id = idOfText[text], !attrs[Int(id)].isDisjoint(with: [.control, .userDefined, .unknown]) else { return nil }
        return id
    }

    /// Whether generation should stop at `token`: the EOS or EOT token, or a token llama.cpp treats
    /// as end of generation by its text (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`, `<|eom_id|>`,
    /// `<end_of_turn>`, ..., and FIM pad/repo/file-separator tokens such as `<reponame>`).
    public func isEndOfGeneration(_ token: Int32) -> Bool {
        token >= 0 && Int(token) < vocabularySize && endOfGeneration[Int(token)]
    }

    /// The vocabulary spelling of a token (GPT-2 byte characters, e.g. `Ġthe`), or nil outside the vocabulary.
    public func tokenText(_ token: Int32) -> String? {
        guard token >= 0, Int(token) < vocabularySize else { return nil }
        return texts[Int(token)]
    }
}
