// The options part of a help screen: general options, then document and question settings under their own
// headings; advanced settings are left to `lhindex help settings`.

extension OptionGroup {
    /// The heading a help screen lists the group under, or nil for advanced settings (not listed).
    var heading: String? {
        switch self {
        case .general: return "OPTIONS:"
        case .document: return "DOCUMENT SETTINGS (how a document is read; build stores them in each index):"
        case .question: return "QUESTION SETTINGS (how questions and answers read a document):"
        case .advanced: return nil
        }
    }
}

extension HelpLayout {
    /// The line that points to the settings a help screen leaves out.
    static let advancedPointer = "Advanced settings: lhindex help settings"

    /// The options a help screen lists (every group but the advanced one), `--help` among the general ones.
    static func visible(_ specs: [OptionSpec]) -> [OptionSpec] {
        specs.filter { $0.group != .advanced } + [CompletionModel.helpOption]
    }

    /// `specs` (with `--help`) under their groups' headings, each option's help wrapped to `width` with a hanging
    /// indent; when some are advanced, a last line points to `lhindex help settings`.
    static func options(_ specs: [OptionSpec], width: Int) -> String {
        let shown = visible(specs)
        var s = ""
        for group in [OptionGroup.general, .document, .question] {
            let members = shown.filter { $0.group == group }
            guard !members.isEmpty, let heading = group.heading else { continue }
            s += "\n" + wrap(heading, width: width) + "\n"
            for o in members { s += option(o, width: width) }
        }
        if specs.contains(where: { $0.group == .advanced }) { s += "\n" + advancedPointer + "\n" }
        return s
    }

    /// One option: its names on the left, its help from column 28 (or on the next line after a long name).
    static func option(_ o: OptionSpec, width: Int) -> String {
        var s = ""
        var left = "  " + (o.short.map { "-\($0), " } ?? "    ") + "--\(o.long)"
        if let v = o.valueName { left += " \(v)" }
        let column = 28
        if left.count >= column - 1 {
            s += left + "\n"
            left = ""
        }
        left += String(repeating: " ", count: column - left.count)
        return s + wrap(o.help, width: width, first: left, indent: column) + "\n"
    }
}
