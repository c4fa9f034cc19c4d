// `lhindex eval keys|values|vars|nolima`: the haystack tasks, one index per document, one question per fact.
import Foundation
import LHCore
import LHEngine
import LHEval
import LHModel
import LHStore

extension EvalCommand {
    /// Runs `kind` for every length and document, each configuration over the same documents.
    func runHaystack(_ kind: HaystackKind, languageModel lm: LanguageModel, configurations: [SweepConfiguration],
                     _ io: TerminalIO) throws -> Int32 {
        let fillerText: HaystackFiller = filler == "text"
            ? .text(try TextFile.read(textPath ?? ModelLocator.home + "/texts/" + LongText.fileName)) : .passkey
        let modelTag = String(ModelFingerprint.fingerprint(lm.model.gguf.file).prefix(12))
        let evaluation = HaystackEvaluation(languageModel: lm, sampling: SamplingOptions(temperature: 0, repeatPenalty: repeatPenalty),
                                            workDirectory: work ?? ModelLocator.home + "/eval-indexes/" + modelTag,
                                            answerTokens: answerTokens)
        evaluation.note = { io.err($0) }
        let trialFile = try trialsOut.map(Self.appendHandle)
        let enc = CommandJSON.encoder()
        let trained = lm.model.config.contextLength
        var table = AccuracyTable(configurations: configurations.map(\.name))
        for length in lengths {
            for t in 0..<trials {
                let s = seed + t
                let document = HaystackTask.document(kind: kind, filler: fillerText, length: length, seed: s, tokenizer: lm.tokenizer)
                for c in configurations where length <= c.maxLength && (c.mode != .dense || length <= trained) {
                    _ = try evaluation.run(document, length: length, seed: s, configuration: c) { r in
                        io.err(String(format: "%@ %@ %d seed %d: %@ (depth %.2f) -> %@ %@\n", r.configuration, r.task, r.length, r.seed,
                                      r.question, r.depth, r.answer.debugDescription, r.correct ? "OK" : "MISS"))
                        Self.keep(r, in: &table, file: trialFile, encoder: enc)
                    }
                }
            }
        }
        return try printTable(table, io)
    }
}
