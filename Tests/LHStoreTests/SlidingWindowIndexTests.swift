// Indexes of a model whose layers differ (a tiny Gemma 3: two sliding-window layers, one full-attention layer):
// only the full-attention layer is stored, an interrupted build resumes to the same bundle, and a question
// continues the document's sliding windows.
import Foundation
import XCTest
import LHCore
import LHEngine
import LHModel
import LHTestSupport
@testable import LHStore

final class SlidingWindowIndexTests: XCTestCase {
    static let languageModel = try! LanguageModel(path: try! TinyArchitecture.gemma3.write())
    let text = StoreFixture.text(bytes: 700, seed: 5)

    private func builder() throws -> IndexBuilder {
        try IndexBuilder(languageModel: Self.languageModel, model: ModelFingerprint.identity(of: Self.languageModel),
                         settings: LongHeadsSettings(chunkSize: 16, attentionLength: 64), batchTokens: 64)
    }

    private func files(_ bundle: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: bundle) where name != BundleFormat.database {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + name))
        }
        return out
    }

    func testInterruptedBuildResumesToTheSameBundleAndAnswer() throws {
        let dir = StoreFixture.tempDir()
        let whole = dir + "/whole.lhx", resumed = dir + "/resumed.lhx"
        guard case .built = try builder().build(text: text, sourcePath: "doc.txt", bundle: whole) else { return XCTFail() }
        let first = try builder().build(text: text, sourcePath: "doc.txt", bundle: resumed) { $0.doneTokens < 300 }
        guard case .interrupted(let done) = first else { return XCTFail("\(first)") }
        let partial = try FileManager.default.contentsOfDirectory(atPath: resumed + ".partial")
        XCTAssertEqual(partial.filter { $0.hasPrefix("window-") }, [BundleFormat.windowCheckpoint(tokens: done)])
        guard case .built(_, done, _) = try builder().build(text: text, sourcePath: "doc.txt", bundle: resumed) else { return XCTFail() }
        XCTAssertEqual(try files(resumed), try files(whole), "same files, byte for byte, and no checkpoint left")
        XCTAssertTrue(IndexVerifier.verify(directory: resumed).ok, "\(IndexVerifier.verify(directory: resumed).problems)")

        let a = try IndexReader(directory: whole, languageModel: Self.languageModel)
        XCTAssertEqual(a.metadata.layout.layers, 1)
        let b = try IndexReader(directory: resumed, languageModel: Self.languageModel)
        let q = "pass key?"
        let answerA = try a.ask(q, maxTokens: 12).answer
        XCTAssertEqual(answerA, try b.ask(q, maxTokens: 12).answer)
        XCTAssertEqual(answerA, try a.ask(q, maxTokens: 12).answer, "a second question starts from the document again")
    }

    /// A damaged checkpoint inside the partial restarts the build rather than continuing from wrong windows.
    func testMissingCheckpointRestartsTheBuild() throws {
        let bundle = StoreFixture.tempDir() + "/doc.lhx"
        guard case .interrupted(let done) = try builder().build(text: text, sourcePath: "doc.txt", bundle: bundle, progress: { $0.doneTokens < 300 })
        else { return XCTFail() }
        unlink(bundle + ".partial/" + BundleFormat.windowCheckpoint(tokens: done))
        let b = try builder()
        var notes: [String] = []
        b.note = { notes.append($0) }
        guard case .built(_, 0, _) = try b.build(text: text, sourcePath: "doc.txt", bundle: bundle) else { return XCTFail("\(notes)") }
        XCTAssertEqual(notes.count, 1, "\(notes)")
    }
}
