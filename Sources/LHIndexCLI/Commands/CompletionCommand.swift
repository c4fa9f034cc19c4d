// `lhindex completion SHELL`: prints a completion script for bash, zsh or fish, generated from the commands' options.

/// Prints a shell completion script.
struct CompletionCommand: Command {
    static let name = "completion"
    static let abstract = "Print a completion script for bash, zsh or fish."
    static let usage = "bash|zsh|fish"
    static let discussion = """
    The script completes the commands, their options, file and directory arguments, and model names
    for -m (the known models and the .gguf files in the model cache). Load it in the current shell:

      bash: source <(lhindex completion bash)
      zsh:  source <(lhindex completion zsh) (after compinit)
      fish: lhindex completion fish | source

    'make install' installs all three where the shells look for them.
    """
    static let options: [OptionSpec] = []

    /// The shells a script is written for.
    static let shells = ["bash", "zsh", "fish"]

    let shell: String

    init(arguments a: ParsedArguments) throws {
        let list = Self.shells.joined(separator: ", ")
        guard let shell = a.positional.first else { throw UsageError("missing SHELL (one of \(list))") }
        guard a.positional.count == 1 else { throw UsageError("give exactly one SHELL (one of \(list))") }
        guard Self.shells.contains(shell) else { throw UsageError("unknown shell '\(shell)' (one of \(list))") }
        self.shell = shell
    }

    func run(_ io: TerminalIO) throws -> Int32 {
        switch shell {
        case "bash": io.out(BashCompletion.script())
        case "zsh": io.out(ZshCompletion.script())
        default: io.out(FishCompletion.script())
        }
        return 0
    }
}
