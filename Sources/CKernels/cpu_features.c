// cpu_features.c: owns the run-time choice between the AVX2/FMA/F16C kernels and the scalar fallbacks.

#include "lh_internal.h"

/// -1 until first use, then 1 (AVX2 kernels) or 0 (scalar kernels).
int lh_avx2_state = -1;

/// True when the CPU has every feature the LH_AVX2 functions are compiled for, and PCLMULQDQ (crc32.c), which
/// every AVX2 CPU has.
static int cpu_has_avx2(void) {
#if LH_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")
        && __builtin_cpu_supports("pclmul");
#else
    return 0;
#endif
}

int lh_detect_avx2(void) {
    int s = cpu_has_avx2();
    __atomic_store_n(&lh_avx2_state, s, __ATOMIC_RELAXED);
    return s;
}

int lh_simd_enabled(void) { return lh_use_avx2(); }

void lh_set_simd_enabled(int enabled) {
    __atomic_store_n(&lh_avx2_state, enabled ? cpu_has_avx2() : 0, __ATOMIC_RELAXED);
}
