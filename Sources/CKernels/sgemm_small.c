// sgemm_small.c: owns the AVX2/FMA dot-product kernel for NT products with few rows of A: tiles of up to 3 rows of
// A by 4 (or 8) rows of B, accumulated along k on the unpacked operands and reduced horizontally at the end. For a
// handful of rows (and up to a dozen when k is long) this beats packing or transposing either operand; sgemm_avx2.c
// also sends leftover rows and the out-of-memory fallback here.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/// C (m x n) = alpha * A (m x k) * B^T + beta * C with B given as n rows of k; used by sgemm_avx2.c.
void lh_sgemm_avx2_nt_dot(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

// MARK: - NT with few rows: dot products along k on unpacked operands

/// Sums of the 8 lanes of each of v0..v3, as the 4 lanes of the result.
INLINE AVX2 __m128 hsum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/// -1 (all bits) for the first 8 ints, then 0: loading 8 ints at mask_src + 8 - t gives a mask of t lanes.
static const int32_t mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/// Accumulates acc[r][s] += A[r][p:p+8] * B[s][p:p+8] (lane-wise) for the rows in ar and bs.
INLINE AVX2 void dot_step(const int R, const int S, int64_t p, const float *const *ar, const float *const *bs,
                          __m256 acc[3][8]) {
    __m256 av[3];
    for (int r = 0; r < R; r++) av[r] = _mm256_loadu_ps(ar[r] + p);
    for (int s = 0; s < S; s++) {
        const __m256 bv = _mm256_loadu_ps(bs[s] + p);
        for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
    }
}

/// C[0:rows, 0:cols] = alpha * A[0:rows, :] . B[0:cols, :] + beta * C for rows <= R, cols <= S (S = 4 or 8).
/// Missing rows and columns repeat row 0 and have their results dropped. Each B row's line at offset pf (in
/// floats; the same columns of the next group of B rows, or 0) is prefetched, since B usually streams from memory.
INLINE AVX2 void dot_tile(const int R, const int S, int64_t k, const float *a, int64_t lda, int64_t rows,
                          const float *b, int64_t ldb, int64_t cols, int64_t pf, float *c, int64_t ldc,
                          float alpha, float beta) {
    const float *ar[3], *bs[8];
    __m256 acc[3][8];
    for (int r = 0; r < R; r++) {
        ar[r] = a + (r < rows ? r : 0) * lda;
        for (int s = 0; s < S; s++) acc[r][s] = _mm256_setzero_ps();
    }
    for (int s = 0; s < S; s++) bs[s] = b + (s < cols ? s : 0) * ldb;
    int64_t p = 0;
    const int64_t pf_end = pf ? k : 0;
    for (; p + 16 <= pf_end; p += 16) {
        for (int s = 0; s < S; s++) _mm_prefetch((const char *)(bs[s] + pf + p), _MM_HINT_T0);
        dot_step(R, S, p, ar, bs, acc);
        dot_step(R, S, p + 8, ar, bs, acc);
    }
    for (; p + 16 <= k; p += 16) {
        dot_step(R, S, p, ar, bs, acc);
        dot_step(R, S, p + 8, ar, bs, acc);
    }
    if (p + 8 <= k) {
        dot_step(R, S, p, ar, bs, acc);
        p += 8;
    }
    if (p < k) {
        const __m256i mask = _mm256_loadu_si256((const __m256i *)(mask_src + 8 - (k - p)));
        __m256 av[3];
        for (int r = 0; r < R; r++) av[r] = _mm256_maskload_ps(ar[r] + p, mask);
        for (int s = 0; s < S; s++) {
            const __m256 bv = _mm256_maskload_ps(bs[s] + p, mask);
            for (int r = 0; r < R; r++) acc[r][s] = _mm256_fmadd_ps(av[r], bv, acc[r][s]);
        }
    }
    for (int r = 0; r < R && r < rows; r++) {
        float out[8], *cr = c + r * ldc;
        for (int s = 0; s < S; s += 4)
            _mm_storeu_ps(out + s, hsum4(acc[r][s], acc[r][s + 1], acc[r][s + 2], acc[r][s + 3]));
        for (int s = 0; s < S && s < cols; s++)
            cr[s] = beta == 0.0f ? alpha * out[s] : alpha * out[s] + beta * cr[s];
    }
}

typedef void (*dot_fn)(int64_t k, const float *a, int64_t lda, int64_t rows, const float *b, int64_t ldb,
                       int64_t cols, int64_t pf, float *c, int64_t ldc, float alpha, float beta);
#define DOT_TILE(R, S)                                                                                          \
    static AVX2 void dot_tile_##R##x##S(int64_t k, const float *a, int64_t lda, int64_t rows, const float *b,    \
                                        int64_t ldb, int64_t cols, int64_t pf, float *c, int64_t ldc,          \
                                        float alpha, float beta) {                                             \
        dot_tile(R, S, k, a, lda, rows, b, ldb, cols, pf, c, ldc, alpha, beta);                                \
    }
DOT_TILE(1, 8) DOT_TILE(2, 4) DOT_TILE(3, 4)

/// NT for small m: for each group of 4 (or 8) rows of B, every group of up to 3 rows of A, so the B rows stay in L1.
AVX2 void lh_sgemm_avx2_nt_dot(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                               const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    const int64_t step = m == 1 ? 8 : 4;
    for (int64_t j = 0; j < n; j += step) {
        const int64_t cols = min64(step, n - j);
        const float *bj = b + j * ldb;
        // Rows of up to 4 KB: prefetch the next group while the first rows of A run, as the hardware prefetcher
        // ramps up too late for such short streams when B comes from memory (measured 25 -> 37 GF/s for m = 4,
        // k = 576); longer rows stream well without, and the extra loads slow cached B down.
        int64_t pf = k <= 1024 && j + 2 * step <= n ? step * ldb : 0;
        for (int64_t i = 0; i < m;) {
            const int64_t rows = m - i == 4 ? 2 : min64(3, m - i);
            const dot_fn f = m == 1 ? dot_tile_1x8 : rows == 3 ? dot_tile_3x4 : dot_tile_2x4;
            f(k, a + i * lda, lda, rows, bj, ldb, cols, pf, c + i * ldc + j, ldc, alpha, beta);
            pf = 0;
            i += rows;
        }
    }
}

#endif
