/*
 * init-model.c: writes the starting point of Bezoar's demo model: a Llama-architecture
 * GGUF with a given vocabulary (a vocab-only GGUF from train-vocab, whose tokenizer and
 * chat-template metadata are copied) and seeded random weights, through the project's
 * writer (core_model_save_gguf). `bezoar train --full` then trains it.
 *
 * Key idea: GPT-2-style initialisation, so that the first loss is about ln(V) and
 * training is stable without warm-up tricks: embeddings (tied with the output) with
 * spread 0.02, matrices uniform with a 1/sqrt(fan-in) spread, the two projections that
 * write into the residual stream (attn_output, ffn_down) scaled down by 1/sqrt(2L),
 * norms at 1. Uniforms come from a seeded xorshift, so the same options give the same
 * bytes.
 *
 * Left out: no untied output, no biases, no other architectures (gen-model covers
 * those for tests).
 *
 *   init-model --vocab VOCAB.gguf -o OUT.gguf [--dim C] [--layers L] [--heads NH]
 *              [--kv-heads NKV] [--ffn FF] [--ctx N] [--type f32|f16] [--seed S]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static uint64_t rng = 1;

/* Uniform in [-1, 1]. */
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

static struct core_tensor *mk(struct core_model *m, const char *name, int64_t ne0, int64_t ne1,
                              float center, float std)
{
    struct core_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = CORE_TYPE_F32;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = t->ne[3] = 1;
    t->nbytes = (size_t)(ne0 * ne1) * sizeof(float);
    float *d = bz_malloc(t->nbytes);
    float amp = std * sqrtf(3.0f); /* a uniform in [-amp, amp] has this spread */
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = center + amp * rnd();
    t->data = d;
    return t;
}

static int usage(void)
{
    fprintf(stderr, "usage: init-model --vocab VOCAB.gguf -o OUT.gguf [--dim C] [--layers L] "
                    "[--heads NH] [--kv-heads NKV] [--ffn FF] [--ctx N] [--type f32|f16] "
                    "[--seed S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *vocab = NULL, *tname = "f32";
    int dim = 128, layers = 4, heads = 4, kv = 2, ffn = 384, ctx = 512;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "-o"))
            out = v;
        else if (!strcmp(a, "--vocab"))
            vocab = v;
        else if (!strcmp(a, "--dim"))
            dim = atoi(v);
        else if (!strcmp(a, "--layers"))
            layers = atoi(v);
        else if (!strcmp(a, "--heads"))
            heads = atoi(v);
        else if (!strcmp(a, "--kv-heads"))
            kv = atoi(v);
        else if (!strcmp(a, "--ffn"))
            ffn = atoi(v);
        else if (!strcmp(a, "--ctx"))
            ctx = atoi(v);
        else if (!strcmp(a, "--type"))
            tname = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else
            return usage();
    }
    int type = core_type_from_name(tname);
    if (!out || !vocab || type < 0 || dim <= 0 || layers <= 0 || heads <= 0 || kv <= 0 ||
        ffn <= 0 || ctx <= 0 || dim % heads || heads % kv || (dim / heads) % 2)
        return usage();
    rng = seed * 0x9e3779b97f4a7c15ull + 1;

    struct bz_err err = {0};
    struct core_gguf *g = NULL;
    uint64_t nv = 0;
    const struct core_gguf_str *toks = NULL;
    int rc = core_gguf_open(&g, vocab, &err);
    if (rc == 0)
        rc = core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &nv, &err);
    if (rc) {
        fprintf(stderr, "init-model: %s\n", bz_err_msg(&err, rc));
        core_gguf_close(g);
        return 1;
    }

    struct core_model m;
    memset(&m, 0, sizeof m);
    m.cfg = (struct core_model_config){CORE_ARCH_LLAMA, dim, layers, heads, kv, dim / heads,
                                       ffn, (int)nv, ctx, 10000, 1, CORE_ROPE_NORM, 1e-5f, 1, 0};
    m.gguf = g;
    m.name = "bezoar-demo";
    const struct core_model_config *c = &m.cfg;
    int C = c->dim, QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    m.tensors = bz_calloc((size_t)c->n_layers * 9 + 2, sizeof *m.tensors);
    m.layers = bz_calloc((size_t)c->n_layers, sizeof *m.layers);
    float s_in = 1.0f / sqrtf((float)C), resid = 1.0f / sqrtf(2.0f * (float)c->n_layers);
    m.tok_embd = mk(&m, "token_embd.weight", C, c->vocab_size, 0, 0.02f);
    m.out_norm = mk(&m, "output_norm.weight", C, 1, 1, 0);
    m.output = m.tok_embd;
    char name[96];
#define T(field, suffix, ne0, ne1, ctr, std)                                                 \
    (snprintf(name, sizeof name, "blk.%d." suffix, l), ly->field = mk(&m, name, ne0, ne1, ctr, std))
    for (int l = 0; l < c->n_layers; l++) {
        struct core_layer *ly = &m.layers[l];
        T(attn_norm, "attn_norm.weight", C, 1, 1, 0);
        T(wq, "attn_q.weight", C, QD, 0, s_in);
        T(wk, "attn_k.weight", C, KVD, 0, s_in);
        T(wv, "attn_v.weight", C, KVD, 0, s_in);
        T(wo, "attn_output.weight", QD, C, 0, resid / sqrtf((float)QD));
        T(ffn_norm, "ffn_norm.weight", C, 1, 1, 0);
        T(w_gate, "ffn_gate.weight", C, c->ffn_dim, 0, s_in);
        T(w_up, "ffn_up.weight", C, c->ffn_dim, 0, s_in);
        T(w_down, "ffn_down.weight", c->ffn_dim, C, 0, resid / sqrtf((float)c->ffn_dim));
    }
#undef T
    uint64_t params = 0;
    for (int i = 0; i < m.n_tensors; i++)
        params += (uint64_t)core_tensor_nelems(&m.tensors[i]);
    rc = core_model_save_gguf(&m, out, type, NULL, &err);
    for (int i = 0; i < m.n_tensors; i++)
        free(m.tensors[i].data);
    free(m.tensors);
    free(m.layers);
    core_gguf_close(g);
    if (rc) {
        fprintf(stderr, "init-model: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    fprintf(stderr, "init-model: %s: dim %d, %d layers, %d heads (%d kv), ffn %d, vocab %d, "
                    "ctx %d, %llu parameters\n",
            out, C, c->n_layers, c->n_heads, c->n_kv_heads, c->ffn_dim, c->vocab_size,
            c->ctx_len, (unsigned long long)params);
    return 0;
}
