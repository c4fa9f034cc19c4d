// Checks the chunk table read from index.sqlite before anything indexes the source text with its byte ranges.
import LHCore

extension ChunkSpan {
    /// Checks every row of a chunk table read from disk against the document it describes: one row per
    /// chunk in order, token ranges `[c·w, min(N, (c+1)·w))`, byte ranges `0 ≤ byte_start ≤ byte_end ≤
    /// source bytes` that never go backwards, and 1-based line numbers that never go backwards.
    /// - Throws: `LHError.badFile` naming `path` and the first bad row.
    public static func validate(_ chunks: [ChunkSpan], tokens n: Int, chunkSize w: Int, sourceBytes: Int, path: String) throws {
        let expected = w > 0 ? (n + w - 1) / w : 0
        guard chunks.count == expected else {
            throw LHError.badFile(path: path, reason: "the chunk table has \(chunks.count) rows, expected \(expected) for \(n) tokens in chunks of \(w)")
        }
        var previous = ChunkSpan(chunk: -1, tokenStart: 0, tokenEnd: 0, byteStart: 0, byteEnd: 0, firstLine: 1)
        for (i, c) in chunks.enumerated() {
            func bad(_ what: String) -> LHError { .badFile(path: path, reason: "chunk table row \(i) \(what)") }
            guard c.chunk == i else { throw bad("is numbered \(c.chunk)") }
            let start = i * w, end = min(n, start + w)
            guard c.tokenStart == start, c.tokenEnd == end else {
                throw bad("has token range \(c.tokenStart)..<\(c.tokenEnd), expected \(start)..<\(end)")
            }
            guard c.byteStart >= previous.byteStart, c.byteStart <= c.byteEnd, c.byteEnd <= sourceBytes else {
                throw bad("has byte range \(c.byteStart)..<\(c.byteEnd), outside the \(sourceBytes)-byte source or out of order")
            }
            guard c.firstLine >= previous.firstLine, c.firstLine <= sourceBytes + 1 else {
                throw bad("has first line \(c.firstLine), expected \(previous.firstLine)...\(sourceBytes + 1)")
            }
            previous = c
        }
    }
}
