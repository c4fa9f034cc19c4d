// The three attention modes the evaluations compare, and a factory for their caches.
import LHModel

/// Dense attention, LongHeads, or the sliding-window baseline.
public enum AttentionMode: String, Sendable, Codable, CaseIterable {
    case dense
    case longheads
    case window

    /// A fresh cache of this mode (`settings` gives LongHeads' configuration and the window's A, w and sinks).
    /// `questionStart` marks the first question token for LongHeads (per-token selection from there).
    public func makeCache(model: LlamaModel, settings: LongHeadsSettings, questionStart: Int = .max) throws -> AttentionCache {
        switch self {
        case .dense:
            return model.makeDenseCache()
        case .longheads:
            let c = try LongHeadsAttention(model: model, settings: settings)
            c.questionStart = questionStart
            return c
        case .window:
            return try SlidingWindowAttention(model: model, settings: settings)
        }
    }
}
