// In-place softmax over f32 rows with a vectorised exp (attention weights are the hottest elementwise op).
//
// Why C: the attention softmax calls exp once per (query, key) pair, hundreds of millions of times per
// long prompt; libm's scalar expf took ~28% of a 2048-token prefill. An AVX2 Cephes-style exp
// (range reduction by log 2, degree-6 polynomial, exponent via integer add; max relative error ~2e-7
// on [-87, 0]) is ~8x cheaper.
//
// No subnormal weights: a weight below FLT_MIN (a masked key, or one more than 87 nats below the row's
// maximum) becomes exactly 0. Subnormal weights used to come out of every causally masked key (exp clamped
// at -87 gives 1.6e-38, then divided by the sum), and the weights-times-values product multiplies them:
// Intel cores take a microcode assist for each FMA with a subnormal operand (AMD Zen cores do not), which
// made window attention in LongHeads prefill several times slower on Intel than on AMD.
#include "lh_internal.h"
#include <float.h>
#include <math.h>

/// p itself when it is a normal float (or larger), else exactly 0.
static inline float normal_or_zero(float p) { return p >= FLT_MIN ? p : 0.0f; }

#if LH_X86
LH_AVX2 static float softmax_avx2(float *x, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    float mx = -INFINITY;
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    for (int j = 0; j < 8; j++) mx = lanes[j] > mx ? lanes[j] : mx;
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) { for (i = 0; i < n; i++) x[i] = 0; return -INFINITY; }   // nothing to attend: no weight
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = lh_exp256_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    _mm256_storeu_ps(lanes, vsum);
    float sum = 0;
    for (int j = 0; j < 8; j++) sum += lanes[j];
    for (; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    const __m256 inv = _mm256_set1_ps(1.0f / sum), smallest = _mm256_set1_ps(FLT_MIN);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
        _mm256_storeu_ps(x + i, _mm256_and_ps(p, _mm256_cmp_ps(p, smallest, _CMP_GE_OQ)));
    }
    for (; i < n; i++) x[i] = normal_or_zero(x[i] * (1.0f / sum));
    return mx + logf(sum);
}
#endif

static float softmax_scalar(float *x, int64_t n) {
    float mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) { for (int64_t i = 0; i < n; i++) x[i] = 0; return -INFINITY; }
    for (int64_t i = 0; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    for (int64_t i = 0; i < n; i++) x[i] = normal_or_zero(x[i] / sum);
    return mx + logf(sum);
}

float lh_softmax_f32_lse(float *x, int64_t n) {
    if (n <= 0) return -INFINITY;
#if LH_X86
    if (lh_use_avx2()) return softmax_avx2(x, n);
#endif
    return softmax_scalar(x, n);
}

void lh_softmax_f32(float *x, int64_t n) { (void)lh_softmax_f32_lse(x, n); }
