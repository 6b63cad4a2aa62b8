/*
 * backend-openai.c: the OpenAI-compatible client: request bodies for
 * /v1/chat/completions (a conversation) and /v1/completions (a raw prompt), and
 * their answers, streamed (SSE chunks with choices[0].delta.content or .text, usage
 * in the last chunk when stream_options.include_usage is honoured) or whole.
 *
 * Key idea: every byte of an answer is checked at the boundary: a body or chunk that
 * is not the JSON we expect is an error quoting its first bytes, never an empty or
 * invented answer. Text reaches the user callback only from a 2xx attempt, and a
 * retried attempt starts its result over.
 *
 * Left out: tools, logprobs, n > 1.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "judge/backend-internal.h"

static const char *const role_names[] = {"system", "user", "assistant"};

static char *request_body(const struct judge_backend *b, const struct judge_request *r,
                          int stream)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", b->model);
    if (r->prompt)
        cJSON_AddStringToObject(o, "prompt", r->prompt);
    else {
        cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
        for (size_t i = 0; i < r->n_msgs; i++) {
            cJSON *m = cJSON_CreateObject();
            int role = r->msgs[i].role;
            cJSON_AddStringToObject(m, "role", role >= 0 && role <= 2 ? role_names[role]
                                                                      : "user");
            cJSON_AddStringToObject(m, "content", r->msgs[i].content ? r->msgs[i].content : "");
            cJSON_AddItemToArray(msgs, m);
        }
    }
    cJSON_AddNumberToObject(o, "temperature", r->s.temperature);
    if (r->s.top_p < 1)
        cJSON_AddNumberToObject(o, "top_p", r->s.top_p);
    cJSON_AddNumberToObject(o, "max_tokens", r->s.max_tokens);
    if (r->s.has_seed)
        cJSON_AddNumberToObject(o, "seed", (double)r->s.seed);
    if (r->s.n_stop > 0) {
        cJSON *st = cJSON_AddArrayToObject(o, "stop");
        for (int i = 0; i < r->s.n_stop && i < JUDGE_MAX_STOP; i++)
            cJSON_AddItemToArray(st, cJSON_CreateString(r->s.stop[i]));
    }
    if (stream) {
        cJSON_AddBoolToObject(o, "stream", 1);
        cJSON_AddObjectToObject(o, "stream_options");
        cJSON_AddBoolToObject(cJSON_GetObjectItem(o, "stream_options"), "include_usage", 1);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

struct oa_batch {
    struct judge_backend *b;
    const struct judge_request *reqs;
    struct judge_result *res;
    judge_text_fn cb;
    void *ctx;
};

static int oa_bad(struct judge_http_xfer *x, const char *what, const char *data, size_t n)
{
    char q[128];
    judge_http_quote(data, n, 80, q, sizeof q);
    snprintf(x->error, sizeof x->error, "%s: %s", what, q);
    return BZ_EPROTO;
}

static void oa_usage(struct judge_result *r, const cJSON *o)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
    if (!cJSON_IsObject(u))
        return;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    if (cJSON_IsNumber(p))
        r->prompt_tokens = p->valueint;
    if (cJSON_IsNumber(c))
        r->completion_tokens = c->valueint;
}

/* The error object of an API error body ("error": {"message": ...} or a string). */
static int oa_error(struct judge_http_xfer *x, const cJSON *o)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (!e || cJSON_IsNull(e))
        return 0;
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
    snprintf(x->error, sizeof x->error, "the server says: %s",
             cJSON_IsString(m) ? m->valuestring : "an error without a message");
    return BZ_EPROTO;
}

static int oa_event(void *ctx, size_t i, struct judge_http_xfer *x, const char *data, size_t n)
{
    struct oa_batch *ob = ctx;
    struct judge_result *r = &ob->res[i];
    const struct judge_request *q = &ob->reqs[i];
    if (!data) { /* a new attempt */
        r->text.len = 0;
        if (r->text.p)
            r->text.p[0] = 0;
        r->finish_reason[0] = 0;
        r->prompt_tokens = r->completion_tokens = -1;
        r->first_s = -1;
        return 0;
    }
    cJSON *o = cJSON_ParseWithLength(data, n);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return oa_bad(x, x->sse ? "a stream chunk is not a JSON object" :
                      "the response is not a JSON object", data, n);
    }
    int rc = oa_error(x, o);
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    oa_usage(r, o);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *c0 = cJSON_GetArrayItem(ch, 0);
    if (!cJSON_IsArray(ch) || (!c0 && !x->sse)) {
        cJSON_Delete(o);
        return oa_bad(x, "no choices[0] in the response", data, n);
    }
    int delivered = 0;
    if (c0) {
        const cJSON *text;
        if (q->prompt)
            text = cJSON_GetObjectItemCaseSensitive(c0, "text");
        else
            text = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(c0, x->sse ? "delta" : "message"), "content");
        if (!x->sse && !cJSON_IsString(text)) {
            cJSON_Delete(o);
            return oa_bad(x, q->prompt ? "no string choices[0].text in the response"
                                       : "no string choices[0].message.content in the response",
                          data, n);
        }
        if (text && !cJSON_IsString(text) && !cJSON_IsNull(text)) {
            cJSON_Delete(o);
            return oa_bad(x, "the chunk's text is not a string", data, n);
        }
        const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
        if (cJSON_IsString(fr))
            snprintf(r->finish_reason, sizeof r->finish_reason, "%s", fr->valuestring);
        if (cJSON_IsString(text) && text->valuestring[0]) {
            size_t len = strlen(text->valuestring);
            if (r->first_s < 0)
                r->first_s = bz_now() - x->t_start;
            bz_buf_append(&r->text, text->valuestring, len);
            if (ob->cb && ob->cb(ob->ctx, i, text->valuestring, len)) {
                cJSON_Delete(o);
                snprintf(x->error, sizeof x->error, "cancelled by the caller");
                return BZ_ECANCELED;
            }
            delivered = 1;
        }
    }
    cJSON_Delete(o);
    return delivered && x->sse ? 1 : 0;
}

/* judge__openai_run: see backend-internal.h. */
int judge__openai_run(struct judge_backend *b, const struct judge_request *reqs, size_t n,
                      struct judge_result *res, judge_text_fn cb, void *ctx,
                      volatile sig_atomic_t *cancel)
{
    const char *key = getenv("BEZOAR_API_KEY");
    if (!key || !*key)
        key = getenv("OPENAI_API_KEY");
    if (key && !*key)
        key = NULL;
    struct judge_http_cfg hc;
    judge_http_cfg_defaults(&hc);
    hc.parallel = b->cfg.parallel > 0 ? b->cfg.parallel : 1;
    hc.connect_timeout_s = b->cfg.connect_timeout_s;
    hc.read_timeout_s = b->cfg.read_timeout_s;
    hc.total_timeout_s = b->cfg.total_timeout_s;
    hc.max_retries = b->cfg.max_retries;
    hc.backoff_s = b->cfg.backoff_s;
    hc.backoff_max_s = b->cfg.backoff_max_s;
    hc.retry_after_max_s = b->cfg.retry_after_max_s;
    if (b->cfg.max_response)
        hc.max_response = b->cfg.max_response;
    struct judge_http_xfer *x = bz_calloc(n ? n : 1, sizeof *x);
    char **bodies = bz_calloc(n ? n : 1, sizeof *bodies);
    for (size_t i = 0; i < n; i++) {
        bodies[i] = request_body(b, &reqs[i], b->cfg.stream);
        x[i].url = reqs[i].prompt ? b->completions_url : b->chat_url;
        x[i].body = bodies[i];
        x[i].body_len = strlen(bodies[i]);
        x[i].bearer = key;
        x[i].sse = b->cfg.stream;
    }
    struct oa_batch ob = {b, reqs, res, cb, ctx};
    int rc = judge_http_run(&hc, x, n, oa_event, &ob, cancel);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct judge_result *r = &res[i];
        r->attempts = x[i].attempts;
        r->http_status = x[i].status;
        r->total_s = x[i].t_end - x[i].t_start;
        if (x[i].rc) {
            judge__fail(r, x[i].rc, "%s: %s", x[i].url, x[i].error);
        }
    }
    for (size_t i = 0; i < n; i++)
        cJSON_free(bodies[i]);
    free(bodies);
    free(x);
    return rc;
}
