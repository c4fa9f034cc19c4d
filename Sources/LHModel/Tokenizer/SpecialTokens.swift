// Token attributes and llama.cpp's special-token fix-ups (EOT/EOG/FIM by text).
#if canImport(Glibc)
import Glibc
#endif
import LHCore

/// llama.cpp's per-token attribute bits (llama_token_attr), derived from GGUF token types.
struct TokenAttr: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttr(rawValue: 1 << 0)
    static let unused = TokenAttr(rawValue: 1 << 1)
    static let normal = TokenAttr(rawValue: 1 << 2)
    static let control = TokenAttr(rawValue: 1 << 3)
    static let userDefined = TokenAttr(rawValue: 1 << 4)
    static let byte = TokenAttr(rawValue: 1 << 5)

    /// The attribute of a GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte; anything else undefined = no bits).
    init(ggufType: Int) {
        switch ggufType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

/// Special token ids and the end-of-generation set, resolved the way llama.cpp's llama_vocab::load
/// does (as of the llama.cpp vendored in llama-cpp-python 0.3.36).
struct SpecialTokenInfo {
    var bos: Int32?
    var eos: Int32?
    var unknown: Int32?
    var eot: Int32?
    var endOfGeneration: Set<Int32> = []

    // GGUF keys not in GGUFKey (read here only).
    static let eomKey = "tokenizer.ggml.eom_token_id"
    static let fimKeys: [(key: String, deprecated: String?)] = [
        ("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
        ("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
        ("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"),
        ("tokenizer.ggml.fim_pad_token_id", nil),
        ("tokenizer.ggml.fim_rep_token_id", nil),
        ("tokenizer.ggml.fim_sep_token_id", nil),
    ]

    // Texts llama.cpp recognises, in its order (it takes whichever its hash map yields first;
    // here the first in these lists wins, which is deterministic).
    static let eotTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                           "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
    static let eomTexts = ["<|eom_id|>"]
    static let fimTexts: [[String]] = [
        ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"],
        ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"],
        ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"],
        ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
        ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
        ["<|file_sep|>"],
    ]
    static let eogTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                        "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                        "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                        "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["]

    /// llama.cpp's BOS/EOS/unknown ids for a vocabulary type when the file names none.
    struct Defaults {
        var bos: Int32?, eos: Int32?, unknown: Int32?
        /// Byte-level BPE: none.
        static let none = Defaults()
        /// SentencePiece (`llama`): `<s>` = 1, `</s>` = 2, `<unk>` = 0.
        static let sentencePiece = Defaults(bos: 1, eos: 2, unknown: 0)
    }

    /// Resolves ids from `gguf` and token texts, updating `attrs` as llama.cpp does (tokens it
    /// recognises by text as EOT/EOM/FIM/EOG become control tokens; gpt-oss's channel tokens
    /// become user-defined).
    init(gguf: GGUFFile, texts: [String], table: TokenTextTable, attrs: inout [TokenAttr], defaults: Defaults = .none) {
        let n = texts.count
        func id(_ key: String) -> Int32? {
            guard let v = gguf.int(key), v >= 0, v < n else { return nil }   // out of range: llama.cpp keeps its default
            return Int32(v)
        }
        // A default outside the vocabulary is disabled, as in llama.cpp.
        func inRange(_ d: Int32?) -> Int32? { d.flatMap { $0 < n ? $0 : nil } }
        func detect(_ candidates: [String], _ current: Int32?) -> Int32? {
            if let current { return current }
            for t in candidates {
                if let i = table[text: t] { attrs[Int(i)].insert(.control); return i }
            }
            return nil
        }
        bos = id(GGUFKey.tokenizerBOS) ?? inRange(defaults.bos)
        eos = id(GGUFKey.tokenizerEOS) ?? inRange(defaults.eos)
        unknown = id(Tokenizer.unknownKey) ?? inRange(defaults.unknown)
        eot = detect(SpecialTokenInfo.eotTexts, id(GGUFKey.tokenizerEOT))
        let eom = detect(SpecialTokenInfo.eomTexts, id(SpecialTokenInfo.eomKey))
        var fim: [Int32?] = []
        for (k, texts) in zip(SpecialTokenInfo.fimKeys, SpecialTokenInfo.fimTexts) {
            fim.append(detect(texts, id(k.key) ?? k.deprecated.flatMap { id($0) }))
        }
        var eog = Set<Int32>()
        for i in fim[3...] { if let i { eog.insert(i) } }            // FIM pad, repo, file separator
        for t in SpecialTokenInfo.eogTexts {   // the token holding each text (the last, if several do)
            if let i = table[text: t] {
                eog.insert(i)
                attrs[Int(i)].insert(.control)
            }
        }
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let i = table[text: t] { attrs[Int(i)] = .userDefined }
        }
        for i in [eos, eot, eom] { if let i { eog.insert(i) } }
        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
        let eogTexts = Set(eog.map { texts[Int($0)] })
        if let end = table[text: "<|end|>"], eog.contains(end),
           (eogTexts.contains("<|return|>") && (eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")))
            || ((eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")) && eogTexts.contains("<|flush|>")) {
            eog.remove(end)
            attrs[Int(end)] = .userDefined
        }
        // Gemma 4 / PLaMo: "</s>" is a normal token there.
        if let s = table[text: "</s>"], eog.contains(s),
           eog.contains(where: { ["<|tool_response>", "<|plamo:eos|>"].contains(texts[Int($0)]) }) {
            eog.remove(s)
            attrs[Int(s)] = .normal
        }
        endOfGeneration = eog
    }
}
