// Shared helpers of the store tests: the tiny model as a LanguageModel, temporary directories, settings.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

enum StoreFixture {
    static let modelPath = try! TinyModel.write(seed: 11)
    static let languageModel = try! LanguageModel(path: modelPath)
    static let identity = ModelFingerprint.identity(of: languageModel)

    /// Small settings; representative keys kept so the store tests cover reps.f32 (the default keeps none).
    static func settings(w: Int = 16, a: Int = 64, precision: KVPrecision = .f16, granularity: SelectionGranularity = .block) -> LongHeadsSettings {
        LongHeadsSettings(chunkSize: w, attentionLength: a, granularity: granularity, precision: precision, representatives: 4)
    }

    static func tempDir() -> String {
        let d = TestTemporary.path("lhstore")
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Deterministic text of about `bytes` bytes (the tiny model spells every byte as one token).
    static func text(bytes: Int, seed: UInt64 = 1) -> String {
        var rng = SplitMix64(seed: seed)
        let words = ["alpha", "beta", "gamma", "delta", "pass", "key", "river", "stone", "light", "north", "<|im_end|>"]
        var s = ""
        var line = 0
        while s.utf8.count < bytes {
            s += words[Int(rng.next() % UInt64(words.count))]
            line += 1
            s += line % 9 == 0 ? "\n" : " "
        }
        return String(s.prefix(bytes))
    }

    static func builder(_ s: LongHeadsSettings, batch: Int = 64) throws -> IndexBuilder {
        try IndexBuilder(languageModel: languageModel, model: identity, settings: s, batchTokens: batch)
    }
}
