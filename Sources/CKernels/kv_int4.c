// kv_int4.c: owns the 4-bit row codec (the values of `--kv k8v4`, after kv_rotation.c): 4-bit codes with one f16 scale per row, two codes per byte
// (element 2j in the low nibble of byte j, 2j + 1 in the high nibble). The scale follows ggml's Q4_0: the
// element of largest magnitude m maps to code 0 (value -8 · s with s = m / -8), so all 16 codes are used.

#include "lh_internal.h"
#include <math.h>

uint16_t lh_quantize_i4(const float *x, uint8_t *q, int64_t n) {
    float amax = 0.0f, m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        if (a > amax) { amax = a; m = x[i]; }
    }
    // Rounded to f16 first and the values quantized with the rounded scale, so decoding reproduces x
    // within half a step (except the far end of the range, clamped to code 15 = +7 · s).
    uint16_t sh = lh_float_to_half(m / -8.0f);
    if ((sh & 0x7FFF) >= 0x7C00) sh = (uint16_t)((sh & 0x8000) | 0x7BFF);   // beyond f16 (or NaN): largest finite
    const float s = lh_half_to_float(sh);
    if (s == 0.0f) {                                      // all zero, or below f16's range: code 8 (value 0)
        for (int64_t i = 0; i < n / 2; i++) q[i] = 0x88;
        return 0;
    }
    const float inv = 1.0f / s;
    for (int64_t i = 0; i < n; i += 2) {
        uint8_t c[2];
        for (int k = 0; k < 2; k++) {
            float v = nearbyintf(x[i + k] * inv) + 8.0f;
            v = v > 15.0f ? 15.0f : (v < 0.0f ? 0.0f : (v == v ? v : 8.0f));   // NaN -> 0
            c[k] = (uint8_t)v;
        }
        q[i / 2] = (uint8_t)(c[0] | (c[1] << 4));
    }
    return sh;
}

void lh_dequantize_i4_rows(const uint8_t *q, const uint16_t *scales, float *y, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++, q += n / 2, y += n) {
        const float s = lh_half_to_float(scales[r]);
        for (int64_t i = 0; i < n; i += 2) {
            y[i] = (float)((int)(q[i / 2] & 15) - 8) * s;
            y[i + 1] = (float)((int)(q[i / 2] >> 4) - 8) * s;
        }
    }
}
