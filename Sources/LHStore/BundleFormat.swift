// Constants and fixed-size binary headers of the .lhx bundle (FORMAT.md is the normative description).
import LHCore
import LHEngine

/// Names, magic numbers and versions of the `.lhx` format.
public enum BundleFormat {
    /// `PRAGMA application_id` of `index.sqlite`: the bytes "LHX1" read as a big-endian integer.
    public static let applicationID: Int32 = 0x4C48_5831
    /// `PRAGMA user_version` of `index.sqlite`: the format version this code writes and reads.
    public static let formatVersion = 2
    /// File names inside the bundle directory.
    public static let database = "index.sqlite"
    public static let kvFile = "kv.zst"
    public static let seekFile = "kv.seek"
    public static let summariesFile = "summaries.f32"
    public static let boundsFile = "bounds.f32"
    /// Representative keys; present only when the settings keep some (`representatives` > 0).
    public static let representativesFile = "reps.f32"
    public static let sourceFile = "source.zst"
    public static let tailFile = "tail.zst"
    /// What a corpus needs of the document when a question does not continue it (FORMAT.md §5a); absent in
    /// indexes written before 2026-12-03, whose corpus computes it when it opens.
    public static let sealedFile = "sealed.zst"
    /// While a build of a model with sliding-window layers runs: those layers' recent keys and values after
    /// `tokens` tokens (tail.zst's layout, FORMAT.md §5), so an interrupted build resumes exactly. Removed when
    /// the build completes.
    public static func windowCheckpoint(tokens: Int) -> String { "window-\(tokens).zst" }
    /// Every file a complete bundle holds (and `representativesFile` when its settings keep representative keys).
    public static let files = [database, kvFile, seekFile, summariesFile, boundsFile, sourceFile, tailFile]
    /// Bytes of each binary header (kv.seek, summaries.f32, bounds.f32, reps.f32).
    public static let headerBytes = 64
    /// Bytes of one kv.seek entry.
    public static let seekEntryBytes = 24
    /// Chunks a question and its answer may span at ask time (the room the block tail and rows grow to).
    public static let questionChunkRoom = 32

    /// Rows per (layer, group) of summaries.f32, bounds.f32 and reps.f32 for a document of `documentChunks`
    /// complete chunks: the document's, plus room for question and answer chunks, so a reader's private
    /// map holds them without copying the file. The room is at most the document's own size (plus one), so
    /// a short note does not carry 32 chunks of zeros; a question that outgrows it copies the (small) rows.
    public static func rowCapacity(documentChunks: Int) -> Int {
        documentChunks + min(questionChunkRoom, documentChunks + 1)
    }
    /// Element type codes in kv.seek headers: 1 = f16, 2 = f32, 3 = int8 with f16 row scales, 4 = int8 keys and
    /// rotated int4 values with f16 row scales, 5 = k5v4 (complete chunks' keys as 40-level channel codes, FORMAT.md §3),
    /// 6 = k4v4 (as 5 with 16 levels, a document's first chunk unsealed).
    public static func elementCode(_ p: KVPrecision) -> UInt32 {
        switch p {
        case .f16: return 1
        case .f32: return 2
        case .int8: return 3
        case .k8v4: return 4
        case .k5v4: return 5
        case .k4v4: return 6
        }
    }
    /// Flag bit 0 of kv.seek: frame payloads are byte-plane shuffled.
    public static let flagShuffled: UInt32 = 1

    /// The product of sizes read from disk, or nil when it overflows `Int` (a corrupt header must not wrap
    /// around to a plausible file size in a build without overflow checks).
    static func product(_ factors: [Int]) -> Int? {
        var p = 1
        for f in factors {
            let (r, overflow) = p.multipliedReportingOverflow(by: f)
            guard !overflow, f >= 0 else { return nil }
            p = r
        }
        return p
    }
}

/// Little-endian field access in a byte buffer.
struct LEBytes {
    var bytes: [UInt8]

    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }
    init(_ raw: UnsafeRawBufferPointer) { bytes = Array(raw) }

    mutating func put32(_ v: UInt32, at o: Int) { for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    mutating func put64(_ v: UInt64, at o: Int) { for i in 0..<8 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    func get32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
    func get64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
    func crc(_ range: Range<Int>) -> UInt32 { bytes[range].withUnsafeBytes { CRC32.checksum($0) } }

    /// The 64-byte header at the start of `raw`, after checking its length, magic, CRC (bytes 60..<64 over
    /// 0..<60) and version 1; `kind` names the file in messages ("kv.seek", "summaries").
    static func checkedHeader(_ raw: UnsafeRawBufferPointer, magic: [UInt8], kind: String, path: String) throws -> LEBytes {
        guard raw.count >= BundleFormat.headerBytes else {
            throw LHError.badFile(path: path, reason: "truncated: \(raw.count) bytes, the header alone needs \(BundleFormat.headerBytes)")
        }
        let b = LEBytes(UnsafeRawBufferPointer(rebasing: raw[0..<BundleFormat.headerBytes]))
        guard Array(b.bytes[0..<8]) == magic else { throw LHError.badFile(path: path, reason: "not a \(kind) file (bad magic)") }
        guard b.get32(60) == b.crc(0..<60) else { throw LHError.badFile(path: path, reason: "header checksum mismatch") }
        guard b.get32(8) == 1 else {
            throw LHError.badFile(path: path, reason: "\(kind) version \(b.get32(8)) is not supported (expected 1)")
        }
        return b
    }
}

/// The 64-byte header of `kv.seek` (FORMAT.md §3).
public struct SeekHeader: Equatable, Sendable {
    public static let magic: [UInt8] = Array("LHXSEEK\0".utf8)
    public var version: UInt32 = 1
    public var flags: UInt32
    public var layers: Int
    public var kvHeads: Int
    public var headDimension: Int
    public var chunkSize: Int
    public var chunks: Int
    public var elementType: UInt32
    public var tokens: Int

    /// Number of entries: layers · kvHeads · chunks.
    public var entryCount: Int { layers * kvHeads * chunks }
    /// Index of the entry of (layer, KV head, chunk).
    @inline(__always)
    public func entry(layer: Int, kvHead: Int, chunk: Int) -> Int { (layer * kvHeads + kvHead) * chunks + chunk }
    /// Size of the whole file.
    public var fileBytes: Int { BundleFormat.headerBytes + entryCount * BundleFormat.seekEntryBytes }

    public init(flags: UInt32, layout: ChunkLayout, chunks: Int, tokens: Int) {
        self.flags = flags
        layers = layout.layers
        kvHeads = layout.kvHeads
        headDimension = layout.headDimension
        chunkSize = layout.chunkSize
        self.chunks = chunks
        elementType = BundleFormat.elementCode(layout.precision)
        self.tokens = tokens
    }

    /// Serialized: magic, version, flags, L, G, d, w, chunks, element type, entry size, tokens (u64), reserved, CRC-32.
    public func encoded() -> [UInt8] {
        var b = LEBytes(count: BundleFormat.headerBytes)
        b.bytes.replaceSubrange(0..<8, with: Self.magic)
        for (i, v) in [version, flags, UInt32(layers), UInt32(kvHeads), UInt32(headDimension), UInt32(chunkSize),
                       UInt32(chunks), elementType, UInt32(BundleFormat.seekEntryBytes)].enumerated() {
            b.put32(v, at: 8 + 4 * i)
        }
        b.put64(UInt64(tokens), at: 44)
        b.put32(b.crc(0..<60), at: 60)
        return b.bytes
    }

    /// Parses and checks a header (magic, version, reserved bits and bytes, CRC).
    public init(decoding raw: UnsafeRawBufferPointer, path: String) throws {
        let b = try LEBytes.checkedHeader(raw, magic: Self.magic, kind: "kv.seek", path: path)
        version = b.get32(8)
        flags = b.get32(12)
        guard flags & ~BundleFormat.flagShuffled == 0 else {
            throw LHError.badFile(path: path, reason: "unknown flag bits 0x\(String(flags, radix: 16)) set")
        }
        layers = Int(b.get32(16)); kvHeads = Int(b.get32(20)); headDimension = Int(b.get32(24))
        chunkSize = Int(b.get32(28)); chunks = Int(b.get32(32))
        let elementType = b.get32(36)
        self.elementType = elementType
        guard KVPrecision.allCases.contains(where: { BundleFormat.elementCode($0) == elementType }) else { throw LHError.badFile(path: path, reason: "unknown element type \(elementType)") }
        guard b.get32(40) == UInt32(BundleFormat.seekEntryBytes) else {
            throw LHError.badFile(path: path, reason: "entry size \(b.get32(40)) is not \(BundleFormat.seekEntryBytes)")
        }
        guard b.get64(52) == 0 else { throw LHError.badFile(path: path, reason: "reserved header bytes are not zero") }
        // Every product below stays far from overflow: N < 2^40 and the entry count is checked against the file size.
        guard b.get64(44) < 1 << 40 else { throw LHError.badFile(path: path, reason: "token count \(b.get64(44)) is impossible") }
        tokens = Int(b.get64(44))
        guard layers > 0, kvHeads > 0, headDimension > 0, chunkSize > 0, chunks == (tokens + chunkSize - 1) / chunkSize else {
            throw LHError.badFile(path: path, reason: "inconsistent header dimensions")
        }
        guard let entries = BundleFormat.product([layers, kvHeads, chunks, BundleFormat.seekEntryBytes]),
              raw.count - BundleFormat.headerBytes == entries else {
            let says = BundleFormat.product([layers, kvHeads, chunks, BundleFormat.seekEntryBytes]).map { "\($0 + BundleFormat.headerBytes)" } ?? "more than can exist"
            throw LHError.badFile(path: path, reason: "truncated or padded: \(raw.count) bytes, the header says \(says)")
        }
    }
}

/// One kv.seek entry: where a (layer, KV head, chunk) frame lives in kv.zst.
public struct SeekEntry: Equatable, Sendable {
    /// Byte offset of the frame in kv.zst.
    public var offset: Int
    /// Bytes of the zstd frame.
    public var compressedSize: Int
    /// Bytes after decompression: 2 · rows · d · element bytes.
    public var rawSize: Int
    /// CRC-32 of the compressed frame bytes.
    public var crc: UInt32
    /// Tokens in the chunk (w, or fewer for the document's last chunk); 0 = not written yet.
    public var rows: Int

    public init(offset: Int, compressedSize: Int, rawSize: Int, crc: UInt32, rows: Int) {
        self.offset = offset
        self.compressedSize = compressedSize
        self.rawSize = rawSize
        self.crc = crc
        self.rows = rows
    }

    /// Reads entry bytes (little-endian u64 offset, u32 compressed, u32 raw, u32 crc, u32 rows).
    @inline(__always)
    public init(at p: UnsafeRawPointer) {
        // Read from disk: an offset past Int.max becomes negative, which `loadFrame` rejects (no trap).
        offset = Int(truncatingIfNeeded: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
        compressedSize = Int(UInt32(littleEndian: (p + 8).loadUnaligned(as: UInt32.self)))
        rawSize = Int(UInt32(littleEndian: (p + 12).loadUnaligned(as: UInt32.self)))
        crc = UInt32(littleEndian: (p + 16).loadUnaligned(as: UInt32.self))
        rows = Int(UInt32(littleEndian: (p + 20).loadUnaligned(as: UInt32.self)))
    }

    /// The 24 serialized bytes.
    public func encoded() -> [UInt8] {
        var b = LEBytes(count: BundleFormat.seekEntryBytes)
        b.put64(UInt64(offset), at: 0)
        b.put32(UInt32(compressedSize), at: 8)
        b.put32(UInt32(rawSize), at: 12)
        b.put32(crc, at: 16)
        b.put32(UInt32(rows), at: 20)
        return b.bytes
    }
}

/// The 64-byte header of summaries.f32, bounds.f32 and reps.f32 (FORMAT.md §4): f32 rows per (layer, group, chunk).
public struct RowsHeader: Equatable, Sendable {
    /// Which rows file.
    public enum Kind: String, Sendable {
        /// Chunk summaries per (layer, query head): groups H, width d.
        case summaries
        /// Quest key bounds per (layer, KV head): groups G, width 2·d (minimum then maximum).
        case bounds
        /// Representative keys per (layer, KV head): groups G, width r·d (r keys, best first).
        case representatives

        /// The file's magic (8 bytes) and name.
        private var file: (magic: String, name: String) {
            switch self {
            case .summaries: return ("LHXSUMM\0", BundleFormat.summariesFile)
            case .bounds: return ("LHXBNDS\0", BundleFormat.boundsFile)
            case .representatives: return ("LHXREPS\0", BundleFormat.representativesFile)
            }
        }
        var magic: [UInt8] { Array(file.magic.utf8) }
        var fileName: String { file.name }
        var name: String { rawValue }
    }

    public var kind: Kind
    public var version: UInt32 = 1
    public var layers: Int
    /// Heads per layer (H for summaries, G for bounds and representatives).
    public var groups: Int
    /// Floats per row.
    public var width: Int
    /// Rows per (layer, group): the stride between groups.
    public var capacityChunks: Int
    /// Complete document chunks (rows holding data when the bundle is complete).
    public var documentChunks: Int

    public init(kind: Kind, layers: Int, groups: Int, width: Int, capacityChunks: Int, documentChunks: Int) {
        self.kind = kind
        self.layers = layers
        self.groups = groups
        self.width = width
        self.capacityChunks = capacityChunks
        self.documentChunks = documentChunks
    }

    /// Bytes of the whole file.
    public var fileBytes: Int { BundleFormat.headerBytes + layers * groups * capacityChunks * width * 4 }

    /// Serialized: magic, version, flags (0), L, groups, width, capacity, document chunks, reserved, CRC-32.
    public func encoded() -> [UInt8] {
        var b = LEBytes(count: BundleFormat.headerBytes)
        b.bytes.replaceSubrange(0..<8, with: kind.magic)
        for (i, v) in [version, 0, UInt32(layers), UInt32(groups), UInt32(width), UInt32(capacityChunks),
                       UInt32(documentChunks)].enumerated() {
            b.put32(v, at: 8 + 4 * i)
        }
        b.put32(b.crc(0..<60), at: 60)
        return b.bytes
    }

    /// Parses and checks a header against the file size.
    public init(decoding raw: UnsafeRawBufferPointer, kind: Kind, path: String) throws {
        self.kind = kind
        let b = try LEBytes.checkedHeader(raw, magic: kind.magic, kind: kind.name, path: path)
        version = b.get32(8)
        guard b.get32(12) == 0 else { throw LHError.badFile(path: path, reason: "unknown flag bits 0x\(String(b.get32(12), radix: 16)) set") }
        layers = Int(b.get32(16)); groups = Int(b.get32(20)); width = Int(b.get32(24))
        capacityChunks = Int(b.get32(28)); documentChunks = Int(b.get32(32))
        guard (36..<60).allSatisfy({ b.bytes[$0] == 0 }) else { throw LHError.badFile(path: path, reason: "reserved header bytes are not zero") }
        guard layers > 0, groups > 0, width > 0, documentChunks <= capacityChunks else {
            throw LHError.badFile(path: path, reason: "inconsistent header dimensions")
        }
        guard let floats = BundleFormat.product([layers, groups, capacityChunks, width, 4]),
              raw.count - BundleFormat.headerBytes == floats else {
            let says = BundleFormat.product([layers, groups, capacityChunks, width, 4]).map { "\($0 + BundleFormat.headerBytes)" } ?? "more than can exist"
            throw LHError.badFile(path: path, reason: "truncated or padded: \(raw.count) bytes, the header says \(says)")
        }
    }
}
