// Re-reading: the chunks a question attended to most, as text to read again inside the model's trained context.
import LHCore

extension IndexReader {
    /// Marks text left out between two re-read chunks that are not adjacent in one document.
    static let rereadGap = "\n\n[...]\n\n"

    /// The source text of corpus chunks `chunks`, in corpus order (document, then chunk): chunks that follow
    /// each other in one document are joined as they stand, others separated by `rereadGap`.
    func rereadText(chunks: [Int]) throws -> String {
        var pieces: [String] = []
        var previous: (document: Int, byteEnd: Int)?
        var sources: [Int: [UInt8]] = [:]
        for c in chunks.sorted() {
            guard let (i, _, span) = documentChunk(c) else { continue }
            if sources[i] == nil { sources[i] = try documents[i].source() }
            let src = sources[i]!, range = span.byteRange(inSourceOf: src.count)
            let text = String(decoding: src[range], as: UTF8.self)
            if let p = previous, p.document == i, p.byteEnd == range.lowerBound {
                pieces[pieces.count - 1] += text
            } else {
                pieces.append(text)
            }
            previous = (i, range.upperBound)
        }
        return pieces.joined(separator: Self.rereadGap)
    }
}
