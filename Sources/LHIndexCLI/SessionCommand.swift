// The slash commands of the interactive `lhindex ask`: parsing a line, and the /help text.

/// A line of the interactive session that starts with "/": a command, never a question for the model.
enum SessionCommand: Equatable {
    /// /bye, /exit, /quit: end the session.
    case bye
    /// /help: list the commands.
    case help
    /// /cite on|off: citations after the following answers; nil (no argument) shows the setting.
    case cite(Bool?)
    /// /clear: clear the screen.
    case clear
    /// A command that does not exist or was given a wrong argument, with the one-line reason.
    case invalid(String)

    /// The command `line` names, or nil when the line is a question (it does not start with "/").
    static func parse(_ line: String) -> SessionCommand? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = words.first, name.hasPrefix("/") else { return nil }
        let arguments = Array(words.dropFirst())
        func bare(_ c: SessionCommand) -> SessionCommand {
            arguments.isEmpty ? c : .invalid("\(name) takes no argument")
        }
        switch name.lowercased() {
        case "/bye", "/exit", "/quit": return bare(.bye)
        case "/help", "/?": return bare(.help)
        case "/clear": return bare(.clear)
        case "/cite":
            switch arguments.map({ $0.lowercased() }) {
            case []: return .cite(nil)
            case ["on"]: return .cite(true)
            case ["off"]: return .cite(false)
            default: return .invalid("/cite takes on or off")
            }
        default:
            return .invalid("unknown command \(name); /help lists the commands")
        }
    }

    /// The /help text: every command, then the keys; `cite` is the current citation setting and `history`
    /// the history file.
    static func help(cite: Bool, history: String) -> String {
        """
        Commands (a line starting with / is never sent to the model):
          /help            list these commands (also /?)
          /cite on|off     list the passages each answer attended to most (now \(cite ? "on" : "off"))
          /clear           clear the screen (questions are independent: there is nothing to forget)
          /bye             quit; also /exit, /quit, or Ctrl-D on an empty line
        Keys: Up and Down recall earlier lines; Ctrl-C stops an answer, or clears the line being typed.
        History: \(history)

        """
    }
}
