// kv_attend.c: owns the attention products over stored key/value rows (f32, f16, int8 or int4 + f16 scales) without
// converting them to f32 first: the decode path reads each stored block once per query instead of writing an f32 copy.

#include "lh_internal.h"

// Stored element o of `rows` as a float (the int8/int4 row scale is applied by the caller).
static inline float element(int kind, const void *rows, int64_t o) {
    switch (kind) {
    case LH_KV_F16: return lh_half_to_float(((const uint16_t *)rows)[o]);
    case LH_KV_I8: return (float)((const int8_t *)rows)[o];
    case LH_KV_I4: {
        const uint8_t b = ((const uint8_t *)rows)[o / 2];
        return (float)((int)((o & 1) ? b >> 4 : b & 15) - 8);
    }
    default: return ((const float *)rows)[o];
    }
}

// Bytes of the first `rows` rows of d elements of `kind`.
static inline int64_t rows_bytes(int kind, int64_t rows, int64_t d) {
    switch (kind) {
    case LH_KV_F16: return rows * d * 2;
    case LH_KV_I8: return rows * d;
    case LH_KV_I4: return rows * d / 2;
    default: return rows * d * 4;
    }
}

// Whether rows of `kind` carry a per-row f16 scale.
static inline int scaled(int kind) { return kind == LH_KV_I8 || kind == LH_KV_I4; }

#if LH_X86
// Eight stored elements of row `r` starting at column i, as floats (the int8 scale is applied by the caller).
LH_AVX2 static inline __m256 load8(int kind, const void *rows, int64_t off) {
    switch (kind) {
    case LH_KV_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)rows + off)));
    case LH_KV_I8: return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)rows + off))));
    case LH_KV_I4: {   // off is even: 4 bytes hold the 8 codes, low nibble first
        const __m128i b = _mm_cvtsi32_si128((int)lh_load_u32((const uint8_t *)rows + off / 2));
        const __m128i m = _mm_set1_epi8(15);
        const __m128i codes = _mm_unpacklo_epi8(_mm_and_si128(b, m), _mm_and_si128(_mm_srli_epi16(b, 4), m));
        return _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(codes), _mm256_set1_epi32(8)));
    }
    default: return _mm256_loadu_ps((const float *)rows + off);
    }
}

// d = 64: eight rows at a time, their eight dot products reduced together into one vector (three rounds
// of hadd and one cross-lane add) instead of one horizontal sum per row, with the query held in registers.
// Returns the rows done (a multiple of 8). 128k k8v4 index, two questions, quiet: decode 27.3 -> 29.1 tok/s,
// second question's first token 0.67 -> 0.60 s (the first question's, 0.95 s, did not move).
LH_AVX2 static int64_t kv_scores64x8_avx2(int kind, const void *k, const uint16_t *scales, int64_t rows,
                                          const float *q, float alpha, float *scores) {
    __m256 qv[8];
    for (int j = 0; j < 8; j++) qv[j] = _mm256_loadu_ps(q + 8 * j);
    int64_t t = 0;
    for (; t + 8 <= rows; t += 8) {
        __m256 acc[8];
        for (int r = 0; r < 8; r++) {
            __m256 a = _mm256_mul_ps(load8(kind, k, (t + r) * 64), qv[0]);
            for (int j = 1; j < 8; j++) a = _mm256_fmadd_ps(load8(kind, k, (t + r) * 64 + 8 * j), qv[j], a);
            acc[r] = a;
        }
        const __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
        const __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
        __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t0, t1, 0x31));
        if (scaled(kind)) sums = _mm256_mul_ps(sums, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(scales + t))));
        _mm256_storeu_ps(scores + t, _mm256_mul_ps(sums, _mm256_set1_ps(alpha)));
    }
    return t;
}

// Rows t0 ..< rows one at a time.
LH_AVX2 static void kv_scores_rows_avx2(int kind, const void *k, const uint16_t *scales, int64_t t0, int64_t rows, int64_t d,
                                        const float *q, float alpha, float *scores) {
    for (int64_t t = t0; t < rows; t++) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= d; i += 16) {
            s0 = _mm256_fmadd_ps(load8(kind, k, t * d + i), _mm256_loadu_ps(q + i), s0);
            s1 = _mm256_fmadd_ps(load8(kind, k, t * d + i + 8), _mm256_loadu_ps(q + i + 8), s1);
        }
        for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(load8(kind, k, t * d + i), _mm256_loadu_ps(q + i), s0);
        float sum = lh_hsum_ps(_mm256_add_ps(s0, s1));
        for (; i < d; i++) {
            const int64_t o = t * d + i;
            sum += q[i] * element(kind, k, o);
        }
        scores[t] = alpha * (scaled(kind) ? sum * lh_half_to_float(scales[t]) : sum);
    }
}

LH_AVX2 static void kv_scores_avx2(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d,
                                   const float *q, float alpha, float *scores) {
    const int64_t done = d == 64 ? kv_scores64x8_avx2(kind, k, scales, rows, q, alpha, scores) : 0;
    kv_scores_rows_avx2(kind, k, scales, done, rows, d, q, alpha, scores);
}

// d = 64 (the default model), int4 rows (32 bytes): the codes of a whole row are unpacked with two 16-byte
// loads, and the code offset 8 is taken off once at the end (sum of w·(c − 8) = sum of w·c − 8 · sum of w).
LH_AVX2 static void kv_accumulate64_i4_avx2(const uint8_t *v, const uint16_t *scales, int64_t rows,
                                            const float *p, float *out) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    const __m128i m = _mm_set1_epi8(15);
    float wsum = 0.0f;
    for (int64_t t = 0; t < rows; t++) {
        const float wt = p[t] * lh_half_to_float(scales[t]);
        wsum += wt;
        const __m256 w = _mm256_set1_ps(wt);
        for (int h = 0; h < 2; h++) {
            const __m128i b = _mm_loadu_si128((const __m128i *)(v + t * 32 + 16 * h));
            const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
            const __m128i e[2] = { _mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi) };   // 16 codes each, in order
            for (int j = 0; j < 2; j++) {
                const int k = 4 * h + 2 * j;
                a[k] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(e[j])), a[k]);
                a[k + 1] = _mm256_fmadd_ps(w, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(e[j], 8))), a[k + 1]);
            }
        }
    }
    const __m256 off = _mm256_set1_ps(8.0f * wsum);
    for (int k = 0; k < 8; k++)
        _mm256_storeu_ps(out + 8 * k, _mm256_add_ps(_mm256_loadu_ps(out + 8 * k), _mm256_sub_ps(a[k], off)));
}

// d = 64 (the default model): all 64 sums stay in registers while the rows stream by once, so each row's
// weight (with its int8/int4 scale) is formed once instead of once per 16 columns. Measured on the 128k
// k8v4 index (`ask -n 48`, two questions, quiet): decode 22 -> 25 tok/s, first token 1.11 -> 1.00 s; with the
// int4 row unpack above, 27.6 tok/s and 0.93 s.
LH_AVX2 static void kv_accumulate64_avx2(int kind, const void *v, const uint16_t *scales, int64_t rows,
                                         const float *p, float *out) {
    if (kind == LH_KV_I4) { kv_accumulate64_i4_avx2((const uint8_t *)v, scales, rows, p, out); return; }
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_loadu_ps(out + 8 * k);
    for (int64_t t = 0; t < rows; t++) {
        const __m256 w = _mm256_set1_ps(scaled(kind) ? p[t] * lh_half_to_float(scales[t]) : p[t]);
        for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(w, load8(kind, v, t * 64 + 8 * k), a[k]);
    }
    for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + 8 * k, a[k]);
}

LH_AVX2 static void kv_accumulate_avx2(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d,
                                       const float *p, float *out) {
    if (d == 64) { kv_accumulate64_avx2(kind, v, scales, rows, p, out); return; }
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
        __m256 a0 = _mm256_loadu_ps(out + i), a1 = _mm256_loadu_ps(out + i + 8);
        for (int64_t t = 0; t < rows; t++) {
            const __m256 w = _mm256_set1_ps(scaled(kind) ? p[t] * lh_half_to_float(scales[t]) : p[t]);
            a0 = _mm256_fmadd_ps(w, load8(kind, v, t * d + i), a0);
            a1 = _mm256_fmadd_ps(w, load8(kind, v, t * d + i + 8), a1);
        }
        _mm256_storeu_ps(out + i, a0);
        _mm256_storeu_ps(out + i + 8, a1);
    }
    for (; i < d; i++) {
        float a = out[i];
        for (int64_t t = 0; t < rows; t++) {
            const int64_t o = t * d + i;
            const float w = scaled(kind) ? p[t] * lh_half_to_float(scales[t]) : p[t];
            a += w * element(kind, v, o);
        }
        out[i] = a;
    }
}

// Several queries (the query heads sharing a KV head) against the same stored rows: each stored element is
// loaded and converted once for all of them instead of once per query. Rows in tiles of 4, M ≤ 3 queries, d a
// multiple of 8; the 4·M dot products of a tile stay in registers.
LH_AVX2 static inline __m128 hsum4_ps(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

LH_AVX2 static inline __attribute__((always_inline)) int64_t kv_scores_tiles(int kind, const void *k, const uint16_t *scales,
                                                                               int64_t rows, int64_t d, const int M, const float *q,
                                                                               float alpha, float *scores, int64_t lds) {
    int64_t t = 0;
    for (; t + 4 <= rows; t += 4) {
        __m256 acc[3][4];
        for (int h = 0; h < M; h++) for (int r = 0; r < 4; r++) acc[h][r] = _mm256_setzero_ps();
        for (int64_t i = 0; i < d; i += 8) {
            __m256 qv[3];
            for (int h = 0; h < M; h++) qv[h] = _mm256_loadu_ps(q + h * d + i);
            for (int r = 0; r < 4; r++) {
                const __m256 kv = load8(kind, k, (t + r) * d + i);
                for (int h = 0; h < M; h++) acc[h][r] = _mm256_fmadd_ps(kv, qv[h], acc[h][r]);
            }
        }
        const __m128 sc = scaled(kind) ? _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(scales + t))) : _mm_set1_ps(1.0f);
        for (int h = 0; h < M; h++) {
            __m128 sums = hsum4_ps(acc[h][0], acc[h][1], acc[h][2], acc[h][3]);
            if (scaled(kind)) sums = _mm_mul_ps(sums, sc);
            _mm_storeu_ps(scores + h * lds + t, _mm_mul_ps(sums, _mm_set1_ps(alpha)));
        }
    }
    return t;
}

// out (M, d) += p (M rows, leading dimension ldp) · V: C vectors of 8 columns at a time for all M queries, so each
// stored element is converted once per block instead of once per query.
LH_AVX2 static inline __attribute__((always_inline)) void kv_accumulate_columns(int kind, const void *v, const uint16_t *scales,
                                                                                  int64_t rows, int64_t d, const int M, const int C,
                                                                                  const float *p, int64_t ldp, float *out) {
    for (int64_t c0 = 0; c0 + 8 * C <= d; c0 += 8 * C) {
        __m256 acc[3][4];
        for (int h = 0; h < M; h++) for (int i = 0; i < C; i++) acc[h][i] = _mm256_loadu_ps(out + h * d + c0 + 8 * i);
        for (int64_t t = 0; t < rows; t++) {
            const float s = scaled(kind) ? lh_half_to_float(scales[t]) : 1.0f;
            __m256 wt[3];
            for (int h = 0; h < M; h++) wt[h] = _mm256_set1_ps(p[h * ldp + t] * s);
            for (int i = 0; i < C; i++) {
                const __m256 x = load8(kind, v, t * d + c0 + 8 * i);
                for (int h = 0; h < M; h++) acc[h][i] = _mm256_fmadd_ps(wt[h], x, acc[h][i]);
            }
        }
        for (int h = 0; h < M; h++) for (int i = 0; i < C; i++) _mm256_storeu_ps(out + h * d + c0 + 8 * i, acc[h][i]);
    }
}

/// The first `rows` rows (a multiple of 4) for M ≤ 3 queries in tiles; returns the rows done.
LH_AVX2 static int64_t kv_scores_tiled_avx2(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d, int M,
                                            const float *q, float alpha, float *scores, int64_t lds) {
    switch (M) {
    case 1: return kv_scores_tiles(kind, k, scales, rows, d, 1, q, alpha, scores, lds);
    case 2: return kv_scores_tiles(kind, k, scales, rows, d, 2, q, alpha, scores, lds);
    default: return kv_scores_tiles(kind, k, scales, rows, d, 3, q, alpha, scores, lds);
    }
}

LH_AVX2 static void kv_accumulate_multi_avx2(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d, int M,
                                             const float *p, int64_t ldp, float *out) {
    // Each column adds its rows in order, as kv_accumulate_avx2 does, so the result equals one call per query
    // bit for bit; int4 rows (their own kernel takes the code offset off at the end) and column counts off the
    // 16-column blocks go one query at a time.
    if (kind == LH_KV_I4 || d % 16 != 0) {
        for (int h = 0; h < M; h++) kv_accumulate_avx2(kind, v, scales, rows, d, p + h * ldp, out + h * d);
        return;
    }
    if (d % 32 == 0) {
        switch (M) {
        case 1: kv_accumulate_columns(kind, v, scales, rows, d, 1, 4, p, ldp, out); return;
        case 2: kv_accumulate_columns(kind, v, scales, rows, d, 2, 4, p, ldp, out); return;
        default: kv_accumulate_columns(kind, v, scales, rows, d, 3, 4, p, ldp, out); return;
        }
    }
    switch (M) {
    case 1: kv_accumulate_columns(kind, v, scales, rows, d, 1, 1, p, ldp, out); return;
    case 2: kv_accumulate_columns(kind, v, scales, rows, d, 2, 1, p, ldp, out); return;
    default: kv_accumulate_columns(kind, v, scales, rows, d, 3, 1, p, ldp, out); return;
    }
}

// AVX-512 (lh_use_avx512()): the weights-times-values products on 16 columns per register. Every column still adds
// its rows in order with one FMA each, so the results equal the AVX2 kernels' bit for bit (int4 rows, d = 64, have
// their own below). The decode step from a 128k f16 index spent a fifth of its time in these products.

// Sixteen stored elements starting at `off`, as floats (f32, f16 or int8; the int8 scale is applied by the caller).
LH_AVX512 static inline __m512 load16(int kind, const void *rows, int64_t off) {
    switch (kind) {
    case LH_KV_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)rows + off)));
    case LH_KV_I8: return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const int8_t *)rows + off))));
    default: return _mm512_loadu_ps((const float *)rows + off);
    }
}

// out (M, d) += p (M rows, leading dimension ldp) · V for d a multiple of 16 · C: C registers of 16 columns at a time
// for all M queries.
LH_AVX512 static inline __attribute__((always_inline)) void kv_accumulate_columns512(int kind, const void *v, const uint16_t *scales,
                                                                                       int64_t rows, int64_t d, const int M, const int C,
                                                                                       const float *p, int64_t ldp, float *out) {
    for (int64_t c0 = 0; c0 + 16 * C <= d; c0 += 16 * C) {
        __m512 acc[3][4];
        for (int h = 0; h < M; h++) for (int i = 0; i < C; i++) acc[h][i] = _mm512_loadu_ps(out + h * d + c0 + 16 * i);
        for (int64_t t = 0; t < rows; t++) {
            const float s = scaled(kind) ? lh_half_to_float(scales[t]) : 1.0f;
            __m512 wt[3];
            for (int h = 0; h < M; h++) wt[h] = _mm512_set1_ps(p[h * ldp + t] * s);
            for (int i = 0; i < C; i++) {
                const __m512 x = load16(kind, v, t * d + c0 + 16 * i);
                for (int h = 0; h < M; h++) acc[h][i] = _mm512_fmadd_ps(wt[h], x, acc[h][i]);
            }
        }
        for (int h = 0; h < M; h++) for (int i = 0; i < C; i++) _mm512_storeu_ps(out + h * d + c0 + 16 * i, acc[h][i]);
    }
}

// d = 64, int4 rows (32 bytes), M ≤ 3 queries: each row's codes are unpacked once, into four registers of 16, for all M
// queries (the AVX2 kernel above unpacks them once per query). Every column adds w·c over the rows in order and
// takes 8·Σw off at the end, as kv_accumulate64_i4_avx2 does, so the results equal it bit for bit. Decode steps
// from k5v4 and k8v4 indexes spent a fifth of their time in the AVX2 kernel, three query heads per KV head.
LH_AVX512 static inline __attribute__((always_inline)) void kv_accumulate64_i4_rows512(const uint8_t *v, const uint16_t *scales,
                                                                                       int64_t rows, const int M, const float *p,
                                                                                       int64_t ldp, float *out) {
    __m512 acc[3][4];
    float wsum[3] = { 0.0f, 0.0f, 0.0f };
    for (int h = 0; h < M; h++) for (int i = 0; i < 4; i++) acc[h][i] = _mm512_setzero_ps();
    const __m128i m = _mm_set1_epi8(15);
    for (int64_t t = 0; t < rows; t++) {
        const float s = lh_half_to_float(scales[t]);
        __m512 wt[3];
        for (int h = 0; h < M; h++) {
            const float w = p[h * ldp + t] * s;
            wsum[h] += w;
            wt[h] = _mm512_set1_ps(w);
        }
        for (int half = 0; half < 2; half++) {
            const __m128i b = _mm_loadu_si128((const __m128i *)(v + t * 32 + 16 * half));
            const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
            const __m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi)));   // codes 32·half + 0..15
            const __m512 c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpackhi_epi8(lo, hi)));   // codes 32·half + 16..31
            for (int h = 0; h < M; h++) {
                acc[h][2 * half] = _mm512_fmadd_ps(wt[h], c0, acc[h][2 * half]);
                acc[h][2 * half + 1] = _mm512_fmadd_ps(wt[h], c1, acc[h][2 * half + 1]);
            }
        }
    }
    for (int h = 0; h < M; h++) {
        const __m512 off = _mm512_set1_ps(8.0f * wsum[h]);
        for (int i = 0; i < 4; i++) {
            float *o = out + h * 64 + 16 * i;
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), _mm512_sub_ps(acc[h][i], off)));
        }
    }
}

/// M ≤ 3 queries; int4 rows need d = 64, other kinds d a multiple of 16.
LH_AVX512 static void kv_accumulate_multi_avx512(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d, int M,
                                                 const float *p, int64_t ldp, float *out) {
    if (kind == LH_KV_I4) {
        switch (M) {
        case 1: kv_accumulate64_i4_rows512((const uint8_t *)v, scales, rows, 1, p, ldp, out); return;
        case 2: kv_accumulate64_i4_rows512((const uint8_t *)v, scales, rows, 2, p, ldp, out); return;
        default: kv_accumulate64_i4_rows512((const uint8_t *)v, scales, rows, 3, p, ldp, out); return;
        }
    }
    if (d % 64 == 0) {
        switch (M) {
        case 1: kv_accumulate_columns512(kind, v, scales, rows, d, 1, 4, p, ldp, out); return;
        case 2: kv_accumulate_columns512(kind, v, scales, rows, d, 2, 4, p, ldp, out); return;
        default: kv_accumulate_columns512(kind, v, scales, rows, d, 3, 4, p, ldp, out); return;
        }
    }
    switch (M) {
    case 1: kv_accumulate_columns512(kind, v, scales, rows, d, 1, 1, p, ldp, out); return;
    case 2: kv_accumulate_columns512(kind, v, scales, rows, d, 2, 1, p, ldp, out); return;
    default: kv_accumulate_columns512(kind, v, scales, rows, d, 3, 1, p, ldp, out); return;
    }
}

// The queries-times-keys products on AVX-512 (f32, f16, int8 keys; d = 64 tiles): two rows per zmm register, one
// in each 256-bit half, against the query's eight columns broadcast to both halves. Each half does exactly the AVX2
// kernel's operations on its row, and the halves are reduced by the AVX2 code, so the scores equal the AVX2
// kernels' bit for bit (tested), with half the conversions and FMAs.

// Elements off_a ..< off_a + 8 (low half) and off_b ..< off_b + 8 (high half) as floats.
LH_AVX512 static inline __m512 load8x2(int kind, const void *rows, int64_t off_a, int64_t off_b) {
    switch (kind) {
    case LH_KV_F16: {
        const uint16_t *h = (const uint16_t *)rows;
        const __m128i a = _mm_loadu_si128((const __m128i *)(h + off_a)), b = _mm_loadu_si128((const __m128i *)(h + off_b));
        return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1));
    }
    case LH_KV_I8: {
        const int8_t *c = (const int8_t *)rows;
        const __m128i ab = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(c + off_a)), _mm_loadl_epi64((const __m128i *)(c + off_b)));
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ab));
    }
    default: {
        const float *f = (const float *)rows;
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(f + off_a)), _mm256_loadu_ps(f + off_b), 1);
    }
    }
}

/// kv_scores_tiles with rows in pairs: M queries against tiles of 4 rows.
LH_AVX512 static inline __attribute__((always_inline)) int64_t kv_scores_tiles512(int kind, const void *k, const uint16_t *scales,
                                                                                    int64_t rows, int64_t d, const int M, const float *q,
                                                                                    float alpha, float *scores, int64_t lds) {
    int64_t t = 0;
    for (; t + 4 <= rows; t += 4) {
        __m512 acc[3][2];
        for (int h = 0; h < M; h++) acc[h][0] = acc[h][1] = _mm512_setzero_ps();
        for (int64_t i = 0; i < d; i += 8) {
            __m512 qv[3];
            for (int h = 0; h < M; h++) qv[h] = _mm512_broadcast_f32x8(_mm256_loadu_ps(q + h * d + i));
            for (int p = 0; p < 2; p++) {
                const __m512 kv = load8x2(kind, k, (t + 2 * p) * d + i, (t + 2 * p + 1) * d + i);
                for (int h = 0; h < M; h++) acc[h][p] = _mm512_fmadd_ps(kv, qv[h], acc[h][p]);
            }
        }
        const __m128 sc = scaled(kind) ? _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(scales + t))) : _mm_set1_ps(1.0f);
        for (int h = 0; h < M; h++) {
            __m128 sums = hsum4_ps(_mm512_castps512_ps256(acc[h][0]), _mm512_extractf32x8_ps(acc[h][0], 1),
                                   _mm512_castps512_ps256(acc[h][1]), _mm512_extractf32x8_ps(acc[h][1], 1));
            if (scaled(kind)) sums = _mm_mul_ps(sums, sc);
            _mm_storeu_ps(scores + h * lds + t, _mm_mul_ps(sums, _mm_set1_ps(alpha)));
        }
    }
    return t;
}

/// kv_scores_tiled_avx2 with the paired tiles.
LH_AVX512 static int64_t kv_scores_tiled_avx512(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d, int M,
                                                const float *q, float alpha, float *scores, int64_t lds) {
    switch (M) {
    case 1: return kv_scores_tiles512(kind, k, scales, rows, d, 1, q, alpha, scores, lds);
    case 2: return kv_scores_tiles512(kind, k, scales, rows, d, 2, q, alpha, scores, lds);
    default: return kv_scores_tiles512(kind, k, scales, rows, d, 3, q, alpha, scores, lds);
    }
}

/// Whether the AVX-512 scores (d a multiple of 8) and values (d a multiple of 16; int4 rows d = 64) take rows of `kind`.
static inline int scores512(int kind, int64_t d) { return lh_use_avx512() && kind != LH_KV_I4 && d % 8 == 0; }
static inline int accumulate512(int kind, int64_t d) { return lh_use_avx512() && (kind == LH_KV_I4 ? d == 64 : d % 16 == 0); }
#endif


void lh_kv_scores(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d,
                  const float *q, float alpha, float *scores) {
#if LH_X86
    // One query through the several-query tiles, as the values below: their results are the same bit for bit.
    if (scores512(kind, d)) { lh_kv_scores_multi(kind, k, scales, rows, d, 1, q, alpha, scores, rows); return; }
    if (lh_use_avx2()) { kv_scores_avx2(kind, k, scales, rows, d, q, alpha, scores); return; }
#endif
    for (int64_t t = 0; t < rows; t++) {
        float sum = 0.0f;
        for (int64_t i = 0; i < d; i++) sum += q[i] * element(kind, k, t * d + i);
        scores[t] = alpha * (scaled(kind) ? sum * lh_half_to_float(scales[t]) : sum);
    }
}

void lh_kv_accumulate(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d,
                      const float *p, float *out) {
#if LH_X86
    if (accumulate512(kind, d)) { kv_accumulate_multi_avx512(kind, v, scales, rows, d, 1, p, 0, out); return; }
    if (lh_use_avx2()) { kv_accumulate_avx2(kind, v, scales, rows, d, p, out); return; }
#endif
    for (int64_t t = 0; t < rows; t++) {
        const float w = scaled(kind) ? p[t] * lh_half_to_float(scales[t]) : p[t];
        for (int64_t i = 0; i < d; i++) out[i] += w * element(kind, v, t * d + i);
    }
}

void lh_kv_scores_multi(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d, int64_t m,
                        const float *q, float alpha, float *scores, int64_t lds) {
#if LH_X86
    if (lh_use_avx2() && d % 8 == 0) {
        // The tiles add each row's products in the order of kv_scores64x8_avx2, so the scores equal one call per
        // query bit for bit: d = 64 only, and only the rows that kernel takes (multiples of 8); the rest go row by row.
        const int wide = scores512(kind, d);
        const int64_t tiled = d == 64 ? rows - rows % 8 : 0;
        for (int64_t h = 0; h < m; h += 3) {
            const int M = (int)(m - h < 3 ? m - h : 3);
            const int64_t done = wide ? kv_scores_tiled_avx512(kind, k, scales, tiled, d, M, q + h * d, alpha, scores + h * lds, lds)
                                      : kv_scores_tiled_avx2(kind, k, scales, tiled, d, M, q + h * d, alpha, scores + h * lds, lds);
            for (int i = 0; i < M; i++)
                kv_scores_rows_avx2(kind, k, scales, done, rows, d, q + (h + i) * d, alpha, scores + (h + i) * lds);
        }
        return;
    }
#endif
    for (int64_t h = 0; h < m; h++) lh_kv_scores(kind, k, scales, rows, d, q + h * d, alpha, scores + h * lds);
}

void lh_kv_accumulate_multi(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d, int64_t m,
                            const float *p, int64_t ldp, float *out) {
#if LH_X86
    if (lh_use_avx2() && d % 8 == 0) {
        const int wide = accumulate512(kind, d);
        for (int64_t h = 0; h < m; h += 3) {
            const int M = (int)(m - h < 3 ? m - h : 3);
            if (wide) kv_accumulate_multi_avx512(kind, v, scales, rows, d, M, p + h * ldp, ldp, out + h * d);
            else kv_accumulate_multi_avx2(kind, v, scales, rows, d, M, p + h * ldp, ldp, out + h * d);
        }
        return;
    }
#endif
    for (int64_t h = 0; h < m; h++) lh_kv_accumulate(kind, v, scales, rows, d, p + h * ldp, out + h * d);
}
