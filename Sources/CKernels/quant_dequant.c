// quant_dequant.c: owns the block-type table, row dequantization to f32 and f32 -> q8 activation quantization.
// (K-quant super-blocks are decoded by quant_kblocks.c.)

#include "lh_internal.h"

int64_t lh_type_block_elems(int type) {
    switch (type) {
    case LH_TYPE_F32: case LH_TYPE_F16: case LH_TYPE_BF16: return 1;
    case LH_TYPE_Q4_0: case LH_TYPE_Q4_1: case LH_TYPE_Q5_0: case LH_TYPE_Q5_1: case LH_TYPE_Q8_0: return 32;
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K: return LH_QK;
    default: return 0;
    }
}

int64_t lh_type_block_bytes(int type) {
    switch (type) {
    case LH_TYPE_F32: return 4;
    case LH_TYPE_F16: case LH_TYPE_BF16: return 2;
    case LH_TYPE_Q4_0: return (int64_t)sizeof(lh_blk_q4_0);
    case LH_TYPE_Q4_1: return (int64_t)sizeof(lh_blk_q4_1);
    case LH_TYPE_Q5_0: return (int64_t)sizeof(lh_blk_q5_0);
    case LH_TYPE_Q5_1: return (int64_t)sizeof(lh_blk_q5_1);
    case LH_TYPE_Q8_0: return (int64_t)sizeof(lh_blk_q8_0);
    case LH_TYPE_Q2_K: return (int64_t)sizeof(lh_blk_q2_k);
    case LH_TYPE_Q3_K: return (int64_t)sizeof(lh_blk_q3_k);
    case LH_TYPE_Q4_K: return (int64_t)sizeof(lh_blk_q4_k);
    case LH_TYPE_Q5_K: return (int64_t)sizeof(lh_blk_q5_k);
    case LH_TYPE_Q6_K: return (int64_t)sizeof(lh_blk_q6_k);
    default: return 0;
    }
}

/// Q5_0 (offset -16, no min) or Q5_1 (min m): the fifth bit of value j is bit j of qh.
static void dequantize_q5(int q51, const uint8_t *src, float *dst, int64_t n) {
    const size_t bsz = q51 ? sizeof(lh_blk_q5_1) : sizeof(lh_blk_q5_0);
    for (int64_t i = 0; i < n / 32; i++, src += bsz, dst += 32) {
        const float d = lh_half_to_float(lh_load_u16(src));
        const float m = q51 ? lh_half_to_float(lh_load_u16(src + 2)) : 0.0f;
        const uint32_t qh = lh_load_u32(src + (q51 ? 4 : 2));
        const uint8_t *qs = src + (q51 ? 8 : 6);
        for (int j = 0; j < 16; j++) {
            const int lo = (qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            const int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            if (q51) {
                dst[j] = (float)lo * d + m;
                dst[j + 16] = (float)hi * d + m;
            } else {
                dst[j] = (float)(lo - 16) * d;
                dst[j + 16] = (float)(hi - 16) * d;
            }
        }
    }
}

/// K-quants: x = (d * scale) * q - dmin * min per 16 values, as lh_kblock documents.
static void dequantize_kquant(int type, const uint8_t *src, float *dst, int64_t n) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    lh_kblock kb;
    for (int64_t b = 0; b < n / LH_QK; b++, src += bsz, dst += LH_QK) {
        lh_kblock_decode(type, src, &kb);
        for (int t = 0; t < 16; t++) {
            const float dl = kb.d * (float)kb.scale[t], ml = kb.dmin * (float)kb.min[t];
            for (int j = 0; j < 16; j++) dst[16 * t + j] = dl * (float)kb.q[16 * t + j] - ml;
        }
    }
}

void lh_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case LH_TYPE_Q5_0: case LH_TYPE_Q5_1:
        dequantize_q5(type == LH_TYPE_Q5_1, src, dst, n);
        break;
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K:
        dequantize_kquant(type, src, dst, n);
        break;
    case LH_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case LH_TYPE_F16:
        lh_f16_to_f32(src, dst, n);
        break;
    case LH_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = lh_bits_f32((uint32_t)s[i] << 16);
        break;
    }
    case LH_TYPE_Q4_0: {
        const lh_blk_q4_0 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)((b->qs[j] & 0xF) - 8) * d;
                dst[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
            }
        }
        break;
    }
    case LH_TYPE_Q4_1: {
        const lh_blk_q4_1 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d), m = lh_half_to_float(b->m);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)(b->qs[j] & 0xF) * d + m;
                dst[j + 16] = (float)(b->qs[j] >> 4) * d + m;
            }
        }
        break;
    }
    case LH_TYPE_Q8_0: {
        const lh_blk_q8_0 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d);
            for (int j = 0; j < 32; j++) dst[j] = (float)b->qs[j] * d;
        }
        break;
    }
    default:
        break;
    }
}

/// Block scale and its inverse from the block's max |x|; shared by both paths so they agree bit for bit.
static inline float q8_scale(float amax, float *inv) {
    const float d = amax / 127.0f;
    *inv = d != 0.0f ? 1.0f / d : 0.0f;
    return d;
}

static void quantize_q8_scalar(const float *x, lh_block_q8 *y, int64_t nb) {
    for (int64_t b = 0; b < nb; b++, x += 32, y++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float id;
        const float d = q8_scale(amax, &id);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(x[j] * id);   // current rounding mode, like _mm256_cvtps_epi32
            y->qs[j] = (int8_t)q;
            sum += q;
        }
        y->d = d;
        y->s = d * (float)sum;
    }
}

#if LH_X86
LH_AVX2 static void quantize_q8_avx2(const float *x, lh_block_q8 *y, int64_t nb) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i lane_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < nb; b++, x += 32, y++) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
        __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, abs_mask), _mm256_and_ps(v1, abs_mask)),
                                  _mm256_max_ps(_mm256_and_ps(v2, abs_mask), _mm256_and_ps(v3, abs_mask)));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float id;
        const float d = q8_scale(_mm_cvtss_f32(m4), &id);
        const __m256 mul = _mm256_set1_ps(id);
        // cvtps_epi32 rounds in the current mode (nearest even by default), as nearbyintf does in the scalar path.
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, mul));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, mul));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, mul));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, mul));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
        // packs work per 128-bit lane, leaving 4-byte groups in the order 0 2 4 6 1 3 5 7; permute them back.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)y->qs, _mm256_permutevar8x32_epi32(p, lane_order));
        y->d = d;
        y->s = d * (float)_mm_cvtsi128_si32(s4);
    }
}
#endif

void lh_quantize_row_q8(const float *x, lh_block_q8 *y, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { quantize_q8_avx2(x, y, n / 32); return; }
#endif
    quantize_q8_scalar(x, y, n / 32);
}
