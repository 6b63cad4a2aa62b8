/*
 * test_http.c: the HTTP client against a misbehaving server written here (a thread
 * with a listening socket on 127.0.0.1, port 0, one thread per connection): slow
 * answers, 429 with Retry-After, 500s, resets, truncated streams, invalid JSON, huge
 * bodies. Every request must end as a success after retries or a clear error, within
 * its timeouts, and the server counts each attempt so none is made twice. Also the
 * SSE parser, Retry-After values and quoting.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "judge/backend.h"
#include "judge/http.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- the bad server */

struct bad;
/* Answer request number n (0-based, over the server's life) on socket fd. */
typedef void (*bad_fn)(struct bad *b, int fd, int n);

struct bad {
    int lfd, port;
    atomic_int stop, requests, open, max_open;
    bad_fn fn;
    pthread_t th;
    pthread_t conns[64];
    atomic_int n_conns;
};

struct bad_conn {
    struct bad *b;
    int fd;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Read one request (headers + Content-Length body). 0 ok. */
static int read_request(int fd)
{
    char buf[65536];
    size_t n = 0;
    for (int i = 0; i < 1000 && n < sizeof buf - 1; i++) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        size_t want = cl ? (size_t)atol(cl + 15) : 0;
        if (n >= (size_t)(end + 4 - buf) + want)
            return 0;
    }
    return -1;
}

static void *bad_conn_main(void *arg)
{
    struct bad_conn *c = arg;
    struct bad *b = c->b;
    int open = atomic_fetch_add(&b->open, 1) + 1;
    int m = atomic_load(&b->max_open);
    while (open > m && !atomic_compare_exchange_weak(&b->max_open, &m, open))
        ;
    if (read_request(c->fd) == 0) {
        int n = atomic_fetch_add(&b->requests, 1);
        b->fn(b, c->fd, n);
    }
    atomic_fetch_sub(&b->open, 1);
    close(c->fd);
    free(c);
    return NULL;
}

static void *bad_main(void *arg)
{
    struct bad *b = arg;
    while (!atomic_load(&b->stop)) {
        struct pollfd p = {b->lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int k = atomic_fetch_add(&b->n_conns, 1);
        if (k >= 64) {
            close(fd);
            continue;
        }
        struct bad_conn *c = malloc(sizeof *c);
        c->b = b;
        c->fd = fd;
        pthread_create(&b->conns[k], NULL, bad_conn_main, c);
    }
    return NULL;
}

static void bad_start(struct bad *b, bad_fn fn)
{
    memset(b, 0, sizeof *b);
    b->fn = fn;
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT(bind(b->lfd, (struct sockaddr *)&a, sizeof a) == 0);
    ASSERT(listen(b->lfd, 64) == 0);
    socklen_t len = sizeof a;
    getsockname(b->lfd, (struct sockaddr *)&a, &len);
    b->port = ntohs(a.sin_port);
    pthread_create(&b->th, NULL, bad_main, b);
}

static void bad_stop(struct bad *b)
{
    atomic_store(&b->stop, 1);
    pthread_join(b->th, NULL);
    int n = BZ_MIN(atomic_load(&b->n_conns), 64);
    for (int i = 0; i < n; i++)
        pthread_join(b->conns[i], NULL);
    close(b->lfd);
}

static const char ok_body[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"fine\"},"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1}}";

static void answer_ok(int fd)
{
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(ok_body));
    send_str(fd, h);
    send_str(fd, ok_body);
}

static void answer_status(int fd, int status, const char *extra)
{
    char h[512];
    const char body[] = "{\"error\":{\"message\":\"try later\"}}";
    snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, extra,
             strlen(body), body);
    send_str(fd, h);
}

static void answer_sse(int fd, int chunks, int done)
{
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < chunks; i++)
        send_str(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ab\"},"
                 "\"finish_reason\":null}]}\n\n");
    if (done)
        send_str(fd, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                 "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n");
}

/* ---------------------------------------------------------------- the client side */

struct run {
    struct judge_result res[16];
    int texts[16];         /* text callbacks per request */
    struct bz_buf seen[16];
    double secs;
};

static int count_text(void *ctx, size_t i, const char *text, size_t n)
{
    struct run *r = ctx;
    r->texts[i]++;
    bz_buf_append(&r->seen[i], text, n);
    return 0;
}

static void run_n(struct bad *b, struct run *r, size_t n, int stream,
                  void (*tweak)(struct judge_backend_cfg *))
{
    setenv("no_proxy", "127.0.0.1", 1); /* loopback only, whatever proxy the env names */
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.stream = stream;
    cfg.read_timeout_s = 0.5;
    cfg.connect_timeout_s = 1;
    cfg.backoff_s = 0.02;
    cfg.backoff_max_s = 0.1;
    cfg.max_retries = 3;
    if (tweak)
        tweak(&cfg);
    char spec[128];
    snprintf(spec, sizeof spec, "openai:http://127.0.0.1:%d/v1#m", b->port);
    struct judge_backend *be;
    struct bz_err err = {0};
    ASSERT_OK(judge_backend_open(&be, spec, &cfg, &err), &err);
    struct judge_msg msg = {JUDGE_ROLE_USER, "hello"};
    struct judge_request rq[16];
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        memset(&rq[i], 0, sizeof rq[i]);
        rq[i].msgs = &msg;
        rq[i].n_msgs = 1;
        judge_sampling_defaults(&rq[i].s);
        judge_result_init(&r->res[i]);
        bz_buf_init(&r->seen[i]);
    }
    double t0 = bz_now();
    ASSERT_OK(judge_backend_run(be, rq, n, r->res, count_text, r, NULL), &err);
    r->secs = bz_now() - t0;
    judge_backend_free(be);
}

static void run_cleanup(struct run *r)
{
    for (int i = 0; i < 16; i++) {
        judge_result_cleanup(&r->res[i]);
        bz_buf_cleanup(&r->seen[i]);
    }
}

static void fn_ok(struct bad *b, int fd, int n)
{
    answer_ok(fd);
}

TEST(http_ok_counts_usage)
{
    struct bad b;
    bad_start(&b, fn_ok);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_STR(r.res[0].text.p, "fine");
    ASSERT_EQ_STR(r.res[0].finish_reason, "stop");
    ASSERT_EQ_INT(r.res[0].prompt_tokens, 7);
    ASSERT_EQ_INT(r.res[0].completion_tokens, 1);
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    ASSERT_EQ_INT(r.texts[0], 1);
    ASSERT_EQ_INT(atomic_load(&b.requests), 1);
    run_cleanup(&r);
}

TEST(http_stream_request_answered_whole)
{
    struct bad b;
    bad_start(&b, fn_ok); /* JSON, not a stream, to a stream request */
    struct run r;
    run_n(&b, &r, 1, 1, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_STR(r.res[0].text.p, "fine");
    ASSERT_EQ_STR(r.seen[0].p, "fine");
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    run_cleanup(&r);
}

static void fn_429_then_ok(struct bad *b, int fd, int n)
{
    if (n == 0)
        answer_status(fd, 429, "Retry-After: 1\r\n");
    else
        answer_ok(fd);
}

TEST(http_429_honours_retry_after)
{
    struct bad b;
    bad_start(&b, fn_429_then_ok);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_STR(r.res[0].text.p, "fine");
    ASSERT_EQ_INT(r.res[0].attempts, 2);
    ASSERT_EQ_INT(atomic_load(&b.requests), 2);
    ASSERT(r.secs >= 0.95); /* waited the second the server asked for, not the 0.02 backoff */
    ASSERT(r.secs < 5);
    run_cleanup(&r);
}

static void fn_500_twice(struct bad *b, int fd, int n)
{
    if (n < 2)
        answer_status(fd, n == 0 ? 500 : 503, "");
    else
        answer_ok(fd);
}

TEST(http_500s_retried_then_success)
{
    struct bad b;
    bad_start(&b, fn_500_twice);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_INT(r.res[0].attempts, 3);
    ASSERT_EQ_INT(atomic_load(&b.requests), 3);
    ASSERT_EQ_INT(r.texts[0], 1);
    run_cleanup(&r);
}

static void fn_always_500(struct bad *b, int fd, int n)
{
    answer_status(fd, 500, "");
}

TEST(http_gives_up_after_retries)
{
    struct bad b;
    bad_start(&b, fn_always_500);
    struct run r;
    run_n(&b, &r, 2, 0, NULL);
    bad_stop(&b);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(r.res[i].rc, BZ_EIO);
        ASSERT_EQ_INT(r.res[i].attempts, 4); /* 1 + max_retries 3 */
        ASSERT(strstr(r.res[i].error, "gave up after 4 attempts: HTTP 500"));
        ASSERT(strstr(r.res[i].error, "try later")); /* the body's first bytes */
        ASSERT_EQ_INT(r.res[i].text.len, 0);
        ASSERT_EQ_INT(r.texts[i], 0);
    }
    ASSERT_EQ_INT(atomic_load(&b.requests), 8);
    run_cleanup(&r);
}

static void fn_reset_first(struct bad *b, int fd, int n)
{
    if (n == 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* close sends RST */
        return;
    }
    answer_ok(fd);
}

TEST(http_reset_is_retried)
{
    struct bad b;
    bad_start(&b, fn_reset_first);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_INT(r.res[0].attempts, 2);
    ASSERT_EQ_INT(atomic_load(&b.requests), 2);
    run_cleanup(&r);
}

static void fn_slow(struct bad *b, int fd, int n)
{
    for (int i = 0; i < 40 && !atomic_load(&b->stop); i++)
        usleep(50000); /* 2 s of silence, more than the 0.5 s read timeout */
    answer_ok(fd);
}

TEST(http_slow_server_times_out)
{
    struct bad b;
    bad_start(&b, fn_slow);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    double secs = r.secs;
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_ETIMEDOUT);
    ASSERT_EQ_INT(r.res[0].attempts, 4);
    ASSERT(strstr(r.res[0].error, "read timeout"));
    ASSERT(secs >= 4 * 0.5 && secs < 4 * 0.5 + 1.5); /* four timeouts plus short backoffs */
    run_cleanup(&r);
}

static void fn_sse_ok(struct bad *b, int fd, int n)
{
    answer_sse(fd, 3, 1);
}

TEST(http_sse_stream)
{
    struct bad b;
    bad_start(&b, fn_sse_ok);
    struct run r;
    run_n(&b, &r, 1, 1, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_STR(r.res[0].text.p, "ababab");
    ASSERT_EQ_STR(r.seen[0].p, "ababab");
    ASSERT_EQ_STR(r.res[0].finish_reason, "stop");
    ASSERT_EQ_INT(r.res[0].completion_tokens, 4);
    ASSERT_EQ_INT(r.texts[0], 3);
    run_cleanup(&r);
}

static void fn_sse_truncated(struct bad *b, int fd, int n)
{
    answer_sse(fd, 2, 0);
}

TEST(http_truncated_sse_is_an_error_not_repeated)
{
    struct bad b;
    bad_start(&b, fn_sse_truncated);
    struct run r;
    run_n(&b, &r, 1, 1, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_ECORRUPT);
    ASSERT(strstr(r.res[0].error, "without [DONE]"));
    ASSERT(strstr(r.res[0].error, "not retried"));
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    ASSERT_EQ_INT(atomic_load(&b.requests), 1);
    ASSERT_EQ_STR(r.seen[0].p, "abab"); /* delivered once, never twice */
    run_cleanup(&r);
}

static void fn_sse_empty_then_ok(struct bad *b, int fd, int n)
{
    if (n == 0)
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hi\n\n");
    else
        answer_sse(fd, 1, 1);
}

TEST(http_truncated_before_text_is_retried)
{
    struct bad b;
    bad_start(&b, fn_sse_empty_then_ok);
    struct run r;
    run_n(&b, &r, 1, 1, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, 0);
    ASSERT_EQ_INT(r.res[0].attempts, 2);
    ASSERT_EQ_STR(r.seen[0].p, "ab");
    run_cleanup(&r);
}

static void fn_bad_json(struct bad *b, int fd, int n)
{
    const char body[] = "{\"choices\": [ oops \x01 not json";
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    send_str(fd, h);
    send_str(fd, body);
}

TEST(http_invalid_json_quoted)
{
    struct bad b;
    bad_start(&b, fn_bad_json);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_EPROTO);
    ASSERT(strstr(r.res[0].error, "not a JSON object"));
    ASSERT(strstr(r.res[0].error, "{\"choices\": [ oops \\x01 not json"));
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    ASSERT_EQ_INT(r.res[0].text.len, 0);
    run_cleanup(&r);
}

static void fn_no_content(struct bad *b, int fd, int n)
{
    const char body[] = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\"}}]}";
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    send_str(fd, h);
    send_str(fd, body);
}

TEST(http_missing_content_is_an_error)
{
    struct bad b;
    bad_start(&b, fn_no_content);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_EPROTO);
    ASSERT(strstr(r.res[0].error, "no string choices[0].message.content"));
    run_cleanup(&r);
}

static void fn_huge(struct bad *b, int fd, int n)
{
    send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n{\"choices\":\"");
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    for (int i = 0; i < 6000 && !atomic_load(&b->stop); i++)
        send_all(fd, junk, sizeof junk);
}

static void small_response(struct judge_backend_cfg *c)
{
    c->max_response = 65536;
}

TEST(http_huge_body_refused)
{
    struct bad b;
    bad_start(&b, fn_huge);
    struct run r;
    run_n(&b, &r, 1, 0, small_response);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_EPROTO);
    ASSERT(strstr(r.res[0].error, "over 65536 bytes"));
    /* the error quotes the first bytes of the oversized body, which is {"choices":"xxx... */
    ASSERT(strstr(r.res[0].error, "{\"choices\":\"xxx"));
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    ASSERT(r.secs < 5);
    run_cleanup(&r);
}

static void fn_slow_ok(struct bad *b, int fd, int n)
{
    usleep(100000);
    answer_ok(fd);
}

static void par3(struct judge_backend_cfg *c)
{
    c->parallel = 3;
}

TEST(http_parallel_is_bounded)
{
    struct bad b;
    bad_start(&b, fn_slow_ok);
    struct run r;
    run_n(&b, &r, 10, 0, par3);
    bad_stop(&b);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ_INT(r.res[i].rc, 0);
        ASSERT_EQ_INT(r.res[i].attempts, 1);
    }
    ASSERT_EQ_INT(atomic_load(&b.requests), 10);
    ASSERT(atomic_load(&b.max_open) <= 3);
    ASSERT(atomic_load(&b.max_open) >= 2);
    ASSERT(r.secs >= 0.35); /* 10 requests, 3 at a time, 0.1 s each: 4 rounds */
    run_cleanup(&r);
}

static void fn_400(struct bad *b, int fd, int n)
{
    answer_status(fd, 400, "");
}

TEST(http_client_error_not_retried)
{
    struct bad b;
    bad_start(&b, fn_400);
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    bad_stop(&b);
    ASSERT_EQ_INT(r.res[0].rc, BZ_EPROTO);
    ASSERT_EQ_INT(r.res[0].attempts, 1);
    ASSERT_EQ_INT(r.res[0].http_status, 400);
    ASSERT(strstr(r.res[0].error, "HTTP 400"));
    run_cleanup(&r);
}

TEST(http_connection_refused_gives_up)
{
    struct bad b;
    bad_start(&b, fn_ok);
    bad_stop(&b); /* the port is closed now */
    struct run r;
    run_n(&b, &r, 1, 0, NULL);
    ASSERT_EQ_INT(r.res[0].rc, BZ_EIO);
    ASSERT_EQ_INT(r.res[0].attempts, 4);
    ASSERT(r.secs < 3);
    run_cleanup(&r);
}

/* ---------------------------------------------------------------- pieces */

struct sse_seen {
    struct bz_buf all;
    int n;
};

static int sse_collect(void *ctx, const char *data, size_t n)
{
    struct sse_seen *s = ctx;
    bz_buf_append(&s->all, data, n);
    bz_buf_putc(&s->all, '|');
    s->n++;
    return 0;
}

TEST(http_sse_parser_pieces)
{
    const char in[] = ": comment\r\nevent: x\r\ndata: one\r\n\r\ndata:two\ndata: three\n\n"
                      "id: 4\ndata: {\"a\":1}\n\ndata: [DONE]\n\n";
    for (size_t step = 1; step <= sizeof in; step++) {
        struct judge_http_sse s;
        judge_http_sse_init(&s, 1024);
        struct sse_seen seen = {0};
        bz_buf_init(&seen.all);
        for (size_t i = 0; i < sizeof in - 1; i += step)
            ASSERT_EQ_INT(judge_http_sse_feed(&s, in + i, BZ_MIN(step, sizeof in - 1 - i),
                                              sse_collect, &seen), 0);
        ASSERT_EQ_STR(seen.all.p, "one|two\nthree|{\"a\":1}|");
        ASSERT_EQ_INT(s.done, 1);
        bz_buf_cleanup(&seen.all);
        judge_http_sse_cleanup(&s);
    }
    struct judge_http_sse s;
    judge_http_sse_init(&s, 16);
    struct sse_seen seen = {0};
    ASSERT_EQ_INT(judge_http_sse_feed(&s, "data: 0123456789abcdefghij", 26, sse_collect, &seen),
                  BZ_EPROTO);
    judge_http_sse_cleanup(&s);
}

TEST(http_retry_after_and_quote)
{
    ASSERT_NEAR(judge_http_retry_after(" 3"), 3, 0);
    ASSERT_NEAR(judge_http_retry_after("0.5\r\n"), 0.5, 0);
    ASSERT_NEAR(judge_http_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0, 0); /* past */
    ASSERT(judge_http_retry_after("soon") < 0);
    ASSERT(judge_http_retry_after("-4") < 0);
    char q[32];
    judge_http_quote("ab\n\x01\xffzzzzzzzzzzzzzzzzzzzzzzzzz", 30, 8, q, sizeof q);
    ASSERT_EQ_STR(q, "ab\\n\\x01\\xffzzz...");
}

TEST(http_backend_spec_errors)
{
    struct judge_backend *b;
    struct bz_err err = {0};
    ASSERT_EQ_INT(judge_backend_open(&b, "openai:http://x/v1", NULL, &err), BZ_EUSAGE);
    bz_err_clear(&err);
    ASSERT_EQ_INT(judge_backend_open(&b, "openai:ftp://x/v1#m", NULL, &err), BZ_EUSAGE);
    bz_err_clear(&err);
    ASSERT_EQ_INT(judge_backend_open(&b, "vllm:x", NULL, &err), BZ_EUSAGE);
    ASSERT(strstr(err.msg, "expected local:MODEL[+ADAPTER] or openai:URL#MODEL"));
    bz_err_clear(&err);
    ASSERT_EQ_INT(judge_backend_open(&b, "local:", NULL, &err), BZ_EUSAGE);
    bz_err_clear(&err);
    ASSERT_OK(judge_backend_open(&b, "openai:https://h.example/v1/chat/completions#big", NULL,
                                 &err), &err);
    ASSERT_EQ_STR(judge_backend_model(b), "big");
    judge_backend_free(b);
}
