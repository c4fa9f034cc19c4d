// Naive reference quantizers (ggml block layouts) used to build test weights.
import Foundation

public enum TestQuant {
    public static func f16Bits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

    /// Encodes `values` (a multiple of 32 for block types) in ggml type `type`.
    public static func encode(_ values: [Float], type: UInt32) -> Data {
        var d = Data()
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        switch type {
        case 0: values.forEach { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        case 1: values.forEach { u16(f16Bits($0)) }
        case 30: values.forEach { u16(UInt16($0.bitPattern >> 16)) }
        case 8:   // Q8_0
            for b in stride(from: 0, to: values.count, by: 32) {
                let blk = values[b..<b + 32]
                let amax = blk.map(abs).max()!
                let scale = amax / 127
                u16(f16Bits(scale))
                let inv: Float = scale == 0 ? 0 : 1 / Float(Float16(scale))
                for v in blk { d.append(UInt8(bitPattern: Int8(max(-127, min(127, (v * inv).rounded()))))) }
            }
        case 2:   // Q4_0
            for b in stride(from: 0, to: values.count, by: 32) {
                let blk = Array(values[b..<b + 32])
                let mx = blk.max { abs($0) < abs($1) }!
                let scale = mx / -8
                u16(f16Bits(scale))
                let inv: Float = scale == 0 ? 0 : 1 / Float(Float16(scale))
                func q(_ v: Float) -> UInt8 { UInt8(max(0, min(15, (v * inv + 8.5).rounded(.down)))) }
                for j in 0..<16 { d.append(q(blk[j]) | (q(blk[j + 16]) << 4)) }
            }
        case 3:   // Q4_1
            for b in stride(from: 0, to: values.count, by: 32) {
                let blk = Array(values[b..<b + 32])
                let lo = blk.min()!, hi = blk.max()!
                let scale = (hi - lo) / 15
                u16(f16Bits(scale)); u16(f16Bits(lo))
                let inv: Float = scale == 0 ? 0 : 1 / Float(Float16(scale))
                func q(_ v: Float) -> UInt8 { UInt8(max(0, min(15, ((v - lo) * inv + 0.5).rounded(.down)))) }
                for j in 0..<16 { d.append(q(blk[j]) | (q(blk[j + 16]) << 4)) }
            }
        default: fatalError("type \(type)")
        }
        return d
    }
}
