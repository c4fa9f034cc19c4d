// SpecialTokenMatcher's one-pass partition against llama.cpp's algorithm as written (kept here as the reference).
import Foundation
import XCTest
@testable import LHModel
import LHTestSupport
#if canImport(Glibc)
import Glibc
#endif

extension SpecialTokenMatcher {
    /// Offset of the first occurrence of `needle` in `bytes[from..<to]` (memchr for its first byte,
    /// then memcmp; Glibc's memmem is not visible to Swift).
    static func findForTesting(_ needle: UnsafeBufferPointer<UInt8>, in bytes: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let n = needle.count
        let first = Int32(needle[0])
        var p = from
        while to - p >= n {
            guard let hit = memchr(bytes + p, first, to - p - n + 1) else { return nil }
            let m = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - bytes
            if memcmp(bytes + m, needle.baseAddress!, n) == 0 { return m }
            p = m + 1
        }
        return nil
    }

    /// Fragments of `bytes[0..<count]`, by llama.cpp's algorithm as written: one scan of the
    /// remaining fragments per special token.
    func partitionByScanning(_ bytes: UnsafePointer<UInt8>, count: Int, parseSpecial: Bool) -> [Fragment] {
        guard count > 0 else { return [] }
        var fragments: [Fragment] = [.text(start: 0, end: count)]
        for k in ids.indices {
            if !parseSpecial && onlyWhenParsingSpecial[k] { continue }
            let needle = texts[k]
            guard !needle.isEmpty else { continue }
            var out: [Fragment] = []
            var changed = false
            needle.withUnsafeBufferPointer { nb in
                for f in fragments {
                    guard case let .text(start, end) = f else { out.append(f); continue }
                    var p = start
                    while p < end, let m = SpecialTokenMatcher.findForTesting(nb, in: bytes, from: p, to: end) {
                        if m > p { out.append(.text(start: p, end: m)) }
                        out.append(.token(ids[k]))
                        p = m + nb.count
                        changed = true
                    }
                    if p < end { out.append(.text(start: p, end: end)) }
                }
            }
            if changed { fragments = out }
        }
        return fragments
    }
}

final class SpecialTokenMatcherTokenizerTests: XCTestCase {
    private func check(_ m: SpecialTokenMatcher, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            for parseSpecial in [false, true] {
                XCTAssertEqual(m.partition(base, count: b.count, parseSpecial: parseSpecial),
                               m.partitionByScanning(base, count: b.count, parseSpecial: parseSpecial),
                               "\(text.debugDescription) parse_special \(parseSpecial)", file: file, line: line)
            }
        }
    }

    /// Random overlapping token sets (control and user-defined) on random texts.
    func testOnePassPartitionMatchesScanning() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "b", "c", "<", ">", " "]
        func word(_ n: Int) -> String { String((0..<n).map { _ in alphabet.randomElement(using: &rng)! }) }
        for _ in 0..<300 {
            var texts = (0..<20).map { _ in word(Int.random(in: 1...3, using: &rng)) }
            var attrs = (0..<20).map { _ in [TokenAttr.normal, .control, .userDefined, .unknown].randomElement(using: &rng)! }
            texts.append("ab"); attrs.append(.control)
            texts.append("bcd"); attrs.append(.userDefined)
            let m = SpecialTokenMatcher(texts: texts, attrs: attrs)
            for _ in 0..<20 { check(m, word(Int.random(in: 0...40, using: &rng))) }
            check(m, "abcd abcd ababab bcbcbcd")
        }
    }

    /// Gemma 3's 6,414 special tokens on HTML, chat markup and whitespace runs; and the speed of 1 MB of HTML.
    func testGemma3Partition() throws {
        let t = try GoldenTokenizers.tokenizer(at: try TestPaths.requireGemma3())
        let m = t.matcherForTesting
        let unit = "<div class=\"a\"><p>Hello <b>world</b>\n\n\t\t<start_of_turn>user  <unused12><end_of_turn>   </p><br/></div>\n"
        check(m, String(repeating: unit, count: 20))
        let big = String(repeating: unit, count: 1_000_000 / unit.utf8.count)
        for parseSpecial in [false, true] {
            let start = Date()
            let n = t.encode(big, parseSpecial: parseSpecial).count
            print(String(format: "gemma3 encode, 1 MB of HTML (parse_special %@): %d tokens in %.3f s",
                         parseSpecial ? "on" : "off", n, Date().timeIntervalSince(start)))
        }
    }
}
