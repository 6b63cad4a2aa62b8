/* test_generate.c: the generation loop on a "Markov chain" model (zero layers' weights,
 * one-hot embeddings, an output matrix that makes token i predict next[i]) with a small
 * SentencePiece vocab holding a character split over byte tokens: stops (length, EOS,
 * stop strings, context, cancel, callback), whole-character streaming, held-back text;
 * and stories260K's "Once upon a time" continuation against llama2.c. */
#include "core/generate.h"
#include "tests/test.h"

#include <stdlib.h>

enum { MV = 11, MC = 32 };

struct chain {
    struct core_model m;
    struct core_tensor t[16];
    struct core_layer layer;
    float data[16][MC * MC];
    struct core_vocab *v;
};

static struct core_tensor *ct(struct chain *c, int i, int64_t ne0, int64_t ne1)
{
    struct core_tensor *t = &c->t[i];
    snprintf(t->name, sizeof t->name, "t%d", i);
    t->type = CORE_TYPE_F32;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->data = c->data[i];
    t->nbytes = (size_t)(ne0 * ne1) * 4;
    return t;
}

/* tokens: 0 <unk>, 1 <s>, 2 </s>, 3 ▁Hello, 4 ▁wor, 5 ld, 6 <0xE4>, 7 <0xBD>, 8 <0xA0>,
 * 9 !, 10 <0xE5>. next[] gives the greedy successor of each token. */
static struct chain *chain_new(const int *next)
{
    struct chain *c = calloc(1, sizeof *c);
    c->m.cfg = (struct core_model_config){
        .dim = MC, .n_layers = 1, .n_heads = 1, .n_kv_heads = 1, .head_dim = MC,
        .ffn_dim = MC, .vocab_size = MV, .ctx_len = 64, .rope_theta = 10000, .rope_scale = 1,
        .norm_eps = 1e-6f};
    c->m.tok_embd = ct(c, 0, MC, MV);
    for (int i = 0; i < MV; i++)
        c->data[0][i * MC + i] = 1;
    c->m.output = ct(c, 1, MC, MV);
    for (int i = 0; i < MV; i++)
        c->data[1][next[i] * MC + i] = 10;
    c->m.out_norm = ct(c, 2, MC, 1);
    c->layer.attn_norm = ct(c, 3, MC, 1);
    c->layer.ffn_norm = ct(c, 4, MC, 1);
    for (int i = 0; i < MC; i++)
        c->data[2][i] = c->data[3][i] = c->data[4][i] = 1;
    c->layer.wq = ct(c, 5, MC, MC);
    c->layer.wk = ct(c, 6, MC, MC);
    c->layer.wv = ct(c, 7, MC, MC);
    c->layer.wo = ct(c, 8, MC, MC);
    c->layer.w_gate = ct(c, 9, MC, MC);
    c->layer.w_up = ct(c, 10, MC, MC);
    c->layer.w_down = ct(c, 11, MC, MC);
    c->m.layers = &c->layer;
    c->m.tensors = c->t;
    c->m.n_tensors = 12;

    struct core_vocab *v = core_vocab_new(CORE_VOCAB_SPM);
    const char *text[MV] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81Hello", "\xe2\x96\x81wor",
                            "ld", "<0xE4>", "<0xBD>", "<0xA0>", "!", "<0xE5>"};
    const int type[MV] = {CORE_TOKEN_UNKNOWN, CORE_TOKEN_CONTROL, CORE_TOKEN_CONTROL,
                          CORE_TOKEN_NORMAL, CORE_TOKEN_NORMAL, CORE_TOKEN_NORMAL, CORE_TOKEN_BYTE,
                          CORE_TOKEN_BYTE, CORE_TOKEN_BYTE, CORE_TOKEN_NORMAL, CORE_TOKEN_BYTE};
    for (int i = 0; i < MV; i++)
        core_vocab_add(v, text[i], strlen(text[i]), 0, type[i]);
    v->unk = 0;
    v->bos = 1;
    v->eos = 2;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_finish(v, &err), &err);
    c->v = v;
    return c;
}

static void chain_free(struct chain *c)
{
    core_vocab_free(c->v);
    free(c);
}

/* the chain BOS -> Hello -> wor -> ld -> E4 BD A0 (你) -> ! -> EOS */
static const int next_main[MV] = {0, 3, 3, 4, 5, 6, 7, 8, 9, 2, 2};

struct rec {
    char chunks[16][32];
    int ids[16];
    int n, stop_after;
};

static int rec_cb(void *ctx, int32_t id, const char *text, size_t n)
{
    struct rec *r = ctx;
    ASSERT(bz_utf8_check(text, n) == n); /* only whole characters */
    ASSERT(n < 32 && r->n < 16);
    memcpy(r->chunks[r->n], text, n);
    r->chunks[r->n][n] = 0;
    r->ids[r->n++] = id;
    return r->stop_after && r->n >= r->stop_after;
}

static void gen(struct chain *c, int n_ctx, const struct core_generate_opts *o, struct rec *r,
                struct core_generate_result *res)
{
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &c->m, NULL, n_ctx, &err), &err);
    int32_t bos = 1;
    core_generate_result_init(res);
    ASSERT_OK(core_generate_run(f, c->v, &bos, 1, o, rec_cb, r, res, &err), &err);
    /* the cache holds the prompt and every token but one that ended the run unfed */
    int unfed = res->tokens.n > 0 && (res->stop == CORE_GENERATE_CONTEXT ||
                                      res->stop == CORE_GENERATE_STOP_STRING ||
                                      res->stop == CORE_GENERATE_CALLBACK);
    ASSERT_EQ_INT(core_forward_pos(f), 1 + (int)res->tokens.n - unfed);
    core_forward_free(f);
}

TEST(generate_streams_whole_characters_until_eos)
{
    struct chain *c = chain_new(next_main);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    struct rec r = {0};
    struct core_generate_result res;
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_EOS);
    ASSERT_EQ_INT(res.tokens.n, 7);
    ASSERT_EQ_STR(res.text.p, " Hello world\xe4\xbd\xa0!");
    ASSERT_EQ_INT(r.n, 7);
    ASSERT_EQ_STR(r.chunks[3], ""); /* E4: half a character, held */
    ASSERT_EQ_STR(r.chunks[4], "");
    ASSERT_EQ_STR(r.chunks[5], "\xe4\xbd\xa0");
    ASSERT_EQ_INT(r.ids[5], 8);
    ASSERT_EQ_STR(core_generate_stop_name(res.stop), "eos");
    core_generate_result_cleanup(&res);
    chain_free(c);
}

TEST(generate_stop_strings_never_shown)
{
    struct chain *c = chain_new(next_main);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    const char *stops[] = {"xyz", "d\xe4\xbd\xa0"};
    o.stop = stops;
    o.n_stop = 2;
    struct rec r = {0};
    struct core_generate_result res;
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_STOP_STRING);
    ASSERT_EQ_STR(res.text.p, " Hello worl");
    ASSERT_EQ_STR(r.chunks[2], "l"); /* "ld" arrived; "d" held as a possible stop */
    core_generate_result_cleanup(&res);
    /* a stop string that starts but never completes: the held text comes out */
    const char *stops2[] = {"ld?"};
    o.stop = stops2;
    o.n_stop = 1;
    memset(&r, 0, sizeof r);
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_EOS);
    ASSERT_EQ_STR(res.text.p, " Hello world\xe4\xbd\xa0!");
    ASSERT_EQ_STR(r.chunks[2], "");
    core_generate_result_cleanup(&res);
    /* the end of the run releases held text too (id -1) */
    const char *stops3[] = {"!!"};
    o.stop = stops3;
    memset(&r, 0, sizeof r);
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_STR(res.text.p, " Hello world\xe4\xbd\xa0!");
    ASSERT_EQ_INT(r.ids[r.n - 1], -1);
    ASSERT_EQ_STR(r.chunks[r.n - 1], "!");
    core_generate_result_cleanup(&res);
    const char *bad[] = {""};
    o.stop = bad;
    struct core_forward *f;
    struct bz_err err = {0};
    ASSERT_OK(core_forward_new(&f, &c->m, NULL, 0, &err), &err);
    int32_t bos = 1;
    core_generate_result_init(&res);
    ASSERT_EQ_INT(core_generate_run(f, c->v, &bos, 1, &o, NULL, NULL, &res, &err), BZ_EINVAL);
    core_generate_result_cleanup(&res);
    core_forward_free(f);
    chain_free(c);
}

TEST(generate_length_context_cancel_callback)
{
    int loop[MV] = {0, 3, 3, 4, 5, 9, 7, 8, 9, 2, 2};
    loop[9] = 2;
    struct chain *c = chain_new(next_main);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    o.max_tokens = 3;
    struct rec r = {0};
    struct core_generate_result res;
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_LENGTH);
    ASSERT_EQ_STR(res.text.p, " Hello world");
    core_generate_result_cleanup(&res);

    o.max_tokens = 0;
    o.ignore_eos = 1; /* ! -> </s> -> Hello ... forever, until the 6-position cache fills */
    memset(&r, 0, sizeof r);
    gen(c, 6, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_CONTEXT);
    ASSERT_EQ_INT(res.tokens.n, 6); /* the last one sampled from the full cache, unfed */
    core_generate_result_cleanup(&res);

    o.ignore_eos = 0;
    volatile sig_atomic_t cancel = 1;
    o.cancel = &cancel;
    memset(&r, 0, sizeof r);
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_CANCEL);
    ASSERT_EQ_INT(res.tokens.n, 0);
    core_generate_result_cleanup(&res);

    o.cancel = NULL;
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_CALLBACK);
    ASSERT_EQ_INT(res.tokens.n, 2);
    core_generate_result_cleanup(&res);
    chain_free(c);
    (void)loop;
}

/* A character cut short by EOS comes out as U+FFFD at the end, never as a lone byte. */
TEST(generate_dangling_bytes_become_replacement)
{
    int next[MV] = {0, 3, 3, 10, 5, 6, 7, 8, 9, 2, 2}; /* Hello -> E5 -> EOS */
    struct chain *c = chain_new(next);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    struct rec r = {0};
    struct core_generate_result res;
    gen(c, 0, &o, &r, &res);
    ASSERT_EQ_INT(res.stop, CORE_GENERATE_EOS);
    ASSERT_EQ_STR(res.text.p, " Hello\xef\xbf\xbd");
    core_generate_result_cleanup(&res);
    chain_free(c);
}

/* stories260K: "Once upon a time" (BOS + 4 tokens) continues exactly as llama2.c. The
 * reference file holds the 64 tokens llama2.c printed from position 1: the 4 forced
 * prompt tokens after BOS, then 60 greedy ones; the .txt is their decoded text. */
TEST(generate_stories260k_once_upon_a_time)
{
    int ref[64];
    FILE *fp = fopen(test_data("models/reference/stories260K_greedy_prompt_once_64.next_ids"), "r");
    int n = 0;
    while (n < 64 && fscanf(fp, "%d", &ref[n]) == 1)
        n++;
    fclose(fp);
    ASSERT_EQ_INT(n, 64);
    char *want;
    size_t wn;
    struct bz_err err = {0};
    ASSERT_OK(bz_read_file(test_data("models/reference/stories260K_greedy_prompt_once_64.txt"),
                           &want, &wn, &err), &err);
    struct core_model *m;
    ASSERT_OK(core_model_open(&m, test_data("models/stories260K.gguf"), &err), &err);
    struct core_vocab *v;
    int owned;
    ASSERT_OK(core_generate_vocab(m, &v, &owned, &err), &err);
    struct core_ids ids;
    core_ids_init(&ids);
    const char *prompt = "Once upon a time";
    ASSERT_OK(core_tokenizer_encode(v, prompt, strlen(prompt), CORE_TOK_ADD_BOS, &ids, &err),
              &err);
    ASSERT_EQ_INT(ids.n, 5);
    ASSERT_EQ_INT(ids.p[0], 1);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ_INT(ids.p[i + 1], ref[i]);
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, m, NULL, 0, &err), &err);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    o.max_tokens = 60;
    struct core_generate_result res;
    core_generate_result_init(&res);
    ASSERT_OK(core_generate_run(f, v, ids.p, ids.n, &o, NULL, NULL, &res, &err), &err);
    ASSERT_EQ_INT(res.tokens.n, 60);
    for (int i = 0; i < 60; i++)
        if (res.tokens.p[i] != ref[4 + i])
            test__fail(__FILE__, __LINE__, "token %d: %d, reference %d", i, res.tokens.p[i],
                       ref[4 + i]);
    /* prompt text + streamed continuation == the reference text (modulo a final newline) */
    struct bz_buf all;
    bz_buf_init(&all);
    bz_buf_puts(&all, prompt);
    bz_buf_append(&all, res.text.p, res.text.len);
    while (wn > 0 && want[wn - 1] == '\n')
        want[--wn] = 0;
    ASSERT_EQ_STR(all.p, want);
    bz_buf_cleanup(&all);
    core_generate_result_cleanup(&res);
    core_forward_free(f);
    core_ids_cleanup(&ids);
    if (owned)
        core_vocab_free(v);
    free(want);
    core_model_free(m);
}
