// A growable, 64-byte aligned f32 scratch buffer freed in deinit.

/// Scratch memory for f32 tensors. Contents are unspecified after `ensure` grows it.
public final class FloatBuffer: @unchecked Sendable {
    /// The first element.
    public private(set) var pointer: UnsafeMutablePointer<Float>
    /// Number of elements allocated.
    public private(set) var count: Int

    /// Allocates `count` elements (at least one).
    public init(count: Int) {
        self.count = max(count, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.count * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: self.count)
    }

    deinit { pointer.deallocate() }

    /// Grows the buffer to hold at least `count` elements (never shrinks).
    public func ensure(count needed: Int) {
        guard needed > count else { return }
        pointer.deallocate()
        count = needed
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }

    /// Sets the first `n` elements (default all) to zero.
    public func zero(_ n: Int? = nil) { pointer.update(repeating: 0, count: n ?? count) }
}
