// quant_dot_k.c: owns the K-quant (Q2_K..Q6_K) dot products of weight rows with q8 activations: the scalar
// kernel, and the run-time choice between it and the AVX2 kernel (quant_dot_k_avx2.c).
//
// A super-block of 256 values meets 8 lh_block_q8 activation blocks (scale dx, quants qx). With the super-block
// decoded as x = d * sc[t] * q - dmin * mn[t] per 16-value sub-block t (see lh_kblock), one activation block gives
//   dx * (d * (sc[t] * sum(q*qx) + sc[t+1] * sum(q*qx)') - dmin * (mn[t] * sum(qx) + mn[t+1] * sum(qx)'))
// where ' marks the block's second 16 values. The integer sums are exact, so the activation's 8-bit rounding is the
// only approximation; llama.cpp rounds activations the same way but with one scale per 256 values (Q8_K) instead
// of one per 32, so results agree within that rounding, not bit for bit.

#include "lh_internal.h"

static float kquant_row_dot_scalar(int type, const uint8_t *row, int64_t nsb, const lh_block_q8 *x) {
    const size_t bsz = (size_t)lh_type_block_bytes(type);
    lh_kblock kb;
    float acc = 0.0f;
    for (int64_t sb = 0; sb < nsb; sb++) {
        lh_kblock_decode(type, row + (size_t)sb * bsz, &kb);
        float scaled = 0.0f, mins = 0.0f;
        for (int b = 0; b < 8; b++) {
            const lh_block_q8 *xb = x + sb * 8 + b;
            int dsum = 0, msum = 0;
            for (int h = 0; h < 2; h++) {
                const int t = 2 * b + h;
                int qsum = 0, xsum = 0;
                for (int j = 0; j < 16; j++) {
                    qsum += kb.q[16 * t + j] * xb->qs[16 * h + j];
                    xsum += xb->qs[16 * h + j];
                }
                dsum += kb.scale[t] * qsum;
                msum += kb.min[t] * xsum;
            }
            scaled += xb->d * (float)dsum;
            mins += xb->d * (float)msum;
        }
        acc += kb.d * scaled - kb.dmin * mins;
    }
    return acc;
}

void lh_rows_kquant(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t cols,
                    const lh_block_q8 *xq, float *y, int64_t y_stride, int64_t m) {
    const int64_t nsb = cols / LH_QK;
#if LH_X86
    if (lh_use_avx2() && cols <= LH_KQUANT_AVX2_SCRATCH * 8) { lh_rows_kquant_avx2(type, w, row_bytes, r0, r1, nsb, xq, y, y_stride, m); return; }
#endif
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t i = 0; i < m; i++) y[i * y_stride + r] = kquant_row_dot_scalar(type, row, nsb, xq + i * nsb * 8);
    }
}
