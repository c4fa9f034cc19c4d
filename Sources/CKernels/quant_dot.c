// quant_dot.c: owns the fused dequantize-and-dot kernels of Q4_0/Q4_1/Q8_0 weight rows with q8 activations.
//
// For a weight block (scale dw, offset mw) and an activation block (scale dx, sum term sx = dx * sum(qx)):
//   Q4_1: dot = dw*dx*sum(q*qx) + mw*sx           with q in [0, 15]
//   Q4_0: dot = dw*dx*sum(q*qx) - 8*dw*sx          (the -8 of (q - 8) folded into the offset, so mw = -8*dw)
//   Q8_0: dot = dw*dx*sum(q*qx)                    with q in [-128, 127]
// The integer sums are exact; only the float accumulation differs between the AVX2 and scalar paths.
// Each weight row is multiplied by up to TILE activation vectors at once, so it is read from memory once and
// then from L1 for the remaining tiles.

#include "lh_internal.h"

/// Activation vectors handled per pass over a weight row.
#define TILE 4

// ---- scalar path ----

static float q4_row_dot_scalar(const uint8_t *row, int q41, int64_t nb, const lh_block_q8 *x) {
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++, x++) {
        const uint8_t *qs;
        float dw, mw;
        if (q41) {
            const lh_blk_q4_1 *blk = (const lh_blk_q4_1 *)row + b;
            dw = lh_half_to_float(blk->d);
            mw = lh_half_to_float(blk->m);
            qs = blk->qs;
        } else {
            const lh_blk_q4_0 *blk = (const lh_blk_q4_0 *)row + b;
            dw = lh_half_to_float(blk->d);
            mw = -8.0f * dw;
            qs = blk->qs;
        }
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += (qs[j] & 0xF) * x->qs[j] + (qs[j] >> 4) * x->qs[j + 16];
        acc += dw * x->d * (float)sum + mw * x->s;
    }
    return acc;
}

static float q8_row_dot_scalar(const uint8_t *row, int64_t nb, const lh_block_q8 *x) {
    const lh_blk_q8_0 *blk = (const lh_blk_q8_0 *)row;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++, blk++, x++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += blk->qs[j] * x->qs[j];
        acc += lh_half_to_float(blk->d) * x->d * (float)sum;
    }
    return acc;
}

static void rows_quant_scalar(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                              const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i = 0; i < m; i++) {
            const lh_block_q8 *x = xq + i * nb;
            y[i * y_stride + r] = type == LH_TYPE_Q8_0 ? q8_row_dot_scalar(row, nb, x)
                                                       : q4_row_dot_scalar(row, type == LH_TYPE_Q4_1, nb, x);
        }
    }
}

// ---- AVX2 path ----

#if LH_X86
/// Sum of u8 x s8 products as 8 int32 lanes converted to float: maddubs gives 16 int16 pair sums (at most
/// 2 * 128 * 127 in magnitude, so no saturation), madd with ones widens pairs of them to int32.
LH_AVX2 static inline __m256 dot_u8s8(__m256i u, __m256i s) {
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

/// The 32 nibbles of a Q4 block as bytes in element order: low nibbles (elements 0..15) in the low lane,
/// high nibbles (elements 16..31) in the high lane.
LH_AVX2 static inline __m256i unpack_q4(const uint8_t *qs) {
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// out[i] = dot(Q4 row, x[i]) for i < mt (mt a compile-time constant after inlining); x[i] = xq + i * nb.
/// With a single vector, even and odd blocks go to separate accumulators to halve the FMA dependency chain.
LH_AVX2 static inline __attribute__((always_inline)) void
q4_row_tile(const uint8_t *row, int q41, int64_t nb, const lh_block_q8 *xq, int mt, float *out) {
    const size_t bsz = q41 ? sizeof(lh_blk_q4_1) : sizeof(lh_blk_q4_0);
    const size_t qoff = q41 ? offsetof(lh_blk_q4_1, qs) : offsetof(lh_blk_q4_0, qs);
    __m256 acc[TILE], acc2 = _mm256_setzero_ps();
    float offs[TILE], offs2 = 0.0f;
    for (int i = 0; i < mt; i++) { acc[i] = _mm256_setzero_ps(); offs[i] = 0.0f; }
    int64_t b = 0;
    if (mt == 1) {
        for (; b + 1 < nb; b += 2) {
            const uint8_t *b0 = row + (size_t)b * bsz, *b1 = b0 + bsz;
            const float d0 = _cvtsh_ss(lh_load_u16(b0)), d1 = _cvtsh_ss(lh_load_u16(b1));
            const float m0 = q41 ? _cvtsh_ss(lh_load_u16(b0 + 2)) : -8.0f * d0;
            const float m1 = q41 ? _cvtsh_ss(lh_load_u16(b1 + 2)) : -8.0f * d1;
            const lh_block_q8 *x0 = xq + b, *x1 = x0 + 1;
            const __m256 p0 = dot_u8s8(unpack_q4(b0 + qoff), _mm256_loadu_si256((const __m256i *)x0->qs));
            const __m256 p1 = dot_u8s8(unpack_q4(b1 + qoff), _mm256_loadu_si256((const __m256i *)x1->qs));
            acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * x0->d), p0, acc[0]);
            acc2 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * x1->d), p1, acc2);
            offs[0] += m0 * x0->s;
            offs2 += m1 * x1->s;
        }
    }
    for (; b < nb; b++) {
        const uint8_t *blk = row + (size_t)b * bsz;
        const float dw = _cvtsh_ss(lh_load_u16(blk));
        const float mw = q41 ? _cvtsh_ss(lh_load_u16(blk + 2)) : -8.0f * dw;
        const __m256i q = unpack_q4(blk + qoff);
        for (int i = 0; i < mt; i++) {
            const lh_block_q8 *x = xq + i * nb + b;
            const __m256 p = dot_u8s8(q, _mm256_loadu_si256((const __m256i *)x->qs));
            acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x->d), p, acc[i]);
            offs[i] += mw * x->s;
        }
    }
    acc[0] = _mm256_add_ps(acc[0], acc2);
    offs[0] += offs2;
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]) + offs[i];
}

/// out[i] = dot(Q8_0 row, x[i]) for i < mt. s8 x s8 products go through maddubs as |w| x (x with w's sign).
LH_AVX2 static inline __attribute__((always_inline)) void
q8_row_tile(const uint8_t *row, int64_t nb, const lh_block_q8 *xq, int mt, float *out) {
    const lh_blk_q8_0 *blk = (const lh_blk_q8_0 *)row;
    __m256 acc[TILE], acc2 = _mm256_setzero_ps();
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    int64_t b = 0;
    if (mt == 1) {
        for (; b + 1 < nb; b += 2) {
            const __m256i w0 = _mm256_loadu_si256((const __m256i *)blk[b].qs);
            const __m256i w1 = _mm256_loadu_si256((const __m256i *)blk[b + 1].qs);
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)xq[b].qs);
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)xq[b + 1].qs);
            const __m256 p0 = dot_u8s8(_mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));
            const __m256 p1 = dot_u8s8(_mm256_sign_epi8(w1, w1), _mm256_sign_epi8(x1, w1));
            acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(blk[b].d) * xq[b].d), p0, acc[0]);
            acc2 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(blk[b + 1].d) * xq[b + 1].d), p1, acc2);
        }
    }
    for (; b < nb; b++) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)blk[b].qs);
        const __m256i wabs = _mm256_sign_epi8(wq, wq);
        const float dw = _cvtsh_ss(blk[b].d);
        for (int i = 0; i < mt; i++) {
            const lh_block_q8 *x = xq + i * nb + b;
            const __m256 p = dot_u8s8(wabs, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)x->qs), wq));
            acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x->d), p, acc[i]);
        }
    }
    acc[0] = _mm256_add_ps(acc[0], acc2);
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]);
}

/// One row against activation vectors [i0, i0 + mt), specialised on the block type and tile width.
LH_AVX2 static void row_tile_avx2(int type, const uint8_t *row, int64_t nb, const lh_block_q8 *xq, int mt,
                                  float *out) {
#define LH_TILE_CASES(call) \
    switch (mt) { case 1: call(1); break; case 2: call(2); break; case 3: call(3); break; default: call(4); break; }
#define LH_Q40(k) q4_row_tile(row, 0, nb, xq, k, out)
#define LH_Q41(k) q4_row_tile(row, 1, nb, xq, k, out)
#define LH_Q80(k) q8_row_tile(row, nb, xq, k, out)
    switch (type) {
    case LH_TYPE_Q4_0: LH_TILE_CASES(LH_Q40) break;
    case LH_TYPE_Q4_1: LH_TILE_CASES(LH_Q41) break;
    default: LH_TILE_CASES(LH_Q80) break;
    }
#undef LH_TILE_CASES
#undef LH_Q40
#undef LH_Q41
#undef LH_Q80
}

LH_AVX2 static void rows_quant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                                    const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    float out[TILE];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i0 = 0; i0 < m; i0 += TILE) {
            const int mt = m - i0 < TILE ? (int)(m - i0) : TILE;
            row_tile_avx2(type, row, nb, xq + i0 * nb, mt, out);
            for (int i = 0; i < mt; i++) y[(i0 + i) * y_stride + r] = out[i];
        }
    }
}
#endif

void lh_rows_quant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
#if LH_X86
    if (lh_use_avx2()) { rows_quant_avx2(type, w, row_bytes, r0, r1, cols / 32, xq, y, y_stride, m); return; }
#endif
    rows_quant_scalar(type, w, row_bytes, r0, r1, cols / 32, xq, y, y_stride, m);
}
