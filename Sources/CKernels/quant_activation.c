// quant_activation.c: owns f32 -> lh_block_q8 activation quantization for the fused decode kernels, rounded the way
// ggml rounds them, so a decode step computes what llama.cpp's does up to float summation order.
//
// ggml multiplies each weight type with activations in its vec_dot_type. On x86 with AVX2 (the llama.cpp build the
// goldens come from):
//   Q8_0 (weights Q4_0, Q5_0, Q8_0): per 32 values d = max|x| / 127 stored as f16, q = round_even(x * (127 / max|x|))
//   Q8_1 (weights Q4_1, Q5_1):       the same d and q, and s = f16(d * sum(q)) with the unrounded d
//   Q8_K (the K-quants):             per 256 values one f32 scale: with m the value of largest magnitude (the first
//                                    one), q = min(127, round_even(x * (-127 / m))), d = 1 / (-127 / m)
// All three are held as lh_block_q8 (a Q8_K super-block as 8 blocks sharing its d), with s = d * sum(q) in float
// where ggml has no s of its own (Q8_0: its kernels fold the weight offsets of Q4_0/Q5_0 into the integer sum, which
// equals d * sum(q) up to float rounding; Q8_K: bsums times d, likewise).
//
// The 32-value roundings have an AVX2 path and a scalar one that agree bit for bit; Q8_K is scalar only, as in ggml
// on x86 (one pass over a decode step's activation vector, a few microseconds).

#include "lh_internal.h"

/// The f16-rounded scale of a 32-value block with largest magnitude amax, and the multiplier its quants use.
static inline float q8_scale(float amax, float *multiplier) {
    *multiplier = amax != 0.0f ? 127.0f / amax : 0.0f;
    return lh_half_to_float(lh_float_to_half(amax / 127.0f));
}

/// Fill the block's d and s from its quants' sum (see the file comment for the two kinds of s).
static inline void q8_finish(lh_block_q8 *y, float amax, int sum, int q8_1) {
    float unused;
    y->d = q8_scale(amax, &unused);
    y->s = q8_1 ? lh_half_to_float(lh_float_to_half(amax / 127.0f * (float)sum)) : y->d * (float)sum;
}

static void quantize_q8_scalar(const float *x, lh_block_q8 *y, int64_t nb, int q8_1) {
    for (int64_t b = 0; b < nb; b++, x += 32, y++) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float mul;
        (void)q8_scale(amax, &mul);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(x[j] * mul);   // current rounding mode, like _mm256_cvtps_epi32
            y->qs[j] = (int8_t)q;
            sum += q;
        }
        q8_finish(y, amax, sum, q8_1);
    }
}

#if LH_X86
LH_AVX2 static void quantize_q8_avx2(const float *x, lh_block_q8 *y, int64_t nb, int q8_1) {
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
        const float amax = _mm_cvtss_f32(m4);
        float mul;
        (void)q8_scale(amax, &mul);
        const __m256 m = _mm256_set1_ps(mul);
        // cvtps_epi32 rounds in the current mode (nearest even by default), as nearbyintf does in the scalar path.
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, m));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, m));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, m));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, m));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
        // packs work per 128-bit lane, leaving 4-byte groups in the order 0 2 4 6 1 3 5 7; permute them back.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)y->qs, _mm256_permutevar8x32_epi32(p, lane_order));
        q8_finish(y, amax, _mm_cvtsi128_si32(s4), q8_1);
    }
}
#endif

static void quantize_q8_blocks(const float *x, lh_block_q8 *y, int64_t n, int q8_1) {
#if LH_X86
    if (lh_use_avx2()) { quantize_q8_avx2(x, y, n / 32, q8_1); return; }
#endif
    quantize_q8_scalar(x, y, n / 32, q8_1);
}

/// ggml's Q8_K rounding of n values (a multiple of LH_QK), each super-block as 8 blocks sharing its scale.
static void quantize_q8_k(const float *x, lh_block_q8 *y, int64_t n) {
    for (int64_t sb = 0; sb < n / LH_QK; sb++, x += LH_QK) {
        float amax = 0.0f, m = 0.0f;
        for (int j = 0; j < LH_QK; j++) {
            const float a = fabsf(x[j]);
            if (a > amax) { amax = a; m = x[j]; }
        }
        const float iscale = amax != 0.0f ? -127.0f / m : 0.0f;
        const float d = amax != 0.0f ? 1.0f / iscale : 0.0f;
        for (int b = 0; b < LH_QK / 32; b++, y++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                int q = (int)nearbyintf(iscale * x[32 * b + j]);
                q = q < 127 ? q : 127;
                y->qs[j] = (int8_t)q;
                sum += q;
            }
            y->d = d;
            y->s = d * (float)sum;
        }
    }
}

void lh_quantize_row_q8(const float *x, lh_block_q8 *y, int64_t n) { quantize_q8_blocks(x, y, n, 0); }

void lh_quantize_activations(int weight_type, const float *x, lh_block_q8 *y, int64_t n) {
    switch (weight_type) {
    case LH_TYPE_Q4_1: case LH_TYPE_Q5_1: quantize_q8_blocks(x, y, n, 1); break;
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K:
        quantize_q8_k(x, y, n);
        break;
    default: quantize_q8_blocks(x, y, n, 0); break;
    }
}
