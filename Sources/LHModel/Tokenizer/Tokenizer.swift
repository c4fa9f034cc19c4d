// The public tokenizer: loads a byte-level BPE or SentencePiece vocabulary from GGUF, encodes and decodes like llama.cpp.
#if canImport(Glibc)
import Glibc
#endif
import LHCore

/// The kind of vocabulary a GGUF model has (`tokenizer.ggml.model`).
public enum VocabularyType: String, Sendable {
    /// Byte-level BPE (`gpt2`): GPT-2, SmolLM, Llama 3, Qwen 2, ...
    case bytePairEncoding = "gpt2"
    /// SentencePiece (`llama`): Llama 2, Mistral, TinyLlama, Gemma 3, ...
    case sentencePiece = "llama"
}

/// A GGUF model's tokenizer, token for token identical to llama.cpp's `llama_tokenize` /
/// `llama_token_to_piece`: byte-level BPE (GGUF `tokenizer.ggml.model` = `gpt2`) or
/// SentencePiece (`llama`).
///
/// Encoding splits the text at special tokens (when asked to), then encodes each stretch of text:
/// byte-level BPE pre-tokenizes it into words with the model's pre-tokenizer and merges each
/// word's bytes with the BPE merge ranks; SentencePiece merges the whole stretch by token scores,
/// falling back to byte tokens. Safe to use from several threads at once.
public final class Tokenizer: Sendable {
    /// Number of tokens in the vocabulary.
    public let vocabularySize: Int
    /// Byte-level BPE or SentencePiece.
    public let vocabularyType: VocabularyType
    /// Beginning-of-sequence token (`tokenizer.ggml.bos_token_id`; 1 for SentencePiece when absent).
    public let bosToken: Int32?
    /// End-of-sequence token (`tokenizer.ggml.eos_token_id`; 2 for SentencePiece when absent).
    public let eosToken: Int32?
    /// Unknown token (`tokenizer.ggml.unknown_token_id`; 0 for SentencePiece when absent).
    public let unknownToken: Int32?
    /// End-of-turn token: `tokenizer.ggml.eot_token_id`, else the first of `<|eot_id|>`,
    /// `<|im_end|>`, `<|end|>`, `<end_of_turn>`, `<|endoftext|>`, ... found in the vocabulary.
    public let eotToken: Int32?
    /// Whether prompts should start with `bosToken` (`tokenizer.ggml.add_bos_token`; when absent,
    /// true for SentencePiece and Llama 3 pre-tokenizers and false otherwise, as in llama.cpp).
    /// `encode(_:parseSpecial:)` never adds it; `encode(_:addSpecial:parseSpecial:)` does.
    public let addsBOS: Bool
    /// Whether encoded prompts should end with `eosToken` (`tokenizer.ggml.add_eos_token`, default false).
    public let addsEOS: Bool
    /// SentencePiece: whether a space is prepended to text that starts the input or follows a
    /// special token (`tokenizer.ggml.add_space_prefix`, default true; Gemma 3 sets false).
    /// Always false for byte-level BPE.
    public let addsSpacePrefix: Bool
    /// The pre-tokenizer name (`tokenizer.ggml.pre`, `default` when absent; SentencePiece has none
    /// and reports `default`).
    public let preTokenizerName: String

    private let texts: [String]
    private let attrs: [TokenAttr]
    /// Token text -> id, byte for byte (the last id when texts repeat, as llama.cpp's map).
    private let table: TokenTextTable
    private let pieceBytes: [UInt8]
    private let pieceOffsets: [Int]
    private let endOfGeneration: [Bool]
    private let matcher: SpecialTokenMatcher
    private let encoder: TextEncoder

    /// How a stretch of text between special tokens becomes tokens.
    enum TextEncoder: Sendable {
        case bytePairEncoding(BPEEncoder)
        case sentencePiece(SentencePieceModel)
    }

    /// The text encoder (tests compare its paths).
    var encoderForTesting: TextEncoder { encoder }

    /// The special-token matcher (tests compare it with llama.cpp's algorithm as written).
    var matcherForTesting: SpecialTokenMatcher { matcher }

    /// The BPE merge model (byte-level BPE vocabularies only; tests compare its two merge loops).
    var model: BPEModel {
        guard case let .bytePairEncoding(e) = encoder else { preconditionFailure("not a byte-level BPE vocabulary") }
        return e.model
    }

    // GGUF keys read only here.
    static let unknownKey = "tokenizer.ggml.unknown_token_id"
    static let addEOSKey = "tokenizer.ggml.add_eos_token"
    static let addSpacePrefixKey = "tokenizer.ggml.add_space_prefix"

    /// Loads the tokenizer of a GGUF model.
    /// - Throws: `LHError.unsupportedModel` if the vocabulary is neither byte-level BPE nor
    ///   SentencePiece, or its pre-tokenizer is unknown (naming the file and the value);
    ///   `LHError.badFile` if vocabulary arrays are missing or inconsistent.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let modelName = gguf.string(GGUFKey.tokenizerModel) else {
            throw LHError.badFile(path: path, reason: "no \(GGUFKey.tokenizerModel) in the metadata (not a language model?)")
        }
        guard let type = VocabularyType(rawValue: modelName) else {
            throw LHError.unsupportedModel(path: path, reason: "tokenizer '\(modelName)' (\(GGUFKey.tokenizerModel)) is not supported; supported: gpt2 (byte-level BPE), llama (SentencePiece)")
        }
        let pre = gguf.string(GGUFKey.tokenizerPre) ?? "default"
        var preEntry: PreTokenizerKind.Entry?
        if type == .bytePairEncoding {
            guard let entry = PreTokenizerKind.byName[pre] else {
                let known = PreTokenizerKind.byName.keys.sorted().joined(separator: ", ")
                throw LHError.unsupportedModel(path: path, reason: "pre-tokenizer '\(pre)' (\(GGUFKey.tokenizerPre)) is not supported; supported: \(known)")
            }
            preEntry = entry
        }
        guard var tokenTexts = gguf.stringArray(GGUFKey.tokenizerTokens), !tokenTexts.isEmpty else {
            throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerTokens) is missing or not an array of strings")
        }
        guard tokenTexts.count < Int(Int32.max) / 2 else {
            throw LHError.badFile(path: path, reason: "vocabulary of \(tokenTexts.count) tokens is too large")
        }
        let n = tokenTexts.count
        var attrs = [TokenAttr](repeating: .normal, count: n)
        if gguf.metadata[GGUFKey.tokenizerTokenTypes] != nil {
            guard let types = gguf.intArray(GGUFKey.tokenizerTokenTypes), types.count >= n else {
                throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerTokenTypes) must be \(n) integers, one per token")
            }
            for i in 0..<n { attrs[i] = TokenAttr(ggufType: types[i]) }
        }
        for i in 0..<n where tokenTexts[i].isEmpty { tokenTexts[i] = "[EMPTY_\(i)]" }   // as llama.cpp
        let table = TokenTextTable(texts: tokenTexts)

        // A special token id outside the vocabulary is a damaged file, not a default to fall back on.
        for key in [GGUFKey.tokenizerBOS, GGUFKey.tokenizerEOS, GGUFKey.tokenizerEOT, GGUFKey.tokenizerPadding, Tokenizer.unknownKey]
        where gguf.metadata[key] != nil {
            guard let v = gguf.int(key), (0..<n).contains(v) else {
                let found = gguf.int(key).map(String.init) ?? "not an integer that fits"
                throw LHError.badFile(path: path, reason: "\(key) is \(found), expected a token id in 0..<\(n)")
            }
        }
        // llama.cpp's defaults per vocabulary type when the keys are absent.
        let defaults: SpecialTokenInfo.Defaults = type == .sentencePiece ? .sentencePiece : .none
        let info = SpecialTokenInfo(gguf: gguf, texts: tokenTexts, table: table, attrs: &attrs, defaults: defaults)
        vocabularySize = n
        vocabularyType = type
        bosToken = info.bos
        eosToken = info.eos
        unknownToken = info.unknown
        eotToken = info.eot
        addsBOS = gguf.bool(GGUFKey.tokenizerAddBOS) ?? (preEntry?.addBOS ?? true)
        addsEOS = gguf.bool(Tokenizer.addEOSKey) ?? false
        addsSpacePrefix = type == .sentencePiece && (gguf.bool(Tokenizer.addSpacePrefixKey) ?? true)
        preTokenizerName = type == .bytePairEncoding ? pre : "default"
        texts = tokenTexts
        self.attrs = attrs
        self.table = table
        var eog = [Bool](repeating: false, count: n)
        for t in info.endOfGeneration { eog[Int(t)] = true }
        endOfGeneration = eog

        let pieces = TokenPieces(texts: tokenTexts, attrs: attrs, type: type)
        pieceBytes = pieces.bytes
        pieceOffsets = pieces.offsets
        matcher = SpecialTokenMatcher(texts: tokenTexts, attrs: attrs)

        switch type {
        case .bytePairEncoding:
            guard let merges = gguf.stringArray(GGUFKey.tokenizerMerges) else {
                throw LHError.badFile(path: path, reason: "\(GGUFKey.tokenizerMerges) is missing or not an array of strings (a BPE vocabulary needs its merges)")
            }
            let entry = preEntry!
            var idOfText: [String: Int32] = [:]
            idOfText.reserveCapacity(n)
            for i in 0..<n { idOfText[tokenTexts[i]] = Int32(i) }
            encoder = .bytePairEncoding(BPEEncoder(kind: entry.kind, ignoreMerges: entry.ignoreMerges, texts: tokenTexts,
                                                   idOfText: idOfText, merges: merges))
        case .sentencePiece:
            let scores = try SentencePieceModel.scores(gguf, count: n)
            encoder = .sentencePiece(SentencePieceModel(texts: tokenTexts, table: table, scores: scores, addsSpacePrefix: addsSpacePrefix,
                                                        unknownToken: info.unknown))
        }
    }

    /// Token ids of `text`. No BOS or EOS is added.
    /// - Parameter parseSpecial: whether control tokens written in the text (`<|im_start|>`, ...)
    ///   become their ids; when false they are tokenized as ordinary text. User-defined tokens
    ///   are matched either way, as in llama.cpp.
    public func encode(_ text: String, parseSpecial: Bool) -> [Int32] {
        encode(text, addSpecial: false, parseSpecial: parseSpecial)
    }

    /// Token ids of `text`, as llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    /// - Parameters:
    ///   - addSpecial: prepend `bosToken` when `addsBOS` and append `eosToken` when `addsEOS`.
    ///   - parseSpecial: whether control tokens written in the text become their ids.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var text = text
        text.makeContiguousUTF8()
        if let r = text.utf8.withContiguousStorageIfAvailable({ buf -> [Int32] in
            encode(bytes: buf.baseAddress, count: buf.count, addSpecial: addSpecial, parseSpecial: parseSpecial)
        }) { return r }
        return Array(text.utf8).withUnsafeBufferPointer { b in
            encode(bytes: b.baseAddress, count: b.count, addSpecial: addSpecial, parseSpecial: parseSpecial)
        }
    }

    private func encode(bytes: UnsafePointer<UInt8>?, count: Int, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        if addSpecial && addsBOS, let bos = bosToken { out.append(bos) }
        if let bytes, count > 0 {
            out.reserveCapacity(count / 3 + 16)
            let fragments = matcher.partition(bytes, count: count, parseSpecial: parseSpecial)
            switch encoder {
            case let .bytePairEncoding(bpe):
                var session = BPEEncoder.Session(text: bytes)
                for fragment in fragments {
                    switch fragment {
                    case let .token(id): out.append(id)
                    case let .text(start, end): bpe.encode(bytes, start, end, into: &out, session: &session)
                    }
                }
            case let .sentencePiece(spm):
                var scratch = SentencePieceModel.Scratch()
                var cache = WordCache(text: bytes)
                var afterSpecial = true   // the input's start counts as following a special token
                for fragment in fragments {
                    switch fragment {
                    case let .token(id):
                        out.append(id)
                        afterSpecial = true
                    case let .text(start, end):
                        spm.encode(bytes, start, end, prefixSpace: spm.addsSpacePrefix && afterSpecial, into: &out,
                                   scratch: &scratch, cache: &cache)
                        afterSpecial = false
                    }
                }
            }
        }
        if addSpecial && addsEOS, let eos = eosToken { out.append(eos) }
        return out
    }

    /// The text of `tokens`: their bytes (see `tokenBytes`) concatenated and decoded as UTF-8, with
    /// U+FFFD for ill-formed sequences. Special tokens render as their text (`<|im_end|>`), as
    /// llama.cpp's detokenizer does when asked to render special tokens; no spaces are cleaned up
    /// (a SentencePiece space prefix decodes as a leading space, as `llama_token_to_piece` gives it).
    public func decode(_ tokens: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for t in tokens { appendBytes(of: t, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw bytes a token stands for: a normal token's bytes (possibly part of a UTF-8
    /// character; SentencePiece's `▁` is a space); a byte token's (`<0xE2>`) byte; a control,
    /// user-defined or unknown token's text; nothing for other token types or ids outside the vocabulary.
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
        guard let id = table[text: text], !attrs[Int(id)].isDisjoint(with: [.control, .userDefined, .unknown]) else { return nil }
        return id
    }

    /// Whether generation should stop at `token`: the EOS or EOT token, or a token llama.cpp treats
    /// as end of generation by its text (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`, `<|eom_id|>`,
    /// `<end_of_turn>`, ..., and FIM pad/repo/file-separator tokens such as `<reponame>`).
    public func isEndOfGeneration(_ token: Int32) -> Bool {
        token >= 0 && Int(token) < vocabularySize && endOfGeneration[Int(token)]
    }

    /// The vocabulary spelling of a token (GPT-2 byte characters such as `Ġthe` for byte-level BPE,
    /// `▁the` or `<0x0A>` for SentencePiece), or nil outside the vocabulary.
    public func tokenText(_ token: Int32) -> String? {
        guard token >= 0, Int(token) < vocabularySize else { return nil }
        return texts[Int(token)]
    }
}
