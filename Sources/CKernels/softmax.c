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

/// lh_exp256_ps on 16 lanes: the same steps, so each lane's result equals lh_exp256_ps's bit for bit.
LH_AVX512 static inline __m512 exp512(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.0f), hi = _mm512_set1_ps(88.0f);
    const __mmask16 representable = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
    x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(representable, _mm512_mul_ps(y, _mm512_castsi512_ps(e)));
}

/// The AVX2 softmax's three passes on 16 lanes, the last partial vector of each pass masked (no scalar expf tail).
LH_AVX512 static float softmax_avx512(float *x, int64_t n) {
    const int64_t full = n & ~(int64_t)15;
    const __mmask16 tail = (__mmask16)((1u << (n - full)) - 1);
    const __m512 neg = _mm512_set1_ps(-INFINITY);
    __m512 vmax = neg;
    for (int64_t i = 0; i < full; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
    vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(neg, tail, x + full));
    const float mx = _mm512_reduce_max_ps(vmax);
    if (mx == -INFINITY) { for (int64_t i = 0; i < n; i++) x[i] = 0; return -INFINITY; }   // nothing to attend
    const __m512 vm = _mm512_set1_ps(mx);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t i = 0; i < full; i += 16) {
        const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        _mm512_storeu_ps(x + i, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    if (tail) {
        const __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(neg, tail, x + full), vm));   // 0 beyond n
        _mm512_mask_storeu_ps(x + full, tail, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    const float sum = _mm512_reduce_add_ps(vsum);
    const __m512 inv = _mm512_set1_ps(1.0f / sum), smallest = _mm512_set1_ps(FLT_MIN);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 lanes = i < full ? (__mmask16)0xFFFF : tail;
        const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + i), inv);
        _mm512_mask_storeu_ps(x + i, lanes, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p, smallest, _CMP_GE_OQ), p));
    }
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
    if (lh_use_avx512()) return softmax_avx512(x, n);
    if (lh_use_avx2()) return softmax_avx2(x, n);
#endif
    return softmax_scalar(x, n);
}

void lh_softmax_f32(float *x, int64_t n) { (void)lh_softmax_f32_lse(x, n); }
