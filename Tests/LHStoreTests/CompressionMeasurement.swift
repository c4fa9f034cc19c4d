// Measures frame compression choices (byte shuffling, zstd level) on real keys and values; runs only with LHINDEX_MEASURE=TOKENS.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class CompressionMeasurement: XCTestCase {
    /// `LHINDEX_MEASURE=8192 swift test -c release --filter CompressionMeasurement` prints bytes per token;
    /// `LHINDEX_MEASURE_KV=int8` (or f32) measures another precision than f16.
    func testMeasureShuffleAndLevel() throws {
        guard let n = ProcessInfo.processInfo.environment["LHINDEX_MEASURE"].flatMap(Int.init) else {
            throw XCTSkip("set LHINDEX_MEASURE=TOKENS to measure")
        }
        let lm = try LanguageModel(path: try TestPaths.requireModel())
        var text = ""
        for f in ["GPL-3", "GPL-2", "LGPL-2.1", "Apache-2.0", "MPL-2.0", "GFDL-1.3", "Artistic", "LGPL-3", "GPL-1", "MPL-1.1"] {
            text += (try? String(contentsOfFile: "/usr/share/common-licenses/" + f, encoding: .utf8)) ?? ""
        }
        var tokens = lm.encode(lm.chatTemplate.userPrefix()) + lm.tokenizer.encode(text, parseSpecial: false)
        while tokens.count < n { tokens += tokens }
        tokens = Array(tokens.prefix(n))
        var settings = LongHeadsSettings()
        if let p = ProcessInfo.processInfo.environment["LHINDEX_MEASURE_KV"] {
            guard let v = KVPrecision(rawValue: p) else { throw LHError.invalidInput("LHINDEX_MEASURE_KV must be f16, f32 or int8, got '\(p)'") }
            settings.precision = v
        }
        let lh = try LongHeadsAttention(model: lm.model, settings: settings)
        let lay = lh.store.layout, chunks = n / lay.chunkSize
        // The prefilled blocks are kept in /tmp between runs: (L, G, chunks) blocks of layout.blockBytes.
        let sample = "/tmp/lhx-kv-sample-\(n)-\(settings.precision.rawValue).bin"
        var blocks: [UInt8]
        if let d = FileManager.default.contents(atPath: sample) { blocks = [UInt8](d) } else {
            let t0 = Date()
            _ = ForwardPass(model: lm.model).run(tokens, cache: lh, logitRows: [])
            print("prefill \(n) tokens: \(Date().timeIntervalSince(t0)) s")
            blocks = []
            for l in 0..<lay.layers { for g in 0..<lay.kvHeads { for c in 0..<chunks {
                blocks += Array(lh.store.rawBlock(layer: l, kvHead: g, chunk: c))
            } } }
            FileManager.default.createFile(atPath: sample, contents: Data(blocks))
        }
        for (level, shuffle) in [(1, false), (1, true), (3, false), (3, true), (9, true)] {
            let codec = FrameCodec(settings: FrameCodecSettings(level: Int32(level), shuffle: shuffle), sections: lay.sections, maxPayload: lay.blockBytes)
            var total = 0
            var compressTime = 0.0, decompressTime = 0.0
            var back = [UInt8](repeating: 0, count: lay.blockBytes)
            for l in 0..<lay.layers { for g in 0..<lay.kvHeads { for c in 0..<chunks {
                let i = (l * lay.kvHeads + g) * chunks + c
                let a = Date()
                let f = try blocks.withUnsafeBytes { try codec.compress(UnsafeRawBufferPointer(rebasing: $0[(i * lay.blockBytes)..<((i + 1) * lay.blockBytes)])) }
                let b = Date()
                try f.withUnsafeBytes { fr in try back.withUnsafeMutableBytes { try codec.decompress(fr, into: $0, path: "x") } }
                decompressTime += Date().timeIntervalSince(b)
                compressTime += b.timeIntervalSince(a)
                total += f.count
            } } }
            let rawBytes = Double(lay.layers * lay.kvHeads * chunks * lay.blockBytes)
            print(String(format: "level %d shuffle %@: %.0f bytes/token (raw %.0f), ratio %.3f, compress %.0f MB/s, decompress %.0f MB/s",
                         level, shuffle ? "on " : "off", Double(total) / Double(chunks * lay.chunkSize),
                         rawBytes / Double(chunks * lay.chunkSize), Double(total) / rawBytes,
                         rawBytes / compressTime / 1e6, rawBytes / decompressTime / 1e6))
        }
    }
}
