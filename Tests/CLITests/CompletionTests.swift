// `lhindex completion` and `lhindex manpage` end to end: the scripts name every command and option, the shells
// accept them, bash and fish really complete, the man page formats without warnings, `make install` installs all.
import Foundation
import XCTest
import LHTestSupport

final class CompletionTests: XCTestCase {
    /// Every subcommand, as `lhindex --help` lists them.
    static let commands = ["build", "ask", "info", "models", "verify", "generate", "perplexity", "eval", "bench", "trace",
                           "completion", "manpage"]

    /// Runs `executable` (a path, or a name looked up in PATH) with `args` in `directory`, returning status and output.
    func runTool(_ executable: String, _ args: [String], directory: String? = nil, environment: [String: String] = [:],
                 timeout: Double = 60) throws -> BinaryRun {
        try BinaryRunner.run(executable: URL(fileURLWithPath: "/usr/bin/env"), [executable] + args, directory: directory,
                             environment: environment, timeout: timeout)
    }

    /// Whether `name` is a program in PATH (`which`).
    func installed(_ name: String) throws -> Bool { try runTool("which", [name]).status == 0 }

    /// The script `lhindex completion shell` prints, written to a temporary file; fails the test unless it exits 0.
    func script(_ shell: String) throws -> (text: String, path: String) {
        let r = try BinaryRunner.run(["completion", shell])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
        let path = TestTemporary.path("lhindex.\(shell)")
        try r.out.write(toFile: path, atomically: true, encoding: .utf8)
        return (r.out, path)
    }

    /// The options of `command` as its help screen lists them: (long, short letter or nil).
    func helpOptions(_ command: String) throws -> [(long: String, short: String?)] {
        let help = try BinaryRunner.run(["help", command]).out
        let pattern = try NSRegularExpression(pattern: #"^  (?:-(\w), |    )--([\w-]+)"#, options: [.anchorsMatchLines])
        return pattern.matches(in: help, range: NSRange(help.startIndex..., in: help)).map { m in
            let short = Range(m.range(at: 1), in: help).map { String(help[$0]) }
            return (String(help[Range(m.range(at: 2), in: help)!]), short)
        }
    }

    func testEveryScriptNamesEveryCommandAndTheOptionsOfAskAndBuild() throws {
        for shell in ["bash", "zsh", "fish"] {
            let text = try script(shell).text
            for c in Self.commands { XCTAssertTrue(text.contains(c), "\(shell): \(c)") }
            for command in ["ask", "build"] {
                let options = try helpOptions(command)
                XCTAssertGreaterThan(options.count, 5, command)
                for o in options {
                    let long = shell == "fish" ? "-l \(o.long)" : "--\(o.long)"
                    XCTAssertTrue(text.contains(long), "\(shell) \(command): \(long)")
                    if let s = o.short {
                        let short = shell == "fish" ? "-s \(s)" : "-\(s)"
                        XCTAssertTrue(text.contains(short), "\(shell) \(command): \(short)")
                    }
                }
            }
        }
    }

    func testUnknownOrMissingShellIsAUsageErrorNamingTheShells() throws {
        for args in [["completion", "tcsh"], ["completion"], ["completion", "bash", "zsh"]] {
            let r = try BinaryRunner.run(args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertEqual(r.out, "")
            for shell in ["bash", "zsh", "fish"] { XCTAssertTrue(r.err.contains(shell), "\(args): \(r.err)") }
        }
    }

    func testNewHelpScreensFitEightyColumns() throws {
        for args in [["help", "completion"], ["help", "manpage"], ["--help"]] {
            let r = try BinaryRunner.run(args)
            XCTAssertEqual(r.status, 0, "\(args)")
            XCTAssertEqual(r.out.split(separator: "\n").filter { $0.count > 80 }, [], "\(args)")
        }
    }

    func testBashAcceptsItsScript() throws {
        let r = try runTool("bash", ["-n", try script("bash").path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
    }

    func testZshAcceptsItsScript() throws {
        guard try installed("zsh") else { throw XCTSkip("zsh is not installed") }
        let r = try runTool("zsh", ["-n", try script("zsh").path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "")
    }

    func testFishAcceptsItsScriptAndCompletes() throws {
        guard try installed("fish") else { throw XCTSkip("fish is not installed") }
        let path = try script("fish").path
        let check = try runTool("fish", ["--no-execute", path])
        XCTAssertEqual(check.status, 0, check.err)
        XCTAssertEqual(check.err, "")
        let cases: [(line: String, expected: String)] = [("lhindex as", "ask"), ("lhindex ask --ci", "--cite"),
                                                          ("lhindex ask -m smol", "smollm2-135m"), ("lhindex completion fi", "fish")]
        for c in cases {
            let r = try runTool("fish", ["--no-config", "-c", "source \(path); complete -C '\(c.line)'"],
                                environment: ["LHINDEX_HOME": TestTemporary.path("empty-home")])
            XCTAssertEqual(r.status, 0, r.err)
            let words = r.out.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
            XCTAssertEqual(words, [c.expected], c.line)
        }
    }

    /// What bash's completion offers for the words of `line` (a trailing space starts an empty word), run in
    /// `directory` with `LHINDEX_HOME` set to `home`.
    func bashCompletions(_ line: String, script: String, directory: String, home: String) throws -> [String] {
        var words = line.split(separator: " ").map(String.init)
        if line.hasSuffix(" ") { words.append("") }
        let array = words.map { "'" + $0 + "'" }.joined(separator: " ")
        let code = "source '\(script)'; COMP_WORDS=(\(array)); COMP_CWORD=\(words.count - 1); _lhindex; printf '%s\\n' \"${COMPREPLY[@]}\""
        let r = try runTool("bash", ["--norc", "--noprofile", "-c", code], directory: directory, environment: ["LHINDEX_HOME": home])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.err, "", line)
        return r.out.split(separator: "\n").map(String.init).sorted()
    }

    func testBashCompletesCommandsOptionsFilesAndModels() throws {
        let path = try script("bash").path
        let directory = TestTemporary.path("completion-cwd")
        try FileManager.default.createDirectory(atPath: directory + "/corpus", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/notes.txt", contents: Data()))
        let home = TestTemporary.path("completion-home")
        try FileManager.default.createDirectory(atPath: home + "/models", withIntermediateDirectories: true)
        for file in ["my-model.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: home + "/models/" + file, contents: Data()))
        }
        let cases: [(line: String, expected: [String])] = [
            ("lhindex as", ["ask"]),
            ("lhindex ", (Self.commands + ["help", "--help", "--version"]).sorted()),
            ("lhindex ask --ci", ["--cite"]),
            ("lhindex ask -", try helpOptions("ask").flatMap { ["--" + $0.long] + ($0.short.map { ["-" + $0] } ?? []) }.sorted()),
            ("lhindex ask no", ["notes.txt"]),
            ("lhindex build -o c", ["corpus"]),
            ("lhindex build -o n", []),
            ("lhindex ask -n ", []),
            ("lhindex build --kv i", ["int8"]),
            ("lhindex ask -m ", ["corpus", "gemma3-270m", "my-model", "notes.txt", "smollm2-135m"]),
            ("lhindex ask --model = m", ["my-model"]),
            ("lhindex completion ", ["bash", "fish", "zsh"]),
            ("lhindex help per", ["perplexity"]),
            ("lhindex eval ", ["keys", "needle", "nolima", "passkey", "values", "vars"]),
            ("lhindex eval v", ["values", "vars"]),
            ("lhindex models ", []),
        ]
        for c in cases {
            XCTAssertEqual(try bashCompletions(c.line, script: path, directory: directory, home: home), c.expected, c.line)
        }
    }

    func testManPageFormatsWithoutWarningsAndDescribesEveryCommand() throws {
        let r = try BinaryRunner.run(["manpage"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix(".\\\""), r.out)
        for c in Self.commands { XCTAssertTrue(r.out.contains(".SS \(c)\n"), c) }
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "FILES", "EXIT STATUS"] {
            XCTAssertTrue(r.out.contains(".SH \(section)\n"), section)
        }
        for word in ["LHINDEX_HOME", "LHINDEX_MODEL", "64"] { XCTAssertTrue(r.out.contains(word), word) }
        guard try installed("groff") else { throw XCTSkip("groff is not installed") }
        let page = TestTemporary.path("lhindex.1")
        try r.out.write(toFile: page, atomically: true, encoding: .utf8)
        let formatted = try runTool("groff", ["-man", "-Tutf8", "-ww", page], environment: ["LC_ALL": "C.UTF-8"])
        XCTAssertEqual(formatted.status, 0, formatted.err)
        XCTAssertEqual(formatted.err, "")
        // Bold and underlined words are overstruck (a character, a backspace, the character again).
        let plain = formatted.out.replacingOccurrences(of: ".\u{8}", with: "", options: .regularExpression)
            .replacingOccurrences(of: " +", with: " ", options: .regularExpression)
        for c in Self.commands { XCTAssertTrue(plain.contains("lhindex \(c)"), c) }
        if try installed("man") {
            let man = try runTool("man", ["--warnings", "-l", page], environment: ["MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"])
            XCTAssertEqual(man.status, 0, man.err)
            XCTAssertEqual(man.err, "")
        }
    }

    /// `make install PREFIX=...` builds (the same flags as the test build, so it finds nothing to do; --ignore-lock
    /// because `swift test` holds the build directory's lock) and installs the five files; `make uninstall` removes them.
    func testMakeInstallInstallsBinaryManPageAndCompletions() throws {
        guard try installed("make") else { throw XCTSkip("make is not installed") }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL.path
        let prefix = TestTemporary.path("prefix")
        let flags = "INSTALL_BUILD_FLAGS=-Xswiftc -enable-testing --ignore-lock"
        let install = try runTool("make", ["-C", source, "install", "PREFIX=\(prefix)", flags], timeout: 1800)
        XCTAssertEqual(install.status, 0, install.out + install.err)
        let files = ["bin/lhindex", "share/man/man1/lhindex.1", "share/bash-completion/completions/lhindex",
                     "share/zsh/site-functions/_lhindex", "share/fish/vendor_completions.d/lhindex.fish"]
        for f in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: prefix + "/" + f))?[.size] as? Int ?? 0
            XCTAssertGreaterThan(size, 0, f)
        }
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: prefix + "/bin/lhindex"))
        XCTAssertEqual(try String(contentsOfFile: prefix + "/share/bash-completion/completions/lhindex", encoding: .utf8),
                       try BinaryRunner.run(["completion", "bash"]).out)
        XCTAssertEqual(try runTool(prefix + "/bin/lhindex", ["--version"]).status, 0)
        let uninstall = try runTool("make", ["-C", source, "uninstall", "PREFIX=\(prefix)"])
        XCTAssertEqual(uninstall.status, 0, uninstall.out + uninstall.err)
        for f in files { XCTAssertFalse(FileManager.default.fileExists(atPath: prefix + "/" + f), f) }
    }
}
