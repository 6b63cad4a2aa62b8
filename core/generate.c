/*
 * generate.c: the generation loop (see generate.h). Text flows: token -> streaming
 * decoder (whole characters) -> pending buffer -> the longest prefix that cannot
 * begin a stop string -> callback. Left out: incremental detokenisation tricks for
 * tokenizers whose pieces depend on their neighbours (ours do not).
 */
#include "core/generate.h"

#include <string.h>

/* core_generate_defaults: see generate.h. */
void core_generate_defaults(struct core_generate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_tokens = 256;
    core_sample_defaults(&o->sample);
}

/* core_generate_result_init: see generate.h. */
void core_generate_result_init(struct core_generate_result *r)
{
    memset(r, 0, sizeof *r);
    core_ids_init(&r->tokens);
    bz_buf_init(&r->text);
}

/* core_generate_result_cleanup: see generate.h. */
void core_generate_result_cleanup(struct core_generate_result *r)
{
    if (!r)
        return;
    core_ids_cleanup(&r->tokens);
    bz_buf_cleanup(&r->text);
}

/* core_generate_stop_name: see generate.h. */
const char *core_generate_stop_name(int stop)
{
    static const char *names[] = {"length", "eos", "stop", "context", "cancel", "callback"};
    return stop >= 0 && stop < (int)BZ_ARRAY_SIZE(names) ? names[stop] : "?";
}

/* Offset in p[0..n) of the earliest complete stop string, or -1; *hold = the start of
 * the shortest suffix that is a proper prefix of some stop string (n when none). */
static long find_stop(const char *p, size_t n, const struct core_generate_opts *o, size_t *hold)
{
    long found = -1;
    for (int s = 0; s < o->n_stop; s++) {
        const char *m = memmem(p, n, o->stop[s], strlen(o->stop[s]));
        if (m && (found < 0 || m - p < found))
            found = m - p;
    }
    *hold = n;
    for (size_t j = 0; j < n && *hold == n; j++)
        for (int s = 0; s < o->n_stop; s++) {
            size_t sl = strlen(o->stop[s]);
            if (n - j < sl && memcmp(p + j, o->stop[s], n - j) == 0) {
                *hold = j;
                break;
            }
        }
    return found;
}

struct gen_out {
    core_generate_fn cb;
    void *ctx;
    struct core_generate_result *res;
};

static int deliver(struct gen_out *g, int32_t id, const char *p, size_t n)
{
    bz_buf_append(&g->res->text, p, n);
    return g->cb ? g->cb(g->ctx, id, p, n) : 0;
}

static int is_eog(const struct core_vocab *v, int id)
{
    return v && ((v->eos >= 0 && id == v->eos) || (v->eot >= 0 && id == v->eot));
}

/* core_generate_run: see generate.h. */
int core_generate_run(struct core_forward *f, const struct core_vocab *v, const int32_t *prompt,
                      size_t n_prompt, const struct core_generate_opts *o, core_generate_fn cb,
                      void *ctx, struct core_generate_result *res, struct bz_err *err)
{
    if (n_prompt < 1)
        return bz_errf(err, BZ_EINVAL, "empty prompt");
    if (o->n_stop > 0 && !v)
        return bz_errf(err, BZ_EINVAL, "stop strings need a vocabulary");
    for (int s = 0; s < o->n_stop; s++)
        if (!o->stop[s] || !o->stop[s][0])
            return bz_errf(err, BZ_EINVAL, "stop string %d is empty", s + 1);
    int V = core_forward_vocab(f);
    struct core_sample *smp;
    int rc = core_sample_new(&smp, &o->sample, V, err);
    if (rc)
        return rc;
    float *logits = malloc((size_t)V * sizeof(float));
    int *ids = malloc(n_prompt * sizeof(int));
    struct bz_buf pend, piece;
    bz_buf_init(&pend);
    bz_buf_init(&piece);
    struct core_tokenizer_stream st;
    if (v)
        core_tokenizer_stream_init(&st, v, o->detok_flags);
    struct gen_out g = {cb, ctx, res};
    if (!logits || !ids) {
        rc = bz_errf(err, BZ_ENOMEM, "no memory for logits");
        goto out;
    }
    for (size_t i = 0; i < n_prompt; i++) {
        ids[i] = prompt[i];
        core_sample_accept(smp, prompt[i]);
    }
    double t0 = bz_now();
    rc = core_forward_eval(f, ids, (int)n_prompt, logits, 0, err);
    res->prompt_s += bz_now() - t0;
    if (rc)
        goto out;
    res->n_prompt += (int)n_prompt;
    t0 = bz_now();
    res->stop = CORE_GENERATE_LENGTH;
    for (int n = 0;; n++) {
        if (o->max_tokens > 0 && n >= o->max_tokens) {
            res->stop = CORE_GENERATE_LENGTH;
            break;
        }
        if (o->cancel && *o->cancel) {
            res->stop = CORE_GENERATE_CANCEL;
            break;
        }
        int id = core_sample_next(smp, logits);
        if (!o->ignore_eos && is_eog(v, id)) {
            res->stop = CORE_GENERATE_EOS;
            break;
        }
        core_sample_accept(smp, id);
        core_ids_push(&res->tokens, id);
        int stop = 0;
        if (v) {
            piece.len = 0;
            if (piece.p)
                piece.p[0] = 0;
            rc = core_tokenizer_stream_push(&st, id, &piece, err);
            if (rc)
                goto out;
            bz_buf_append(&pend, piece.p ? piece.p : "", piece.len);
            size_t hold;
            long at = find_stop(pend.p ? pend.p : "", pend.len, o, &hold);
            if (at >= 0) {
                stop = deliver(&g, id, pend.p, (size_t)at);
                res->stop = CORE_GENERATE_STOP_STRING;
                pend.len = 0;
                break;
            }
            stop = deliver(&g, id, pend.p ? pend.p : "", hold);
            if (hold > 0) {
                memmove(pend.p, pend.p + hold, pend.len - hold);
                pend.len -= hold;
                pend.p[pend.len] = 0;
            }
        } else if (cb) {
            stop = cb(ctx, id, "", 0);
        }
        if (stop) {
            res->stop = CORE_GENERATE_CALLBACK;
            break;
        }
        if (core_forward_pos(f) >= core_forward_ctx(f)) {
            res->stop = CORE_GENERATE_CONTEXT;
            break;
        }
        rc = core_forward_eval(f, &id, 1, logits, 0, err);
        if (rc)
            goto out;
    }
    if (v && res->stop != CORE_GENERATE_STOP_STRING && res->stop != CORE_GENERATE_CALLBACK) {
        core_tokenizer_stream_flush(&st, &pend);
        if (pend.len)
            deliver(&g, -1, pend.p, pend.len);
    }
    res->gen_s += bz_now() - t0;
out:
    bz_buf_cleanup(&pend);
    bz_buf_cleanup(&piece);
    free(ids);
    free(logits);
    core_sample_free(smp);
    return rc;
}

/* core_generate_vocab: see generate.h. */
int core_generate_vocab(const struct core_model *m, struct core_vocab **out, int *owned,
                        struct bz_err *err)
{
    *out = NULL;
    *owned = 0;
    if (m->vocab) {
        *out = m->vocab;
        return 0;
    }
    int rc;
    if (m->gguf)
        rc = core_vocab_from_gguf(out, m->gguf, err);
    else if (m->format && !strcmp(m->format, "hf") && m->path)
        rc = core_vocab_open(out, m->path, err);
    else
        return bz_errf(err, BZ_ENOTFOUND, "%s: the model carries no vocabulary",
                       m->path ? m->path : "model");
    if (rc == 0)
        *owned = 1;
    return rc;
}

/* core_generate_open: see generate.h. */
int core_generate_open(struct core_generate_session *s, const char *path, int threads,
                       int n_ctx, struct bz_err *err)
{
    memset(s, 0, sizeof *s);
    int rc = core_model_open(&s->model, path, err);
    if (rc == 0)
        rc = core_generate_vocab(s->model, &s->vocab, &s->vocab_owned, err);
    if (rc == 0 && s->vocab->n_tokens > s->model->cfg.vocab_size)
        rc = bz_errf(err, BZ_EFORMAT, "%s: vocabulary of %d tokens, model outputs %d", path,
                     s->vocab->n_tokens, s->model->cfg.vocab_size);
    if (rc == 0)
        rc = core_pool_new(&s->pool, threads, err);
    if (rc == 0)
        rc = core_forward_new(&s->fwd, s->model, s->pool, n_ctx, err);
    if (rc)
        core_generate_close(s);
    return rc;
}

/* core_generate_close: see generate.h. */
void core_generate_close(struct core_generate_session *s)
{
    core_forward_free(s->fwd);
    core_pool_free(s->pool);
    if (s->vocab_owned)
        core_vocab_free(s->vocab);
    core_model_free(s->model);
    memset(s, 0, sizeof *s);
}
