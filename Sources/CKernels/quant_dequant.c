// quant_dequant.c: owns the block-type table and row dequantization to f32. K-quant super-blocks are decoded by
// quant_kblocks.c, activations quantized by quant_activation.c.

#include "lh_internal.h"

int64_t lh_type_block_elems(int type) {
    switch (type) {
    case LH_TYPE_F32: case LH_TYPE_F16: case LH_TYPE_BF16: return 1;
    case LH_TYPE_Q4_0: case LH_TYPE_Q4_1: case LH_TYPE_Q5_0: case LH_TYPE_Q5_1: case LH_TYPE_Q8_0: return 32;
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K: return LH_QK;
    default: return 0;
    }
}

int64_t lh_type_block_bytes(int type) {
    switch (type) {
    case LH_TYPE_F32: return 4;
    case LH_TYPE_F16: case LH_TYPE_BF16: return 2;
    case LH_TYPE_Q4_0: return (int64_t)sizeof(lh_blk_q4_0);
    case LH_TYPE_Q4_1: return (int64_t)sizeof(lh_blk_q4_1);
    case LH_TYPE_Q5_0: return (int64_t)sizeof(lh_blk_q5_0);
    case LH_TYPE_Q5_1: return (int64_t)sizeof(lh_blk_q5_1);
    case LH_TYPE_Q8_0: return (int64_t)sizeof(lh_blk_q8_0);
    case LH_TYPE_Q2_K: return (int64_t)sizeof(lh_blk_q2_k);
    case LH_TYPE_Q3_K: return (int64_t)sizeof(lh_blk_q3_k);
    case LH_TYPE_Q4_K: return (int64_t)sizeof(lh_blk_q4_k);
    case LH_TYPE_Q5_K: return (int64_t)sizeof(lh_blk_q5_k);
    case LH_TYPE_Q6_K: return (int64_t)sizeof(lh_blk_q6_k);
    default: return 0;
    }
}

/// Q5_0 (offset -16, no min) or Q5_1 (min m): the fifth bit of value j is bit j of qh.
static void dequantize_q5(int q51, const uint8_t *src, float *dst, int64_t n) {
    const size_t bsz = q51 ? sizeof(lh_blk_q5_1) : sizeof(lh_blk_q5_0);
    for (int64_t i = 0; i < n / 32; i++, src += bsz, dst += 32) {
        const float d = lh_half_to_float(lh_load_u16(src));
        const float m = q51 ? lh_half_to_float(lh_load_u16(src + 2)) : 0.0f;
        const uint32_t qh = lh_load_u32(src + (q51 ? 4 : 2));
        const uint8_t *qs = src + (q51 ? 8 : 6);
        for (int j = 0; j < 16; j++) {
            const int lo = (qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            const int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            if (q51) {
                dst[j] = (float)lo * d + m;
                dst[j + 16] = (float)hi * d + m;
            } else {
                dst[j] = (float)(lo - 16) * d;
                dst[j + 16] = (float)(hi - 16) * d;
            }
        }
    }
}

/// K-quants: x = (d * scale) * q - dmin * min per 16 values, as lh_kblock documents.
static void dequantize_kquant(int type, const uint8_t *src, float *dst, int64_t n) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    lh_kblock kb;
    for (int64_t b = 0; b < n / LH_QK; b++, src += bsz, dst += LH_QK) {
        lh_kblock_decode(type, src, &kb);
        for (int t = 0; t < 16; t++) {
            const float dl = kb.d * (float)kb.scale[t], ml = kb.dmin * (float)kb.min[t];
            for (int j = 0; j < 16; j++) dst[16 * t + j] = dl * (float)kb.q[16 * t + j] - ml;
        }
    }
}

void lh_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case LH_TYPE_Q5_0: case LH_TYPE_Q5_1:
        dequantize_q5(type == LH_TYPE_Q5_1, src, dst, n);
        break;
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K:
        dequantize_kquant(type, src, dst, n);
        break;
    case LH_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case LH_TYPE_F16:
        lh_f16_to_f32(src, dst, n);
        break;
    case LH_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = lh_bits_f32((uint32_t)s[i] << 16);
        break;
    }
    case LH_TYPE_Q4_0: {
        const lh_blk_q4_0 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)((b->qs[j] & 0xF) - 8) * d;
                dst[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
            }
        }
        break;
    }
    case LH_TYPE_Q4_1: {
        const lh_blk_q4_1 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d), m = lh_half_to_float(b->m);
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)(b->qs[j] & 0xF) * d + m;
                dst[j + 16] = (float)(b->qs[j] >> 4) * d + m;
            }
        }
        break;
    }
    case LH_TYPE_Q8_0: {
        const lh_blk_q8_0 *b = src;
        for (int64_t i = 0; i < n / 32; i++, b++, dst += 32) {
            const float d = lh_half_to_float(b->d);
            for (int j = 0; j < 32; j++) dst[j] = (float)b->qs[j] * d;
        }
        break;
    }
    default:
        break;
    }
}
