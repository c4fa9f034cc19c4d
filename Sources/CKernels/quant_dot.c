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
/// Blocks whose scales are prepared at once (a multiple of 8); bounds the kernel's stack tables.
#define SEG 64

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

/// The 32 nibbles of a Q4 block as bytes in element order: the 16 bytes are loaded into both lanes, the high
/// lane shifted right by 4, and both masked, giving elements 0..15 (low nibbles) then 16..31 (high nibbles).
LH_AVX2 static inline __m256i unpack_q4(const uint8_t *qs) {
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    const __m256i shifted = _mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
}

/// Weight-block scale halves as one 32-bit word (low half first): (d, m) for Q4_1, (d, d) for Q4_0, (d, 0)
/// for Q8_0, so that converting them and multiplying by (dx, sx) gives (dw*dx, offset term) for every type.
static inline uint32_t scale_word(int type, const uint8_t *blk) {
    if (type == LH_TYPE_Q4_1) return lh_load_u32(blk);
    const uint32_t d = lh_load_u16(blk);
    return type == LH_TYPE_Q4_0 ? d * 0x10001u : d;
}

/// out[i] = dot(row, x[i]) for i < mt (type and mt compile-time constants after inlining); x[i] is vector i of
/// xq (nb blocks each) and xs + i * xs_stride its (dx, sx) pairs.
/// Per segment of SEG blocks, the scales are prepared first: 8 blocks' scale words are copied into a table and
/// converted with two vcvtph2ps, multiplied by (dx, sx), the products stored for the integer loop and their
/// odd lanes (offset terms) accumulated. The integer loop then takes each block's dw*dx with a broadcast load,
/// which keeps F16 conversions and register broadcasts (shuffle-port bound on Zen 3) out of the inner loop.
/// With a single vector, even and odd blocks go to separate accumulators to halve the FMA dependency chain.
LH_AVX2 static inline __attribute__((always_inline)) void
quant_row_tile(int type, const uint8_t *row, int64_t nb, const lh_block_q8 *xq, const float *xs, int64_t xs_stride,
               int mt, float *out) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    const size_t qoff = type == LH_TYPE_Q4_1 ? offsetof(lh_blk_q4_1, qs) : offsetof(lh_blk_q4_0, qs);
    __m256 acc[TILE], offs[TILE], acc2 = _mm256_setzero_ps();
    _Alignas(32) float sc[TILE][2 * SEG];
    _Alignas(16) uint32_t words[SEG];
    for (int i = 0; i < mt; i++) { acc[i] = _mm256_setzero_ps(); offs[i] = _mm256_setzero_ps(); }
    for (int64_t s0 = 0; s0 < nb; s0 += SEG) {
        const int ns = nb - s0 < SEG ? (int)(nb - s0) : SEG;
        const int ns8 = (ns + 7) & ~7;
        const uint8_t *seg = row + (size_t)s0 * bsz;
        for (int k = 0; k < ns; k++) words[k] = scale_word(type, seg + (size_t)k * bsz);
        for (int k = ns; k < ns8; k++) words[k] = 0;
        for (int k = 0; k < ns8; k += 4) {
            const __m256 wdm = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(words + k)));
            for (int i = 0; i < mt; i++) {
                const __m256 p = _mm256_mul_ps(wdm, _mm256_loadu_ps(xs + i * xs_stride + 2 * (s0 + k)));
                offs[i] = _mm256_add_ps(offs[i], p);
                _mm256_store_ps(sc[i] + 2 * k, p);
            }
        }
        const lh_block_q8 *xb = xq + s0;
        int k = 0;
        if (mt == 1) {
            for (; k + 1 < ns; k += 2) {
                const uint8_t *b0 = seg + (size_t)k * bsz, *b1 = b0 + bsz;
                __m256 p0, p1;
                if (type == LH_TYPE_Q8_0) {
                    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(b0 + 2));
                    const __m256i w1 = _mm256_loadu_si256((const __m256i *)(b1 + 2));
                    const __m256i x0 = _mm256_loadu_si256((const __m256i *)xb[k].qs);
                    const __m256i x1 = _mm256_loadu_si256((const __m256i *)xb[k + 1].qs);
                    p0 = dot_u8s8(_mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));
                    p1 = dot_u8s8(_mm256_sign_epi8(w1, w1), _mm256_sign_epi8(x1, w1));
                } else {
                    p0 = dot_u8s8(unpack_q4(b0 + qoff), _mm256_loadu_si256((const __m256i *)xb[k].qs));
                    p1 = dot_u8s8(unpack_q4(b1 + qoff), _mm256_loadu_si256((const __m256i *)xb[k + 1].qs));
                }
                acc[0] = _mm256_fmadd_ps(p0, _mm256_broadcast_ss(sc[0] + 2 * k), acc[0]);
                acc2 = _mm256_fmadd_ps(p1, _mm256_broadcast_ss(sc[0] + 2 * k + 2), acc2);
            }
        }
        for (; k < ns; k++) {
            const uint8_t *blk = seg + (size_t)k * bsz;
            __m256i wv, wsign = _mm256_setzero_si256();
            if (type == LH_TYPE_Q8_0) {
                wsign = _mm256_loadu_si256((const __m256i *)(blk + 2));
                wv = _mm256_sign_epi8(wsign, wsign);
            } else {
                wv = unpack_q4(blk + qoff);
            }
            for (int i = 0; i < mt; i++) {
                __m256i xv = _mm256_loadu_si256((const __m256i *)xb[i * nb + k].qs);
                if (type == LH_TYPE_Q8_0) xv = _mm256_sign_epi8(xv, wsign);
                acc[i] = _mm256_fmadd_ps(dot_u8s8(wv, xv), _mm256_broadcast_ss(sc[i] + 2 * k), acc[i]);
            }
        }
    }
    acc[0] = _mm256_add_ps(acc[0], acc2);
    const float koff = type == LH_TYPE_Q4_1 ? 1.0f : -8.0f;
    for (int i = 0; i < mt; i++) {
        float sum = lh_hsum_ps(acc[i]);
        if (type != LH_TYPE_Q8_0) sum += koff * lh_hsum_ps(_mm256_blend_ps(_mm256_setzero_ps(), offs[i], 0xAA));
        out[i] = sum;
    }
}

/// One row against activation vectors [0, mt), specialised on the block type and tile width.
LH_AVX2 static void row_tile_avx2(int type, const uint8_t *row, int64_t nb, const lh_block_q8 *xq, const float *xs,
                                  int64_t xs_stride, int mt, float *out) {
#define LH_TILE_CASES(t) \
    switch (mt) { \
    case 1: quant_row_tile(t, row, nb, xq, xs, xs_stride, 1, out); break; \
    case 2: quant_row_tile(t, row, nb, xq, xs, xs_stride, 2, out); break; \
    case 3: quant_row_tile(t, row, nb, xq, xs, xs_stride, 3, out); break; \
    default: quant_row_tile(t, row, nb, xq, xs, xs_stride, 4, out); break; \
    }
    switch (type) {
    case LH_TYPE_Q4_0: LH_TILE_CASES(LH_TYPE_Q4_0) break;
    case LH_TYPE_Q4_1: LH_TILE_CASES(LH_TYPE_Q4_1) break;
    default: LH_TILE_CASES(LH_TYPE_Q8_0) break;
    }
#undef LH_TILE_CASES
}

LH_AVX2 static void rows_quant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                                    const lh_block_q8 *xq, const float *xs, float *y, int64_t y_stride, int64_t m) {
    const int64_t xs_stride = lh_q8_pairs_stride(nb);
    float out[TILE];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i0 = 0; i0 < m; i0 += TILE) {
            const int mt = m - i0 < TILE ? (int)(m - i0) : TILE;
            row_tile_avx2(type, row, nb, xq + i0 * nb, xs + i0 * xs_stride, xs_stride, mt, out);
            for (int i = 0; i < mt; i++) y[(i0 + i) * y_stride + r] = out[i];
        }
    }
}
#endif

void lh_q8_pairs(const lh_block_q8 *xq, int64_t nb, int64_t m, float *xs) {
    const int64_t stride = lh_q8_pairs_stride(nb);
    for (int64_t i = 0; i < m; i++, xs += stride) {
        for (int64_t b = 0; b < nb; b++) {
            xs[2 * b] = xq[i * nb + b].d;
            xs[2 * b + 1] = xq[i * nb + b].s;
        }
        for (int64_t b = 2 * nb; b < stride; b++) xs[b] = 0.0f;
    }
}

void lh_rows_quant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const lh_block_q8 *xq, const float *xs, float *y, int64_t y_stride, int64_t m) {
#if LH_X86
    if (lh_use_avx2()) { rows_quant_avx2(type, w, row_bytes, r0, r1, cols / 32, xq, xs, y, y_stride, m); return; }
#endif
    rows_quant_scalar(type, w, row_bytes, r0, r1, cols / 32, xq, y, y_stride, m);
}
