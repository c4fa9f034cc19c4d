// Help screens wrapped to the terminal: paragraphs reflowed, option help and usage lines with hanging indents.
import Foundation

/// Lays help text out for a width of columns.
enum HelpLayout {
    /// Columns to wrap help to: the terminal's width on a terminal (at most 100, at least 40), else 80.
    static var width: Int {
        guard isatty(1) != 0 else { return 80 }
        var size = winsize()
        let columns = ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0
            ? Int(size.ws_col) : Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 80
        return min(100, max(40, columns))
    }

    /// `text` broken at spaces into lines of at most `width` columns (a longer word stands alone); the first
    /// line starts with `first`, the others with `indent` spaces.
    static func wrap(_ text: String, width: Int, first: String = "", indent: Int = 0) -> String {
        var lines: [String] = [], line = first, empty = true
        let pad = String(repeating: " ", count: indent)
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !empty, line.count + 1 + word.count > width {
                lines.append(line)
                line = pad
                empty = true
            }
            line += (empty ? "" : " ") + word
            empty = false
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    /// Paragraphs (separated by blank lines) reflowed to `width`. A line starting with a space or "- " keeps
    /// its own line (a list item or an example), its continuation indented to match.
    static func reflow(_ text: String, width: Int) -> String {
        var out: [String] = [], paragraph: [String] = []
        func flush() {
            if !paragraph.isEmpty { out.append(wrap(paragraph.joined(separator: " "), width: width)) }
            paragraph = []
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()
                out.append("")
            } else if line.hasPrefix(" ") || line.hasPrefix("- ") {
                flush()
                let lead = line.prefix { $0 == " " }.count + (line.drop { $0 == " " }.hasPrefix("- ") ? 2 : 0)
                out.append(wrap(String(line.dropFirst(lead)), width: width, first: String(line.prefix(lead)), indent: lead))
            } else {
                paragraph.append(line)
            }
        }
        flush()
        return out.joined(separator: "\n")
    }
}
