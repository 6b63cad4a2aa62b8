/*
 * http-server.c: requests cut from a byte stream with http-parser, API bodies checked
 * with cJSON, and answer bodies written (see http-server.h).
 *
 * Key idea: every limit is checked as bytes arrive (header bytes, Content-Length
 * before the body, chunked bodies as they grow), so a client can never make the
 * server hold more than max_header + max_body bytes for one request.
 */
#include "judge/http-server.h"

#include <cjson/cJSON.h>
#include <string.h>

static struct judge_httpd_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int count_header(struct judge_httpd_conn *c, size_t n)
{
    c->header_bytes += n;
    if (c->header_bytes > c->max_header) {
        c->error_status = 431;
        snprintf(c->error_msg, sizeof c->error_msg, "request headers over %zu bytes",
                 c->max_header);
        return -1;
    }
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct judge_httpd_conn *c = conn_of(p);
    c->header_bytes = 0;
    c->req.url.len = 0;
    c->req.body.len = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct judge_httpd_conn *c = conn_of(p);
    if (count_header(c, n))
        return -1;
    bz_buf_append(&c->req.url, at, n);
    return 0;
}

static int on_header_bytes(http_parser *p, const char *at, size_t n)
{
    (void)at;
    return count_header(conn_of(p), n + 4); /* ": " and CRLF count too */
}

static int on_headers_complete(http_parser *p)
{
    struct judge_httpd_conn *c = conn_of(p);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->max_body) {
        c->error_status = 413;
        snprintf(c->error_msg, sizeof c->error_msg, "request body of %llu bytes is over the "
                 "%zu-byte limit", (unsigned long long)p->content_length, c->max_body);
        return -1;
    }
    c->req.method = p->method;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct judge_httpd_conn *c = conn_of(p);
    if (c->req.body.len + n > c->max_body) {
        c->error_status = 413;
        snprintf(c->error_msg, sizeof c->error_msg, "request body over the %zu-byte limit",
                 c->max_body);
        return -1;
    }
    bz_buf_append(&c->req.body, at, n);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct judge_httpd_conn *c = conn_of(p);
    c->req.keep_alive = http_should_keep_alive(p);
    c->ready = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_bytes,
    .on_header_value = on_header_bytes,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* judge_httpd_conn_init: see http-server.h. */
void judge_httpd_conn_init(struct judge_httpd_conn *c, size_t max_header, size_t max_body)
{
    memset(c, 0, sizeof *c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->max_header = max_header;
    c->max_body = max_body;
    bz_buf_init(&c->req.url);
    bz_buf_init(&c->req.body);
}

/* judge_httpd_conn_cleanup: see http-server.h. */
void judge_httpd_conn_cleanup(struct judge_httpd_conn *c)
{
    bz_buf_cleanup(&c->req.url);
    bz_buf_cleanup(&c->req.body);
}

/* judge_httpd_conn_feed: see http-server.h. */
size_t judge_httpd_conn_feed(struct judge_httpd_conn *c, const char *p, size_t n)
{
    if (c->ready || c->error_status)
        return 0;
    size_t used = http_parser_execute(&c->parser, &settings, p, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->ready)
        return used;
    if (e != HPE_OK && !c->error_status) {
        c->error_status = 400;
        snprintf(c->error_msg, sizeof c->error_msg, "malformed HTTP request: %s",
                 http_errno_description(e));
    }
    return used;
}

/* judge_httpd_conn_next: see http-server.h. */
void judge_httpd_conn_next(struct judge_httpd_conn *c)
{
    c->ready = 0;
    c->header_bytes = 0;
    c->req.url.len = 0;
    c->req.body.len = 0;
    http_parser_pause(&c->parser, 0);
}

/* judge_httpd_path: see http-server.h. */
void judge_httpd_path(const struct judge_httpd_req *r, char *out, size_t out_size)
{
    size_t n = 0;
    const char *u = r->url.p ? r->url.p : "";
    while (u[n] && u[n] != '?' && n + 1 < out_size) {
        out[n] = u[n];
        n++;
    }
    out[n] = 0;
}

/* ---------------------------------------------------------------- API bodies */

static char *own(struct judge_api_req *r, const char *s)
{
    r->strs = bz_realloc(r->strs, (size_t)(r->n_strs + 1) * sizeof *r->strs);
    return r->strs[r->n_strs++] = bz_strdup(s);
}

/* judge_api_req_cleanup: see http-server.h. */
void judge_api_req_cleanup(struct judge_api_req *r)
{
    for (int i = 0; i < r->n_strs; i++)
        free(r->strs[i]);
    free(r->strs);
    free(r->msgs);
    free(r->model);
    memset(r, 0, sizeof *r);
}

/* Message content: a string, or an array of {"type":"text","text":...} parts. */
static const char *content_text(struct judge_api_req *r, const cJSON *c, int *bad)
{
    if (cJSON_IsString(c))
        return own(r, c->valuestring);
    if (!cJSON_IsArray(c)) {
        *bad = 1;
        return NULL;
    }
    struct bz_buf b;
    bz_buf_init(&b);
    const cJSON *part;
    cJSON_ArrayForEach(part, c)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (!cJSON_IsString(t) || !cJSON_IsString(ty) || strcmp(ty->valuestring, "text")) {
            *bad = 1;
            bz_buf_cleanup(&b);
            return NULL;
        }
        bz_buf_puts(&b, t->valuestring);
    }
    const char *s = own(r, b.p ? b.p : "");
    bz_buf_cleanup(&b);
    return s;
}

#define FAIL(...) (snprintf(msg, msg_size, __VA_ARGS__), rc = 400)

/* judge_api_parse: see http-server.h. */
int judge_api_parse(struct judge_api_req *r, int kind, const char *body, size_t n,
                    int max_tokens_cap, char *msg, size_t msg_size)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    judge_sampling_defaults(&r->req.s);
    r->req.s.temperature = 1; /* the API's default */
    r->req.s.max_tokens = BZ_MIN(256, max_tokens_cap);
    int rc = 0;
    size_t bad = bz_utf8_check(body, n);
    if (bad < n)
        return FAIL("the body is not valid UTF-8 (byte %zu)", bad);
    cJSON *o = cJSON_ParseWithLength(body, n);
    if (!o)
        return FAIL("the body is not valid JSON");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return FAIL("the body is not a JSON object");
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v))
            FAIL("'model' must be a string");
        else
            r->model = bz_strdup(v->valuestring);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "stream");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (!cJSON_IsBool(v))
            FAIL("'stream' must be true or false");
        r->stream = cJSON_IsTrue(v);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "stream_options");
    if (!rc && cJSON_IsObject(v))
        r->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "include_usage"));
    v = cJSON_GetObjectItemCaseSensitive(o, "temperature");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 2))
            FAIL("'temperature' must be a number from 0 to 2");
        r->req.s.temperature = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "top_p");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1))
            FAIL("'top_p' must be a number in (0, 1]");
        r->req.s.top_p = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "max_tokens");
    if (!v || cJSON_IsNull(v))
        v = cJSON_GetObjectItemCaseSensitive(o, "max_completion_tokens");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 1e9) ||
            v->valuedouble != (double)(int)v->valuedouble)
            FAIL("'max_tokens' must be a whole number >= 1");
        else
            r->req.s.max_tokens = BZ_MIN((int)v->valuedouble, max_tokens_cap);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1.8e19))
            FAIL("'seed' must be a whole number >= 0");
        else {
            r->req.s.has_seed = 1;
            r->req.s.seed = (uint64_t)v->valuedouble;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "n");
    if (!rc && v && !cJSON_IsNull(v) && !(cJSON_IsNumber(v) && v->valuedouble == 1))
        FAIL("only n = 1 is served");
    v = cJSON_GetObjectItemCaseSensitive(o, "stop");
    if (!rc && v && !cJSON_IsNull(v)) {
        if (cJSON_IsString(v)) {
            if (v->valuestring[0])
                r->req.s.stop[r->req.s.n_stop++] = own(r, v->valuestring);
        } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) <= JUDGE_MAX_STOP) {
            const cJSON *s;
            cJSON_ArrayForEach(s, v)
            {
                if (!cJSON_IsString(s)) {
                    FAIL("'stop' must hold strings");
                    break;
                }
                if (s->valuestring[0])
                    r->req.s.stop[r->req.s.n_stop++] = own(r, s->valuestring);
            }
        } else
            FAIL("'stop' must be a string or an array of at most %d strings", JUDGE_MAX_STOP);
    }
    if (!rc && kind == JUDGE_API_COMPLETIONS) {
        v = cJSON_GetObjectItemCaseSensitive(o, "prompt");
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1)
            v = cJSON_GetArrayItem(v, 0);
        if (!cJSON_IsString(v))
            FAIL("'prompt' must be a string");
        else
            r->req.prompt = own(r, v->valuestring);
    } else if (!rc) {
        v = cJSON_GetObjectItemCaseSensitive(o, "messages");
        int nm = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        if (nm <= 0)
            FAIL("'messages' must be a non-empty array");
        else {
            r->msgs = bz_calloc((size_t)nm, sizeof *r->msgs);
            const cJSON *m;
            int i = 0;
            cJSON_ArrayForEach(m, v)
            {
                const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
                int bad_content = 0;
                const char *text = content_text(r, cJSON_GetObjectItemCaseSensitive(m, "content"),
                                                &bad_content);
                int ro = -1;
                if (cJSON_IsString(role)) {
                    if (!strcmp(role->valuestring, "system") ||
                        !strcmp(role->valuestring, "developer"))
                        ro = JUDGE_ROLE_SYSTEM;
                    else if (!strcmp(role->valuestring, "user"))
                        ro = JUDGE_ROLE_USER;
                    else if (!strcmp(role->valuestring, "assistant"))
                        ro = JUDGE_ROLE_ASSISTANT;
                }
                if (ro < 0) {
                    FAIL("messages[%d].role must be system, user or assistant", i);
                    break;
                }
                if (bad_content) {
                    FAIL("messages[%d].content must be a string or text parts", i);
                    break;
                }
                r->msgs[i].role = ro;
                r->msgs[i].content = text;
                i++;
            }
            r->req.msgs = r->msgs;
            r->req.n_msgs = (size_t)i;
        }
    }
    cJSON_Delete(o);
    return rc;
}

/* judge_api_status_text: see http-server.h. */
const char *judge_api_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* judge_api_error_json: see http-server.h. */
void judge_api_error_json(struct bz_buf *b, int status, const char *message)
{
    const char *type = status >= 500 ? "server_error" : "invalid_request_error";
    const char *code = status == 404 ? "model_not_found" : status == 405 ? "method_not_allowed"
                       : status == 413 ? "request_too_large" : NULL;
    bz_buf_puts(b, "{\"error\":{\"message\":");
    bz_buf_json_str(b, message, strlen(message));
    bz_buf_printf(b, ",\"type\":\"%s\",\"param\":null,\"code\":", type);
    if (code)
        bz_buf_printf(b, "\"%s\"}}", code);
    else
        bz_buf_puts(b, "null}}");
}

static void usage_json(struct bz_buf *b, const struct judge_result *res)
{
    int p = BZ_MAX(res->prompt_tokens, 0), c = BZ_MAX(res->completion_tokens, 0);
    bz_buf_printf(b, "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                  "\"total_tokens\":%d}", p, c, p + c);
}

static const char *finish_word(const char *f)
{
    /* "cancel" is ours; the API knows stop and length */
    return !strcmp(f, "length") ? "length" : "stop";
}

/* judge_api_answer_json: see http-server.h. */
void judge_api_answer_json(struct bz_buf *b, int kind, const char *id, long created,
                           const char *model, const struct judge_result *res)
{
    const char *text = res->text.p ? res->text.p : "";
    bz_buf_puts(b, "{\"id\":");
    bz_buf_json_str(b, id, strlen(id));
    bz_buf_printf(b, ",\"object\":\"%s\",\"created\":%ld,\"model\":",
                  kind == JUDGE_API_CHAT ? "chat.completion" : "text_completion", created);
    bz_buf_json_str(b, model, strlen(model));
    bz_buf_puts(b, ",\"choices\":[{\"index\":0,");
    if (kind == JUDGE_API_CHAT) {
        bz_buf_puts(b, "\"message\":{\"role\":\"assistant\",\"content\":");
        bz_buf_json_str(b, text, res->text.len);
        bz_buf_puts(b, "},");
    } else {
        bz_buf_puts(b, "\"text\":");
        bz_buf_json_str(b, text, res->text.len);
        bz_buf_puts(b, ",\"logprobs\":null,");
    }
    bz_buf_printf(b, "\"finish_reason\":\"%s\"}],", finish_word(res->finish_reason));
    usage_json(b, res);
    bz_buf_putc(b, '}');
}

/* judge_api_chunk_sse: see http-server.h. */
void judge_api_chunk_sse(struct bz_buf *b, int kind, const char *id, long created,
                         const char *model, const char *text, size_t n, const char *finish,
                         const struct judge_result *usage_only)
{
    bz_buf_puts(b, "data: {\"id\":");
    bz_buf_json_str(b, id, strlen(id));
    bz_buf_printf(b, ",\"object\":\"%s\",\"created\":%ld,\"model\":",
                  kind == JUDGE_API_CHAT ? "chat.completion.chunk" : "text_completion", created);
    bz_buf_json_str(b, model, strlen(model));
    if (usage_only) {
        bz_buf_puts(b, ",\"choices\":[],");
        usage_json(b, usage_only);
        bz_buf_puts(b, "}\n\n");
        return;
    }
    bz_buf_puts(b, ",\"choices\":[{\"index\":0,");
    if (kind == JUDGE_API_CHAT) {
        bz_buf_puts(b, "\"delta\":{");
        if (text) {
            bz_buf_puts(b, "\"role\":\"assistant\",\"content\":");
            bz_buf_json_str(b, text, n);
        }
        bz_buf_puts(b, "},");
    } else {
        bz_buf_puts(b, "\"text\":");
        bz_buf_json_str(b, text ? text : "", text ? n : 0);
        bz_buf_puts(b, ",");
    }
    if (finish)
        bz_buf_printf(b, "\"finish_reason\":\"%s\"}]}\n\n", finish_word(finish));
    else
        bz_buf_puts(b, "\"finish_reason\":null}]}\n\n");
}
