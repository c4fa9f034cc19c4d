// sgemm_avx2.c: owns the AVX2/FMA sgemm path behind lh_sgemm_nt / lh_sgemm_nn: the 6x16 micro-kernels, packing,
// the two cache-blocked drivers and the choice between them. Called only after sgemm.c has checked AVX2 and FMA.
//
// The micro-kernel broadcasts 6 k-contiguous rows of an operand read in place and multiplies them with a packed
// 16-wide panel (p-major), keeping 12 ymm accumulators. Two drivers feed it:
//   gemm_packed (NN, and NT with many rows): A in place, B packed into 16-column panels (copied for NN,
//     transposed for NT), BLIS loop order; NN with few rows reads B in place. On AVX-512 CPUs its tiles are
//     12 x 16 from sgemm_avx512.c instead.
//   nt_swapped (NT with few rows against the k-block): computes C^T = B * A^T, so B (the big weight or key
//     matrix) is read in place and only A is transposed into panels; the tiles are transposed on the way to C.
// NT with at most a few rows goes to the dot-product kernel in sgemm_small.c.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include "lh_internal.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/// MR x NR: register tile. KC_MAX: longest k-block (a packed 16-wide panel of KC_MAX rows is 16 KB, half of L1d).
/// MC_MAX: rows of A per pass over the packed B panels (MC_MAX x KC_MAX floats of A stay in L2). NC_MAX: columns
/// of B per packed block. MT_MAX: rows of A per transposed block in nt_swapped. C_BLOCK: floats of C per column
/// block in nt_swapped (192 KB, stays in L2 across the k-blocks).
enum { MR = 6, NR = 16, KC_MAX = 256, MC_MAX = 144, NC_MAX = 1024, MT_MAX = 256, C_BLOCK = 49152 };
/// Floats in the per-thread buffer: a packed B block (gemm_packed) or a transposed A block (nt_swapped).
#define SCRATCH_FLOATS ((size_t)KC_MAX * (NC_MAX > MT_MAX ? NC_MAX : MT_MAX))
/// NN products with at most this many rows of A read B in place (packing costs more than it saves).
enum { NN_DIRECT_MAX_M = 24 };

float *lh_sgemm_scratch(size_t floats);  // sgemm.c
void lh_sgemm_avx2_nt_dot(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float beta, float *c, int64_t ldc);  // sgemm_small.c

void lh_sgemm_avx2(int nt, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/// Length of the k-blocks: k split into equal blocks of at most KC_MAX.
static inline int64_t k_block(int64_t k) {
    const int64_t nkb = (k + KC_MAX - 1) / KC_MAX;
    return (k + nkb - 1) / nkb;
}

// MARK: - Micro-kernel

/// Transposes the 8x8 block whose rows are r[0..7] in place: afterwards r[q] holds column q.
INLINE AVX2 void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
        r[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
    }
}

/// Computes the R x 8H tile alpha * A[0:R, 0:kc] * Bp[0:kc, 0:8H], where row r of A starts at a + r * lda
/// (k-contiguous) and row p of the B panel at b + p * ldbp, and merges it into C (beta == 0: C is not read).
/// T == 0: C[r][j] for r < R, j < 8H, C row r at c + r * ldc. T == 1 (the NT product computed as
/// C^T = B * A^T): C[j][r] for j < mrows (<= 8H), r < R, C row j at c + j * ldc.
/// Small tiles (R * H <= 6) alternate two accumulator sets so that enough FMAs are in flight to hide their latency.
INLINE AVX2 void ukernel(const int R, const int H, const int T, int64_t kc, const float *a, int64_t lda,
                         const float *b, int64_t ldbp, float *c, int64_t ldc, int64_t mrows, float alpha,
                         float beta) {
    const int dual = R * H <= 6;
    __m256 x[MR][2], y[MR][2];
    const float *ar[MR];
    for (int r = 0; r < R; r++) {
        ar[r] = a + r * lda;
        for (int h = 0; h < H; h++) x[r][h] = y[r][h] = _mm256_setzero_ps();
    }
    int64_t p = 0;
    if (dual) {  // p and p + 1 one after the other, so that 12 accumulators + 2 B vectors + 1 broadcast fit
        for (; p + 2 <= kc; p += 2) {
            __m256 u[2];
            for (int h = 0; h < H; h++) u[h] = _mm256_loadu_ps(b + 8 * h);
            for (int r = 0; r < R; r++) {
                const __m256 s = _mm256_broadcast_ss(ar[r] + p);
                for (int h = 0; h < H; h++) x[r][h] = _mm256_fmadd_ps(s, u[h], x[r][h]);
            }
            for (int h = 0; h < H; h++) u[h] = _mm256_loadu_ps(b + ldbp + 8 * h);
            for (int r = 0; r < R; r++) {
                const __m256 s = _mm256_broadcast_ss(ar[r] + p + 1);
                for (int h = 0; h < H; h++) y[r][h] = _mm256_fmadd_ps(s, u[h], y[r][h]);
            }
            b += 2 * ldbp;
        }
    }
    for (; p < kc; p++) {
        __m256 u[2];
        for (int h = 0; h < H; h++) u[h] = _mm256_loadu_ps(b + 8 * h);
        b += ldbp;
        for (int r = 0; r < R; r++) {
            const __m256 s = _mm256_broadcast_ss(ar[r] + p);
            for (int h = 0; h < H; h++) x[r][h] = _mm256_fmadd_ps(s, u[h], x[r][h]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int r = 0; r < R; r++)
        for (int h = 0; h < H; h++) {
            if (dual) x[r][h] = _mm256_add_ps(x[r][h], y[r][h]);
            x[r][h] = _mm256_mul_ps(x[r][h], va);
        }
    if (!T) {
        for (int r = 0; r < R; r++) {
            float *cr = c + r * ldc;
            for (int h = 0; h < H; h++) {
                __m256 v = x[r][h];
                if (beta != 0.0f) v = _mm256_fmadd_ps(_mm256_loadu_ps(cr + 8 * h), vb, v);
                _mm256_storeu_ps(cr + 8 * h, v);
            }
        }
        return;
    }
    const __m128 vb4 = _mm_set1_ps(beta);
    for (int h = 0; h < H && 8 * h < mrows; h++) {
        __m256 t[8];
        for (int r = 0; r < 8; r++) t[r] = r < R ? x[r][h] : _mm256_setzero_ps();
        transpose8(t);  // t[q] = C row 8h + q, columns 0..5 (6, 7 are padding)
        for (int q = 0; q < 8; q++) {
            if (8 * h + q >= mrows) break;
            float *cq = c + (8 * h + q) * ldc;
            __m128 lo = _mm256_castps256_ps128(t[q]), hi = _mm256_extractf128_ps(t[q], 1);
            if (R == MR) {
                if (beta != 0.0f) {
                    lo = _mm_fmadd_ps(_mm_loadu_ps(cq), vb4, lo);
                    hi = _mm_fmadd_ps(_mm_castpd_ps(_mm_load_sd((const double *)(cq + 4))), vb4, hi);
                }
                _mm_storeu_ps(cq, lo);
                _mm_store_sd((double *)(cq + 4), _mm_castps_pd(hi));
            } else {
                float v[8];
                _mm_storeu_ps(v, lo);
                _mm_storeu_ps(v + 4, hi);
                for (int r = 0; r < R; r++) cq[r] = beta == 0.0f ? v[r] : v[r] + beta * cq[r];
            }
        }
    }
}

typedef void (*kernel_fn)(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldbp, float *c,
                          int64_t ldc, int64_t mrows, float alpha, float beta);
#define KERNEL(R, H, T)                                                                                     \
    static AVX2 void kernel_##R##_##H##_##T(int64_t kc, const float *a, int64_t lda, const float *b,         \
                                            int64_t ldbp, float *c, int64_t ldc, int64_t mrows, float alpha, \
                                            float beta) {                                                    \
        ukernel(R, H, T, kc, a, lda, b, ldbp, c, ldc, mrows, alpha, beta);                                   \
    }
#define KERNELS(H, T) KERNEL(1, H, T) KERNEL(2, H, T) KERNEL(3, H, T) KERNEL(4, H, T) KERNEL(5, H, T) KERNEL(6, H, T)
#define KERNEL_ROW(H, T) {0, kernel_1_##H##_##T, kernel_2_##H##_##T, kernel_3_##H##_##T, kernel_4_##H##_##T, \
                          kernel_5_##H##_##T, kernel_6_##H##_##T}
KERNELS(2, 0) KERNELS(2, 1) KERNELS(1, 1)
/// kernels[i][R]: R rows of the unpacked operand (1..MR) against the packed panel; i = 0: 16 columns stored
/// plainly, i = 1 or 2: 8i columns stored transposed.
static const kernel_fn kernels[3][MR + 1] = {KERNEL_ROW(2, 0), KERNEL_ROW(1, 1), KERNEL_ROW(2, 1)};

/// One mr x nr tile of C against a 16-column B panel (zero-padded if packed): mr <= the tiler's row step.
typedef void (*tile_fn)(int64_t mr, int64_t nr, int64_t kc, const float *a, int64_t lda, const float *b,
                        int64_t ldbp, float *c, int64_t ldc, float alpha, float beta);

/// The AVX2 tile (mr <= MR, nr <= NR).
static AVX2 void tile(int64_t mr, int64_t nr, int64_t kc, const float *a, int64_t lda, const float *b,
                      int64_t ldbp, float *c, int64_t ldc, float alpha, float beta) {
    if (nr == NR) {
        kernels[0][mr](kc, a, lda, b, ldbp, c, ldc, 0, alpha, beta);
        return;
    }
    float t[MR * NR];
    kernels[0][mr](kc, a, lda, b, ldbp, t, NR, 0, alpha, 0.0f);
    for (int64_t r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        for (int64_t j = 0; j < nr; j++) cr[j] = beta == 0.0f ? t[r * NR + j] : t[r * NR + j] + beta * cr[j];
    }
}

// MARK: - Packing B into 16-column panels: out[p * 16 + j] = B(p, j), zero beyond nr columns

/// NT: B(p, j) = b[j * ldb + p] (b points at row jc + jr, column pc of the n x k operand).
static AVX2 void pack_nt(const float *b, int64_t ldb, int64_t nr, int64_t kc, float *out) {
    int64_t p = 0;
    if (nr == NR) {
        for (; p + 8 <= kc; p += 8) {
            for (int h = 0; h < 2; h++) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + (h * 8 + i) * ldb + p);
                transpose8(r);
                for (int q = 0; q < 8; q++) _mm256_store_ps(out + (p + q) * NR + h * 8, r[q]);
            }
        }
    }
    for (; p < kc; p++)
        for (int64_t j = 0; j < NR; j++) out[p * NR + j] = j < nr ? b[j * ldb + p] : 0.0f;
}

/// NN: B(p, j) = b[p * ldb + j] (b points at row pc, column jc + jr of the k x n operand).
static AVX2 void pack_nn(const float *b, int64_t ldb, int64_t nr, int64_t kc, float *out) {
    if (nr == NR) {
        for (int64_t p = 0; p < kc; p++) {
            _mm256_store_ps(out + p * NR, _mm256_loadu_ps(b + p * ldb));
            _mm256_store_ps(out + p * NR + 8, _mm256_loadu_ps(b + p * ldb + 8));
        }
        return;
    }
    for (int64_t p = 0; p < kc; p++)
        for (int64_t j = 0; j < NR; j++) out[p * NR + j] = j < nr ? b[p * ldb + j] : 0.0f;
}

// MARK: - Blocked drivers

/// The BLIS order: for each k-block and row block of A, each 16-column panel of B (packed, or read in place when
/// `pack` is 0 and the panel is full) against every tile of `step` rows of A (step <= MC_MAX, a divisor of it).
/// buf: KC_MAX * NC_MAX floats (unused when pack == 0).
static AVX2 void gemm_packed(int nt, int pack, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                             int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                             float *buf, tile_fn tiler, int64_t step) {
    _Alignas(64) float edge[KC_MAX * NR];  // the last, narrow B panel when B is read in place
    // Balanced block sizes: k = nkb blocks of at most kcb, m = blocks of at most mcb rows (a multiple of step).
    const int64_t kcb = k_block(k);
    const int64_t nmb = (m + MC_MAX - 1) / MC_MAX, mcb = ((m + nmb - 1) / nmb + step - 1) / step * step;
    for (int64_t jc = 0; jc < n; jc += NC_MAX) {
        const int64_t nc = min64(NC_MAX, n - jc);
        for (int64_t pc = 0; pc < k; pc += kcb) {
            const int64_t kc = min64(kcb, k - pc);
            const float beff = pc == 0 ? beta : 1.0f;
            for (int64_t ic = 0; ic < m; ic += mcb) {
                const int64_t mc = min64(mcb, m - ic);
                const float *ap = a + ic * lda + pc;
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t nr = min64(NR, nc - jr);
                    const float *bp;
                    int64_t ldbp = NR;
                    if (pack) {  // packed while the first row block runs, so the panel is still in L1
                        float *panel = buf + (jr / NR) * kc * NR;
                        if (ic == 0) {
                            if (nt) pack_nt(b + (jc + jr) * ldb + pc, ldb, nr, kc, panel);
                            else pack_nn(b + pc * ldb + jc + jr, ldb, nr, kc, panel);
                        }
                        bp = panel;
                    } else if (nr == NR) {
                        bp = b + pc * ldb + jc + jr;
                        ldbp = ldb;
                    } else {
                        pack_nn(b + pc * ldb + jc + jr, ldb, nr, kc, edge);
                        bp = edge;
                    }
                    for (int64_t ir = 0; ir < mc; ir += step)
                        tiler(min64(step, mc - ir), nr, kc, ap + ir * lda, lda, bp, ldbp,
                              c + (ic + ir) * ldc + jc + jr, ldc, alpha, beff);
                }
            }
        }
    }
}

/// NT as C^T = B * A^T: for each block of up to MT_MAX rows of A, block of columns of C (sized so that the C block
/// stays in L2 across the k-blocks) and k-block, A is transposed into 16-row panels and every 6-row tile of B, read
/// in place, runs against all of them. Only A is repacked, so this wins when m is small against the k-block.
/// buf: KC_MAX * MT_MAX floats.
static AVX2 void nt_swapped(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                            const float *b, int64_t ldb, float beta, float *c, int64_t ldc, float *buf) {
    const int64_t kcb = k_block(k);
    const int64_t nmb = (m + MT_MAX - 1) / MT_MAX, mcb = ((m + nmb - 1) / nmb + NR - 1) / NR * NR;
    for (int64_t ic = 0; ic < m; ic += mcb) {
        const int64_t mc = min64(mcb, m - ic);
        int64_t ncb = C_BLOCK / mc / MR * MR;
        if (ncb < 16 * MR) ncb = 16 * MR;
        for (int64_t jc = 0; jc < n; jc += ncb) {
            const int64_t nc = min64(ncb, n - jc);
            for (int64_t pc = 0; pc < k; pc += kcb) {
                const int64_t kc = min64(kcb, k - pc);
                const float beff = pc == 0 ? beta : 1.0f;
                for (int64_t i = 0; i < mc; i += NR)
                    pack_nt(a + (ic + i) * lda + pc, lda, min64(NR, mc - i), kc, buf + (i / NR) * kc * NR);
                for (int64_t jr = jc; jr < jc + nc; jr += MR) {
                    const int64_t nr = min64(MR, jc + nc - jr);
                    const float *bj = b + jr * ldb + pc;
                    // The k-block of each B row is a short stream (at most 1 KB) that the hardware prefetcher
                    // picks up too late when B comes from memory: fetch the next tile's rows now.
                    for (int64_t r = MR; r < min64(2 * MR, n - jr); r++)
                        for (int64_t p = 0; p < kc; p += 16)
                            _mm_prefetch((const char *)(bj + r * ldb + p), _MM_HINT_T0);
                    for (int64_t i = 0; i < mc; i += NR) {
                        const int64_t mr = min64(NR, mc - i);  // a last panel of at most 8 rows: half the work
                        kernels[mr <= 8 ? 1 : 2][nr](kc, bj, ldb, buf + (i / NR) * kc * NR, NR,
                                                     c + (ic + i) * ldc + jr, ldc, mr, alpha, beff);
                    }
                }
            }
        }
    }
}

AVX2 void lh_sgemm_avx2(int nt, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    const int wide = lh_use_avx512();
    const tile_fn tiler = wide ? lh_sgemm_avx512_tile : tile;
    const int64_t step = wide ? LH_SGEMM_AVX512_ROWS : MR;
    if (!nt) {  // NN: packing B pays off once enough rows of A reuse each panel from L1
        float *buf = m > NN_DIRECT_MAX_M ? lh_sgemm_scratch(SCRATCH_FLOATS) : NULL;
        gemm_packed(0, buf != NULL, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buf, tiler, step);
        return;
    }
    // NT. Few rows: dot products along k beat transposing either operand, for long k up to a dozen rows.
    float *buf = m <= 3 || (m <= 12 && k >= 256) ? NULL : lh_sgemm_scratch(SCRATCH_FLOATS);
    if (!buf) {
        lh_sgemm_avx2_nt_dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // Transposing A and storing C tiles transposed costs per k-block; transposing B costs per 16 rows of A. With
    // B of 2048+ rows and ~100+ rows of A, the packing loop also streams B from memory faster (measured).
    if (4 * m <= 3 * k_block(k) && (m < 96 || n < 2048)) {
        const int64_t rest = m > NR && m % NR <= 3 ? m % NR : 0;  // 1-3 leftover rows: dot products
        nt_swapped(m - rest, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buf);
        if (rest)
            lh_sgemm_avx2_nt_dot(rest, n, k, alpha, a + (m - rest) * lda, lda, b, ldb, beta, c + (m - rest) * ldc,
                                 ldc);
        return;
    }
    gemm_packed(1, 1, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buf, tiler, step);
}

#endif
