// lh_sgemm.h: single-threaded, re-entrant f32 matrix multiply (sgemm) for lhindex's own thread pool.
//
// Why this exists: Debian's OpenBLAS 0.3.21 (pthread build) serialises concurrent sgemm calls made from two
// threads. Measured on the 2-core AMD EPYC build machine: 88 GF/s from one calling thread, and still 88 GF/s in
// total when two threads call cblas_sgemm at the same time; its own 2-thread mode scales poorly as well. lhindex
// therefore splits matrix products over its persistent thread pool itself, and needs an sgemm that every pool
// thread can call independently: no locks, no shared mutable state, no threads of its own.
//
// Implementation (sgemm.c, sgemm_avx2.c, sgemm_small.c): BLIS-style cache blocking around a 6x16 AVX2/FMA
// micro-kernel (12 ymm accumulators, broadcast one operand, load a packed 16-wide panel of the other), with k split
// into blocks of at most 256. NN and NT with many rows of A pack B into 16-column panels; NT with fewer rows
// computes C^T = B * A^T so that only A is transposed and the big B is read in place; NT with a handful of rows uses
// dot products along k, and NN with few rows reads B in place. Packing uses a per-thread buffer of 1 MB, allocated
// on a thread's first call and freed when the thread exits. The AVX2/FMA path is chosen once at run time from the
// CPU features; otherwise a scalar fallback gives the same results up to float rounding. On AVX-512 CPUs the packed
// products use 12x16 AVX-512 tiles (sgemm_avx512.c) over the same panels, again equal up to rounding.
//
// All matrices are row-major (like cblas with CblasRowMajor); lda, ldb, ldc are row strides in elements and must
// be at least the row width. Any m, n, k >= 1 works; calls with m <= 0 or n <= 0 do nothing, and k <= 0 or
// alpha == 0 give C = beta * C without reading A or B (as in BLAS).

#ifndef LH_SGEMM_H
#define LH_SGEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C (m x n) = alpha * A (m x k) * B^T + beta * C, where B is given as n rows of k (i.e. "NT": both operands
/// k-contiguous). lda, ldb, ldc are row strides in elements. beta == 0 means C is not read (may hold NaN).
/// Single-threaded; re-entrant (callable from several threads at once on different outputs); uses only the
/// stack and a per-thread packing buffer.
void lh_sgemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// C (m x n) = alpha * A (m x k) * B (k x n) + beta * C ("NN": B is k rows of n). Same rules as lh_sgemm_nt.
void lh_sgemm_nn(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// The portable scalar fallbacks that lh_sgemm_nt / lh_sgemm_nn use when the CPU lacks AVX2 or FMA. Exposed so
/// tests can check them on machines that do have AVX2; same contract as above.
void lh_sgemm_nt_scalar(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
void lh_sgemm_nn_scalar(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

#ifdef __cplusplus
}
#endif

#endif
