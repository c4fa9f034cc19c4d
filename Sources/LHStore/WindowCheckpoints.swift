// The sliding-window layers' state at a build's checkpoints, so an interrupted build of a model with such
// layers (Gemma 3) resumes exactly where it stopped.
import Foundation
import LHCore
import LHEngine

/// `window-N.zst` files in a build's `.partial` directory: after N tokens, the recent keys and values of every
/// sliding-window layer (tail.zst's layout with no open rows). Written and synced before the build state
/// records N, so the file for the recorded count always exists; older ones are removed after. A model
/// without sliding-window layers writes none.
struct WindowCheckpoints {
    let partial: String
    let metadata: IndexMetadata
    private var needed: Bool { metadata.model.hyperparameters.hasSlidingWindowLayers }

    init(partial: String, metadata: IndexMetadata) {
        self.partial = partial
        self.metadata = metadata
    }

    /// The state to continue from after `tokens` committed tokens (nil at the start or without such layers).
    /// - Throws: `LHError` naming the missing or damaged file (inside the partial: the build restarts).
    func state(at tokens: Int) throws -> OpenChunkState? {
        guard needed, tokens > 0 else { return nil }
        return try OpenChunkFile.read(path: path(tokens), metadata: metadata, tokens: tokens, content: OpenChunkFile.outputSums,
                                  halfWindows: false)
    }

    /// Records `state` (after `tokens` tokens, a chunk boundary) before the build state does.
    func write(_ state: OpenChunkState, at tokens: Int) throws {
        guard needed else { return }
        try OpenChunkFile.write(state, to: path(tokens), halfWindows: false)
    }

    /// Removes every checkpoint but the one after `tokens` (all of them when nil).
    func removeAll(except tokens: Int?) {
        guard needed, let names = try? FileManager.default.contentsOfDirectory(atPath: partial) else { return }
        let keep = tokens.map { BundleFormat.windowCheckpoint(tokens: $0) }
        for name in names where name.hasPrefix("window-") && name.hasSuffix(".zst") && name != keep {
            unlink(partial + "/" + name)
        }
    }

    private func path(_ tokens: Int) -> String { partial + "/" + BundleFormat.windowCheckpoint(tokens: tokens) }
}
