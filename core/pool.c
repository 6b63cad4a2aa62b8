/*
 * pool.c: a small pthread pool with one job at a time. A job is a number of chunks;
 * one 64-bit atomic holds (job generation << 32 | next chunk), and every thread, the
 * caller included, claims chunks from it by compare-and-swap, so a worker that wakes
 * late (the machine is busy) finds the job done and claims nothing: the caller never
 * waits for a thread that is not running, only for chunks being run. Workers spin a
 * short while after a job, because decode runs many tiny jobs back to back, then sleep.
 *
 * The job's parameters are relaxed atomics written between "close" (the chunk index
 * set to CLOSED) and the next "publish": a thread that read them and then claims a
 * chunk by CAS on the same (generation, index) knows they were that job's.
 *
 * Left out: priorities, several concurrent jobs.
 */
#include "core/pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define POOL_SPIN 20000
#define POOL_CLOSED 0xffffffffu

struct core_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t job_lock;   /* one job at a time from outside */
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    _Atomic uint64_t state;     /* gen << 32 | next chunk (POOL_CLOSED: no chunk to take) */
    atomic_int stop;
    atomic_int caller_waits;    /* the caller sleeps on done_cv */
    /* the current job */
    _Atomic(core_pool_fn) fn;
    _Atomic(void *) ctx;
    atomic_llong n, grain, nchunks;
    atomic_llong done;          /* chunks finished */
};

static _Thread_local int pool_in_job;

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#define RLX memory_order_relaxed

/* Claim and run chunks of job generation g until none is left; returns when the job
 * is closed, finished or replaced. */
static void pool_run_chunks(struct core_pool *p, uint32_t g, int tid)
{
    pool_in_job = 1;
    for (;;) {
        uint64_t s = atomic_load(&p->state);
        uint32_t idx = (uint32_t)s;
        if ((uint32_t)(s >> 32) != g || idx == POOL_CLOSED)
            break;
        core_pool_fn fn = atomic_load_explicit(&p->fn, RLX);
        void *ctx = atomic_load_explicit(&p->ctx, RLX);
        int64_t n = atomic_load_explicit(&p->n, RLX), grain = atomic_load_explicit(&p->grain, RLX);
        int64_t nchunks = atomic_load_explicit(&p->nchunks, RLX);
        if (idx >= nchunks)
            break;
        if (!atomic_compare_exchange_weak(&p->state, &s, s + 1))
            continue;
        int64_t b = (int64_t)idx * grain;
        fn(ctx, b, BZ_MIN(n, b + grain), tid);
        if (atomic_fetch_add(&p->done, 1) + 1 == nchunks && atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    pool_in_job = 0;
}

struct pool_arg {
    struct core_pool *p;
    int tid;
};

static void *pool_worker(void *arg)
{
    struct pool_arg a = *(struct pool_arg *)arg;
    free(arg);
    struct core_pool *p = a.p;
    uint32_t seen = 0;
    for (;;) {
        int spins = 0;
        uint32_t g;
        while ((g = (uint32_t)(atomic_load(&p->state) >> 32)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < POOL_SPIN) {
                pool_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while ((uint32_t)(atomic_load(&p->state) >> 32) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        pool_run_chunks(p, g, a.tid);
    }
}

/* core_pool_new: see pool.h. */
int core_pool_new(struct core_pool **out, int n_threads, struct bz_err *err)
{
    *out = NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 256)
        return bz_errf(err, BZ_EINVAL, "too many threads (got %d, at most 256)", n_threads);
    openblas_set_num_threads(1);
    struct core_pool *p = bz_calloc(1, sizeof *p);
    p->n_threads = n_threads;
    atomic_store(&p->state, POOL_CLOSED);
    pthread_mutex_init(&p->job_lock, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = bz_calloc((size_t)n_threads, sizeof *p->threads);
    for (int i = 1; i < n_threads; i++) {
        struct pool_arg *a = bz_malloc(sizeof *a);
        a->p = p;
        a->tid = i;
        int rc = pthread_create(&p->threads[i], NULL, pool_worker, a);
        if (rc != 0) {
            free(a);
            p->n_threads = i;
            core_pool_free(p);
            return bz_errf(err, -rc, "cannot start pool thread %d: %s", i, strerror(rc));
        }
    }
    *out = p;
    return 0;
}

/* core_pool_free: see pool.h. */
void core_pool_free(struct core_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->job_lock);
    free(p->threads);
    free(p);
}

/* core_pool_threads: see pool.h. */
int core_pool_threads(const struct core_pool *p)
{
    return p ? p->n_threads : 1;
}

static void pool_job(struct core_pool *p, int64_t n, int64_t grain, core_pool_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int64_t nchunks = (n + grain - 1) / grain;
    if (!p || p->n_threads == 1 || pool_in_job || nchunks == 1 || nchunks >= POOL_CLOSED) {
        for (int64_t b = 0; b < n; b += grain)
            fn(ctx, b, BZ_MIN(n, b + grain), 0);
        return;
    }
    pthread_mutex_lock(&p->job_lock);
    uint32_t g = (uint32_t)(atomic_load(&p->state) >> 32) + 1;
    if (g == 0)
        g = 1; /* workers start having seen generation 0 */
    atomic_store_explicit(&p->fn, fn, RLX);
    atomic_store_explicit(&p->ctx, ctx, RLX);
    atomic_store_explicit(&p->n, n, RLX);
    atomic_store_explicit(&p->grain, grain, RLX);
    atomic_store_explicit(&p->nchunks, nchunks, RLX);
    atomic_store(&p->done, 0);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->state, (uint64_t)g << 32); /* publish */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pool_run_chunks(p, g, 0);
    int spins = 0;
    while (atomic_load(&p->done) < nchunks) {
        if (++spins < POOL_SPIN) {
            pool_relax();
            continue;
        }
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_waits, 1);
        while (atomic_load(&p->done) < nchunks)
            pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->caller_waits, 0);
        pthread_mutex_unlock(&p->mu);
    }
    atomic_store(&p->state, ((uint64_t)g << 32) | POOL_CLOSED); /* close */
    pthread_mutex_unlock(&p->job_lock);
}

/* core_pool_for: see pool.h. */
void core_pool_for(struct core_pool *p, int64_t n, int64_t grain, core_pool_fn fn, void *ctx)
{
    pool_job(p, n, grain, fn, ctx);
}

/* core_pool_split: see pool.h. */
void core_pool_split(struct core_pool *p, int64_t n, int64_t align, core_pool_fn fn, void *ctx)
{
    if (align < 1)
        align = 1;
    int nt = core_pool_threads(p);
    int64_t per = (n + nt - 1) / nt;
    per = (per + align - 1) / align * align;
    pool_job(p, n, per, fn, ctx);
}
