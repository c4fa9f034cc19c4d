// Single-threaded f32 matrix products, called from the pool's tasks: lhindex's own sgemm or OpenBLAS.
//
// Why two backends: Debian's OpenBLAS serialises sgemm calls made concurrently from two threads (a
// lock), so splitting a product over the pool gains nothing with it; `lh_sgemm_*` (CKernels) is
// re-entrant. The default is the measured faster one; `LHINDEX_GEMM=openblas` selects OpenBLAS to
// compare (see README, Performance).
import CBLAS
import CKernels
import Foundation

/// Row-major single-precision matrix products.
public enum Gemm {
    /// The implementation behind `nt` and `nn`.
    public enum Backend: String, Sendable { case lhindex, openblas }

    /// Chosen once from `LHINDEX_GEMM` (default `lhindex`).
    public static let backend: Backend = {
        Backend(rawValue: ProcessInfo.processInfo.environment["LHINDEX_GEMM"] ?? "") ?? .lhindex
    }()

    /// `C (m, n) = alpha · A (m, k) · Bᵀ + beta · C` with B given as n rows of k.
    @inline(__always)
    public static func nt(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch backend {
        case .lhindex:
            lh_sgemm_nt(Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        case .openblas:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }

    /// `C (m, n) = alpha · A (m, k) · B (k, n) + beta · C`.
    @inline(__always)
    public static func nn(m: Int, n: Int, k: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch backend {
        case .lhindex:
            lh_sgemm_nn(Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        case .openblas:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }
}
