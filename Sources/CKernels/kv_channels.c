// kv_channels.c: owns the channel codes of sealed keys (`--kv k5v4` and `--kv k4v4`): each channel of a complete
// chunk's keys is quantized over the chunk's own range (its Quest bounds) in `levels` levels from the minimum to the
// maximum. The layout chooses the count (ChunkLayout.keyLevels: 40 for k5v4, 16 for k4v4; FORMAT.md §3 and §8 for
// the perplexity each costs).

#include "lh_internal.h"
#include <math.h>

void lh_quantize_channels(const float *k, int64_t rows, int64_t d, const float *lo, const float *hi, int levels, int8_t *e) {
    const float top = (float)(levels - 1);
    const int middle = lh_key_middle(levels);
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t x = 0; x < d; x++) {
            const float step = lh_key_channel_step(lo[x], hi[x], levels);
            float c = step > 0.0f ? nearbyintf((k[t * d + x] - lo[x]) / step) : 0.0f;
            c = c > top ? top : (c < 0.0f ? 0.0f : (c == c ? c : 0.0f));   // NaN -> the minimum
            e[t * d + x] = (int8_t)((int)c - middle);
        }
    }
}

void lh_channel_scaled_query(const float *q, int64_t d, const float *lo, const float *hi, int levels, float *scaled,
                             float *offset) {
    float o = 0.0f;
    for (int64_t x = 0; x < d; x++) {
        const float step = lh_key_channel_step(lo[x], hi[x], levels);
        scaled[x] = -q[x] * step;                    // negated: the stored rows' scale is -1
        o += q[x] * (lo[x] + (float)lh_key_middle(levels) * step);
    }
    *offset = o;
}

#if LH_X86
LH_AVX2 static void dequantize_channels_avx2(const int8_t *e, int64_t rows, int64_t d, const float *lo, const float *hi,
                                             int levels, float *y) {
    for (int64_t t = 0; t < rows; t++, e += d, y += d) {
        int64_t x = 0;
        for (; x + 8 <= d; x += 8) {
            const __m256 l = _mm256_loadu_ps(lo + x);
            const __m256 step = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(hi + x), l), _mm256_set1_ps((float)(levels - 1)));
            const __m256i c = _mm256_add_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(e + x))),
                                               _mm256_set1_epi32(lh_key_middle(levels)));
            // lo + c·step, multiplied then added (no fused rounding), as the scalar path.
            _mm256_storeu_ps(y + x, _mm256_add_ps(l, _mm256_mul_ps(_mm256_cvtepi32_ps(c), step)));
        }
        for (; x < d; x++) y[x] = lo[x] + (float)(e[x] + lh_key_middle(levels)) * lh_key_channel_step(lo[x], hi[x], levels);
    }
}
#endif

void lh_dequantize_channels(const int8_t *e, int64_t rows, int64_t d, const float *lo, const float *hi, int levels, float *y) {
#if LH_X86
    if (lh_use_avx2()) { dequantize_channels_avx2(e, rows, d, lo, hi, levels, y); return; }
#endif
    for (int64_t t = 0; t < rows; t++, e += d, y += d) {
        for (int64_t x = 0; x < d; x++) {
            const float step = lh_key_channel_step(lo[x], hi[x], levels);
            const float c = (float)(e[x] + lh_key_middle(levels));
            y[x] = lo[x] + c * step;
        }
    }
}
