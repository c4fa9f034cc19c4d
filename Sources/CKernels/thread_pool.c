// thread_pool.c: owns the persistent spinning thread pool behind lh_parallel_for (pthreads + C11 atomics).
//
// Protocol. The caller publishes a job by
//   1. resetting `counter` to (tag << 32) | 0, where tag is the low 32 bits of the job's sequence number,
//   2. writing the job description (fn, ctx, base, n) after a release fence,
//   3. storing `word` = (sequence << 8) | participating threads, and waking sleeping workers if there are any.
// Workers watch `word`; on a change, participants read the job description, then claim task indices by CAS on
// `counter` for as long as its tag is their job's tag and the index is below n. A worker that woke up late reads
// a newer job's description at worst, but then the tag check fails before it runs anything (seqlock argument:
// the counter reset is ordered before the description writes). Finished tasks are added to `done`, and the caller
// returns once done + its own count reaches n, without waiting for workers that never showed up (it spins, and
// yields its core between checks after SPIN_NS in case a worker holding a task was descheduled).
// Idle workers spin on `word` for SPIN_NS, then sleep on a condition variable; the caller signals only when
// `sleepers` is non-zero (Dekker-style: both sides use sequentially consistent accesses).

#define _POSIX_C_SOURCE 200809L  // clock_gettime, sysconf under strict ISO C

#include "lh_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64              // also keeps the thread count within the 8 low bits of `word`
#define SPIN_NS 50000               // how long an idle worker spins before sleeping
#define MAX_JOB_TASKS (1LL << 31)   // task indices live in the low 32 bits of `counter`

static _Alignas(64) _Atomic uint64_t word;      // (sequence << 8) | participating threads; 0 before the first job
static _Alignas(64) _Atomic uint64_t counter;   // (tag << 32) | next unclaimed task index
static _Alignas(64) _Atomic int64_t done;       // tasks of the current job finished by workers
static _Alignas(64) _Atomic(lh_task_fn) job_fn; // job description, written by the caller before `word`
static _Atomic(void *) job_ctx;
static _Atomic int64_t job_base, job_n;
static _Alignas(64) _Atomic int busy;           // 1 while a caller owns the pool
static _Atomic int sleepers;                    // workers blocked (or about to block) on `wake`
static _Atomic int pool_size;                   // 0 until initialised
static uint64_t sequence;                       // owned by the thread holding `busy`
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int thread_index;          // pool index of the current thread; 0 outside the pool

static inline void cpu_relax(void) {
#if LH_X86
    _mm_pause();
#endif
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/// Claim and run tasks of the job published as `w` until none are left or a newer job replaced it.
/// Returns the number of tasks run.
static int64_t run_tasks(uint64_t w, int thread) {
    const lh_task_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
    void *const ctx = atomic_load_explicit(&job_ctx, memory_order_relaxed);
    const int64_t base = atomic_load_explicit(&job_base, memory_order_relaxed);
    const int64_t n = atomic_load_explicit(&job_n, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);  // order the reads above before the tag checks below
    const uint64_t tag = (w >> 8) << 32;
    int64_t ran = 0;
    uint64_t c = atomic_load_explicit(&counter, memory_order_relaxed);
    while ((c & 0xFFFFFFFF00000000u) == tag && (int64_t)(uint32_t)c < n) {
        if (atomic_compare_exchange_weak_explicit(&counter, &c, c + 1, memory_order_relaxed, memory_order_relaxed)) {
            fn(ctx, base + (int64_t)(uint32_t)c, thread);
            ran++;
            c = atomic_load_explicit(&counter, memory_order_relaxed);
        }
    }
    return ran;
}

/// Wait until `word` differs from `seen` and return it: spin for SPIN_NS, then sleep.
static uint64_t wait_for_job(uint64_t seen) {
    uint64_t w;
    const uint64_t start = now_ns();
    for (unsigned i = 1;; i++) {
        w = atomic_load_explicit(&word, memory_order_acquire);
        if (w != seen) return w;
        cpu_relax();
        if ((i & 255) == 0 && now_ns() - start > SPIN_NS) break;
    }
    atomic_fetch_add(&sleepers, 1);
    pthread_mutex_lock(&sleep_lock);
    while ((w = atomic_load(&word)) == seen) pthread_cond_wait(&wake, &sleep_lock);
    pthread_mutex_unlock(&sleep_lock);
    atomic_fetch_sub(&sleepers, 1);
    return w;
}

static void *worker_main(void *arg) {
    thread_index = (int)(intptr_t)arg;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(seen);
        if (thread_index < (int)(seen & 0xFF)) {
            const int64_t ran = run_tasks(seen, thread_index);
            if (ran) atomic_fetch_add_explicit(&done, ran, memory_order_release);
        }
    }
    return NULL;
}

void lh_pool_init(int n_threads) {
    if (atomic_load_explicit(&pool_size, memory_order_acquire) > 0) return;
    pthread_mutex_lock(&init_lock);
    if (atomic_load_explicit(&pool_size, memory_order_relaxed) == 0) {
        long n = n_threads > 0 ? n_threads : sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1) n = 1;
        if (n > MAX_THREADS) n = MAX_THREADS;
        int started = 1;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        for (; started < n; started++) {
            pthread_t t;
            if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)started) != 0) break;
        }
        pthread_attr_destroy(&attr);
        atomic_store_explicit(&pool_size, started, memory_order_release);
    }
    pthread_mutex_unlock(&init_lock);
}

int lh_pool_size(void) {
    int n = atomic_load_explicit(&pool_size, memory_order_acquire);
    if (n > 0) return n;
    lh_pool_init(0);
    return atomic_load_explicit(&pool_size, memory_order_acquire);
}

/// Spin until workers have finished `n` tasks of the current job. After SPIN_NS the caller yields its core between
/// checks, since a worker holding the last task may be waiting for a core (oversubscribed machine).
static void wait_for_workers(int64_t n) {
    uint64_t start = 0;
    for (unsigned i = 1; atomic_load_explicit(&done, memory_order_acquire) < n; i++) {
        cpu_relax();
        if ((i & 255) == 0) {
            if (start == 0) start = now_ns();
            else if (now_ns() - start > SPIN_NS) sched_yield();
        }
    }
}

/// Publish tasks [base, base + n) for `threads` threads, run tasks on the caller too, wait for all of them.
static void run_job(int64_t base, int64_t n, int threads, lh_task_fn fn, void *ctx) {
    sequence++;
    atomic_store_explicit(&counter, (sequence & 0xFFFFFFFFu) << 32, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);  // the counter reset is visible before the new description
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job_base, base, memory_order_relaxed);
    atomic_store_explicit(&job_n, n, memory_order_relaxed);
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    const uint64_t w = (sequence << 8) | (uint64_t)threads;
    atomic_store(&word, w);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    wait_for_workers(n - run_tasks(w, 0));
}

void lh_parallel_for_threads(int64_t n_tasks, int n_threads, lh_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    const int size = lh_pool_size();
    int threads = n_threads <= 0 || n_threads > size ? size : n_threads;
    if (threads > n_tasks) threads = (int)n_tasks;
    if (threads <= 1 || atomic_exchange_explicit(&busy, 1, memory_order_acquire)) {
        const int thread = thread_index;
        for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t, thread);
        return;
    }
    for (int64_t base = 0; base < n_tasks; base += MAX_JOB_TASKS)
        run_job(base, n_tasks - base < MAX_JOB_TASKS ? n_tasks - base : MAX_JOB_TASKS, threads, fn, ctx);
    atomic_store_explicit(&busy, 0, memory_order_release);
}

void lh_parallel_for(int64_t n_tasks, lh_task_fn fn, void *ctx) { lh_parallel_for_threads(n_tasks, 0, fn, ctx); }
