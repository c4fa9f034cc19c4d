// quant_dot_k_avx2.c: owns the AVX2 dot products of K-quant (Q2_K..Q6_K) weight rows with q8 activations.
//
// Per 32-value sub-block the quants are unpacked to 32 unsigned bytes u in element order and multiplied with the
// activation's signed bytes by _mm256_maddubs_epi16 (16 int16 pair sums: elements 0..15 in the low lane, 16..31 in
// the high lane), then widened to int32 by _mm256_madd_epi16: with the two 16-value integer scales (Q2_K, Q3_K,
// Q6_K: the low lane's 8 int16 get the first, the high lane's the second) or with ones (Q4_K, Q5_K, whose one
// scale per 32 values goes into a float factor instead). Each sub-block then costs one int->float conversion and
// one FMA with the activation scale, into two accumulators taken in turn so consecutive FMAs do not wait for each
// other; the f16 super-block scale is applied once per 256 values. The constant parts of the quants (the mins of
// Q2_K/Q4_K/Q5_K, the offsets of Q3_K: u - 4 and Q6_K: u - 32) do not depend on the quants: they are sums of
// activation values weighted by per-sub-block integers, computed 8 or 16 sub-blocks at once from the activation's
// per-half sums (see kact). No int16 saturation: |pair sum| <= 2 * 63 * 127 < 32768. Up to KTILE activation
// vectors share one pass over a row, so its quants are unpacked once for all of them. See quant_dot_k.c.

#include "lh_internal.h"

#if LH_X86

/// Bytes ahead of the current super-block that the kernels prefetch (see PREFETCH_AHEAD in quant_dot.c).
#define K_PREFETCH_AHEAD 2048

/// An activation vector's q8 blocks x with their scales and sums as contiguous floats, so 8 or 16 load as vectors:
/// dx[b] = x[b].d, sx[b] = x[b].s = dx[b] * sum(x[b].qs), hx[2b + h] = dx[b] * the sum of half h (16 values) of
/// x[b].qs.
typedef struct {
    const lh_block_q8 *x;
    const float *dx, *sx, *hx;
} kact;

/// Floats of kact scratch per activation block.
#define KACT_FLOATS 4

/// Activation vectors handled per pass over a weight row (the row is unpacked once for all of them).
#define KTILE 4

/// A tile kernel: out[i] = dot(row, a[i]) for i < mt (mt a compile-time constant in each instance), row being nsb
/// super-blocks.
typedef void (*ktile_fn)(const uint8_t *row, int64_t nsb, const kact *a, float *out);

LH_AVX2 static inline __m256i load32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Prefetch the cache lines of the super-block K_PREFETCH_AHEAD bytes after `blk`.
LH_AVX2 static inline void prefetch_block(const uint8_t *blk, size_t bsz) {
    for (size_t off = 0; off < bsz; off += 64) _mm_prefetch((const char *)blk + K_PREFETCH_AHEAD + off, _MM_HINT_T0);
}

/// A super-block's 16 int8 scales as 32-bit words each holding the scale twice as int16, stored to `words`, so that
/// scale_pair can assemble its vectors from broadcast loads and a blend rather than byte shuffles and a sign
/// extension (shuffles compete for Zen 3's two shuffle pipes; measured 7% faster on Q6_K).
LH_AVX2 static inline void store_scale_words(__m128i scales8, int32_t words[16]) {
    const __m256i lo = _mm256_cvtepi8_epi32(scales8), hi = _mm256_cvtepi8_epi32(_mm_unpackhi_epi64(scales8, scales8));
    const __m256i low16 = _mm256_set1_epi32(0xFFFF);
    _mm256_storeu_si256((__m256i *)words, _mm256_or_si256(_mm256_and_si256(lo, low16), _mm256_slli_epi32(lo, 16)));
    _mm256_storeu_si256((__m256i *)(words + 8), _mm256_or_si256(_mm256_and_si256(hi, low16), _mm256_slli_epi32(hi, 16)));
}

/// The scales of 16-value sub-blocks 2k and 2k+1 as 16 int16 lanes (the low 128-bit lane's 8 get the first, the
/// high lane's the second) from the words of store_scale_words.
LH_AVX2 static inline __m256i scale_pair(const int32_t words[16], int k) {
    const __m256 first = _mm256_broadcast_ss((const float *)(const void *)&words[2 * k]);
    const __m256 second = _mm256_broadcast_ss((const float *)(const void *)&words[2 * k + 1]);
    return _mm256_castps_si256(_mm256_blend_ps(first, second, 0xF0));
}

/// sum over the 16-value halves t of w[t] * hx[t] for a super-block's 16 signed int8 weights w, as 8 float lanes.
LH_AVX2 static inline __m256 weighted_halves(__m128i w8, const float *hx) {
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(w8));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(w8, w8)));
    return _mm256_fmadd_ps(hi, _mm256_loadu_ps(hx + 8), _mm256_mul_ps(lo, _mm256_loadu_ps(hx)));
}

/// Bit `from` of every byte of `bits` moved to bit `to` of the same byte, all other bits clear: a 16-bit shift
/// (constant after inlining) and a mask. The bits a 16-bit shift carries across the byte boundary land at other
/// positions than `to`, so the mask removes them.
LH_AVX2 static inline __m256i move_bit(__m256i bits, int from, int to) {
    const __m256i moved = to >= from ? _mm256_slli_epi16(bits, to - from) : _mm256_srli_epi16(bits, from - to);
    return _mm256_and_si256(moved, _mm256_set1_epi8((char)(1 << to)));
}

/// Right shift of every byte by n (0..7), through 16-bit shifts; the caller masks the bits shifted in.
LH_AVX2 static inline __m256i shift_bytes(__m256i v, int n) { return _mm256_srl_epi16(v, _mm_cvtsi32_si128(n)); }

/// One 32-value sub-block k of super-block sb of a 16-scale type: acc += dx * sum(scale * u * qx).
LH_AVX2 static inline __m256 scaled_subblock(__m256 acc, __m256i u, const kact *a, int64_t sb, int k,
                                             const int32_t words[16]) {
    const __m256i qx = load32(a->x[8 * sb + k].qs);
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, qx), scale_pair(words, k));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(a->dx + 8 * sb + k), acc);
}

/// Q2_K: x = d * sc[t] * u - dmin * mn[t], u in [0, 3].
LH_AVX2 static inline __attribute__((always_inline)) void
tile_q2_k(const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) {
    const __m256i three = _mm256_set1_epi8(3);
    __m256 acc[KTILE];
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    int32_t words[16] __attribute__((aligned(32)));
    for (int64_t sb = 0; sb < nsb; sb++) {
        const lh_blk_q2_k *b = (const lh_blk_q2_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        const __m128i raw = _mm_loadu_si128((const __m128i *)b->scales);
        const __m128i scales = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
        store_scale_words(scales, words);
        __m256 s[KTILE][2];
        for (int i = 0; i < mt; i++) s[i][0] = s[i][1] = _mm256_setzero_ps();
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const __m256i qs = load32(b->qs + 32 * h);
#pragma unroll
            for (int c = 0; c < 4; c++) {
                const __m256i u = _mm256_and_si256(shift_bytes(qs, 2 * c), three);
                for (int i = 0; i < mt; i++) s[i][c & 1] = scaled_subblock(s[i][c & 1], u, a + i, sb, 4 * h + c, words);
            }
        }
        const __m256 d = _mm256_set1_ps(lh_half_to_float(b->d)), dmin = _mm256_set1_ps(lh_half_to_float(b->dmin));
        for (int i = 0; i < mt; i++) {
            acc[i] = _mm256_fmadd_ps(_mm256_add_ps(s[i][0], s[i][1]), d, acc[i]);
            acc[i] = _mm256_fnmadd_ps(weighted_halves(mins, a[i].hx + 16 * sb), dmin, acc[i]);
        }
    }
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]);
}

/// The 16 signed 6-bit scales (minus 32) of a Q3_K super-block as bytes: scale t has its 4 low bits in the low
/// (t < 8) or high (t >= 8) nibble of byte t % 8 and its 2 high bits at bit 2*(t/4) of byte 8 + t % 4.
LH_AVX2 static inline __m128i q3_k_scales(const uint8_t *packed) {
    const __m128i nib = _mm_set1_epi8(0x0F);
    const __m128i lows = _mm_loadl_epi64((const __m128i *)(const void *)packed);   // bytes 0..7
    const __m128i low4 = _mm_unpacklo_epi64(_mm_and_si128(lows, nib), _mm_and_si128(_mm_srli_epi16(lows, 4), nib));
    // byte t of every word is byte 8 + t % 4; word t / 4 is shifted right by 2 * (t / 4)
    const __m128i highs = _mm_set1_epi32((int)lh_load_u32(packed + 8));
    const __m128i high2 = _mm_and_si128(_mm_srlv_epi32(highs, _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
    return _mm_sub_epi8(_mm_or_si128(low4, _mm_slli_epi16(high2, 4)), _mm_set1_epi8(32));
}

/// Q3_K: x = d * sc[t] * (u - 4), u in [0, 7] (u = the two low bits, plus 4 where the hmask bit is set).
LH_AVX2 static inline __attribute__((always_inline)) void
tile_q3_k(const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) {
    const __m256i three = _mm256_set1_epi8(3);
    __m256 acc[KTILE];
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    int32_t words[16] __attribute__((aligned(32)));
    for (int64_t sb = 0; sb < nsb; sb++) {
        const lh_blk_q3_k *b = (const lh_blk_q3_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        const __m128i scales = q3_k_scales(b->scales);
        store_scale_words(scales, words);
        const __m256i hmask = load32(b->hmask);
        __m256 s[KTILE][2];
        for (int i = 0; i < mt; i++) s[i][0] = s[i][1] = _mm256_setzero_ps();
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const __m256i qs = load32(b->qs + 32 * h);
#pragma unroll
            for (int c = 0; c < 4; c++) {
                const int k = 4 * h + c;
                const __m256i u = _mm256_or_si256(_mm256_and_si256(shift_bytes(qs, 2 * c), three), move_bit(hmask, k, 2));
                for (int i = 0; i < mt; i++) s[i][c & 1] = scaled_subblock(s[i][c & 1], u, a + i, sb, k, words);
            }
        }
        const __m256 d = _mm256_set1_ps(lh_half_to_float(b->d)), four = _mm256_set1_ps(4.0f);
        for (int i = 0; i < mt; i++) {
            const __m256 total = _mm256_fnmadd_ps(weighted_halves(scales, a[i].hx + 16 * sb), four,
                                                  _mm256_add_ps(s[i][0], s[i][1]));
            acc[i] = _mm256_fmadd_ps(total, d, acc[i]);
        }
    }
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]);
}

/// Q4_K (five = 0) and Q5_K (five = 1): x = d * sc[s] * u - dmin * mn[s] with one 6-bit scale and min per 32
/// values. The float factors sc[s] * dx[s] of the 8 sub-blocks are computed at once per vector and kept on the
/// stack, so each sub-block needs only a broadcast load, no shuffle; the mins meet the activation sums sx, 8 at once,
/// in the same accumulator.
LH_AVX2 static inline __attribute__((always_inline)) void
tile_q45_k(int five, const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) {
    const size_t bsz = five ? sizeof(lh_blk_q5_k) : sizeof(lh_blk_q4_k);
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones16 = _mm256_set1_epi16(1);
    __m256 acc[KTILE];
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    float factor[KTILE][8] __attribute__((aligned(32)));
    for (int64_t sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + (size_t)sb * bsz;
        prefetch_block(blk, bsz);
        // 6-bit scales and mins of sub-blocks 0..3 and 4..7 (see lh_k4_scale_min), 4 bytes per word
        const uint8_t *packed = blk + offsetof(lh_blk_q4_k, scales);   // same offset in lh_blk_q5_k
        const uint32_t a0 = lh_load_u32(packed), a1 = lh_load_u32(packed + 4), a2 = lh_load_u32(packed + 8);
        const uint32_t six = 0x3F3F3F3Fu, nib = 0x0F0F0F0Fu, top2 = 0x30303030u;
        const uint64_t sc = (a0 & six) | (uint64_t)((a2 & nib) | ((a0 >> 2) & top2)) << 32;
        const uint64_t mn = (a1 & six) | (uint64_t)(((a2 >> 4) & nib) | ((a1 >> 2) & top2)) << 32;
        const __m256 scales = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc)));
        const __m256 mins = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn))),
                                          _mm256_set1_ps(lh_half_to_float(lh_load_u16(blk + 2))));
        __m256 s[KTILE][2];
        for (int i = 0; i < mt; i++) {
            _mm256_store_ps(factor[i], _mm256_mul_ps(scales, _mm256_loadu_ps(a[i].dx + 8 * sb)));
            s[i][0] = _mm256_setzero_ps();
            s[i][1] = _mm256_setzero_ps();
        }
        const uint8_t *qs = blk + (five ? offsetof(lh_blk_q5_k, qs) : offsetof(lh_blk_q4_k, qs));
        const __m256i qh = five ? load32(blk + offsetof(lh_blk_q5_k, qh)) : _mm256_setzero_si256();
#pragma unroll
        for (int g = 0; g < 4; g++) {
            const __m256i bytes = load32(qs + 32 * g);
#pragma unroll
            for (int c = 0; c < 2; c++) {
                const int k = 2 * g + c;
                __m256i u = _mm256_and_si256(c ? _mm256_srli_epi16(bytes, 4) : bytes, low4);
                if (five) u = _mm256_or_si256(u, move_bit(qh, k, 4));
                for (int i = 0; i < mt; i++) {
                    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, load32(a[i].x[8 * sb + k].qs)), ones16);
                    s[i][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&factor[i][k]), s[i][c]);
                }
            }
        }
        const __m256 d = _mm256_set1_ps(lh_half_to_float(lh_load_u16(blk)));
        for (int i = 0; i < mt; i++) {
            acc[i] = _mm256_fmadd_ps(_mm256_add_ps(s[i][0], s[i][1]), d, acc[i]);
            acc[i] = _mm256_fnmadd_ps(mins, _mm256_loadu_ps(a[i].sx + 8 * sb), acc[i]);
        }
    }
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]);
}

LH_AVX2 static inline __attribute__((always_inline)) void
tile_q4_k(const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) { tile_q45_k(0, row, nsb, a, mt, out); }
LH_AVX2 static inline __attribute__((always_inline)) void
tile_q5_k(const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) { tile_q45_k(1, row, nsb, a, mt, out); }

/// Q6_K: x = d * sc[t] * (u - 32), u in [0, 63] (4 low bits from ql, 2 high bits from qh).
LH_AVX2 static inline __attribute__((always_inline)) void
tile_q6_k(const uint8_t *row, int64_t nsb, const kact *a, int mt, float *out) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
    __m256 acc[KTILE];
    for (int i = 0; i < mt; i++) acc[i] = _mm256_setzero_ps();
    int32_t words[16] __attribute__((aligned(32)));
    for (int64_t sb = 0; sb < nsb; sb++) {
        const lh_blk_q6_k *b = (const lh_blk_q6_k *)row + sb;
        prefetch_block((const uint8_t *)b, sizeof *b);
        const __m128i scales = _mm_loadu_si128((const __m128i *)b->scales);
        store_scale_words(scales, words);
        __m256 s[KTILE][2];
        for (int i = 0; i < mt; i++) s[i][0] = s[i][1] = _mm256_setzero_ps();
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const __m256i la = load32(b->ql + 64 * h), lb = load32(b->ql + 64 * h + 32);
            const __m256i hi = load32(b->qh + 32 * h);
            // bits 2c and 2c+1 of qh moved to bits 4 and 5 above the 4 low bits
            __m256i u[4];
            u[0] = _mm256_or_si256(_mm256_and_si256(la, low4), _mm256_and_si256(_mm256_slli_epi16(hi, 4), high2));
            u[1] = _mm256_or_si256(_mm256_and_si256(lb, low4), _mm256_and_si256(_mm256_slli_epi16(hi, 2), high2));
            u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), low4), _mm256_and_si256(hi, high2));
            u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), low4),
                                   _mm256_and_si256(_mm256_srli_epi16(hi, 2), high2));
#pragma unroll
            for (int c = 0; c < 4; c++) {
                for (int i = 0; i < mt; i++) s[i][c & 1] = scaled_subblock(s[i][c & 1], u[c], a + i, sb, 4 * h + c, words);
            }
        }
        const __m256 d = _mm256_set1_ps(lh_half_to_float(b->d)), bias = _mm256_set1_ps(32.0f);
        for (int i = 0; i < mt; i++) {
            const __m256 total = _mm256_fnmadd_ps(weighted_halves(scales, a[i].hx + 16 * sb), bias,
                                                  _mm256_add_ps(s[i][0], s[i][1]));
            acc[i] = _mm256_fmadd_ps(total, d, acc[i]);
        }
    }
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]);
}

/// The instances of a tile kernel for 1..KTILE vectors.
#define K_TILE_INSTANCES(name)                                                                                   \
    LH_AVX2 static void name##_1(const uint8_t *r, int64_t n, const kact *a, float *o) { tile_##name(r, n, a, 1, o); } \
    LH_AVX2 static void name##_2(const uint8_t *r, int64_t n, const kact *a, float *o) { tile_##name(r, n, a, 2, o); } \
    LH_AVX2 static void name##_3(const uint8_t *r, int64_t n, const kact *a, float *o) { tile_##name(r, n, a, 3, o); } \
    LH_AVX2 static void name##_4(const uint8_t *r, int64_t n, const kact *a, float *o) { tile_##name(r, n, a, 4, o); }
K_TILE_INSTANCES(q2_k)
K_TILE_INSTANCES(q3_k)
K_TILE_INSTANCES(q4_k)
K_TILE_INSTANCES(q5_k)
K_TILE_INSTANCES(q6_k)

/// The tile kernel of `type` for mt (1..KTILE) vectors.
static ktile_fn ktile_for(int type, int64_t mt) {
    static const ktile_fn table[5][KTILE] = {
        { q2_k_1, q2_k_2, q2_k_3, q2_k_4 }, { q3_k_1, q3_k_2, q3_k_3, q3_k_4 }, { q4_k_1, q4_k_2, q4_k_3, q4_k_4 },
        { q5_k_1, q5_k_2, q5_k_3, q5_k_4 }, { q6_k_1, q6_k_2, q6_k_3, q6_k_4 },
    };
    return table[type - LH_TYPE_Q2_K][mt - 1];
}

/// Fill the kact floats of one activation vector of nb blocks at `f` (KACT_FLOATS * nb floats).
static kact make_kact(const lh_block_q8 *x, int64_t nb, float *f) {
    kact a = { x, f, f + nb, f + 2 * nb };
    for (int64_t b = 0; b < nb; b++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < 16; j++) { lo += x[b].qs[j]; hi += x[b].qs[16 + j]; }
        f[b] = x[b].d;
        f[nb + b] = x[b].s;
        f[2 * nb + 2 * b] = x[b].d * (float)lo;
        f[2 * nb + 2 * b + 1] = x[b].d * (float)hi;
    }
    return a;
}

LH_AVX2 void lh_rows_kquant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nsb,
                                 const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    const int64_t nb = nsb * 8;
    float scratch[LH_KQUANT_AVX2_SCRATCH];
    kact acts[64];
    int64_t group = LH_KQUANT_AVX2_SCRATCH / (KACT_FLOATS * nb);   // >= 1: lh_rows_kquant checks the row length
    if (group > 64) group = 64;
    float out[KTILE];
    for (int64_t i0 = 0; i0 < m; i0 += group) {
        const int64_t mg = m - i0 < group ? m - i0 : group;
        for (int64_t i = 0; i < mg; i++) acts[i] = make_kact(xq + (i0 + i) * nb, nb, scratch + KACT_FLOATS * nb * i);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = w + (size_t)r * row_bytes;
            for (int64_t t = 0; t < mg; t += KTILE) {
                const int64_t mt = mg - t < KTILE ? mg - t : KTILE;
                ktile_for(type, mt)(row, nsb, acts + t, out);
                for (int64_t i = 0; i < mt; i++) y[(i0 + t + i) * y_stride + r] = out[i];
            }
        }
    }
}

#endif
