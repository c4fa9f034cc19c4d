// float_dot.c: owns the F32/F16/BF16 weight-row kernels behind lh_matmul_rows (float activations).

#include "lh_internal.h"

/// Activation vectors handled per pass over a weight row.
#define TILE 4

/// Element c of a float-type weight row.
static inline float weight_at(int type, const uint8_t *row, int64_t c) {
    switch (type) {
    case LH_TYPE_F32: { float v; memcpy(&v, row + 4 * c, 4); return v; }
    case LH_TYPE_F16: return lh_half_to_float(lh_load_u16(row + 2 * c));
    default: return lh_bits_f32((uint32_t)lh_load_u16(row + 2 * c) << 16);
    }
}

static void rows_float_scalar(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                              const float *x, float *y, int64_t y_stride, int64_t m) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i = 0; i < m; i++) {
            const float *xi = x + i * cols;
            float sum = 0.0f;
            for (int64_t c = 0; c < cols; c++) sum += weight_at(type, row, c) * xi[c];
            y[i * y_stride + r] = sum;
        }
    }
}

#if LH_X86
/// Elements [c, c + 8) of a float-type weight row as f32 (BF16: widen to 32 bits and shift into the high half).
LH_AVX2 static inline __attribute__((always_inline)) __m256 load8(int type, const uint8_t *row, int64_t c) {
    switch (type) {
    case LH_TYPE_F32: return _mm256_loadu_ps((const float *)row + c);
    case LH_TYPE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * c)));
    default: {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * c)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    }
}

/// out[i] = dot(row, x + i * cols) for i < mt (a compile-time constant after inlining).
LH_AVX2 static inline __attribute__((always_inline)) void
float_row_tile(int type, const uint8_t *row, int64_t cols, const float *x, int mt, float *out) {
    __m256 acc[TILE], acc2 = _mm256_setzero_ps();
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    int64_t c = 0;
    if (mt == 1)  // two accumulators halve the FMA dependency chain
        for (; c + 16 <= cols; c += 16) {
            acc[0] = _mm256_fmadd_ps(load8(type, row, c), _mm256_loadu_ps(x + c), acc[0]);
            acc2 = _mm256_fmadd_ps(load8(type, row, c + 8), _mm256_loadu_ps(x + c + 8), acc2);
        }
    for (; c + 8 <= cols; c += 8) {
        const __m256 wv = load8(type, row, c);
        for (int i = 0; i < mt; i++) acc[i] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i * cols + c), acc[i]);
    }
    acc[0] = _mm256_add_ps(acc[0], acc2);
    for (int i = 0; i < mt; i++) {
        float sum = lh_hsum_ps(acc[i]);
        for (int64_t t = c; t < cols; t++) sum += weight_at(type, row, t) * x[i * cols + t];
        out[i] = sum;
    }
}

/// One row against activation vectors [0, mt), specialised on the weight type and tile width.
LH_AVX2 static void row_tile_avx2(int type, const uint8_t *row, int64_t cols, const float *x, int mt, float *out) {
#define LH_TILE_CASES(t) \
    switch (mt) { \
    case 1: float_row_tile(t, row, cols, x, 1, out); break; \
    case 2: float_row_tile(t, row, cols, x, 2, out); break; \
    case 3: float_row_tile(t, row, cols, x, 3, out); break; \
    default: float_row_tile(t, row, cols, x, 4, out); break; \
    }
    switch (type) {
    case LH_TYPE_F32: LH_TILE_CASES(LH_TYPE_F32) break;
    case LH_TYPE_F16: LH_TILE_CASES(LH_TYPE_F16) break;
    default: LH_TILE_CASES(LH_TYPE_BF16) break;
    }
#undef LH_TILE_CASES
}

LH_AVX2 static void rows_float_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                                    const float *x, float *y, int64_t y_stride, int64_t m) {
    float out[TILE];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i0 = 0; i0 < m; i0 += TILE) {
            const int mt = m - i0 < TILE ? (int)(m - i0) : TILE;
            row_tile_avx2(type, row, cols, x + i0 * cols, mt, out);
            for (int i = 0; i < mt; i++) y[(i0 + i) * y_stride + r] = out[i];
        }
    }
}
#endif

void lh_rows_float(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const float *x, float *y, int64_t y_stride, int64_t m) {
#if LH_X86
    if (lh_use_avx2()) { rows_float_avx2(type, w, row_bytes, r0, r1, cols, x, y, y_stride, m); return; }
#endif
    rows_float_scalar(type, w, row_bytes, r0, r1, cols, x, y, y_stride, m);
}
