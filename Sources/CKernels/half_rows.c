// half_rows.c: owns rows kept in f16 to halve their memory: conversion rounded in a chosen direction (key bounds
// that stay bounds) and the product of f32 rows with f16 rows (Quest scores over a document's or corpus's bounds).
//
// Why C: the product converts each f16 element in a register (F16C) right before its FMA, so a bound table is read
// once at half the bytes; Swift cannot reach F16C with run-time dispatch.

#include "lh_internal.h"
#include "lh_sgemm.h"

/// Largest finite half.
#define HALF_MAX 65504.0f

/// The half next to `h` towards -infinity (up == 0) or +infinity (up != 0); h is finite.
static uint16_t half_step(uint16_t h, int up) {
    const int negative = (h & 0x8000) != 0, zero = (h & 0x7FFF) == 0;
    if (zero) return up ? 0x0001 : 0x8001;
    return (negative == (up != 0)) ? (uint16_t)(h - 1) : (uint16_t)(h + 1);
}

static uint16_t half_directed_scalar(float x, int up) {
    if (x != x) x = -HALF_MAX;                                // as the AVX2 path's max/min treat NaN
    x = x > HALF_MAX ? HALF_MAX : (x < -HALF_MAX ? -HALF_MAX : x);
    uint16_t h = lh_float_to_half(x);
    const float back = lh_half_to_float(h);
    if (up ? back < x : back > x) h = half_step(h, up);
    return h;
}

#if LH_X86
LH_AVX2 static void f32_to_f16_directed_avx2(const float *x, uint16_t *y, int64_t n, int up) {
    const __m256 hi = _mm256_set1_ps(HALF_MAX), lo = _mm256_set1_ps(-HALF_MAX);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        // Clamped to the finite halves first; max returns its second operand for NaN, so NaN becomes -65504.
        const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(x + i), lo), hi);
        const __m128i h = up ? _mm256_cvtps_ph(v, _MM_FROUND_TO_POS_INF) : _mm256_cvtps_ph(v, _MM_FROUND_TO_NEG_INF);
        _mm_storeu_si128((__m128i *)(y + i), h);
    }
    for (; i < n; i++) y[i] = half_directed_scalar(x[i], up);
}

/// c[i][j] = sum_p a[i][p] * half(b[j][p]) (+ beta * c[i][j]) for m <= 4 rows of a, b read once in place.
LH_AVX2 static void gemm_nt_f16b_rows_avx2(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                           const uint16_t *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    const int64_t kv = k & ~(int64_t)7;
    for (int64_t j = 0; j < n; j++) {
        const uint16_t *bj = b + j * ldb;
        __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t p = 0; p < kv; p += 8) {
            const __m256 bv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(bj + p)));
            for (int64_t i = 0; i < m; i++) s[i] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + p), bv, s[i]);
        }
        for (int64_t i = 0; i < m; i++) {
            float t = lh_hsum_ps(s[i]);
            for (int64_t p = kv; p < k; p++) t += a[i * lda + p] * lh_half_to_float(bj[p]);
            float *cij = c + i * ldc + j;
            *cij = beta == 0.0f ? t : t + beta * *cij;
        }
    }
}

/// gemm_nt_f16b_rows_avx2 with the rows of b in pairs: row j in the low 256 bits of a register and row j + 1 in the
/// high, each half doing exactly the AVX2 kernel's operations on its row and reduced as it is, so the results are
/// the same bit for bit (tested) with half the conversions and FMAs. Quest scores at a million tokens spent a
/// quarter of an answer token here.
LH_AVX512 static void gemm_nt_f16b_rows_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                               const uint16_t *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    const int64_t kv = k & ~(int64_t)7;
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
        const uint16_t *b0 = b + j * ldb, *b1 = b0 + ldb;
        __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t p = 0; p < kv; p += 8) {
            const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + p))),
                                                      _mm_loadu_si128((const __m128i *)(b1 + p)), 1);
            const __m512 bv = _mm512_cvtph_ps(h);
            for (int64_t i = 0; i < m; i++) s[i] = _mm512_fmadd_ps(_mm512_broadcast_f32x8(_mm256_loadu_ps(a + i * lda + p)), bv, s[i]);
        }
        for (int64_t i = 0; i < m; i++) {
            for (int r = 0; r < 2; r++) {
                const uint16_t *bj = r ? b1 : b0;
                float t = lh_hsum_ps(r ? _mm512_extractf32x8_ps(s[i], 1) : _mm512_castps512_ps256(s[i]));
                for (int64_t p = kv; p < k; p++) t += a[i * lda + p] * lh_half_to_float(bj[p]);
                float *cij = c + i * ldc + j + r;
                *cij = beta == 0.0f ? t : t + beta * *cij;
            }
        }
    }
    if (j < n) gemm_nt_f16b_rows_avx2(m, n - j, k, a, lda, b + j * ldb, ldb, beta, c + j, ldc);
}
#endif

void lh_f32_to_f16_directed(const float *x, uint16_t *y, int64_t n, int up) {
#if LH_X86
    if (lh_use_avx2()) { f32_to_f16_directed_avx2(x, y, n, up); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = half_directed_scalar(x[i], up);
}

/// Rows of b converted per tile for the many-row product: a tile of TILE_FLOATS floats stays in L1/L2.
#define TILE_FLOATS 8192

void lh_sgemm_nt_f16b(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
                      float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
#if LH_X86
    if (lh_use_avx512() && m <= 4) { gemm_nt_f16b_rows_avx512(m, n, k, a, lda, b, ldb, beta, c, ldc); return; }
    if (lh_use_avx2() && m <= 4) { gemm_nt_f16b_rows_avx2(m, n, k, a, lda, b, ldb, beta, c, ldc); return; }
#endif
    if (k <= 0 || k > TILE_FLOATS) {
        // Degenerate or very wide rows: one element at a time.
        for (int64_t i = 0; i < m; i++) {
            for (int64_t j = 0; j < n; j++) {
                float t = 0.0f;
                for (int64_t p = 0; p < k; p++) t += a[i * lda + p] * lh_half_to_float(b[j * ldb + p]);
                c[i * ldc + j] = beta == 0.0f ? t : t + beta * c[i * ldc + j];
            }
        }
        return;
    }
    // Many rows of a: convert a tile of b's rows to f32, then one f32 product per tile.
    float tile[TILE_FLOATS];
    const int64_t rows = TILE_FLOATS / k;
    for (int64_t j0 = 0; j0 < n; j0 += rows) {
        const int64_t nj = n - j0 < rows ? n - j0 : rows;
        for (int64_t j = 0; j < nj; j++) lh_f16_to_f32(b + (j0 + j) * ldb, tile + j * k, k);
        lh_sgemm_nt(m, nj, k, 1.0f, a, lda, tile, k, beta, c + j0, ldc);
    }
}
