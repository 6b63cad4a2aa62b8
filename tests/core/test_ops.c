/*
 * test_ops.c: finite-difference gradient checks for every backward in core/ops.c.
 *
 * Each check builds a scalar L = sum(out * G) for a fixed random G (accumulated in
 * double), runs the backward with dout = G, and compares every analytic gradient
 * element (up to 96 per tensor, evenly spread) with a float32 central difference.
 * The documented float32 bound: step 1e-2 on inputs of unit scale, error measured
 * over the tensor as ||g - g_fd|| / ||g_fd||, which must be < 1e-3.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops.h"
#include "core/quant.h"
#include "tests/test.h"

static uint64_t rng_state = 0x1234567u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}
static float *rnd(size_t n, float s)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * s;
    return p;
}
static float *zeros(size_t n) { return calloc(n, sizeof(float)); }
static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Relative error between grad and the central difference of f over x (n elements). */
static double fd_check(loss_fn f, void *ctx, float *x, const float *grad, size_t n, float eps)
{
    size_t step = n > 96 ? n / 96 : 1;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i += step) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = f(ctx);
        x[i] = keep - eps;
        double lm = f(ctx);
        x[i] = keep;
        double fd = (lp - lm) / (2.0 * eps);
        num += (fd - grad[i]) * (fd - grad[i]);
        den += fd * fd;
    }
    double rel = sqrt(num) / (sqrt(den) > 1e-12 ? sqrt(den) : 1e-12);
    if (rel >= 1e-3)
        fprintf(stderr, "fd_check: rel %.3g (|fd| %.3g)\n", rel, sqrt(den));
    return rel;
}

#define CHECK_GRAD(f, ctx, x, g, n) ASSERT(fd_check(f, ctx, x, g, n, 1e-2f) < 1e-3)

/* ---------------------------------------------------------------- rmsnorm */

struct rms_ctx { int N, C; float *inp, *w, *out, *rstd, *G; };
static double rms_loss(void *p)
{
    struct rms_ctx *c = p;
    core_ops_rmsnorm_forward(c->out, c->rstd, c->inp, c->w, c->N, c->C, 1e-5f);
    return dot(c->out, c->G, (size_t)c->N * c->C);
}

TEST(ops_rmsnorm_grad)
{
    struct rms_ctx c = {.N = 3, .C = 8};
    size_t n = (size_t)c.N * c.C;
    c.inp = rnd(n, 1), c.w = rnd(c.C, 1), c.out = zeros(n), c.rstd = zeros(c.N),
    c.G = rnd(n, 1);
    float *din = zeros(n), *dw = zeros(c.C);
    rms_loss(&c);
    core_ops_rmsnorm_backward(din, dw, c.G, c.inp, c.w, c.rstd, c.N, c.C);
    CHECK_GRAD(rms_loss, &c, c.inp, din, n);
    CHECK_GRAD(rms_loss, &c, c.w, dw, c.C);
}

/* ---------------------------------------------------------------- matmul */

struct mm_ctx { int N, C, OC; float *inp, *w, *bias, *out, *G; };
static double mm_loss(void *p)
{
    struct mm_ctx *c = p;
    core_ops_matmul_forward(c->out, c->inp, c->w, c->bias, c->N, c->C, c->OC);
    return dot(c->out, c->G, (size_t)c->N * c->OC);
}

TEST(ops_matmul_grad)
{
    struct mm_ctx c = {.N = 5, .C = 7, .OC = 6};
    c.inp = rnd(35, 1), c.w = rnd(42, 1), c.bias = rnd(6, 1), c.out = zeros(30), c.G = rnd(30, 1);
    float *din = zeros(35), *dw = zeros(42), *db = zeros(6);
    core_ops_matmul_backward(din, dw, db, c.G, c.inp, c.w, c.N, c.C, c.OC);
    CHECK_GRAD(mm_loss, &c, c.inp, din, 35);
    CHECK_GRAD(mm_loss, &c, c.w, dw, 42);
    CHECK_GRAD(mm_loss, &c, c.bias, db, 6);
}

/* core_ops_linear_* on an F32 tensor agree with matmul; accumulate adds. */
TEST(ops_linear_f32_matches_matmul)
{
    int N = 4, C = 8, OC = 5;
    float *inp = rnd(32, 1), *w = rnd(40, 1), *a = zeros(20), *b = rnd(20, 1), *G = rnd(20, 1);
    float *b0 = malloc(sizeof(float) * 20);
    memcpy(b0, b, sizeof(float) * 20);
    struct core_tensor t = {.type = CORE_TYPE_F32, .n_dims = 2, .ne = {C, OC}, .data = w};
    core_ops_matmul_forward(a, inp, w, NULL, N, C, OC);
    ASSERT_EQ_INT(core_ops_linear_forward(b, inp, &t, N, C, OC, 1, NULL), 0);
    for (int i = 0; i < 20; i++)
        ASSERT_NEAR(b[i], a[i] + b0[i], 1e-5);
    float *d1 = zeros(32), *d2 = zeros(32);
    core_ops_matmul_backward(d1, NULL, NULL, G, inp, w, N, C, OC);
    ASSERT_EQ_INT(core_ops_linear_backward(d2, G, &t, N, C, OC, NULL), 0);
    for (int i = 0; i < 32; i++)
        ASSERT_NEAR(d1[i], d2[i], 1e-5);
}

/* ---------------------------------------------------------------- rope */

struct rope_ctx { int N, NH, HS, mode; int *pos; float *cs, *sn, *x, *out, *G; };
static double rope_loss(void *p)
{
    struct rope_ctx *c = p;
    size_t n = (size_t)c->N * c->NH * c->HS;
    memcpy(c->out, c->x, n * sizeof(float));
    core_ops_rope_forward(c->out, c->pos, c->cs, c->sn, c->N, c->NH, c->HS, c->mode);
    return dot(c->out, c->G, n);
}

static void rope_check(int mode)
{
    struct rope_ctx c = {.N = 4, .NH = 2, .HS = 8, .mode = mode};
    int pos[4] = {0, 3, 1, 7};
    size_t n = 4 * 2 * 8;
    c.pos = pos, c.cs = zeros(8 * 4), c.sn = zeros(8 * 4);
    core_ops_rope_table(c.cs, c.sn, 8, c.HS, 10000.0f, 1.0f);
    c.x = rnd(n, 1), c.out = zeros(n), c.G = rnd(n, 1);
    float *dx = malloc(n * sizeof(float));
    memcpy(dx, c.G, n * sizeof(float));
    core_ops_rope_backward(dx, c.pos, c.cs, c.sn, c.N, c.NH, c.HS, c.mode);
    CHECK_GRAD(rope_loss, &c, c.x, dx, n);
}

TEST(ops_rope_norm_grad) { rope_check(CORE_ROPE_NORM); }
TEST(ops_rope_neox_grad) { rope_check(CORE_ROPE_NEOX); }

/* Position 0 is the identity; NORM rotates adjacent pairs, NEOX split halves. */
TEST(ops_rope_pairs)
{
    float cs[2 * 2], sn[2 * 2];
    core_ops_rope_table(cs, sn, 2, 4, 10000.0f, 1.0f);
    int pos = 1;
    float x[4] = {1, 0, 0, 0}, y[4] = {1, 0, 0, 0};
    core_ops_rope_forward(x, &pos, cs, sn, 1, 1, 4, CORE_ROPE_NORM);
    core_ops_rope_forward(y, &pos, cs, sn, 1, 1, 4, CORE_ROPE_NEOX);
    ASSERT_NEAR(x[0], cosf(1.0f), 1e-6);
    ASSERT_NEAR(x[1], sinf(1.0f), 1e-6);
    ASSERT_NEAR(y[0], cosf(1.0f), 1e-6);
    ASSERT_NEAR(y[2], sinf(1.0f), 1e-6);
    ASSERT_NEAR(y[1], 0.0f, 1e-7);
}

/* ---------------------------------------------------------------- attention */

struct att_ctx { int B, T, NH, NKV, HS; int *seg; float *q, *k, *v, *out, *att, *G; };
static double att_loss(void *p)
{
    struct att_ctx *c = p;
    core_ops_attention_forward(c->out, c->att, c->q, c->k, c->v, c->seg, c->B, c->T, c->NH,
                               c->NKV, c->HS);
    return dot(c->out, c->G, (size_t)c->B * c->T * c->NH * c->HS);
}

static void att_check(int with_seg)
{
    struct att_ctx c = {.B = 2, .T = 6, .NH = 4, .NKV = 2, .HS = 4};
    int seg[12] = {0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 0, 0};
    size_t nq = 2 * 6 * 4 * 4, nk = 2 * 6 * 2 * 4;
    c.seg = with_seg ? seg : NULL;
    c.q = rnd(nq, 1), c.k = rnd(nk, 1), c.v = rnd(nk, 1), c.out = zeros(nq);
    c.att = zeros(2 * 4 * 36), c.G = rnd(nq, 1);
    float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), *scr = zeros(36);
    att_loss(&c);
    core_ops_attention_backward(dq, dk, dv, c.G, c.att, c.q, c.k, c.v, c.B, c.T, c.NH, c.NKV,
                                c.HS, scr);
    CHECK_GRAD(att_loss, &c, c.q, dq, nq);
    CHECK_GRAD(att_loss, &c, c.k, dk, nk);
    CHECK_GRAD(att_loss, &c, c.v, dv, nk);
}

TEST(ops_attention_gqa_grad) { att_check(0); }
TEST(ops_attention_segments_grad) { att_check(1); }

/* More query rows than one block of the causal blocking (64): three blocks, a partial
 * last one, with packed segments. */
TEST(ops_attention_blocks_grad)
{
    struct att_ctx c = {.B = 1, .T = 150, .NH = 2, .NKV = 1, .HS = 4};
    int seg[150];
    for (int i = 0; i < 150; i++)
        seg[i] = i < 70 ? 0 : 1;
    size_t nq = 150 * 2 * 4, nk = 150 * 4;
    c.seg = seg;
    c.q = rnd(nq, 1), c.k = rnd(nk, 1), c.v = rnd(nk, 1), c.out = zeros(nq);
    c.att = zeros(2 * 150 * 150), c.G = rnd(nq, 1);
    float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), *scr = zeros(150 * 150);
    att_loss(&c);
    core_ops_attention_backward(dq, dk, dv, c.G, c.att, c.q, c.k, c.v, c.B, c.T, c.NH, c.NKV,
                                c.HS, scr);
    CHECK_GRAD(att_loss, &c, c.q, dq, nq);
    CHECK_GRAD(att_loss, &c, c.k, dk, nk);
    CHECK_GRAD(att_loss, &c, c.v, dv, nk);
    for (int t = 0; t < 150; t++) /* probabilities: causal, rows sum to one */
        for (int t2 = t + 1; t2 < 150; t2++)
            ASSERT_EQ_INT(c.att[(size_t)t * 150 + t2] == 0.0f, 1);
}

/* A packed segment sees only itself: its outputs equal those of the segment alone. */
TEST(ops_attention_segments_isolate)
{
    int T = 5, NH = 2, NKV = 1, HS = 4;
    int seg[5] = {0, 0, 1, 1, 1};
    float *q = rnd(T * NH * HS, 1), *k = rnd(T * NKV * HS, 1), *v = rnd(T * NKV * HS, 1);
    float *out = zeros(T * NH * HS), *att = zeros(NH * T * T);
    float *o2 = zeros(3 * NH * HS), *a2 = zeros(NH * 9);
    core_ops_attention_forward(out, att, q, k, v, seg, 1, T, NH, NKV, HS);
    core_ops_attention_forward(o2, a2, q + 2 * NH * HS, k + 2 * NKV * HS, v + 2 * NKV * HS, NULL,
                               1, 3, NH, NKV, HS);
    for (int i = 0; i < 3 * NH * HS; i++)
        ASSERT_NEAR(out[2 * NH * HS + i], o2[i], 1e-6);
}

/* ---------------------------------------------------------------- swiglu, residual, embedding */

struct sw_ctx { int N, FF; float *g, *u, *out, *G; };
static double sw_loss(void *p)
{
    struct sw_ctx *c = p;
    core_ops_swiglu_forward(c->out, c->g, c->u, c->N, c->FF);
    return dot(c->out, c->G, (size_t)c->N * c->FF);
}

TEST(ops_swiglu_grad)
{
    struct sw_ctx c = {.N = 3, .FF = 10};
    c.g = rnd(30, 2), c.u = rnd(30, 1), c.out = zeros(30), c.G = rnd(30, 1);
    float *dg = zeros(30), *du = zeros(30);
    core_ops_swiglu_backward(dg, du, c.G, c.g, c.u, c.N, c.FF);
    CHECK_GRAD(sw_loss, &c, c.g, dg, 30);
    CHECK_GRAD(sw_loss, &c, c.u, du, 30);
}

struct res_ctx { float *a, *b, *out, *G; };
static double res_loss(void *p)
{
    struct res_ctx *c = p;
    core_ops_residual_forward(c->out, c->a, c->b, 12);
    return dot(c->out, c->G, 12);
}

TEST(ops_residual_grad)
{
    struct res_ctx c = {rnd(12, 1), rnd(12, 1), zeros(12), rnd(12, 1)};
    float *da = zeros(12), *db = zeros(12);
    core_ops_residual_backward(da, db, c.G, 12);
    CHECK_GRAD(res_loss, &c, c.a, da, 12);
    CHECK_GRAD(res_loss, &c, c.b, db, 12);
}

struct emb_ctx { int *inp; float *wte, *out, *G; };
static double emb_loss(void *p)
{
    struct emb_ctx *c = p;
    core_ops_embedding_forward(c->out, c->inp, c->wte, 4, 3);
    return dot(c->out, c->G, 12);
}

TEST(ops_embedding_grad)
{
    int inp[4] = {2, 0, 2, 4};
    struct emb_ctx c = {inp, rnd(15, 1), zeros(12), rnd(12, 1)};
    float *dw = zeros(15);
    core_ops_embedding_backward(dw, c.G, c.inp, 4, 3);
    CHECK_GRAD(emb_loss, &c, c.wte, dw, 15);
    for (int i = 3; i < 6; i++) /* token 1 unused */
        ASSERT_EQ_INT(dw[i] == 0.0f, 1);
}

/* ---------------------------------------------------------------- loss */

struct ce_ctx { int N, V; int *tg; float *logits, *probs, *losses, *dl; };
static double ce_loss(void *p)
{
    struct ce_ctx *c = p;
    core_ops_crossentropy_forward(c->losses, c->probs, c->logits, c->tg, c->N, c->V);
    return dot(c->losses, c->dl, c->N);
}

TEST(ops_crossentropy_grad)
{
    int tg[4] = {3, -1, 0, 6};
    struct ce_ctx c = {4, 7, tg, rnd(28, 2), zeros(28), zeros(4), rnd(4, 1)};
    float *dlog = zeros(28);
    ce_loss(&c);
    ASSERT_EQ_INT(c.losses[1] == 0.0f, 1);
    core_ops_crossentropy_backward(dlog, c.dl, c.probs, c.tg, c.N, c.V);
    for (int i = 7; i < 14; i++)
        ASSERT_EQ_INT(dlog[i] == 0.0f, 1);
    CHECK_GRAD(ce_loss, &c, c.logits, dlog, 28);
}

struct head_ctx { int N, C, V; int *tg; float *x, *w, *scr; struct core_tensor t; };
static double head_loss(void *p)
{
    struct head_ctx *c = p;
    int cnt;
    return core_ops_masked_head(c->x, &c->t, c->tg, c->N, c->C, c->V, 1.0f, NULL, NULL, 2,
                                c->scr, &cnt);
}

/* The masked head computes the same loss as logits + cross-entropy over the counted rows
 * only, and its dx/dw match finite differences (chunk 2 < counted rows: chunking works). */
TEST(ops_masked_head_grad)
{
    int tg[6] = {1, -1, 4, -1, 0, 2};
    struct head_ctx c = {.N = 6, .C = 5, .V = 7, .tg = tg};
    c.x = rnd(30, 1), c.w = rnd(35, 1);
    c.t = (struct core_tensor){.type = CORE_TYPE_F32, .n_dims = 2, .ne = {5, 7}, .data = c.w};
    c.scr = zeros(core_ops_masked_head_scratch(&c.t, 5, 7, 2));
    float *logits = zeros(42), *probs = zeros(42), *losses = zeros(6);
    core_ops_matmul_forward(logits, c.x, c.w, NULL, 6, 5, 7);
    core_ops_crossentropy_forward(losses, probs, logits, tg, 6, 7);
    double ref = 0;
    for (int i = 0; i < 6; i++)
        ref += losses[i];
    float *dx = zeros(30), *dw = zeros(35);
    int cnt = 0;
    double l = core_ops_masked_head(c.x, &c.t, tg, 6, 5, 7, 1.0f, dx, dw, 2, c.scr, &cnt);
    ASSERT_EQ_INT(cnt, 4);
    ASSERT_NEAR(l, ref, 1e-5);
    for (int i = 5; i < 10; i++) /* row 1 carries no loss */
        ASSERT_EQ_INT(dx[i] == 0.0f, 1);
    CHECK_GRAD(head_loss, &c, c.x, dx, 30);
    CHECK_GRAD(head_loss, &c, c.w, dw, 35);
}

/* ---------------------------------------------------------------- lora */

struct lora_ctx {
    int N, C, OC, R;
    float scale, p;
    float *inp, *a, *b, *out, *h, *xd, *G;
};
static double lora_loss(void *pp)
{
    struct lora_ctx *c = pp;
    memset(c->out, 0, sizeof(float) * c->N * c->OC);
    core_ops_lora_forward(c->out, c->h, c->inp, c->a, c->b, c->N, c->C, c->OC, c->R, c->scale,
                          c->p, 77, c->xd);
    return dot(c->out, c->G, (size_t)c->N * c->OC);
}

static void lora_check(float p)
{
    struct lora_ctx c = {.N = 6, .C = 8, .OC = 5, .R = 3, .scale = 2.0f, .p = p};
    c.inp = rnd(48, 1), c.a = rnd(24, 1), c.b = rnd(15, 1), c.out = zeros(30), c.h = zeros(18);
    c.xd = zeros(48), c.G = rnd(30, 1);
    float *din = zeros(48), *da = zeros(24), *db = zeros(15), *dh = zeros(18), *xd2 = zeros(48);
    lora_loss(&c);
    core_ops_lora_backward(din, da, db, c.G, c.h, c.inp, c.a, c.b, c.N, c.C, c.OC, c.R, c.scale,
                           c.p, 77, dh, xd2);
    CHECK_GRAD(lora_loss, &c, c.inp, din, 48);
    CHECK_GRAD(lora_loss, &c, c.a, da, 24);
    CHECK_GRAD(lora_loss, &c, c.b, db, 15);
}

TEST(ops_lora_grad) { lora_check(0.0f); }
TEST(ops_lora_dropout_grad) { lora_check(0.3f); }

/* The dropout stream drops about p of the elements and is a pure function of (seed, i). */
TEST(ops_dropout_rate)
{
    int kept = 0;
    for (int i = 0; i < 100000; i++)
        kept += core_ops_dropout_keep(5, (uint64_t)i, 0.25f);
    ASSERT_NEAR(kept / 100000.0, 0.75, 0.01);
    ASSERT_EQ_INT(core_ops_dropout_keep(9, 123, 0.5f), core_ops_dropout_keep(9, 123, 0.5f));
}

/* With a pool, big matmuls are split over threads and attention runs per (batch, kv
 * group): the results equal the serial ones. */
TEST(ops_pool_matches_serial)
{
    struct core_pool *pool;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&pool, 2, &err), &err);
    int N = 128, C = 96, OC = 320;
    float *inp = rnd((size_t)N * C, 1), *w = rnd((size_t)OC * C, 1), *G = rnd((size_t)N * OC, 1);
    float *o1 = zeros((size_t)N * OC), *o2 = zeros((size_t)N * OC);
    float *d1 = zeros((size_t)OC * C), *d2 = zeros((size_t)OC * C);
    core_ops_matmul_forward(o1, inp, w, NULL, N, C, OC);
    core_ops_matmul_backward(NULL, d1, NULL, G, inp, w, N, C, OC);
    int B = 2, T = 16, NH = 4, NKV = 2, HS = 8;
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS;
    float *q = rnd(nq, 1), *k = rnd(nk, 1), *v = rnd(nk, 1), *dO = rnd(nq, 1);
    float *a1 = zeros(nq), *a2 = zeros(nq), *p1 = zeros((size_t)B * NH * T * T),
          *p2 = zeros((size_t)B * NH * T * T);
    float *dk1 = zeros(nk), *dk2 = zeros(nk), *dq1 = zeros(nq), *dq2 = zeros(nq),
          *dv1 = zeros(nk), *dv2 = zeros(nk);
    core_ops_attention_forward(a1, p1, q, k, v, NULL, B, T, NH, NKV, HS);
    core_ops_attention_backward(dq1, dk1, dv1, dO, p1, q, k, v, B, T, NH, NKV, HS,
                                zeros(core_ops_attention_scratch(T)));
    core_ops_set_pool(pool);
    core_ops_matmul_forward(o2, inp, w, NULL, N, C, OC);
    core_ops_matmul_backward(NULL, d2, NULL, G, inp, w, N, C, OC);
    core_ops_attention_forward(a2, p2, q, k, v, NULL, B, T, NH, NKV, HS);
    core_ops_attention_backward(dq2, dk2, dv2, dO, p2, q, k, v, B, T, NH, NKV, HS,
                                zeros(core_ops_attention_scratch(T)));
    core_ops_set_pool(NULL);
    for (size_t i = 0; i < (size_t)N * OC; i++)
        ASSERT_NEAR(o1[i], o2[i], 1e-4);
    for (size_t i = 0; i < (size_t)OC * C; i++)
        ASSERT_NEAR(d1[i], d2[i], 1e-3);
    for (size_t i = 0; i < nq; i++) {
        ASSERT_NEAR(a1[i], a2[i], 1e-6);
        ASSERT_NEAR(dq1[i], dq2[i], 1e-5);
    }
    for (size_t i = 0; i < nk; i++) {
        ASSERT_NEAR(dk1[i], dk2[i], 1e-5);
        ASSERT_NEAR(dv1[i], dv2[i], 1e-5);
    }
    core_pool_free(pool);
}

/* A frozen Q8_0 / F16 weight through core_ops_linear_*: the tiles (more rows than
 * one tile, and a partial last tile) give exactly the matmul of the dequantized
 * weight, forward and input gradient. */
static void quant_linear_check(int type)
{
    int N = 5, C = 64, OC = CORE_OPS_TILE + 9;
    float *w = rnd((size_t)OC * C, 1), *deq = zeros((size_t)OC * C), *inp = rnd((size_t)N * C, 1);
    size_t rb = core_quant_row_bytes(type, C);
    char *q = malloc(rb * OC);
    for (int o = 0; o < OC; o++) {
        ASSERT_EQ_INT(core_quant_row(type, w + (size_t)o * C, q + rb * o, C), 0);
        ASSERT_EQ_INT(core_dequant_row(type, q + rb * o, deq + (size_t)o * C, C), 0);
    }
    struct core_tensor t = {.type = type, .n_dims = 2, .ne = {C, OC}, .data = q,
                            .nbytes = rb * OC};
    float *scr = zeros(core_ops_linear_scratch(&t));
    float *a = zeros((size_t)N * OC), *b = zeros((size_t)N * OC), *G = rnd((size_t)N * OC, 1);
    float *d1 = zeros((size_t)N * C), *d2 = zeros((size_t)N * C);
    core_ops_matmul_forward(a, inp, deq, NULL, N, C, OC);
    ASSERT_EQ_INT(core_ops_linear_forward(b, inp, &t, N, C, OC, 0, scr), 0);
    core_ops_matmul_backward(d1, NULL, NULL, G, inp, deq, N, C, OC);
    ASSERT_EQ_INT(core_ops_linear_backward(d2, G, &t, N, C, OC, scr), 0);
    for (int i = 0; i < N * OC; i++)
        ASSERT_NEAR(a[i], b[i], 1e-4);
    for (int i = 0; i < N * C; i++)
        ASSERT_NEAR(d1[i], d2[i], 1e-4);
    free(q);
}

TEST(ops_linear_q8_0_tiles) { quant_linear_check(CORE_TYPE_Q8_0); }
TEST(ops_linear_f16_tiles) { quant_linear_check(CORE_TYPE_F16); }
