// What a LongHeads cache keeps of the chunk a document leaves open, so a later run can summarize it.
import LHModel

/// The state of a document's open last chunk (its `rows` = tokens mod w tokens) that a LongHeads cache
/// continuing after the document needs to summarize that chunk once later tokens complete it.
///
/// "Per layer" below means per layer the chunk store holds (every layer, or a Gemma 3's full-attention layers).
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
    /// Per sliding-window layer (models whose layers differ, e.g. Gemma 3): the last min(tokens, W − 1)
    /// tokens' keys before RoPE (rows, G·d), then their values (rows, G·d). Nil for other models.
    public var slidingWindows: [[Float]]?

    /// - Parameters:
    ///   - rows: tokens mod w of the document.
    ///   - outputSums: per layer (H·d) output sums, or nil to recompute them from `queries`.
    ///   - queries: per layer (rows·H·d) queries, or nil when neither representative keys nor sums need them.
    ///   - slidingWindows: per sliding-window layer, its recent keys then values; nil when the model has none.
    public init(rows: Int, outputSums: [[Float]]?, queries: [[Float]]?, slidingWindows: [[Float]]? = nil) {
        self.rows = rows
        self.outputSums = outputSums
        self.queries = queries
        self.slidingWindows = slidingWindows
    }

    /// Floats `slidingWindows` holds per sliding-window layer of a model with `config` after `tokens` tokens.
    public static func slidingWindowFloats(config c: LlamaConfig, tokens: Int) -> Int {
        2 * min(tokens, c.slidingWindow - 1) * c.kvWidth
    }
}
