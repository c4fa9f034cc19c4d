// The attention mass a traced query gave each chunk, as citations read it: template prefix and question left out.
import XCTest
@testable import LHEngine
import LHModel

final class AttentionTraceTests: XCTestCase {
    typealias T = LongHeadsTinyModelTests

    /// Runs 300 tokens (the question from 280) tracing position 283 with `skipped` rows of chunk 0 left out.
    func trace(skipped: Int) throws -> LongHeadsAttention {
        let lh = try LongHeadsAttention(model: T.model, settings: T.settings(.block))
        lh.questionStart = 280
        lh.traceSkippedRows = skipped
        lh.tracePosition = 283
        _ = ForwardPass(model: T.model, batchSize: 64).run(T.tokens(300, seed: 6), cache: lh, logitRows: [])
        return lh
    }

    /// The traced chunks are the selection then the query's own chunk 17 (it holds document rows 272 ..< 280);
    /// every mass lies in [0, 1] and they sum to less than 1 (the question's rows take the rest); leaving out
    /// rows of chunk 0 lowers its mass and no other.
    func testMassCoversTheDocumentRowsOfTheWindow() throws {
        let all = try trace(skipped: 0), skipped = try trace(skipped: 8)
        let own = 283 / 16
        for l in 0..<T.model.config.layerCount {
            for h in 0..<T.model.config.headCount {
                let sel = try XCTUnwrap(all.tracedSelections[l][h]), chunks = try XCTUnwrap(all.tracedMassChunks[l][h])
                XCTAssertEqual(chunks, sel + [own])
                let mass = try XCTUnwrap(all.tracedAttentionMass[l][h]), less = try XCTUnwrap(skipped.tracedAttentionMass[l][h])
                XCTAssertEqual(mass.count, chunks.count)
                XCTAssertTrue(mass.allSatisfy { $0 >= 0 && $0 <= 1 })
                XCTAssertLessThan(mass.reduce(0, +), 1)
                XCTAssertEqual(chunks.first, 0, "chunk 0 is the sink, always selected")
                XCTAssertLessThan(less[0], mass[0], "layer \(l) head \(h)")
                XCTAssertEqual(Array(less.dropFirst()), Array(mass.dropFirst()))
            }
        }
    }

    /// A query whose own chunk holds only question tokens (chunk 18 from 288) traces the selection alone.
    func testOwnChunkOfQuestionTokensIsNotTraced() throws {
        let lh = try LongHeadsAttention(model: T.model, settings: T.settings(.block))
        lh.questionStart = 288
        lh.tracePosition = 295
        _ = ForwardPass(model: T.model, batchSize: 64).run(T.tokens(300, seed: 6), cache: lh, logitRows: [])
        XCTAssertNotNil(lh.tracedSelections[0][0])
        XCTAssertEqual(lh.tracedMassChunks[0][0], lh.tracedSelections[0][0])
        XCTAssertEqual(lh.tracedAttentionMass[0][0]?.count, lh.tracedSelections[0][0]?.count)
    }
}
