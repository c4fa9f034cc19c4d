// The engine's small matrix products (single-threaded, re-entrant: safe inside Parallel.forEach tasks).
import CKernels

/// Row-major f32 products used by window attention and summaries. One place to switch kernels.
enum MatMul {
    /// C (m, n) = alpha · A (m, k) · Bᵀ + beta · C, with B given as (n, k). Strides are row strides.
    @inline(__always)
    static func nt(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        lh_sgemm_nt(Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    }

    /// C (m, n) = alpha · A (m, k) · B (k, n) + beta · C. Strides are row strides.
    @inline(__always)
    static func nn(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        lh_sgemm_nn(Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    }

    /// Plain-loop versions (reference and fallback), same contract.
    static func ntLoops(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            let ar = a + i * lda, cr = c + i * ldc
            for j in 0..<n {
                let s = lh_dot_f32(ar, b + j * ldb, Int64(k)) * alpha
                cr[j] = beta == 0 ? s : s + beta * cr[j]
            }
        }
    }

    static func nnLoops(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            let cr = c + i * ldc
            if beta == 0 { cr.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { cr[j] *= beta } }
            let ar = a + i * lda
            for p in 0..<k where ar[p] != 0 { lh_axpy_f32(alpha * ar[p], b + p * ldb, cr, Int64(n)) }
        }
    }
}
