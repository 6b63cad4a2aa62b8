/* test_sample.c: each sampling rule changes the distribution as documented, draws
 * follow the probabilities, and a seed reproduces a run. */
#include "core/sample.h"
#include "tests/test.h"

#include <stdlib.h>

static struct core_sample *mk(struct core_sample_params p, int V)
{
    struct core_sample *s;
    struct bz_err err = {0};
    ASSERT_OK(core_sample_new(&s, &p, V, &err), &err);
    return s;
}

/* Frequencies of n draws from logits (restored before each draw). */
static void freqs(struct core_sample *s, const float *logits, int V, int n, double *f)
{
    float *l = malloc(sizeof(float) * V);
    for (int i = 0; i < V; i++)
        f[i] = 0;
    for (int k = 0; k < n; k++) {
        memcpy(l, logits, sizeof(float) * V);
        int id = core_sample_next(s, l);
        ASSERT(id >= 0 && id < V);
        f[id] += 1.0 / n;
    }
    free(l);
}

TEST(sample_greedy_takes_first_max)
{
    struct core_sample_params p;
    core_sample_defaults(&p);
    struct core_sample *s = mk(p, 5);
    float l[5] = {0.1f, 3, -1, 3, 2};
    ASSERT_EQ_INT(core_sample_next(s, l), 1);
    core_sample_free(s);
    p.temp = 0.8f;
    p.top_k = 1;
    s = mk(p, 5);
    float l2[5] = {0.1f, 3, -1, 3.5f, 2};
    ASSERT_EQ_INT(core_sample_next(s, l2), 3);
    core_sample_free(s);
}

TEST(sample_draws_follow_probabilities)
{
    struct core_sample_params p;
    core_sample_defaults(&p);
    p.temp = 1;
    p.seed = 42;
    float l[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
    double f[3];
    struct core_sample *s = mk(p, 3);
    freqs(s, l, 3, 20000, f);
    ASSERT_NEAR(f[0], 0.5, 0.015);
    ASSERT_NEAR(f[1], 0.3, 0.015);
    ASSERT_NEAR(f[2], 0.2, 0.015);
    core_sample_free(s);
    /* temperature 0.5 squares the probabilities */
    p.temp = 0.5f;
    s = mk(p, 3);
    freqs(s, l, 3, 20000, f);
    ASSERT_NEAR(f[0], 0.25 / 0.38, 0.015);
    ASSERT_NEAR(f[2], 0.04 / 0.38, 0.01);
    core_sample_free(s);
}

TEST(sample_top_k_top_p_min_p_cut)
{
    struct core_sample_params p;
    core_sample_defaults(&p);
    p.temp = 1;
    float l[4] = {logf(0.4f), logf(0.3f), logf(0.2f), logf(0.1f)};
    double f[4];
    p.top_k = 2;
    struct core_sample *s = mk(p, 4);
    freqs(s, l, 4, 10000, f);
    ASSERT(f[2] == 0 && f[3] == 0);
    ASSERT_NEAR(f[0], 4.0 / 7, 0.02);
    core_sample_free(s);
    p.top_k = 0;
    p.top_p = 0.85f; /* 0.4 + 0.3 + 0.2 = 0.9 >= 0.85: three kept */
    s = mk(p, 4);
    freqs(s, l, 4, 10000, f);
    ASSERT(f[3] == 0 && f[2] > 0.15);
    core_sample_free(s);
    p.top_p = 1;
    p.min_p = 0.6f; /* keep p >= 0.24 */
    s = mk(p, 4);
    freqs(s, l, 4, 10000, f);
    ASSERT(f[2] == 0 && f[3] == 0 && f[1] > 0.35);
    core_sample_free(s);
}

static const float *cmp_l;
static int idx_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (cmp_l[x] != cmp_l[y])
        return cmp_l[x] > cmp_l[y] ? -1 : 1;
    return x - y;
}

/* top-k keeps exactly the k best (ties broken by lower id), for many k, with ties */
TEST(sample_top_k_selection_on_big_vocab)
{
    enum { V = 5000 };
    static float l[V], w[V];
    static int idx[V];
    static char allowed[V];
    for (int rep = 0; rep < 20; rep++) {
        struct core_sample_params p;
        core_sample_defaults(&p);
        p.temp = 2;
        p.top_k = 1 + rep * 13;
        p.seed = (uint64_t)rep;
        srand((unsigned)rep);
        for (int i = 0; i < V; i++)
            l[i] = (float)(rand() % 50) / 10.0f;
        for (int i = 0; i < V; i++)
            idx[i] = i;
        cmp_l = l;
        qsort(idx, V, sizeof(int), idx_desc);
        memset(allowed, 0, sizeof allowed);
        for (int i = 0; i < p.top_k; i++)
            allowed[idx[i]] = 1;
        struct core_sample *s = mk(p, V);
        for (int k = 0; k < 200; k++) {
            memcpy(w, l, sizeof l);
            int id = core_sample_next(s, w);
            if (!allowed[id])
                test__fail(__FILE__, __LINE__, "top-%d drew id %d (logit %g)", p.top_k, id, l[id]);
        }
        core_sample_free(s);
    }
}

TEST(sample_seed_reproduces)
{
    enum { V = 300 };
    float l[V], w[V];
    for (int i = 0; i < V; i++)
        l[i] = sinf((float)i) * 3;
    struct core_sample_params p;
    core_sample_defaults(&p);
    p.temp = 1;
    p.top_p = 0.95f;
    p.seed = 7;
    int a[50], b[50], c[50];
    for (int run = 0; run < 3; run++) {
        if (run == 2)
            p.seed = 8;
        struct core_sample *s = mk(p, V);
        for (int k = 0; k < 50; k++) {
            memcpy(w, l, sizeof l);
            int id = core_sample_next(s, w);
            (run == 0 ? a : run == 1 ? b : c)[k] = id;
        }
        core_sample_free(s);
    }
    ASSERT(memcmp(a, b, sizeof a) == 0);
    ASSERT(memcmp(a, c, sizeof a) != 0);
    struct core_sample_rng r1, r2;
    core_sample_rng_seed(&r1, 5);
    core_sample_rng_seed(&r2, 5);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ_U64(core_sample_rng_u64(&r1), core_sample_rng_u64(&r2));
    double u = core_sample_rng_uniform(&r1);
    ASSERT(u >= 0 && u < 1);
}

TEST(sample_penalties_over_window)
{
    struct core_sample_params p;
    core_sample_defaults(&p);
    p.repeat_penalty = 2;
    p.freq_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    p.penalty_last_n = 3;
    struct core_sample *s = mk(p, 4);
    core_sample_accept(s, 0);
    core_sample_accept(s, 1);
    core_sample_accept(s, 1);
    float l[4] = {2, -1, 3, 1};
    core_sample_next(s, l);
    ASSERT_NEAR(l[0], 2.0 / 2 - 0.25 - 0.5, 1e-6);
    ASSERT_NEAR(l[1], -1.0 * 2 - 0.5 - 0.5, 1e-6);
    ASSERT_NEAR(l[2], 3, 0);
    /* the window is 3: a fourth token pushes the first 0 out */
    core_sample_accept(s, 3);
    float l2[4] = {2, -1, 3, 1};
    core_sample_next(s, l2);
    ASSERT_NEAR(l2[0], 2, 0);
    ASSERT_NEAR(l2[3], 1.0 / 2 - 0.25 - 0.5, 1e-6);
    /* greedy on penalised logits: 2 is the max once 3 is penalised... and now
     * after reset nothing is penalised */
    core_sample_reset(s);
    float l3[4] = {2, -1, 3, 1};
    ASSERT_EQ_INT(core_sample_next(s, l3), 2);
    ASSERT_NEAR(l3[0], 2, 0);
    core_sample_free(s);
}

TEST(sample_rejects_bad_params)
{
    struct core_sample_params p;
    struct bz_err err = {0};
    struct core_sample *s;
    core_sample_defaults(&p);
    p.top_p = 0;
    ASSERT_EQ_INT(core_sample_new(&s, &p, 10, &err), BZ_EINVAL);
    ASSERT(strstr(err.msg, "top-p") != NULL);
    core_sample_defaults(&p);
    p.temp = -1;
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_sample_check(&p, &err), BZ_EINVAL);
    ASSERT(strstr(err.msg, "temperature") != NULL);
    core_sample_defaults(&p);
    p.repeat_penalty = 0;
    ASSERT_EQ_INT(core_sample_check(&p, NULL), BZ_EINVAL);
    core_sample_defaults(&p);
    ASSERT_EQ_INT(core_sample_new(&s, &p, 0, NULL), BZ_EINVAL);
}
