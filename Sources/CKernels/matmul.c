// matmul.c: owns lh_matmul_rows, splitting a weight matrix into row ranges over the thread pool.

#include "lh_internal.h"

/// Products with fewer weight bytes times vectors than this run on the calling thread: waking the pool
/// costs about as much as the work.
#define SERIAL_WORK_BYTES 16384
/// Tasks per thread: enough for dynamic balancing when a core is busy, few enough to keep claims cheap.
#define TASKS_PER_THREAD 8

typedef struct {
    int type, quant;
    const uint8_t *w;
    size_t row_bytes;
    int64_t rows, cols, m, rows_per_task;
    const float *x;
    const lh_block_q8 *xq;
    float *y;
} matmul_job;

static void run_rows(const matmul_job *j, int64_t r0, int64_t r1) {
    if (j->quant) lh_rows_quant(j->type, j->w, j->row_bytes, r0, r1, j->cols, j->xq, j->y, j->rows, j->m);
    else lh_rows_float(j->type, j->w, j->row_bytes, r0, r1, j->cols, j->x, j->y, j->rows, j->m);
}

static void matmul_task(void *ctx, int64_t task, int thread) {
    (void)thread;
    const matmul_job *j = ctx;
    const int64_t r0 = task * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    run_rows(j, r0, r1);
}

void lh_matmul_rows(int type, const void *w, size_t row_bytes, int64_t rows, int64_t cols,
                    const float *x, const lh_block_q8 *xq, float *y, int64_t m, int n_threads) {
    int quant;
    switch (type) {
    case LH_TYPE_Q4_0: case LH_TYPE_Q4_1: case LH_TYPE_Q5_0: case LH_TYPE_Q5_1: case LH_TYPE_Q8_0:
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K:
        quant = 1;
        break;
    case LH_TYPE_F32: case LH_TYPE_F16: case LH_TYPE_BF16: quant = 0; break;
    default: return;
    }
    if (rows <= 0 || m <= 0) return;
    matmul_job job = { type, quant, w, row_bytes, rows, cols, m, rows, x, xq, y };
    const int size = lh_pool_size();
    const int threads = n_threads <= 0 || n_threads > size ? size : n_threads;
    if (threads <= 1 || (double)rows * (double)row_bytes * (double)m < SERIAL_WORK_BYTES) {
        run_rows(&job, 0, rows);
        return;
    }
    // Row ranges are multiples of 4 rows (even, for the two-row kernel), about TASKS_PER_THREAD per thread.
    int64_t per_task = (rows + (int64_t)threads * TASKS_PER_THREAD - 1) / ((int64_t)threads * TASKS_PER_THREAD);
    per_task = (per_task + 3) & ~(int64_t)3;
    job.rows_per_task = per_task;
    lh_parallel_for_threads((rows + per_task - 1) / per_task, threads, matmul_task, &job);
}
