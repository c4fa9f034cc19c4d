// The first lines of `lhindex build`: what is built where, with which model and settings, in words.
import Foundation
import LHEngine
import LHModel
import LHStore

/// Plain-language descriptions for build output.
enum BuildHeader {
    /// `n` with thousands separators: 2048 → "2,048".
    static func number(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// llama.cpp's names of the `general.file_type` values: the weight type most tensors use.
    static let fileTypes: [Int: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
                                           10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
                                           16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"]

    /// A readable model name: a known model's own ("SmolLM2 135M Instruct (Q4_1)", recognised by its sha256),
    /// else the file's `general.name` with its weight type, else the file name.
    static func modelName(identity: ModelIdentity, gguf: GGUFFile) -> String {
        if let known = KnownModel.all.first(where: { $0.sha256 == identity.sha256 }) {
            let parts = known.summary.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count > 1 ? "\(parts[0]) (\(parts[1]))" : parts[0]
        }
        let type = gguf.int(GGUFKey.fileType).flatMap { fileTypes[$0] }
        return identity.name + (type.map { " (\($0))" } ?? "")
    }

    /// How keys and values are stored, in words.
    static func precision(_ p: KVPrecision) -> String {
        switch p {
        case .f16: return "keys/values f16"
        case .f32: return "keys/values f32"
        case .int8: return "keys/values 8-bit"
        case .k8v4: return "keys 8-bit, values 4-bit"
        case .k5v4: return "keys in 40 levels per channel, values 4-bit"
        case .k4v4: return "keys in 16 levels per channel, values 4-bit"
        }
    }

    /// One line: model, chunk size, window sizes and key/value precision.
    static func settingsLine(model: String, settings s: LongHeadsSettings) -> String {
        "model \(model) · " + settingsWords(s)
    }

    /// Chunk size, window sizes and key/value precision: "chunks of 256 tokens · window 2,048 (questions 8,192) · keys in 40 levels per channel, values 4-bit" (k5v4).
    static func settingsWords(_ s: LongHeadsSettings) -> String {
        var window = "window \(number(s.attentionLength))"
        let answers = s.answerSlots * s.chunkSize
        if s.questionAttentionLength != s.attentionLength || answers != s.questionAttentionLength {
            window += " (questions \(number(s.questionAttentionLength))" + (answers != s.questionAttentionLength ? ", answers \(number(answers)))" : ")")
        }
        return "chunks of \(number(s.chunkSize)) tokens · \(window) · \(precision(s.precision))"
    }

    /// "building 5 documents into corpus.lhindex" (or "into 2 directories").
    static func countLine(documents: Int, outputs: [String]) -> String {
        let what = documents == 1 ? "1 document" : "\(number(documents)) documents"
        let into = outputs.count == 1 ? outputs[0] : "\(outputs.count) directories"
        return "building \(what) into \(into)"
    }
}
