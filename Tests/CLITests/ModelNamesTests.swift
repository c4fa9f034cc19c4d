// `lhindex models` and `-m NAME`: known models and files in the cache are found by name; unknown names and known
// models not yet fetched get one line saying what to do.
import Foundation
import LHTestSupport
import XCTest

final class ModelNamesTests: XCTestCase {
    /// A fresh LHINDEX_HOME whose model cache holds the tiny model as `mine.gguf`.
    private func home() throws -> (env: [String: String], path: String) {
        let home = TestTemporary.path("home")
        try FileManager.default.createDirectory(atPath: home + "/models", withIntermediateDirectories: true)
        let file = home + "/models/mine.gguf"
        try FileManager.default.copyItem(atPath: try TinyModel.write(), toPath: file)
        return (["LHINDEX_HOME": home, "LHINDEX_MODEL": ""], file)
    }

    func testModelsListsKnownAndCachedModels() throws {
        let (env, _) = try home()
        let r = try BinaryRunner.run(["models"], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("smollm2-135m") && r.out.contains("make model MODEL=gemma3-270m"), r.out)
        XCTAssertTrue(r.out.contains("mine") && r.out.contains("llama"), r.out)
        let json = try BinaryRunner.run(["models", "--json"], environment: env)
        let rows = json.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(rows.count, 3, json.out)
        XCTAssertEqual(rows.first { $0["name"] as? String == "mine" }?["cached"] as? Bool, true)
    }

    func testModelOptionTakesACachedFileByName() throws {
        let (env, _) = try home()
        for name in ["mine", "mine.gguf"] {
            let r = try BinaryRunner.run(["generate", "-m", name, "-p", "ab", "-n", "2"], environment: env)
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
        }
    }

    func testUnknownAndUnfetchedNamesSayWhatToDo() throws {
        let (env, _) = try home()
        let unknown = try BinaryRunner.run(["generate", "-m", "nosuch", "-p", "ab"], environment: env)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(unknown.err, "lhindex: no model file or known model called 'nosuch' (known: smollm2-135m, gemma3-270m; 'lhindex models' lists the cache)\n")
        let unfetched = try BinaryRunner.run(["generate", "-m", "gemma3-270m", "-p", "ab"], environment: env)
        XCTAssertEqual(unfetched.status, 1)
        XCTAssertTrue(unfetched.err.contains("fetch it with 'make model MODEL=gemma3-270m'"), unfetched.err)
        XCTAssertEqual(unfetched.err.filter { $0 == "\n" }.count, 1, unfetched.err)
    }
}
