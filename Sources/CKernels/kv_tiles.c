// kv_tiles.c: owns the tiled arrangement of a sealed k5v4 or k4v4 block held for answering (the block cache of an index
// being asked) and the integer attention products over it.
//
// Why: a decode step reads every key and value of its window once per query head. Over row-major codes each
// element is widened to f32 and multiplied per query (about 22 and 16% of a 128k answer token); over tiles the
// bytes go straight into integer dot products, four products per instruction lane, with no horizontal sums.
// Measured alone (one thread, the 2,880 blocks of one 128k token, three query heads per KV head): keys
// 7.0 -> 3.0 ms, values 5.3 -> 1.1 ms with AVX-512 VNNI. Answering from a 128k k5v4 index: 44-53 -> 57-61 tok/s
// with the prefetch below (docs/answer-decoding-2026-12-04.md, "Tiles").
//
// Keys: tile T holds rows 16T ..< 16T + 16; in it, channel quad j (channels 4j ..< 4j + 4) takes 64 bytes, row r
// then channel b at byte 64j + 4r + b, each the level c = e + levels / 2 in 0 ... levels - 1 of lh_quantize_channels.
// Values: group G holds rows 4G ..< 4G + 4 in 2d bytes; in it, channel block B (channels 32B ..< 32B + 32) takes
// 64 bytes, byte 4i + r holding the code of channel 32B + i (low nibble) and 32B + 16 + i (high nibble) of row r.
//
// Every path (scalar, AVX2, AVX-512 VNNI) computes the same integer sums exactly and turns them into floats by the
// same operations in the same order (the VNNI keys in registers, the others in one shared loop), so their results
// are equal bit for bit. The queries and the weights are rounded to 16-bit
// integers per block (over their largest magnitude); the error is three orders below the keys' own steps.

#include "lh_internal.h"

enum {
    KEY_TILE = 16,            // rows per key tile
    VALUE_GROUP = 4,          // rows per value group
    VALUE_BLOCK = 32,         // channels per value block
    INT16_MAX_SPLIT = 32639,  // 127·256 + 127: the largest magnitude whose high and low bytes are both int8
    MAX_QUERIES = 3,          // queries a kernel call takes together (the query heads of one KV head)
    MAX_ROWS = 2048,          // rows of a tiled block: the value sums stay within int32 (2048 · 15 · 32639 < 2^31)
    MAX_DIM = 512,            // channels of a tiled block (scratch on the stack; key sums 512 · 63 · 32639 < 2^31)
};

int lh_kv_tiles_fit(int64_t rows, int64_t d) {
    return rows > 0 && rows % KEY_TILE == 0 && rows <= MAX_ROWS && d > 0 && d % VALUE_BLOCK == 0 &&
           d <= MAX_DIM;
}

static inline int64_t key_offset(int64_t t, int64_t x, int64_t d) {
    return (t / KEY_TILE) * KEY_TILE * d + (x / 4) * 64 + (t % KEY_TILE) * 4 + x % 4;
}

// Byte of row t, channel x in the value tiles; *high is 1 when it is the byte's high nibble.
static inline int64_t value_offset(int64_t t, int64_t x, int64_t d, int *high) {
    *high = x % VALUE_BLOCK >= 16;
    return (t / VALUE_GROUP) * 2 * d + (x / VALUE_BLOCK) * 64 + 4 * (x % 16) + t % VALUE_GROUP;
}

#if LH_X86
// The same arrangement 16 channels at a time (SSE2, under the AVX2 level so that the scalar level stays scalar):
// four rows' 16 bytes are four channel quads each, and a 4 x 4 transpose of 32-bit words gives each quad's four rows.
// A block's tiles are made as it enters the cache, for every block the first question of an ask reads (2% of
// its time in the scalar loop).
static void tile_sealed_keys_sse2(const int8_t *e, int64_t rows, int64_t d, int middle, uint8_t *tiles) {
    const __m128i mid = _mm_set1_epi8((char)middle);
    for (int64_t t0 = 0; t0 < rows; t0 += KEY_TILE) {
        uint8_t *tile = tiles + t0 * d;
        for (int64_t j0 = 0; j0 < d / 4; j0 += 4) {
            for (int64_t g = 0; g < KEY_TILE / 4; g++) {
                const int8_t *src = e + (t0 + 4 * g) * d + 4 * j0;
                const __m128i r0 = _mm_loadu_si128((const __m128i *)src), r1 = _mm_loadu_si128((const __m128i *)(src + d));
                const __m128i r2 = _mm_loadu_si128((const __m128i *)(src + 2 * d)), r3 = _mm_loadu_si128((const __m128i *)(src + 3 * d));
                const __m128i a = _mm_unpacklo_epi32(r0, r1), b = _mm_unpacklo_epi32(r2, r3);
                const __m128i c = _mm_unpackhi_epi32(r0, r1), f = _mm_unpackhi_epi32(r2, r3);
                const __m128i quads[4] = { _mm_unpacklo_epi64(a, b), _mm_unpackhi_epi64(a, b),
                                           _mm_unpacklo_epi64(c, f), _mm_unpackhi_epi64(c, f) };
                for (int m = 0; m < 4; m++)
                    _mm_storeu_si128((__m128i *)(tile + 64 * (j0 + m) + 16 * g), _mm_add_epi8(quads[m], mid));
            }
        }
    }
}
#endif

void lh_tile_sealed_keys(const int8_t *e, int64_t rows, int64_t d, int levels, uint8_t *tiles) {
    const int middle = lh_key_middle(levels);
#if LH_X86
    if (lh_use_avx2() && rows % KEY_TILE == 0 && d % 16 == 0) { tile_sealed_keys_sse2(e, rows, d, middle, tiles); return; }
#endif
    for (int64_t t0 = 0; t0 < rows; t0 += KEY_TILE)
        for (int64_t j = 0; j < d / 4; j++)
            for (int64_t r = 0; r < KEY_TILE; r++)
                for (int64_t b = 0; b < 4; b++, tiles++) *tiles = (uint8_t)(e[(t0 + r) * d + 4 * j + b] + middle);
}

void lh_untile_sealed_keys(const uint8_t *tiles, int64_t rows, int64_t d, int levels, int8_t *e) {
    const int middle = lh_key_middle(levels);
    for (int64_t t = 0; t < rows; t++)
        for (int64_t x = 0; x < d; x++) e[t * d + x] = (int8_t)(tiles[key_offset(t, x, d)] - middle);
}

// The 4-bit code of element o of rows stored two per byte, low nibble first.
static inline uint8_t nibble(const uint8_t *v, int64_t o) { return (uint8_t)(o % 2 ? v[o / 2] >> 4 : v[o / 2] & 15); }

#if LH_X86
// The same arrangement one group and channel block at a time (SSE2, under the AVX2 level as above): a row's 16
// bytes hold its 32 channels' codes, low nibble first; split into the codes of channels 0-15 and 16-31, paired into
// bytes, and four rows interleaved byte by byte. The scalar loop was 6% of the first question of an ask at 128k.
static void tile_values4_sse2(const uint8_t *v, int64_t rows, int64_t d, uint8_t *tiles) {
    const __m128i low = _mm_set1_epi8(0x0F);
    for (int64_t t0 = 0; t0 < rows; t0 += VALUE_GROUP) {
        for (int64_t x0 = 0; x0 < d; x0 += VALUE_BLOCK, tiles += 64) {
            __m128i paired[VALUE_GROUP];
            for (int r = 0; r < VALUE_GROUP; r++) {
                const __m128i in = _mm_loadu_si128((const __m128i *)(v + (t0 + r) * (d / 2) + x0 / 2));
                const __m128i even = _mm_and_si128(in, low), odd = _mm_and_si128(_mm_srli_epi16(in, 4), low);
                const __m128i first = _mm_unpacklo_epi8(even, odd), second = _mm_unpackhi_epi8(even, odd);   // channels 0-15, 16-31
                paired[r] = _mm_or_si128(first, _mm_slli_epi16(second, 4));
            }
            const __m128i lo01 = _mm_unpacklo_epi8(paired[0], paired[1]), hi01 = _mm_unpackhi_epi8(paired[0], paired[1]);
            const __m128i lo23 = _mm_unpacklo_epi8(paired[2], paired[3]), hi23 = _mm_unpackhi_epi8(paired[2], paired[3]);
            _mm_storeu_si128((__m128i *)tiles, _mm_unpacklo_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(tiles + 16), _mm_unpackhi_epi16(lo01, lo23));
            _mm_storeu_si128((__m128i *)(tiles + 32), _mm_unpacklo_epi16(hi01, hi23));
            _mm_storeu_si128((__m128i *)(tiles + 48), _mm_unpackhi_epi16(hi01, hi23));
        }
    }
}
#endif

void lh_tile_values4(const uint8_t *v, int64_t rows, int64_t d, uint8_t *tiles) {
#if LH_X86
    if (lh_use_avx2() && rows % VALUE_GROUP == 0 && d % VALUE_BLOCK == 0) { tile_values4_sse2(v, rows, d, tiles); return; }
#endif
    for (int64_t t0 = 0; t0 < rows; t0 += VALUE_GROUP)
        for (int64_t x0 = 0; x0 < d; x0 += VALUE_BLOCK)
            for (int64_t i = 0; i < 16; i++)
                for (int64_t r = 0; r < VALUE_GROUP; r++, tiles++) {
                    const int64_t o = (t0 + r) * d + x0 + i;
                    *tiles = (uint8_t)(nibble(v, o) | nibble(v, o + 16) << 4);
                }
}

void lh_untile_values4(const uint8_t *tiles, int64_t rows, int64_t d, uint8_t *v) {
    memset(v, 0, (size_t)(rows * d / 2));
    for (int64_t t = 0; t < rows; t++) {
        for (int64_t x = 0; x < d; x++) {
            int high;
            const uint8_t b = tiles[value_offset(t, x, d, &high)], code = (uint8_t)(high ? b >> 4 : b & 15);
            v[(t * d + x) / 2] |= (uint8_t)(x % 2 ? code << 4 : code);
        }
    }
}

// The largest of `count` non-negative lanes, NaN ignored.
static float largest_lane(const float *lanes, int count) {
    float amax = 0.0f;
    for (int k = 0; k < count; k++) amax = fmaxf(amax, lanes[k]);
    return amax;
}

// v rounded to the nearest integer (ties to even), clamped to ±INT16_MAX_SPLIT, NaN as 0.
static inline int32_t round_clamp(float v) {
    v = nearbyintf(v);
    v = v > (float)INT16_MAX_SPLIT ? (float)INT16_MAX_SPLIT : (v < -(float)INT16_MAX_SPLIT ? -(float)INT16_MAX_SPLIT : (v == v ? v : 0.0f));
    return (int32_t)v;
}

// x16 = round_clamp(x · inv) for i < n, split into int8 high and low bytes (x16 = 256·hi + lo); returns Σ x16.
static int32_t split_rounded(const float *x, int64_t i, int64_t n, float inv, int8_t *hi, int8_t *lo) {
    int32_t sum = 0;
    for (; i < n; i++) {
        const int32_t q = round_clamp(x[i] * inv), l = ((q + 128) & 255) - 128;
        lo[i] = (int8_t)l;
        hi[i] = (int8_t)((q - l) / 256);
        sum += q;
    }
    return sum;
}

#if LH_X86
// Byte 0 of each of the eight int32 lanes of v, in order.
LH_AVX2 static inline uint64_t low_bytes(__m256i v) {
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i b = _mm256_shuffle_epi8(v, pick);
    return (uint64_t)(uint32_t)_mm256_extract_epi32(b, 0) | (uint64_t)(uint32_t)_mm256_extract_epi32(b, 4) << 32;
}

// split_rounded on eight lanes: the same roundings, clamps, bytes and sum.
LH_AVX2 static int32_t split_rounded_avx2(const float *x, int64_t n, float inv, int8_t *hi, int8_t *lo) {
    const __m256 top = _mm256_set1_ps((float)INT16_MAX_SPLIT), bottom = _mm256_set1_ps(-(float)INT16_MAX_SPLIT);
    __m256i sum = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(inv)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));   // NaN -> 0
        const __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, bottom), top));
        const __m256i l = _mm256_sub_epi32(_mm256_and_si256(_mm256_add_epi32(q, _mm256_set1_epi32(128)), _mm256_set1_epi32(255)),
                                           _mm256_set1_epi32(128));
        const uint64_t lb = low_bytes(l), hb = low_bytes(_mm256_srai_epi32(_mm256_sub_epi32(q, l), 8));
        memcpy(lo + i, &lb, 8);
        memcpy(hi + i, &hb, 8);
        sum = _mm256_add_epi32(sum, q);
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, sum);
    int32_t s = 0;
    for (int k = 0; k < 8; k++) s += lanes[k];
    return s + split_rounded(x, i, n, inv, hi, lo);
}
#endif

// w[t] = p[t] · s[t] for t < rows and 0 for rows <= t < padded; returns the largest |w[t]| (NaN ignored).
static float scaled_weights(const float *p, const float *s, int64_t rows, int64_t padded, float *w) {
    float amax = 0.0f;
    for (int64_t t = 0; t < rows; t++) {
        w[t] = p[t] * s[t];
        amax = fmaxf(amax, fabsf(w[t]));
    }
    for (int64_t t = rows; t < padded; t++) w[t] = 0.0f;
    return amax;
}

#if LH_X86
// scaled_weights on eight lanes: the same products and largest magnitude.
LH_AVX2 static float scaled_weights_avx2(const float *p, const float *s, int64_t rows, int64_t padded, float *w) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 acc = _mm256_setzero_ps();
    int64_t t = 0;
    for (; t + 8 <= rows; t += 8) {
        const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(p + t), _mm256_loadu_ps(s + t));
        _mm256_storeu_ps(w + t, x);
        acc = _mm256_max_ps(_mm256_and_ps(x, abs_mask), acc);   // NaN lanes keep acc
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    return fmaxf(largest_lane(lanes, 8), scaled_weights(p + t, s + t, rows - t, padded - t, w + t));
}
#endif

#if LH_X86
// split_rounded and scaled_weights on sixteen lanes (AVX-512): the same roundings, clamps, bytes, sums and products.
LH_AVX512 static int32_t split_rounded_avx512(const float *x, int64_t n, float inv, int8_t *hi, int8_t *lo) {
    const __m512 top = _mm512_set1_ps((float)INT16_MAX_SPLIT), bottom = _mm512_set1_ps(-(float)INT16_MAX_SPLIT);
    __m512i sum = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(inv)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);   // NaN -> 0
        const __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, bottom), top));
        const __m512i l = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(q, _mm512_set1_epi32(128)), _mm512_set1_epi32(255)),
                                           _mm512_set1_epi32(128));
        _mm_storeu_si128((__m128i *)(lo + i), _mm512_cvtepi32_epi8(l));
        _mm_storeu_si128((__m128i *)(hi + i), _mm512_cvtepi32_epi8(_mm512_srai_epi32(_mm512_sub_epi32(q, l), 8)));
        sum = _mm512_add_epi32(sum, q);
    }
    return _mm512_reduce_add_epi32(sum) + split_rounded(x, i, n, inv, hi, lo);
}

LH_AVX512 static float scaled_weights_avx512(const float *p, const float *s, int64_t rows, int64_t padded, float *w) {
    __m512 acc = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 16 <= rows; t += 16) {
        const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(p + t), _mm512_loadu_ps(s + t));
        _mm512_storeu_ps(w + t, x);
        acc = _mm512_max_ps(_mm512_abs_ps(x), acc);   // NaN lanes keep acc
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, acc);
    return fmaxf(largest_lane(lanes, 16), scaled_weights(p + t, s + t, rows - t, padded - t, w + t));
}
#endif

// x (n) rounded to integers x16 of magnitude at most INT16_MAX_SPLIT over amax, its largest magnitude, and split
// into int8 high and low bytes (x16 = 256·hi + lo); returns the scale (x ≈ scale · x16), 0 (and zero bytes) when
// amax is 0 or not finite. *sum gets Σ x16 (at most 2048 · 32639 in magnitude).
static float split_int16(const float *x, int64_t n, float amax, int8_t *hi, int8_t *lo, int32_t *sum) {
    if (!(amax > 0.0f) || !isfinite(amax)) {
        memset(hi, 0, (size_t)n);
        memset(lo, 0, (size_t)n);
        *sum = 0;
        return 0.0f;
    }
    const float inv = (float)INT16_MAX_SPLIT / amax;
#if LH_X86
    *sum = lh_use_avx512() ? split_rounded_avx512(x, n, inv, hi, lo)
         : lh_use_avx2()   ? split_rounded_avx2(x, n, inv, hi, lo) : split_rounded(x, 0, n, inv, hi, lo);
#else
    *sum = split_rounded(x, 0, n, inv, hi, lo);
#endif
    return amax / (float)INT16_MAX_SPLIT;
}

// MARK: keys

// sums[h][r] = Σ_x level(16·tile + r, x) · (256·qhi[h][x] + qlo[h][x]) for the M queries, over one tile.
static void key_tile_scalar(const uint8_t *tile, int64_t d, int M, const int8_t *qhi, const int8_t *qlo,
                            int32_t sums[MAX_QUERIES][KEY_TILE]) {
    for (int h = 0; h < M; h++) {
        for (int r = 0; r < KEY_TILE; r++) {
            int32_t a = 0;
            for (int64_t x = 0; x < d; x++) {
                const int32_t c = tile[(x / 4) * 64 + r * 4 + x % 4];
                a += c * (256 * (int32_t)qhi[h * d + x] + (int32_t)qlo[h * d + x]);
            }
            sums[h][r] = a;
        }
    }
}

#if LH_X86
// Four channels' levels (u8) times four int8 query bytes, summed per row: maddubs (at most 2·63·128 per pair, no
// saturation) then madd with ones, as one VNNI vpdpbusd.
LH_AVX2 static inline __m256i dot4_u8s8_avx2(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

LH_AVX2 static void key_tile_avx2(const uint8_t *tile, int64_t d, int M, const int8_t *qhi, const int8_t *qlo,
                                  int32_t sums[MAX_QUERIES][KEY_TILE]) {
    for (int half = 0; half < 2; half++) {
        __m256i ah[MAX_QUERIES], al[MAX_QUERIES];
        for (int h = 0; h < M; h++) ah[h] = al[h] = _mm256_setzero_si256();
        for (int64_t j = 0; j < d / 4; j++) {
            const __m256i k = _mm256_loadu_si256((const __m256i *)(tile + 64 * j + 32 * half));   // 8 rows x 4 channels
            for (int h = 0; h < M; h++) {
                ah[h] = _mm256_add_epi32(ah[h], dot4_u8s8_avx2(k, _mm256_set1_epi32((int)lh_load_u32((const uint8_t *)qhi + h * d + 4 * j))));
                al[h] = _mm256_add_epi32(al[h], dot4_u8s8_avx2(k, _mm256_set1_epi32((int)lh_load_u32((const uint8_t *)qlo + h * d + 4 * j))));
            }
        }
        for (int h = 0; h < M; h++)
            _mm256_storeu_si256((__m256i *)(sums[h] + 8 * half), _mm256_add_epi32(_mm256_slli_epi32(ah[h], 8), al[h]));
    }
}

#define LH_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

// Every tile of a block: the sums stay in registers and become scores there, alpha · (offset + qscale · sum) in
// the order of the shared loop (no fused multiply-add), so the results equal the other paths' bit for bit.
LH_VNNI static inline __attribute__((always_inline)) void key_block_vnni_m(const uint8_t *tiles, int64_t rows, int64_t d,
                                                                          const int M, const int8_t *qhi, const int8_t *qlo,
                                                                          const float *qscale, const float *offset,
                                                                          float alpha, float *scores, int64_t lds) {
    const __m512 a = _mm512_set1_ps(alpha);
    for (int64_t t0 = 0; t0 < rows; t0 += KEY_TILE) {
        const uint8_t *tile = tiles + t0 * d;
        __m512i ah[MAX_QUERIES], al[MAX_QUERIES];
        for (int h = 0; h < M; h++) ah[h] = al[h] = _mm512_setzero_si512();
        for (int64_t j = 0; j < d / 4; j++) {
            const __m512i k = _mm512_loadu_si512(tile + 64 * j);   // 16 rows x 4 channels
            for (int h = 0; h < M; h++) {
                ah[h] = _mm512_dpbusd_epi32(ah[h], k, _mm512_set1_epi32((int)lh_load_u32((const uint8_t *)qhi + h * d + 4 * j)));
                al[h] = _mm512_dpbusd_epi32(al[h], k, _mm512_set1_epi32((int)lh_load_u32((const uint8_t *)qlo + h * d + 4 * j)));
            }
        }
        const int64_t n = rows - t0 < KEY_TILE ? rows - t0 : KEY_TILE;
        const __mmask16 keep = (__mmask16)((1u << n) - 1);
        for (int h = 0; h < M; h++) {
            const __m512 sum = _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(ah[h], 8), al[h]));
            const __m512 logit = _mm512_add_ps(_mm512_set1_ps(offset[h]), _mm512_mul_ps(_mm512_set1_ps(qscale[h]), sum));
            _mm512_mask_storeu_ps(scores + h * lds + t0, keep, _mm512_mul_ps(a, logit));
        }
    }
}

LH_VNNI static void key_block_vnni(const uint8_t *tiles, int64_t rows, int64_t d, int M, const int8_t *qhi,
                                   const int8_t *qlo, const float *qscale, const float *offset, float alpha,
                                   float *scores, int64_t lds) {
    switch (M) {
    case 1: key_block_vnni_m(tiles, rows, d, 1, qhi, qlo, qscale, offset, alpha, scores, lds); return;
    case 2: key_block_vnni_m(tiles, rows, d, 2, qhi, qlo, qscale, offset, alpha, scores, lds); return;
    default: key_block_vnni_m(tiles, rows, d, 3, qhi, qlo, qscale, offset, alpha, scores, lds); return;
    }
}
#endif

void lh_kv_scores_tiled(const uint8_t *tiles, int64_t rows, int64_t d, int levels, int64_t m, const float *q,
                        const float *lo, const float *hi, float alpha, float *scores, int64_t lds) {
    int8_t qhi[MAX_QUERIES * MAX_DIM], qlo[MAX_QUERIES * MAX_DIM];
    float step[MAX_DIM], scaled[MAX_DIM];
    for (int64_t x = 0; x < d; x++) step[x] = lh_key_channel_step(lo[x], hi[x], levels);
    for (int64_t h0 = 0; h0 < m; h0 += MAX_QUERIES) {
        const int M = (int)(m - h0 < MAX_QUERIES ? m - h0 : MAX_QUERIES);
        float qscale[MAX_QUERIES], offset[MAX_QUERIES];
        for (int h = 0; h < M; h++) {
            // dot(q, lo + c·step) = Σ q·lo + Σ (q·step)·c: the second sum in integers, the first in eight running
            // sums (d is a multiple of 32) added in a fixed order. The largest |q·step| is kept in eight lanes too:
            // one running maximum made every element wait for the one before (a sixth of this function's time).
            const float *qh = q + (h0 + h) * d;
            float part[8] = { 0 }, largest[8] = { 0 };
            for (int64_t x = 0; x < d; x += 8) {
                for (int k = 0; k < 8; k++) {
                    scaled[x + k] = qh[x + k] * step[x + k];
                    largest[k] = fmaxf(largest[k], fabsf(scaled[x + k]));
                    const float product = qh[x + k] * lo[x + k];
                    part[k] += product;
                }
            }
            offset[h] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
            const float amax = fmaxf(fmaxf(fmaxf(largest[0], largest[1]), fmaxf(largest[2], largest[3])),
                                     fmaxf(fmaxf(largest[4], largest[5]), fmaxf(largest[6], largest[7])));
            int32_t unused;
            qscale[h] = split_int16(scaled, d, amax, qhi + h * d, qlo + h * d, &unused);
        }
#if LH_X86
        if (lh_use_vnni()) {
            key_block_vnni(tiles, rows, d, M, qhi, qlo, qscale, offset, alpha, scores + h0 * lds, lds);
            continue;
        }
        const int avx2 = lh_use_avx2();
#endif
        for (int64_t t0 = 0; t0 < rows; t0 += KEY_TILE) {
            int32_t sums[MAX_QUERIES][KEY_TILE];
            const uint8_t *tile = tiles + t0 * d;
#if LH_X86
            if (avx2) key_tile_avx2(tile, d, M, qhi, qlo, sums);
            else
#endif
                key_tile_scalar(tile, d, M, qhi, qlo, sums);
            const int64_t n = rows - t0 < KEY_TILE ? rows - t0 : KEY_TILE;
            for (int h = 0; h < M; h++) {
                for (int64_t r = 0; r < n; r++) {
                    const float dot = qscale[h] * (float)sums[h][r];
                    const float logit = offset[h] + dot;
                    scores[(h0 + h) * lds + t0 + r] = alpha * logit;
                }
            }
        }
    }
}

// MARK: values

// sums[h][x] = Σ_t code(t, x) · (256·whi[h][t] + wlo[h][t]) over `groups` groups of 4 rows, for channels
// 32·b0 ..< 32·(b0 + nb) (written at sums[h] + 32·b0).
static void value_blocks_scalar(const uint8_t *tiles, int64_t groups, int64_t d, int64_t b0, int64_t nb, int M,
                                const int8_t *whi, const int8_t *wlo, int64_t ldw, int32_t *sums) {
    for (int h = 0; h < M; h++) {
        for (int64_t x = 32 * b0; x < 32 * (b0 + nb); x++) {
            int32_t a = 0;
            for (int64_t t = 0; t < groups * VALUE_GROUP; t++) {
                int high;
                const uint8_t b = tiles[value_offset(t, x, d, &high)];
                const int32_t c = high ? b >> 4 : b & 15;
                a += c * (256 * (int32_t)whi[h * ldw + t] + (int32_t)wlo[h * ldw + t]);
            }
            sums[h * d + x] = a;
        }
    }
}

#if LH_X86
LH_AVX2 static void value_blocks_avx2(const uint8_t *tiles, int64_t groups, int64_t d, int64_t b0, int64_t nb, int M,
                                      const int8_t *whi, const int8_t *wlo, int64_t ldw, int32_t *sums) {
    const __m256i m15 = _mm256_set1_epi8(15);
    for (int64_t b = b0; b < b0 + nb; b++) {
        // acc[h][hl][k]: k = 0 channels +0..7, 1 +16..23, 2 +8..15, 3 +24..31 of block b; hl the weights' high/low bytes.
        __m256i acc[MAX_QUERIES][2][4];
        for (int h = 0; h < M; h++) for (int k = 0; k < 4; k++) acc[h][0][k] = acc[h][1][k] = _mm256_setzero_si256();
        for (int64_t g = 0; g < groups; g++) {
            const uint8_t *p = tiles + g * 2 * d + b * 64;
            const __m256i r0 = _mm256_loadu_si256((const __m256i *)p), r1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            const __m256i c[4] = { _mm256_and_si256(r0, m15), _mm256_and_si256(_mm256_srli_epi16(r0, 4), m15),
                                   _mm256_and_si256(r1, m15), _mm256_and_si256(_mm256_srli_epi16(r1, 4), m15) };
            for (int h = 0; h < M; h++) {
                const __m256i wh = _mm256_set1_epi32((int)lh_load_u32((const uint8_t *)whi + h * ldw + 4 * g));
                const __m256i wl = _mm256_set1_epi32((int)lh_load_u32((const uint8_t *)wlo + h * ldw + 4 * g));
                for (int k = 0; k < 4; k++) {
                    acc[h][0][k] = _mm256_add_epi32(acc[h][0][k], dot4_u8s8_avx2(c[k], wh));
                    acc[h][1][k] = _mm256_add_epi32(acc[h][1][k], dot4_u8s8_avx2(c[k], wl));
                }
            }
        }
        static const int first[4] = { 0, 16, 8, 24 };
        for (int h = 0; h < M; h++)
            for (int k = 0; k < 4; k++)
                _mm256_storeu_si256((__m256i *)(sums + h * d + 32 * b + first[k]),
                                    _mm256_add_epi32(_mm256_slli_epi32(acc[h][0][k], 8), acc[h][1][k]));
    }
}

// NB blocks (64 channels for NB = 2) at a time, all M queries: 4·NB·M accumulators.
LH_VNNI static inline __attribute__((always_inline)) void value_blocks_vnni_m(const uint8_t *tiles, int64_t groups, int64_t d,
                                                                              int64_t b0, const int NB, const int M,
                                                                              const int8_t *whi, const int8_t *wlo,
                                                                              int64_t ldw, int32_t *sums) {
    const __m512i m15 = _mm512_set1_epi8(15);
    __m512i acc[MAX_QUERIES][2][4];   // [h][hl][2·block + nibble]
    for (int h = 0; h < M; h++) for (int k = 0; k < 2 * NB; k++) acc[h][0][k] = acc[h][1][k] = _mm512_setzero_si512();
    for (int64_t g = 0; g < groups; g++) {
        __m512i c[4];
        for (int b = 0; b < NB; b++) {
            const __m512i raw = _mm512_loadu_si512(tiles + g * 2 * d + (b0 + b) * 64);
            c[2 * b] = _mm512_and_si512(raw, m15);                          // channels +0 ..< 16
            c[2 * b + 1] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m15);   // channels +16 ..< 32
        }
        for (int h = 0; h < M; h++) {
            const __m512i wh = _mm512_set1_epi32((int)lh_load_u32((const uint8_t *)whi + h * ldw + 4 * g));
            const __m512i wl = _mm512_set1_epi32((int)lh_load_u32((const uint8_t *)wlo + h * ldw + 4 * g));
            for (int k = 0; k < 2 * NB; k++) {
                acc[h][0][k] = _mm512_dpbusd_epi32(acc[h][0][k], c[k], wh);
                acc[h][1][k] = _mm512_dpbusd_epi32(acc[h][1][k], c[k], wl);
            }
        }
    }
    for (int h = 0; h < M; h++)
        for (int k = 0; k < 2 * NB; k++)
            _mm512_storeu_si512(sums + h * d + 32 * b0 + 16 * k, _mm512_add_epi32(_mm512_slli_epi32(acc[h][0][k], 8), acc[h][1][k]));
}

LH_VNNI static void value_blocks_vnni(const uint8_t *tiles, int64_t groups, int64_t d, int64_t b0, int64_t nb, int M,
                                      const int8_t *whi, const int8_t *wlo, int64_t ldw, int32_t *sums) {
    for (int64_t b = b0; b < b0 + nb;) {
        const int two = b + 1 < b0 + nb;
        if (two) {
            switch (M) {
            case 1: value_blocks_vnni_m(tiles, groups, d, b, 2, 1, whi, wlo, ldw, sums); break;
            case 2: value_blocks_vnni_m(tiles, groups, d, b, 2, 2, whi, wlo, ldw, sums); break;
            default: value_blocks_vnni_m(tiles, groups, d, b, 2, 3, whi, wlo, ldw, sums); break;
            }
        } else {
            switch (M) {
            case 1: value_blocks_vnni_m(tiles, groups, d, b, 1, 1, whi, wlo, ldw, sums); break;
            case 2: value_blocks_vnni_m(tiles, groups, d, b, 1, 2, whi, wlo, ldw, sums); break;
            default: value_blocks_vnni_m(tiles, groups, d, b, 1, 3, whi, wlo, ldw, sums); break;
            }
        }
        b += two ? 2 : 1;
    }
}
#endif

void lh_kv_accumulate_tiled4(const uint8_t *tiles, const float *scales, int64_t rows, int64_t d, int64_t m,
                             const float *p, int64_t ldp, float *out) {
    enum { LDW = MAX_ROWS };
    int8_t whi[MAX_QUERIES * LDW], wlo[MAX_QUERIES * LDW];
    int32_t sums[MAX_QUERIES * MAX_DIM];
    float w[LDW];
    const int64_t groups = (rows + VALUE_GROUP - 1) / VALUE_GROUP;
    for (int64_t h0 = 0; h0 < m; h0 += MAX_QUERIES) {
        const int M = (int)(m - h0 < MAX_QUERIES ? m - h0 : MAX_QUERIES);
        float wscale[MAX_QUERIES];
        int32_t wsum[MAX_QUERIES];
        int any = 0;
        for (int h = 0; h < M; h++) {
            // Σ_t p_t·s_t·(c − 8) = Σ_t w_t·c − 8·Σ_t w_t with w_t = p_t·s_t, the weights in integers.
            const float *ph = p + (h0 + h) * ldp;
#if LH_X86
            const float amax = lh_use_avx512() ? scaled_weights_avx512(ph, scales, rows, groups * VALUE_GROUP, w)
                             : lh_use_avx2()   ? scaled_weights_avx2(ph, scales, rows, groups * VALUE_GROUP, w)
                                               : scaled_weights(ph, scales, rows, groups * VALUE_GROUP, w);
#else
            const float amax = scaled_weights(ph, scales, rows, groups * VALUE_GROUP, w);
#endif
            wscale[h] = split_int16(w, groups * VALUE_GROUP, amax, whi + h * LDW, wlo + h * LDW, &wsum[h]);
            any |= wscale[h] != 0.0f;
        }
        if (!any) continue;
#if LH_X86
        if (lh_use_vnni()) value_blocks_vnni(tiles, groups, d, 0, d / VALUE_BLOCK, M, whi, wlo, LDW, sums);
        else if (lh_use_avx2()) value_blocks_avx2(tiles, groups, d, 0, d / VALUE_BLOCK, M, whi, wlo, LDW, sums);
        else
#endif
            value_blocks_scalar(tiles, groups, d, 0, d / VALUE_BLOCK, M, whi, wlo, LDW, sums);
        for (int h = 0; h < M; h++) {
            if (wscale[h] == 0.0f) continue;
            float *o = out + (h0 + h) * d;
            for (int64_t x = 0; x < d; x++) o[x] += wscale[h] * (float)((int64_t)sums[h * d + x] - 8 * wsum[h]);
        }
    }
}

// MARK: prefetch

// The lines of p ..< p + bytes towards the L2 cache.
static void prefetch_lines(const void *p, int64_t bytes) {
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 0, 2);
}

// Bytes of a block's tiles prefetched: enough for the hardware prefetchers to take over. The whole block (16 KB of
// keys) held the line fill buffers: 8.7% of an answer token in the prefetches themselves.
enum { PREFETCH_HEAD = 1024 };

void lh_kv_tiles_prefetch_keys(const uint8_t *tiles, const float *ranges, int64_t rows, int64_t d) {
    prefetch_lines(ranges, 2 * d * (int64_t)sizeof(float));
    prefetch_lines(tiles, rows * d < PREFETCH_HEAD ? rows * d : PREFETCH_HEAD);
}

void lh_kv_tiles_prefetch_values(const uint8_t *tiles, const float *scales, int64_t rows, int64_t d) {
    prefetch_lines(scales, rows * (int64_t)sizeof(float));
    prefetch_lines(tiles, rows * d / 2 < PREFETCH_HEAD ? rows * d / 2 : PREFETCH_HEAD);
}
