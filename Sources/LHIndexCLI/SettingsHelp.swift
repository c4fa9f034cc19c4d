// `lhindex help settings`: every LongHeads setting with its meaning, the advanced ones included.

/// The help topic that lists the settings the commands' help screens leave out.
enum SettingsHelp {
    /// The topic's name after `lhindex help`.
    static let topic = "settings"

    /// One line for the root help's list.
    static let abstract = "Every LongHeads setting, the advanced ones included, with its meaning."

    static let introduction = """
    lhindex reads a long document in chunks: every attention head of the model reads only the few chunks
    most relevant to it, within a window no longer than the model was trained on. The defaults were
    chosen by measurement; the settings below change them, mostly for experiments.

    Document settings decide how 'lhindex build' reads a document and are stored in its index (changing
    one rebuilds the index). Question settings decide how questions and answers read it: 'lhindex ask'
    takes them and needs no rebuild; given to 'lhindex build', they become the index's defaults. The
    research commands (perplexity, eval, bench, trace) take both kinds. 'lhindex info INDEX' shows the
    settings an index was built with.
    """

    /// The screen, wrapped to `width` columns.
    static func text(width: Int = HelpLayout.width) -> String {
        var s = HelpLayout.wrap("lhindex help settings: " + abstract, width: width) + "\n\n"
        s += HelpLayout.reflow(introduction, width: width) + "\n"
        for (heading, specs) in sections {
            s += "\n" + heading + "\n"
            for o in specs { s += HelpLayout.option(o, width: width) }
        }
        return s
    }

    /// The settings under their headings.
    static var sections: [(heading: String, specs: [OptionSpec])] {
        [("DOCUMENT SETTINGS (build):", LongHeadsOptions.documentSpecs),
         ("QUESTION SETTINGS (ask; build stores them as the index's defaults):", LongHeadsOptions.questionSpecs)]
    }
}
