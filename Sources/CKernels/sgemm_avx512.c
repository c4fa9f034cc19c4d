// sgemm_avx512.c: owns the AVX-512 micro-kernel that sgemm_avx2.c's packed driver (gemm_packed) uses instead of
// its 6x16 AVX2 kernel when the CPU has AVX-512 F/VL (lh_use_avx512()).
//
// Why it exists: on the 2-core AVX-512 Xeon (family 6 model 207), LongHeads prefill and dense prefill spend about
// three quarters of their time in that AVX2 kernel (`perf record` of `bench --mode longheads --prompt 8192`:
// 73% in kernel_6_2_0). The AVX2 kernel keeps 12 ymm accumulators (6 rows x 16 columns) and is bound by the two
// FMA ports at 8 lanes each. This one reads the same 16-column packed panel (one 64-byte line per k step, so the
// packing and the driver are shared) as one zmm register, against up to 12 rows of A: 12 zmm accumulators,
// twice the lanes per FMA, and a column edge handled by a store mask instead of a scratch tile.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include "lh_internal.h"

#include <immintrin.h>
#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))

enum { MR512 = LH_SGEMM_AVX512_ROWS, NR = 16 };

/// The R-row tile. Tiles of at most 6 rows alternate two accumulator sets over k (p even, p odd) so that enough
/// FMAs are in flight to hide their latency; the sets are added at the end, as in the AVX2 kernel.
INLINE LH_AVX512 void ukernel(const int R, int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldbp,
                           float *c, int64_t ldc, __mmask16 cols, float alpha, float beta) {
    const int dual = R <= 6;
    __m512 x[MR512], y[MR512];
    const float *ar[MR512];
    for (int r = 0; r < R; r++) {
        ar[r] = a + r * lda;
        x[r] = y[r] = _mm512_setzero_ps();
    }
    int64_t p = 0;
    if (dual) {
        for (; p + 2 <= kc; p += 2) {
            const __m512 u0 = _mm512_loadu_ps(b), u1 = _mm512_loadu_ps(b + ldbp);
            for (int r = 0; r < R; r++) x[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r][p]), u0, x[r]);
            for (int r = 0; r < R; r++) y[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r][p + 1]), u1, y[r]);
            b += 2 * ldbp;
        }
    }
    for (; p < kc; p++) {
        const __m512 u = _mm512_loadu_ps(b);
        b += ldbp;
        for (int r = 0; r < R; r++) x[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r][p]), u, x[r]);
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        __m512 v = dual ? _mm512_add_ps(x[r], y[r]) : x[r];
        v = _mm512_mul_ps(v, va);
        float *cr = c + r * ldc;
        if (beta != 0.0f) v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(cols, cr), vb, v);
        _mm512_mask_storeu_ps(cr, cols, v);
    }
}

typedef void (*kernel512_fn)(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldbp, float *c,
                             int64_t ldc, __mmask16 cols, float alpha, float beta);
#define KERNEL512(R)                                                                                              \
    static LH_AVX512 void kernel512_##R(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldbp,     \
                                     float *c, int64_t ldc, __mmask16 cols, float alpha, float beta) {           \
        ukernel(R, kc, a, lda, b, ldbp, c, ldc, cols, alpha, beta);                                               \
    }
KERNEL512(1) KERNEL512(2) KERNEL512(3) KERNEL512(4) KERNEL512(5) KERNEL512(6)
KERNEL512(7) KERNEL512(8) KERNEL512(9) KERNEL512(10) KERNEL512(11) KERNEL512(12)
/// kernels512[R]: the R-row tile (1...12).
static const kernel512_fn kernels512[MR512 + 1] = {
    0, kernel512_1, kernel512_2, kernel512_3, kernel512_4, kernel512_5, kernel512_6,
    kernel512_7, kernel512_8, kernel512_9, kernel512_10, kernel512_11, kernel512_12};

/// Row r of A at a + r * lda (k-contiguous), row p of the 16-wide B panel at b + p * ldbp (lh_internal.h).
void lh_sgemm_avx512_tile(int64_t mr, int64_t nr, int64_t kc, const float *a, int64_t lda, const float *b,
                          int64_t ldbp, float *c, int64_t ldc, float alpha, float beta) {
    const __mmask16 cols = nr >= NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    kernels512[mr](kc, a, lda, b, ldbp, c, ldc, cols, alpha, beta);
}

#endif
