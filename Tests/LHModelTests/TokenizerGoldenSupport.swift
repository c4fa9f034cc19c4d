// Shared by the vocabulary golden tests: llama-cpp-python's goldens (Fixtures/golden/tokenizer) and
// llama.cpp's own test cases (ggml-vocab-*.gguf.inp/.out), checked against a Tokenizer.
import Foundation
import XCTest
@testable import LHModel
import LHTestSupport

/// One vocabulary's goldens, as scripts/tokenizer-goldens.py writes them.
struct TokenizerGoldenFile: Decodable {
    struct Case: Decodable {
        let text: String
        let add_special: Bool
        let parse_special: Bool
        let ids: [Int32]
    }
    struct Decode: Decodable {
        let ids: [Int32]
        let bytes_hex: String
    }
    let vocab: String
    let n_vocab: Int
    let cases: [Case]
    let decode: [Decode]

    static func load(_ name: String) throws -> TokenizerGoldenFile {
        let url = TestPaths.tokenizerGoldens.appendingPathComponent(name + ".json")
        return try JSONDecoder().decode(TokenizerGoldenFile.self, from: Data(contentsOf: url))
    }
}

/// Loaded tokenizers, one per file for the whole test run.
enum GoldenTokenizers {
    nonisolated(unsafe) private static var loaded: [String: Tokenizer] = [:]
    private static let lock = NSLock()

    static func tokenizer(at path: String) throws -> Tokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = loaded[path] { return t }
        let t = try Tokenizer(gguf: GGUFFile(path: path, metadataOnly: true))
        loaded[path] = t
        return t
    }
}

extension XCTestCase {
    /// Every golden case tokenizes to llama.cpp's ids; every golden decode gives its bytes.
    /// Prints and returns the number of distinct strings and of cases checked.
    @discardableResult
    func checkGoldens(_ t: Tokenizer, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let g = try TokenizerGoldenFile.load(name)
        XCTAssertEqual(t.vocabularySize, g.n_vocab, file: file, line: line)
        var failures = 0
        for c in g.cases {
            let got = t.encode(c.text, addSpecial: c.add_special, parseSpecial: c.parse_special)
            if got != c.ids {
                failures += 1
                if failures <= 10 {
                    XCTFail("\(name) add_special=\(c.add_special) parse_special=\(c.parse_special) \(c.text.debugDescription):\n got  \(got)\n want \(c.ids)",
                            file: file, line: line)
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(g.cases.count) golden cases differ", file: file, line: line)
        for d in g.decode {
            var bytes: [UInt8] = []
            for t0 in d.ids { bytes += t.tokenBytes(t0) }
            XCTAssertEqual(hex(bytes), d.bytes_hex, "\(name): decode of \(d.ids.prefix(12))...", file: file, line: line)
            XCTAssertEqual(t.decode(d.ids), String(decoding: bytes, as: UTF8.self), file: file, line: line)
        }
        let strings = Set(g.cases.map(\.text)).count
        print("\(name): \(strings) distinct golden strings, \(g.cases.count) cases, \(g.decode.count) decodes")
        return strings
    }

    /// llama.cpp's own test strings (`<vocab>.inp`) tokenize to its expected ids (`<vocab>.out`),
    /// without special tokens and without parsing them, as test-tokenizer-0 does. Returns the count.
    @discardableResult
    func checkLlamaCppCases(_ t: Tokenizer, _ vocabFile: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let inp = try String(contentsOfFile: try TestPaths.requireVocab(vocabFile + ".inp"), encoding: .utf8)
        let out = try String(contentsOfFile: try TestPaths.requireVocab(vocabFile + ".out"), encoding: .utf8)
        var inputs: [String] = []
        var rest = Substring(inp)
        let sep = "\n__ggml_vocab_test__\n"
        while !rest.isEmpty {
            guard let r = rest.range(of: sep) else { inputs.append(String(rest)); break }
            inputs.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        let outputs = out.split(separator: "\n", omittingEmptySubsequences: false).dropLast(out.hasSuffix("\n") ? 1 : 0)
            .map { $0.split(separator: " ").map { Int32($0)! } }
        XCTAssertEqual(inputs.count, outputs.count, "\(vocabFile): .inp and .out disagree on the number of tests", file: file, line: line)
        for (text, want) in zip(inputs, outputs) {
            XCTAssertEqual(t.encode(text, addSpecial: false, parseSpecial: false), want, "\(vocabFile): \(text.debugDescription)", file: file, line: line)
        }
        return inputs.count
    }

    /// Decoding the tokens of `text` gives `text` back (`expected` when the tokenizer adds a space prefix),
    /// and streaming the tokens gives the same text.
    func checkRoundTrip(_ t: Tokenizer, _ text: String, expected: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let tokens = t.encode(text, parseSpecial: true)
        XCTAssertEqual(t.decode(tokens), expected ?? text, file: file, line: line)
        var d = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for tok in tokens { streamed += d.append(tok) }
        streamed += d.finish()
        XCTAssertEqual(streamed, expected ?? text, file: file, line: line)
    }

    private func hex(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for x in b { s.append(digits[Int(x >> 4)]); s.append(digits[Int(x & 15)]) }
        return s
    }
}
