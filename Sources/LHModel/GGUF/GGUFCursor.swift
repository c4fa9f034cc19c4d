// Bounds-checked little-endian reading of GGUF header fields from a memory map.
import LHCore

/// Reads primitive GGUF values sequentially, throwing `LHError.badFile` instead of reading past the end.
struct GGUFCursor {
    let file: MappedFile
    private(set) var offset = 0

    init(file: MappedFile) { self.file = file }

    private func truncated(_ what: String) -> LHError {
        .badFile(path: file.path, reason: "truncated GGUF header: \(what) at byte \(offset) runs past the end of the \(file.count)-byte file")
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard file.contains(offset: offset, count: size) else { throw truncated("\(size)-byte field") }
        let v = T(littleEndian: file.base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return v
    }

    mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }

    /// Validates an element count against the bytes left (each element needs at least `minBytesEach`).
    func count(_ n: UInt64, what: String, minBytesEach: Int) throws -> Int {
        let left = UInt64(file.count - offset)
        guard n <= left / UInt64(max(minBytesEach, 1)) else {
            throw LHError.badFile(path: file.path, reason: "\(what) \(n) is impossible for a file with \(left) bytes left at byte \(offset) (truncated or corrupt)")
        }
        return Int(n)
    }

    mutating func string() throws -> String {
        let n = try count(try u64(), what: "string length", minBytesEach: 1)
        let bytes = UnsafeRawBufferPointer(start: file.base + offset, count: n)
        offset += n
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads one metadata value of GGUF type `type` (arrays nest at most a few levels).
    mutating func value(type: UInt32, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try u8()))
        case 1: return .int(Int64(Int8(bitPattern: try u8())))
        case 2: return .uint(UInt64(try load(UInt16.self)))
        case 3: return .int(Int64(try load(Int16.self)))
        case 4: return .uint(UInt64(try u32()))
        case 5: return .int(Int64(try load(Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try u32())))
        case 7: return .bool(try u8() != 0)
        case 8: return .string(try string())
        case 9:
            guard depth < 4 else { throw LHError.badFile(path: file.path, reason: "metadata arrays nested too deeply at byte \(offset)") }
            let elementType = try u32()
            let n = try count(try u64(), what: "array length", minBytesEach: 1)
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try value(type: elementType, depth: depth + 1)) }
            return .array(values)
        case 10: return .uint(try u64())
        case 11: return .int(try load(Int64.self))
        case 12: return .float(Double(bitPattern: try u64()))
        default:
            throw LHError.badFile(path: file.path, reason: "unknown metadata value type \(type) at byte \(offset) (expected 0 to 12)")
        }
    }
}
