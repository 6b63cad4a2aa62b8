/*
 * backend.c: backend specs (local:MODEL[+ADAPTER], openai:URL#MODEL), defaults,
 * results, and the batch entry point that hands requests to the local engine or the
 * OpenAI-compatible client.
 *
 * Key idea: a local backend has one model copy and local_slots slots; one slot runs
 * the batch in order on the caller's thread with every thread in its pool, several run
 * requests at once on threads of their own (fewer threads each: small models gain,
 * because one token's work is too small to split well) and hand their text to the
 * caller's thread through a queue, so callbacks keep one thread. Calls from several
 * threads at once each take free slots of their own. A remote backend runs
 * the batch through the HTTP client with `parallel` requests in flight.
 */
#include "judge/backend-internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

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

static int open_slots(struct judge_backend *b, struct bz_err *err)
{
    int k = BZ_MAX(1, b->cfg.local_slots), cpus = b->cfg.threads;
    if (cpus <= 0)
        cpus = (int)BZ_MAX(1, sysconf(_SC_NPROCESSORS_ONLN));
    k = BZ_MIN(k, cpus); /* a slot has at least one thread */
    int per = k == 1 ? b->cfg.threads : BZ_MAX(1, cpus / k);
    b->slots = bz_calloc((size_t)k, sizeof *b->slots);
    b->busy = bz_calloc((size_t)k, 1);
    for (int i = 0; i < k; i++) {
        int rc = judge_local_slot_new(&b->slots[i], b->local, per, b->cfg.n_ctx, err);
        if (rc)
            return rc;
        b->n_slots = i + 1;
    }
    return 0;
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
        rc = open_slots(b, err);
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
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->freed, NULL);
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
    for (int i = 0; i < b->n_slots; i++)
        judge_local_slot_free(b->slots[i]);
    free(b->slots);
    free(b->busy);
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->mu);
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

/* Several local slots at once: workers take the next request, their text goes
 * through a queue to the caller's thread, which calls cb; a nonzero cb stops that
 * request at its next piece. */
struct piece {
    struct piece *next;
    size_t i, n;
    char text[];
};

struct lrun {
    struct judge_backend *b;
    const struct judge_request *reqs;
    struct judge_result *res;
    size_t n;
    int want_text;
    volatile sig_atomic_t *cancel;
    _Atomic size_t next;
    _Atomic unsigned char *stop; /* per request: the caller's cb said stop */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct piece *head, *tail; /* guarded by mu */
    int live;                  /* workers running, guarded by mu */
};

struct lworker {
    struct lrun *r;
    struct judge_local_slot *slot;
    pthread_t th;
};

static int lrun_text(void *ctx, size_t i, const char *text, size_t n)
{
    struct lrun *r = ctx;
    if (r->want_text) {
        struct piece *p = bz_malloc(sizeof *p + n);
        p->next = NULL, p->i = i, p->n = n;
        memcpy(p->text, text, n);
        pthread_mutex_lock(&r->mu);
        if (r->tail)
            r->tail->next = p;
        else
            r->head = p;
        r->tail = p;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    return atomic_load(&r->stop[i]);
}

static void *lrun_worker(void *arg)
{
    struct lworker *w = arg;
    struct lrun *r = w->r;
    for (size_t i; (i = atomic_fetch_add(&r->next, 1)) < r->n;) {
        if (r->cancel && *r->cancel)
            judge__fail(&r->res[i], BZ_ECANCELED, "cancelled");
        else
            judge_local_slot_run(w->slot, r->b->lora, &r->reqs[i], i, lrun_text, r, r->cancel,
                                 &r->res[i]);
    }
    pthread_mutex_lock(&r->mu);
    r->live--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int local_run_parallel(struct judge_backend *b, struct judge_local_slot **slots, int k,
                              const struct judge_request *reqs, size_t n,
                              struct judge_result *res, judge_text_fn cb, void *ctx,
                              volatile sig_atomic_t *cancel)
{
    struct lrun r = {.b = b, .reqs = reqs, .res = res, .n = n, .want_text = cb != NULL,
                     .cancel = cancel};
    r.stop = bz_calloc(n, 1);
    size_t *delivered = bz_calloc(n, sizeof *delivered);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    struct lworker *w = bz_calloc((size_t)k, sizeof *w);
    int started = 0;
    for (; started < k; started++) {
        w[started] = (struct lworker){.r = &r, .slot = slots[started]};
        pthread_mutex_lock(&r.mu);
        r.live++;
        pthread_mutex_unlock(&r.mu);
        if (pthread_create(&w[started].th, NULL, lrun_worker, &w[started]) != 0) {
            pthread_mutex_lock(&r.mu);
            r.live--;
            pthread_mutex_unlock(&r.mu);
            break;
        }
    }
    int rc = 0;
    if (started == 0)
        rc = BZ_ENOMEM;
    pthread_mutex_lock(&r.mu);
    for (;;) {
        while (!r.head && r.live > 0)
            pthread_cond_wait(&r.cv, &r.mu);
        struct piece *p = r.head;
        if (!p)
            break;
        r.head = p->next;
        if (!r.head)
            r.tail = NULL;
        pthread_mutex_unlock(&r.mu);
        if (!atomic_load(&r.stop[p->i])) {
            delivered[p->i] += p->n;
            if (cb(ctx, p->i, p->text, p->n))
                atomic_store(&r.stop[p->i], 1);
        }
        free(p);
        pthread_mutex_lock(&r.mu);
    }
    pthread_mutex_unlock(&r.mu);
    for (int i = 0; i < started; i++)
        pthread_join(w[i].th, NULL);
    /* a stopped request may have run a few pieces further than the caller saw: its
     * answer is what was delivered, as with one slot */
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&r.stop[i]) && res[i].rc == 0) {
            if (res[i].text.len > delivered[i]) {
                res[i].text.len = delivered[i];
                res[i].text.p[delivered[i]] = 0;
            }
            snprintf(res[i].finish_reason, sizeof res[i].finish_reason, "cancel");
        }
    free(delivered);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    free((void *)r.stop);
    free(w);
    return rc;
}

/* judge_backend_run: see backend.h. */
int judge_backend_run(struct judge_backend *b, const struct judge_request *reqs, size_t n,
                      struct judge_result *res, judge_text_fn cb, void *ctx,
                      volatile sig_atomic_t *cancel)
{
    if (b->kind == JUDGE__OPENAI)
        return judge__openai_run(b, reqs, n, res, cb, ctx, cancel);
    if (n == 0)
        return 0;
    /* concurrent calls each take free slots of their own (waiting for one) */
    int want = (int)BZ_MIN((size_t)b->n_slots, n), k = 0;
    int *idx = bz_calloc((size_t)b->n_slots, sizeof *idx);
    struct judge_local_slot **mine = bz_calloc((size_t)b->n_slots, sizeof *mine);
    pthread_mutex_lock(&b->mu);
    for (;;) {
        for (int i = 0; i < b->n_slots && k < want; i++)
            if (!b->busy[i])
                b->busy[i] = 1, idx[k] = i, mine[k++] = b->slots[i];
        if (k > 0)
            break;
        pthread_cond_wait(&b->freed, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    int rc = 0;
    if (k > 1)
        rc = local_run_parallel(b, mine, k, reqs, n, res, cb, ctx, cancel);
    else
        for (size_t i = 0; i < n; i++) {
            if (cancel && *cancel) {
                judge__fail(&res[i], BZ_ECANCELED, "cancelled");
                continue;
            }
            judge_local_slot_run(mine[0], b->lora, &reqs[i], i, cb, ctx, cancel, &res[i]);
        }
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < k; i++)
        b->busy[idx[i]] = 0;
    pthread_cond_broadcast(&b->freed);
    pthread_mutex_unlock(&b->mu);
    free(idx);
    free(mine);
    return rc;
}
