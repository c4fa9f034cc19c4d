// Row-wise elementwise operations of the forward pass (RMSNorm, SwiGLU/GeGLU, biases, residual add, softmax).
import CKernels
import Foundation

/// Elementwise kernels over row-major f32 matrices. Plain loops (the compiler vectorizes them), except the gated
/// activations, which need exp (CKernels).
public enum TensorOps {
    /// `out[r] = x[r] / sqrt(mean(x[r]²) + eps) ⊙ weight` for `rows` rows of `n`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, weight: [Float], eps: Float, rows: Int, n: Int,
                               out: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                let xr = x + r * n, o = out + r * n
                var ss: Float = 0
                for i in 0..<n { ss += xr[i] * xr[i] }
                let scale = 1 / (ss / Float(n) + eps).squareRoot()
                for i in 0..<n { o[i] = xr[i] * scale * w[i] }
            }
        }
    }

    /// Values per task when a gated activation is split over the pool: one decode step's feed-forward row stays
    /// on the calling thread, a prompt batch is split.
    static let gluGrain = 16384

    /// `gate = silu(gate) ⊙ up`, elementwise over `count` values (AVX2 exp in CKernels, split over the pool).
    public static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        Parallel.forRanges(count, grain: gluGrain) { r, _ in
            lh_swiglu_f32(gate + r.lowerBound, up + r.lowerBound, Int64(r.count))
        }
    }

    /// `gate = gelu(gate) ⊙ up` (GELU's tanh approximation, as ggml), elementwise over `count` values (AVX2 exp
    /// in CKernels, split over the pool).
    public static func geGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        Parallel.forRanges(count, grain: gluGrain) { r, _ in
            lh_geglu_f32(gate + r.lowerBound, up + r.lowerBound, Int64(r.count))
        }
    }

    /// `x[r] += b` for each of `rows` rows of `b.count` values.
    public static func addToRows(_ x: UnsafeMutablePointer<Float>, _ b: [Float], rows: Int) {
        b.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                let xr = x + r * b.count
                for i in 0..<b.count { xr[i] += b[i] }
            }
        }
    }

    /// `x *= s` over `count` values.
    public static func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
        for i in 0..<count { x[i] *= s }
    }

    /// Reorders each of `vectors` consecutive d-vectors from halves (x[0..<d/2], x[d/2..<d]) to interleaved pairs
    /// (x[0], x[d/2], x[1], x[d/2+1], ...): half-split RoPE becomes adjacent-pair RoPE. Dot products between
    /// vectors reordered the same way are unchanged.
    public static func interleaveHalves(_ x: UnsafeMutablePointer<Float>, vectors: Int, d: Int) {
        let half = d / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { tmp in
            for v in 0..<vectors {
                let xv = x + v * d
                for i in 0..<half {
                    tmp[2 * i] = xv[i]
                    tmp[2 * i + 1] = xv[half + i]
                }
                xv.update(from: tmp.baseAddress!, count: d)
            }
        }
    }

    /// `x += y` over `count` values.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// In-place softmax of `n` values; they sum to 1 afterwards (vectorised exp in CKernels).
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        lh_softmax_f32(x, Int64(n))
    }

    /// log-softmax value of entry `index` of `n` logits.
    public static func logProbability(_ logits: UnsafePointer<Float>, count n: Int, index: Int) -> Double {
        var mx = -Float.infinity
        for i in 0..<n { mx = max(mx, logits[i]) }
        var sum: Double = 0
        for i in 0..<n { sum += Double(expf(logits[i] - mx)) }
        return Double(logits[index] - mx) - log(sum)
    }
}
