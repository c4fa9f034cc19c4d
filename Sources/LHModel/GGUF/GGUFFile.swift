// GGUF reader over a memory map: header, metadata, tensor infos, with every count and offset bounds-checked.
//
// Layout (little-endian), GGUF versions 2 and 3:
//
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//   metadata_kv_count × { string key | u32 value_type | value }
//   tensor_count × { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32)
//   tensor data: each tensor at data_start + offset (offset a multiple of the alignment)
//
//   string = u64 length | length bytes of UTF-8 (no terminator)
//   value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string,
//                9 array { u32 element_type | u64 count | values }, 10 u64, 11 i64, 12 f64
//   ne[0] is the contiguous (innermost) dimension: a weight with ne = [cols, rows] is stored row-major.
import LHCore

/// A metadata value of a GGUF file.
public enum GGUFValue: Sendable {
    case uint(UInt64)
    case int(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])
}

/// One tensor's header entry plus a pointer to its data inside the map.
public struct GGUFTensorInfo: Sendable {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions in ggml order: `dims[0]` is the contiguous one (columns of a weight matrix).
    public let dims: [Int]
    /// Storage type.
    public let type: GGMLType
    /// Byte offset of the data from the start of the file.
    public let fileOffset: Int
    /// Size of the data in bytes.
    public let byteCount: Int
    /// Number of elements.
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A parsed GGUF file. Tensor data stays in the memory map, or in a huge-page copy (see `WeightResidency`).
public final class GGUFFile: @unchecked Sendable {
    /// The mapped file.
    public let file: MappedFile
    /// GGUF format version (2 or 3).
    public let version: UInt32
    /// Metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Tensors by name.
    public let tensorsByName: [String: GGUFTensorInfo]
    /// The path the file was opened from.
    public var path: String { file.path }

    /// Opens and validates a GGUF file.
    /// - Throws: `LHError.io` if the file cannot be read, `LHError.badFile` naming what is wrong
    ///   (magic, version, counts, offsets) with the value found and the value expected.
    /// - Parameters:
    ///   - metadataOnly: read the header and metadata only, leaving `tensors` empty (enough
    ///     for a tokenizer; a model whose tensor types lhindex cannot run still opens).
    ///   - residency: how the tensor data is held once the file has been checked (default: `WeightResidency`'s
    ///     choice for the file's size; always mapped with `metadataOnly`).
    public init(path: String, metadataOnly: Bool = false, residency: MappedFile.Residency? = nil) throws {
        let file = try MappedFile(path: path)
        var r = GGUFCursor(file: file)
        let magic = try r.u32()
        guard magic == 0x4655_4747 else {
            throw LHError.badFile(path: path, reason: "not a GGUF file (magic 0x\(String(magic, radix: 16)), expected 0x46554747 \"GGUF\")")
        }
        version = try r.u32()
        guard version == 2 || version == 3 else {
            throw LHError.badFile(path: path, reason: "GGUF version \(version) is not supported (expected 2 or 3)")
        }
        let tensorCount = try r.count(try r.u64(), what: "tensor count", minBytesEach: 24)
        let kvCount = try r.count(try r.u64(), what: "metadata count", minBytesEach: 12)

        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(kvCount)
        for _ in 0..<kvCount {
            let key = try r.string()
            guard metadata[key] == nil else { throw LHError.badFile(path: path, reason: "duplicate metadata key '\(key)'") }
            let type = try r.u32()
            metadata[key] = try r.value(type: type, depth: 0)
        }
        self.metadata = metadata
        if metadataOnly {
            self.file = file
            tensors = []
            tensorsByName = [:]
            return
        }

        var infos: [(String, [Int], UInt32, UInt64)] = []
        infos.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try r.string()
            let nDims = try r.u32()
            guard nDims >= 1 && nDims <= 4 else {
                throw LHError.badFile(path: path, reason: "tensor '\(name)' has \(nDims) dimensions (expected 1 to 4)")
            }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64()
                guard d > 0 && d < (1 << 40) else { throw LHError.badFile(path: path, reason: "tensor '\(name)' has dimension \(d)") }
                dims.append(Int(d))
            }
            infos.append((name, dims, try r.u32(), try r.u64()))
        }

        var alignment = 32
        if let a = metadata[GGUFKey.alignment] {
            guard case let .uint(v) = a, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw LHError.badFile(path: path, reason: "general.alignment must be a power of two")
            }
            alignment = Int(v)
        }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment

        var tensors: [GGUFTensorInfo] = []
        var byName: [String: GGUFTensorInfo] = [:]
        for (name, dims, rawType, offset) in infos {
            guard byName[name] == nil else { throw LHError.badFile(path: path, reason: "duplicate tensor '\(name)'") }
            let type = GGMLType(rawValue: rawType)
            guard let blockElems = type.blockElements, let blockBytes = type.blockBytes else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(name)' has type \(type.name); supported types are \(GGMLType.supportedNames)")
            }
            // Dimensions come from disk: their product must not wrap around (no overflow checks in release builds).
            var elements = 1
            for d in dims {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, p < 1 << 48 else {
                    throw LHError.badFile(path: path, reason: "tensor '\(name)' has dimensions \(dims), more elements than any file can hold")
                }
                elements = p
            }
            // A valid file (ggml writes such tensors only for other backends) that lhindex cannot compute with:
            // every kernel works on whole blocks of a row.
            guard dims[0] % blockElems == 0 else {
                throw LHError.unsupportedModel(path: path, reason: "tensor '\(name)' has rows of \(dims[0]) elements, not a multiple of the \(type.name) block size \(blockElems)")
            }
            let bytes = elements / blockElems * blockBytes
            guard offset % UInt64(alignment) == 0, offset < UInt64(file.count),
                  file.contains(offset: dataStart + Int(offset), count: bytes) else {
                throw LHError.badFile(path: path, reason: "tensor '\(name)' data (offset \(offset), \(bytes) bytes) lies outside the file of \(file.count) bytes (truncated?)")
            }
            let info = GGUFTensorInfo(name: name, dims: dims, type: type, fileOffset: dataStart + Int(offset), byteCount: bytes)
            tensors.append(info)
            byName[name] = info
        }
        self.tensors = tensors
        self.tensorsByName = byName
        // The checked offsets hold for the copy only if it has the same size (the file may change meanwhile).
        if (residency ?? WeightResidency.preferred(fileBytes: file.count)) == .hugePageCopy {
            let copy = try MappedFile(path: path, residency: .hugePageCopy)
            guard copy.count == file.count else {
                throw LHError.badFile(path: path, reason: "changed size while being loaded (\(file.count) then \(copy.count) bytes)")
            }
            self.file = copy
        } else {
            self.file = file
        }
    }

    /// Pointer to a tensor's first byte inside the map.
    public func data(_ tensor: GGUFTensorInfo) -> UnsafeRawPointer { file.base + tensor.fileOffset }

    // MARK: typed metadata access

    /// An integer value of any GGUF integer type.
    public func int(_ key: String) -> Int? {
        switch metadata[key] {
        case let .uint(v)?: return Int(exactly: v)
        case let .int(v)?: return Int(exactly: v)
        default: return nil
        }
    }

    /// A floating-point value (integers are accepted too).
    public func float(_ key: String) -> Double? {
        switch metadata[key] {
        case let .float(v)?: return v
        case let .uint(v)?: return Double(v)
        case let .int(v)?: return Double(v)
        default: return nil
        }
    }

    /// A boolean value.
    public func bool(_ key: String) -> Bool? {
        if case let .bool(v)? = metadata[key] { return v }
        return nil
    }

    /// A string value.
    public func string(_ key: String) -> String? {
        if case let .string(v)? = metadata[key] { return v }
        return nil
    }

    /// An array of strings.
    public func stringArray(_ key: String) -> [String]? {
        guard case let .array(values)? = metadata[key] else { return nil }
        var out: [String] = []
        out.reserveCapacity(values.count)
        for v in values { guard case let .string(s) = v else { return nil }; out.append(s) }
        return out
    }

    /// An array of integers.
    public func intArray(_ key: String) -> [Int]? {
        guard case let .array(values)? = metadata[key] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            switch v {
            case let .int(i): out.append(Int(i))
            case let .uint(u): out.append(Int(truncatingIfNeeded: u))
            default: return nil
            }
        }
        return out
    }
}
