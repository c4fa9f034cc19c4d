// Block payload <-> zstd frame: optional byte-plane shuffle, compression level, and a pool of codec contexts.
import Foundation
import LHCore
import LHEngine

/// Byte-plane shuffling of fixed-width elements (as in Blosc): all first bytes, then all second bytes, ...
/// Float exponent bytes then sit next to each other and compress far better.
public enum ByteShuffle {
    /// Writes `count` bytes of `src` (elements of `width` bytes) to `dst` plane by plane.
    public static func shuffle(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, count: Int, width: Int) {
        let n = count / width
        let s = src.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: UInt8.self)
        for b in 0..<width { for i in 0..<n { d[b * n + i] = s[i * width + b] } }
    }

    /// Inverse of `shuffle`. Widths 1 and 2 (int8 and f16 sections, the ask path's hot loop) have
    /// straight-line loops the compiler vectorizes: 7% of a 128k first token went to the generic loop.
    public static func unshuffle(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, count: Int, width: Int) {
        let n = count / width
        let s = src.assumingMemoryBound(to: UInt8.self)
        switch width {
        case 1:
            dst.copyMemory(from: src, byteCount: n)
        case 2:
            let d = dst.assumingMemoryBound(to: UInt16.self), hi = s + n
            for i in 0..<n { d[i] = UInt16(s[i]) | UInt16(hi[i]) << 8 }
        default:
            let d = dst.assumingMemoryBound(to: UInt8.self)
            for b in 0..<width { for i in 0..<n { d[i * width + b] = s[b * n + i] } }
        }
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
    /// The parts of a payload (keys, values, row scales); each is shuffled with its element width.
    public let sections: [ChunkLayout.Section]
    private let payloadRowBytes: Int
    private let lock = NSLock()
    private var pool: [(Zstd, UnsafeMutableRawPointer)] = []   // context + scratch of `scratchBytes`
    private let scratchBytes: Int

    /// A codec for payloads made of `sections` (equal row counts) of at most `maxPayload` bytes.
    public init(settings: FrameCodecSettings, sections: [ChunkLayout.Section], maxPayload: Int) {
        self.settings = settings
        self.sections = sections
        payloadRowBytes = sections.reduce(0) { $0 + $1.rowBytes }
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

    /// (byte offset, bytes, element width) of each section of a payload of `count` bytes.
    private func parts(count: Int) -> [(offset: Int, bytes: Int, width: Int)] {
        let rows = count / payloadRowBytes
        var offset = 0
        return sections.map { sec in
            defer { offset += rows * sec.rowBytes }
            return (offset, rows * sec.rowBytes, sec.elementBytes)
        }
    }

    /// Compresses `payload` into a new frame.
    public func compress(_ payload: UnsafeRawBufferPointer) throws -> [UInt8] {
        let c = take()
        defer { give(c) }
        var out = [UInt8](repeating: 0, count: Zstd.bound(payload.count) + 64)
        let n: Int
        if settings.shuffle {
            // Each section shuffled into byte planes of its element width; one zstd block (own Huffman
            // table) per plane. Sections of 1-byte elements are one plane.
            var planes: [UnsafeRawBufferPointer] = []
            for p in parts(count: payload.count) {
                ByteShuffle.shuffle(payload.baseAddress! + p.offset, c.1 + p.offset, count: p.bytes, width: p.width)
                let size = p.bytes / p.width
                planes += (0..<p.width).map { UnsafeRawBufferPointer(start: c.1 + p.offset + $0 * size, count: size) }
            }
            n = try out.withUnsafeMutableBytes { try c.0.compress(parts: planes, into: $0) }
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
            for p in parts(count: payload.count) {
                ByteShuffle.unshuffle(c.1 + p.offset, payload.baseAddress! + p.offset, count: p.bytes, width: p.width)
            }
        } else {
            try c.0.decompress(frame, into: payload, path: path)
        }
    }
}
