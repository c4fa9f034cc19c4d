// matmul.c: owns lh_matmul_rows and lh_matmul_rows_group, splitting weight matrices into row ranges over the
// thread pool.

#include "lh_internal.h"

/// Products with fewer weight bytes times vectors than this run on the calling thread: waking the pool
/// costs about as much as the work.
#define SERIAL_WORK_BYTES 16384
/// Tasks per thread: enough for dynamic balancing when a core is busy, few enough to keep claims cheap.
#define TASKS_PER_THREAD 8
/// Matrices one group job takes (q, k, v is the largest group the models use).
#define MAX_PARTS 4

typedef struct {
    lh_matmul_part part;
    int quant;
    int64_t first_task;   // index of this part's first task in the job
} matmul_slot;

typedef struct {
    matmul_slot slots[MAX_PARTS];
    int count;
    int64_t cols, m, rows_per_task;
    const float *x;
    const lh_block_q8 *xq;
} matmul_job;

/// 1 for the types with q8 activations, 0 for float weights, -1 for a type lh_matmul_rows does not know.
static int quantized_type(int type) {
    switch (type) {
    case LH_TYPE_Q4_0: case LH_TYPE_Q4_1: case LH_TYPE_Q5_0: case LH_TYPE_Q5_1: case LH_TYPE_Q8_0:
    case LH_TYPE_Q2_K: case LH_TYPE_Q3_K: case LH_TYPE_Q4_K: case LH_TYPE_Q5_K: case LH_TYPE_Q6_K:
        return 1;
    case LH_TYPE_F32: case LH_TYPE_F16: case LH_TYPE_BF16: return 0;
    default: return -1;
    }
}

static void run_rows(const matmul_job *j, const matmul_slot *s, int64_t r0, int64_t r1) {
    const lh_matmul_part *p = &s->part;
    if (s->quant) lh_rows_quant(p->type, p->w, p->row_bytes, r0, r1, j->cols, j->xq, p->y, p->rows, j->m);
    else lh_rows_float(p->type, p->w, p->row_bytes, r0, r1, j->cols, j->x, p->y, p->rows, j->m);
}

static void matmul_task(void *ctx, int64_t task, int thread) {
    (void)thread;
    const matmul_job *j = ctx;
    int i = 0;
    while (i + 1 < j->count && task >= j->slots[i + 1].first_task) i++;
    const matmul_slot *s = &j->slots[i];
    const int64_t r0 = (task - s->first_task) * j->rows_per_task;
    const int64_t r1 = r0 + j->rows_per_task < s->part.rows ? r0 + j->rows_per_task : s->part.rows;
    run_rows(j, s, r0, r1);
}

void lh_matmul_rows_group(const lh_matmul_part *parts, int count, int64_t cols, const float *x, const lh_block_q8 *xq,
                          int64_t m, int n_threads) {
    if (m <= 0 || count <= 0) return;
    if (count > MAX_PARTS) {   // not a shape the models produce; one job per part
        for (int i = 0; i < count; i++) lh_matmul_rows_group(parts + i, 1, cols, x, xq, m, n_threads);
        return;
    }
    matmul_job job = { .count = 0, .cols = cols, .m = m, .x = x, .xq = xq };
    double work = 0;
    int64_t total_rows = 0;
    for (int i = 0; i < count; i++) {
        const int quant = quantized_type(parts[i].type);
        if (quant < 0 || parts[i].rows <= 0) continue;
        job.slots[job.count++] = (matmul_slot){ parts[i], quant, 0 };
        work += (double)parts[i].rows * (double)parts[i].row_bytes * (double)m;
        total_rows += parts[i].rows;
    }
    if (job.count == 0) return;
    const int size = lh_pool_size();
    const int threads = n_threads <= 0 || n_threads > size ? size : n_threads;
    if (threads <= 1 || work < SERIAL_WORK_BYTES) {
        for (int i = 0; i < job.count; i++) run_rows(&job, &job.slots[i], 0, job.slots[i].part.rows);
        return;
    }
    // Row ranges are multiples of 4 rows (even, for the two-row kernel), about TASKS_PER_THREAD per thread over
    // all parts together; a part's last range may be shorter.
    int64_t per_task = (total_rows + (int64_t)threads * TASKS_PER_THREAD - 1) / ((int64_t)threads * TASKS_PER_THREAD);
    per_task = (per_task + 3) & ~(int64_t)3;
    job.rows_per_task = per_task;
    int64_t tasks = 0;
    for (int i = 0; i < job.count; i++) {
        job.slots[i].first_task = tasks;
        tasks += (job.slots[i].part.rows + per_task - 1) / per_task;
    }
    lh_parallel_for_threads(tasks, threads, matmul_task, &job);
}

void lh_matmul_rows(int type, const void *w, size_t row_bytes, int64_t rows, int64_t cols,
                    const float *x, const lh_block_q8 *xq, float *y, int64_t m, int n_threads) {
    const lh_matmul_part part = { type, w, row_bytes, rows, y };
    lh_matmul_rows_group(&part, 1, cols, x, xq, m, n_threads);
}
