// The command line as shell completion sees it, derived from the commands' own option specs and usage lines.
import Foundation

/// What a word on the command line can be: the suggestions a shell should offer for it.
enum CompletionValue: Equatable {
    /// Nothing to suggest (a number, a prompt, a free-form value).
    case anything
    /// Any file or directory path.
    case file
    /// A directory path.
    case directory
    /// A model: a name from `lhindex models` or a .gguf path.
    case model
    /// One of a fixed set of words.
    case choices([String])

    /// The kind of value an option's value name (`FILE`, `DIR`, `MODEL`, `token|block`, `N`) stands for.
    static func forValueName(_ name: String) -> CompletionValue {
        if name == "MODEL" { return .model }
        if name == "DIR" { return .directory }
        if name.contains("|") { return .choices(name.split(separator: "|").map(String.init)) }
        let pathLike = ["FILE", "PATH", "DOC", "INDEX"]
        if pathLike.contains(where: { name.hasPrefix($0) }) || name.hasSuffix(".lhx") || name.hasSuffix(".json") { return .file }
        return .anything
    }

    /// The kind of the positional arguments a usage line (`INDEX... [QUESTION...]`, `passkey|needle [...]`) starts
    /// with, or nil when the command takes options only.
    static func forUsage(_ usage: String) -> CompletionValue? {
        guard let first = usage.split(separator: " ").first.map(String.init) else { return nil }
        let word = first.hasSuffix("...") ? String(first.dropLast(3)) : first
        guard let initial = word.first, initial.isLetter else { return nil }
        if initial.isLowercase { return .choices(word.split(separator: "|").map(String.init)) }
        return forValueName(word) == .anything ? .file : forValueName(word)
    }
}

/// One option as completion offers it.
struct CompletionOption {
    /// Long name without dashes, and optional short letter.
    let long: String
    let short: Character?
    /// The help sentence shortened to a phrase for a completion menu.
    let summary: String
    /// What its value can be, or nil for a flag.
    let value: CompletionValue?
    /// Name of the value in help (`N`), or nil for a flag.
    let valueName: String?

    init(_ spec: OptionSpec) {
        long = spec.long
        short = spec.short
        summary = CompletionOption.phrase(spec.help)
        valueName = spec.valueName
        value = spec.valueName.map(CompletionValue.forValueName)
    }

    /// The words that name the option: `--long` and, when it has one, `-s`.
    var words: [String] { ["--" + long] + (short.map { ["-" + String($0)] } ?? []) }

    /// The beginning of `help` up to its first clause break, without a final period, for one-line menus.
    static func phrase(_ help: String) -> String {
        var text = help
        for stop in [". ", "; ", " (", ": "] {
            if let r = text.range(of: stop) { text = String(text[..<r.lowerBound]) }
        }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

/// One subcommand as completion offers it.
struct CompletionSubcommand {
    let name: String
    let abstract: String
    /// Its options, `--help` included.
    let options: [CompletionOption]
    /// What its positional arguments can be, or nil when it takes none.
    let positional: CompletionValue?
}

/// The whole command line for completion scripts: every subcommand of `LHIndexCLI.commands`, and `help`.
enum CompletionModel {
    /// The option every command accepts.
    static let helpOption = OptionSpec("help", short: "h", help: "Show this help.")

    /// The subcommands in the order of `lhindex --help`, then `help`.
    static var commands: [CompletionSubcommand] {
        var list: [CompletionSubcommand] = []
        for c in LHIndexCLI.commands {
            // The options its help screen lists (advanced settings are accepted but not offered).
            let options = HelpLayout.visible(c.options).map { CompletionOption($0) }
            list.append(CompletionSubcommand(name: c.name, abstract: c.abstract, options: options,
                                             positional: CompletionValue.forUsage(c.usage)))
        }
        let names = list.map { $0.name }
        list.append(CompletionSubcommand(name: "help", abstract: "Show the help of a command.", options: [], positional: .choices(names + [SettingsHelp.topic])))
        return list
    }

    /// Names of the models `-m` accepts without a path, the default first.
    static var knownModelNames: [String] { KnownModel.all.map(\.name) }

    /// File names of the known models inside the cache (listed by their short names instead).
    static var knownModelFiles: [String] { KnownModel.all.map(\.file) }
}
