// The command protocol and help rendering shared by every subcommand.

/// A subcommand of `lhindex`.
public protocol Command {
    /// Name typed on the command line.
    static var name: String { get }
    /// One-line summary for the command list.
    static var abstract: String { get }
    /// Usage line after `lhindex NAME`.
    static var usage: String { get }
    /// Paragraphs of explanation shown by `lhindex help NAME`.
    static var discussion: String { get }
    /// Accepted options.
    static var options: [OptionSpec] { get }
    /// Validates the parsed arguments (throwing `UsageError`) and builds the command.
    init(arguments: ParsedArguments) throws
    /// Does the work; returns the exit status.
    func run(_ io: TerminalIO) throws -> Int32
}

extension Command {
    /// The full help screen.
    public static var helpText: String {
        var s = "\(abstract)\n\nUSAGE: lhindex \(name) \(usage)\n"
        if !discussion.isEmpty { s += "\n\(discussion)\n" }
        let opts = options + [OptionSpec("help", short: "h", help: "Show this help.")]
        s += "\nOPTIONS:\n"
        for o in opts {
            var left = "  " + (o.short.map { "-\($0), " } ?? "    ") + "--\(o.long)"
            if let v = o.valueName { left += " \(v)" }
            let pad = max(1, 28 - left.count)
            s += left + String(repeating: " ", count: pad) + o.help + "\n"
        }
        return s
    }
}
