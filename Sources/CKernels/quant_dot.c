// quant_dot.c: owns the fused dequantize-and-dot kernels of the 32-value block types (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0)
// with q8 activations, and hands K-quant rows to quant_dot_k.c.
//
// For a weight block (scale dw, offset mw) and an activation block (scale dx, sum term sx = dx * sum(qx)):
//   Q4_1, Q5_1: dot = dw*dx*sum(q*qx) + mw*sx     with q in [0, 15] or [0, 31]
//   Q4_0: dot = dw*dx*sum(q*qx) - 8*dw*sx          (the -8 of (q - 8) folded into the offset, so mw = -8*dw)
//   Q5_0: dot = dw*dx*sum(q*qx) - 16*dw*sx         (likewise with q in [0, 31])
//   Q8_0: dot = dw*dx*sum(q*qx)                    with q in [-128, 127]
// The integer sums are exact; only the float accumulation differs between the AVX2 and scalar paths.
// AVX2: with one activation vector (decode), rows are taken in adjacent pairs sharing the activation loads; with
// more, each weight row is multiplied by up to TILE vectors at once, so it is read from memory once and then from
// L1 for the remaining tiles. The AVX2 loops are bound by the shuffle port on Zen 3, so lane inserts and register
// broadcasts are kept to a minimum.
// AVX-512 VNNI (lh_use_vnni()): the same loops with vpdpbusd for the byte products (dot_u8s8), identical results;
// generation with the default model 159-168 -> 171-176 tok/s on the 2-core AVX-512 Xeon (bench --gen 128, quiet).

#include "lh_internal.h"

/// Activation vectors handled per pass over a weight row.
#define TILE 4
/// Software prefetch distance in bytes: the kernels walk the weight bytes this far ahead of their reads. Reading two
/// rows at once interleaves two streams, which the hardware prefetcher follows poorly (measured on Zen 3, one
/// thread streaming Q8_0 from DRAM: 8.5 GB/s without, 21 GB/s with; Q4_1 12.7 -> 14.4 GB/s, compute bound).
#define PREFETCH_AHEAD 4096

// ---- scalar path ----

/// The 32 unsigned quants of a Q4_0/Q4_1/Q5_0/Q5_1 block in element order, with the block's scale dw and offset
/// mw (x = q * dw + mw).
static void small_block_scalar(int type, const uint8_t *blk, uint8_t q[32], float *dw, float *mw) {
    const float d = lh_half_to_float(lh_load_u16(blk));
    const uint8_t *qs;
    uint32_t qh = 0;
    switch (type) {
    case LH_TYPE_Q4_0: qs = blk + offsetof(lh_blk_q4_0, qs); *mw = -8.0f * d; break;
    case LH_TYPE_Q4_1: qs = blk + offsetof(lh_blk_q4_1, qs); *mw = lh_half_to_float(lh_load_u16(blk + 2)); break;
    case LH_TYPE_Q5_0:
        qh = lh_load_u32(blk + offsetof(lh_blk_q5_0, qh));
        qs = blk + offsetof(lh_blk_q5_0, qs);
        *mw = -16.0f * d;
        break;
    default:
        qh = lh_load_u32(blk + offsetof(lh_blk_q5_1, qh));
        qs = blk + offsetof(lh_blk_q5_1, qs);
        *mw = lh_half_to_float(lh_load_u16(blk + 2));
        break;
    }
    *dw = d;
    for (int j = 0; j < 16; j++) {
        q[j] = (uint8_t)((qs[j] & 0xF) | ((qh >> j) & 1) << 4);
        q[j + 16] = (uint8_t)((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
    }
}

static float small_row_dot_scalar(int type, const uint8_t *row, int64_t nb, const lh_block_q8 *x) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++, x++) {
        uint8_t q[32];
        float dw, mw;
        small_block_scalar(type, row + (size_t)b * bsz, q, &dw, &mw);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += q[j] * x->qs[j];
        acc += dw * x->d * (float)sum + mw * x->s;
    }
    return acc;
}

static float q8_row_dot_scalar(const uint8_t *row, int64_t nb, const lh_block_q8 *x) {
    const lh_blk_q8_0 *blk = (const lh_blk_q8_0 *)row;
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++, blk++, x++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += blk->qs[j] * x->qs[j];
        acc += lh_half_to_float(blk->d) * x->d * (float)sum;
    }
    return acc;
}

static void rows_quant_scalar(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                              const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i = 0; i < m; i++) {
            const lh_block_q8 *x = xq + i * nb;
            y[i * y_stride + r] = type == LH_TYPE_Q8_0 ? q8_row_dot_scalar(row, nb, x)
                                                       : small_row_dot_scalar(type, row, nb, x);
        }
    }
}

// ---- AVX2 path ----

#if LH_X86
/// Sum of u8 x s8 products as 8 int32 lanes converted to float: maddubs gives 16 int16 pair sums (at most
/// 2 * 128 * 127 in magnitude, so no saturation), madd with ones widens pairs of them to int32. vnni (a
/// compile-time constant after inlining; only where lh_use_vnni()): one AVX-512 VNNI vpdpbusd instead, the same
/// exact int32 sums. It is written as assembly so that these AVX2 functions need not be compiled for AVX-512.
LH_AVX2 static inline __m256 dot_u8s8(__m256i u, __m256i s, const int vnni) {
    if (vnni) {
        __m256i acc = _mm256_setzero_si256();
        __asm__("vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
        return _mm256_cvtepi32_ps(acc);
    }
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

/// The fifth bits of a Q5 block as bytes: byte e is 16 if bit e of the 32-bit qh at `qh` is set, else 0. Each byte
/// first gets the qh byte holding its bit (byte e / 8), then is compared with its own bit mask 1 << (e % 8). qh is
/// broadcast straight from memory (a load, where a broadcast from a register would take a shuffle slot).
LH_AVX2 static inline __m256i q5_high_bits(const uint8_t *qh) {
    const __m256i spread = _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL);
    const __m256i word = _mm256_castps_si256(_mm256_broadcast_ss((const float *)(const void *)qh));
    const __m256i bytes = _mm256_shuffle_epi8(word, spread);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit), _mm256_set1_epi8(0x10));
}

/// The 32 quants of a weight block as bytes in element order. Q4: the 16 bytes are loaded into both lanes
/// (a load-unit broadcast), the high lane shifted right by 4 and both masked, giving elements 0..15 (low nibbles)
/// then 16..31 (high nibbles); this avoids a lane insert, which competes with the broadcasts for the shuffle port.
/// Q5_0/Q5_1: those nibbles ORed with 16 where the element's bit of qh is set (see q5_high_bits).
/// Q8_0: the signed bytes as stored.
LH_AVX2 static inline __m256i block_quants(int type, const uint8_t *blk) {
    if (type == LH_TYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(blk + offsetof(lh_blk_q8_0, qs)));
    const size_t qoff = type == LH_TYPE_Q4_1 ? offsetof(lh_blk_q4_1, qs) : type == LH_TYPE_Q4_0 ? offsetof(lh_blk_q4_0, qs)
                      : type == LH_TYPE_Q5_1 ? offsetof(lh_blk_q5_1, qs) : offsetof(lh_blk_q5_0, qs);
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + qoff)));
    const __m256i shifted = _mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    const __m256i nibbles = _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
    if (type == LH_TYPE_Q4_0 || type == LH_TYPE_Q4_1) return nibbles;
    const size_t hoff = type == LH_TYPE_Q5_1 ? offsetof(lh_blk_q5_1, qh) : offsetof(lh_blk_q5_0, qh);
    return _mm256_or_si256(nibbles, q5_high_bits(blk + hoff));
}

/// Integer dot product of a block's quants with 32 activation quants, as 8 float lanes to be summed.
/// Q4 quants are unsigned; Q8_0 ones are signed, so maddubs gets |w| and x with w's sign.
LH_AVX2 static inline __m256 block_dot(int type, __m256i wq, __m256i xv, const int vnni) {
    if (type == LH_TYPE_Q8_0) return dot_u8s8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xv, wq), vnni);
    return dot_u8s8(wq, xv, vnni);
}

/// Weight-block scale halves as one 32-bit word (low half first): (d, m) for Q4_1/Q5_1, (d, d) for Q4_0/Q5_0,
/// (d, 0) for Q8_0. Converted and multiplied by an activation block's (dx, sx), this gives (dw*dx, offset) for every
/// type, where the offset is mw*sx (Q4_1/Q5_1), dw*sx (Q4_0/Q5_0, applied times -8/-16 at the end) or 0 (Q8_0).
static inline uint32_t scale_word(int type, const uint8_t *blk) {
    if (type == LH_TYPE_Q4_1 || type == LH_TYPE_Q5_1) return lh_load_u32(blk);
    const uint32_t d = lh_load_u16(blk);
    return type == LH_TYPE_Q4_0 || type == LH_TYPE_Q5_0 ? d * 0x10001u : d;
}

/// Factor applied to the accumulated offsets (see scale_word).
static inline float offset_factor(int type) {
    switch (type) {
    case LH_TYPE_Q4_1: case LH_TYPE_Q5_1: return 1.0f;
    case LH_TYPE_Q4_0: return -8.0f;
    case LH_TYPE_Q5_0: return -16.0f;
    default: return 0.0f;
    }
}

/// (dx, sx, dx, sx) of an activation block: one 64-bit load duplicated into both halves.
LH_AVX2 static inline __m128 x_scales2(const lh_block_q8 *x) {
    return _mm_castpd_ps(_mm_loaddup_pd((const double *)(const void *)x));
}

/// out[0..1] = dot(row a, x) and dot(row b, x) for adjacent rows: the m = 1 kernel. Two rows share each activation
/// block load, one F16 conversion gives both rows' scales, and the two accumulators are independent FMA chains.
LH_AVX2 static inline __attribute__((always_inline)) void
quant_rows2(int type, const uint8_t *ra, const uint8_t *rb, int64_t nb, const lh_block_q8 *x, float *out, const int vnni) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    const __m256i lane2 = _mm256_set1_epi32(2);
    __m256 acc_a = _mm256_setzero_ps(), acc_b = _mm256_setzero_ps();
    __m128 offs = _mm_setzero_ps();
    const char *ahead = (const char *)ra + PREFETCH_AHEAD;   // the pair is ~2*nb*bsz contiguous bytes
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *ba = ra + (size_t)b * bsz, *bb = rb + (size_t)b * bsz;
        _mm_prefetch(ahead + 2 * (size_t)b * bsz, _MM_HINT_T0);
        _mm_prefetch(ahead + 2 * (size_t)b * bsz + 64, _MM_HINT_T0);
        const uint64_t words = scale_word(type, ba) | (uint64_t)scale_word(type, bb) << 32;
        // s = (dwa*dx, offset a, dwb*dx, offset b)
        const __m128 s = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128((long long)words)), x_scales2(x + b));
        if (type != LH_TYPE_Q8_0) offs = _mm_add_ps(offs, s);
        const __m256i xv = _mm256_loadu_si256((const __m256i *)x[b].qs);
        acc_a = _mm256_fmadd_ps(block_dot(type, block_quants(type, ba), xv, vnni), _mm256_broadcastss_ps(s), acc_a);
        acc_b = _mm256_fmadd_ps(block_dot(type, block_quants(type, bb), xv, vnni),
                                _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), lane2), acc_b);
    }
    const float k = offset_factor(type);
    out[0] = lh_hsum_ps(acc_a) + k * _mm_cvtss_f32(_mm_shuffle_ps(offs, offs, 1));
    out[1] = lh_hsum_ps(acc_b) + k * _mm_cvtss_f32(_mm_shuffle_ps(offs, offs, 3));
}

/// out[i] = dot(row, x[i]) for i < mt (a compile-time constant after inlining), x[i] = xq + i * nb: the kernel for
/// m > 1 (and a leftover odd row). The row's quants and scales are unpacked once per block for all mt vectors.
LH_AVX2 static inline __attribute__((always_inline)) void
quant_row_tile(int type, const uint8_t *row, int64_t nb, const lh_block_q8 *xq, int mt, float *out, const int vnni) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    __m256 acc[TILE];
    __m128 offs[TILE];
    for (int i = 0; i < mt; i++) { acc[i] = _mm256_setzero_ps(); offs[i] = _mm_setzero_ps(); }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = row + (size_t)b * bsz;
        _mm_prefetch((const char *)blk + PREFETCH_AHEAD, _MM_HINT_T0);
        const __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)scale_word(type, blk)));
        const __m256i wq = block_quants(type, blk);
        for (int i = 0; i < mt; i++) {
            const lh_block_q8 *x = xq + i * nb + b;
            const __m128 s = _mm_mul_ps(dm, x_scales2(x));   // (dw*dx, offset, ...)
            if (type != LH_TYPE_Q8_0) offs[i] = _mm_add_ps(offs[i], s);
            const __m256 p = block_dot(type, wq, _mm256_loadu_si256((const __m256i *)x->qs), vnni);
            acc[i] = _mm256_fmadd_ps(p, _mm256_broadcastss_ps(s), acc[i]);
        }
    }
    const float k = offset_factor(type);
    for (int i = 0; i < mt; i++) out[i] = lh_hsum_ps(acc[i]) + k * _mm_cvtss_f32(_mm_movehdup_ps(offs[i]));
}

/// Rows [r0, r1) against all m vectors for one block type (a compile-time constant after inlining).
LH_AVX2 static inline __attribute__((always_inline)) void
rows_quant_typed(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                 const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m, const int vnni) {
    float out[TILE];
    int64_t r = r0;
    if (m == 1) {
        for (; r + 1 < r1; r += 2) {
            const uint8_t *ra = w + (size_t)r * row_bytes;
            quant_rows2(type, ra, ra + row_bytes, nb, xq, y + r, vnni);
        }
    }
    for (; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i0 = 0; i0 < m; i0 += TILE) {
            const lh_block_q8 *x = xq + i0 * nb;
            switch (m - i0) {
            case 1: quant_row_tile(type, row, nb, x, 1, out, vnni); break;
            case 2: quant_row_tile(type, row, nb, x, 2, out, vnni); break;
            case 3: quant_row_tile(type, row, nb, x, 3, out, vnni); break;
            default: quant_row_tile(type, row, nb, x, 4, out, vnni); break;
            }
            const int64_t mt = m - i0 < TILE ? m - i0 : TILE;
            for (int64_t i = 0; i < mt; i++) y[(i0 + i) * y_stride + r] = out[i];
        }
    }
}

/// All rows of one block type; vnni: 1 where lh_use_vnni() (two instantiations per type).
LH_AVX2 static void rows_quant_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t nb,
                                    const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m, int vnni) {
#define ROWS(T) (vnni ? rows_quant_typed(T, w, row_bytes, r0, r1, nb, xq, y, y_stride, m, 1) \
                      : rows_quant_typed(T, w, row_bytes, r0, r1, nb, xq, y, y_stride, m, 0))
    switch (type) {
    case LH_TYPE_Q4_0: ROWS(LH_TYPE_Q4_0); break;
    case LH_TYPE_Q4_1: ROWS(LH_TYPE_Q4_1); break;
    case LH_TYPE_Q5_0: ROWS(LH_TYPE_Q5_0); break;
    case LH_TYPE_Q5_1: ROWS(LH_TYPE_Q5_1); break;
    default: ROWS(LH_TYPE_Q8_0); break;
    }
#undef ROWS
}
#endif

void lh_rows_quant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                   const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    if (lh_is_kquant(type)) { lh_rows_kquant(type, w, row_bytes, r0, r1, cols, xq, y, y_stride, m); return; }
#if LH_X86
    if (lh_use_avx2()) { rows_quant_avx2(type, w, row_bytes, r0, r1, cols / 32, xq, y, y_stride, m, lh_use_vnni()); return; }
#endif
    rows_quant_scalar(type, w, row_bytes, r0, r1, cols / 32, xq, y, y_stride, m);
}
