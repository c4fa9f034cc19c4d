// lh_internal.h: declarations shared between the CKernels source files (not part of the public API).

#ifndef LH_INTERNAL_H
#define LH_INTERNAL_H

#include "lh_kernels.h"

#include <math.h>
#include <string.h>

/// LH_X86 is 1 when the AVX2 kernels can be compiled (x86-64 with GCC/Clang target attributes), 0 otherwise.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LH_X86 1
#include <immintrin.h>
/// Attribute for functions compiled with AVX2/FMA/F16C code generation (called only when lh_use_avx2() is true).
#define LH_AVX2 __attribute__((target("avx2,fma,f16c")))
/// Horizontal sum of the 8 lanes of v.
LH_AVX2 static inline float lh_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#else
#define LH_X86 0
#endif

/// Cached run-time dispatch flag: 1 if the AVX2/FMA/F16C kernels should be used (see cpu_features.c).
extern int lh_avx2_state;
/// Detect the CPU features once, cache the result in lh_avx2_state and return it.
int lh_detect_avx2(void);
static inline int lh_use_avx2(void) {
    int s = __atomic_load_n(&lh_avx2_state, __ATOMIC_RELAXED);
    return s >= 0 ? s : lh_detect_avx2();
}

/// Bit-exact reinterpretations between float and uint32.
static inline uint32_t lh_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float lh_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/// Unaligned little-endian 16-bit load (block scales inside a byte buffer).
static inline uint16_t lh_load_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
/// Unaligned little-endian 32-bit load.
static inline uint32_t lh_load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/// IEEE half -> float (exact, including subnormals, infinities and NaNs).
static inline float lh_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0x1F) return lh_bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {  // zero or subnormal: man * 2^-24, exact in float
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return lh_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/// float -> IEEE half, round to nearest even (same results as F16C's vcvtps2ph with rounding mode 0).
static inline uint16_t lh_float_to_half(float f) {
    uint32_t bits = lh_f32_bits(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t a = bits & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return sign | 0x7E00;               // NaN (quiet)
    if (a >= 0x477FF000u) return sign | 0x7C00;              // >= 65520 rounds to infinity
    if (a < 0x38800000u)                                     // below 2^-14: subnormal half, units of 2^-24
        return sign | (uint16_t)nearbyintf(lh_bits_f32(a) * 0x1p24f);
    uint32_t r = a - (112u << 23);                           // rebias the exponent from 127 to 15
    r += 0xFFFu + ((r >> 13) & 1u);                          // round the 13 dropped bits to nearest even
    return sign | (uint16_t)(r >> 13);
}

/// ggml quantized blocks of 32 values (little-endian, 2-byte aligned, no padding); see lh_type_block_bytes.
typedef struct { uint16_t d; uint8_t qs[16]; } lh_blk_q4_0;          ///< x[j] = ((qs[j]&15)-8)*d, x[j+16] = ((qs[j]>>4)-8)*d
typedef struct { uint16_t d, m; uint8_t qs[16]; } lh_blk_q4_1;       ///< x[j] = (qs[j]&15)*d + m, x[j+16] = (qs[j]>>4)*d + m
typedef struct { uint16_t d; int8_t qs[32]; } lh_blk_q8_0;           ///< x[j] = qs[j]*d
_Static_assert(sizeof(lh_blk_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(lh_blk_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(lh_blk_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(lh_block_q8) == 40, "lh_block_q8 is 40 bytes");

/// Row-range kernels behind lh_matmul_rows: compute y[i * y_stride + r] for r in [r0, r1) and i in [0, m).
/// `w` points at row 0; row r starts at w + r * row_bytes.
void lh_rows_quant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m);
void lh_rows_float(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, float *y, int64_t y_stride, int64_t m);

#endif
