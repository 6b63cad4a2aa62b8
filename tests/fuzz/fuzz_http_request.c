/*
 * fuzz_http_request.c: the server's request path on arbitrary bytes: requests cut by
 * judge_httpd_conn from a stream fed in pieces (the first byte picks the piece size),
 * pipelined requests taken one by one, each body checked by judge_api_parse as a chat
 * and as a completions request, and the answer bodies written from what was parsed.
 * Whatever happens: no crash or leak, an error carries a status and words, a parsed
 * request is consistent, and every JSON body written parses again.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "judge/http-server.h"

static void check_json(const char *p, size_t n)
{
    cJSON *o = cJSON_ParseWithLength(p, n);
    if (!o)
        abort();
    cJSON_Delete(o);
}

static void one_body(const char *body, size_t n, int kind)
{
    struct judge_api_req r;
    char msg[256];
    int st = judge_api_parse(&r, kind, body, n, 512, msg, sizeof msg);
    struct bz_buf b;
    bz_buf_init(&b);
    if (st) {
        if (st != 400 || !msg[0])
            abort();
        judge_api_error_json(&b, st, msg);
        check_json(b.p, b.len);
    } else {
        if (kind == JUDGE_API_CHAT && (r.req.n_msgs < 1 || !r.req.msgs))
            abort();
        if (kind == JUDGE_API_COMPLETIONS && !r.req.prompt)
            abort();
        if (r.req.s.max_tokens < 1 || r.req.s.max_tokens > 512 || r.req.s.n_stop > 8)
            abort();
        for (size_t i = 0; i < r.req.n_msgs; i++)
            if (r.req.msgs[i].role < 0 || r.req.msgs[i].role > 2 || !r.req.msgs[i].content)
                abort();
        struct judge_result res;
        judge_result_init(&res);
        const char *t = r.req.prompt ? r.req.prompt : r.req.msgs[r.req.n_msgs - 1].content;
        bz_buf_puts(&res.text, t);
        snprintf(res.finish_reason, sizeof res.finish_reason, "length");
        const char *model = r.model ? r.model : "m";
        judge_api_answer_json(&b, kind, "id-1", 1, model, &res);
        check_json(b.p, b.len);
        b.len = 0;
        judge_api_chunk_sse(&b, kind, "id-1", 1, model, t, strlen(t), NULL, NULL);
        if (b.len < 8 || memcmp(b.p, "data: ", 6))
            abort();
        check_json(b.p + 6, b.len - 8);
        judge_result_cleanup(&res);
    }
    bz_buf_cleanup(&b);
    judge_api_req_cleanup(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] % 16) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct judge_httpd_conn c;
    judge_httpd_conn_init(&c, 2048, 4096);
    size_t off = 0, fed = 0;
    int requests = 0;
    /* feed growing prefixes piece by piece; take each complete request */
    while (off < n && requests < 64) {
        fed = fed + piece < n ? fed + piece : n;
        while (off < fed && requests < 64) {
            size_t used = judge_httpd_conn_feed(&c, p + off, fed - off);
            off += used;
            if (c.error_status) {
                if (c.error_status != 400 && c.error_status != 413 && c.error_status != 431)
                    abort();
                if (!c.error_msg[0])
                    abort();
                off = n;
                break;
            }
            if (!c.ready) {
                if (off != fed)
                    abort(); /* without a request, all bytes are taken */
                break;
            }
            requests++;
            char path[128];
            judge_httpd_path(&c.req, path, sizeof path);
            if (c.req.body.len > 4096)
                abort();
            one_body(c.req.body.p ? c.req.body.p : "", c.req.body.len, JUDGE_API_CHAT);
            one_body(c.req.body.p ? c.req.body.p : "", c.req.body.len, JUDGE_API_COMPLETIONS);
            judge_httpd_conn_next(&c);
        }
    }
    judge_httpd_conn_cleanup(&c);
    return 0;
}
