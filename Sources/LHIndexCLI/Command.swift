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
    /// The full help screen, wrapped to the terminal (`HelpLayout.width`).
    public static var helpText: String { helpText(width: HelpLayout.width) }

    /// The full help screen wrapped to `width` columns.
    public static func helpText(width: Int) -> String {
        var s = HelpLayout.wrap(abstract, width: width) + "\n\n"
        s += HelpLayout.wrap(usage, width: width, first: "USAGE: lhindex \(name)" + (usage.isEmpty ? "" : " "), indent: 4) + "\n"
        if !discussion.isEmpty { s += "\n" + HelpLayout.reflow(discussion, width: width) + "\n" }
        s += HelpLayout.options(options, width: width)
        return s
    }
}
