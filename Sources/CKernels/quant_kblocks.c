// quant_kblocks.c: owns the decoding of K-quant super-blocks (Q2_K..Q6_K) to integers, used by their
// dequantization and by the scalar dot products. Layouts: see lh_type_block_bytes in lh_kernels.h.

#include "lh_internal.h"

/// Q2_K: 2-bit quants, a 4-bit scale and a 4-bit min per 16 values.
static void decode_q2_k(const lh_blk_q2_k *b, lh_kblock *out) {
    out->d = lh_half_to_float(b->d);
    out->dmin = lh_half_to_float(b->dmin);
    for (int t = 0; t < 16; t++) {
        out->scale[t] = b->scales[t] & 0xF;
        out->min[t] = b->scales[t] >> 4;
    }
    for (int s = 0; s < 8; s++) {
        const uint8_t *src = b->qs + 32 * (s / 4);
        const int shift = 2 * (s % 4);
        for (int l = 0; l < 32; l++) out->q[32 * s + l] = (int8_t)((src[l] >> shift) & 3);
    }
}

/// Q3_K: 2 low bits in qs, the third bit in hmask (set means +0, clear means -4), a 6-bit scale per 16 values.
static void decode_q3_k(const lh_blk_q3_k *b, lh_kblock *out) {
    out->d = lh_half_to_float(b->d);
    out->dmin = 0.0f;
    int8_t sc[16];
    lh_k3_scales(b->scales, sc);
    for (int t = 0; t < 16; t++) { out->scale[t] = sc[t]; out->min[t] = 0; }
    for (int s = 0; s < 8; s++) {
        const uint8_t *src = b->qs + 32 * (s / 4);
        const int shift = 2 * (s % 4);
        for (int l = 0; l < 32; l++) {
            const int low = (src[l] >> shift) & 3;
            out->q[32 * s + l] = (int8_t)(low - 4 + 4 * ((b->hmask[l] >> s) & 1));
        }
    }
}

/// Q4_K and Q5_K: 4-bit quants (plus a fifth bit from qh for Q5_K), a 6-bit scale and min per 32 values.
static void decode_q45_k(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t d, uint16_t dmin,
                         lh_kblock *out) {
    out->d = lh_half_to_float(d);
    out->dmin = lh_half_to_float(dmin);
    for (int s = 0; s < 8; s++) {
        uint8_t sc, mn;
        lh_k4_scale_min(scales, s, &sc, &mn);
        out->scale[2 * s] = out->scale[2 * s + 1] = sc;
        out->min[2 * s] = out->min[2 * s + 1] = mn;
    }
    for (int s = 0; s < 8; s++) {
        const uint8_t *src = qs + 32 * (s / 2);
        const int shift = 4 * (s % 2);
        if (qh) {
            for (int l = 0; l < 32; l++) out->q[32 * s + l] = (int8_t)(((src[l] >> shift) & 0xF) | ((qh[l] >> s) & 1) << 4);
        } else {
            for (int l = 0; l < 32; l++) out->q[32 * s + l] = (int8_t)((src[l] >> shift) & 0xF);
        }
    }
}

/// Q6_K: 4 low bits in ql, 2 high bits in qh, minus 32; a signed 8-bit scale per 16 values.
static void decode_q6_k(const lh_blk_q6_k *b, lh_kblock *out) {
    out->d = lh_half_to_float(b->d);
    out->dmin = 0.0f;
    for (int t = 0; t < 16; t++) { out->scale[t] = b->scales[t]; out->min[t] = 0; }
    for (int s = 0; s < 8; s++) {
        const int h = s / 4, c = s % 4;
        const uint8_t *low = b->ql + 64 * h + 32 * (c & 1), *high = b->qh + 32 * h;
        const int shift = c < 2 ? 0 : 4;
        for (int l = 0; l < 32; l++) {
            out->q[32 * s + l] = (int8_t)((((low[l] >> shift) & 0xF) | ((high[l] >> (2 * c)) & 3) << 4) - 32);
        }
    }
}

void lh_kblock_decode(int type, const uint8_t *blk, lh_kblock *out) {
    switch (type) {
    case LH_TYPE_Q2_K: decode_q2_k((const lh_blk_q2_k *)blk, out); break;
    case LH_TYPE_Q3_K: decode_q3_k((const lh_blk_q3_k *)blk, out); break;
    case LH_TYPE_Q4_K: {
        const lh_blk_q4_k *b = (const lh_blk_q4_k *)blk;
        decode_q45_k(b->scales, b->qs, NULL, b->d, b->dmin, out);
        break;
    }
    case LH_TYPE_Q5_K: {
        const lh_blk_q5_k *b = (const lh_blk_q5_k *)blk;
        decode_q45_k(b->scales, b->qs, b->qh, b->d, b->dmin, out);
        break;
    }
    default: decode_q6_k((const lh_blk_q6_k *)blk, out); break;
    }
}
