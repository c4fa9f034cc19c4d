// The engine entry point the store needs: continuing a LongHeads cache from stored state.
import LHCore
import LHEngine
import LHModel

/// Glue between the LongHeads engine and a store that already holds tokens.
enum EngineAdapter {
    /// Whether the engine takes back the open chunk's state, so a document's last partial chunk gets
    /// the same summaries when question tokens complete it as in one uninterrupted in-memory run.
    static let restoresOpenChunk = true

    /// A LongHeads cache over `store`, which already holds `tokens` tokens. `openChunk` is the engine's
    /// `openChunkState` after those tokens; nil at a chunk boundary.
    static func make(model: LlamaModel, settings: LongHeadsSettings, store: ChunkStore, startingAt tokens: Int,
                     openChunk: OpenChunkState?) throws -> LongHeadsAttention {
        try LongHeadsAttention(model: model, settings: settings, store: store, startingAt: tokens, openChunk: openChunk)
    }
}
