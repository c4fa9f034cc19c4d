// tail.zst: the open-chunk state of a document (FORMAT.md §5), written when a build completes and read by ask.
import LHCore
import LHEngine

/// Reads and writes `tail.zst`, one zstd frame holding the `OpenChunkState` of the document's last,
/// incomplete chunk (and, for models with sliding-window layers, those layers' recent keys and values).
enum OpenChunkFile {
    /// `meta` key naming the content of tail.zst; absent in older indexes, whose tail.zst holds only queries.
    static let contentKey = "tail_content"
    /// The content written now: per layer the (H·d) output sums, then the queries when representative keys need
    /// them, then the sliding-window layers' state when the model has such layers.
    static let outputSums = "output-sums"

    /// Whether tail.zst stores the sliding-window layers' keys and values as f16 (f32 only when the index
    /// keeps f32 keys and values): half the bytes, rounded as the stored chunks' are.
    static func halfWindows(_ settings: LongHeadsSettings) -> Bool { settings.precision != .f32 }

    /// Writes `state` to `path` (synced) and returns the `meta` pair that names its content. `halfWindows`
    /// stores the sliding-window state as f16 (tail.zst), otherwise exactly (build checkpoints).
    @discardableResult
    static func write(_ state: OpenChunkState, to path: String, halfWindows: Bool) throws -> (String, String) {
        var payload = [Float]()
        for sum in state.outputSums ?? [] { payload += sum }
        for q in state.queries ?? [] { payload += q }
        var bytes = payload.withUnsafeBytes { Array($0) }
        for window in state.slidingWindows ?? [] {
            if halfWindows {
                window.map { Float16($0) }.withUnsafeBytes { bytes += $0 }
            } else {
                window.withUnsafeBytes { bytes += $0 }
            }
        }
        let frame = try bytes.withUnsafeBytes { try Zstd(level: 1).compressed($0) }
        try PosixFile.writeWhole(frame, to: path)
        return (contentKey, outputSums)
    }

    /// The open-chunk state of the index in `directory`; `content` is the index's `tail_content` value (nil
    /// for older indexes).
    /// - Throws: `LHError.badFile` when the frame does not hold exactly the floats the metadata implies.
    static func read(directory: String, metadata: IndexMetadata, content: String?) throws -> OpenChunkState {
        try read(path: directory + "/" + BundleFormat.tailFile, metadata: metadata, tokens: metadata.document.tokens,
                 content: content, halfWindows: halfWindows(metadata.settings))
    }

    /// The state after `tokens` tokens stored at `path` (tail.zst, or a build checkpoint's window file).
    static func read(path: String, metadata: IndexMetadata, tokens: Int, content: String?, halfWindows: Bool) throws -> OpenChunkState {
        let c = metadata.model.hyperparameters
        let rows = tokens % metadata.settings.chunkSize, e = c.queryWidth, layers = c.fullAttentionLayers.count
        let hasSums: Bool, hasQueries: Bool
        switch content {
        case nil: (hasSums, hasQueries) = (false, true)
        case outputSums?: (hasSums, hasQueries) = (true, metadata.settings.representatives > 0)
        case let other?: throw LHError.badFile(path: path, reason: "unknown content '\(other)' (index.sqlite \(contentKey))")
        }
        let windowLayers = c.layerCount - layers
        let windowFloats = OpenChunkState.slidingWindowFloats(config: c, tokens: tokens)
        let sumFloats = rows > 0 && hasSums ? layers * e : 0
        let queryFloats = hasQueries ? layers * rows * e : 0
        let floatBytes = (sumFloats + queryFloats) * 4
        let expected = floatBytes + windowLayers * windowFloats * (halfWindows ? 2 : 4)
        let file = try MappedFile(path: path)
        let bytes = try Zstd().decompressed(UnsafeRawBufferPointer(start: file.base, count: file.count), path: path,
                                            limit: expected)
        guard bytes.count == expected else {
            throw LHError.badFile(path: path, reason: "holds \(bytes.count) bytes, expected \(expected)")
        }
        return bytes.withUnsafeBytes { raw in
            let f = UnsafeRawBufferPointer(rebasing: raw[..<floatBytes]).bindMemory(to: Float.self)
            func slices(from start: Int, count: Int, each n: Int) -> [[Float]] {
                (0..<count).map { Array(f[(start + $0 * n)..<(start + ($0 + 1) * n)]) }
            }
            var windows: [[Float]] = []
            let rest = UnsafeRawBufferPointer(rebasing: raw[floatBytes...])
            for l in 0..<windowLayers {
                if halfWindows {
                    let h = rest.bindMemory(to: Float16.self)
                    windows.append(h[(l * windowFloats)..<((l + 1) * windowFloats)].map { Float($0) })
                } else {
                    let w = rest.bindMemory(to: Float.self)
                    windows.append(Array(w[(l * windowFloats)..<((l + 1) * windowFloats)]))
                }
            }
            return OpenChunkState(rows: rows, outputSums: hasSums ? (rows > 0 ? slices(from: 0, count: layers, each: e) : []) : nil,
                                  queries: hasQueries ? slices(from: sumFloats, count: layers, each: rows * e) : nil,
                                  slidingWindows: windowLayers > 0 ? windows : nil)
        }
    }
}
