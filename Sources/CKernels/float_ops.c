// float_ops.c: owns the small public float helpers (dot, axpy, f32 <-> f16 conversion) used on hot paths.

#include "lh_internal.h"

#if LH_X86
LH_AVX2 static float dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    float sum = lh_hsum_ps(s);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

LH_AVX2 static void axpy_f32_avx2(float a, const float *x, float *y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

LH_AVX2 static void f32_to_f16_avx2(const float *x, uint16_t *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = lh_float_to_half(x[i]);
}

LH_AVX2 static void f16_to_f32_avx2(const uint16_t *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = lh_half_to_float(x[i]);
}
#endif

float lh_dot_f32(const float *a, const float *b, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) return dot_f32_avx2(a, b, n);
#endif
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void lh_axpy_f32(float a, const float *x, float *y, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { axpy_f32_avx2(a, x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void lh_f32_to_f16(const float *x, uint16_t *y, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { f32_to_f16_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = lh_float_to_half(x[i]);
}

void lh_f16_to_f32(const uint16_t *x, float *y, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { f16_to_f32_avx2(x, y, n); return; }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = lh_half_to_float(x[i]);
}
