// Escaping control characters (a newline or an escape sequence in a file name) before they reach a message line.

/// Makes text from outside (file names above all) safe to print inside one line of a message.
public enum Printable {
    /// `s` with every control character (C0, DEL and C1) written as an escape: `\n`, `\r`, `\t`, else `\xHH`
    /// (`\u{HHHH}` above 0xFF). Everything else, backslashes and non-ASCII letters included, is unchanged.
    public static func escaped(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            guard isControl(u) else { out.unicodeScalars.append(u); continue }
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(u.value, radix: 16)
                out += u.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
            }
        }
        return out
    }

    /// A message line: `escaped` applied to all of it but a final newline, which is kept.
    public static func line(_ s: String) -> String {
        s.hasSuffix("\n") ? escaped(String(s.dropLast())) + "\n" : escaped(s)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0x2028 || u.value == 0x2029
    }
}
