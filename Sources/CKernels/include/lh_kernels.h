// lh_kernels.h: public C API of the CKernels target, the hot numeric kernels of lhindex.
//
// Why C and not Swift: the decode step is dominated by matrix-vector products over quantized GGUF weights
// (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 blocks of 32 values, K-quant super-blocks of 256). The fast way to do them, as llama.cpp
// does, is to quantize the activations to int8 blocks and fuse dequantization into the dot product: unpack the
// 2..6-bit quants to bytes, multiply u8 x s8 pairs with _mm256_maddubs_epi16, widen with _mm256_madd_epi16 (which
// also applies the K-quants' small integer sub-block scales) and apply the float scales once per 32 values. Swift
// SIMD types cannot express maddubs or other int8 dot-product instructions, and per-function target attributes with
// runtime CPU dispatch (AVX2/FMA/F16C without global -mavx2 flags) are only available from C. The matmuls are split
// over a persistent spinning thread pool (pthreads + C11 atomics) whose per-call overhead is about a microsecond,
// which Dispatch cannot match for ~120 calls per token.
//
// Every SIMD kernel has a scalar fallback giving the same results up to float rounding; the choice is made once
// at run time from the CPU features (see lh_simd_level).

#ifndef LH_KERNELS_H
#define LH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// ggml tensor type ids (values identical to ggml's enum ggml_type).
enum {
    LH_TYPE_F32 = 0, LH_TYPE_F16 = 1, LH_TYPE_Q4_0 = 2, LH_TYPE_Q4_1 = 3, LH_TYPE_Q5_0 = 6, LH_TYPE_Q5_1 = 7,
    LH_TYPE_Q8_0 = 8, LH_TYPE_Q2_K = 10, LH_TYPE_Q3_K = 11, LH_TYPE_Q4_K = 12, LH_TYPE_Q5_K = 13, LH_TYPE_Q6_K = 14,
    LH_TYPE_BF16 = 30
};

/// Elements per block for a type (F32, F16, BF16: 1; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: 32; Q2_K..Q6_K: 256);
/// 0 for unknown types.
int64_t lh_type_block_elems(int type);

/// Bytes per block for a type (F32: 4, F16: 2, BF16: 2, Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24, Q8_0: 34,
/// Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210); 0 for unknown types.
/// Block layouts (ggml, little-endian, packed, no alignment; j in [0, 16) for the 32-value blocks):
///   Q4_0 = { f16 d; uint8 qs[16] }:        x[j] = ((qs[j] & 0xF) - 8) * d, x[j+16] = ((qs[j] >> 4) - 8) * d
///   Q4_1 = { f16 d; f16 m; uint8 qs[16] }: x[j] = (qs[j] & 0xF) * d + m,   x[j+16] = (qs[j] >> 4) * d + m
///   Q5_0 = { f16 d; uint32 qh; uint8 qs[16] }: q[j] = (qs[j] & 0xF) | bit j of qh << 4,
///          q[j+16] = (qs[j] >> 4) | bit j+16 of qh << 4;  x[i] = (q[i] - 16) * d
///   Q5_1 = { f16 d; f16 m; uint32 qh; uint8 qs[16] }: q as Q5_0;  x[i] = q[i] * d + m
///   Q8_0 = { f16 d; int8 qs[32] }:         x[j] = qs[j] * d
/// K-quants: super-blocks of 256 values in sub-blocks of 32 (Q4_K, Q5_K) or 16 (Q2_K, Q3_K, Q6_K), each with a
/// small integer scale (and min) multiplied by the f16 super-block scale d (and dmin). Below, i in [0, 256),
/// s = i / 32 the 32-value sub-block, t = i / 16 the 16-value one, h = i / 128, l = i % 32:
///   Q2_K = { uint8 scales[16]; uint8 qs[64]; f16 d; f16 dmin }: q = (qs[32h + l] >> 2*(s % 4)) & 3 in [0, 3],
///          x[i] = d * (scales[t] & 0xF) * q - dmin * (scales[t] >> 4)
///   Q3_K = { uint8 hmask[32]; uint8 qs[64]; uint8 scales[12]; f16 d }: q = ((qs[32h + l] >> 2*(s % 4)) & 3)
///          - (bit s of hmask[l] ? 0 : 4) in [-4, 3],  x[i] = d * (sc[t] - 32) * q, with the 6-bit sc[t] =
///          (t < 8 ? scales[t] & 0xF : scales[t - 8] >> 4) | ((scales[8 + t % 4] >> 2*(t / 4)) & 3) << 4
///   Q4_K = { f16 d; f16 dmin; uint8 scales[12]; uint8 qs[128] }: q = (s even ? qs[32(s/2) + l] & 0xF
///          : qs[32(s/2) + l] >> 4),  x[i] = d * sc[s] * q - dmin * mn[s], with 6-bit sc and mn packed in scales:
///          s < 4: sc = scales[s] & 63, mn = scales[s + 4] & 63;
///          s >= 4: sc = (scales[s + 4] & 0xF) | (scales[s - 4] >> 6) << 4, mn = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4
///   Q5_K = { f16 d; f16 dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128] }: q = Q4_K's q | (bit s of qh[l]) << 4,
///          x[i] = d * sc[s] * q - dmin * mn[s] (scales as Q4_K)
///   Q6_K = { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d }: with c = s % 4,
///          q = ((c < 2 ? ql[64h + 32(c&1) + l] & 0xF : ql[64h + 32(c&1) + l] >> 4) | ((qh[32h + l] >> 2c) & 3) << 4) - 32
///          in [-32, 31],  x[i] = d * scales[t] * q
///   F16 = IEEE binary16, BF16 = the upper 16 bits of an f32.
int64_t lh_type_block_bytes(int type);

/// Dequantize n elements (a multiple of the block size) of one contiguous row of `type` into f32.
/// Unknown types leave dst untouched.
void lh_dequantize_row(int type, const void *src, float *dst, int64_t n);

/// Activation block for integer dot products: 32 values x[j] ~ d * qs[j] with d = max|x|/127,
/// qs = round-to-nearest-even(x/d) in [-127, 127], and s = d * sum(qs) (used by the offsets of Q4_0/Q4_1/Q5_0/Q5_1
/// and the mins of Q4_K/Q5_K).
typedef struct {
    float d;          ///< scale: max|x| / 127 over the block (0 for an all-zero block)
    float s;          ///< d * sum(qs)
    int8_t qs[32];    ///< quantized values
} lh_block_q8;

/// Quantize n floats (n a multiple of 32) into n/32 lh_block_q8 blocks.
void lh_quantize_row_q8(const float *x, lh_block_q8 *y, int64_t n);

/// Y (m x rows) = X (m x cols) * W^T, where W is `rows` rows of `cols` elements of `type`, each row starting
/// `row_bytes` after the previous one (row-major, rows contiguous in memory like a GGUF tensor).
/// Y is row-major: y[i * rows + r] = dot(x row i, W row r).
/// For the quantized types (Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 and the K-quants) the kernel uses `xq` (m rows of cols/32
/// lh_block_q8 each, made by lh_quantize_row_q8; cols must be a multiple of the block size: a K-quant super-block
/// of 256 meets 8 activation blocks) and integer dot products, as llama.cpp does; for F32/F16/BF16 it uses `x`
/// (m rows of cols floats). Either pointer may be NULL when the type does not need it. m is small (1..~16: decode
/// steps); each weight row is loaded once and reused from L1 across the m vectors.
/// Work is split over rows across the thread pool (n_threads <= 0 means the pool size); small products run on
/// the calling thread. Unknown types leave y untouched.
void lh_matmul_rows(int type, const void *w, size_t row_bytes, int64_t rows, int64_t cols,
                    const float *x, const lh_block_q8 *xq, float *y, int64_t m, int n_threads);

/// One weight matrix of a group product: `rows` rows of `row_bytes` bytes at `w` in ggml type `type`, results
/// written to y[i * rows + r].
typedef struct {
    int type;
    const void *w;
    size_t row_bytes;
    int64_t rows;
    float *y;
} lh_matmul_part;

/// lh_matmul_rows for several weight matrices with the same column count and the same activations (a layer's q, k
/// and v, or its gate and up), as one job on the thread pool: one hand-off instead of one per matrix, and the
/// threads balance over all rows together. Results equal separate lh_matmul_rows calls bit for bit (each row's
/// sums are the same). Parts of unknown type are skipped.
void lh_matmul_rows_group(const lh_matmul_part *parts, int count, int64_t cols, const float *x, const lh_block_q8 *xq,
                          int64_t m, int n_threads);

/// Initialise the persistent thread pool with n_threads threads in total: n_threads - 1 workers plus the caller.
/// n_threads <= 0 means the number of online CPUs; the size is capped at 64. Idempotent: only the first call
/// (or the lazy default initialisation on first use) has an effect. Workers spin briefly (~50 us) on an atomic
/// generation counter after a job, then sleep on a condition variable, so they never hold a core (for example
/// one OpenBLAS wants) for long while idle.
void lh_pool_init(int n_threads);

/// Number of threads of the pool, the caller included (initialises the pool with the default size if needed).
int lh_pool_size(void);

/// A task body: `task` is the task index, `thread` the index in [0, lh_pool_size()) of the pool thread running it
/// (0 is the calling thread), usable to pick per-thread scratch memory.
typedef void (*lh_task_fn)(void *ctx, int64_t task, int thread);

/// Run fn(ctx, task, thread) for every task in [0, n_tasks) exactly once across the pool (dynamic scheduling via an
/// atomic counter) and return when all have finished. The caller runs tasks too; it never waits for a worker that
/// has not woken up yet, since it simply takes the remaining tasks itself.
/// Meant for one caller thread at a time: a nested call (from inside a task) or a call made while another thread's
/// job is running runs serially on its own thread, with `thread` set to that thread's pool index (0 outside the pool).
void lh_parallel_for(int64_t n_tasks, lh_task_fn fn, void *ctx);

/// lh_parallel_for on at most n_threads threads of the pool (the caller included; <= 0 means the pool size).
void lh_parallel_for_threads(int64_t n_tasks, int n_threads, lh_task_fn fn, void *ctx);

/// Dot product of two float vectors of length n.
float lh_dot_f32(const float *a, const float *b, int64_t n);

/// y[i] += a * x[i] for i in [0, n).
void lh_axpy_f32(float a, const float *x, float *y, int64_t n);
/// In-place softmax of n floats (subtracting the maximum first); the values sum to 1 afterwards.
/// AVX2 uses a polynomial exp with relative error below 1e-6. Weights below FLT_MIN are exactly 0 (never subnormal).
void lh_softmax_f32(float *x, int64_t n);

/// lh_softmax_f32, returning the row's log-sum-exp log(sum of exp(x[i])) before the softmax (-inf when n is 0 or
/// every entry is -inf): what merging softmaxes taken over parts of one row needs.
float lh_softmax_f32_lse(float *x, int64_t n);

/// gate[i] = gelu(gate[i]) * up[i] for i in [0, n), GELU's tanh approximation (as ggml):
/// gelu(g) = 0.5 * g * (1 + tanh(sqrt(2/pi) * g * (1 + 0.044715 * g^2))). AVX2: relative error below ~1e-6.
void lh_geglu_f32(float *gate, const float *up, int64_t n);

/// gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i in [0, n), with libm's expf
/// (see glu.c for why not the vector exp).
void lh_swiglu_f32(float *gate, const float *up, int64_t n);
/// The same with the AVX2 exp where available: relative error below ~1e-6.
void lh_swiglu_f32_avx2(float *gate, const float *up, int64_t n);

/// Convert n floats to IEEE half (round to nearest even; overflow gives infinity, NaN stays NaN).
void lh_f32_to_f16(const float *x, uint16_t *y, int64_t n);

/// Convert n IEEE halves to floats (exact).
void lh_f16_to_f32(const uint16_t *x, float *y, int64_t n);

/// Convert n floats to IEEE half rounded towards +infinity (up != 0) or -infinity (up == 0), so the half is
/// >= (<=) the float: rows that must stay bounds. Floats beyond the finite halves are clamped to +-65504 first
/// (there the bound is no longer one), and NaN becomes -65504.
void lh_f32_to_f16_directed(const float *x, uint16_t *y, int64_t n, int up);

/// C (m x n) = A (m x k, f32) * B^T + beta * C, where B is n rows of k IEEE halves (row stride ldb): the f32
/// product of `lh_sgemm_nt` with the halves converted exactly. beta == 0 means C is not read. Single-threaded
/// and re-entrant; uses the stack and `lh_sgemm_nt`'s buffer.
void lh_sgemm_nt_f16b(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const uint16_t *b, int64_t ldb,
                      float beta, float *c, int64_t ldc);

/// CRC-32 of n bytes (IEEE, zlib's reflected polynomial 0xEDB88320; 0 for n <= 0): carry-less multiplication
/// where the CPU has it, else slicing-by-8 tables.
uint32_t lh_crc32(const void *data, int64_t n);

/// Quantize n floats to int8 with one scale (stored key/value rows, `--kv int8`): s = f16(max|x| / 127),
/// q[i] = round-to-nearest-even(x[i] / s) clamped to [-127, 127]; returns the bits of the f16 s (0 and
/// all-zero q for an all-zero row). Decoding q[i] * s is within s/2 of x[i].
uint16_t lh_quantize_i8(const float *x, int8_t *q, int64_t n);

/// y (rows x n) = q (rows x n int8) scaled per row by the f16 scales[r] (exact products).
void lh_dequantize_i8_rows(const int8_t *q, const uint16_t *scales, float *y, int64_t rows, int64_t n);

/// Quantize n (even) floats to 4-bit codes with one scale (the values of `--kv k8v4`), two codes per byte (element 2j in
/// the low nibble of q[j]): s = f16(m / -8) for the element m of largest magnitude, code c_i =
/// clamp(round-to-nearest-even(x[i] / s) + 8, 0, 15); returns the bits of the f16 s (0 and all codes 8 for
/// an all-zero row). Decoding (c_i - 8) * s is within s/2 of x[i] except at the clamped end (within s).
uint16_t lh_quantize_i4(const float *x, uint8_t *q, int64_t n);

/// y (rows x n) = (codes - 8) of q (rows x n/2 bytes) scaled per row by the f16 scales[r].
void lh_dequantize_i4_rows(const uint8_t *q, const uint16_t *scales, float *y, int64_t rows, int64_t n);

/// Quantize rows (rows x d) of a complete chunk's keys to channel codes (the sealed keys of `--kv k5v4` and
/// `--kv k4v4`): channel x spans [lo[x], hi[x]] (the chunk's key bounds) in `levels` levels (2 ... 64) of step
/// (hi[x] - lo[x]) / (levels - 1); the level c = clamp(round-to-nearest-even((k - lo[x]) / step), 0, levels - 1)
/// (0 when the step is 0) is stored as e = c - levels / 2.
void lh_quantize_channels(const float *k, int64_t rows, int64_t d, const float *lo, const float *hi, int levels, int8_t *e);

/// y (rows x d) = lo[x] + (e + levels / 2) * (hi[x] - lo[x]) / (levels - 1): the keys lh_quantize_channels stored.
void lh_dequantize_channels(const int8_t *e, int64_t rows, int64_t d, const float *lo, const float *hi, int levels, float *y);

/// Prepares query q (d) for scoring channel-code rows with the int8 row kernels (LH_KV_I8, every row's scale -1):
/// scaled[x] = -q[x] * step_x and offset = sum over x of q[x] * (lo[x] + (levels / 2) * step_x), so that
/// dot(q, key_t) = offset + (-1) * dot(scaled, e_t).
void lh_channel_scaled_query(const float *q, int64_t d, const float *lo, const float *hi, int levels, float *scaled,
                             float *offset);

/// x (n, a power of two) <- H · D · x / sqrt(n): D the fixed signs D_i = -1 when bit 15 of the u32 product
/// i * 2654435761 is set, +1 otherwise; H the Walsh-Hadamard matrix (Sylvester order). Orthonormal.
void lh_rotate_row(float *x, int64_t n);

/// The inverse of lh_rotate_row: x <- D · H · x / sqrt(n).
void lh_unrotate_row(float *x, int64_t n);

/// Whether a sealed block (k5v4, k4v4) of `rows` rows and d channels can be tiled (kv_tiles.c): rows a multiple of 16 up
/// to 2048, d a multiple of 32 up to 512.
int lh_kv_tiles_fit(int64_t rows, int64_t d);

/// Rearranges sealed key codes e (rows x d, lh_quantize_channels with `levels` levels) into key tiles (rows·d
/// bytes; rows and d as lh_kv_tiles_fit allows): levels e + levels / 2 of 16 rows by 4 channels per 64 bytes.
void lh_tile_sealed_keys(const int8_t *e, int64_t rows, int64_t d, int levels, uint8_t *tiles);

/// The inverse of lh_tile_sealed_keys.
void lh_untile_sealed_keys(const uint8_t *tiles, int64_t rows, int64_t d, int levels, int8_t *e);

/// Rearranges 4-bit value rows v (rows x d, lh_quantize_i4) into value tiles (rows·d/2 bytes): 4 rows by 32
/// channels per 64 bytes.
void lh_tile_values4(const uint8_t *v, int64_t rows, int64_t d, uint8_t *tiles);

/// The inverse of lh_tile_values4.
void lh_untile_values4(const uint8_t *tiles, int64_t rows, int64_t d, uint8_t *v);

/// scores[h * lds + t] ≈ alpha * dot(q_h, key_t) for the m queries q (m x d) and the sealed keys of key tiles,
/// key_t = lo + level · (hi - lo) / (levels - 1) per channel: the levels times each query scaled by the channel
/// steps and rounded to 16-bit integers, in integer arithmetic. Equal bit for bit at every SIMD level.
void lh_kv_scores_tiled(const uint8_t *tiles, int64_t rows, int64_t d, int levels, int64_t m, const float *q,
                        const float *lo, const float *hi, float alpha, float *scores, int64_t lds);

/// out[h * d + i] += Σ_t p[h * ldp + t] · V_t[i] for the m weight rows and the 4-bit values of value tiles (row t
/// scaled by scales[t], f32): the weights times the scales rounded to 16-bit integers per call, in integer
/// arithmetic. Equal bit for bit at every SIMD level.
void lh_kv_accumulate_tiled4(const uint8_t *tiles, const float *scales, int64_t rows, int64_t d, int64_t m,
                             const float *p, int64_t ldp, float *out);

/// Asks the CPU to bring a tiled block's key tiles (rows·d bytes) and key ranges (2·d floats) towards the L2 cache:
/// issued for the next block of a window while the current one is scored, whose first lines would otherwise wait
/// on memory (the hardware prefetchers start over at every block).
void lh_kv_tiles_prefetch_keys(const uint8_t *tiles, const float *ranges, int64_t rows, int64_t d);

/// As lh_kv_tiles_prefetch_keys for a tiled block's value tiles (rows·d/2 bytes) and f32 value scales (rows).
void lh_kv_tiles_prefetch_values(const uint8_t *tiles, const float *scales, int64_t rows, int64_t d);

/// Element kinds of stored key/value rows for lh_kv_scores and lh_kv_accumulate.
enum { LH_KV_F32 = 0, LH_KV_F16 = 1, LH_KV_I8 = 2, LH_KV_I4 = 3 };

/// scores[t] = alpha * dot(q, K_t) for t < rows, where K is (rows x d) row-major of `kind` and, for LH_KV_I8 and LH_KV_I4,
/// row t is scaled by the f16 scales[t] (NULL otherwise). Reads the stored rows directly (no f32 copy).
void lh_kv_scores(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d,
                  const float *q, float alpha, float *scores);

/// out[i] += sum over t < rows of p[t] * V_t[i], V (rows x d) row-major of `kind`, int8 rows scaled by scales[t].
void lh_kv_accumulate(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d,
                      const float *p, float *out);

/// lh_kv_scores for m queries (row h of q, (m x d), gives scores[h * lds + t]) over the same rows, equal to one call
/// per query bit for bit: with d = 64 each stored element is read and converted once for up to three queries (the
/// query heads sharing one KV head); other widths go one query at a time.
void lh_kv_scores_multi(int kind, const void *k, const uint16_t *scales, int64_t rows, int64_t d, int64_t m,
                        const float *q, float alpha, float *scores, int64_t lds);

/// lh_kv_accumulate for m weight rows (row h of p at p + h * ldp) into the m rows of out (m x d), equal to one call
/// per row bit for bit: f32, f16 and int8 rows with d a multiple of 16 are read once for up to three of them.
void lh_kv_accumulate_multi(int kind, const void *v, const uint16_t *scales, int64_t rows, int64_t d, int64_t m,
                            const float *p, int64_t ldp, float *out);

/// The SIMD level in use: 0 scalar fallbacks, 1 AVX2/FMA/F16C kernels, 2 AVX-512 (F, BW, DQ, VL) kernels where a
/// kernel has them and AVX2 elsewhere. Chosen once from the CPU at first use.
int lh_simd_level(void);

/// The highest SIMD level this CPU supports (as lh_simd_level counts).
int lh_cpu_simd_level(void);

/// Use SIMD level `level`, capped at lh_cpu_simd_level(); for tests and benchmarks comparing the paths on one
/// machine. Call it while no kernel is running.
void lh_set_simd_level(int level);

#ifdef __cplusplus
}
#endif

#endif
