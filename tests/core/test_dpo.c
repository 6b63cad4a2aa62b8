/*
 * test_dpo.c: DPO (core/dpo.h) on a tiny random Llama model with LoRA on every target:
 * the loss gradient through the LoRA path against float32 central differences (dropout
 * and label smoothing on), the loss is exactly log 2 when policy == reference for any
 * beta, the split forward/backward equals the one-call step, the loss formula and its
 * derivative, which pairs are skipped, and the HH-RLHF test file's pair count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dpo.h"
#include "core/ops.h"
#include "core/train.h"
#include "dataset/dataset.h"
#include "tests/test.h"

static uint64_t rs = 7;
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

static struct core_tensor *tensor(struct tiny *ty, int64_t ne0, int64_t ne1, float s, float base)
{
    struct core_tensor *t = &ty->t[ty->nt++];
    snprintf(t->name, sizeof t->name, "t%d", ty->nt);
    t->type = CORE_TYPE_F32, t->n_dims = ne1 > 1 ? 2 : 1, t->ne[0] = ne0, t->ne[1] = ne1;
    t->nbytes = sizeof(float) * (size_t)(ne0 * ne1);
    float *d = malloc(t->nbytes);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = base + s * frand();
    t->data = d;
    return t;
}

/* C 16, L 2, NH 4, NKV 2, HS 4, FF 24, V 20, context 16, untied output. */
static void tiny_init(struct tiny *ty)
{
    memset(ty, 0, sizeof *ty);
    ty->m.cfg = (struct core_model_config){.dim = 16, .n_layers = 2, .n_heads = 4,
                                           .n_kv_heads = 2, .head_dim = 4, .ffn_dim = 24,
                                           .vocab_size = 20, .ctx_len = 16,
                                           .rope_theta = 10000.0f, .rope_scale = 1.0f,
                                           .rope_mode = CORE_ROPE_NORM, .norm_eps = 1e-5f};
    ty->m.tok_embd = tensor(ty, 16, 20, 1.0f, 0);
    for (int l = 0; l < 2; l++) {
        struct core_layer *y = &ty->layers[l];
        y->attn_norm = tensor(ty, 16, 1, 0.2f, 1.0f);
        y->wq = tensor(ty, 16, 16, 0.4f, 0);
        y->wk = tensor(ty, 16, 8, 0.4f, 0);
        y->wv = tensor(ty, 16, 8, 0.4f, 0);
        y->wo = tensor(ty, 16, 16, 0.4f, 0);
        y->ffn_norm = tensor(ty, 16, 1, 0.2f, 1.0f);
        y->w_gate = tensor(ty, 16, 24, 0.4f, 0);
        y->w_up = tensor(ty, 16, 24, 0.4f, 0);
        y->w_down = tensor(ty, 24, 16, 0.3f, 0);
    }
    ty->m.layers = ty->layers;
    ty->m.out_norm = tensor(ty, 16, 1, 0.2f, 1.0f);
    ty->m.output = tensor(ty, 16, 20, 0.5f, 0);
    ty->m.tensors = ty->t, ty->m.n_tensors = ty->nt;
}

static void tiny_free(struct tiny *ty)
{
    for (int i = 0; i < ty->nt; i++)
        free(ty->t[i].data);
}

/* Two pairs in four rows of 6: rows 0/1 pair 0 (chosen, rejected), rows 2/3 pair 1.
 * Each row: a two-token prompt (no loss), the answer, padding in its own segment. */
static int tok[24], tgt[24], pos[24], seg[24];
static struct core_train_batch batch(void)
{
    int len[4] = {6, 5, 4, 6};
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < 6; t++) {
            int i = r * 6 + t;
            tok[i] = t < 2 ? 3 + t : (i * 7 + 3 * r) % 20;
            pos[i] = t < len[r] ? t : t - len[r];
            seg[i] = t < len[r] ? 0 : 1;
            tgt[i] = t >= 1 && t + 1 < len[r] ? (i * 5 + r + 1) % 20 : -1;
        }
    return (struct core_train_batch){.tokens = tok, .targets = tgt, .pos = pos, .seg = seg};
}

static struct core_train *lora_trainer(struct tiny *ty, float dropout)
{
    struct core_train_opts o = {.targets = 0x7f, .rank = 2, .alpha = 4.0f, .dropout = dropout,
                                .B = 4, .T = 6, .head_chunk = 3};
    struct core_train *t = NULL;
    struct bz_err err = {0};
    if (core_train_new(&t, &ty->m, &o, NULL, &err))
        return NULL;
    core_train_init_params(t, 1);
    return t;
}

static const float beta_fd = 0.5f, eps_fd = 0.1f;
static double ref_fd[4];

/* Sum of the two pairs' DPO losses (backward on: the same dropout masks each call). */
static double dpo_loss(struct core_train *t)
{
    struct core_train_batch b = batch();
    struct core_dpo_stats s = {0};
    struct bz_err err = {0};
    if (core_dpo_step(t, &b, 2, ref_fd, beta_fd, eps_fd, 1, 1.0f, 42, NULL, &s, NULL, &err))
        return NAN;
    return s.loss;
}

/* d (sum of pair losses) / d LoRA params against central differences over a sample of
 * the slab; relative error bound as in test_train (float32 forward). */
TEST(dpo_grad_lora_fd)
{
    struct tiny ty;
    tiny_init(&ty);
    struct core_train *t = lora_trainer(&ty, 0.1f);
    ASSERT(t != NULL);
    for (size_t i = 0; i < t->n_params; i++) /* B = 0 would make dA vanish */
        t->params[i] = 0.5f * frand();
    /* a reference that puts the pairs on both sides of z = 0 */
    struct core_train_batch b = batch();
    double row[4], sum;
    int cnt;
    struct bz_err err = {0};
    ASSERT_OK(core_train_forward(t, &b, 0, 0, row, &sum, &cnt, &err), &err);
    ASSERT_EQ_INT(cnt, 4 + 3 + 2 + 4);
    ref_fd[0] = -row[0] + 1.5, ref_fd[1] = -row[1] - 0.5;
    ref_fd[2] = -row[2] - 2.0, ref_fd[3] = -row[3] + 0.7;
    core_train_zero_grad(t);
    double l = dpo_loss(t);
    ASSERT(isfinite(l) && l > 0);
    float *g = malloc(sizeof(float) * t->n_params);
    memcpy(g, t->grads, sizeof(float) * t->n_params);
    size_t n = t->n_params, step = n > 400 ? n / 400 : 1;
    double num = 0, den = 0;
    float h = 1e-2f;
    for (size_t i = 0; i < n; i += step) {
        float keep = t->params[i];
        t->params[i] = keep + h;
        double lp = dpo_loss(t);
        t->params[i] = keep - h;
        double lm = dpo_loss(t);
        t->params[i] = keep;
        double fd = (lp - lm) / (2 * h);
        num += (fd - g[i]) * (fd - g[i]);
        den += fd * fd;
    }
    double rel = sqrt(num) / sqrt(den);
    fprintf(stderr, "dpo fd: %zu params, rel %.3g, |g| %.3g\n", n, rel, sqrt(den));
    ASSERT(den > 1e-6);
    ASSERT(rel < 2e-3);
    free(g);
    core_train_free(t);
    tiny_free(&ty);
}

/* Policy == reference (the reference computed by the same forward, dropout off): the
 * loss of every pair is log 2 whatever beta, and the gradient is finite. */
TEST(dpo_loss_is_log2_at_start)
{
    struct tiny ty;
    tiny_init(&ty);
    struct core_train *t = lora_trainer(&ty, 0.0f);
    ASSERT(t != NULL);
    for (size_t i = 0; i < t->n_params; i++) /* a non-trivial starting adapter */
        t->params[i] = 0.3f * frand();
    struct core_train_batch b = batch();
    double row[4], sum, ref[4];
    int cnt;
    struct bz_err err = {0};
    ASSERT_OK(core_train_forward(t, &b, 0, 0, row, &sum, &cnt, &err), &err);
    for (int i = 0; i < 4; i++)
        ref[i] = -row[i];
    const float betas[] = {0.01f, 0.1f, 1.0f, 100.0f, 1e4f, 1e8f};
    for (size_t k = 0; k < BZ_ARRAY_SIZE(betas); k++)
        for (int e = 0; e < 2; e++) {
            struct core_dpo_stats s = {0};
            double logps[4];
            core_train_zero_grad(t);
            ASSERT_OK(core_dpo_step(t, &b, 2, ref, betas[k], e ? 0.2f : 0.0f, 1, 0.5f, 9,
                                    logps, &s, NULL, &err), &err);
            core_dpo_stats_mean(&s);
            ASSERT_EQ_INT(s.n, 2);
            ASSERT_NEAR(s.loss, log(2.0), 1e-12);
            ASSERT_NEAR(s.reward_margin, 0.0, 1e-12);
            ASSERT_NEAR(s.reward_accuracy, 0.0, 1e-12);
            for (int i = 0; i < 4; i++)
                ASSERT_NEAR(logps[i], ref[i], 1e-12);
            double gn = 0;
            for (size_t i = 0; i < t->n_params; i++)
                gn += (double)t->grads[i] * t->grads[i];
            ASSERT(isfinite(gn) && gn > 0);
        }
    core_train_free(t);
    tiny_free(&ty);
}

/* core_train_forward + core_train_backward with one weight for every row equal the
 * one-call core_train_step; row_loss sums to the step's loss. */
TEST(dpo_split_step_matches_step)
{
    struct tiny ty;
    tiny_init(&ty);
    struct core_train *t = lora_trainer(&ty, 0.1f);
    ASSERT(t != NULL);
    for (size_t i = 0; i < t->n_params; i++)
        t->params[i] = 0.3f * frand();
    struct core_train_batch b = batch();
    double s1, s2, row[4];
    int c1, c2;
    struct bz_err err = {0};
    core_train_zero_grad(t);
    ASSERT_OK(core_train_step(t, &b, 1, 0.25f, 11, &s1, &c1, &err), &err);
    float *g1 = malloc(sizeof(float) * t->n_params);
    memcpy(g1, t->grads, sizeof(float) * t->n_params);
    core_train_zero_grad(t);
    ASSERT_EQ_INT(core_train_backward(t, &b, (float[4]){1, 1, 1, 1}, &err), BZ_EINVAL);
    ASSERT_OK(core_train_forward(t, &b, 1, 11, row, &s2, &c2, &err), &err);
    const float w[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    ASSERT_OK(core_train_backward(t, &b, w, &err), &err);
    ASSERT_EQ_INT(c1, c2);
    ASSERT_NEAR(s1, s2, 1e-9);
    ASSERT_NEAR(row[0] + row[1] + row[2] + row[3], s2, 1e-9);
    for (size_t i = 0; i < t->n_params; i++)
        ASSERT_NEAR(g1[i], t->grads[i], 1e-6 * (1 + fabsf(g1[i])));
    /* a zero weight on a row removes exactly its contribution */
    core_train_zero_grad(t);
    ASSERT_OK(core_train_forward(t, &b, 1, 11, row, &s2, &c2, &err), &err);
    ASSERT_OK(core_train_backward(t, &b, (float[4]){0, 0, 0, 0}, &err), &err);
    for (size_t i = 0; i < t->n_params; i++)
        ASSERT_EQ_INT(t->grads[i] == 0.0f, 1);
    free(g1);
    core_train_free(t);
    tiny_free(&ty);
}

/* The formula, its derivative (double central differences), label smoothing's
 * symmetry, and no overflow for huge beta * z. */
TEST(dpo_loss_formula)
{
    double dz;
    ASSERT_NEAR(core_dpo_loss(-3, -3, -3, -3, 1e8f, 0, &dz), log(2.0), 1e-15);
    ASSERT_NEAR(dz, -0.5e8, 1e-3);
    /* z = (pc - rc) - (pr - rr) = 1 - (-1) = 2 */
    double l = core_dpo_loss(-1, -6, -2, -5, 0.5f, 0, &dz);
    ASSERT_NEAR(l, log1p(exp(-1.0)), 1e-12);
    for (int e = 0; e < 2; e++) {
        float eps = e ? 0.3f : 0.0f;
        double h = 1e-6, a;
        core_dpo_loss(-1, -6, -2, -5, 0.5f, eps, &a);
        double fd = (core_dpo_loss(-1 + h, -6, -2, -5, 0.5f, eps, NULL) -
                     core_dpo_loss(-1 - h, -6, -2, -5, 0.5f, eps, NULL)) / (2 * h);
        ASSERT_NEAR(a, fd, 1e-7);
    }
    /* smoothing eps at z equals smoothing 1 - eps at -z */
    ASSERT_NEAR(core_dpo_loss(0, 0, 1, 0, 2.0f, 0.3f, NULL),
                0.7 * log1p(exp(2.0)) + 0.3 * log1p(exp(-2.0)), 1e-7);
    ASSERT_NEAR(core_dpo_loss(-1000, 0, 0, 0, 1e6f, 0, &dz), 1e9, 1.0);
    ASSERT_NEAR(dz, -1e6, 1e-3);
    ASSERT_NEAR(core_dpo_loss(1000, 0, 0, 0, 1e6f, 0, &dz), 0.0, 1e-12);
    ASSERT_NEAR(dz, 0.0, 1e-12);
    struct core_dpo_stats s = {0};
    core_dpo_stats_add(&s, -1, -6, -2, -5, 0.5f, 0);
    core_dpo_stats_add(&s, -3, -1, -2, -2, 0.5f, 0);
    core_dpo_stats_mean(&s);
    ASSERT_NEAR(s.rewards_chosen, (0.5 - 0.5) / 2, 1e-12);
    ASSERT_NEAR(s.rewards_rejected, (-0.5 + 0.5) / 2, 1e-12);
    ASSERT_NEAR(s.reward_margin, (1.0 - 1.0) / 2, 1e-12);
    ASSERT_NEAR(s.reward_accuracy, 0.5, 1e-12);
}

TEST(dpo_pair_check)
{
    ASSERT_EQ_INT(core_dpo_pair_check("yes", "no"), CORE_DPO_USABLE);
    ASSERT_EQ_INT(core_dpo_pair_check("same", "same"), CORE_DPO_SKIP_SAME);
    ASSERT_EQ_INT(core_dpo_pair_check(" \n\t", "no"), CORE_DPO_SKIP_EMPTY);
    ASSERT_EQ_INT(core_dpo_pair_check("yes", ""), CORE_DPO_SKIP_EMPTY);
    ASSERT_EQ_INT(core_dpo_pair_check(NULL, "no"), CORE_DPO_SKIP_EMPTY);
    ASSERT_EQ_INT(core_dpo_pair_check("", ""), CORE_DPO_SKIP_EMPTY);
}

/* HH-RLHF harmless-base test: 2312 records, every one a pair (the shared prefix is
 * the prompt); the data README counts 4 empty final replies, which are skipped. */
TEST(dpo_hh_rlhf_pairs)
{
    const char *path = test_data("instruct/hh-rlhf_harmless-base_test.jsonl.gz");
    struct ds_dataset *ds;
    struct ds_open_opts oo = {.format = DS_FMT_UNKNOWN, .read_only = 1};
    struct bz_err err = {0};
    ASSERT_OK(ds_open(&ds, path, &oo, &err), &err);
    ASSERT_OK(ds_wait(ds, &err), &err);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_PREF_HH);
    size_t n = ds_count(ds);
    ASSERT_EQ_INT((int)n, 2312);
    int usable = 0, empty = 0, same = 0, not_pairs = 0, with_prompt = 0;
    for (size_t i = 0; i < n; i++) {
        struct ds_record r;
        memset(&r, 0, sizeof r);
        ASSERT_OK(ds_get(ds, i, &r, &err), &err);
        if (!r.chosen && !r.rejected)
            not_pairs++;
        int why = core_dpo_pair_check(r.chosen, r.rejected);
        usable += why == CORE_DPO_USABLE;
        empty += why == CORE_DPO_SKIP_EMPTY;
        same += why == CORE_DPO_SKIP_SAME;
        with_prompt += r.n_msgs > 0 && r.msgs[0].role == DS_ROLE_USER;
        ds_record_cleanup(&r);
    }
    ds_close(ds);
    fprintf(stderr, "hh-rlhf: %d usable pairs, %d empty, %d identical\n", usable, empty, same);
    ASSERT_EQ_INT(not_pairs, 0);
    ASSERT_EQ_INT(with_prompt, 2312);
    ASSERT_EQ_INT(empty, 4);
    ASSERT_EQ_INT(usable + empty + same, 2312);
}
