// Every command's --json speaks one key style: snake_case (CommandJSON).
import Foundation
import LHTestSupport
import XCTest

final class JSONStyleTests: XCTestCase {
    /// Every key of `value` (objects inside arrays and objects too), with its path.
    private func keys(_ value: Any, path: String = "") -> [String] {
        if let o = value as? [String: Any] {
            return o.flatMap { k, v in [path + k] + keys(v, path: path + k + ".") }
        }
        if let a = value as? [Any] { return a.flatMap { keys($0, path: path) } }
        return []
    }

    private func assertSnakeCase(_ output: String, _ command: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let lines = output.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty, "\(command) printed nothing", file: file, line: line)
        for l in lines {
            let object = try JSONSerialization.jsonObject(with: Data(l.utf8))
            let bad = keys(object).filter { $0.split(separator: ".").last!.contains { $0.isUppercase } }
            XCTAssertTrue(bad.isEmpty, "\(command): keys not in snake_case: \(bad)", file: file, line: line)
        }
    }

    func testEveryCommandsJSONUsesSnakeCase() throws {
        let tiny = try TinyModel.write()
        let dir = TestTemporary.path("json")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try String(repeating: "The stone lies by the river. ", count: 40).write(toFile: dir + "/a.txt", atomically: true, encoding: .utf8)
        let small = ["--chunk-size", "16", "--attn-length", "64"]
        XCTAssertEqual(try BinaryRunner.run(["build", dir, "-m", tiny, "-o", dir + ".lhindex"] + small).status, 0)
        let bundle = dir + ".lhindex/a.txt.lhx"
        let runs: [(String, [String])] = [
            ("build", ["build", dir, "-m", tiny, "-o", dir + ".lhindex", "--force", "--json"] + small),
            ("ask", ["ask", bundle, "-m", tiny, "-n", "3", "--json", "--cite", "--cite-min", "0", "Where is the stone?"]),
            ("info", ["info", bundle, "--json"]),
            ("perplexity", ["perplexity", dir + "/a.txt", "-m", tiny, "--ctx", "64", "--json"]),
            ("bench", ["bench", "-m", tiny, "--prompt", "16", "--gen", "2", "--repeat", "1", "--json"]),
            ("models", ["models", "--json"]),
        ]
        for (name, args) in runs {
            let r = try BinaryRunner.run(args)
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
            try assertSnakeCase(r.out, name)
        }
        // The scalar kernels through the command line, named in the report.
        let scalar = try BinaryRunner.run(["bench", "-m", tiny, "--prompt", "16", "--gen", "2", "--repeat", "1", "--simd", "scalar", "--json"])
        XCTAssertEqual(scalar.status, 0, scalar.err)
        XCTAssertTrue(scalar.out.contains("\"simd\":\"scalar\""), scalar.out)
        let ask = try BinaryRunner.run(runs.first { $0.0 == "ask" }!.1)
        XCTAssertTrue(ask.out.contains("\"first_line\""), ask.out)      // a citation's fields, not only the top level
    }
}
