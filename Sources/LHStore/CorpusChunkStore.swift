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
/// read them as one array per head) when a scorer first reads that kind (`CorpusRows`), so they take memory
/// in proportion to the corpus's chunks, as the mapped files of one document of that length would; the
/// sealed documents' mapped pages of that kind are released once copied. Key bounds are kept as halves
/// rounded outward (`CorpusRows.Encoding.outwardBounds`, `KeyBoundRows.f16`): half the memory, still bounds.
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
    private let summaryRows: CorpusRows                 // (L·H) tables of (capacity, d)
    private let boundRows: CorpusRows                   // (L·G) tables of (capacity, 2·d), halves rounded outward
    private let repRows: CorpusRows?                     // (L·G) tables of (capacity, r·d); nil when r = 0
    private let fillError: FirstError                    // met while filling a table (which cannot throw)

    /// Lays `documents` (all sealed but the last, same layout) end to end. `prefixTokens[i]` is document i's
    /// template prefix's tokens (hidden for every document but the first); `sealedRows(i)`, when not nil, its
    /// first chunk's bounds and short last chunk's rows as its build computed them, else they are computed here
    /// from its blocks and `openChunk(i)`, its open-chunk state (tail.zst). Each is asked for when needed and
    /// not kept: a sealed document's stored short-chunk summaries are read again if summaries are ever scored.
    /// - Throws: `LHError.invalidInput` when the stores do not fit together; `.outOfMemory` when the
    ///   corpus's tables would not fit the address space; what `openChunk` and `sealedRows` throw.
    public init(documents: [FileChunkStore], prefixTokens: [Int], openChunk: @escaping (Int) throws -> OpenChunkState,
                sealedRows: @escaping (Int) throws -> SealedRows? = { _ in nil }, model: LlamaModel) throws {
        guard let last = documents.last, documents.count == prefixTokens.count else {
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
        // The tables are filled from the documents' own rows when first read; bounds for the short last chunks
        // of the sealed documents and first-chunk bounds over valid rows are set now, and so are short-chunk
        // summaries computed here (an older bundle's).
        let capacity = BundleFormat.rowCapacity(documentChunks: documentRows), d = layout.headDimension, r = layout.representatives
        // Sealed documents whose build stored their rows: their short last chunks' summaries are written when
        // the summary tables are filled (read again then), so no copy of them waits in memory until that.
        var storedSummaries: [(document: Int, chunk: Int)] = []
        func kindRows(_ kind: RowsHeader.Kind, groups: Int, width: Int, encoding: CorpusRows.Encoding = .f32,
                      finish: @escaping ([UnsafeMutablePointer<Float>]) -> Void = { _ in },
                      _ source: @escaping (FileChunkStore, Int) -> UnsafePointer<Float>) -> CorpusRows {
            CorpusRows(groups: groups, width: width, capacity: capacity, encoding: encoding, fill: { write in
                // Document by document, each sealed one's mapped rows released once written; each document's
                // complete chunks (its short last chunk is set later, and rows after the last stay zero).
                for (i, doc) in documents.enumerated() {
                    let complete = doc.seekHeader.tokens / w
                    for g in 0..<groups { write(g, first[i], source(doc, g), complete) }
                    if i + 1 < documents.count { doc.releaseMappedRows(kind) }
                }
            }, finish: finish)
        }
        let heads = layout.heads, kv = layout.kvHeads
        let fillError = FirstError()
        self.fillError = fillError
        summaryRows = kindRows(.summaries, groups: layout.layers * heads, width: d, finish: { tables in
            for (i, chunk) in storedSummaries {
                do {
                    guard let summaries = try sealedRows(i)?.shortChunkSummaries, summaries.count == tables.count * d else {
                        throw LHError.badFile(path: documents[i].directory + "/" + BundleFormat.sealedFile, reason: "changed since the corpus was opened")
                    }
                    summaries.withUnsafeBufferPointer { rows in
                        for (g, table) in tables.enumerated() { (table + chunk * d).update(from: rows.baseAddress! + g * d, count: d) }
                    }
                } catch {
                    fillError.record(error as? LHError ?? .invalidInput("\(error)"))
                }
            }
        }) { $0.summaries(layer: $1 / heads, head: $1 % heads) }
        boundRows = kindRows(.bounds, groups: layout.layers * kv, width: 2 * d, encoding: .outwardBounds) { $0.boundFloats(layer: $1 / kv, kvHead: $1 % kv) }
        repRows = r == 0 ? nil : kindRows(.representatives, groups: layout.layers * kv, width: r * d) { $0.representatives(layer: $1 / kv, kvHead: $1 % kv) }
        try Allocation.checkAddressSpace(bytes: tables.reduce(0) { $0 + $1.bytes }, what: "the corpus's chunk tables")
        for (i, doc) in documents.enumerated() {
            // Document i's chunk 0 with its template prefix hidden gets key bounds over the rest; a sealed
            // document's short last chunk gets bounds and summaries: as its build stored them, or computed now.
            let first = firstChunks[i], valid = validRows(chunk: first), short = first + doc.seekHeader.tokens / w
            if doc.sealed {
                let stored = try sealedRows(i)
                let rows = try stored ?? SealedRows.compute(store: doc, tokens: doc.seekHeader.tokens, prefixTokens: prefixTokens[i],
                                                            open: openChunk(i), model: model)
                setRows(chunk: short, bounds: rows.shortChunkBounds, summaries: stored == nil ? rows.shortChunkSummaries : [])
                if stored != nil, !rows.shortChunkSummaries.isEmpty { storedSummaries.append((i, short)) }
                if hiddenRows[i] > 0, !valid.isEmpty { setRows(chunk: first, bounds: rows.firstChunkBounds, summaries: []) }
            } else if hiddenRows[i] > 0, !valid.isEmpty {
                setRows(chunk: first, bounds: SealedRows.firstChunkBounds(store: doc, valid: valid), summaries: [])
            }
        }
        if let e = takeError() { throw e }
    }

    /// Every kind of row table.
    private var tables: [CorpusRows] { [summaryRows, boundRows] + (repRows.map { [$0] } ?? []) }

    /// Sets the key bounds, (L·G, 2·d), and summaries, (L·H, d; none when empty), of corpus chunk `chunk`.
    private func setRows(chunk: Int, bounds: [Float], summaries: [Float]) {
        let d = layout.headDimension
        for l in 0..<layout.layers {
            for g in 0..<layout.kvHeads where !bounds.isEmpty {
                setKeyBounds(layer: l, kvHead: g, chunk: chunk, bounds, at: (l * layout.kvHeads + g) * 2 * d)
            }
            for h in 0..<layout.heads where !summaries.isEmpty {
                setSummary(layer: l, head: h, chunk: chunk, summaries, at: (l * layout.heads + h) * d)
            }
        }
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
        for t in tables { t.clear(from: documentRows) }
    }

    /// The first error any document's store met (see `FileChunkStore.takeError`), or filling a table met, cleared.
    public func takeError() -> LHError? {
        var first: LHError?
        for doc in documents { if let e = doc.takeError(), first == nil { first = e } }
        if let e = fillError.take(), first == nil { first = e }
        return first
    }

    // MARK: ChunkStore

    public func reserve(tokens: Int) {
        let w = layout.chunkSize
        documents[documents.count - 1].reserve(tokens: tokens - lastStart * w)
        // Question-time growth is bounded by the question room; failing it is as fatal as any small allocation.
        for t in tables { try! t.grow(to: (tokens + w - 1) / w) }
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

    public func sealKeys(layer: Int, kvHead: Int, chunk: Int) {
        let (doc, j) = locate(chunk)
        doc.sealKeys(layer: layer, kvHead: kvHead, chunk: j)
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
        summaryRows.set(group: layer * layout.heads + head, chunk: chunk, s)
    }

    public func summaries(layer: Int, head: Int) -> UnsafePointer<Float> { UnsafePointer(summaryRows.floats(layer * layout.heads + head)) }

    public func setKeyBounds(layer: Int, kvHead: Int, chunk: Int, _ b: UnsafePointer<Float>) {
        boundRows.set(group: layer * layout.kvHeads + kvHead, chunk: chunk, b)
    }

    public func keyBounds(layer: Int, kvHead: Int) -> KeyBoundRows { .f16(UnsafePointer(boundRows.halves(layer * layout.kvHeads + kvHead))) }

    public func setRepresentatives(layer: Int, kvHead: Int, chunk: Int, _ keys: UnsafePointer<Float>) {
        repRows?.set(group: layer * layout.kvHeads + kvHead, chunk: chunk, keys)
    }

    public func representatives(layer: Int, kvHead: Int) -> UnsafePointer<Float> {
        UnsafePointer(repRows!.floats(layer * layout.kvHeads + kvHead))
    }
}
