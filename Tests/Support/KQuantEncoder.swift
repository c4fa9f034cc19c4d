// Plain encoders for the K-quant types (Q2_K..Q6_K) used to build test weights: per-sub-block min/max (or
// max-magnitude) scaling with the sub-block scales quantized against the super-block's largest one. Valid ggml
// blocks (layouts in lh_kernels.h), not ggml's optimised choice of scales.
import Foundation

enum KQuantEncoder {
    /// Encodes `values` (a multiple of 256) as ggml type 10...14 (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K).
    static func encode(_ values: [Float], type: UInt32) -> Data {
        var out = Data()
        for b in stride(from: 0, to: values.count, by: 256) {
            let x = Array(values[b..<b + 256])
            switch type {
            case 10: out.append(contentsOf: q2K(x))
            case 11: out.append(contentsOf: q3K(x))
            case 12: out.append(contentsOf: q45K(x, fifthBit: false))
            case 13: out.append(contentsOf: q45K(x, fifthBit: true))
            case 14: out.append(contentsOf: q6K(x))
            default: fatalError("type \(type)")
            }
        }
        return out
    }

    private static func half(_ x: Float) -> [UInt8] {
        let bits = Float16(x).bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    /// The f16 super-block scale for integer sub-block scales up to `levels`, and those scales (rounded, clamped).
    private static func superScale(_ scales: [Float], levels: Int, signed: Bool) -> (Float, [Int]) {
        let top = scales.map(abs).max()!
        let d = Float(Float16(top / Float(levels)))
        guard d > 0 else { return (0, scales.map { _ in 0 }) }
        let lo = signed ? -levels - 1 : 0
        return (d, scales.map { max(lo, min(levels, Int(($0 / d).rounded()))) })
    }

    /// Quantize x to integers in [lo, hi] with x ~ step * q - offset.
    private static func levels(_ x: ArraySlice<Float>, step: Float, offset: Float, lo: Int, hi: Int) -> [Int] {
        x.map { step == 0 ? max(lo, min(hi, 0)) : max(lo, min(hi, Int((($0 + offset) / step).rounded()))) }
    }

    /// Per-group (scale, min >= 0) with x ~ scale * q - min for q in [0, top].
    private static func affine(_ x: [Float], group: Int, top: Float) -> ([Float], [Float]) {
        var scales: [Float] = [], mins: [Float] = []
        for g in stride(from: 0, to: x.count, by: group) {
            let lo = min(0, x[g..<g + group].min()!), hi = x[g..<g + group].max()!
            scales.append((hi - lo) / top)
            mins.append(-lo)
        }
        return (scales, mins)
    }

    private static func q2K(_ x: [Float]) -> [UInt8] {
        let (scales, mins) = affine(x, group: 16, top: 3)
        let (d, sc) = superScale(scales, levels: 15, signed: false)
        let (dmin, mn) = superScale(mins, levels: 15, signed: false)
        var q = [Int]()
        for t in 0..<16 {
            q += levels(x[16 * t..<16 * t + 16], step: d * Float(sc[t]), offset: dmin * Float(mn[t]), lo: 0, hi: 3)
        }
        var qs = [UInt8](repeating: 0, count: 64)
        for i in 0..<256 { qs[32 * (i / 128) + i % 32] |= UInt8(q[i] << (2 * ((i / 32) % 4))) }
        return (0..<16).map { UInt8(sc[$0] | mn[$0] << 4) } + qs + half(d) + half(dmin)
    }

    private static func q3K(_ x: [Float]) -> [UInt8] {
        let scales = (0..<16).map { t in x[16 * t..<16 * t + 16].max { abs($0) < abs($1) }! / -4 }
        let (d, sc) = superScale(scales, levels: 31, signed: true)
        var q = [Int]()
        for t in 0..<16 { q += levels(x[16 * t..<16 * t + 16], step: d * Float(sc[t]), offset: 0, lo: -4, hi: 3) }
        var hmask = [UInt8](repeating: 0, count: 32), qs = [UInt8](repeating: 0, count: 64)
        for i in 0..<256 {
            let u = q[i] + 4, s = i / 32
            qs[32 * (i / 128) + i % 32] |= UInt8((u & 3) << (2 * (s % 4)))
            if u >= 4 { hmask[i % 32] |= UInt8(1 << s) }
        }
        var packed = [UInt8](repeating: 0, count: 12)
        for t in 0..<16 {
            let v = sc[t] + 32
            if t < 8 { packed[t] |= UInt8(v & 15) } else { packed[t - 8] |= UInt8((v & 15) << 4) }
            packed[8 + t % 4] |= UInt8((v >> 4) << (2 * (t / 4)))
        }
        return hmask + qs + packed + half(d)
    }

    private static func q45K(_ x: [Float], fifthBit: Bool) -> [UInt8] {
        let top = fifthBit ? 31 : 15
        let (scales, mins) = affine(x, group: 32, top: Float(top))
        let (d, sc) = superScale(scales, levels: 63, signed: false)
        let (dmin, mn) = superScale(mins, levels: 63, signed: false)
        var q = [Int]()
        for s in 0..<8 {
            q += levels(x[32 * s..<32 * s + 32], step: d * Float(sc[s]), offset: dmin * Float(mn[s]), lo: 0, hi: top)
        }
        var packed = [UInt8](repeating: 0, count: 12)
        for s in 0..<8 {
            if s < 4 {
                packed[s] |= UInt8(sc[s]); packed[s + 4] |= UInt8(mn[s])
            } else {
                packed[s + 4] = UInt8((sc[s] & 15) | (mn[s] & 15) << 4)
                packed[s - 4] |= UInt8((sc[s] >> 4) << 6)
                packed[s] |= UInt8((mn[s] >> 4) << 6)
            }
        }
        var qs = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 32)
        for i in 0..<256 {
            let s = i / 32, l = i % 32
            qs[32 * (s / 2) + l] |= UInt8((q[i] & 15) << (4 * (s % 2)))
            if q[i] & 16 != 0 { qh[l] |= UInt8(1 << s) }
        }
        return half(d) + half(dmin) + packed + (fifthBit ? qh : []) + qs
    }

    private static func q6K(_ x: [Float]) -> [UInt8] {
        let scales = (0..<16).map { t in x[16 * t..<16 * t + 16].max { abs($0) < abs($1) }! / -32 }
        let (d, sc) = superScale(scales, levels: 127, signed: true)
        var q = [Int]()
        for t in 0..<16 { q += levels(x[16 * t..<16 * t + 16], step: d * Float(sc[t]), offset: 0, lo: -32, hi: 31) }
        var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
        for i in 0..<256 {
            let u = q[i] + 32, h = i / 128, c = (i / 32) % 4, l = i % 32
            ql[64 * h + 32 * (c & 1) + l] |= UInt8((u & 15) << (c < 2 ? 0 : 4))
            qh[32 * h + l] |= UInt8((u >> 4) << (2 * c))
        }
        return ql + qh + sc.map { UInt8(bitPattern: Int8($0)) } + half(d)
    }
}
