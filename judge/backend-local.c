/*
 * backend-local.c: the engine in-process as a backend: one model with its vocabulary,
 * chat template and named adapters, shared read-only, and slots that each own an
 * evaluator (KV cache) and a thread pool and run one request at a time.
 *
 * Key idea: a request is rendered (chat template, or the raw prompt with BOS as the
 * vocab asks) and generated from an empty cache, so the same request gives the same
 * answer whatever ran before it in that slot: `bezoar serve` and the local backend
 * call this same function and agree token for token.
 *
 * Left out: reusing a cached prefix across requests (it would make answers depend on
 * history through prefill-vs-decode rounding), batching several requests in one
 * forward pass.
 */
#include <string.h>

#include "core/core.h"
#include "judge/backend-internal.h"

struct local_lora {
    char *name;
    struct core_lora lora;
};

struct judge_local {
    struct core_model *model;
    struct core_vocab *vocab;
    int vocab_owned;
    int tmpl;                 /* -1: none (chat requests refused with tmpl_err) */
    char tmpl_err[256];
    char *name;
    struct local_lora *loras;
    int n_loras;
};

struct judge_local_slot {
    struct judge_local *l;
    struct core_pool *pool;
    struct core_forward *fwd;
    int lora;                 /* the adapter set on fwd */
};

/* judge_local_open: see backend.h. */
int judge_local_open(struct judge_local **out, const char *path, const char *template_name,
                     struct bz_err *err)
{
    *out = NULL;
    struct judge_local *l = bz_calloc(1, sizeof *l);
    int rc = core_model_open(&l->model, path, err);
    if (rc == 0)
        rc = core_generate_vocab(l->model, &l->vocab, &l->vocab_owned, err);
    if (rc == 0 && l->vocab->n_tokens > l->model->cfg.vocab_size)
        rc = bz_errf(err, BZ_EFORMAT, "%s: vocabulary of %d tokens, model outputs %d", path,
                     l->vocab->n_tokens, l->model->cfg.vocab_size);
    if (rc) {
        judge_local_free(l);
        return rc;
    }
    struct bz_err te = {0};
    l->tmpl = core_template_pick(l->vocab, template_name, &te);
    if (l->tmpl < 0) {
        if (template_name) { /* a bad name is the caller's mistake, not the model's */
            int code = l->tmpl;
            judge_local_free(l);
            return bz_errf(err, code, "%s", te.msg);
        }
        snprintf(l->tmpl_err, sizeof l->tmpl_err, "%s (no chat template: name one, e.g. "
                 "--template alpaca)", bz_err_msg(&te, l->tmpl));
        l->tmpl = -1;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf"))
        n -= 5;
    l->name = bz_strndup(base, n);
    *out = l;
    return 0;
}

/* judge_local_free: see backend.h. */
void judge_local_free(struct judge_local *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n_loras; i++) {
        core_lora_cleanup(&l->loras[i].lora);
        free(l->loras[i].name);
    }
    free(l->loras);
    if (l->vocab_owned)
        core_vocab_free(l->vocab);
    core_model_free(l->model);
    free(l->name);
    free(l);
}

/* judge_local_add_lora: see backend.h. */
int judge_local_add_lora(struct judge_local *l, const char *name, const char *path,
                         struct bz_err *err)
{
    if (judge_local_find(l, name) != BZ_ENOTFOUND)
        return bz_errf(err, BZ_EINVAL, "adapter name '%s' is taken", name);
    struct core_lora lora;
    memset(&lora, 0, sizeof lora);
    int rc = core_lora_load(&lora, l->model, path, err);
    if (rc)
        return rc;
    l->loras = bz_realloc(l->loras, (size_t)(l->n_loras + 1) * sizeof *l->loras);
    l->loras[l->n_loras].name = bz_strdup(name);
    l->loras[l->n_loras].lora = lora;
    return l->n_loras++;
}

/* judge_local_name: see backend.h. */
const char *judge_local_name(const struct judge_local *l)
{
    return l->name;
}

/* judge_local_n_lora: see backend.h. */
int judge_local_n_lora(const struct judge_local *l)
{
    return l->n_loras;
}

/* judge_local_lora_name: see backend.h. */
const char *judge_local_lora_name(const struct judge_local *l, int i)
{
    return i >= 0 && i < l->n_loras ? l->loras[i].name : NULL;
}

/* judge_local_find: see backend.h. */
int judge_local_find(const struct judge_local *l, const char *name)
{
    if (!strcmp(name, l->name))
        return -1;
    for (int i = 0; i < l->n_loras; i++)
        if (!strcmp(name, l->loras[i].name))
            return i;
    return BZ_ENOTFOUND;
}

/* judge_local_slot_new: see backend.h. */
int judge_local_slot_new(struct judge_local_slot **out, struct judge_local *l, int threads,
                         int n_ctx, struct bz_err *err)
{
    *out = NULL;
    struct judge_local_slot *s = bz_calloc(1, sizeof *s);
    s->l = l;
    s->lora = -1;
    int rc = core_pool_new(&s->pool, threads, err);
    if (rc == 0)
        rc = core_forward_new(&s->fwd, l->model, s->pool, n_ctx, err);
    if (rc) {
        judge_local_slot_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* judge_local_slot_free: see backend.h. */
void judge_local_slot_free(struct judge_local_slot *s)
{
    if (!s)
        return;
    core_forward_free(s->fwd);
    core_pool_free(s->pool);
    free(s);
}

struct slot_cb {
    judge_text_fn cb;
    void *ctx;
    size_t index;
    double t0;
    struct judge_result *res;
};

static int slot_text(void *ctx, int32_t id, const char *text, size_t n)
{
    (void)id;
    struct slot_cb *c = ctx;
    if (n == 0)
        return 0;
    if (c->res->first_s < 0)
        c->res->first_s = bz_now() - c->t0;
    return c->cb ? c->cb(c->ctx, c->index, text, n) : 0;
}

/* judge_local_slot_run: see backend.h. */
int judge_local_slot_run(struct judge_local_slot *s, int lora, const struct judge_request *req,
                         size_t index, judge_text_fn cb, void *ctx,
                         volatile sig_atomic_t *cancel, struct judge_result *res)
{
    struct judge_local *l = s->l;
    struct bz_err err = {0};
    double t0 = bz_now();
    res->attempts = 1;
    if (lora < -1 || lora >= l->n_loras)
        return judge__fail(res, BZ_EINVAL, "no adapter %d", lora);
    if (lora != s->lora) {
        int rc = core_forward_set_lora(s->fwd, lora >= 0 ? &l->loras[lora].lora : NULL, &err);
        if (rc)
            return judge__fail(res, rc, "%s", bz_err_msg(&err, rc));
        s->lora = lora;
    }
    core_forward_truncate(s->fwd, 0);
    struct core_ids ids;
    core_ids_init(&ids);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    int rc = 0;
    if (req->prompt) {
        int flags = l->vocab->add_bos ? CORE_TOK_ADD_BOS : 0;
        rc = core_tokenizer_encode(l->vocab, req->prompt, strlen(req->prompt), flags, &ids,
                                   &err);
        if (rc == 0 && ids.n == 0)
            rc = bz_errf(&err, BZ_EEMPTY, "the prompt has no tokens");
    } else if (l->tmpl < 0) {
        rc = bz_errf(&err, BZ_ENOTFOUND, "%s", l->tmpl_err);
    } else {
        struct core_chat_msg *m = bz_calloc(req->n_msgs ? req->n_msgs : 1, sizeof *m);
        for (size_t i = 0; i < req->n_msgs; i++) {
            const char *c = req->msgs[i].content ? req->msgs[i].content : "";
            m[i] = (struct core_chat_msg){req->msgs[i].role, c, strlen(c)};
        }
        struct core_template_out out;
        core_template_out_init(&out);
        rc = core_template_render(l->vocab, l->tmpl, m, req->n_msgs, CORE_TEMPLATE_GENERATION,
                                  &out, &err);
        for (size_t i = 0; rc == 0 && i < out.ids.n; i++)
            core_ids_push(&ids, out.ids.p[i]);
        core_template_out_cleanup(&out);
        free(m);
        o.detok_flags = CORE_DETOK_STRIP_PREFIX;
    }
    if (rc == 0 && (int64_t)ids.n >= core_forward_ctx(s->fwd))
        rc = bz_errf(&err, BZ_ERANGE, "the prompt (%zu tokens) fills the context (%d)", ids.n,
                     core_forward_ctx(s->fwd));
    if (rc) {
        core_ids_cleanup(&ids);
        return judge__fail(res, rc, "%s", bz_err_msg(&err, rc));
    }
    o.max_tokens = req->s.max_tokens > 0 ? req->s.max_tokens : 256;
    o.sample.temp = req->s.temperature;
    o.sample.top_p = req->s.top_p > 0 ? req->s.top_p : 1;
    o.sample.seed = req->s.has_seed ? req->s.seed : 0;
    o.stop = req->s.stop;
    o.n_stop = BZ_MIN(req->s.n_stop, JUDGE_MAX_STOP);
    o.cancel = cancel;
    rc = core_sample_check(&o.sample, &err);
    struct core_generate_result g;
    core_generate_result_init(&g);
    struct slot_cb sc = {cb, ctx, index, t0, res};
    if (rc == 0)
        rc = core_generate_run(s->fwd, l->vocab, ids.p, ids.n, &o, slot_text, &sc, &g, &err);
    if (rc == 0) {
        res->text.len = 0;
        bz_buf_append(&res->text, g.text.p ? g.text.p : "", g.text.len);
        res->prompt_tokens = (int)ids.n;
        res->completion_tokens = (int)g.tokens.n;
        const char *fr = "stop";
        if (g.stop == CORE_GENERATE_LENGTH || g.stop == CORE_GENERATE_CONTEXT)
            fr = "length";
        else if (g.stop == CORE_GENERATE_CANCEL || g.stop == CORE_GENERATE_CALLBACK)
            fr = "cancel";
        snprintf(res->finish_reason, sizeof res->finish_reason, "%s", fr);
        res->total_s = bz_now() - t0;
    } else
        judge__fail(res, rc, "%s", bz_err_msg(&err, rc));
    core_generate_result_cleanup(&g);
    core_ids_cleanup(&ids);
    core_forward_truncate(s->fwd, 0);
    return res->rc;
}
