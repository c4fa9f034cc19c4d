// kv_channels.c: owns the channel codes of `--kv k5v4` keys: each channel of a complete chunk's keys is quantized
// over the chunk's own range (its Quest bounds) in LH_KEY_LEVELS levels from the minimum to the maximum. 40 levels
// (5.3 bits, about 5.0 once zstd has entropy-coded them) measured as close to f16 as int8 keys: perplexity 12.3339
// against k8v4's 12.3306, where 32 levels gave 12.3923, 36 gave 12.3497, 48 gave 12.3339 (FORMAT.md §8).

#include "lh_internal.h"
#include <math.h>

void lh_quantize_channels5(const float *k, int64_t rows, int64_t d, const float *lo, const float *hi, int8_t *e) {
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t x = 0; x < d; x++) {
            const float step = lh_key_channel_step(lo[x], hi[x]);
            float c = step > 0.0f ? nearbyintf((k[t * d + x] - lo[x]) / step) : 0.0f;
            const float top = (float)(LH_KEY_LEVELS - 1);
            c = c > top ? top : (c < 0.0f ? 0.0f : (c == c ? c : 0.0f));   // NaN -> the minimum
            e[t * d + x] = (int8_t)((int)c - LH_KEY_MIDDLE);
        }
    }
}

void lh_channel_scaled_query5(const float *q, int64_t d, const float *lo, const float *hi, float *scaled, float *offset) {
    float o = 0.0f;
    for (int64_t x = 0; x < d; x++) {
        const float step = lh_key_channel_step(lo[x], hi[x]);
        scaled[x] = -q[x] * step;                    // negated: the stored rows' scale is -1
        o += q[x] * (lo[x] + (float)LH_KEY_MIDDLE * step);
    }
    *offset = o;
}

#if LH_X86
LH_AVX2 static void dequantize_channels5_avx2(const int8_t *e, int64_t rows, int64_t d, const float *lo, const float *hi, float *y) {
    for (int64_t t = 0; t < rows; t++, e += d, y += d) {
        int64_t x = 0;
        for (; x + 8 <= d; x += 8) {
            const __m256 l = _mm256_loadu_ps(lo + x);
            const __m256 step = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(hi + x), l), _mm256_set1_ps((float)(LH_KEY_LEVELS - 1)));
            const __m256i c = _mm256_add_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(e + x))), _mm256_set1_epi32(LH_KEY_MIDDLE));
            // lo + c·step, multiplied then added (no fused rounding), as the scalar path.
            _mm256_storeu_ps(y + x, _mm256_add_ps(l, _mm256_mul_ps(_mm256_cvtepi32_ps(c), step)));
        }
        for (; x < d; x++) y[x] = lo[x] + (float)(e[x] + LH_KEY_MIDDLE) * lh_key_channel_step(lo[x], hi[x]);
    }
}
#endif

void lh_dequantize_channels5(const int8_t *e, int64_t rows, int64_t d, const float *lo, const float *hi, float *y) {
#if LH_X86
    if (lh_use_avx2()) { dequantize_channels5_avx2(e, rows, d, lo, hi, y); return; }
#endif
    for (int64_t t = 0; t < rows; t++, e += d, y += d) {
        for (int64_t x = 0; x < d; x++) {
            const float step = lh_key_channel_step(lo[x], hi[x]);
            const float c = (float)(e[x] + LH_KEY_MIDDLE);
            y[x] = lo[x] + c * step;
        }
    }
}
