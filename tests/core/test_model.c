/* test_model.c: core_model_open over the three sources: a Hugging Face directory
 * written here in HF layout from stories260K (Q/K permutation undone on load),
 * Qwen2 biases, refusals by architecture, and GGUF export round trips. */
#include <string.h>

#include "core/gguf.h"
#include "core/model.h"
#include "core/quant.h"
#include "core/safetensors.h"
#include "core/tokenizer.h"
#include "tests/test.h"

static void same_data(const struct core_tensor *a, const struct core_tensor *b)
{
    ASSERT(a && b);
    ASSERT_EQ_INT(a->type, b->type);
    for (int d = 0; d < 4; d++)
        ASSERT_EQ_INT(a->ne[d], b->ne[d]);
    ASSERT_EQ_INT(a->nbytes, b->nbytes);
    if (memcmp(a->data, b->data, a->nbytes) != 0)
        test__fail(__FILE__, __LINE__, "tensor %s differs from %s", a->name, b->name);
}

/* GGUF name -> HF name, the reverse of core/hf.c's table, written out by hand. */
static int hf_name(const char *g, char *out, size_t n)
{
    int l, pos = 0;
    if (strcmp(g, "token_embd.weight") == 0)
        return snprintf(out, n, "model.embed_tokens.weight"), 1;
    if (strcmp(g, "output_norm.weight") == 0)
        return snprintf(out, n, "model.norm.weight"), 1;
    if (strcmp(g, "output.weight") == 0)
        return snprintf(out, n, "lm_head.weight"), 1;
    if (sscanf(g, "blk.%d.%n", &l, &pos) != 1 || !pos)
        return 0;
    const char *r = g + pos;
    static const char *const map[][2] = {
        {"attn_norm.weight", "input_layernorm.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},
        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"ffn_down.weight", "mlp.down_proj.weight"},
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(map); i++)
        if (strcmp(r, map[i][0]) == 0)
            return snprintf(out, n, "model.layers.%d.%s", l, map[i][1]), 1;
    return 0;
}

/* HF keeps each head's rotary pairs split in halves: HF row h*HS + j*HS/2 + i holds
 * GGUF row h*HS + 2*i + j. */
static float *to_hf_rows(const float *g, int64_t rows, int64_t cols, int heads)
{
    float *h = malloc((size_t)(rows * cols) * sizeof *h);
    int64_t hs = rows / heads;
    for (int64_t hd = 0; hd < heads; hd++)
        for (int64_t i = 0; i < hs / 2; i++)
            for (int j = 0; j < 2; j++)
                memcpy(h + (hd * hs + j * (hs / 2) + i) * cols, g + (hd * hs + 2 * i + j) * cols,
                       (size_t)cols * sizeof *h);
    return h;
}

/* Write m as an HF directory in HF layout, split over two shards with an index. */
static void write_hf_dir(const struct core_model *m, const char *dir, const char *model_type,
                         int permute)
{
    struct bz_err e = {0};
    ASSERT_OK(bz_mkdir_p(dir, &e), &e);
    const struct core_model_config *c = &m->cfg;
    char *cfg = bz_asprintf(
        "{\"architectures\":[\"X\"],\"model_type\":\"%s\",\"hidden_size\":%d,"
        "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"num_key_value_heads\":%d,"
        "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d,"
        "\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,\"rope_scaling\":null,"
        "\"tie_word_embeddings\":%s,\"torch_dtype\":\"float32\"}",
        model_type, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->ffn_dim, c->vocab_size,
        c->ctx_len, core_model_tensor(m, "output.weight") ? "false" : "true");
    char *p = bz_path_join(dir, "config.json");
    ASSERT_OK(bz_write_atomic(p, cfg, strlen(cfg), &e), &e);
    free(p);
    free(cfg);
    const char *tc = "{\"chat_template\":\"{% for m in messages %}<|im_start|>{% endfor %}\"}";
    p = bz_path_join(dir, "tokenizer_config.json");
    ASSERT_OK(bz_write_atomic(p, tc, strlen(tc), &e), &e);
    free(p);
    struct core_safetensors_writer *w[2] = {core_safetensors_writer_new(),
                                            core_safetensors_writer_new()};
    struct bz_buf idx;
    bz_buf_init(&idx);
    bz_buf_puts(&idx, "{\"metadata\":{},\"weight_map\":{");
    float **owned = calloc((size_t)m->n_tensors, sizeof *owned);
    for (int i = 0; i < m->n_tensors; i++) {
        const struct core_tensor *t = &m->tensors[i];
        char name[128];
        ASSERT(hf_name(t->name, name, sizeof name));
        const void *data = t->data;
        int heads = strstr(t->name, "attn_q.") ? c->n_heads
                    : strstr(t->name, "attn_k.") ? c->n_kv_heads : 0;
        if (permute && heads) {
            int64_t rows = t->n_dims == 2 ? t->ne[1] : t->ne[0];
            int64_t cols = t->n_dims == 2 ? t->ne[0] : 1;
            owned[i] = to_hf_rows(t->data, rows, cols, heads);
            data = owned[i];
        }
        int64_t shape[2] = {t->n_dims == 2 ? t->ne[1] : t->ne[0], t->ne[0]};
        int shard = i < m->n_tensors / 2 ? 0 : 1;
        ASSERT_OK(core_safetensors_writer_add(w[shard], name, CORE_ST_F32, t->n_dims, shape,
                                              data, &e), &e);
        bz_buf_printf(&idx, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"", i ? "," : "",
                      name, shard + 1);
    }
    bz_buf_puts(&idx, "}}");
    for (int s = 0; s < 2; s++) {
        char nm[64];
        snprintf(nm, sizeof nm, "model-0000%d-of-00002.safetensors", s + 1);
        p = bz_path_join(dir, nm);
        ASSERT_OK(core_safetensors_writer_write(w[s], p, &e), &e);
        free(p);
        core_safetensors_writer_free(w[s]);
    }
    p = bz_path_join(dir, "model.safetensors.index.json");
    ASSERT_OK(bz_write_atomic(p, idx.p, idx.len, &e), &e);
    free(p);
    bz_buf_cleanup(&idx);
    for (int i = 0; i < m->n_tensors; i++)
        free(owned[i]);
    free(owned);
}

TEST(model_hf_dir_unpermutes_to_gguf_layout)
{
    struct bz_err e = {0};
    struct core_model *g, *h;
    ASSERT_OK(core_model_open(&g, test_data("models/stories260K.gguf"), &e), &e);
    const char *dir = test_tmp("hf");
    write_hf_dir(g, dir, "llama", 1);
    ASSERT_OK(core_model_open(&h, dir, &e), &e);
    ASSERT_EQ_STR(h->format, "hf");
    ASSERT_EQ_INT(h->cfg.arch, CORE_ARCH_LLAMA);
    ASSERT_EQ_INT(h->cfg.rope_mode, CORE_ROPE_NORM);
    ASSERT_EQ_INT(h->cfg.n_kv_heads, 4);
    ASSERT_EQ_INT(h->cfg.head_dim, 8);
    ASSERT_EQ_INT(h->cfg.tied_output, 0);
    ASSERT_EQ_INT(h->n_tensors, g->n_tensors);
    ASSERT(h->chat_template && strstr(h->chat_template, "<|im_start|>"));
    for (int i = 0; i < g->n_tensors; i++)
        same_data(&g->tensors[i], core_model_tensor(h, g->tensors[i].name));
    /* the permutation really moved rows: the HF file differs from GGUF order */
    struct core_safetensors *st;
    char *p = bz_path_join(dir, "model-00001-of-00002.safetensors");
    ASSERT_OK(core_safetensors_open(&st, p, &e), &e);
    free(p);
    const struct core_safetensors_tensor *q;
    q = core_safetensors_find(st, "model.layers.0.self_attn.q_proj.weight");
    ASSERT(q != NULL);
    ASSERT(memcmp(q->data, g->layers[0].wq->data, q->nbytes) != 0);
    core_safetensors_close(st);
    core_model_free(h);
    core_model_free(g);
}

/* A tiny random Qwen2 in memory: C 16, 2 layers, 4 heads, 2 kv heads, FF 24, vocab V,
 * q/k/v biases, tied output. ts needs 26 entries; returns the data slab (free it). */
static float *tiny_qwen2(struct core_model *m, struct core_tensor *ts, int V)
{
    memset(m, 0, sizeof *m);
    m->cfg = (struct core_model_config){.arch = CORE_ARCH_QWEN2, .dim = 16, .n_layers = 2,
                                        .n_heads = 4, .n_kv_heads = 2, .head_dim = 4,
                                        .ffn_dim = 24, .vocab_size = V, .ctx_len = 64};
    size_t total = (size_t)V * 16 + 100000;
    float *slab = malloc(total * sizeof *slab);
    for (size_t i = 0; i < total; i++)
        slab[i] = (float)((i * 7919) % 1000) / 100.0f;
    float *next = slab;
    int n = 0;
#define T(nm, a, b)                                                              \
    do {                                                                         \
        struct core_tensor *t = &ts[n++];                                        \
        memset(t, 0, sizeof *t);                                                 \
        snprintf(t->name, sizeof t->name, "%s", nm);                             \
        t->type = CORE_TYPE_F32;                                                 \
        t->n_dims = (b) ? 2 : 1;                                                 \
        t->ne[0] = a;                                                            \
        t->ne[1] = (b) ? (b) : 1;                                                \
        t->ne[2] = t->ne[3] = 1;                                                 \
        t->data = next;                                                          \
        t->nbytes = (size_t)(a) * ((b) ? (b) : 1) * 4;                           \
        next += (a) * ((b) ? (b) : 1);                                           \
    } while (0)
    T("token_embd.weight", 16, V);
    T("output_norm.weight", 16, 0);
    for (int l = 0; l < 2; l++) {
        char nm[64];
        static const char *const names[] = {"attn_norm.weight", "attn_q.weight",
                                            "attn_k.weight", "attn_v.weight",
                                            "attn_output.weight", "attn_q.bias", "attn_k.bias",
                                            "attn_v.bias", "ffn_norm.weight",
                                            "ffn_gate.weight", "ffn_up.weight",
                                            "ffn_down.weight"};
        static const int shp[][2] = {{16, 0}, {16, 16}, {16, 8}, {16, 8}, {16, 16}, {16, 0},
                                     {8, 0}, {8, 0}, {16, 0}, {16, 24}, {16, 24}, {24, 16}};
        for (int k = 0; k < 12; k++) {
            snprintf(nm, sizeof nm, "blk.%d.%s", l, names[k]);
            T(nm, shp[k][0], shp[k][1]);
        }
    }
#undef T
    m->tensors = ts;
    m->n_tensors = n;
    return slab;
}

TEST(model_qwen2_dir_keeps_order_and_biases)
{
    struct bz_err e = {0};
    struct core_model m;
    struct core_tensor ts[26];
    float *slab = tiny_qwen2(&m, ts, 32);
    const char *dir = test_tmp("qwen");
    write_hf_dir(&m, dir, "qwen2", 0);
    struct core_model *h;
    ASSERT_OK(core_model_open(&h, dir, &e), &e);
    ASSERT_EQ_INT(h->cfg.arch, CORE_ARCH_QWEN2);
    ASSERT_EQ_INT(h->cfg.rope_mode, CORE_ROPE_NEOX);
    ASSERT_EQ_INT(h->cfg.qkv_bias, 1);
    ASSERT_EQ_INT(h->cfg.tied_output, 1); /* no lm_head */
    ASSERT(h->output == h->tok_embd);
    for (int i = 0; i < m.n_tensors; i++)
        same_data(&ts[i], core_model_tensor(h, ts[i].name));
    ASSERT(h->layers[1].bk != NULL && h->layers[1].bk->ne[0] == 8);
    core_model_free(h);
    /* without lm_head, config.json must say the embedding is tied */
    char *p = bz_path_join(dir, "config.json");
    char *cfg;
    ASSERT_OK(bz_read_file(p, &cfg, NULL, &e), &e);
    char *t = strstr(cfg, "\"tie_word_embeddings\":true");
    ASSERT(t != NULL);
    memcpy(t + 22, "0   ", 4); /* "tie_word_embeddings":0    */
    ASSERT_OK(bz_write_atomic(p, cfg, strlen(cfg), &e), &e);
    free(cfg);
    free(p);
    ASSERT_EQ_INT(core_model_open(&h, dir, &e), BZ_EFORMAT);
    ASSERT(strstr(e.msg, "no lm_head.weight") != NULL);
    free(slab);
}

/* An HF directory whose tokenizer.json is GPT-2's (rebuilt from the GGUF vocab)
 * converts to a GGUF that carries the same vocabulary: tokens, merges, pre, and the
 * same token ids for a text. */
TEST(model_hf_tokenizer_reaches_gguf)
{
    struct bz_err e = {0};
    struct core_gguf *ref;
    ASSERT_OK(core_gguf_open(&ref, test_data("vocab/ggml-vocab-gpt-2.gguf"), &e), &e);
    const struct core_gguf_str *toks, *merges;
    uint64_t nt, nm;
    ASSERT_OK(core_gguf_get_arr_str(ref, "tokenizer.ggml.tokens", &toks, &nt, &e), &e);
    ASSERT_OK(core_gguf_get_arr_str(ref, "tokenizer.ggml.merges", &merges, &nm, &e), &e);
    struct bz_buf j;
    bz_buf_init(&j);
    bz_buf_puts(&j, "{\"added_tokens\":[{\"id\":50256,\"content\":\"<|endoftext|>\","
                    "\"special\":true}],\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                    "\"add_prefix_space\":false,\"use_regex\":true},\"model\":{\"type\":"
                    "\"BPE\",\"vocab\":{");
    for (uint64_t i = 0; i < nt; i++) {
        if (i == 50256)
            continue;
        if (i)
            bz_buf_putc(&j, ',');
        bz_buf_json_str(&j, toks[i].p, toks[i].n);
        bz_buf_printf(&j, ":%llu", (unsigned long long)i);
    }
    bz_buf_puts(&j, "},\"merges\":[");
    for (uint64_t i = 0; i < nm; i++) {
        if (i)
            bz_buf_putc(&j, ',');
        bz_buf_json_str(&j, merges[i].p, merges[i].n);
    }
    bz_buf_puts(&j, "]}}");
    struct core_model m;
    struct core_tensor ts[26];
    float *slab = tiny_qwen2(&m, ts, (int)nt);
    const char *dir = test_tmp("gpt2dir");
    write_hf_dir(&m, dir, "qwen2", 0); /* also writes a ChatML tokenizer_config.json */
    char *p = bz_path_join(dir, "tokenizer.json");
    ASSERT_OK(bz_write_atomic(p, j.p, j.len, &e), &e);
    free(p);
    bz_buf_cleanup(&j);
    struct core_model *h;
    ASSERT_OK(core_model_open(&h, dir, &e), &e);
    ASSERT(h->gguf && core_gguf_find(h->gguf, "tokenizer.ggml.tokens"));
    const char *out = test_tmp("gpt2.gguf");
    ASSERT_OK(core_model_save_gguf(h, out, CORE_TYPE_F16, NULL, &e), &e);
    struct core_gguf *g;
    ASSERT_OK(core_gguf_open(&g, out, &e), &e);
    const struct core_gguf_str *t2, *m2;
    uint64_t nt2, nm2;
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &t2, &nt2, &e), &e);
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.merges", &m2, &nm2, &e), &e);
    ASSERT_EQ_INT(nt2, nt);
    ASSERT_EQ_INT(nm2, nm);
    for (uint64_t i = 0; i < nt; i++)
        ASSERT(t2[i].n == toks[i].n && memcmp(t2[i].p, toks[i].p, toks[i].n) == 0);
    for (uint64_t i = 0; i < nm; i++)
        ASSERT(m2[i].n == merges[i].n && memcmp(m2[i].p, merges[i].p, merges[i].n) == 0);
    struct core_gguf_str s;
    ASSERT_OK(core_gguf_get_str(g, "tokenizer.ggml.pre", &s, &e), &e);
    ASSERT(s.n == 5 && memcmp(s.p, "gpt-2", 5) == 0);
    ASSERT_OK(core_gguf_get_str(g, "tokenizer.chat_template", &s, &e), &e);
    ASSERT(s.n > 0 && memmem(s.p, s.n, "<|im_start|>", 12) != NULL);
    /* same ids from the original vocab and the converted one */
    struct core_vocab *va, *vb;
    ASSERT_OK(core_vocab_from_gguf(&va, ref, &e), &e);
    ASSERT_OK(core_vocab_from_gguf(&vb, g, &e), &e);
    const char *text = "Hello world! \xe6\x97\xa5\xe6\x9c\xac 123 don't  stop<|endoftext|>";
    struct core_ids a, b;
    core_ids_init(&a);
    core_ids_init(&b);
    ASSERT_OK(core_tokenizer_encode(va, text, strlen(text), CORE_TOK_SPECIAL, &a, &e), &e);
    ASSERT_OK(core_tokenizer_encode(vb, text, strlen(text), CORE_TOK_SPECIAL, &b, &e), &e);
    ASSERT_EQ_INT(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        ASSERT_EQ_INT(a.p[i], b.p[i]);
    ASSERT_EQ_INT(a.p[a.n - 1], 50256);
    core_ids_cleanup(&a);
    core_ids_cleanup(&b);
    core_vocab_free(va);
    core_vocab_free(vb);
    core_gguf_close(g);
    core_model_free(h);
    core_gguf_close(ref);
    free(slab);
}

TEST(model_refuses_unknown_architectures)
{
    struct bz_err e = {0};
    struct core_model *m;
    const char *dir = test_tmp("mistral");
    ASSERT_OK(bz_mkdir_p(dir, &e), &e);
    char *p = bz_path_join(dir, "config.json");
    const char *cfg = "{\"model_type\":\"gpt_neox\",\"hidden_size\":8}";
    ASSERT_OK(bz_write_atomic(p, cfg, strlen(cfg), &e), &e);
    free(p);
    ASSERT_EQ_INT(core_model_open(&m, dir, &e), BZ_EUNSUPPORTED);
    ASSERT(strstr(e.msg, "'gpt_neox'") != NULL);
    bz_err_clear(&e);
    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.architecture", "gpt2");
    ASSERT_OK(core_gguf_writer_write(w, test_tmp("gpt2.gguf"), &e), &e);
    core_gguf_writer_free(w);
    ASSERT_EQ_INT(core_model_open(&m, test_tmp("gpt2.gguf"), &e), BZ_EUNSUPPORTED);
    ASSERT(strstr(e.msg, "architecture 'gpt2' is not supported") != NULL);
    bz_err_clear(&e);
    ASSERT_EQ_INT(core_model_open(&m, test_tmp("nothing"), &e), BZ_ENOENT);
}

TEST(model_save_gguf_round_trips)
{
    struct bz_err e = {0};
    struct core_model *g, *l, *c1, *c2;
    ASSERT_OK(core_model_open(&g, test_data("models/stories260K.gguf"), &e), &e);
    ASSERT_OK(core_model_open(&l, test_data("models/llama2c/stories260K.bin"), &e), &e);
    /* llama2.c -> GGUF: same tensors as the published GGUF, same vocab */
    ASSERT_OK(core_model_save_gguf(l, test_tmp("l.gguf"), CORE_TYPE_F32, NULL, &e), &e);
    ASSERT_OK(core_model_open(&c1, test_tmp("l.gguf"), &e), &e);
    ASSERT_EQ_INT(c1->cfg.tied_output, 1);
    for (int i = 0; i < g->n_tensors; i++) {
        const struct core_tensor *t = core_model_tensor(c1, g->tensors[i].name);
        same_data(&g->tensors[i], t ? t : c1->output);
    }
    const struct core_gguf_str *ta, *tb;
    uint64_t na, nb;
    ASSERT_OK(core_gguf_get_arr_str(g->gguf, "tokenizer.ggml.tokens", &ta, &na, &e), &e);
    ASSERT_OK(core_gguf_get_arr_str(c1->gguf, "tokenizer.ggml.tokens", &tb, &nb, &e), &e);
    ASSERT_EQ_INT(na, nb);
    for (uint64_t i = 0; i < na; i++)
        ASSERT(ta[i].n == tb[i].n && memcmp(ta[i].p, tb[i].p, ta[i].n) == 0);
    struct core_gguf_str s;
    ASSERT_OK(core_gguf_get_str(c1->gguf, "tokenizer.ggml.model", &s, &e), &e);
    ASSERT(s.n == 5 && memcmp(s.p, "llama", 5) == 0);
    /* GGUF -> GGUF q8_0: 2-D tensors quantized, 1-D kept F32, ffn_down (rows of 172)
     * falls back to F16 and is reported */
    struct bz_buf rep;
    bz_buf_init(&rep);
    ASSERT_OK(core_model_save_gguf(g, test_tmp("q.gguf"), CORE_TYPE_Q8_0, &rep, &e), &e);
    ASSERT(rep.p && strstr(rep.p, "blk.0.ffn_down.weight") != NULL);
    ASSERT_OK(core_model_open(&c2, test_tmp("q.gguf"), &e), &e);
    ASSERT_EQ_INT(c2->layers[0].wq->type, CORE_TYPE_Q8_0);
    ASSERT_EQ_INT(c2->layers[0].attn_norm->type, CORE_TYPE_F32);
    ASSERT_EQ_INT(c2->layers[0].w_down->type, CORE_TYPE_F16);
    ASSERT_EQ_INT(c2->cfg.ctx_len, g->cfg.ctx_len);
    ASSERT_NEAR(c2->cfg.norm_eps, g->cfg.norm_eps, 0);
    uint32_t ft;
    ASSERT_OK(core_gguf_get_u32(c2->gguf, "general.file_type", &ft, &e), &e);
    ASSERT_EQ_INT(ft, 7);
    for (int i = 0; i < g->n_tensors; i++) {
        const struct core_tensor *a = &g->tensors[i];
        const struct core_tensor *b = core_model_tensor(c2, a->name);
        ASSERT(b != NULL);
        int64_t n = core_tensor_nelems(a);
        float *y = malloc((size_t)n * sizeof *y);
        ASSERT_OK(core_dequant_row(b->type, b->data, y, n), NULL);
        const float *x = a->data;
        float amax = 0;
        for (int64_t k = 0; k < n; k++)
            amax = fmaxf(amax, fabsf(x[k]));
        for (int64_t k = 0; k < n; k++)
            if (fabsf(y[k] - x[k]) > amax / 127 * 0.6f + 1e-7f)
                test__fail(__FILE__, __LINE__, "%s[%lld]: %g vs %g", a->name, (long long)k,
                           y[k], x[k]);
        free(y);
    }
    bz_buf_cleanup(&rep);
    core_model_free(c1);
    core_model_free(c2);
    core_model_free(l);
    core_model_free(g);
}

/* Hostile hyper-parameters in an otherwise valid GGUF are refused before any
 * allocation they would size. */
TEST(model_refuses_hostile_hparams)
{
    struct {
        const char *key;
        uint32_t v;
        const char *want;
    } cases[] = {
        {"llama.block_count", 4000000000u, "too large"},
        {"llama.block_count", 100000, "layers"},
        {"llama.attention.head_count", 0, "heads"},
        {"llama.attention.head_count_kv", 3, "not a multiple"},
        {"llama.embedding_length", 65, "tensor 'token_embd.weight' has shape"},
        {"llama.rope.dimension_count", 4, "partial RoPE"},
    };
    for (size_t k = 0; k < BZ_ARRAY_SIZE(cases); k++) {
        struct core_gguf_writer *w = core_gguf_writer_new();
        core_gguf_writer_set_str(w, "general.architecture", "llama");
        const char *keys[] = {"llama.block_count", "llama.attention.head_count",
                              "llama.attention.head_count_kv", "llama.embedding_length",
                              "llama.rope.dimension_count"};
        uint32_t vals[] = {1, 8, 4, 64, 8};
        for (size_t i = 0; i < BZ_ARRAY_SIZE(keys); i++)
            core_gguf_writer_set_u32(w, keys[i],
                                     strcmp(keys[i], cases[k].key) == 0 ? cases[k].v : vals[i]);
        core_gguf_writer_set_u32(w, "llama.feed_forward_length", 172);
        core_gguf_writer_set_u32(w, "llama.context_length", 64);
        core_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
        static float emb[64 * 8];
        int64_t ne[2] = {64, 8};
        struct bz_err e = {0};
        ASSERT_OK(core_gguf_writer_add_tensor(w, "token_embd.weight", CORE_TYPE_F32, 2, ne, emb,
                                              &e), &e);
        ASSERT_OK(core_gguf_writer_write(w, test_tmp("h.gguf"), &e), &e);
        core_gguf_writer_free(w);
        struct core_model *m = NULL;
        int rc = core_model_open(&m, test_tmp("h.gguf"), &e);
        ASSERT(rc != 0 && m == NULL);
        if (!strstr(e.msg, cases[k].want))
            test__fail(__FILE__, __LINE__, "%s = %u: message '%s' lacks '%s'", cases[k].key,
                       cases[k].v, e.msg, cases[k].want);
    }
}
