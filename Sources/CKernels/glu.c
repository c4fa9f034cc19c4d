// glu.c: owns the gated activations of the feed-forward sublayer, gate = act(gate) * up (SwiGLU, GeGLU).
//
// Why C: they were plain Swift loops over libm's scalar expf/tanhf, one call per feed-forward value of every prompt
// token. In a 512-token prefill of Gemma 3 270M (feed-forward size 2048, 18 layers) GeGLU's tanhf (through
// __expm1f) took ~17% of the profile (perf, pp512), on one thread while the other core idled. The AVX2 path
// computes both with lh_exp256_ps (relative error ~2e-7), using 0.5 * (1 + tanh(u)) = 1 / (1 + exp(-2u)), so
// gelu(g) = g / (1 + exp(-2u)) with u = sqrt(2/pi) * g * (1 + 0.044715 g^2) (GELU's tanh approximation, as ggml).
// Measured (lhindex bench --prompt 512, alternating runs on a 2-core AMD EPYC at load 5-7): Gemma 3 270M pp512 from
// 133-179 to 160-200 tok/s (GeGLU ~0.8% of the profile afterwards), SmolLM2-135M (SwiGLU) from 183-185 to 203-215.
// The scalar path uses the same identity with libm's expf (the tanh form loses every digit of gelu(g) for g below
// about -4 to the cancellation in 1 + tanh(u)).

#include "lh_internal.h"

/// sqrt(2/pi) and the cubic coefficient of GELU's tanh approximation.
#define GELU_C 0.7978845608028654f
#define GELU_A 0.044715f

static void geglu_scalar(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-2.0f * GELU_C * g * (1.0f + GELU_A * g * g))) * up[i];
    }
}

static void swiglu_scalar(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

#if LH_X86
/// g / (1 + exp(-z)) * u for 8 lanes. exp(-z) saturates at exp(88) for very negative z (the quotient is then
/// about 0, as it should be) and is exactly 0 below -87 (the quotient is g).
LH_AVX2 static inline __m256 gated_sigmoid(__m256 g, __m256 z, __m256 u) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = lh_exp256_ps(_mm256_sub_ps(_mm256_setzero_ps(), z));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u);
}

LH_AVX2 static void geglu_avx2(float *gate, const float *up, int64_t n) {
    const __m256 c2 = _mm256_set1_ps(2.0f * GELU_C), a = _mm256_set1_ps(GELU_A), one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 z = _mm256_mul_ps(_mm256_mul_ps(c2, g), _mm256_fmadd_ps(_mm256_mul_ps(a, g), g, one));   // 2u
        _mm256_storeu_ps(gate + i, gated_sigmoid(g, z, _mm256_loadu_ps(up + i)));
    }
    geglu_scalar(gate + i, up + i, n - i);
}

LH_AVX2 static void swiglu_avx2(float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        _mm256_storeu_ps(gate + i, gated_sigmoid(g, g, _mm256_loadu_ps(up + i)));
    }
    swiglu_scalar(gate + i, up + i, n - i);
}
#endif

void lh_geglu_f32(float *gate, const float *up, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { geglu_avx2(gate, up, n); return; }
#endif
    geglu_scalar(gate, up, n);
}

/// SwiGLU stays on libm's expf: with lh_exp256_ps the default model's greedy answer to "What is the pass key?"
/// over a three-line note changed from "The pass key is 4242." to an invented one (InteractiveAskTests), a
/// near-tie flipped while the teacher-forced goldens still passed. Answers are worth more than the few
/// percent of SmolLM2's prefill this took (it is split over the pool either way). `lh_swiglu_f32_avx2` keeps
/// the vector path for measurements and its test.
void lh_swiglu_f32(float *gate, const float *up, int64_t n) {
    swiglu_scalar(gate, up, n);
}

void lh_swiglu_f32_avx2(float *gate, const float *up, int64_t n) {
#if LH_X86
    if (lh_use_avx2()) { swiglu_avx2(gate, up, n); return; }
#endif
    swiglu_scalar(gate, up, n);
}
