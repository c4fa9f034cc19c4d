// Ctrl-C in an interactive session: a SIGINT handler that only raises a flag, which the answer loop and the
// line editor look at, instead of the default action of ending the process.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The SIGINT flag of an interactive session. `install` replaces the default action (the process ends) by
/// raising `pending`; `restore` puts the default back.
enum Interrupt {
    /// Set by the handler, cleared by `take`.
    private static let pending = Atomic<Bool>(false)

    /// Handles SIGINT by raising the flag. With `interruptingReads`, a blocking read (the line editor's)
    /// fails with EINTR, so Ctrl-C at the prompt returns from it; without, system calls restart, so Ctrl-C
    /// during an answer disturbs no file or terminal I/O.
    static func install(interruptingReads: Bool) {
        _ = pending.load(ordering: .relaxed)    // initialise the flag before the handler can run
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupt.pending.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = interruptingReads ? 0 : SA_RESTART
        sigaction(SIGINT, &action, nil)
    }

    /// Gives SIGINT back its default action.
    static func restore() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
    }

    /// Whether Ctrl-C was pressed since the last `take`, clearing the flag.
    static func take() -> Bool { pending.exchange(false, ordering: .relaxed) }

    /// Whether Ctrl-C was pressed since the last `take`, leaving the flag as it is.
    static var isPending: Bool { pending.load(ordering: .relaxed) }
}
