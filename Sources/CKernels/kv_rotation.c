// kv_rotation.c: owns the orthonormal rotation applied to value rows before 4-bit quantization (`--kv k8v4`):
// a Walsh-Hadamard transform after fixed random signs spreads a row's outlier channels over all channels,
// so one scale per row fits every element (QuaRot's observation). Measured on the Debian Policy Manual
// (README, `--kv k8v4`): int4 values move perplexity by +0.18% with the rotation; 4-bit keys or values
// without it by +35% and +1.4% on golden/ppl_text.txt (keys dominate, so keys stay int8).
// Rows of 64 (the default model's head dimension) have an AVX2 path: the question path rotates every value
// row of every block it decodes back (about 1.9 million rows for the first token at 128k), and the
// scalar butterfly took 0.19 s of it.

#include "lh_internal.h"

static inline float sign_of(int64_t i) { return (((uint32_t)i * 2654435761u) >> 15) & 1u ? -1.0f : 1.0f; }

static void hadamard(float *x, int64_t n) {
    for (int64_t h = 1; h < n; h *= 2) {
        for (int64_t i = 0; i < n; i += 2 * h) {
            for (int64_t j = i; j < i + h; j++) {
                const float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
    }
    const float s = 1.0f / sqrtf((float)n);
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

#if LH_X86
/// D_i / 8 for i < 64: the signs with the 1/√64 normalization folded in.
static float signs64[64];
__attribute__((constructor)) static void init_signs64(void) {
    for (int i = 0; i < 64; i++) signs64[i] = sign_of(i) / 8.0f;
}

/// x (64) <- H · x · 8 unnormalized, then times `post` elementwise (NULL: none), after times `pre` (NULL: none).
LH_AVX2 static void hadamard64_avx2(float *x, const float *pre, const float *post) {
    __m256 v[8];
    for (int k = 0; k < 8; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        if (pre) v[k] = _mm256_mul_ps(v[k], _mm256_loadu_ps(pre + 8 * k));
    }
    for (int k = 0; k < 8; k++) {
        __m256 s = _mm256_permute_ps(v[k], 0xB1);                        // h = 1: [1,0,3,2]
        v[k] = _mm256_blend_ps(_mm256_add_ps(v[k], s), _mm256_sub_ps(s, v[k]), 0xAA);
        s = _mm256_permute_ps(v[k], 0x4E);                               // h = 2: [2,3,0,1]
        v[k] = _mm256_blend_ps(_mm256_add_ps(v[k], s), _mm256_sub_ps(s, v[k]), 0xCC);
        s = _mm256_permute2f128_ps(v[k], v[k], 1);                       // h = 4: swap the 128-bit halves
        v[k] = _mm256_blend_ps(_mm256_add_ps(v[k], s), _mm256_sub_ps(s, v[k]), 0xF0);
    }
    for (int h = 1; h < 8; h *= 2) {                                     // h = 8, 16, 32: across vectors
        for (int i = 0; i < 8; i += 2 * h) {
            for (int j = i; j < i + h; j++) {
                const __m256 a = v[j], b = v[j + h];
                v[j] = _mm256_add_ps(a, b);
                v[j + h] = _mm256_sub_ps(a, b);
            }
        }
    }
    for (int k = 0; k < 8; k++) {
        if (post) v[k] = _mm256_mul_ps(v[k], _mm256_loadu_ps(post + 8 * k));
        _mm256_storeu_ps(x + 8 * k, v[k]);
    }
}
#endif

void lh_rotate_row(float *x, int64_t n) {
#if LH_X86
    if (n == 64 && lh_use_avx2()) { hadamard64_avx2(x, signs64, NULL); return; }   // (D/8) then H
#endif
    for (int64_t i = 0; i < n; i++) x[i] *= sign_of(i);
    hadamard(x, n);
}

void lh_unrotate_row(float *x, int64_t n) {
#if LH_X86
    if (n == 64 && lh_use_avx2()) { hadamard64_avx2(x, NULL, signs64); return; }   // H then (D/8)
#endif
    hadamard(x, n);
    for (int64_t i = 0; i < n; i++) x[i] *= sign_of(i);
}
