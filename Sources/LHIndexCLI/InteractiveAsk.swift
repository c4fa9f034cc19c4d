// The interactive `lhindex ask` on a terminal: a banner, a prompt with line editing and history, slash
// commands, and Ctrl-C that stops the answer instead of the process.
import Foundation
import LHCore

/// One interactive session over an opened index. Questions go to `answer`; lines starting with "/" are
/// `SessionCommand`s. The banner, prompt and messages go to standard error, answers where `answer` puts them.
struct InteractiveAsk {
    let io: TerminalIO
    /// What the banner says is being asked: the documents' names, their tokens, the model.
    let documents: [String]
    let tokens: Int
    let model: String
    /// Whether answers list citations (`--cite`, then /cite).
    var cite: Bool
    /// Answers a question: the question, whether to cite, and the closure that says the answer was stopped.
    let answer: (String, Bool, () -> Bool) throws -> Void

    /// The first lines: what is asked with which model, and how to get help and quit.
    var banner: String {
        let count = documents.count == 1 ? "1 document" : "\(documents.count) documents"
        let shown = documents.prefix(3).joined(separator: ", ") + (documents.count > 3 ? ", ..." : "")
        return "Asking \(count) (\(Printable.escaped(shown))), \(tokens) tokens, with \(Printable.escaped(model)).\n"
            + "Type a question, /help for commands, /bye or Ctrl-D to quit; Ctrl-C stops an answer.\n"
    }

    /// Runs the session until /bye, Ctrl-D or the end of the input.
    /// - Returns: the exit status, 0.
    /// - Throws: `LHError` when the line editor cannot start.
    mutating func run() throws -> Int32 {
        let history = PromptHistory()
        let editor = try LineEditor(prompt: "> ", history: history)
        defer { Interrupt.restore() }
        io.err(banner)
        while true {
            Interrupt.install(interruptingReads: true)
            _ = Interrupt.take()
            let input = editor.read()
            Interrupt.install(interruptingReads: false)
            switch input {
            case .end:
                io.err("\n")
                return 0
            case .interrupted:
                _ = Interrupt.take()
                io.err("^C\n")
            case let .line(line):
                guard let command = SessionCommand.parse(line) else {
                    ask(line)
                    continue
                }
                switch command {
                case .bye: return 0
                case .help: io.err(SessionCommand.help(cite: cite, history: history.path))
                case let .cite(on):
                    if let on { cite = on }
                    io.err("citations \(cite ? "on" : "off")\n")
                case .clear: io.err("\u{1B}[H\u{1B}[2J")
                case let .invalid(reason): io.err(Printable.line(reason + "\n"))
                }
            }
        }
    }

    /// Answers `line`, stopping at Ctrl-C; an error is reported in one line and the session goes on.
    private func ask(_ line: String) {
        _ = Interrupt.take()
        do {
            try answer(line, cite) { Interrupt.isPending }
        } catch let e as LHError {
            io.err(Printable.line("lhindex: \(e.description)\n"))
        } catch {
            io.err(Printable.line("lhindex: \(error)\n"))
        }
        _ = Interrupt.take()
    }
}
