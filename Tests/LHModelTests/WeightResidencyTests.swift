// Model weights held in a huge-page copy: the same bytes as the mapped file, chosen by size and environment.
import XCTest
@testable import LHModel
import LHCore
import LHTestSupport

final class WeightResidencyTests: XCTestCase {
    func testHugePageCopyHoldsTheFileBytes() throws {
        let path = try TinyModel.write()
        let mapped = try GGUFFile(path: path, residency: .mapped)
        let copied = try GGUFFile(path: path, residency: .hugePageCopy)
        XCTAssertNotEqual(mapped.file.base, copied.file.base)
        XCTAssertEqual([mapped.file.residency.name, copied.file.residency.name], ["mapped", "huge-pages"])
        XCTAssertEqual(mapped.file.count, copied.file.count)
        XCTAssertEqual(mapped.tensors.count, copied.tensors.count)
        for t in mapped.tensors {
            let a = UnsafeRawBufferPointer(start: mapped.data(t), count: t.byteCount)
            let b = UnsafeRawBufferPointer(start: copied.data(t), count: t.byteCount)
            XCTAssertTrue(a.elementsEqual(b), "tensor \(t.name) differs in the copy")
        }
    }

    func testCopiedModelGivesTheMappedModelsLogits() throws {
        let path = try TinyModel.write(seed: 11)
        func logits(_ residency: MappedFile.Residency) throws -> [Float] {
            let model = try LlamaModel(gguf: try GGUFFile(path: path, residency: residency))
            return ForwardPass(model: model).runLast([1, 5, 9, 3], cache: model.makeDenseCache())
        }
        XCTAssertEqual(try logits(.mapped), try logits(.hugePageCopy))
    }

    func testChoiceFollowsSizeAndEnvironment() {
        XCTAssertEqual(WeightResidency.preferred(fileBytes: 1 << 20, environment: [:]), .mapped, "small files stay mapped")
        XCTAssertEqual(WeightResidency.preferred(fileBytes: 1 << 50, environment: [:]), .mapped, "larger than memory")
        XCTAssertEqual(WeightResidency.preferred(fileBytes: 100 << 20, environment: [:]),
                       WeightResidency.transparentHugePagesAvailable ? .hugePageCopy : .mapped)
        XCTAssertEqual(WeightResidency.preferred(fileBytes: 100 << 20, environment: ["LHINDEX_WEIGHTS": "map"]), .mapped)
        XCTAssertEqual(WeightResidency.preferred(fileBytes: 1 << 20, environment: ["LHINDEX_WEIGHTS": "copy"]), .hugePageCopy)
    }

    func testMissingFileNamesTheCall() {
        XCTAssertThrowsError(try MappedFile(path: "/nonexistent/weights.gguf", residency: .hugePageCopy)) { e in
            XCTAssertEqual("\(e)", "/nonexistent/weights.gguf: No such file or directory (open)")
        }
    }
}
