/*
 * test_train.c: the whole-model training step on tiny random Llama models: gradients
 * of every LoRA parameter (all seven targets, dropout on, packed segments, masked
 * loss) and of every weight in full mode against float32 central differences
 * (||g - g_fd|| / ||g_fd|| < 2e-3 over a sample of each slab: the loss is a float32
 * forward through two layers, so the bound is twice the single-op one); refusals of
 * bad options; determinism; a few AdamW steps lower the loss.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/optim.h"
#include "core/train.h"
#include "tests/test.h"

static uint64_t rs = 99;
static float frand(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rs >> 40) * (2.0 / 16777216.0) - 1.0);
}

struct tiny {
    struct core_model m;
    struct core_layer layers[2];
    struct core_tensor t[40];
    int nt;
};

static struct core_tensor *tensor(struct tiny *ty, const char *name, int64_t ne0, int64_t ne1,
                                  float s, float base)
{
    struct core_tensor *t = &ty->t[ty->nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = CORE_TYPE_F32, t->n_dims = ne1 > 1 ? 2 : 1, t->ne[0] = ne0, t->ne[1] = ne1;
    t->nbytes = sizeof(float) * (size_t)(ne0 * ne1);
    float *d = malloc(t->nbytes);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = base + s * frand();
    t->data = d;
    return t;
}

/* C 16, L 2, NH 4, NKV 2, HS 4, FF 24, V 20, context 16. */
static void tiny_init(struct tiny *ty, int rope_mode, int tied)
{
    memset(ty, 0, sizeof *ty);
    struct core_model_config *c = &ty->m.cfg;
    *c = (struct core_model_config){.dim = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                                    .head_dim = 4, .ffn_dim = 24, .vocab_size = 20,
                                    .ctx_len = 16, .rope_theta = 10000.0f, .rope_scale = 1.0f,
                                    .rope_mode = rope_mode, .norm_eps = 1e-5f,
                                    .tied_output = tied};
    ty->m.tok_embd = tensor(ty, "token_embd.weight", 16, 20, 1.0f, 0);
    for (int l = 0; l < 2; l++) {
        struct core_layer *y = &ty->layers[l];
        y->attn_norm = tensor(ty, "attn_norm", 16, 1, 0.2f, 1.0f);
        y->wq = tensor(ty, "wq", 16, 16, 0.4f, 0);
        y->wk = tensor(ty, "wk", 16, 8, 0.4f, 0);
        y->wv = tensor(ty, "wv", 16, 8, 0.4f, 0);
        y->wo = tensor(ty, "wo", 16, 16, 0.4f, 0);
        y->ffn_norm = tensor(ty, "ffn_norm", 16, 1, 0.2f, 1.0f);
        y->w_gate = tensor(ty, "wg", 16, 24, 0.4f, 0);
        y->w_up = tensor(ty, "wu", 16, 24, 0.4f, 0);
        y->w_down = tensor(ty, "wd", 24, 16, 0.3f, 0);
    }
    ty->m.layers = ty->layers;
    ty->m.out_norm = tensor(ty, "output_norm", 16, 1, 0.2f, 1.0f);
    ty->m.output = tied ? ty->m.tok_embd : tensor(ty, "output", 16, 20, 0.5f, 0);
    ty->m.tensors = ty->t, ty->m.n_tensors = ty->nt;
}

static void tiny_free(struct tiny *ty)
{
    for (int i = 0; i < ty->nt; i++)
        free(ty->t[i].data);
}

/* Two rows of 6: row 0 one sequence with a prompt (no loss) and padding at the end;
 * row 1 two packed sequences. */
static int tok[12], tgt[12], pos[12], seg[12];
static struct core_train_batch batch(void)
{
    int p0[12] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2};
    int s0[12] = {0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1};
    int t0[12] = {-1, -1, 7, 3, -1, -1, 4, 11, -1, 19, 2, -1};
    for (int i = 0; i < 12; i++)
        tok[i] = (i * 7 + 3) % 20, pos[i] = p0[i], seg[i] = s0[i], tgt[i] = t0[i];
    return (struct core_train_batch){.tokens = tok, .targets = tgt, .pos = pos, .seg = seg};
}

static double loss_of(struct core_train *t, int backward)
{
    struct core_train_batch b = batch();
    double sum;
    int cnt;
    struct bz_err err = {0};
    if (core_train_step(t, &b, backward, 1.0f, 42, &sum, &cnt, &err))
        return NAN;
    return sum / cnt;
}

static double fd_rel(struct core_train *t, const float *g, size_t n)
{
    size_t step = n > 400 ? n / 400 : 1;
    double num = 0, den = 0;
    float eps = 1e-2f;
    for (size_t i = 0; i < n; i += step) {
        float keep = t->params[i];
        t->params[i] = keep + eps;
        double lp = loss_of(t, 1); /* backward on: the same dropout masks */
        t->params[i] = keep - eps;
        double lm = loss_of(t, 1);
        t->params[i] = keep;
        double fd = (lp - lm) / (2 * eps);
        num += (fd - g[i]) * (fd - g[i]);
        den += fd * fd;
    }
    double rel = sqrt(num) / sqrt(den);
    fprintf(stderr, "train fd: %zu params, rel %.3g, |g| %.3g\n", n, rel, sqrt(den));
    return rel;
}

static void grad_check(int full, int rope_mode, int tied)
{
    struct tiny ty;
    tiny_init(&ty, rope_mode, tied);
    struct core_train_opts o = {.targets = 0x7f, .rank = 2, .alpha = 4.0f, .dropout = 0.1f,
                                .full = full, .B = 2, .T = 6, .head_chunk = 3};
    struct core_train *t;
    struct bz_err err = {0};
    ASSERT_OK(core_train_new(&t, &ty.m, &o, NULL, &err), &err);
    core_train_init_params(t, 1);
    if (!full) /* B = 0 would make dA vanish: give every parameter a value */
        for (size_t i = 0; i < t->n_params; i++)
            t->params[i] = 0.5f * frand();
    core_train_zero_grad(t);
    double l = loss_of(t, 1);
    ASSERT(isfinite(l));
    /* dscale 1 gives the gradient of the sum; fd_rel compares with the mean */
    float *g = malloc(sizeof(float) * t->n_params);
    struct core_train_batch b = batch();
    double sum;
    int cnt;
    ASSERT_OK(core_train_step(t, &b, 1, 1.0f, 42, &sum, &cnt, &err), &err);
    ASSERT_EQ_INT(cnt, 6);
    for (size_t i = 0; i < t->n_params; i++)
        g[i] = t->grads[i] / 2.0f / cnt; /* two backward calls accumulated, then mean */
    ASSERT(fd_rel(t, g, t->n_params) < 2e-3);
    free(g);
    core_train_free(t);
    tiny_free(&ty);
}

TEST(train_lora_grad_all_targets) { grad_check(0, CORE_ROPE_NORM, 1); }
TEST(train_lora_grad_neox_untied) { grad_check(0, CORE_ROPE_NEOX, 0); }
TEST(train_full_grad) { grad_check(1, CORE_ROPE_NORM, 1); }
TEST(train_full_grad_untied) { grad_check(1, CORE_ROPE_NEOX, 0); }

/* With B = 0 (fresh adapter) the trained model equals the base model: same loss as
 * full mode, which uses the base weights directly. */
TEST(train_fresh_adapter_is_identity)
{
    struct tiny ty;
    tiny_init(&ty, CORE_ROPE_NORM, 1);
    struct core_train_opts o = {.targets = 0x7f, .rank = 4, .alpha = 8, .B = 2, .T = 6};
    struct core_train *a, *f;
    struct bz_err err = {0};
    ASSERT_OK(core_train_new(&a, &ty.m, &o, NULL, &err), &err);
    o.full = 1;
    ASSERT_OK(core_train_new(&f, &ty.m, &o, NULL, &err), &err);
    core_train_init_params(a, 3);
    ASSERT_NEAR(loss_of(a, 0), loss_of(f, 0), 1e-6);
    ASSERT(loss_of(a, 0) > 1.0);
    core_train_free(a);
    core_train_free(f);
    tiny_free(&ty);
}

TEST(train_refuses_bad_options)
{
    struct tiny ty;
    tiny_init(&ty, CORE_ROPE_NORM, 1);
    struct core_train *t;
    struct bz_err err = {0};
    struct core_train_opts o = {.targets = 1u << CORE_LORA_K, .rank = 9, .alpha = 8, .B = 1,
                                .T = 6};
    ASSERT_EQ_INT(core_train_new(&t, &ty.m, &o, NULL, &err), BZ_EINVAL);
    ASSERT(strstr(err.msg, "rank 9 is larger than dimension 8 of k_proj") != NULL);
    bz_err_clear(&err);
    o.rank = 2, o.T = 17;
    ASSERT_EQ_INT(core_train_new(&t, &ty.m, &o, NULL, &err), BZ_EINVAL);
    ASSERT(strstr(err.msg, "seq 17 is longer than the model's context 16") != NULL);
    bz_err_clear(&err);
    o.T = 6, o.targets = 0;
    ASSERT_EQ_INT(core_train_new(&t, &ty.m, &o, NULL, &err), BZ_EINVAL);
    bz_err_clear(&err);
    o.targets = 1, o.B = 1 << 20, o.T = 16;
    ASSERT_EQ_INT(core_train_new(&t, &ty.m, &o, NULL, &err), BZ_ENOMEM);
    ASSERT(strstr(err.msg, "lower --batch or --seq") != NULL);
    tiny_free(&ty);
}

/* Same seed, same data: bit-identical parameters after a few steps; the loss drops. */
static void run_steps(struct tiny *ty, float *out, double *first, double *last)
{
    struct core_train_opts o = {.targets = 0x7f, .rank = 4, .alpha = 8, .dropout = 0.05f,
                                .B = 2, .T = 6};
    struct core_train *t;
    struct bz_err err = {0};
    ASSERT_OK(core_train_new(&t, &ty->m, &o, NULL, &err), &err);
    core_train_init_params(t, 7);
    struct core_optim_config oc;
    core_optim_config_default(&oc);
    oc.lr = 1e-2f, oc.total_steps = 30, oc.warmup = 3;
    struct core_optim opt;
    ASSERT_OK(core_optim_init(&opt, &oc, t->n_params, t->n_decay, &err), &err);
    for (int s = 0; s < 30; s++) {
        core_train_zero_grad(t);
        struct core_train_batch b = batch();
        double sum, gn;
        int cnt;
        float lr;
        ASSERT_OK(core_train_step(t, &b, 1, 1.0f / 6, 1000 + s, &sum, &cnt, &err), &err);
        if (s == 0)
            *first = sum / cnt;
        ASSERT_EQ_INT(core_optim_step(&opt, t->params, t->grads, &gn, &lr, &err), 0);
    }
    *last = loss_of(t, 0);
    memcpy(out, t->params, sizeof(float) * t->n_params);
    core_optim_cleanup(&opt);
    core_train_free(t);
}

TEST(train_deterministic_and_learns)
{
    struct tiny ty;
    tiny_init(&ty, CORE_ROPE_NORM, 1);
    static float p1[20000], p2[20000];
    double f1, l1, f2, l2;
    run_steps(&ty, p1, &f1, &l1);
    run_steps(&ty, p2, &f2, &l2);
    ASSERT(memcmp(p1, p2, sizeof p1) == 0);
    ASSERT_EQ_INT(f1 == f2, 1);
    ASSERT(l1 < 0.5 * f1);
    tiny_free(&ty);
}

/* A batch shorter than the trainer's T gives the same loss and gradients as a trainer
 * sized for exactly that length. */
TEST(train_short_batch_matches)
{
    struct tiny ty;
    tiny_init(&ty, CORE_ROPE_NORM, 1);
    struct core_train_opts o = {.targets = 0x7f, .rank = 2, .alpha = 4, .B = 2, .T = 12};
    struct core_train *big, *small;
    struct bz_err err = {0};
    ASSERT_OK(core_train_new(&big, &ty.m, &o, NULL, &err), &err);
    o.T = 6;
    ASSERT_OK(core_train_new(&small, &ty.m, &o, NULL, &err), &err);
    core_train_init_params(big, 4);
    core_train_init_params(small, 4);
    for (size_t i = 0; i < big->n_params; i++)
        big->params[i] = small->params[i] = 0.3f * frand();
    struct core_train_batch b = batch();
    b.T = 6;
    double s1, s2;
    int c1, c2;
    core_train_zero_grad(big);
    core_train_zero_grad(small);
    ASSERT_OK(core_train_step(big, &b, 1, 1, 5, &s1, &c1, &err), &err);
    ASSERT_OK(core_train_step(small, &b, 1, 1, 5, &s2, &c2, &err), &err);
    ASSERT_EQ_INT(c1, c2);
    ASSERT_NEAR(s1, s2, 1e-6);
    for (size_t i = 0; i < big->n_params; i++)
        ASSERT_NEAR(big->grads[i], small->grads[i], 1e-6);
    b.T = 13;
    ASSERT_EQ_INT(core_train_step(big, &b, 1, 1, 5, &s1, &c1, &err), BZ_EINVAL);
    core_train_free(big);
    core_train_free(small);
    tiny_free(&ty);
}

/* With a two-thread pool (kernels split over threads) the step gives the same loss and
 * gradients as serially, to rounding. */
TEST(train_pool_matches_serial)
{
    struct tiny ty;
    tiny_init(&ty, CORE_ROPE_NORM, 0);
    struct core_train_opts o = {.targets = 0x7f, .rank = 2, .alpha = 4, .dropout = 0.1f,
                                .B = 4, .T = 16, .head_chunk = 8};
    struct core_train *t;
    struct bz_err err = {0};
    ASSERT_OK(core_train_new(&t, &ty.m, &o, NULL, &err), &err);
    core_train_init_params(t, 4);
    for (size_t i = 0; i < t->n_params; i++)
        t->params[i] = 0.3f * frand();
    int tk[64], tg[64], ps[64];
    for (int i = 0; i < 64; i++)
        tk[i] = (i * 5 + 1) % 20, tg[i] = i % 3 ? (i * 3) % 20 : -1, ps[i] = i % 16;
    struct core_train_batch b = {.tokens = tk, .targets = tg, .pos = ps};
    double s1, s2;
    int c1, c2;
    core_train_zero_grad(t);
    ASSERT_OK(core_train_step(t, &b, 1, 1, 9, &s1, &c1, &err), &err);
    float *g1 = malloc(sizeof(float) * t->n_params);
    memcpy(g1, t->grads, sizeof(float) * t->n_params);
    struct core_pool *pool;
    ASSERT_OK(core_pool_new(&pool, 2, &err), &err);
    core_ops_set_pool(pool);
    core_train_zero_grad(t);
    ASSERT_OK(core_train_step(t, &b, 1, 1, 9, &s2, &c2, &err), &err);
    core_ops_set_pool(NULL);
    ASSERT_EQ_INT(c1, c2);
    ASSERT_NEAR(s1, s2, 1e-4);
    for (size_t i = 0; i < t->n_params; i++)
        ASSERT_NEAR(g1[i], t->grads[i], 1e-4 * (1 + fabsf(g1[i])));
    free(g1);
    core_pool_free(pool);
    core_train_free(t);
    tiny_free(&ty);
}
