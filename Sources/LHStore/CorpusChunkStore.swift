// Several separately built documents as one sequence of chunks, so one head's window can hold chunks of any of them.
import LHCore
import LHEngine
import LHModel

/// The chunks of a corpus's documents laid end to end (DESIGN §10): document i's chunk j is corpus chunk
/// `firstChunks[i] + j`. Keys are stored at in-chunk positions, so a chunk means the same wherever a
/// window places it. Every document but the last is sealed: its partial last chunk is a past chunk of
/// fewer than w tokens (`validRows`), given summaries and key bounds when the corpus opens. Every document
/// but the first opens with the chat template's prefix, its own attention sink while it was prefilled;
/// those rows are hidden (`validRows`) and its first chunk's key bounds taken over the rest, or the other
/// documents' sinks would soak up the question's attention (measured: a pass key lost that the corpus
/// finds without them). Question tokens continue the last document, as they would a single one.
/// Representative keys and summaries of a first chunk still include the hidden rows.
///
/// Summaries, key bounds and representative keys are copied into tables of the whole corpus (the scorers
/// read them as one array per head), so they take memory in proportion to the corpus's chunks, as the
/// mapped files of one document of that length would.
public final class CorpusChunkStore: ChunkStore, @unchecked Sendable {
    public let layout: ChunkLayout
    /// The documents' stores in corpus order; all but the last are sealed.
    public let documents: [FileChunkStore]
    /// Corpus chunk index of each document's chunk 0.
    public let firstChunks: [Int]
    /// Tokens in the corpus: the chunks before the last document, then its tokens.
    public let tokens: Int
    private let lastStart: Int                          // firstChunks.last
    private let documentRows: Int                        // table rows the documents fill: lastStart + the last's complete chunks
    private let owner: [Int32]                           // (lastStart) document of each chunk before the last document
    private let rows: [Int32]                            // (lastStart) tokens of each chunk before the last document
    private let hiddenRows: [Int]                        // per document: template-prefix rows hidden in its chunk 0
    private var capacity = 0
    private var summaryRows: [UnsafeMutablePointer<Float>] = []   // per (layer, head): (capacity, d)
    private var boundRows: [UnsafeMutablePointer<Float>] = []     // per (layer, KV head): (capacity, 2·d)
    private var repRows: [UnsafeMutablePointer<Float>] = []       // per (layer, KV head): (capacity, r·d); empty when r = 0

    /// Lays `documents` (all sealed but the last, same layout) end to end. `openChunks[i]` is document i's
    /// open-chunk state (tail.zst), from which its short last chunk gets summaries; `prefixTokens[i]` its
    /// template prefix's tokens (hidden for every document but the first).
    /// - Throws: `LHError.invalidInput` when the stores do not fit together.
    public init(documents: [FileChunkStore], openChunks: [OpenChunkState], prefixTokens: [Int], model: LlamaModel) throws {
        guard let last = documents.last, documents.count == openChunks.count, documents.count == prefixTokens.count else {
            throw LHError.invalidInput("a corpus needs at least one document")
        }
        let layout = last.layout, w = layout.chunkSize
        guard documents.allSatisfy({ $0.layout == layout }), documents.dropLast().allSatisfy(\.sealed), !last.sealed else {
            throw LHError.invalidInput("the documents of a corpus must share one layout, and only the last may be open")
        }
        self.layout = layout
        self.documents = documents
        var first: [Int] = [], owner: [Int32] = [], rows: [Int32] = []
        for (i, d) in documents.enumerated() {
            first.append(owner.count)
            guard i < documents.count - 1 else { break }
            let h = d.seekHeader
            for c in 0..<h.chunks {
                owner.append(Int32(i))
                rows.append(Int32(min(w, h.tokens - c * w)))
            }
        }
        firstChunks = first
        lastStart = first.last!
        self.owner = owner
        self.rows = rows
        hiddenRows = prefixTokens.enumerated().map { $0.offset == 0 ? 0 : min($0.element, w) }
        tokens = lastStart * w + last.seekHeader.tokens
        documentRows = lastStart + last.seekHeader.tokens / w
        try grow(to: BundleFormat.rowCapacity(documentChunks: documentRows))
        // The documents' own rows, then summaries and bounds for the short last chunks of the sealed ones.
        let d = layout.headDimension, r = layout.representatives
        for (i, doc) in documents.enumerated() {
            let complete = doc.seekHeader.tokens / w, at = firstChunks[i]
            for l in 0..<layout.layers {
                for h in 0..<layout.heads {
                    (summaryRows[l * layout.heads + h] + at * d).update(from: doc.summaries(layer: l, head: h), count: complete * d)
                }
                for g in 0..<layout.kvHeads {
                    (boundRows[l * layout.kvHeads + g] + at * 2 * d).update(from: doc.keyBounds(layer: l, kvHead: g), count: complete * 2 * d)
                    if r > 0 {
                        (repRows[l * layout.kvHeads + g] + at * r * d).update(from: doc.representatives(layer: l, kvHead: g), count: complete * r * d)
                    }
                }
            }
            if doc.sealed, openChunks[i].rows > 0 {
                try ShortChunkSummaries.write(store: self, chunk: at + complete, state: openChunks[i], model: model)
            }
            if hiddenRows[i] > 0 { boundsOverValidRows(chunk: at) }
        }
        if let e = takeError() { throw e }
    }

    /// Replaces the key bounds of `chunk` by those of its valid rows.
    private func boundsOverValidRows(chunk: Int) {
        let d = layout.headDimension, valid = validRows(chunk: chunk)
        guard !valid.isEmpty else { return }
        var scratch = [Float](repeating: 0, count: 2 * layout.chunkSize * d), out = [Float](repeating: 0, count: 2 * d)
        for l in 0..<layout.layers {
            for g in 0..<layout.kvHeads {
                let keys = scratch.withUnsafeMutableBufferPointer {
                    block(layer: l, kvHead: g, chunk: chunk, rows: valid.upperBound, scratch: $0.baseAddress!).keys
                }
                out.withUnsafeMutableBufferPointer { KeyBounds.compute(keys: keys + valid.lowerBound * d, rows: valid.count, d: d, out: $0.baseAddress!) }
                out.withUnsafeBufferPointer { setKeyBounds(layer: l, kvHead: g, chunk: chunk, $0.baseAddress!) }
            }
        }
    }

    deinit {
        for p in summaryRows + boundRows + repRows { p.deallocate() }
    }

    /// Grows every table to `chunks` rows per (layer, group), keeping their rows.
    private func grow(to chunks: Int) throws {
        guard chunks > capacity else { return }
        let d = layout.headDimension, old = capacity
        // Every new table is allocated before any old one is freed, so a failure leaves the store as it was.
        var fresh: [[UnsafeMutablePointer<Float>]] = []
        let shapes = [(layout.layers * layout.heads, d), (layout.layers * layout.kvHeads, 2 * d)]
            + (layout.representatives > 0 ? [(layout.layers * layout.kvHeads, layout.representatives * d)] : [])
        do {
            for (count, width) in shapes {
                fresh.append([])
                for _ in 0..<count { fresh[fresh.count - 1].append(try Allocation.floats(chunks * width, what: "the corpus's chunk tables")) }
            }
        } catch {
            for p in fresh.joined() { p.deallocate() }
            throw error
        }
        func moved(_ tables: [UnsafeMutablePointer<Float>], into new: [UnsafeMutablePointer<Float>], width: Int) -> [UnsafeMutablePointer<Float>] {
            for (i, t) in tables.enumerated() { new[i].update(from: t, count: old * width); t.deallocate() }
            return new
        }
        summaryRows = moved(summaryRows, into: fresh[0], width: d)
        boundRows = moved(boundRows, into: fresh[1], width: 2 * d)
        if layout.representatives > 0 { repRows = moved(repRows, into: fresh[2], width: layout.representatives * d) }
        capacity = chunks
    }

    /// The store of the document holding corpus chunk `chunk`, and the chunk's index in it.
    @inline(__always)
    private func locate(_ chunk: Int) -> (FileChunkStore, Int) {
        let (i, j) = document(of: chunk)
        return (documents[i], j)
    }

    // MARK: Asking

    /// Statistics of the block cache the documents share.
    public var cacheStatistics: CacheStatistics { documents[documents.count - 1].cache.statistics }

    /// Restores the corpus state after a question (the last document's tail; question-time rows cleared).
    public func truncateToDocument() throws {
        try documents[documents.count - 1].truncateToDocument()
        let d = layout.headDimension, keep = documentRows
        func clear(_ tables: [UnsafeMutablePointer<Float>], width: Int) {
            for t in tables { (t + keep * width).update(repeating: 0, count: (capacity - keep) * width) }
        }
        clear(summaryRows, width: d)
        clear(boundRows, width: 2 * d)
        clear(repRows, width: layout.representatives * d)
    }

    /// The first error any document's store met (see `FileChunkStore.takeError`), cleared.
    public func takeError() -> LHError? {
        var first: LHError?
        for doc in documents { if let e = doc.takeError(), first == nil { first = e } }
        return first
    }

    // MARK: ChunkStore

    public func reserve(tokens: Int) {
        let w = layout.chunkSize
        documents[documents.count - 1].reserve(tokens: tokens - lastStart * w)
        // Question-time growth is bounded by the question room; failing it is as fatal as any small allocation.
        try! grow(to: max(capacity, (tokens + w - 1) / w))
    }

    public func write(layer: Int, kvHead: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        documents[documents.count - 1].write(layer: layer, kvHead: kvHead, position: position - lastStart * layout.chunkSize,
                                             key: key, value: value)
    }

    public func block(layer: Int, kvHead: Int, chunk: Int, rows: Int,
                      scratch: UnsafeMutablePointer<Float>) -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        let (doc, j) = locate(chunk)
        return doc.block(layer: layer, kvHead: kvHead, chunk: j, rows: rows, scratch: scratch)
    }

    public func storedRows(layer: Int, kvHead: Int, chunk: Int, rows: Int) -> StoredRows {
        let (doc, j) = locate(chunk)
        return doc.storedRows(layer: layer, kvHead: kvHead, chunk: j, rows: rows)
    }

    public func rawBlock(layer: Int, kvHead: Int, chunk: Int) -> UnsafeRawBufferPointer {
        let (doc, j) = locate(chunk)
        return doc.rawBlock(layer: layer, kvHead: kvHead, chunk: j)
    }

    public func validRows(chunk: Int) -> Range<Int> {
        let end = chunk < lastStart ? Int(rows[chunk]) : layout.chunkSize
        let (i, j) = document(of: chunk)
        return min(j == 0 ? hiddenRows[i] : 0, end)..<end
    }

    /// The document holding corpus chunk `chunk`, and the chunk's index in it.
    @inline(__always)
    private func document(of chunk: Int) -> (Int, Int) {
        if chunk >= lastStart { return (documents.count - 1, chunk - lastStart) }
        let i = Int(owner[chunk])
        return (i, chunk - firstChunks[i])
    }

    public func setSummary(layer: Int, head: Int, chunk: Int, _ s: UnsafePointer<Float>) {
        let d = layout.headDimension
        (summaryRows[layer * layout.heads + head] + chunk * d).update(from: s, count: d)
    }

    public func summaries(layer: Int, head: Int) -> UnsafePointer<Float> { UnsafePointer(summaryRows[layer * layout.heads + head]) }

    public func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>) {
        let d = layout.headDimension
        (boundRows[layer * layout.kvHeads + kvHead] + chunk * 2 * d).update(from: b, count: 2 * d)
    }

    public func keyBounds(layer: Int, kvHead: Int) -> UnsafePointer<Float> { UnsafePointer(boundRows[layer * layout.kvHeads + kvHead]) }

    public func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>) {
        let width = layout.representatives * layout.headDimension
        (repRows[layer * layout.kvHeads + kvHead] + chunk * width).update(from: keys, count: width)
    }

    public func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        UnsafePointer(repRows[layer * layout.kvHeads + kvHead])
    }
}
