/* test_llama2c.c: the llama2.c checkpoint and tokenizer.bin loader against the same
 * model in GGUF (stories260K), and refusal of bad headers and sizes. */
#include <string.h>

#include "core/gguf.h"
#include "core/model.h"
#include "tests/test.h"

/* Every tensor of a equals the tensor of the same role in b, element for element. */
static void same_tensor(const struct core_tensor *a, const struct core_tensor *b)
{
    ASSERT(a && b);
    ASSERT_EQ_INT(a->type, CORE_TYPE_F32);
    ASSERT_EQ_INT(b->type, CORE_TYPE_F32);
    for (int d = 0; d < 4; d++)
        ASSERT_EQ_INT(a->ne[d], b->ne[d]);
    ASSERT_EQ_INT(a->nbytes, b->nbytes);
    if (memcmp(a->data, b->data, a->nbytes) != 0) {
        const float *x = a->data, *y = b->data;
        for (size_t i = 0; i < a->nbytes / 4; i++)
            if (memcmp(&x[i], &y[i], 4) != 0)
                test__fail(__FILE__, __LINE__, "%s vs %s: element %zu: %.9g != %.9g", a->name,
                           b->name, i, x[i], y[i]);
    }
}

TEST(llama2c_matches_gguf)
{
    struct bz_err e = {0};
    struct core_model *g, *l;
    ASSERT_OK(core_model_open(&g, test_data("models/stories260K.gguf"), &e), &e);
    ASSERT_OK(core_model_open(&l, test_data("models/llama2c/stories260K.bin"), &e), &e);
    ASSERT_EQ_STR(g->format, "gguf");
    ASSERT_EQ_STR(l->format, "llama2c");
    const struct core_model_config *a = &g->cfg, *b = &l->cfg;
    ASSERT_EQ_INT(a->dim, 64);
    ASSERT_EQ_INT(a->n_layers, 5);
    ASSERT_EQ_INT(a->n_heads, 8);
    ASSERT_EQ_INT(a->n_kv_heads, 4);
    ASSERT_EQ_INT(a->head_dim, 8);
    ASSERT_EQ_INT(a->ffn_dim, 172);
    ASSERT_EQ_INT(a->vocab_size, 512);
    ASSERT_EQ_INT(b->ctx_len, 512); /* the GGUF says 2048; the checkpoint header says 512 */
    ASSERT_EQ_INT(a->dim, b->dim);
    ASSERT_EQ_INT(a->n_layers, b->n_layers);
    ASSERT_EQ_INT(a->n_heads, b->n_heads);
    ASSERT_EQ_INT(a->n_kv_heads, b->n_kv_heads);
    ASSERT_EQ_INT(a->head_dim, b->head_dim);
    ASSERT_EQ_INT(a->ffn_dim, b->ffn_dim);
    ASSERT_EQ_INT(a->vocab_size, b->vocab_size);
    ASSERT_EQ_INT(a->rope_mode, b->rope_mode);
    ASSERT_NEAR(a->rope_theta, b->rope_theta, 0);
    ASSERT_NEAR(a->norm_eps, b->norm_eps, 0);
    ASSERT_EQ_INT(a->qkv_bias, 0);
    ASSERT_EQ_INT(b->qkv_bias, 0);
    ASSERT_EQ_INT(a->tied_output, 0); /* output.weight stored explicitly in the GGUF */
    ASSERT_EQ_INT(b->tied_output, 1); /* shared classifier in the checkpoint */
    ASSERT(l->output == l->tok_embd);

    same_tensor(g->tok_embd, l->tok_embd);
    same_tensor(g->out_norm, l->out_norm);
    same_tensor(g->output, l->output);
    for (int i = 0; i < a->n_layers; i++) {
        const struct core_layer *x = &g->layers[i], *y = &l->layers[i];
        same_tensor(x->attn_norm, y->attn_norm);
        same_tensor(x->wq, y->wq);
        same_tensor(x->wk, y->wk);
        same_tensor(x->wv, y->wv);
        same_tensor(x->wo, y->wo);
        same_tensor(x->ffn_norm, y->ffn_norm);
        same_tensor(x->w_gate, y->w_gate);
        same_tensor(x->w_up, y->w_up);
        same_tensor(x->w_down, y->w_down);
    }
    /* every GGUF tensor has its twin by name (output.weight is the tied embedding) */
    int matched = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const struct core_tensor *t = &g->tensors[i];
        const struct core_tensor *u = core_model_tensor(l, t->name);
        if (!u && strcmp(t->name, "output.weight") == 0)
            u = l->output;
        same_tensor(t, u);
        matched++;
    }
    ASSERT_EQ_INT(matched, 48);
    ASSERT_EQ_U64(core_model_params(g), core_model_params(l) + 512 * 64);
    core_model_free(g);
    core_model_free(l);
}

TEST(llama2c_tokenizer_matches_gguf_vocab)
{
    struct bz_err e = {0};
    struct core_model *l;
    struct core_gguf *g;
    ASSERT_OK(core_model_open(&l, test_data("models/llama2c/stories260K.bin"), &e), &e);
    ASSERT_OK(core_gguf_open(&g, test_data("models/stories260K.gguf"), &e), &e);
    ASSERT(l->gguf != NULL);
    const struct core_gguf_str *ta, *tb;
    uint64_t na, nb;
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &ta, &na, &e), &e);
    ASSERT_OK(core_gguf_get_arr_str(l->gguf, "tokenizer.ggml.tokens", &tb, &nb, &e), &e);
    ASSERT_EQ_INT(na, nb);
    for (uint64_t i = 0; i < na; i++)
        if (ta[i].n != tb[i].n || memcmp(ta[i].p, tb[i].p, ta[i].n) != 0)
            test__fail(__FILE__, __LINE__, "token %llu: '%.*s' != '%.*s'",
                       (unsigned long long)i, (int)ta[i].n, ta[i].p, (int)tb[i].n, tb[i].p);
    float *sa, *sb;
    int32_t *ya, *yb;
    ASSERT_OK(core_gguf_get_arr_f32(g, "tokenizer.ggml.scores", &sa, &na, &e), &e);
    ASSERT_OK(core_gguf_get_arr_f32(l->gguf, "tokenizer.ggml.scores", &sb, &nb, &e), &e);
    ASSERT_EQ_INT(na, nb);
    for (uint64_t i = 0; i < na; i++)
        ASSERT_NEAR(sa[i], sb[i], 0);
    ASSERT_OK(core_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", &ya, &na, &e), &e);
    ASSERT_OK(core_gguf_get_arr_i32(l->gguf, "tokenizer.ggml.token_type", &yb, &nb, &e), &e);
    for (uint64_t i = 0; i < na; i++)
        ASSERT_EQ_INT(ya[i], yb[i]);
    uint32_t v;
    ASSERT_OK(core_gguf_get_u32(l->gguf, "tokenizer.ggml.bos_token_id", &v, &e), &e);
    ASSERT_EQ_INT(v, 1);
    ASSERT_OK(core_gguf_get_u32(l->gguf, "tokenizer.ggml.eos_token_id", &v, &e), &e);
    ASSERT_EQ_INT(v, 2);
    free(sa);
    free(sb);
    free(ya);
    free(yb);
    core_gguf_close(g);
    core_model_free(l);
}

static const char *write_ckpt(const char *name, const int32_t h[7], size_t nfloats)
{
    size_t n = 28 + nfloats * 4;
    char *buf = calloc(1, n);
    memcpy(buf, h, 28);
    const char *p = test_write(name, buf, n);
    free(buf);
    return p;
}

TEST(llama2c_refuses_bad_headers)
{
    struct bz_err e = {0};
    struct core_model *m;
    /* dim 8, ffn 16, 1 layer, 2 heads, 1 kv head, vocab 4 (shared), seq 2 */
    int32_t h[7] = {8, 16, 1, 2, 1, 4, 2};
    size_t n = 4 * 8 + 8 + 64 + 2 * 8 * 4 + 64 + 8 + 3 * 16 * 8 + 8 + 2 * 4;
    setenv("BEZOAR_TOKENIZER", "/nonexistent/tokenizer.bin", 1);
    ASSERT_EQ_INT(core_model_open(&m, write_ckpt("short.bin", h, n - 1), &e), BZ_EFORMAT);
    ASSERT(strstr(e.msg, "does not match its header") != NULL);
    bz_err_clear(&e);
    unsetenv("BEZOAR_TOKENIZER");
    ASSERT_OK(core_model_open(&m, write_ckpt("ok.bin", h, n), &e), &e);
    ASSERT_EQ_INT(m->cfg.tied_output, 1);
    ASSERT_EQ_INT(m->cfg.n_kv_heads, 1);
    core_model_free(m);
    h[3] = 3; /* 8 % 3 != 0 */
    ASSERT_EQ_INT(core_model_open(&m, write_ckpt("bad.bin", h, n), &e), BZ_EFORMAT);
    bz_err_clear(&e);
    int32_t v1[7] = {0x616b3432, 1, 0, 0, 0, 0, 0};
    ASSERT_EQ_INT(core_model_open(&m, write_ckpt("v1.bin", v1, 4), &e), BZ_EUNSUPPORTED);
    bz_err_clear(&e);
    ASSERT_EQ_INT(core_model_open(&m, test_write("tiny.bin", "abc", 3), &e), BZ_EFORMAT);
}

TEST(llama2c_separate_classifier)
{
    struct bz_err e = {0};
    struct core_model *m;
    int32_t h[7] = {8, 16, 1, 2, 1, -4, 2}; /* negative vocab: own classifier */
    size_t n = 4 * 8 + 8 + 64 + 2 * 8 * 4 + 64 + 8 + 3 * 16 * 8 + 8 + 2 * 4 + 4 * 8;
    size_t bytes = 28 + n * 4;
    char *buf = calloc(1, bytes);
    memcpy(buf, h, 28);
    float last = 7.5f;
    memcpy(buf + bytes - 4, &last, 4);
    const char *p = test_write("sep.bin", buf, bytes);
    free(buf);
    ASSERT_OK(core_model_open(&m, p, &e), &e);
    ASSERT_EQ_INT(m->cfg.tied_output, 0);
    ASSERT(m->output != m->tok_embd);
    ASSERT_EQ_INT(m->cfg.vocab_size, 4);
    ASSERT_NEAR(((const float *)m->output->data)[31], 7.5, 0);
    ASSERT(m->gguf != NULL);
    ASSERT(core_gguf_find(m->gguf, "tokenizer.ggml.tokens") == NULL); /* no tokenizer beside */
    core_model_free(m);
}
