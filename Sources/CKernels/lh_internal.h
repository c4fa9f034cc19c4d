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
/// Attribute for functions compiled with AVX-512 F/BW/DQ/VL code generation besides AVX2 (called only when
/// lh_use_avx512() is true).
#define LH_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
/// Horizontal sum of the 8 lanes of v.
LH_AVX2 static inline float lh_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/// exp of 8 floats, AVX2 Cephes-style: range reduction by log 2, degree-6 polynomial, exponent via integer add;
/// max relative error ~2e-7 on [-87, 0]. Inputs are clamped to [-87, 88]; results below FLT_MIN (inputs below
/// -87, -inf) are exactly 0 and NaN gives 0. Shared by the softmax and the gated activations (glu.c).
LH_AVX2 static inline __m256 lh_exp256_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
    const __m256 representable = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);   // exp(x) >= FLT_MIN; false for -inf and NaN
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    // x = n·ln2 + r, |r| <= ln2/2
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    // multiply by 2^n
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(y, _mm256_castsi256_ps(n)), representable);
}
#else
#define LH_X86 0
#endif

/// The level stored as code 0 of a sealed key channel of `levels` levels (2 ... 64: kv_tiles.c's integer key sums
/// stay within int32 up to 64): codes are level − middle.
static inline int lh_key_middle(int levels) { return levels / 2; }
/// The step between the `levels` levels of a sealed key channel spanning [lo, hi]: the one expression every reader
/// and writer uses.
static inline float lh_key_channel_step(float lo, float hi, int levels) { return (hi - lo) / (float)(levels - 1); }

/// Cached run-time SIMD level: 0 scalar, 1 AVX2/FMA/F16C, 2 AVX-512 where a kernel has it (see cpu_features.c).
extern int lh_simd_state;
/// Detect the CPU features once, cache the level in lh_simd_state and return it.
int lh_detect_simd_level(void);
/// The SIMD level in use, detected on first use (lh_simd_level's inline body).
static inline int lh_current_simd_level(void) {
    int s = __atomic_load_n(&lh_simd_state, __ATOMIC_RELAXED);
    return s >= 0 ? s : lh_detect_simd_level();
}
/// 1 if the AVX2/FMA/F16C kernels should be used.
static inline int lh_use_avx2(void) { return lh_current_simd_level() >= 1; }
/// 1 if the AVX-512 kernels (F, BW, DQ, VL) should be used where a kernel has them (see cpu_features.c).
static inline int lh_use_avx512(void) { return lh_current_simd_level() >= 2; }

/// 1 if the CPU has AVX-512 VNNI, set with the CPU's level (cpu_features.c).
extern int lh_cpu_vnni;
/// 1 if the AVX-512 VNNI integer dot products should be used: the AVX-512 level is in use (which detects the CPU
/// first) and the CPU has VNNI.
static inline int lh_use_vnni(void) { return lh_use_avx512() && __atomic_load_n(&lh_cpu_vnni, __ATOMIC_RELAXED); }

/// Rows of A per AVX-512 sgemm tile (sgemm_avx512.c), the packed driver's row step with it.
#define LH_SGEMM_AVX512_ROWS 12
/// One mr x nr tile (mr <= LH_SGEMM_AVX512_ROWS, nr <= 16) of C = alpha * A * Bp + beta * C against a 16-column
/// packed B panel, with AVX-512 (sgemm_avx512.c; beta == 0 does not read C).
void lh_sgemm_avx512_tile(int64_t mr, int64_t nr, int64_t kc, const float *a, int64_t lda, const float *b,
                          int64_t ldbp, float *c, int64_t ldc, float alpha, float beta);

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
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } lh_blk_q5_0;             ///< see lh_type_block_bytes
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } lh_blk_q5_1;          ///< see lh_type_block_bytes
_Static_assert(sizeof(lh_blk_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(lh_blk_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(lh_blk_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(lh_blk_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(lh_blk_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(lh_block_q8) == 40, "lh_block_q8 is 40 bytes");

/// ggml K-quant super-blocks of 256 values (layouts in lh_type_block_bytes).
#define LH_QK 256
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } lh_blk_q2_k;
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } lh_blk_q3_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } lh_blk_q4_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } lh_blk_q5_k;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } lh_blk_q6_k;
_Static_assert(sizeof(lh_blk_q2_k) == 84, "Q2_K block is 84 bytes");
_Static_assert(sizeof(lh_blk_q3_k) == 110, "Q3_K block is 110 bytes");
_Static_assert(sizeof(lh_blk_q4_k) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(lh_blk_q5_k) == 176, "Q5_K block is 176 bytes");
_Static_assert(sizeof(lh_blk_q6_k) == 210, "Q6_K block is 210 bytes");

/// True for the K-quant types (super-blocks of 256).
static inline int lh_is_kquant(int type) { return type >= LH_TYPE_Q2_K && type <= LH_TYPE_Q6_K; }

/// A K-quant super-block decoded to integers: x[i] = (d * scale[i/16]) * q[i] - dmin * min[i/16], the same
/// float operations in the same order as ggml's reference dequantization (so the floats are bit-identical).
/// Types without mins (Q3_K, Q6_K) have dmin = 0 and min[] = 0; Q4_K/Q5_K repeat each 32-value scale twice.
typedef struct {
    float d, dmin;
    int8_t q[LH_QK];
    int16_t scale[16], min[16];
} lh_kblock;

/// Decode super-block `blk` of K-quant `type` (see lh_is_kquant) into `out`.
void lh_kblock_decode(int type, const uint8_t *blk, lh_kblock *out);

/// The 6-bit scale and min of 32-value sub-block s (0..7) of a Q4_K/Q5_K super-block's 12 packed scale bytes.
static inline void lh_k4_scale_min(const uint8_t *scales, int s, uint8_t *sc, uint8_t *mn) {
    if (s < 4) {
        *sc = scales[s] & 63;
        *mn = scales[s + 4] & 63;
    } else {
        *sc = (uint8_t)((scales[s + 4] & 0xF) | (scales[s - 4] >> 6) << 4);
        *mn = (uint8_t)((scales[s + 4] >> 4) | (scales[s] >> 6) << 4);
    }
}

/// The 16 signed 6-bit scales (already minus 32) of a Q3_K super-block's 12 packed scale bytes.
static inline void lh_k3_scales(const uint8_t *scales, int8_t out[16]) {
    for (int t = 0; t < 16; t++) {
        const int lo = t < 8 ? scales[t] & 0xF : scales[t - 8] >> 4;
        const int hi = (scales[8 + t % 4] >> (2 * (t / 4))) & 3;
        out[t] = (int8_t)((lo | hi << 4) - 32);
    }
}

/// Row-range kernels behind lh_matmul_rows: compute y[i * y_stride + r] for r in [r0, r1) and i in [0, m).
/// `w` points at row 0; row r starts at w + r * row_bytes.
void lh_rows_quant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m);
/// The K-quant row-range kernel (scalar or AVX2 by lh_use_avx2), used by lh_rows_quant.
void lh_rows_kquant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                    const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m);
#if LH_X86
/// Floats of stack scratch (32 KiB, modest for any thread that calls a matmul) of the AVX2 K-quant kernel: 4 per
/// activation block of a vector, so it takes rows of up to LH_KQUANT_AVX2_SCRATCH * 8 values (65536, above any
/// model's hidden or feed-forward size); longer rows take the scalar kernel.
#define LH_KQUANT_AVX2_SCRATCH 8192
/// The AVX2 K-quant kernel (quant_dot_k_avx2.c); call only when lh_use_avx2() is true and
/// cols <= LH_KQUANT_AVX2_SCRATCH * 8.
void lh_rows_kquant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nsb,
                         const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m);
#endif
void lh_rows_float(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, float *y, int64_t y_stride, int64_t m);

#endif
