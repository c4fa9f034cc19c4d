// cpu_features.c: owns the run-time choice between the AVX-512, AVX2/FMA/F16C kernels and the scalar fallbacks.

#include "lh_internal.h"

/// -1 until first use, then the SIMD level in use: 2 (AVX-512 where a kernel has it, AVX2 elsewhere), 1 (AVX2
/// kernels) or 0 (scalar kernels).
int lh_simd_state = -1;

/// 1 if the CPU has AVX-512 VNNI besides level 2, written by cpu_level (which every path setting the level runs).
int lh_cpu_vnni = 0;

/// The highest level the CPU supports: 1 needs AVX2, FMA, F16C and PCLMULQDQ (crc32.c; every AVX2 CPU has it);
/// 2 also needs AVX-512 F, BW, DQ and VL (every AVX-512 Xeon since Skylake-SP has all four). Also records VNNI.
static int cpu_level(void) {
#if LH_X86
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")
          && __builtin_cpu_supports("pclmul")))
        return 0;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
          && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")))
        return 1;
    __atomic_store_n(&lh_cpu_vnni, __builtin_cpu_supports("avx512vnni") ? 1 : 0, __ATOMIC_RELAXED);
    return 2;
#else
    return 0;
#endif
}

int lh_detect_simd_level(void) {
    int s = cpu_level();
    __atomic_store_n(&lh_simd_state, s, __ATOMIC_RELAXED);
    return s;
}

int lh_simd_level(void) { return lh_current_simd_level(); }

int lh_cpu_simd_level(void) { return cpu_level(); }

void lh_set_simd_level(int level) {
    const int top = cpu_level();
    __atomic_store_n(&lh_simd_state, level < 0 ? 0 : level > top ? top : level, __ATOMIC_RELAXED);
}
