// Gemma 3 270M (Q4_K_M: Q4_K, Q6_K, Q5_0, Q8_0 weights; SentencePiece vocabulary; sliding-window layers) against
// llama.cpp: teacher-forced log-probabilities of greedy continuations and perplexity (Fixtures/golden, made by
// scripts/greedy-golden.py and scripts/perplexity-golden.py).
import Foundation
import XCTest
@testable import LHModel
import LHCore
import LHTestSupport

final class GemmaModelTests: XCTestCase {
    nonisolated(unsafe) static var shared: LanguageModel?
    func languageModel() throws -> LanguageModel {
        if let lm = Self.shared { return lm }
        let lm = try LanguageModel(path: try TestPaths.requireGemma3())
        Self.shared = lm
        return lm
    }

    func goldens() throws -> [GoldenGreedy] {
        let text = try String(contentsOf: TestPaths.fixtureGolden.appendingPathComponent("gemma3-270m-greedy.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(GoldenGreedy.self, from: Data($0.utf8)) }
    }

    /// Tolerance on a log-probability, and the top-1 margin above which the golden token must rank first. Wider
    /// than the default model's 0.3: llama.cpp rounds Gemma's activations to 8 bits in every product (one scale
    /// per 256 values for the K-quants), lhindex only in decode (one per 32), and Gemma's activations are large
    /// (embeddings times √640). Measured on the code prompt: batched steps within 0.21 of llama.cpp, decode steps
    /// within 0.12 but the last (0.44, where llama.cpp's margin is 0.81 and lhindex's own batched and
    /// token-by-token runs differ by 0.23 from each other); all prompts pass at 0.5 / 0.9.
    static let tolerance = 0.5, rankMargin = 0.9

    func testTeacherForcedLogProbabilitiesMatchLlamaCpp() throws {
        let lm = try languageModel()
        let vocab = lm.model.config.vocabularySize
        for g in try goldens() {
            XCTAssertEqual(lm.encodeOpening(g.prompt), g.prompt_tokens, "tokens of '\(g.prompt.prefix(20))'")
            let input = g.prompt_tokens + g.steps.dropLast().map(\.token)
            let rows = Array((g.prompt_tokens.count - 1)..<input.count)
            let logits = ForwardPass(model: lm.model).run(input, cache: lm.model.makeDenseCache(), logitRows: rows)
            g.check(logits: logits, vocab: vocab, path: "batched", tolerance: Self.tolerance, rankMargin: Self.rankMargin)
        }
        // Token by token (the decode kernels), prompt included, on the first two prompts. The prompt goes one token
        // at a time too: the code prompt's last step is ill-conditioned under decode's 8-bit activations, and after
        // a batched prompt it moved with the rounding of the batch's products (measured on the AVX-512 Xeon: −0.36
        // to +0.06 from llama.cpp's log-probability with AVX2 tiles, −0.89 to −0.01 with AVX-512 tiles, by where
        // the prompt was split into batches; −0.05 token by token on both paths, which give identical results there).
        for g in try goldens().prefix(2) {
            let forward = ForwardPass(model: lm.model)
            let cache = lm.model.makeDenseCache()
            var logits: [Float] = []
            for token in g.prompt_tokens { logits = forward.runLast([token], cache: cache) }
            for step in g.steps.dropLast() { logits += forward.runLast([step.token], cache: cache) }
            g.check(logits: logits, vocab: vocab, path: "decode", tolerance: Self.tolerance, rankMargin: Self.rankMargin)
        }
    }

    struct PerplexityGolden: Decodable { let n_ctx: Int; let tokens: Int; let perplexity: Double }

    /// Within 1% of llama.cpp's perplexity on the same text and windows (BOS at the start of every window).
    func testPerplexityMatchesLlamaCpp() throws {
        let lm = try languageModel()
        let golden = try JSONDecoder().decode(PerplexityGolden.self,
                                              from: Data(contentsOf: TestPaths.fixtureGolden.appendingPathComponent("gemma3-270m.json")))
        let text = try String(contentsOf: TestPaths.golden.appendingPathComponent("ppl_text.txt"), encoding: .utf8)
        let bos = try XCTUnwrap(lm.tokenizer.bosToken)
        XCTAssertTrue(lm.tokenizer.addsBOS)
        let tokens = [bos] + lm.tokenizer.encode(text, parseSpecial: false)
        XCTAssertEqual(tokens.count, golden.tokens)
        let r = try Perplexity.evaluate(model: lm.model, tokens: tokens, context: golden.n_ctx, bos: bos,
                                        makeCache: { lm.model.makeDenseCache() })
        print("gemma3-270m perplexity ctx \(golden.n_ctx): \(r.perplexity) (llama.cpp \(golden.perplexity)), \(Int(r.tokensPerSecond)) tok/s")
        XCTAssertEqual(r.perplexity, golden.perplexity, accuracy: golden.perplexity * 0.01)
    }
}
