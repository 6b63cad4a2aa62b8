/*
 * test_backend.c: the OpenAI client against `bezoar serve`'s server running
 * stories260K on loopback (in this process, on its own libuv loop and thread): answers
 * streamed and whole equal the local backend's for greedy and seeded settings, with
 * and without an adapter; then the server's robustness on raw sockets: pipelining,
 * concurrency beyond the slots, half-sent requests, oversized headers and bodies,
 * invalid UTF-8, bad JSON, unknown models and methods, a client that leaves
 * mid-stream.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/core.h"
#include "judge/backend.h"
#include "tests/test.h"
#include "tui/serve.h"

/* ---------------------------------------------------------------- a server thread */

struct srv {
    uv_loop_t loop;
    uv_async_t stop;
    struct tui_serve *s;
    struct judge_local *l;
    pthread_t th;
    int port;
    char url[64];
};

static void srv_stopped(void *ctx)
{
    struct srv *v = ctx;
    uv_close((uv_handle_t *)&v->stop, NULL);
}

static void srv_stop_cb(uv_async_t *a)
{
    struct srv *v = a->data;
    tui_serve_stop(v->s, 1, srv_stopped, v);
}

static void *srv_main(void *arg)
{
    struct srv *v = arg;
    uv_run(&v->loop, UV_RUN_DEFAULT);
    return NULL;
}

static const char *model_path(void)
{
    return test_data("models/stories260K.gguf");
}

static void srv_start(struct srv *v, int parallel, const char *adapter, double idle_s, int n_ctx)
{
    memset(v, 0, sizeof *v);
    setenv("no_proxy", "127.0.0.1", 1); /* loopback only, whatever proxy the env names */
    struct bz_err err = {0};
    ASSERT_OK(judge_local_open(&v->l, model_path(), "alpaca", &err), &err);
    if (adapter)
        ASSERT(judge_local_add_lora(v->l, "ad", adapter, &err) == 0);
    uv_loop_init(&v->loop);
    struct tui_serve_cfg cfg;
    tui_serve_cfg_defaults(&cfg);
    cfg.port = 0;
    cfg.parallel = parallel;
    cfg.threads = parallel;
    cfg.n_ctx = n_ctx;
    cfg.max_body = 65536;
    cfg.max_header = 4096;
    cfg.idle_timeout_s = idle_s;
    ASSERT_OK(tui_serve_start(&v->s, &v->loop, v->l, &cfg, &err), &err);
    v->port = tui_serve_port(v->s);
    snprintf(v->url, sizeof v->url, "http://127.0.0.1:%d/v1", v->port);
    uv_async_init(&v->loop, &v->stop, srv_stop_cb);
    v->stop.data = v;
    pthread_create(&v->th, NULL, srv_main, v);
}

static void srv_stop(struct srv *v)
{
    uv_async_send(&v->stop);
    pthread_join(v->th, NULL);
    tui_serve_free(v->s);
    judge_local_free(v->l);
    ASSERT_EQ_INT(uv_loop_close(&v->loop), 0);
}

/* ---------------------------------------------------------------- client vs local */

#define NREQ 5

static const struct judge_msg chat1[] = {{JUDGE_ROLE_USER, "Tell me a story about a cat."}};
static const struct judge_msg chat2[] = {
    {JUDGE_ROLE_SYSTEM, "You write for children."},
    {JUDGE_ROLE_USER, "Who is Lily?"},
    {JUDGE_ROLE_ASSISTANT, "Lily is a girl."},
    {JUDGE_ROLE_USER, "What does she like?"},
};

static void make_requests(struct judge_request *rq)
{
    memset(rq, 0, NREQ * sizeof *rq);
    for (int i = 0; i < NREQ; i++) {
        judge_sampling_defaults(&rq[i].s);
        rq[i].s.max_tokens = 40;
    }
    rq[0].prompt = "Once upon a time";
    rq[1].prompt = "Lily and Ben went to the park";
    rq[1].s.stop[0] = " the";
    rq[1].s.n_stop = 1;
    rq[2].msgs = chat1;
    rq[2].n_msgs = 1;
    rq[3].msgs = chat2;
    rq[3].n_msgs = 4;
    rq[4].prompt = "The dog"; /* sampled: the seed makes it reproducible */
    rq[4].s.temperature = 0.9f;
    rq[4].s.top_p = 0.9f;
    rq[4].s.has_seed = 1;
    rq[4].s.seed = 42;
}

struct streamed {
    struct bz_buf text[NREQ];
    pthread_t owner;  /* the thread that called judge_backend_run */
    int other_thread; /* pieces that arrived on another thread */
    int stop_first;   /* return nonzero on request 0's first piece */
};

static int on_text(void *ctx, size_t i, const char *text, size_t n)
{
    struct streamed *s = ctx;
    bz_buf_append(&s->text[i], text, n);
    s->other_thread += !pthread_equal(pthread_self(), s->owner);
    return s->stop_first && i == 0;
}

/* slots > 1: that many local slots of one thread each. */
static void run_slots(const char *spec, int stream, int parallel, int slots,
                      struct judge_result *res, struct streamed *st)
{
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.stream = stream;
    cfg.parallel = parallel;
    cfg.template_name = "alpaca";
    cfg.threads = slots;
    cfg.local_slots = slots;
    cfg.read_timeout_s = 20;
    struct judge_backend *b;
    struct bz_err err = {0};
    ASSERT_OK(judge_backend_open(&b, spec, &cfg, &err), &err);
    struct judge_request rq[NREQ];
    make_requests(rq);
    for (int i = 0; i < NREQ; i++) {
        judge_result_init(&res[i]);
        bz_buf_init(&st->text[i]);
    }
    st->owner = pthread_self();
    st->other_thread = 0;
    ASSERT_OK(judge_backend_run(b, rq, NREQ, res, on_text, st, NULL), &err);
    ASSERT_EQ_INT(st->other_thread, 0);
    for (int i = 0; i < NREQ; i++) {
        if (res[i].rc)
            fprintf(stderr, "%s request %d: %s\n", spec, i, res[i].error);
        ASSERT_EQ_INT(res[i].rc, 0);
        ASSERT_EQ_STR(st->text[i].p ? st->text[i].p : "", res[i].text.p ? res[i].text.p : "");
    }
    judge_backend_free(b);
}

static void run_spec(const char *spec, int stream, int parallel, struct judge_result *res,
                     struct streamed *st)
{
    run_slots(spec, stream, parallel, 1, res, st);
}

static void same_answers(struct judge_result *a, struct judge_result *b)
{
    for (int i = 0; i < NREQ; i++) {
        ASSERT(a[i].text.len > 0);
        ASSERT_EQ_STR(a[i].text.p, b[i].text.p);
        ASSERT_EQ_STR(a[i].finish_reason, b[i].finish_reason);
        ASSERT_EQ_INT(a[i].prompt_tokens, b[i].prompt_tokens);
        ASSERT_EQ_INT(a[i].completion_tokens, b[i].completion_tokens);
    }
}

static void free_all(struct judge_result *res, struct streamed *st)
{
    for (int i = 0; i < NREQ; i++) {
        judge_result_cleanup(&res[i]);
        bz_buf_cleanup(&st->text[i]);
    }
}

TEST(backend_serve_equals_local)
{
    char spec[512];
    snprintf(spec, sizeof spec, "local:%s", model_path());
    struct judge_result loc[NREQ], whole[NREQ], sse[NREQ];
    struct streamed s1, s2, s3;
    run_spec(spec, 0, 1, loc, &s1);
    /* the known greedy continuation (the e2e test's llama2.c reference starts so) */
    ASSERT(!strncmp(loc[0].text.p, ", there was a little girl", 25));
    ASSERT_EQ_STR(loc[0].finish_reason, "length");
    ASSERT_EQ_INT(loc[0].completion_tokens, 40);
    ASSERT_EQ_STR(loc[1].finish_reason, "stop"); /* the stop string " the" */
    ASSERT(!strstr(loc[1].text.p, " the"));
    struct srv v;
    srv_start(&v, 2, NULL, 10, 0);
    snprintf(spec, sizeof spec, "openai:%s#stories260K", v.url);
    run_spec(spec, 0, 4, whole, &s2);
    run_spec(spec, 1, 4, sse, &s3);
    struct tui_serve_stats st;
    tui_serve_stats(v.s, &st);
    srv_stop(&v);
    ASSERT_EQ_INT(st.requests, 2 * NREQ);
    same_answers(loc, whole);
    same_answers(loc, sse);
    free_all(loc, &s1);
    free_all(whole, &s2);
    free_all(sse, &s3);
}

TEST(backend_local_slots_answer_alike)
{
    /* three slots of one thread each run the batch at once; every answer equals the
     * one-slot answer, and the text still reaches the callback on this thread */
    char spec[512];
    snprintf(spec, sizeof spec, "local:%s", model_path());
    struct judge_result one[NREQ], three[NREQ], stopped[NREQ];
    struct streamed s1 = {0}, s3 = {0}, s4 = {.stop_first = 1};
    run_slots(spec, 0, 1, 1, one, &s1);
    run_slots(spec, 0, 1, 3, three, &s3);
    same_answers(one, three);
    /* a callback that says stop ends that request only */
    run_slots(spec, 0, 1, 3, stopped, &s4);
    ASSERT_EQ_STR(stopped[0].finish_reason, "cancel");
    ASSERT(stopped[0].text.len < one[0].text.len);
    for (int i = 1; i < NREQ; i++)
        ASSERT_EQ_STR(stopped[i].text.p, one[i].text.p);
    free_all(one, &s1);
    free_all(three, &s3);
    free_all(stopped, &s4);
}

struct one_call {
    struct judge_backend *b;
    struct judge_request rq[NREQ];
    struct judge_result res[NREQ];
    int i;
};

static void *call_one(void *arg)
{
    struct one_call *c = arg;
    judge_result_init(&c->res[c->i]);
    judge_backend_run(c->b, &c->rq[c->i], 1, &c->res[c->i], NULL, NULL, NULL);
    return NULL;
}

TEST(backend_local_concurrent_calls)
{
    /* one request per thread, all at once, on a two-slot backend: each call takes a
     * free slot (or waits for one) and answers as the one-slot backend does */
    char spec[512];
    snprintf(spec, sizeof spec, "local:%s", model_path());
    struct judge_result one[NREQ];
    struct streamed s1 = {0};
    run_slots(spec, 0, 1, 1, one, &s1);
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.template_name = "alpaca";
    cfg.threads = 2;
    cfg.local_slots = 2;
    struct one_call c[NREQ];
    struct bz_err err = {0};
    struct judge_backend *b;
    ASSERT_OK(judge_backend_open(&b, spec, &cfg, &err), &err);
    pthread_t th[NREQ];
    for (int i = 0; i < NREQ; i++) {
        c[i].b = b, c[i].i = i;
        make_requests(c[i].rq);
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, call_one, &c[i]), 0);
    }
    for (int i = 0; i < NREQ; i++)
        pthread_join(th[i], NULL);
    ASSERT_EQ_INT(judge_backend_run(b, c[0].rq, 0, NULL, NULL, NULL, NULL), 0);
    judge_backend_free(b);
    for (int i = 0; i < NREQ; i++) {
        ASSERT_EQ_INT(c[i].res[i].rc, 0);
        ASSERT_EQ_STR(c[i].res[i].text.p, one[i].text.p);
        judge_result_cleanup(&c[i].res[i]);
    }
    free_all(one, &s1);
}

TEST(backend_serve_adapter_by_name)
{
    struct bz_err err = {0};
    struct core_model *m;
    ASSERT_OK(core_model_open(&m, model_path(), &err), &err);
    struct core_lora lora;
    ASSERT_OK(core_lora_init(&lora, m, (1u << CORE_LORA_Q) | (1u << CORE_LORA_V) |
                             (1u << CORE_LORA_UP), 4, 8, 0, &err), &err);
    uint64_t x = 7;
    for (int l = 0; l < lora.n_layers; l++)
        for (int t = 0; t < CORE_LORA_NTARGETS; t++) {
            struct core_lora_pair *p = &lora.pairs[l * CORE_LORA_NTARGETS + t];
            if (!p->a)
                continue;
            for (int k = 0; k < p->r * p->c_in; k++)
                x = x * 6364136223846793005ull + 1, p->a[k] = ((x >> 40) / 16777216.0f - 0.5f);
            for (int k = 0; k < p->c_out * p->r; k++)
                x = x * 6364136223846793005ull + 1, p->b[k] = ((x >> 40) / 16777216.0f - 0.5f);
        }
    const char *ad = test_tmp("ad.gguf");
    char adpath[512];
    snprintf(adpath, sizeof adpath, "%s", ad);
    ASSERT_OK(core_lora_save_gguf(&lora, m, adpath, &err), &err);
    core_lora_cleanup(&lora);
    core_model_free(m);

    char spec[1100];
    snprintf(spec, sizeof spec, "local:%s+%s", model_path(), adpath);
    struct judge_result loc[NREQ], base[NREQ], rem[NREQ];
    struct streamed s1, s2, s3;
    run_spec(spec, 0, 1, loc, &s1);
    struct srv v;
    srv_start(&v, 1, adpath, 10, 0);
    snprintf(spec, sizeof spec, "openai:%s#ad", v.url);
    run_spec(spec, 1, 2, rem, &s2);
    snprintf(spec, sizeof spec, "openai:%s#stories260K", v.url);
    run_spec(spec, 0, 2, base, &s3);
    srv_stop(&v);
    same_answers(loc, rem);
    ASSERT(strcmp(base[0].text.p, loc[0].text.p) != 0); /* the adapter changes the answer */
    free_all(loc, &s1);
    free_all(rem, &s2);
    free_all(base, &s3);
}

/* ---------------------------------------------------------------- raw sockets */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static void put(int fd, const char *p, size_t n)
{
    ASSERT_EQ_INT(send(fd, p, n, MSG_NOSIGNAL), (long long)n);
}

/* Read until the server closes or `secs` pass; returns what came (caller frees). */
static char *drain(int fd, double secs, size_t *len)
{
    struct bz_buf b;
    bz_buf_init(&b);
    double end = bz_now() + secs;
    for (;;) {
        double left = end - bz_now();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            break;
        char buf[8192];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        bz_buf_append(&b, buf, (size_t)r);
    }
    *len = b.len;
    if (!b.p)
        bz_buf_putc(&b, 0);
    return bz_buf_steal(&b);
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

/* One request on a fresh connection; returns the whole answer (Connection: close). */
static char *ask(int port, const char *raw, size_t n)
{
    int fd = dial(port);
    put(fd, raw, n);
    size_t len;
    char *out = drain(fd, 10, &len);
    close(fd);
    return out;
}

/* method path body, Connection: close. */
static char *askf(int port, const char *method, const char *path, const char *body)
{
    char raw[4096];
    int n = snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s", method, path, strlen(body), body);
    return ask(port, raw, (size_t)n);
}

TEST(backend_serve_bad_requests)
{
    struct srv v;
    srv_start(&v, 1, NULL, 10, 0);
    char *r;
    r = askf(v.port, "POST", "/v1/completions", "{\"prompt\": \"a\"");
    ASSERT(!strncmp(r, "HTTP/1.1 400 ", 13));
    ASSERT(strstr(r, "{\"error\":{\"message\":\"the body is not valid JSON\""));
    free(r);
    r = askf(v.port, "POST", "/v1/completions", "{\"prompt\": \"\xff\xfe\"}");
    ASSERT(!strncmp(r, "HTTP/1.1 400 ", 13));
    ASSERT(strstr(r, "not valid UTF-8"));
    free(r);
    r = askf(v.port, "POST", "/v1/completions", "{\"prompt\":\"a\",\"model\":\"gpt-9\"}");
    ASSERT(!strncmp(r, "HTTP/1.1 404 ", 13));
    ASSERT(strstr(r, "\"code\":\"model_not_found\""));
    free(r);
    r = askf(v.port, "GET", "/v1/chat/completions", "");
    ASSERT(!strncmp(r, "HTTP/1.1 405 ", 13));
    ASSERT(strstr(r, "Allow: POST"));
    free(r);
    r = askf(v.port, "DELETE", "/v1/models", "");
    ASSERT(!strncmp(r, "HTTP/1.1 405 ", 13));
    free(r);
    r = askf(v.port, "GET", "/v2/else", "");
    ASSERT(!strncmp(r, "HTTP/1.1 404 ", 13));
    free(r);
    r = askf(v.port, "POST", "/v1/chat/completions", "{\"messages\":[]}");
    ASSERT(!strncmp(r, "HTTP/1.1 400 ", 13));
    ASSERT(strstr(r, "non-empty array"));
    free(r);
    r = askf(v.port, "POST", "/v1/completions", "{\"prompt\":\"a\",\"temperature\":9}");
    ASSERT(!strncmp(r, "HTTP/1.1 400 ", 13));
    free(r);
    const char junk[] = "GARBAGE\x01\x02 / HTTP/9\r\n\r\n";
    r = ask(v.port, junk, sizeof junk - 1);
    ASSERT(!strncmp(r, "HTTP/1.1 400 ", 13));
    ASSERT(strstr(r, "malformed HTTP request"));
    free(r);
    /* a body over the limit is refused from its Content-Length, before it is sent */
    const char big[] = "POST /v1/completions HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n{";
    r = ask(v.port, big, sizeof big - 1);
    ASSERT(!strncmp(r, "HTTP/1.1 413 ", 13));
    ASSERT(strstr(r, "\"code\":\"request_too_large\""));
    free(r);
    /* a chunked body that grows over the limit */
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_puts(&b, "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 80; i++) {
        bz_buf_puts(&b, "400\r\n");
        for (int k = 0; k < 1024; k++)
            bz_buf_putc(&b, 'x');
        bz_buf_puts(&b, "\r\n");
    }
    int fd = dial(v.port);
    send(fd, b.p, b.len, MSG_NOSIGNAL); /* the server may close before it has all */
    size_t len;
    r = drain(fd, 5, &len);
    close(fd);
    ASSERT(!strncmp(r, "HTTP/1.1 413 ", 13));
    free(r);
    /* oversized headers */
    b.len = 0;
    bz_buf_puts(&b, "GET /v1/models HTTP/1.1\r\nX-Big: ");
    for (int k = 0; k < 8000; k++)
        bz_buf_putc(&b, 'y');
    bz_buf_puts(&b, "\r\n\r\n");
    r = ask(v.port, b.p, b.len);
    ASSERT(!strncmp(r, "HTTP/1.1 431 ", 13));
    free(r);
    bz_buf_cleanup(&b);
    /* still serving */
    r = askf(v.port, "GET", "/v1/models", "");
    ASSERT(!strncmp(r, "HTTP/1.1 200 ", 13));
    ASSERT(strstr(r, "\"id\":\"stories260K\""));
    free(r);
    srv_stop(&v);
}

TEST(backend_serve_pipelined)
{
    struct srv v;
    srv_start(&v, 1, NULL, 10, 0);
    const char body[] = "{\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"temperature\":0}";
    char raw[2048];
    int n = snprintf(raw, sizeof raw,
                     "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                     "POST /v1/completions HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s"
                     "POST /v1/completions HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s"
                     "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
                     strlen(body), body, strlen(body), body);
    int fd = dial(v.port);
    /* in two pieces, the cut inside the second request's body */
    put(fd, raw, (size_t)n - 80);
    usleep(20000);
    put(fd, raw + n - 80, 80);
    size_t len;
    char *r = drain(fd, 10, &len);
    close(fd);
    srv_stop(&v);
    ASSERT_EQ_INT(count(r, "HTTP/1.1 200 OK"), 4);
    char *a = strstr(r, "\"object\":\"list\"");
    char *b = strstr(r, ", there was a little");
    char *c = b ? strstr(b + 1, ", there was a little") : NULL;
    char *d = strstr(r, "{\"status\":\"ok\"}");
    ASSERT(a && b && c && d && a < b && b < c && c < d); /* answered in order */
    free(r);
}

TEST(backend_serve_half_sent_request_times_out)
{
    struct srv v;
    srv_start(&v, 1, NULL, 0.3, 0);
    int fd = dial(v.port);
    const char part[] = "POST /v1/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"pro";
    put(fd, part, sizeof part - 1);
    double t0 = bz_now();
    size_t len;
    char *r = drain(fd, 5, &len);
    double secs = bz_now() - t0;
    close(fd);
    /* an idle keep-alive connection is closed without a word */
    int fd2 = dial(v.port);
    char *r2 = drain(fd2, 5, &len);
    close(fd2);
    srv_stop(&v);
    ASSERT(!strncmp(r, "HTTP/1.1 408 ", 13));
    ASSERT(secs < 2);
    ASSERT_EQ_INT(len, 0);
    free(r);
    free(r2);
}

TEST(backend_serve_client_leaving_frees_the_slot)
{
    struct srv v;
    srv_start(&v, 1, NULL, 10, 4096);
    /* a long sampled stream (4000 tokens at temperature 1.5 take many seconds) */
    const char body[] = "{\"prompt\":\"Once\",\"max_tokens\":4000,\"temperature\":1.5,\"seed\":1,"
                        "\"stream\":true}";
    char raw[512];
    int n = snprintf(raw, sizeof raw, "POST /v1/completions HTTP/1.1\r\nContent-Length: %zu"
                     "\r\n\r\n%s", strlen(body), body);
    int fd = dial(v.port);
    put(fd, raw, (size_t)n);
    char buf[4096];
    struct pollfd p = {fd, POLLIN, 0};
    ASSERT(poll(&p, 1, 10000) == 1);
    ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
    ASSERT(got > 0);
    buf[got] = 0;
    ASSERT(strstr(buf, "text/event-stream"));
    close(fd); /* gone mid-stream */
    double t0 = bz_now();
    struct tui_serve_stats st;
    do {
        usleep(10000);
        tui_serve_stats(v.s, &st);
    } while ((st.cancelled < 1 || st.running) && bz_now() - t0 < 5);
    ASSERT_EQ_INT(st.cancelled, 1);
    ASSERT_EQ_INT(st.running, 0);
    /* the one slot answers the next request at once */
    char *r = askf(v.port, "POST", "/v1/completions",
                   "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
    ASSERT(bz_now() - t0 < 5);
    srv_stop(&v);
    ASSERT(strstr(r, "\"text\":\", there was a little girl\""));
    free(r);
}

TEST(backend_serve_queue_beyond_slots)
{
    struct srv v;
    srv_start(&v, 2, NULL, 10, 0);
    char spec[128];
    snprintf(spec, sizeof spec, "openai:%s#stories260K", v.url);
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.parallel = 8;
    cfg.stream = 1;
    cfg.max_retries = 0; /* nothing may fail */
    struct judge_backend *b;
    struct bz_err err = {0};
    ASSERT_OK(judge_backend_open(&b, spec, &cfg, &err), &err);
    struct judge_request rq[12];
    struct judge_result res[12];
    for (int i = 0; i < 12; i++) {
        memset(&rq[i], 0, sizeof rq[i]);
        judge_sampling_defaults(&rq[i].s);
        rq[i].prompt = i % 2 ? "Lily" : "Once upon a time";
        rq[i].s.max_tokens = 16;
        judge_result_init(&res[i]);
    }
    ASSERT_OK(judge_backend_run(b, rq, 12, res, NULL, NULL, NULL), &err);
    struct tui_serve_stats st;
    tui_serve_stats(v.s, &st);
    judge_backend_free(b);
    srv_stop(&v);
    for (int i = 0; i < 12; i++) {
        ASSERT_EQ_INT(res[i].rc, 0);
        ASSERT_EQ_INT(res[i].attempts, 1);
        ASSERT_EQ_STR(res[i].text.p, res[i % 2].text.p);
    }
    for (int i = 0; i < 12; i++)
        judge_result_cleanup(&res[i]);
    ASSERT_EQ_INT(st.requests, 12);
    ASSERT_EQ_INT(st.errors, 0);
}
