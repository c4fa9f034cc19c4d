// What a LongHeads cache keeps of the chunk a document leaves open, so a later run can summarize it.

/// The state of a document's open last chunk (its `rows` = tokens mod w tokens) that a LongHeads cache
/// continuing after the document needs to summarize that chunk once later tokens complete it.
///
/// A chunk's summary needs the sum of its rows' in-chunk attention outputs (`ChunkSummary.addOutputs`), so
/// the open rows are kept as that sum: H·d floats per layer. Only representative keys (`representatives`
/// > 0) need the rows' queries themselves; older indexes stored only the queries, from which the sums are
/// recomputed.
public struct OpenChunkState: Sendable, Equatable {
    /// Rows of the open chunk (tokens mod w); 0 at a chunk boundary.
    public var rows: Int
    /// Per layer, (H, d): per query head, Σ over the open rows of the in-chunk attention outputs o_t.
    public var outputSums: [[Float]]?
    /// Per layer, (rows, H·d): the open rows' pre-RoPE queries.
    public var queries: [[Float]]?

    /// - Parameters:
    ///   - rows: tokens mod w of the document.
    ///   - outputSums: per layer (H·d) output sums, or nil to recompute them from `queries`.
    ///   - queries: per layer (rows·H·d) queries, or nil when neither representative keys nor sums need them.
    public init(rows: Int, outputSums: [[Float]]?, queries: [[Float]]?) {
        self.rows = rows
        self.outputSums = outputSums
        self.queries = queries
    }
}
