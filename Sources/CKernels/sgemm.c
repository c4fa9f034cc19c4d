// sgemm.c: owns the lh_sgemm_nt / lh_sgemm_nn entry points, their run-time dispatch (the shared SIMD level of
// cpu_features.c: scalar, AVX2, or AVX2 with AVX-512 tiles), the scalar fallbacks and the per-thread packing
// buffer used by the blocked path in sgemm_avx2.c.

#include "lh_sgemm.h"
#include "lh_internal.h"

#include <pthread.h>
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SGEMM_X86 1
/// Blocked AVX2/FMA sgemm (sgemm_avx2.c). nt != 0: B is n x k ("NT"); otherwise k x n ("NN"). Needs m, n, k >= 1.
void lh_sgemm_avx2(int nt, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
#else
#define SGEMM_X86 0
#endif

float *lh_sgemm_scratch(size_t floats);

// MARK: - Per-thread packing buffer

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/// Header in front of each thread's buffer: its capacity in floats.
typedef struct { size_t floats; } scratch_header;
#define SCRATCH_ALIGN 64

static void scratch_free(void *p) { free(p); }
static void scratch_make_key(void) { (void)pthread_key_create(&scratch_key, scratch_free); }

/// A 64-byte aligned buffer of at least `floats` floats owned by the calling thread (freed when it exits), or
/// NULL if memory runs out. Every call on one thread returns the same memory unless it has to grow.
float *lh_sgemm_scratch(size_t floats) {
    (void)pthread_once(&scratch_once, scratch_make_key);
    void *block = pthread_getspecific(scratch_key);
    if (block && ((scratch_header *)block)->floats >= floats)
        return (float *)((char *)block + SCRATCH_ALIGN);
    void *fresh = NULL;
    if (posix_memalign(&fresh, SCRATCH_ALIGN, SCRATCH_ALIGN + floats * sizeof(float)) != 0) return NULL;
    if (pthread_setspecific(scratch_key, fresh) != 0) {
        free(fresh);
        return NULL;
    }
    free(block);
    ((scratch_header *)fresh)->floats = floats;
    return (float *)((char *)fresh + SCRATCH_ALIGN);
}

// MARK: - Scalar fallbacks

/// C = beta * C for an m x n block (beta == 0 writes zeros without reading C).
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
        else if (beta != 1.0f) for (int64_t j = 0; j < n; j++) ci[j] *= beta;
    }
}

void lh_sgemm_nt_scalar(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    for (int64_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        float *ci = c + i * ldc;
        for (int64_t j = 0; j < n; j++) {
            const float *bj = b + j * ldb;
            float s = 0.0f;
            for (int64_t p = 0; p < k; p++) s += ai[p] * bj[p];
            ci[j] = beta == 0.0f ? alpha * s : alpha * s + beta * ci[j];
        }
    }
}

void lh_sgemm_nn_scalar(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    scale_c(m, n, beta, c, ldc);
    for (int64_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        float *ci = c + i * ldc;
        for (int64_t p = 0; p < k; p++) {
            const float t = alpha * ai[p];
            const float *bp = b + p * ldb;
            for (int64_t j = 0; j < n; j++) ci[j] += t * bp[j];
        }
    }
}

// MARK: - Entry points

/// Shared entry: BLAS edge cases, then the AVX2 kernel or the scalar fallback; `nt` selects B's layout.
static void sgemm(int nt, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
#if SGEMM_X86
    if (lh_use_avx2()) {
        lh_sgemm_avx2(nt, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#endif
    if (nt) lh_sgemm_nt_scalar(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else lh_sgemm_nn_scalar(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void lh_sgemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    sgemm(1, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void lh_sgemm_nn(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    sgemm(0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
