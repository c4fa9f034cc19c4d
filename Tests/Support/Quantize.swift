// Naive reference quantizers (ggml block layouts) used to build test weights.
import Foundation

public enum TestQuant {
    public static func f16Bits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

    /// Encodes `values` (a multiple of 32 for the 32-value block types, of 256 for the K-quants) in ggml type `type`.
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
        case 6, 7: d.append(encodeQ5(values, withMin: type == 7))
        case 10...14: d.append(KQuantEncoder.encode(values, type: type))
        default: fatalError("type \(type)")
        }
        return d
    }

    /// Q5_0 (the value of largest magnitude maps to -16) or Q5_1 (min/max over 31 steps).
    static func encodeQ5(_ values: [Float], withMin: Bool) -> Data {
        var d = Data()
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        for b in stride(from: 0, to: values.count, by: 32) {
            let blk = Array(values[b..<b + 32])
            let offset: Float, scale: Float
            if withMin {
                offset = Float(Float16(blk.min()!))
                scale = (blk.max()! - offset) / 31
                u16(f16Bits(scale)); u16(f16Bits(offset))
            } else {
                offset = 0
                scale = blk.max { abs($0) < abs($1) }! / -16
                u16(f16Bits(scale))
            }
            let inv: Float = scale == 0 ? 0 : 1 / Float(Float16(scale))
            let q = blk.map { v in UInt8(max(0, min(31, ((v - offset) * inv + (withMin ? 0 : 16)).rounded()))) }
            var qh: UInt32 = 0
            for j in 0..<32 where q[j] & 16 != 0 { qh |= 1 << UInt32(j) }
            withUnsafeBytes(of: qh.littleEndian) { d.append(contentsOf: $0) }
            for j in 0..<16 { d.append((q[j] & 15) | (q[j + 16] & 15) << 4) }
        }
        return d
    }
}
