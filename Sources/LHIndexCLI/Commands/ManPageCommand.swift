// `lhindex manpage`: prints the lhindex(1) manual page in roff, generated from the same help as the help screens.

/// Prints the manual page.
struct ManPageCommand: Command {
    static let name = "manpage"
    static let abstract = "Print the lhindex(1) manual page (roff), made from the help screens."
    static let usage = ""
    static let discussion = """
    Read it with 'lhindex manpage | man -l -'. 'make install' installs it as share/man/man1/lhindex.1.
    """
    static let options: [OptionSpec] = []

    init(arguments a: ParsedArguments) throws {
        guard a.positional.isEmpty else { throw UsageError("'manpage' takes no arguments") }
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        io.out(ManPage.text())
        return 0
    }
}
