// Byte-string -> token id lookup without building Swift Strings (SentencePiece looks up every candidate pair).
#if canImport(Glibc)
import Glibc
#endif

/// An open-addressing hash table from the UTF-8 bytes of token texts to token ids. When two
/// tokens share a text, the later id wins, as in llama.cpp's `token_to_id` map.
struct TokenTextTable: Sendable {
    private let bytes: [UInt8]
    private let offsets: [Int]
    private let slots: [Int32]
    private let mask: Int
    /// Length in bytes of the longest token text (longer candidates are rejected without hashing).
    let maxLength: Int

    init(texts: [String]) {
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        offsets.reserveCapacity(texts.count + 1)
        var maxLength = 0
        for t in texts {
            bytes.append(contentsOf: t.utf8)
            offsets.append(bytes.count)
            maxLength = max(maxLength, t.utf8.count)
        }
        var size = 16
        while size < texts.count * 2 { size *= 2 }
        var slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        bytes.withUnsafeBufferPointer { b in
            for id in texts.indices {
                let s = Int(offsets[id]), n = Int(offsets[id + 1]) - s
                var i = Int(truncatingIfNeeded: TokenTextTable.hash(b.baseAddress! + s, n)) & mask
                while slots[i] >= 0 {
                    let o = Int(slots[i]), os = Int(offsets[o])
                    if Int(offsets[o + 1]) - os == n && memcmp(b.baseAddress! + os, b.baseAddress! + s, n) == 0 { break }
                    i = (i + 1) & mask
                }
                slots[i] = Int32(id)
            }
        }
        self.bytes = bytes
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
        self.maxLength = maxLength
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x100_0000_01B3 }
        return h ^ (h >> 31)
    }

    /// The id of the token whose text is `p[0..<n]`, or -1.
    @inline(__always)
    func id(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        guard n <= maxLength else { return -1 }
        var i = Int(truncatingIfNeeded: TokenTextTable.hash(p, n)) & mask
        return bytes.withUnsafeBufferPointer { b in
            while true {
                let o = slots[i]
                if o < 0 { return -1 }
                let s = Int(offsets[Int(o)])
                if Int(offsets[Int(o) + 1]) - s == n && (n == 0 || memcmp(b.baseAddress! + s, p, n) == 0) { return o }
                i = (i + 1) & mask
            }
        }
    }

    /// The id of the token whose text is exactly `text` (byte for byte, not Swift's canonical
    /// equivalence), or nil.
    subscript(text text: String) -> Int32? {
        var text = text
        let found = text.withUTF8 { b in b.baseAddress.map { self.id($0, b.count) } ?? -1 }
        return found >= 0 ? found : nil
    }

    /// The id of the token whose text is `bytes`, or -1.
    func id(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return -1 }
            return id(base, b.count)
        }
    }
}
