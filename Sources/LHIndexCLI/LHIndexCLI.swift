// The root command: dispatches to subcommands, renders help, maps errors to exit codes 0 / 1 / 64.
import LHCore

/// Entry point of the `lhindex` executable.
public enum LHIndexCLI {
    /// Version printed by `--version`.
    public static let version = "0.1.0"

    nonisolated(unsafe) static let commands: [any Command.Type] = [BuildCommand.self, AskCommand.self, InfoCommand.self, ModelsCommand.self, VerifyCommand.self, GenerateCommand.self, PerplexityCommand.self, EvalCommand.self, BenchCommand.self, TraceCommand.self,
                                                                  CompletionCommand.self, ManPageCommand.self]

    /// What lhindex does, in one sentence (the first line of `--help` and the man page's NAME).
    static let tagline = "ask questions of documents far longer than a small language model's window, on a CPU."

    /// How the model is found, for `--help` and the man page.
    static let modelLookup = "The model is found through -m, then $LHINDEX_MODEL, "
        + "then the cache that 'make model' fills ($LHINDEX_HOME/models, default ~/.cache/lhindex/models)."

    static var rootHelp: String {
        let width = HelpLayout.width
        var s = HelpLayout.wrap("lhindex: " + tagline,
                                width: width) + "\n\nUSAGE: lhindex COMMAND [OPTIONS]\n\nCOMMANDS:\n"
        for c in commands {
            s += HelpLayout.wrap(c.abstract, width: width, first: "  " + c.name.padding(toLength: 13, withPad: " ", startingAt: 0), indent: 15) + "\n"
        }
        s += "\n  help COMMAND   Show the help of a command.\n"
        s += HelpLayout.wrap(SettingsHelp.abstract, width: width, first: "  help \(SettingsHelp.topic)  ", indent: 17) + "\n\n"
        s += HelpLayout.wrap("Run 'lhindex help COMMAND' for a command's options. " + modelLookup, width: width) + "\n"
        return s
    }

    /// Runs the command line `args` (without the program name) and returns the exit status.
    public static func main(_ args: [String], io: TerminalIO = TerminalIO()) -> Int32 {
        guard let first = args.first else { io.err(rootHelp); return 64 }
        switch first {
        case "-h", "--help":
            io.out(rootHelp); return 0
        case "--version", "-V":
            io.out("lhindex \(version)\n"); return 0
        case "help":
            guard args.count > 1 else { io.out(rootHelp); return 0 }
            if args[1] == SettingsHelp.topic { io.out(SettingsHelp.text()); return 0 }
            guard let c = commands.first(where: { $0.name == args[1] }) else {
                io.err("lhindex: unknown command '\(args[1])'\nRun 'lhindex --help' for the list of commands.\n")
                return 64
            }
            io.out(c.helpText); return 0
        default:
            break
        }
        guard let type = commands.first(where: { $0.name == first }) else {
            io.err("lhindex: unknown command '\(first)'\nRun 'lhindex --help' for the list of commands.\n")
            return 64
        }
        let rest = Array(args.dropFirst())
        if rest.contains("--help") || rest.contains("-h") { io.out(type.helpText); return 0 }
        do {
            let parsed = try ParsedArguments(rest, specs: type.options)
            let command = try type.init(arguments: parsed)
            return try command.run(io)
        } catch let e as UsageError {
            io.err(Printable.line("lhindex \(first): \(e.description)\n") + "Run 'lhindex help \(first)' for usage.\n")
            return 64
        } catch let e as LHError {
            io.err(Printable.line("lhindex: \(e.description)\n"))
            return 1
        } catch {
            io.err(Printable.line("lhindex: \(error)\n"))
            return 1
        }
    }
}
