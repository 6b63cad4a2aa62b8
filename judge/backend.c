/*
 * backend.c: backend specs (local:MODEL[+ADAPTER], openai:URL#MODEL), defaults,
 * results, and the batch entry point that hands requests to the local engine or the
 * OpenAI-compatible client.
 *
 * Key idea: a local backend has one slot and runs the batch in order on the caller's
 * thread (one model copy, all threads in the slot's pool); a remote one runs it
 * through the HTTP client with `parallel` requests in flight.
 */
#include "judge/backend-internal.h"

#include <stdarg.h>
#include <string.h>

/* judge_sampling_defaults: see backend.h. */
void judge_sampling_defaults(struct judge_sampling *s)
{
    memset(s, 0, sizeof *s);
    s->temperature = 0;
    s->top_p = 1;
    s->max_tokens = 256;
}

/* judge_result_init: see backend.h. */
void judge_result_init(struct judge_result *r)
{
    memset(r, 0, sizeof *r);
    bz_buf_init(&r->text);
    r->prompt_tokens = r->completion_tokens = -1;
    r->first_s = -1;
}

/* judge_result_cleanup: see backend.h. */
void judge_result_cleanup(struct judge_result *r)
{
    if (!r)
        return;
    bz_buf_cleanup(&r->text);
    memset(r, 0, sizeof *r);
}

/* judge__fail: see backend-internal.h. */
int judge__fail(struct judge_result *res, int code, const char *fmt, ...)
{
    if (res->rc)
        return res->rc;
    res->rc = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    return code;
}

/* judge_backend_cfg_defaults: see backend.h. */
void judge_backend_cfg_defaults(struct judge_backend_cfg *c)
{
    memset(c, 0, sizeof *c);
    struct judge_http_cfg h;
    judge_http_cfg_defaults(&h);
    c->parallel = h.parallel;
    c->stream = 1;
    c->connect_timeout_s = h.connect_timeout_s;
    c->read_timeout_s = h.read_timeout_s;
    c->total_timeout_s = h.total_timeout_s;
    c->max_retries = h.max_retries;
    c->backoff_s = h.backoff_s;
    c->backoff_max_s = h.backoff_max_s;
    c->retry_after_max_s = h.retry_after_max_s;
    c->max_response = h.max_response;
}

static int open_local(struct judge_backend *b, const char *rest, struct bz_err *err)
{
    char *path = bz_strdup(rest);
    char *plus = strrchr(path, '+');
    /* "model.gguf+adapter": the last '+' splits, unless the left part is no file */
    char *adapter = NULL;
    if (plus) {
        *plus = 0;
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            adapter = plus + 1;
        } else
            *plus = '+';
    }
    if (!*path || (adapter && !*adapter)) {
        free(path);
        return bz_errf(err, BZ_EUSAGE, "backend local:%s: expected local:MODEL[+ADAPTER]", rest);
    }
    int rc = judge_local_open(&b->local, path, b->cfg.template_name, err);
    if (rc == 0 && adapter) {
        rc = judge_local_add_lora(b->local, "adapter", adapter, err);
        b->lora = rc >= 0 ? rc : -1;
        rc = rc >= 0 ? 0 : rc;
    }
    if (rc == 0)
        rc = judge_local_slot_new(&b->slot, b->local, b->cfg.threads, b->cfg.n_ctx, err);
    if (rc == 0)
        b->model = adapter ? bz_asprintf("%s+%s", judge_local_name(b->local), adapter)
                           : bz_strdup(judge_local_name(b->local));
    free(path);
    return rc;
}

static int open_openai(struct judge_backend *b, const char *rest, struct bz_err *err)
{
    const char *hash = strrchr(rest, '#');
    if (!hash || hash == rest || !hash[1])
        return bz_errf(err, BZ_EUSAGE, "backend openai:%s: expected openai:URL#MODEL", rest);
    if (strncmp(rest, "http://", 7) && strncmp(rest, "https://", 8))
        return bz_errf(err, BZ_EUSAGE, "backend openai:%s: the URL must start with http:// or "
                       "https://", rest);
    b->model = bz_strdup(hash + 1);
    size_t n = (size_t)(hash - rest);
    while (n > 0 && rest[n - 1] == '/')
        n--;
    static const char chat[] = "/chat/completions";
    static const char comp[] = "/completions";
    if (n >= sizeof chat - 1 && !memcmp(rest + n - (sizeof chat - 1), chat, sizeof chat - 1))
        n -= sizeof chat - 1;
    else if (n >= sizeof comp - 1 && !memcmp(rest + n - (sizeof comp - 1), comp, sizeof comp - 1))
        n -= sizeof comp - 1;
    b->base_url = bz_strndup(rest, n);
    b->chat_url = bz_asprintf("%s%s", b->base_url, chat);
    b->completions_url = bz_asprintf("%s%s", b->base_url, comp);
    return 0;
}

/* judge_backend_open: see backend.h. */
int judge_backend_open(struct judge_backend **out, const char *spec,
                       const struct judge_backend_cfg *cfg, struct bz_err *err)
{
    *out = NULL;
    struct judge_backend *b = bz_calloc(1, sizeof *b);
    if (cfg)
        b->cfg = *cfg;
    else
        judge_backend_cfg_defaults(&b->cfg);
    b->lora = -1;
    int rc;
    if (!strncmp(spec, "local:", 6)) {
        b->kind = JUDGE__LOCAL;
        rc = open_local(b, spec + 6, err);
    } else if (!strncmp(spec, "openai:", 7)) {
        b->kind = JUDGE__OPENAI;
        rc = open_openai(b, spec + 7, err);
    } else
        rc = bz_errf(err, BZ_EUSAGE, "backend '%s': expected local:MODEL[+ADAPTER] or "
                     "openai:URL#MODEL", spec);
    if (rc) {
        judge_backend_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* judge_backend_free: see backend.h. */
void judge_backend_free(struct judge_backend *b)
{
    if (!b)
        return;
    judge_local_slot_free(b->slot);
    judge_local_free(b->local);
    free(b->model);
    free(b->base_url);
    free(b->chat_url);
    free(b->completions_url);
    free(b);
}

/* judge_backend_model: see backend.h. */
const char *judge_backend_model(const struct judge_backend *b)
{
    return b->model;
}

/* judge_backend_run: see backend.h. */
int judge_backend_run(struct judge_backend *b, const struct judge_request *reqs, size_t n,
                      struct judge_result *res, judge_text_fn cb, void *ctx,
                      volatile sig_atomic_t *cancel)
{
    if (b->kind == JUDGE__OPENAI)
        return judge__openai_run(b, reqs, n, res, cb, ctx, cancel);
    for (size_t i = 0; i < n; i++) {
        if (cancel && *cancel) {
            judge__fail(&res[i], BZ_ECANCELED, "cancelled");
            continue;
        }
        judge_local_slot_run(b->slot, b->lora, &reqs[i], i, cb, ctx, cancel, &res[i]);
    }
    return 0;
}
