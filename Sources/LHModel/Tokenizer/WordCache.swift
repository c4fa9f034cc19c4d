// Memo of word -> tokens for one encode call, so each distinct word is merged once.
#if canImport(Glibc)
import Glibc
#endif

/// Word -> tokens memo for one encode call. Keys are byte ranges of the text being encoded (no copies).
struct WordCache {
    private struct Entry { var hash: UInt64; var start: Int; var length: Int32; var valueStart: Int32; var valueCount: Int32 }
    private var slots: [Int32]
    private var entries: [Entry] = []
    private var values: [Int32] = []
    private var mask: Int
    private let text: UnsafePointer<UInt8>
    /// Stop memoizing past this many words (bounds memory on huge texts of unique words).
    private let maxEntries = 1 << 21

    init(text: UnsafePointer<UInt8>) {
        self.text = text
        slots = [Int32](repeating: -1, count: 4096)
        mask = 4095
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(n)
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// Appends the memoized tokens of `text[start..<start+count]` to `out`; false if not memoized.
    @inline(__always)
    func lookup(start: Int, count: Int, hash h: UInt64, into out: inout [Int32]) -> Bool {
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = slots[i]
            if e < 0 { return false }
            let entry = entries[Int(e)]
            if entry.hash == h && Int(entry.length) == count && memcmp(text + entry.start, text + start, count) == 0 {
                let v = Int(entry.valueStart)
                if entry.valueCount == 1 { out.append(values[v]) } else {
                    for k in v..<(v + Int(entry.valueCount)) { out.append(values[k]) }
                }
                return true
            }
            i = (i + 1) & mask
        }
    }

    /// Memoizes `tokens` for `text[start..<start+count]`.
    mutating func insert(start: Int, count: Int, hash h: UInt64, tokens: ArraySlice<Int32>) {
        guard entries.count < maxEntries, count <= Int(Int32.max), values.count + tokens.count < Int(Int32.max) else { return }
        if (entries.count + 1) * 2 > slots.count { grow() }
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(entries.count)
        entries.append(Entry(hash: h, start: start, length: Int32(count), valueStart: Int32(values.count),
                             valueCount: Int32(tokens.count)))
        values.append(contentsOf: tokens)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for (k, e) in entries.enumerated() {
            var i = Int(truncatingIfNeeded: e.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(k)
        }
    }
}
