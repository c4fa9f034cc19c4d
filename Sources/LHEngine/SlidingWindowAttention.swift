// The training-free baseline: a sliding window of recent chunks plus the first chunk(s) as attention sinks.
import LHCore
import LHModel

/// Sliding-window attention with attention sinks (StreamingLLM-style), at chunk granularity.
///
/// Each query sees the sink chunks, the most recent complete chunks and its own chunk up to itself:
/// K = A / w slots, positioned side by side, so recent tokens keep their true distances and the sinks sit
/// just before them. While the sequence fits A it is dense attention. It ignores the middle of the context.
/// Implemented as LongHeads with `selection = .recent` (no summaries are computed).
public final class SlidingWindowAttention: AttentionCache {
    /// The engine doing the work.
    public let engine: LongHeadsAttention

    /// A window of `windowLength` tokens (a multiple of `chunkSize`) with `sinkChunks` leading chunks kept.
    public init(model: LlamaModel, windowLength: Int, chunkSize: Int = 256, sinkChunks: Int = 1,
                precision: KVPrecision = .f16) throws {
        engine = try LongHeadsAttention(model: model, settings: Self.settings(windowLength: windowLength, chunkSize: chunkSize,
                                                                               sinkChunks: sinkChunks, precision: precision))
    }

    /// The LongHeads settings that make the window: recent chunks side by side after the sinks.
    public static func settings(windowLength: Int, chunkSize: Int, sinkChunks: Int, precision: KVPrecision) -> LongHeadsSettings {
        LongHeadsSettings(chunkSize: chunkSize, attentionLength: windowLength, granularity: .block,
                          selection: .recent, positioning: .contiguous, sinkChunks: sinkChunks,
                          localChunks: 0, precision: precision)
    }

    /// `settings(windowLength:…)` with the attention length, chunk size, sinks and precision of `s`.
    public static func settings(like s: LongHeadsSettings) -> LongHeadsSettings {
        settings(windowLength: s.attentionLength, chunkSize: s.chunkSize, sinkChunks: s.sinkChunks, precision: s.precision)
    }

    /// A window with the chunk size, attention length, sinks and precision of `settings` (other fields ignored).
    public convenience init(model: LlamaModel, settings: LongHeadsSettings) throws {
        try self.init(model: model, windowLength: settings.attentionLength, chunkSize: settings.chunkSize,
                      sinkChunks: settings.sinkChunks, precision: settings.precision)
    }

    public var count: Int { engine.count }

    public func attend(layer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                       v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        engine.attend(layer: layer, m: m, q: q, k: k, v: v, out: out)
    }

    public func commit(m: Int) { engine.commit(m: m) }
}
