// Tokenizing a document for an index and mapping chunks back to byte ranges and line numbers of the source.
import Foundation
import LHCore
import LHModel

/// A document's tokens with the chat template's prefix, and where each chunk lies in the source text.
public struct TokenizedDocument: Sendable {
    /// Template prefix tokens (BOS first when the model adds one) then document tokens.
    public var tokens: [Int32]
    /// Number of template prefix tokens.
    public var prefixTokens: Int
    /// The template prefix text.
    public var templatePrefix: String
    /// Source byte offset where document token i ends (i in 0 ..< tokens.count − prefixTokens).
    public var tokenEnds: [Int]

    /// Tokenizes `text`: the template prefix with special tokens recognised, the document with
    /// `parseSpecial: false`, so text in a document can never become a control token.
    ///
    /// A byte the vocabulary has no token for is dropped by the tokenizer (SmolLM2 has none for 0x04,
    /// 0x06, 0x13, 0x14, 0x16 and 0x1D, found by `make fuzz`), so token ends are found by matching each
    /// token's bytes against the source, skipping the bytes no token spelled, not by adding up lengths
    /// (which put every later chunk's byte range and line early).
    public init(text: String, languageModel lm: LanguageModel) {
        templatePrefix = lm.chatTemplate.userPrefix()
        let prefix = lm.encodeOpening(templatePrefix)
        let doc = lm.tokenizer.encode(text, parseSpecial: false)
        tokens = prefix + doc
        prefixTokens = prefix.count
        var source = text
        tokenEnds = source.withUTF8 { src in
            var end = 0
            return doc.map { t in
                for b in lm.tokenizer.tokenBytes(t) {
                    while end < src.count, src[end] != b { end += 1 }   // a dropped byte
                    end = min(end + 1, src.count)
                }
                return end
            }
        }
    }

    /// The chunk table for chunk size `w` over a source of `source` bytes. Byte ranges are clamped to the
    /// source (they are exact when the tokens' bytes spell the source, as byte-level BPE guarantees).
    public func chunkSpans(w: Int, source: UnsafeRawBufferPointer) -> [ChunkSpan] {
        let n = tokens.count, chunks = (n + w - 1) / w
        func byteOffset(_ position: Int) -> Int {
            let i = position - prefixTokens
            return i <= 0 ? 0 : min(tokenEnds[min(i, tokenEnds.count) - 1], source.count)
        }
        var spans: [ChunkSpan] = []
        var line = 1, scanned = 0
        for c in 0..<chunks {
            let a = c * w, b = min(n, a + w)
            let bs = byteOffset(a), be = byteOffset(b)
            while scanned < bs { if source[scanned] == 0x0A { line += 1 }; scanned += 1 }
            spans.append(ChunkSpan(chunk: c, tokenStart: a, tokenEnd: b, byteStart: bs, byteEnd: max(bs, be), firstLine: line))
        }
        return spans
    }
}

/// Model identity for the index: full SHA-256 at build time, a cheap fingerprint at ask time.
public enum ModelFingerprint {
    /// SHA-256 of the file size (decimal) and the first and last MiB of the mapped file.
    public static func fingerprint(_ file: MappedFile) -> String {
        var s = SHA256()
        s.update(String(file.count))
        let n = min(file.count, 1 << 20)
        s.update(UnsafeRawBufferPointer(start: file.base, count: n))
        s.update(UnsafeRawBufferPointer(start: file.base + (file.count - n), count: n))
        return s.finalizeHex()
    }

    /// The identity of `lm`: name, SHA-256 of the whole file (reads it all), fingerprint, size, hyperparameters.
    public static func identity(of lm: LanguageModel) -> ModelIdentity {
        let file = lm.model.gguf.file
        let sha = SHA256.hex(UnsafeRawBufferPointer(start: file.base, count: file.count))
        let name = lm.model.gguf.string("general.name") ?? URL(fileURLWithPath: file.path).lastPathComponent
        return ModelIdentity(name: name, sha256: sha, fingerprint: fingerprint(file), bytes: file.count,
                             hyperparameters: lm.model.config)
    }
}
