/*
 * test_lora.c: adapters on disk (PEFT directory with HF names and HF row order for
 * q/k, llama.cpp GGUF adapter) round-trip exactly; shape mismatches are refused with
 * both shapes; merging equals applying; and the training forward with an adapter gives
 * the same loss as the inference forward (core/forward.c) with the adapter loaded back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/forward.h"
#include "core/lora.h"
#include "core/ops.h"
#include "core/train.h"
#include "tests/test.h"

static uint64_t rs = 5;
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

/* C 16 (or 24), L 2, NH 4, NKV 2, HS C/4, FF 24, V 20, context 16. */
static void tiny_init(struct tiny *ty, int C)
{
    memset(ty, 0, sizeof *ty);
    int HS = C / 4;
    ty->m.cfg = (struct core_model_config){.dim = C, .n_layers = 2, .n_heads = 4,
                                           .n_kv_heads = 2, .head_dim = HS, .ffn_dim = 24,
                                           .vocab_size = 20, .ctx_len = 16,
                                           .rope_theta = 10000.0f, .rope_scale = 1.0f,
                                           .rope_mode = CORE_ROPE_NORM, .norm_eps = 1e-5f};
    ty->m.tok_embd = tensor(ty, "token_embd.weight", C, 20, 1.0f, 0);
    for (int l = 0; l < 2; l++) {
        struct core_layer *y = &ty->layers[l];
        y->attn_norm = tensor(ty, "attn_norm", C, 1, 0.2f, 1.0f);
        y->wq = tensor(ty, "wq", C, C, 0.4f, 0);
        y->wk = tensor(ty, "wk", C, 2 * HS, 0.4f, 0);
        y->wv = tensor(ty, "wv", C, 2 * HS, 0.4f, 0);
        y->wo = tensor(ty, "wo", C, C, 0.4f, 0);
        y->ffn_norm = tensor(ty, "ffn_norm", C, 1, 0.2f, 1.0f);
        y->w_gate = tensor(ty, "wg", C, 24, 0.4f, 0);
        y->w_up = tensor(ty, "wu", C, 24, 0.4f, 0);
        y->w_down = tensor(ty, "wd", 24, C, 0.3f, 0);
    }
    ty->m.layers = ty->layers;
    ty->m.out_norm = tensor(ty, "output_norm", C, 1, 0.2f, 1.0f);
    ty->m.output = tensor(ty, "output", C, 20, 0.5f, 0);
    ty->m.tensors = ty->t, ty->m.n_tensors = ty->nt;
}

static void tiny_free(struct tiny *ty)
{
    for (int i = 0; i < ty->nt; i++)
        free(ty->t[i].data);
}

static void random_adapter(struct core_lora *l, const struct core_model *m, unsigned targets)
{
    struct bz_err err = {0};
    ASSERT_OK(core_lora_init(l, m, targets, 3, 6.0f, 0, &err), &err);
    for (int i = 0; i < l->n_layers * CORE_LORA_NTARGETS; i++) {
        struct core_lora_pair *p = &l->pairs[i];
        if (!p->a)
            continue;
        for (int k = 0; k < p->r * p->c_in; k++)
            p->a[k] = frand();
        for (int k = 0; k < p->c_out * p->r; k++)
            p->b[k] = frand();
    }
}

static void assert_same(const struct core_lora *a, const struct core_lora *b)
{
    ASSERT_EQ_INT(a->targets, b->targets);
    ASSERT_EQ_INT(a->n_layers, b->n_layers);
    ASSERT_NEAR(a->alpha, b->alpha, 0);
    for (int i = 0; i < a->n_layers * CORE_LORA_NTARGETS; i++) {
        const struct core_lora_pair *p = &a->pairs[i], *q = &b->pairs[i];
        ASSERT_EQ_INT(p->a != NULL, q->a != NULL);
        if (!p->a)
            continue;
        ASSERT_EQ_INT(p->r, q->r);
        ASSERT_NEAR(p->scale, q->scale, 0);
        ASSERT(!memcmp(p->a, q->a, sizeof(float) * p->r * p->c_in));
        ASSERT(!memcmp(p->b, q->b, sizeof(float) * p->c_out * p->r));
    }
}

TEST(lora_peft_roundtrip)
{
    struct tiny ty;
    tiny_init(&ty, 16);
    struct core_lora a, b;
    struct bz_err err = {0};
    random_adapter(&a, &ty.m, 0x7f);
    const char *dir = test_tmp("adapter");
    ASSERT_OK(core_lora_save_peft(&a, &ty.m, dir, 0.05f, 0, "tiny", &err), &err);
    ASSERT_OK(core_lora_load(&b, &ty.m, dir, &err), &err);
    assert_same(&a, &b);
    core_lora_cleanup(&b);

    /* The file holds HF names and HF row order: q's B row 1 (GGUF: head 0, pair 0, odd
     * element) is HF row HS/2 = 2. */
    char *st;
    size_t n;
    char path[4096];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    ASSERT_OK(bz_read_file(path, &st, &n, &err), &err);
    const char *key = "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight";
    char *at = strstr(st + 8, key);
    ASSERT(at != NULL);
    ASSERT(strstr(st + 8, "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"));
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)(unsigned char)st[i] << (8 * i);
    size_t o0;
    ASSERT_EQ_INT(sscanf(strstr(at, "data_offsets") + 15, "%zu", &o0), 1);
    const float *hfb = (const float *)(st + 8 + hl + o0);
    const struct core_lora_pair *q = core_lora_pair_at(&a, 1, CORE_LORA_Q);
    ASSERT(!memcmp(hfb + 2 * q->r, q->b + 1 * q->r, sizeof(float) * q->r));
    ASSERT(!memcmp(hfb + 0 * q->r, q->b + 0 * q->r, sizeof(float) * q->r));
    free(st);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    ASSERT_OK(bz_read_file(path, &st, &n, &err), &err);
    ASSERT(strstr(st, "\"r\": 3") && strstr(st, "\"lora_alpha\": 6"));
    ASSERT(strstr(st, "\"target_modules\": [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", "
                      "\"gate_proj\", \"up_proj\", \"down_proj\"]"));
    free(st);
    core_lora_cleanup(&a);
    tiny_free(&ty);
}

TEST(lora_gguf_roundtrip)
{
    struct tiny ty;
    tiny_init(&ty, 16);
    struct core_lora a, b;
    struct bz_err err = {0};
    random_adapter(&a, &ty.m, (1u << CORE_LORA_Q) | (1u << CORE_LORA_V) | (1u << CORE_LORA_DOWN));
    const char *path = test_tmp("adapter.gguf");
    ASSERT_OK(core_lora_save_gguf(&a, &ty.m, path, &err), &err);
    ASSERT_OK(core_lora_load(&b, &ty.m, path, &err), &err);
    assert_same(&a, &b);
    core_lora_cleanup(&a);
    core_lora_cleanup(&b);
    tiny_free(&ty);
}

TEST(lora_shape_mismatch_refused)
{
    struct tiny small, big;
    tiny_init(&small, 16);
    tiny_init(&big, 24);
    struct core_lora a, b;
    struct bz_err err = {0};
    random_adapter(&a, &small.m, 1u << CORE_LORA_V);
    const char *dir = test_tmp("adapter");
    ASSERT_OK(core_lora_save_peft(&a, &small.m, dir, 0, 0, "tiny", &err), &err);
    ASSERT_EQ_INT(core_lora_load(&b, &big.m, dir, &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "v_proj.lora_A.weight has shape (3, 16), the model needs (3, 24)"));
    bz_err_clear(&err);
    ASSERT_OK(core_lora_save_gguf(&a, &small.m, test_tmp("a.gguf"), &err), &err);
    ASSERT_EQ_INT(core_lora_load(&b, &big.m, test_tmp("a.gguf"), &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "has ne (16, 3), the model needs (24, 3)"));
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_lora_init(&b, &small.m, 1u << CORE_LORA_K, 9, 1, 0, &err), BZ_EINVAL);
    core_lora_cleanup(&a);
    tiny_free(&small);
    tiny_free(&big);
}

/* Merging B.A*scale into W gives the same linear output as applying the adapter. */
TEST(lora_merge_equals_apply)
{
    struct tiny ty;
    tiny_init(&ty, 16);
    struct core_lora a;
    struct bz_err err = {0};
    random_adapter(&a, &ty.m, 1u << CORE_LORA_UP);
    float x[3 * 16], y1[3 * 24], y2[3 * 24], h[3 * 3];
    for (int i = 0; i < 48; i++)
        x[i] = frand();
    const struct core_lora_pair *p = core_lora_pair_at(&a, 1, CORE_LORA_UP);
    core_ops_matmul_forward(y1, x, ty.layers[1].w_up->data, NULL, 3, 16, 24);
    core_ops_lora_forward(y1, h, x, p->a, p->b, 3, 16, 24, 3, p->scale, 0, 0, NULL);
    ASSERT_OK(core_lora_merge(&ty.m, &a, &err), &err);
    core_ops_matmul_forward(y2, x, ty.layers[1].w_up->data, NULL, 3, 16, 24);
    for (int i = 0; i < 72; i++)
        ASSERT_NEAR(y1[i], y2[i], 1e-5);
    core_lora_cleanup(&a);
    tiny_free(&ty);
}

/* The training forward (core/train.c) and the inference forward (core/forward.c) with
 * the exported adapter loaded back agree: same mean loss over a sequence. */
TEST(lora_train_forward_matches_inference)
{
    struct tiny ty;
    tiny_init(&ty, 16);
    struct bz_err err = {0};
    struct core_train_opts o = {.targets = 0x7f, .rank = 2, .alpha = 4, .B = 1, .T = 8};
    struct core_train *t;
    ASSERT_OK(core_train_new(&t, &ty.m, &o, NULL, &err), &err);
    core_train_init_params(t, 9);
    for (size_t i = 0; i < t->n_params; i++)
        t->params[i] = 0.3f * frand();
    int tok[8] = {1, 5, 9, 2, 17, 3, 8, 11}, tgt[8], pos[8];
    for (int i = 0; i < 8; i++)
        tgt[i] = i + 1 < 8 ? tok[i + 1] : -1, pos[i] = i;
    struct core_train_batch b = {.tokens = tok, .targets = tgt, .pos = pos};
    double sum;
    int cnt;
    ASSERT_OK(core_train_step(t, &b, 0, 1, 0, &sum, &cnt, &err), &err);
    ASSERT_EQ_INT(cnt, 7);
    const char *dir = test_tmp("adapter");
    ASSERT_OK(core_lora_save_peft(&t->lora, &ty.m, dir, 0, 0, "tiny", &err), &err);
    struct core_lora loaded;
    ASSERT_OK(core_lora_load(&loaded, &ty.m, dir, &err), &err);
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &ty.m, NULL, 16, &err), &err);
    ASSERT_OK(core_forward_set_lora(f, &loaded, &err), &err);
    float logits[8 * 20];
    ASSERT_OK(core_forward_eval(f, tok, 8, logits, 1, &err), &err);
    double ref = 0;
    for (int i = 0; i < 7; i++) {
        float *l = logits + i * 20, mx = -1e30f;
        for (int j = 0; j < 20; j++)
            mx = l[j] > mx ? l[j] : mx;
        double s = 0;
        for (int j = 0; j < 20; j++)
            s += exp(l[j] - mx);
        ref += log(s) + mx - l[tgt[i]];
    }
    ASSERT_NEAR(sum / cnt, ref / 7, 1e-4);
    core_forward_free(f);
    core_lora_cleanup(&loaded);
    core_train_free(t);
    tiny_free(&ty);
}
