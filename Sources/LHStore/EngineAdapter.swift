// The two engine entry points the store needs: continuing a LongHeads cache from stored state, and its open-chunk queries.
import LHCore
import LHEngine
import LHModel

/// Glue between the LongHeads engine and a store that already holds tokens.
enum EngineAdapter {
    /// Whether the engine takes back the open chunk's queries, so a document's last partial chunk gets
    /// the same summaries when question tokens complete it as in one uninterrupted in-memory run.
    static let restoresOpenChunkQueries = true

    /// A LongHeads cache over `store`, which already holds `tokens` tokens. `openChunkQueries` are, per
    /// layer, the (tokens mod w, H·d) pre-RoPE queries of the open chunk; nil at a chunk boundary.
    static func make(model: LlamaModel, settings: LongHeadsSettings, store: ChunkStore, startingAt tokens: Int,
                     openChunkQueries: [[Float]]?) throws -> LongHeadsAttention {
        try LongHeadsAttention(model: model, settings: settings, store: store, startingAt: tokens, openChunkQueries: openChunkQueries)
    }

    /// Per layer, the (count mod w, H·d) pre-RoPE queries of the open chunk of `engine`.
    static func openChunkQueries(_ engine: LongHeadsAttention) -> [[Float]] { engine.openChunkQueries }
}
