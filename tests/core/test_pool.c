/* test_pool.c: the thread pool visits every index exactly once, in every mode. */
#include "core/pool.h"
#include "tests/test.h"

#include <stdatomic.h>

struct visit {
    atomic_int *count;
    atomic_int max_tid;
    struct core_pool *pool;
    atomic_int inner;
};

static void visit_fn(void *ctx, int64_t b, int64_t e, int tid)
{
    struct visit *v = ctx;
    for (int64_t i = b; i < e; i++)
        atomic_fetch_add(&v->count[i], 1);
    int m = atomic_load(&v->max_tid);
    while (tid > m && !atomic_compare_exchange_weak(&v->max_tid, &m, tid))
        ;
}

static void inner_fn(void *ctx, int64_t b, int64_t e, int tid)
{
    struct visit *v = ctx;
    atomic_fetch_add(&v->inner, (int)(e - b));
}

static void nested_fn(void *ctx, int64_t b, int64_t e, int tid)
{
    struct visit *v = ctx;
    for (int64_t i = b; i < e; i++) {
        atomic_fetch_add(&v->count[i], 1);
        core_pool_for(v->pool, 10, 3, inner_fn, v);
    }
}

static void check_all_once(atomic_int *count, int n)
{
    for (int i = 0; i < n; i++)
        ASSERT_EQ_INT(atomic_load(&count[i]), 1);
}

TEST(pool_for_visits_each_index_once)
{
    struct core_pool *p;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&p, 4, &err), &err);
    ASSERT_EQ_INT(core_pool_threads(p), 4);
    enum { N = 10007 };
    static atomic_int count[N];
    for (int rep = 0; rep < 200; rep++) {
        for (int i = 0; i < N; i++)
            atomic_store(&count[i], 0);
        struct visit v = {.count = count};
        core_pool_for(p, N, 1 + rep % 97, visit_fn, &v);
        check_all_once(count, N);
        ASSERT(atomic_load(&v.max_tid) < 4);
    }
    core_pool_free(p);
}

TEST(pool_split_gives_aligned_ranges)
{
    struct core_pool *p;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&p, 3, &err), &err);
    enum { N = 1000 };
    static atomic_int count[N];
    struct visit v = {.count = count};
    core_pool_split(p, N, 64, visit_fn, &v);
    check_all_once(count, N);
    core_pool_free(p);
}

TEST(pool_nested_call_runs_serially)
{
    struct core_pool *p;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&p, 2, &err), &err);
    enum { N = 50 };
    static atomic_int count[N];
    struct visit v = {.count = count, .pool = p};
    core_pool_for(p, N, 1, nested_fn, &v);
    check_all_once(count, N);
    ASSERT_EQ_INT(atomic_load(&v.inner), N * 10);
    core_pool_free(p);
}

TEST(pool_null_and_empty)
{
    enum { N = 33 };
    static atomic_int count[N];
    struct visit v = {.count = count};
    core_pool_for(NULL, N, 5, visit_fn, &v);
    check_all_once(count, N);
    ASSERT_EQ_INT(core_pool_threads(NULL), 1);
    core_pool_for(NULL, 0, 5, visit_fn, &v);
    check_all_once(count, N);
    struct core_pool *p;
    struct bz_err err = {0};
    ASSERT(core_pool_new(&p, 1000, &err) == BZ_EINVAL);
    core_pool_free(NULL);
}
