// quant_dot_k_avx2.c: owns the AVX2 dot products of K-quant (Q2_K..Q6_K) weight rows with q8 activations.
//
// Per 32-value sub-block the quants are unpacked to 32 unsigned bytes in element order, multiplied with the
// activation's signed bytes by _mm256_maddubs_epi16 (16 int16 pair sums: element pairs 0..15 in the low lane, 16..31
// in the high lane) and widened by _mm256_madd_epi16 with the integer sub-block scales (the low lane's 8 int16 get
// the first 16-value scale, the high lane's the second), so each sub-block costs one int->float conversion and one
// FMA with the activation scale; the f16 super-block scale is applied once per 256 values. Signed quants (Q3_K:
// q - 4, Q6_K: q - 32) subtract maddubs(bias, qx), keeping maddubs' unsigned operand in range. No int16 saturation:
// |pair sum| <= 2 * 63 * 127 + 2 * 32 * 127 < 32768. See quant_dot_k.c for the formula.

#include "lh_internal.h"

#if LH_X86

/// Bytes ahead of the current super-block that the kernels prefetch (see PREFETCH_AHEAD in quant_dot.c).
#define K_PREFETCH_AHEAD 2048

typedef float (*kdot_fn)(const uint8_t *row, int64_t nsb, const lh_block_q8 *x);

LH_AVX2 static inline __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Prefetch the cache lines of the super-block K_PREFETCH_AHEAD bytes after `blk`.
LH_AVX2 static inline void prefetch_block(const uint8_t *blk, size_t bsz) {
    for (size_t off = 0; off < bsz; off += 64) _mm_prefetch((const char *)blk + K_PREFETCH_AHEAD + off, _MM_HINT_T0);
}

/// The scales of 16-value sub-blocks 2k and 2k+1 as 16 int16 lanes (8 of each, sign-extended) from 16 int8 scales;
/// `pick` holds the byte indices (2k eight times, then 2k+1 eight times).
LH_AVX2 static inline __m256i scale_pair(__m128i scales8, __m128i pick) {
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
}

/// The first `pick` for scale_pair (k = 0) and the step to the next k.
LH_AVX2 static inline __m128i first_pick(void) { return _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1); }
LH_AVX2 static inline __m128i next_pick(__m128i pick) { return _mm_add_epi8(pick, _mm_set1_epi8(2)); }

/// sum over 16-value halves of scale * (q - bias) * qx as 8 int32 lanes (q unsigned bytes, bias a byte vector).
LH_AVX2 static inline __m256i biased_scaled_dot(__m256i q, __m256i qx, __m256i bias, __m256i scales16) {
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, qx), _mm256_maddubs_epi16(bias, qx));
    return _mm256_madd_epi16(p, scales16);
}

/// Bytes equal to `value` where bit `bit` of the corresponding byte of `bits` is set, else 0.
LH_AVX2 static inline __m256i bit_to_bytes(__m256i bits, int bit, int value) {
    const __m256i mask = _mm256_set1_epi8((char)(1 << bit));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bits, mask), mask), _mm256_set1_epi8((char)value));
}

/// Right shift of every byte by n (0..7), through 16-bit shifts; the caller masks the bits shifted in.
LH_AVX2 static inline __m256i shift_bytes(__m256i v, int n) { return _mm256_srl_epi16(v, _mm_cvtsi32_si128(n)); }

LH_AVX2 static float dot_q2_k(const uint8_t *row, int64_t nsb, const lh_block_q8 *x) {
    const __m256i three = _mm256_set1_epi8(3), ones = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; sb++, x += 8) {
        const lh_blk_q2_k *b = (const lh_blk_q2_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        const __m128i raw = _mm_loadu_si128((const __m128i *)b->scales);
        const __m128i scales = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
        __m128i pick = first_pick();
        __m256 sacc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
        for (int h = 0; h < 2; h++) {
            const __m256i qs = load32(b->qs + 32 * h);
            for (int c = 0; c < 4; c++, pick = next_pick(pick)) {
                const lh_block_q8 *xb = x + 4 * h + c;
                const __m256i qx = load32(xb->qs);
                const __m256i q = _mm256_and_si256(shift_bytes(qs, 2 * c), three);
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, qx), scale_pair(scales, pick));
                const __m256i pm = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, qx), scale_pair(mins, pick));
                const __m256 dx = _mm256_broadcast_ss(&xb->d);
                sacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), dx, sacc);
                macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pm), dx, macc);
            }
        }
        acc = _mm256_fmadd_ps(sacc, _mm256_set1_ps(lh_half_to_float(b->d)), acc);
        acc = _mm256_fnmadd_ps(macc, _mm256_set1_ps(lh_half_to_float(b->dmin)), acc);
    }
    return lh_hsum_ps(acc);
}

LH_AVX2 static float dot_q3_k(const uint8_t *row, int64_t nsb, const lh_block_q8 *x) {
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; sb++, x += 8) {
        const lh_blk_q3_k *b = (const lh_blk_q3_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        int8_t sc[16];
        lh_k3_scales(b->scales, sc);
        const __m128i scales = _mm_loadu_si128((const __m128i *)sc);
        const __m256i hmask = load32(b->hmask);
        __m128i pick = first_pick();
        __m256 sacc = _mm256_setzero_ps();
        for (int h = 0; h < 2; h++) {
            const __m256i qs = load32(b->qs + 32 * h);
            for (int c = 0; c < 4; c++, pick = next_pick(pick)) {
                const lh_block_q8 *xb = x + 4 * h + c;
                const __m256i qx = load32(xb->qs);
                // q + 4 in [0, 7]: the two low bits, plus 4 where the hmask bit is set
                const __m256i q = _mm256_or_si256(_mm256_and_si256(shift_bytes(qs, 2 * c), three),
                                                  bit_to_bytes(hmask, 4 * h + c, 4));
                const __m256i p = biased_scaled_dot(q, qx, four, scale_pair(scales, pick));
                sacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&xb->d), sacc);
            }
        }
        acc = _mm256_fmadd_ps(sacc, _mm256_set1_ps(lh_half_to_float(b->d)), acc);
    }
    return lh_hsum_ps(acc);
}

/// Q4_K (qh NULL) and Q5_K: one 6-bit scale and min per 32 values; the mins meet the activation sums sx.
LH_AVX2 static inline __attribute__((always_inline)) float
dot_q45_k(int five, const uint8_t *row, int64_t nsb, const lh_block_q8 *x) {
    const size_t bsz = five ? sizeof(lh_blk_q5_k) : sizeof(lh_blk_q4_k);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    float min_total = 0.0f;
    for (int64_t sb = 0; sb < nsb; sb++, x += 8) {
        const uint8_t *blk = row + (size_t)sb * bsz;
        prefetch_block(blk, bsz);
        const uint8_t *scales = blk + offsetof(lh_blk_q4_k, scales);   // same offset in lh_blk_q5_k
        const uint8_t *qs = blk + (five ? offsetof(lh_blk_q5_k, qs) : offsetof(lh_blk_q4_k, qs));
        const __m256i qh = five ? load32(blk + offsetof(lh_blk_q5_k, qh)) : _mm256_setzero_si256();
        __m256 sacc = _mm256_setzero_ps();
        float mins = 0.0f;
        for (int g = 0; g < 4; g++) {
            const __m256i bytes = load32(qs + 32 * g);
            for (int c = 0; c < 2; c++) {
                const int s = 2 * g + c;
                const lh_block_q8 *xb = x + s;
                uint8_t sc, mn;
                lh_k4_scale_min(scales, s, &sc, &mn);
                __m256i q = _mm256_and_si256(c ? _mm256_srli_epi16(bytes, 4) : bytes, low4);
                if (five) q = _mm256_or_si256(q, bit_to_bytes(qh, s, 16));
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load32(xb->qs)), _mm256_set1_epi16(sc));
                sacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&xb->d), sacc);
                mins += (float)mn * xb->s;
            }
        }
        acc = _mm256_fmadd_ps(sacc, _mm256_set1_ps(lh_half_to_float(lh_load_u16(blk))), acc);
        min_total += lh_half_to_float(lh_load_u16(blk + 2)) * mins;
    }
    return lh_hsum_ps(acc) - min_total;
}

LH_AVX2 static float dot_q4_k(const uint8_t *row, int64_t nsb, const lh_block_q8 *x) { return dot_q45_k(0, row, nsb, x); }
LH_AVX2 static float dot_q5_k(const uint8_t *row, int64_t nsb, const lh_block_q8 *x) { return dot_q45_k(1, row, nsb, x); }

LH_AVX2 static float dot_q6_k(const uint8_t *row, int64_t nsb, const lh_block_q8 *x) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; sb++, x += 8) {
        const lh_blk_q6_k *b = (const lh_blk_q6_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        const __m128i scales = _mm_loadu_si128((const __m128i *)b->scales);
        __m128i pick = first_pick();
        __m256 sacc = _mm256_setzero_ps();
        for (int h = 0; h < 2; h++) {
            const __m256i la = load32(b->ql + 64 * h), lb = load32(b->ql + 64 * h + 32);
            const __m256i hi = load32(b->qh + 32 * h);
            // q + 32 in [0, 63]: 4 low bits from ql, bits 2c and 2c+1 of qh moved to bits 4 and 5
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(la, low4), _mm256_and_si256(_mm256_slli_epi16(hi, 4), high2));
            q[1] = _mm256_or_si256(_mm256_and_si256(lb, low4), _mm256_and_si256(_mm256_slli_epi16(hi, 2), high2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), low4), _mm256_and_si256(hi, high2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), low4),
                                   _mm256_and_si256(_mm256_srli_epi16(hi, 2), high2));
            for (int c = 0; c < 4; c++, pick = next_pick(pick)) {
                const lh_block_q8 *xb = x + 4 * h + c;
                const __m256i p = biased_scaled_dot(q[c], load32(xb->qs), bias, scale_pair(scales, pick));
                sacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&xb->d), sacc);
            }
        }
        acc = _mm256_fmadd_ps(sacc, _mm256_set1_ps(lh_half_to_float(b->d)), acc);
    }
    return lh_hsum_ps(acc);
}

static kdot_fn kdot_for(int type) {
    switch (type) {
    case LH_TYPE_Q2_K: return dot_q2_k;
    case LH_TYPE_Q3_K: return dot_q3_k;
    case LH_TYPE_Q4_K: return dot_q4_k;
    case LH_TYPE_Q5_K: return dot_q5_k;
    default: return dot_q6_k;
    }
}

LH_AVX2 void lh_rows_kquant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nsb,
                                 const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    const kdot_fn dot = kdot_for(type);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i = 0; i < m; i++) y[i * y_stride + r] = dot(row, nsb, xq + i * nsb * 8);
    }
}

#endif
