// The GPT-2 byte <-> unicode mapping that byte-level BPE vocabularies store their token texts in.
//
// Byte-level BPE works on raw UTF-8 bytes, but vocabularies (and GGUF's tokenizer.ggml.tokens /
// tokenizer.ggml.merges) spell every byte as one printable character: the bytes `!`..`~`,
// `¡`..`¬` and `®`..`ÿ` stand for themselves, the remaining 68 bytes (controls, space, DEL, NBSP,
// soft hyphen) become U+0100, U+0101, ... in byte order. A space is therefore `Ġ` (U+0120) and a
// newline `Ċ` (U+010A). This is llama.cpp's unicode_byte_to_utf8_map / unicode_utf8_to_byte_map.

/// GPT-2's reversible byte <-> character mapping.
enum ByteUnicode {
    /// The character (as a scalar value) that stands for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var assigned = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { table[b] = UInt32(b); assigned[b] = true }
        for b in 0xA1...0xAC { table[b] = UInt32(b); assigned[b] = true }
        for b in 0xAE...0xFF { table[b] = UInt32(b); assigned[b] = true }
        var next: UInt32 = 256
        for b in 0..<256 where !assigned[b] {
            table[b] = next
            next += 1
        }
        return table
    }()

    /// The byte a character stands for, indexed by scalar value (0...0x143); -1 where there is none.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The byte `scalar` stands for, or nil if it is not one of the 256 mapped characters.
    @inline(__always)
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < 0x144 else { return nil }
        let b = byteForScalar[Int(scalar)]
        return b < 0 ? nil : UInt8(b)
    }

    /// The vocabulary spelling of raw bytes (each byte becomes its stand-in character).
    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(s)
    }

    /// The raw bytes a vocabulary spelling stands for, or nil if some character is not a stand-in.
    static func decodeExactly(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = byte(for: s.value) else { return nil }
            out.append(b)
        }
        return out
    }

    /// The bytes a normal token renders as, as llama.cpp's llama_decode_text does: characters that
    /// are not stand-ins render as `[UNK_BYTE_0x<hex of their UTF-8>` + the whole token text + `]`.
    static func decodeLossy(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            if let b = byte(for: s.value) {
                out.append(b)
            } else {
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for u in String(s).utf8 {
                    let hex = String(u, radix: 16)
                    if hex.count == 1 { out.append(UInt8(ascii: "0")) }
                    out.append(contentsOf: Array(hex.utf8))
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
        return out
    }
}
