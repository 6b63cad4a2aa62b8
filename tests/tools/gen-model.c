/*
 * gen-model.c: write a random-weight Llama-family model as GGUF through the project's
 * writer (core_model_save_gguf), for tests and benchmarks: SmolLM2-135M's shape, a
 * Qwen2-style shape with q/k/v bias, or a small one; optionally a random LoRA adapter
 * for it (core_lora_save_gguf).
 *
 *   gen-model -o OUT.gguf [--shape smollm2|qwen2|small] [--layers L] [--dim C --ffn FF]
 *             [--type f32|f16|bf16|q8_0] [--vocab-from GGUF] [--seed S]
 *             [--adapter OUT.gguf [--rank R] [--zero-b]]
 *
 * --vocab-from copies the tokenizer metadata of another GGUF (and takes its vocabulary
 * size), so that the verbs can run the model. Weights are uniform with a 1/sqrt(fan-in)
 * spread, norms around 1; the same seed gives the same file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static uint64_t rng = 1;
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

static struct core_tensor *mk(struct core_model *m, const char *name, int64_t ne0, int64_t ne1,
                              float center, float amp)
{
    struct core_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = CORE_TYPE_F32;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = t->ne[3] = 1;
    t->nbytes = (size_t)(ne0 * ne1) * sizeof(float);
    float *d = malloc(t->nbytes);
    if (!d) {
        fprintf(stderr, "gen-model: out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = center + amp * rnd();
    t->data = d;
    return t;
}

static int usage(void)
{
    fprintf(stderr, "usage: gen-model -o OUT.gguf [--shape smollm2|qwen2|small] [--layers L] "
                    "[--dim C --ffn FF] [--type f32|f16|bf16|q8_0] [--vocab-from GGUF] "
                    "[--seed S] [--adapter OUT.gguf [--rank R] [--zero-b]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *shape = "small", *vocab_from = NULL, *adapter = NULL;
    const char *tname = "f32";
    int layers = -1, rank = 8, zero_b = 0, dim = 0, ffn = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--zero-b")) {
            zero_b = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (!strcmp(a, "-o"))
            out = v;
        else if (!strcmp(a, "--shape"))
            shape = v;
        else if (!strcmp(a, "--layers"))
            layers = atoi(v);
        else if (!strcmp(a, "--dim"))
            dim = atoi(v);
        else if (!strcmp(a, "--ffn"))
            ffn = atoi(v);
        else if (!strcmp(a, "--type"))
            tname = v;
        else if (!strcmp(a, "--vocab-from"))
            vocab_from = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--adapter"))
            adapter = v;
        else if (!strcmp(a, "--rank"))
            rank = atoi(v);
        else
            return usage();
    }
    int type = core_type_from_name(tname);
    if (!out || type < 0)
        return usage();
    rng = seed * 0x9e3779b97f4a7c15ull + 1;

    struct core_model m;
    memset(&m, 0, sizeof m);
    struct core_model_config *c = &m.cfg;
    if (!strcmp(shape, "smollm2"))
        *c = (struct core_model_config){CORE_ARCH_LLAMA, 576, 30, 9, 3, 64, 1536, 49152, 8192,
                                        100000, 1, CORE_ROPE_NORM, 1e-5f, 1, 0};
    else if (!strcmp(shape, "qwen2"))
        *c = (struct core_model_config){CORE_ARCH_QWEN2, 128, 4, 4, 2, 32, 352, 1000, 2048,
                                        1000000, 1, CORE_ROPE_NEOX, 1e-6f, 1, 1};
    else if (!strcmp(shape, "small"))
        *c = (struct core_model_config){CORE_ARCH_LLAMA, 128, 4, 4, 2, 32, 352, 1000, 2048,
                                        10000, 1, CORE_ROPE_NORM, 1e-5f, 0, 0};
    else
        return usage();
    if (layers > 0)
        c->n_layers = layers;
    if (dim > 0) {
        c->dim = dim;
        c->head_dim = dim / c->n_heads;
    }
    if (ffn > 0)
        c->ffn_dim = ffn;
    struct bz_err err = {0};
    struct core_model *src = NULL;
    if (vocab_from) {
        int rc = core_model_open(&src, vocab_from, &err);
        if (rc) {
            fprintf(stderr, "gen-model: %s\n", bz_err_msg(&err, rc));
            return 1;
        }
        c->vocab_size = src->cfg.vocab_size;
        m.gguf = src->gguf;
    }
    m.name = "gen-model random weights";
    int C = c->dim, QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    m.tensors = calloc((size_t)c->n_layers * 12 + 3, sizeof *m.tensors);
    m.layers = calloc((size_t)c->n_layers, sizeof *m.layers);
    float a = 1.0f / sqrtf((float)C);
    m.tok_embd = mk(&m, "token_embd.weight", C, c->vocab_size, 0, 1);
    m.out_norm = mk(&m, "output_norm.weight", C, 1, 1, 0.1f);
    m.output = c->tied_output ? m.tok_embd : mk(&m, "output.weight", C, c->vocab_size, 0, a);
    char name[96];
#define T(field, suffix, ne0, ne1, ctr, amp)                                                 \
    (snprintf(name, sizeof name, "blk.%d." suffix, l), ly->field = mk(&m, name, ne0, ne1, ctr, amp))
    for (int l = 0; l < c->n_layers; l++) {
        struct core_layer *ly = &m.layers[l];
        T(attn_norm, "attn_norm.weight", C, 1, 1, 0.1f);
        T(wq, "attn_q.weight", C, QD, 0, a);
        T(wk, "attn_k.weight", C, KVD, 0, a);
        T(wv, "attn_v.weight", C, KVD, 0, a);
        if (c->qkv_bias) {
            T(bq, "attn_q.bias", QD, 1, 0, 0.3f);
            T(bk, "attn_k.bias", KVD, 1, 0, 0.3f);
            T(bv, "attn_v.bias", KVD, 1, 0, 0.1f);
        }
        T(wo, "attn_output.weight", QD, C, 0, a);
        T(ffn_norm, "ffn_norm.weight", C, 1, 1, 0.1f);
        T(w_gate, "ffn_gate.weight", C, c->ffn_dim, 0, a);
        T(w_up, "ffn_up.weight", C, c->ffn_dim, 0, a);
        T(w_down, "ffn_down.weight", c->ffn_dim, C, 0, 1.0f / sqrtf((float)c->ffn_dim));
    }
#undef T
    struct bz_buf report;
    bz_buf_init(&report);
    int rc = core_model_save_gguf(&m, out, type, &report, &err);
    if (report.len)
        fputs(report.p, stderr);
    if (rc == 0 && adapter) {
        struct core_lora lora;
        rc = core_lora_init(&lora, &m, (1u << CORE_LORA_NTARGETS) - 1, rank, 2.0f * rank, 0,
                            &err);
        for (int i = 0; rc == 0 && i < c->n_layers * CORE_LORA_NTARGETS; i++) {
            struct core_lora_pair *p = &lora.pairs[i];
            if (!p->a)
                continue;
            for (int k = 0; k < p->r * p->c_in; k++)
                p->a[k] = rnd() / sqrtf((float)p->c_in);
            for (int k = 0; k < p->r * p->c_out; k++)
                p->b[k] = zero_b ? 0 : 0.5f * rnd() / sqrtf((float)p->r);
        }
        if (rc == 0)
            rc = core_lora_save_gguf(&lora, &m, adapter, &err);
        core_lora_cleanup(&lora);
    }
    for (int i = 0; i < m.n_tensors; i++)
        free(m.tensors[i].data);
    free(m.tensors);
    free(m.layers);
    bz_buf_cleanup(&report);
    core_model_free(src);
    if (rc) {
        fprintf(stderr, "gen-model: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    return 0;
}
