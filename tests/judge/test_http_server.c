/*
 * test_http_server.c: the transport-free server half: requests cut from byte streams
 * (pieces, pipelining, chunked bodies, limits), API bodies checked and converted, and
 * the answer bodies (whole, SSE chunks, errors) parse back as the API's JSON.
 */
#include <cjson/cJSON.h>

#include "judge/http-server.h"
#include "tests/test.h"

TEST(http_server_cuts_pipelined_requests_fed_bytewise)
{
    const char in[] = "POST /v1/completions?x=1 HTTP/1.1\r\nContent-Length: 14\r\n\r\n"
                      "{\"prompt\":\"a\"}"
                      "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\n{\"m\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n"
                      "GET /v1/models HTTP/1.0\r\n\r\n";
    struct judge_httpd_conn c;
    judge_httpd_conn_init(&c, 1024, 1024);
    size_t off = 0, fed = 0;
    int got = 0;
    char path[64];
    while (off < sizeof in - 1) {
        fed = BZ_MAX(fed, off) + 1; /* one more byte each turn */
        off += judge_httpd_conn_feed(&c, in + off, fed - off);
        ASSERT_EQ_INT(c.error_status, 0);
        if (!c.ready)
            continue;
        judge_httpd_path(&c.req, path, sizeof path);
        if (got == 0) {
            ASSERT_EQ_STR(path, "/v1/completions");
            ASSERT_EQ_INT(c.req.method, HTTP_POST);
            ASSERT_EQ_STR(c.req.body.p, "{\"prompt\":\"a\"}");
            ASSERT_EQ_INT(c.req.keep_alive, 1);
        } else if (got == 1) {
            ASSERT_EQ_STR(path, "/v1/chat/completions");
            ASSERT_EQ_STR(c.req.body.p, "{\"m\":1}");
        } else {
            ASSERT_EQ_STR(path, "/v1/models");
            ASSERT_EQ_INT(c.req.method, HTTP_GET);
            ASSERT_EQ_INT(c.req.keep_alive, 0); /* HTTP/1.0 without keep-alive */
        }
        got++;
        judge_httpd_conn_next(&c);
    }
    ASSERT_EQ_INT(got, 3);
    judge_httpd_conn_cleanup(&c);
}

static int feed_status(const char *in, size_t max_header, size_t max_body)
{
    struct judge_httpd_conn c;
    judge_httpd_conn_init(&c, max_header, max_body);
    judge_httpd_conn_feed(&c, in, strlen(in));
    int st = c.error_status;
    if (st)
        ASSERT(c.error_msg[0]);
    judge_httpd_conn_cleanup(&c);
    return st;
}

TEST(http_server_limits_and_garbage)
{
    ASSERT_EQ_INT(feed_status("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 1024, 100), 413);
    ASSERT_EQ_INT(feed_status("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 1024, 100), 0);
    ASSERT_EQ_INT(feed_status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "80\r\n", 1024, 100), 0);
    char chunked[512];
    snprintf(chunked, sizeof chunked, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "40\r\n%064d\r\n40\r\n%064d\r\n", 0, 0);
    ASSERT_EQ_INT(feed_status(chunked, 1024, 100), 413);
    char big[2048];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX: %01200d\r\n\r\n", 0);
    ASSERT_EQ_INT(feed_status(big, 1024, 100), 431);
    ASSERT_EQ_INT(feed_status("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1024, 100), 400);
    ASSERT_EQ_INT(feed_status("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                              1024, 100), 400);
}

static int parse(int kind, const char *body, struct judge_api_req *r, char *msg)
{
    return judge_api_parse(r, kind, body, strlen(body), 100, msg, 256);
}

TEST(http_server_api_bodies)
{
    struct judge_api_req r;
    char msg[256];
    ASSERT_EQ_INT(parse(JUDGE_API_CHAT,
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"developer\",\"content\":\"S\"},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                        "{\"type\":\"text\",\"text\":\"b\"}]}],\"stop\":[\"x\",\"\",\"y\"],"
                        "\"max_tokens\":1000,\"temperature\":0,\"seed\":5,\"stream\":true,"
                        "\"stream_options\":{\"include_usage\":true}}", &r, msg), 0);
    ASSERT_EQ_STR(r.model, "m");
    ASSERT_EQ_INT(r.req.n_msgs, 2);
    ASSERT_EQ_INT(r.req.msgs[0].role, JUDGE_ROLE_SYSTEM);
    ASSERT_EQ_STR(r.req.msgs[1].content, "ab");
    ASSERT_EQ_INT(r.req.s.n_stop, 2); /* the empty stop string is dropped */
    ASSERT_EQ_STR(r.req.s.stop[1], "y");
    ASSERT_EQ_INT(r.req.s.max_tokens, 100); /* capped */
    ASSERT_EQ_INT(r.req.s.has_seed, 1);
    ASSERT_EQ_INT(r.stream, 1);
    ASSERT_EQ_INT(r.include_usage, 1);
    judge_api_req_cleanup(&r);
    ASSERT_EQ_INT(parse(JUDGE_API_COMPLETIONS, "{\"prompt\":[\"p\"]}", &r, msg), 0);
    ASSERT_EQ_STR(r.req.prompt, "p");
    ASSERT_NEAR(r.req.s.temperature, 1, 0); /* the API's default */
    judge_api_req_cleanup(&r);
    static const char *const bad[] = {
        "{\"prompt\":3}", "[1]", "{\"prompt\":\"a\",\"n\":2}", "{\"prompt\":\"a\",\"top_p\":0}",
        "{\"prompt\":\"a\",\"max_tokens\":0}", "{\"prompt\":\"a\",\"max_tokens\":1.5}",
        "{\"prompt\":\"a\",\"stop\":[1]}", "{\"prompt\":\"a\",\"stream\":1}",
        "{\"prompt\":\"a\",\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}",
        "{\"prompt\":\"a\",\"model\":7}", "{\"prompt\":\"a\" \"b\"}",
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(bad); i++) {
        msg[0] = 0;
        ASSERT_EQ_INT(parse(JUDGE_API_COMPLETIONS, bad[i], &r, msg), 400);
        ASSERT(msg[0]);
        judge_api_req_cleanup(&r);
    }
    ASSERT_EQ_INT(parse(JUDGE_API_CHAT, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
                        &r, msg), 400);
    ASSERT(strstr(msg, "messages[0].role"));
    judge_api_req_cleanup(&r);
}

TEST(http_server_answer_bodies_parse)
{
    struct judge_result res;
    judge_result_init(&res);
    bz_buf_puts(&res.text, "tab\t\"quote\" \xc3\xa9 \x01");
    res.prompt_tokens = 3;
    res.completion_tokens = 4;
    snprintf(res.finish_reason, sizeof res.finish_reason, "cancel");
    struct bz_buf b;
    bz_buf_init(&b);
    judge_api_answer_json(&b, JUDGE_API_CHAT, "id", 5, "m\"x", &res);
    cJSON *o = cJSON_Parse(b.p);
    ASSERT(o);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    ASSERT_EQ_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "message"), "content")->valuestring,
                  res.text.p);
    ASSERT_EQ_STR(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "usage"), "total_tokens")->valueint,
                  7);
    ASSERT_EQ_STR(cJSON_GetObjectItem(o, "model")->valuestring, "m\"x");
    cJSON_Delete(o);
    b.len = 0;
    judge_api_chunk_sse(&b, JUDGE_API_COMPLETIONS, "id", 5, "m", "ab", 2, NULL, NULL);
    ASSERT(!strncmp(b.p, "data: {", 7) && !strcmp(b.p + b.len - 2, "\n\n"));
    o = cJSON_Parse(b.p + 6);
    ASSERT(o);
    c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    ASSERT_EQ_STR(cJSON_GetObjectItem(c0, "text")->valuestring, "ab");
    ASSERT(cJSON_IsNull(cJSON_GetObjectItem(c0, "finish_reason")));
    cJSON_Delete(o);
    b.len = 0;
    judge_api_error_json(&b, 404, "no \"such\" model");
    o = cJSON_Parse(b.p);
    ASSERT(o);
    cJSON *e = cJSON_GetObjectItem(o, "error");
    ASSERT_EQ_STR(cJSON_GetObjectItem(e, "message")->valuestring, "no \"such\" model");
    ASSERT_EQ_STR(cJSON_GetObjectItem(e, "code")->valuestring, "model_not_found");
    cJSON_Delete(o);
    bz_buf_cleanup(&b);
    judge_result_cleanup(&res);
}
