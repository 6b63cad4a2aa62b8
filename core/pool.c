/*
 * pool.c: a small pthread pool with one job slot: a generation counter wakes the
 * workers, chunks come from an atomic counter, the last finisher signals the
 * caller. Workers spin a short while before sleeping, because decode runs many tiny
 * jobs back to back. Left out: priorities, several concurrent jobs.
 */
#include "core/pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define POOL_SPIN 20000

struct core_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t job_lock;   /* one job at a time from outside */
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    atomic_uint gen;            /* bumped per job */
    atomic_int stop;
    /* the current job */
    core_pool_fn fn;
    void *ctx;
    int64_t n, grain;
    int split;                  /* 1: one contiguous range per thread */
    int64_t align;
    atomic_llong next;
    atomic_int pending;         /* workers that have not finished the job yet */
};

static _Thread_local int pool_in_job;

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void pool_run_chunks(struct core_pool *p, int tid)
{
    pool_in_job = 1;
    if (p->split) {
        int64_t per = (p->n + p->n_threads - 1) / p->n_threads;
        per = (per + p->align - 1) / p->align * p->align;
        int64_t b = per * tid, e = BZ_MIN(p->n, b + per);
        if (b < e)
            p->fn(p->ctx, b, e, tid);
    } else {
        for (;;) {
            int64_t b = atomic_fetch_add(&p->next, p->grain);
            if (b >= p->n)
                break;
            p->fn(p->ctx, b, BZ_MIN(p->n, b + p->grain), tid);
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
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop)) {
            if (++spins < POOL_SPIN) {
                pool_relax();
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        pool_run_chunks(p, a.tid);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

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

int core_pool_threads(const struct core_pool *p)
{
    return p ? p->n_threads : 1;
}

static void pool_job(struct core_pool *p, int64_t n, int64_t grain, int split, int64_t align,
                     core_pool_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    if (align < 1)
        align = 1;
    if (!p || p->n_threads == 1 || pool_in_job || (!split && n <= grain)) {
        if (split) {
            fn(ctx, 0, n, 0);
        } else {
            for (int64_t b = 0; b < n; b += grain)
                fn(ctx, b, BZ_MIN(n, b + grain), 0);
        }
        return;
    }
    pthread_mutex_lock(&p->job_lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->grain = grain;
    p->split = split;
    p->align = align;
    atomic_store(&p->next, 0);
    atomic_store(&p->pending, p->n_threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pool_run_chunks(p, 0);
    int spins = 0;
    while (atomic_load(&p->pending) > 0) {
        if (++spins < POOL_SPIN) {
            pool_relax();
            continue;
        }
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->job_lock);
}

void core_pool_for(struct core_pool *p, int64_t n, int64_t grain, core_pool_fn fn, void *ctx)
{
    pool_job(p, n, grain, 0, 1, fn, ctx);
}

void core_pool_split(struct core_pool *p, int64_t n, int64_t align, core_pool_fn fn, void *ctx)
{
    pool_job(p, n, 1, 1, align, fn, ctx);
}
