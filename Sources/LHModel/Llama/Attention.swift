// The attention interface of the forward pass: dense attention and LongHeads both implement it.

/// Attention over cached keys and values for one layer at a time.
///
/// The forward pass hands over *pre-RoPE* queries and keys so each implementation positions them
/// its own way (dense: true positions; LongHeads: in-chunk positions plus per-slot query rotation).
public protocol AttentionCache: AnyObject {
    /// Number of tokens whose keys and values are cached (the position of the next token).
    var count: Int { get }
    /// Attends a batch of `m` new tokens at positions `count ..< count + m` in layer `layer`,
    /// appending their keys and values to the cache.
    /// - Parameters:
    ///   - q: (m, H·d) pre-RoPE queries; may be overwritten.
    ///   - k: (m, G·d) pre-RoPE keys; may be overwritten.
    ///   - v: (m, G·d) values.
    ///   - out: (m, H·d) attention outputs, heads side by side.
    func attend(layer: Int, m: Int, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>)
    /// Called once after every layer has attended a batch of `m` tokens: the batch becomes cached.
    func commit(m: Int)
}
