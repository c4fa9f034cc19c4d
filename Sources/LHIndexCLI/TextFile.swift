// Reading user text files with clear errors for missing, binary or non-UTF-8 input.
import Foundation
import LHCore

/// Validated reading of plain-text input files.
public enum TextFile {
    /// The contents of `path` as a String.
    /// - Throws: `LHError` if the file is missing, unreadable, empty, binary (contains NUL) or not UTF-8.
    public static func read(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.count)
        guard file.count > 0 else { throw LHError.badFile(path: path, reason: "the file is empty") }
        if bytes.contains(0) { throw LHError.badFile(path: path, reason: "binary file (contains NUL bytes), expected UTF-8 text") }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw LHError.badFile(path: path, reason: "not valid UTF-8 text")
        }
        return s
    }
}
