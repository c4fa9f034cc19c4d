// Rotary position embedding in llama.cpp's "normal" mode: adjacent pairs (x[2i], x[2i+1]) rotate together.
import Foundation
import LHCore

/// Precomputed cos/sin tables for RoPE, grown on demand.
///
/// Angles follow ggml's computation exactly (f32: θ_0 = p, θ_{i+1} = θ_i · base^(-2/d); the angle of pair i is
/// `frequencyScale · θ_i / factor_i`), so rotations match llama.cpp's bit for bit up to the libm's cos/sin.
public final class RoPE: @unchecked Sendable {
    /// Head dimension d.
    public let dimension: Int
    /// Frequency base.
    public let base: Float
    /// Linear scaling of positions (1 / rope.scaling.factor; 1 without scaling).
    public let frequencyScale: Float
    /// Llama 3's per-pair divisors of the angle (d/2), or nil.
    public let frequencyFactors: [Float]?
    private var table: [Float] = []    // (positions, d/2, 2): cos, sin
    private var positions = 0

    public init(dimension: Int, base: Float, frequencyScale: Float = 1, frequencyFactors: [Float]? = nil) {
        precondition(frequencyFactors == nil || frequencyFactors!.count == dimension / 2, "one RoPE factor per pair")
        self.dimension = dimension
        self.base = base
        self.frequencyScale = frequencyScale
        self.frequencyFactors = frequencyFactors
    }

    /// Makes the table cover positions `0..<count`. Not thread-safe: call it before parallel work.
    public func reserve(positions count: Int) {
        guard count > positions else { return }
        let count = max(count, positions * 2)     // geometric growth: incremental callers stay linear
        let half = dimension / 2
        let thetaScale = powf(base, -2.0 / Float(dimension))
        var t = [Float](repeating: 0, count: count * dimension)
        t.withUnsafeMutableBufferPointer { t in
            for p in 0..<count {
                var theta = Float(p)
                for i in 0..<half {
                    let angle = frequencyScale * (frequencyFactors.map { theta / $0[i] } ?? theta)
                    t[p * dimension + 2 * i] = cosf(angle)
                    t[p * dimension + 2 * i + 1] = sinf(angle)
                    theta *= thetaScale
                }
            }
        }
        table = t
        positions = count
    }

    /// Rotates `heads` consecutive d-vectors at `x` by position `p` (negative rotates backwards).
    ///
    /// The table must already cover |p| (`reserve(positions:)`): rotating never grows it, so
    /// concurrent calls from the pool's tasks only read.
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, position p: Int) {
        let d = dimension
        let ap = abs(p)
        precondition(ap < positions, "RoPE position \(p) beyond the reserved \(positions): call reserve(positions:) first")
        let sign: Float = p < 0 ? -1 : 1
        table.withUnsafeBufferPointer { t in
            let cs = t.baseAddress! + ap * d
            for h in 0..<heads {
                let v = x + h * d
                for i in stride(from: 0, to: d, by: 2) {
                    let c = cs[i], s = sign * cs[i + 1]
                    let a = v[i], b = v[i + 1]
                    v[i] = a * c - b * s
                    v[i + 1] = a * s + b * c
                }
            }
        }
    }
}
