// Models with one damaged hyperparameter or token id are refused in one line naming the file and the key.
import Foundation
import XCTest
import LHTestSupport

final class BrokenModelTests: XCTestCase {
    func testOutOfBoundsHyperparametersAreOneLineErrorsNamingTheKey() throws {
        let byte = TinyModel.byteToUnicode().map { String($0) }
        let cases: [(String, GGUFWriter.Value, String)] = [
            ("llama.block_count", .u32(1 << 31), "llama.block_count is 2147483648, expected 1...1024"),
            ("llama.block_count", .u32(0), "llama.block_count is 0, expected 1...1024"),
            ("llama.context_length", .u32(0xFFFF_FFFF), "llama.context_length is 4294967295, expected 1...16777216"),
            ("llama.embedding_length", .u32(0xFFFF_FFFF), "llama.embedding_length is 4294967295, expected 1...65536"),
            ("llama.attention.head_count_kv", .u32(0), "llama.attention.head_count_kv is 0, expected 1...1024"),
            ("llama.feed_forward_length", .i32(-96), "llama.feed_forward_length is -96, expected 1...1048576"),
            ("llama.rope.freq_base", .f32(.nan), "llama.rope.freq_base is nan, expected a number in (1, 1e12]"),
            ("llama.rope.freq_base", .f32(-10000), "llama.rope.freq_base is -10000.0, expected a number in (1, 1e12]"),
            ("llama.attention.layer_norm_rms_epsilon", .f32(.nan), "llama.attention.layer_norm_rms_epsilon is nan, expected a number in (0, 1]"),
            ("llama.attention.layer_norm_rms_epsilon", .f32(-1e-5), "llama.attention.layer_norm_rms_epsilon is -1e-05, expected a number in (0, 1]"),
            ("llama.attention.layer_norm_rms_epsilon", .f32(.infinity), "llama.attention.layer_norm_rms_epsilon is inf, expected a number in (0, 1]"),
            ("llama.rope.freq_base", .string("ten thousand"), "llama.rope.freq_base is not a number"),
            ("tokenizer.ggml.eos_token_id", .u32(9999), "tokenizer.ggml.eos_token_id is 9999, expected a token id in 0..<258"),
            ("tokenizer.ggml.bos_token_id", .i32(-1), "tokenizer.ggml.bos_token_id is -1, expected a token id in 0..<258"),
            // One token more than the embedding has rows: its id would read past token_embd.weight.
            ("tokenizer.ggml.tokens", .strings(byte + ["<|im_start|>", "<|im_end|>", "<|extra|>"]),
             "tokenizer.ggml.tokens has 259 tokens, expected at most the 258 rows of token_embd.weight"),
        ]
        for (key, value, message) in cases {
            var overrides = [key: value]
            if key == "tokenizer.ggml.tokens" { overrides["tokenizer.ggml.token_type"] = .i32s([Int32](repeating: 1, count: 256) + [3, 3, 3]) }
            let path = try TinyModel.write(overrides: overrides)
            let r = try BinaryRunner.run(["generate", "-m", path, "-p", "abc", "-n", "2"], timeout: 60)
            XCTAssertFalse(r.timedOut, key)
            XCTAssertEqual(r.status, 1, "\(key): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("lhindex: \(path): ") && r.err.contains(message), "\(key): \(r.err)")
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, r.err)
        }
    }
}
