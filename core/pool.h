/*
 * pool.h: the one thread pool of the program: a parallel-for over an index range.
 *
 * Key idea: the calling thread works too (as tid 0); the range is handed out in
 * chunks of `grain` indices claimed from one atomic (job generation, next chunk), so
 * uneven work balances itself and a thread the OS has not scheduled yet is never
 * waited for: the job ends when its chunks are done, whoever ran them. Workers spin
 * briefly after a job (decode issues thousands of small jobs per second) and then
 * sleep on a condition variable.
 *
 * Threading policy (see README): the pool is the only threading layer. Creating a
 * pool makes OpenBLAS single-threaded (openblas_set_num_threads(1)); big matmuls
 * are split over the pool by the caller (core/forward.c splits output rows), each
 * piece calling a single-threaded cblas_sgemm. A core_pool_for called from inside a
 * pool job runs serially on the calling thread (no nested parallelism, no deadlock).
 *
 * Left out: task queues, futures, work stealing between different jobs.
 */
#ifndef CORE_POOL_H
#define CORE_POOL_H

#include <stdint.h>

#include "core/bz.h"

struct core_pool;

/* The work of one chunk: indices [begin, end), run by thread tid (0..threads-1). */
typedef void (*core_pool_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* Create a pool of n_threads threads including the caller (n_threads - 1 workers are
 * started). n_threads <= 0 means the number of online CPUs. Caller frees with
 * core_pool_free. Also sets OpenBLAS to one thread (see above). */
int core_pool_new(struct core_pool **out, int n_threads, struct bz_err *err);
/* Stop and join the workers. NULL is fine. Not while a job runs. */
void core_pool_free(struct core_pool *p);
/* Number of threads (including the caller); 1 for a NULL pool. */
int core_pool_threads(const struct core_pool *p);
/* Run fn over [0, n) in chunks of at most `grain` (>= 1) indices and return when all
 * chunks are done. p may be NULL (serial). One job at a time per pool: calls from
 * several outside threads are serialised; a call from inside a job runs serially. */
void core_pool_for(struct core_pool *p, int64_t n, int64_t grain, core_pool_fn fn, void *ctx);
/* Like core_pool_for, with [0, n) cut into core_pool_threads(p) contiguous ranges
 * (lengths rounded up to multiples of `align`), for work that wants one piece per
 * thread; a thread may still run two pieces when another is late. */
void core_pool_split(struct core_pool *p, int64_t n, int64_t align, core_pool_fn fn, void *ctx);

#endif
