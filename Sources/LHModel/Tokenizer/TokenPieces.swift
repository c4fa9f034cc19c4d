// What each token renders as when decoding (llama.cpp's token_to_piece with special = true), precomputed.

/// The bytes of every token's piece, concatenated, with offsets (`offsets[i]..<offsets[i + 1]`).
struct TokenPieces {
    var bytes: [UInt8] = []
    var offsets: [Int] = [0]

    /// - Control, unknown and user-defined tokens render as their text.
    /// - Normal tokens: byte-level BPE maps GPT-2's byte characters back to bytes; SentencePiece
    ///   turns `▁` (U+2581) into a space.
    /// - Byte tokens (`<0xXX>`) render as that byte.
    /// - Unused and undefined tokens render as nothing.
    init(texts: [String], attrs: [TokenAttr], type: VocabularyType) {
        offsets.reserveCapacity(texts.count + 1)
        bytes.reserveCapacity(texts.count * 8)
        for (text, a) in zip(texts, attrs) {
            if !a.isDisjoint(with: [.control, .unknown, .userDefined]) {
                bytes.append(contentsOf: text.utf8)
            } else if a.contains(.normal) {
                switch type {
                case .bytePairEncoding: bytes.append(contentsOf: ByteUnicode.decodeLossy(text))
                case .sentencePiece: TokenPieces.appendUnescapingSpaces(text, to: &bytes)
                }
            } else if a.contains(.byte) {
                bytes.append(TokenPieces.byteValue(of: text))
            }
            offsets.append(bytes.count)
        }
    }

    /// `text` with every U+2581 "▁" replaced by a space (llama.cpp's llama_unescape_whitespace).
    static func appendUnescapingSpaces(_ text: String, to bytes: inout [UInt8]) {
        let u = text.utf8
        guard u.contains(0xE2) else { bytes.append(contentsOf: u); return }
        var i = u.startIndex
        while i != u.endIndex {
            let c = u[i]
            if c == 0xE2, u.distance(from: i, to: u.endIndex) >= 3,
               u[u.index(i, offsetBy: 1)] == 0x96, u[u.index(i, offsetBy: 2)] == 0x81 {
                bytes.append(0x20)
                i = u.index(i, offsetBy: 3)
            } else {
                bytes.append(c)
                i = u.index(after: i)
            }
        }
    }

    /// The byte of a byte token `<0xXX>`: the hex digits at offsets 3 and 4, read as llama.cpp's
    /// strtol does (leading hex digits only; 0 when there are none).
    static func byteValue(of text: String) -> UInt8 {
        let u = Array(text.utf8)
        var v = 0
        for k in stride(from: 3, to: min(5, u.count), by: 1) {
            guard let d = Int(String(UnicodeScalar(u[k])), radix: 16) else { break }
            v = v * 16 + d
        }
        return UInt8(truncatingIfNeeded: v)
    }
}
