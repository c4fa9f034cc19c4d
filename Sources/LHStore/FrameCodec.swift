// Block payload <-> zstd frame: optional byte-plane shuffle, compression level, and a pool of codec contexts.
import Foundation
import LHCore

/// Byte-plane shuffling of fixed-width elements (as in Blosc): all first bytes, then all second bytes, ...
/// Float exponent bytes then sit next to each other and compress far better.
public enum ByteShuffle {
    /// Writes `count` bytes of `src` (elements of `width` bytes) to `dst` plane by plane.
    public static func shuffle(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, count: Int, width: Int) {
        let n = count / width
        let s = src.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: UInt8.self)
        for b in 0..<width { for i in 0..<n { d[b * n + i] = s[i * width + b] } }
    }

    /// Inverse of `shuffle`.
    public static func unshuffle(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, count: Int, width: Int) {
        let n = count / width
        let s = src.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: UInt8.self)
        for b in 0..<width { for i in 0..<n { d[i * width + b] = s[b * n + i] } }
    }
}

/// How block payloads are turned into frames (recorded in the bundle).
public struct FrameCodecSettings: Sendable, Codable, Equatable {
    /// zstd compression level.
    public var level: Int32
    /// Byte-plane shuffle before compression.
    public var shuffle: Bool

    /// The default, chosen by measurement (FORMAT.md §7): level 1 with shuffling.
    public static let standard = FrameCodecSettings(level: 1, shuffle: true)

    public init(level: Int32, shuffle: Bool) {
        self.level = level
        self.shuffle = shuffle
    }
}

/// Compresses and decompresses block payloads. Thread-safe: codec contexts come from a locked pool.
public final class FrameCodec: @unchecked Sendable {
    public let settings: FrameCodecSettings
    /// Bytes per element (2 for f16, 4 for f32): the shuffle width.
    public let elementBytes: Int
    private let lock = NSLock()
    private var pool: [(Zstd, UnsafeMutableRawPointer)] = []   // context + scratch of `scratchBytes`
    private let scratchBytes: Int

    /// A codec for payloads of at most `maxPayload` bytes.
    public init(settings: FrameCodecSettings, elementBytes: Int, maxPayload: Int) {
        self.settings = settings
        self.elementBytes = elementBytes
        scratchBytes = max(maxPayload, 64)
    }

    deinit { for (_, s) in pool { s.deallocate() } }

    private func take() -> (Zstd, UnsafeMutableRawPointer) {
        lock.lock()
        defer { lock.unlock() }
        if let c = pool.popLast() { return c }
        return (Zstd(level: settings.level), .allocate(byteCount: scratchBytes, alignment: 64))
    }

    private func give(_ c: (Zstd, UnsafeMutableRawPointer)) {
        lock.lock()
        pool.append(c)
        lock.unlock()
    }

    /// Compresses `payload` into a new frame.
    public func compress(_ payload: UnsafeRawBufferPointer) throws -> [UInt8] {
        let c = take()
        defer { give(c) }
        var out = [UInt8](repeating: 0, count: Zstd.bound(payload.count) + 64)
        let n: Int
        if settings.shuffle {
            // Keys and values each shuffled into byte planes; one zstd block (own Huffman table) per plane.
            let half = payload.count / 2, planes = half / elementBytes
            for h in 0..<2 { ByteShuffle.shuffle(payload.baseAddress! + h * half, c.1 + h * half, count: half, width: elementBytes) }
            let parts = (0..<(2 * elementBytes)).map { UnsafeRawBufferPointer(start: c.1 + $0 * planes, count: planes) }
            n = try out.withUnsafeMutableBytes { try c.0.compress(parts: parts, into: $0) }
        } else {
            n = try out.withUnsafeMutableBytes { try c.0.compress(payload, into: $0) }
        }
        out.removeSubrange(n...)
        return out
    }

    /// Decompresses `frame` into `payload` (exactly the original size).
    /// - Throws: `LHError.badFile` naming `path` when the frame is corrupt.
    public func decompress(_ frame: UnsafeRawBufferPointer, into payload: UnsafeMutableRawBufferPointer, path: String) throws {
        let c = take()
        defer { give(c) }
        if settings.shuffle {
            try c.0.decompress(frame, into: UnsafeMutableRawBufferPointer(start: c.1, count: payload.count), path: path)
            let half = payload.count / 2
            for h in 0..<2 { ByteShuffle.unshuffle(c.1 + h * half, payload.baseAddress! + h * half, count: half, width: elementBytes) }
        } else {
            try c.0.decompress(frame, into: payload, path: path)
        }
    }
}
