// A small command-line parser in the shape of swift-argument-parser: declared options, parsed values, usage errors.

/// A command-line usage mistake; the CLI prints it with a hint and exits 64 (EX_USAGE).
public struct UsageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Where a command's help shows an option.
public enum OptionGroup: Sendable {
    /// Under OPTIONS.
    case general
    /// Under DOCUMENT SETTINGS: how a document is read, stored in its index.
    case document
    /// Under QUESTION SETTINGS: how questions and answers read an index.
    case question
    /// Not on the command's help screen: listed by `lhindex help settings`, accepted all the same.
    case advanced
}

/// One option a command accepts.
public struct OptionSpec: Sendable {
    /// Long name without dashes (`temp`), and optional short letter (`n`).
    public let long: String
    public let short: Character?
    /// Name of the value in help (`N`), or nil for a flag.
    public let valueName: String?
    /// One sentence of help, stating the default.
    public let help: String
    /// Where help shows it.
    public let group: OptionGroup
    /// A flag that may be followed by a whole number (`--cite`, `--cite 5`, `--cite=5`): the number is its value.
    public let optionalCount: Bool

    public init(_ long: String, short: Character? = nil, value: String? = nil, help: String, group: OptionGroup = .general,
                optionalCount: Bool = false) {
        self.long = long
        self.short = short
        valueName = value
        self.help = help
        self.group = group
        self.optionalCount = optionalCount
    }

    /// The same option shown in `group` instead.
    public func grouped(_ group: OptionGroup) -> OptionSpec {
        OptionSpec(long, short: short, value: valueName, help: help, group: group, optionalCount: optionalCount)
    }
}

/// Parsed arguments: option values by long name, flags, and positional arguments in order.
public struct ParsedArguments {
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positional: [String] = []

    /// Parses `args` against `specs`. `--` ends options. `-n5`, `--n=5` and `-n 5` are accepted.
    public init(_ args: [String], specs: [OptionSpec]) throws {
        var i = 0
        var optionsEnded = false
        while i < args.count {
            let a = args[i]
            i += 1
            if optionsEnded || a == "-" || !a.hasPrefix("-") || Double(a) != nil {
                positional.append(a)
                continue
            }
            if a == "--" { optionsEnded = true; continue }
            var name: String
            var inline: String? = nil
            let spec: OptionSpec?
            if a.hasPrefix("--") {
                name = String(a.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                spec = specs.first { $0.long == name }
            } else {
                let letter = a[a.index(after: a.startIndex)]
                spec = specs.first { $0.short == letter }
                if a.count > 2 { inline = String(a.dropFirst(2)) }
                name = String(letter)
            }
            guard let spec else { throw UsageError("unknown option '\(a)'") }
            if spec.valueName != nil {
                let value: String
                if let inline { value = inline } else {
                    guard i < args.count else { throw UsageError("option '\(a)' needs a value (\(spec.valueName!))") }
                    value = args[i]
                    i += 1
                }
                values[spec.long, default: []].append(value)
            } else if spec.optionalCount {
                flags.insert(spec.long)
                if let inline {
                    values[spec.long, default: []].append(inline)
                } else if i < args.count, !args[i].isEmpty, args[i].allSatisfy(\.isASCII), UInt(args[i]) != nil {
                    values[spec.long, default: []].append(args[i])
                    i += 1
                }
            } else {
                guard inline == nil else { throw UsageError("option '--\(spec.long)' takes no value") }
                flags.insert(spec.long)
            }
        }
    }

    /// The last value given for an option.
    public func string(_ long: String) -> String? { values[long]?.last }

    /// An integer option within `range`, or `defaultValue` when absent.
    public func int(_ long: String, default defaultValue: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let s = string(long) else { return defaultValue }
        guard let v = Int(s), range.contains(v) else {
            throw UsageError("--\(long) must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(s)'")
        }
        return v
    }

    /// A floating-point option within `range`, or `defaultValue` when absent.
    public func float(_ long: String, default defaultValue: Float, in range: ClosedRange<Float>) throws -> Float {
        guard let s = string(long) else { return defaultValue }
        guard let v = Float(s), range.contains(v) else {
            throw UsageError("--\(long) must be a number in \(range.lowerBound)...\(range.upperBound), got '\(s)'")
        }
        return v
    }

    /// Whether a flag was given.
    public func flag(_ long: String) -> Bool { flags.contains(long) }
}
