// Reading the interactive session's lines through libedit: editing keys, history recall, Ctrl-C and Ctrl-D.
import CEdit
import LHCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A prompt with line editing and history (libedit, emacs keys unless `~/.editrc` says otherwise), on the
/// terminal of standard input; the prompt and the editing are drawn on standard error.
final class LineEditor {
    /// What one `read` returned.
    enum Input: Equatable {
        /// A line (without its newline), entered with Return.
        case line(String)
        /// Ctrl-C: the line being edited was dropped.
        case interrupted
        /// Ctrl-D on an empty line, or the end of the input.
        case end
    }

    private let editor: OpaquePointer
    private let recall: OpaquePointer
    private let prompt: UnsafeMutablePointer<CChar>
    private let history: PromptHistory
    /// The last line entered, which the same line again does not repeat in the history.
    private var previous: String?

    /// Starts an editor showing `prompt`, its history loaded from `history`'s file.
    /// - Throws: `LHError.invalidInput` when libedit cannot start (no terminal description, out of memory).
    init(prompt: String, history: PromptHistory) throws {
        guard let el = lh_el_init("lhindex"), let h = history_init() else {
            throw LHError.invalidInput("the line editor (libedit) could not start on this terminal")
        }
        editor = el
        recall = h
        self.prompt = strdup(prompt)
        self.history = history
        lh_history_set_size(h, Int32(history.limit))
        lh_history_set_unique(h, 1)
        for line in history.entries { lh_history_enter(h, line) }
        previous = history.entries.last
        lh_el_set_editor(el, "emacs")
        lh_el_set_signal(el, 0)     // SIGINT is Interrupt's; libedit would re-raise it to the whole process group
        lh_el_set_history(el, h)
        lh_el_set_prompt(el, self.prompt)
        el_source(el, nil)          // ~/.editrc, as every libedit program
    }

    deinit {
        el_end(editor)              // puts the terminal back as it found it
        history_end(recall)
        free(prompt)
    }

    /// Reads one line. A non-empty line, unless the same as the previous one, is entered into the history and appended to the history file at once.
    /// Ctrl-C works only while `Interrupt` is installed with `interruptingReads`.
    func read() -> Input {
        var count: Int32 = 0
        guard let raw = el_gets(editor, &count) else {
            if count < 0 && errno == EINTR { return .interrupted }
            return .end
        }
        var line = String(cString: raw)
        if line.hasSuffix("\n") { line.removeLast() }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty && line != previous {
            lh_history_enter(recall, line)
            history.append(line)
            previous = line
        }
        return .line(line)
    }
}
