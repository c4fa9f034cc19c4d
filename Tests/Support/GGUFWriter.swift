// Writes GGUF files from tests: tiny models and deliberately broken files.
import Foundation

/// Builds a GGUF v3 file in memory.
public struct GGUFWriter {
    public enum Value {
        case u32(UInt32), i32(Int32), f32(Float), bool(Bool), string(String)
        case strings([String]), i32s([Int32]), f32s([Float])
    }
    public struct Tensor { var name: String; var dims: [Int]; var type: UInt32; var data: Data }

    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    public var alignment = 32

    public init() {}

    public mutating func set(_ key: String, _ value: Value) { metadata.append((key, value)) }
    public mutating func add(_ name: String, dims: [Int], type: UInt32, data: Data) {
        tensors.append(Tensor(name: name, dims: dims, type: type, data: data))
    }

    public func encoded() -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); d.append(contentsOf: Array(s.utf8)) }
        d.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata {
            str(k)
            switch v {
            case let .u32(x): u32(4); u32(x)
            case let .i32(x): u32(5); u32(UInt32(bitPattern: x))
            case let .f32(x): u32(6); u32(x.bitPattern)
            case let .bool(x): u32(7); d.append(x ? 1 : 0)
            case let .string(s): u32(8); str(s)
            case let .strings(a): u32(9); u32(8); u64(UInt64(a.count)); a.forEach(str)
            case let .i32s(a): u32(9); u32(5); u64(UInt64(a.count)); a.forEach { u32(UInt32(bitPattern: $0)) }
            case let .f32s(a): u32(9); u32(6); u64(UInt64(a.count)); a.forEach { u32($0.bitPattern) }
            }
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.dims.count))
            t.dims.forEach { u64(UInt64($0)) }
            u32(t.type)
            u64(UInt64(o))
        }
        while d.count % alignment != 0 { d.append(0) }
        for t in tensors {
            d.append(t.data)
            while d.count % alignment != 0 { d.append(0) }
        }
        return d
    }

    public func write(to url: URL) throws { try encoded().write(to: url) }
}
