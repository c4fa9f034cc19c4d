// Unicode character classes the pre-tokenizers test (\p{L}, \p{N}, \p{P}, \s) and UTF-8 stepping.
//
// llama.cpp precomputes these from Python's `regex` module (unicode-data.cpp, Unicode 15.1);
// here they come from Swift's Unicode tables: \p{L} = Lu Ll Lt Lm Lo, \p{N} = Nd Nl No,
// \p{P} = Pc Pd Ps Pe Pi Pf Po, \s = the White_Space property (the same 25 code points
// llama.cpp lists). Characters Swift knows but Unicode 15.1 did not assign are classed as
// unassigned, as llama.cpp's table has them; with that, all 0x110000 code points agree with
// llama.cpp's table (checked against the unicode-data.cpp of llama-cpp-python 0.3.36).

/// Per-code-point class bits. Every in-range code point has `defined` set, so a flags value of 0
/// means "past the end of the piece" (llama.cpp's empty `unicode_cpt_flags{}`).
enum CodepointFlags {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let punctuation: UInt8 = 8
    static let defined: UInt8 = 0x80

    /// Flags of every code point of the Basic Multilingual Plane, computed once per process.
    static let bmpTable: [UInt8] = (0..<0x10000).map { compute(UInt32($0)) }

    /// Flags of any code point, from Swift's Unicode properties.
    static func compute(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return defined }   // surrogates
        let props = scalar.properties
        if let age = props.age, age.major > 15 || (age.major == 15 && age.minor > 1) { return defined }
        var f = defined
        switch props.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            f |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            f |= punctuation
        default:
            break
        }
        if props.isWhitespace { f |= whitespace }
        return f
    }
}

/// Reads code points and their flags from a UTF-8 buffer (valid UTF-8, as Swift strings are).
struct UTF8Reader {
    let bytes: UnsafePointer<UInt8>
    let bmp: UnsafePointer<UInt8>

    /// Length in bytes of the character starting with `lead`.
    @inline(__always)
    static func length(lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }

    /// The code point starting at byte `i`, and its length in bytes.
    @inline(__always)
    func scalar(at i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 {
            return (((b0 & 0x1F) << 6) | (UInt32(bytes[i + 1]) & 0x3F), 2)
        }
        if b0 < 0xF0 {
            return (((b0 & 0x0F) << 12) | ((UInt32(bytes[i + 1]) & 0x3F) << 6)
                    | (UInt32(bytes[i + 2]) & 0x3F), 3)
        }
        return (((b0 & 0x07) << 18) | ((UInt32(bytes[i + 1]) & 0x3F) << 12)
                | ((UInt32(bytes[i + 2]) & 0x3F) << 6) | (UInt32(bytes[i + 3]) & 0x3F), 4)
    }

    /// Flags of a code point value.
    @inline(__always)
    func flags(of value: UInt32) -> UInt8 {
        value < 0x10000 ? bmp[Int(value)] : CodepointFlags.compute(value)
    }

    /// Flags of the character at byte `i`, or 0 when `i` is at or past `end`.
    @inline(__always)
    func flags(at i: Int, end: Int) -> UInt8 {
        guard i < end else { return 0 }
        let b0 = bytes[i]
        if b0 < 0x80 { return bmp[Int(b0)] }
        return flags(of: scalar(at: i).value)
    }

    /// Length in bytes of the character at byte `i`.
    @inline(__always)
    func length(at i: Int) -> Int { UTF8Reader.length(lead: bytes[i]) }
}
