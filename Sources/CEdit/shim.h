// Shim for the CEdit system library (libedit, BSD licensed): line editing and history for `lhindex ask`.
// el_set, el_get and history are C variadic functions, which Swift cannot call: the wrappers below fix
// their arguments, one per operation lhindex uses.
#include <stdio.h>
#include <histedit.h>

/// An editor reading the terminal of standard input, drawing the prompt and the line on standard error.
static inline EditLine *lh_el_init(const char *prog) { return el_init(prog, stdin, stderr, stderr); }

/// The prompt is the string stored as the editor's client data (see lh_el_set_prompt).
static inline char *lh_el_client_prompt(EditLine *el) {
    void *prompt = NULL;
    el_get(el, EL_CLIENTDATA, &prompt);
    return prompt ? (char *)prompt : (char *)"";
}

/// Shows `prompt` (kept alive by the caller) before every line.
static inline int lh_el_set_prompt(EditLine *el, char *prompt) {
    el_set(el, EL_CLIENTDATA, (void *)prompt);
    return el_set(el, EL_PROMPT, lh_el_client_prompt);
}

/// Selects the key bindings: "emacs" or "vi".
static inline int lh_el_set_editor(EditLine *el, const char *name) { return el_set(el, EL_EDITOR, name); }

/// Lets the editor's history keys (up, down, Ctrl-R) walk `h`.
static inline int lh_el_set_history(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }

/// Whether libedit handles signals itself (lhindex does: off).
static inline int lh_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }

/// Keeps at most `n` entries in `h`.
static inline int lh_history_set_size(History *h, int n) { HistEvent ev; return history(h, &ev, H_SETSIZE, n); }

/// Does not enter a line equal to the previous one.
static inline int lh_history_set_unique(History *h, int on) { HistEvent ev; return history(h, &ev, H_SETUNIQUE, on); }

/// Appends `line` to `h`.
static inline int lh_history_enter(History *h, const char *line) { HistEvent ev; return history(h, &ev, H_ENTER, line); }
