// kv_int8.c: owns the int8 key/value row codec: symmetric quantization with one f16 scale per row.

#include "lh_internal.h"
#include <math.h>

uint16_t lh_quantize_i8(const float *x, int8_t *q, int64_t n) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    // The scale is rounded to f16 first, and the values are quantized with the rounded scale, so that
    // decoding (q * f16 scale) reproduces x within half a step.
    uint16_t sh = lh_float_to_half(amax / 127.0f);
    if ((sh & 0x7FFF) >= 0x7C00) sh = 0x7BFF;   // beyond f16 (or NaN input): the largest finite scale, values clamp
    const float s = lh_half_to_float(sh);
    if (s == 0.0f) {                            // all zero, or below f16's range: stored as zeros
        for (int64_t i = 0; i < n; i++) q[i] = 0;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] / s);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : (v == v ? v : 0.0f));   // NaN -> 0
        q[i] = (int8_t)v;
    }
    return sh;
}

#if LH_X86
LH_AVX2 static void dequantize_i8_rows_avx2(const int8_t *q, const uint16_t *scales, float *y, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++, q += n, y += n) {
        const float s = lh_half_to_float(scales[r]);
        const __m256 vs = _mm256_set1_ps(s);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + i)));
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(w), vs));
        }
        for (; i < n; i++) y[i] = (float)q[i] * s;
    }
}
#endif

void lh_dequantize_i8_rows(const int8_t *q, const uint16_t *scales, float *y, int64_t rows, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { dequantize_i8_rows_avx2(q, scales, y, rows, n); return; }
#endif
    for (int64_t r = 0; r < rows; r++, q += n, y += n) {
        const float s = lh_half_to_float(scales[r]);
        for (int64_t i = 0; i < n; i++) y[i] = (float)q[i] * s;
    }
}
