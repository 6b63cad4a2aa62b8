/*
 * serve.c: `bezoar serve`'s server: connections on the libuv loop, requests cut and
 * checked by judge/http-server.c, generation on worker threads that each own one
 * slot (evaluator + pool) over the one shared model and its adapters.
 *
 * Key idea: the loop thread owns every connection and every byte written; a worker
 * only appends generated text to its job under one mutex and wakes the loop with
 * uv_async_send. A job outlives its connection: a client that goes away sets the
 * job's cancel flag (the generation stops at the next token and the slot is free),
 * and the loop frees the job once the worker says it is done. Pipelined requests
 * wait in the connection's input buffer until the answer before them is written.
 *
 * Left out: TLS, authentication, batching requests into one forward pass,
 * per-client rate limits.
 */
#include "tui/serve.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "judge/http-server.h"

struct job;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct tui_serve *srv;
    struct judge_httpd_conn h;
    struct bz_buf in;       /* bytes not parsed yet */
    struct job *job;        /* the request being answered */
    int closing, close_after, reading, writes, open_handles;
    struct conn *prev, *next;
};

struct job {
    struct tui_serve *srv;
    struct conn *conn;      /* NULL once the client is gone (loop thread only) */
    struct judge_api_req api;
    int lora;
    char id[48];
    const char *model;      /* the name answers carry (borrowed from the judge_local) */
    long created;
    int started;            /* loop: the SSE headers are out */
    volatile sig_atomic_t cancel;
    /* under srv->mu */
    struct bz_buf pending;  /* streamed text not yet written */
    int done;
    struct judge_result res;/* the worker's; read by the loop after done */
    struct job *qnext;
    /* loop only */
    struct job *aprev, *anext;
};

struct worker {
    struct tui_serve *srv;
    struct judge_local_slot *slot;
    pthread_t th;
    int started;
};

struct tui_serve {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_async_t async;
    struct judge_local *l;
    struct tui_serve_cfg cfg;
    struct worker *workers;
    int n_workers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *qhead, *qtail;
    int quit, queued, running;
    struct conn *conns;
    struct job *active;
    int n_conns;
    int port;
    int stopping, listener_open, async_open;
    void (*done)(void *);
    void *done_ctx;
    long long n_requests, n_tokens, n_errors, n_cancelled, next_id;
};

/* tui_serve_cfg_defaults: see serve.h. */
void tui_serve_cfg_defaults(struct tui_serve_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->parallel = 1;
    c->max_body = (size_t)1 << 20;
    c->max_header = 16384;
    c->idle_timeout_s = 30;
    c->max_tokens = 4096;
}

/* ---------------------------------------------------------------- workers */

static int job_text(void *ctx, size_t i, const char *text, size_t n)
{
    (void)i;
    struct job *j = ctx;
    pthread_mutex_lock(&j->srv->mu);
    bz_buf_append(&j->pending, text, n);
    pthread_mutex_unlock(&j->srv->mu);
    uv_async_send(&j->srv->async);
    return j->cancel ? 1 : 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct tui_serve *s = w->srv;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->qhead && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        struct job *j = s->qhead;
        if (!j) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->qhead = j->qnext;
        if (!s->qhead)
            s->qtail = NULL;
        s->queued--;
        s->running++;
        pthread_mutex_unlock(&s->mu);
        if (j->cancel) {
            j->res.rc = BZ_ECANCELED;
            snprintf(j->res.error, sizeof j->res.error, "cancelled before it started");
        } else
            judge_local_slot_run(w->slot, j->lora, &j->api.req, 0, job_text, j, &j->cancel,
                                 &j->res);
        pthread_mutex_lock(&s->mu);
        j->done = 1;
        s->running--;
        pthread_mutex_unlock(&s->mu);
        uv_async_send(&s->async);
    }
    return NULL;
}

/* ---------------------------------------------------------------- writing */

struct wreq {
    uv_write_t w;
    char *p;
};

static void conn_close(struct conn *c);

static void on_write(uv_write_t *w, int status)
{
    struct wreq *r = (struct wreq *)w;
    struct conn *c = w->data;
    free(r->p);
    free(r);
    c->writes--;
    if (status < 0)
        conn_close(c);
    else if (c->close_after && c->writes == 0 && !c->job)
        conn_close(c);
}

/* Write and take the buffer's bytes. */
static void conn_send(struct conn *c, struct bz_buf *b)
{
    if (c->closing || b->len == 0) {
        b->len = 0;
        return;
    }
    struct wreq *r = bz_malloc(sizeof *r);
    size_t n = b->len;
    r->p = bz_buf_steal(b);
    r->w.data = c;
    uv_buf_t ub = uv_buf_init(r->p, (unsigned)n);
    c->writes++;
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &ub, 1, on_write) < 0) {
        free(r->p);
        free(r);
        c->writes--;
        conn_close(c);
    }
}

static void respond(struct conn *c, int status, const char *body, size_t n, int close,
                    const char *extra)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n", status,
                  judge_api_status_text(status), n, extra ? extra : "",
                  close ? "close" : "keep-alive");
    bz_buf_append(&b, body, n);
    if (close)
        c->close_after = 1;
    conn_send(c, &b);
    bz_buf_cleanup(&b);
}

static void respond_error(struct conn *c, int status, const char *msg, int close,
                          const char *extra)
{
    struct bz_buf b;
    bz_buf_init(&b);
    judge_api_error_json(&b, status, msg);
    c->srv->n_errors++;
    respond(c, status, b.p, b.len, close, extra);
    bz_buf_cleanup(&b);
}

/* One chunk of a chunked body. */
static void send_chunk(struct conn *c, const char *p, size_t n)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_printf(&b, "%zx\r\n", n);
    bz_buf_append(&b, p, n);
    bz_buf_puts(&b, "\r\n");
    conn_send(c, &b);
    bz_buf_cleanup(&b);
}

/* ---------------------------------------------------------------- requests */

static void conn_process(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static int conn_wants_close(const struct conn *c)
{
    return !c->h.req.keep_alive || c->srv->stopping;
}

/* The answer to the current request is out: go on with the next one. */
static void conn_next(struct conn *c)
{
    if (c->closing)
        return;
    if (c->close_after) {
        if (c->writes == 0)
            conn_close(c);
        return;
    }
    judge_httpd_conn_next(&c->h);
    uv_timer_again(&c->timer);
    conn_process(c);
}

static void models_json(struct tui_serve *s, struct bz_buf *b)
{
    bz_buf_puts(b, "{\"object\":\"list\",\"data\":[");
    int n = judge_local_n_lora(s->l);
    for (int i = -1; i < n; i++) {
        const char *name = i < 0 ? judge_local_name(s->l) : judge_local_lora_name(s->l, i);
        if (i >= 0)
            bz_buf_putc(b, ',');
        bz_buf_puts(b, "{\"id\":");
        bz_buf_json_str(b, name, strlen(name));
        bz_buf_puts(b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"bezoar\"");
        if (i >= 0) {
            bz_buf_puts(b, ",\"parent\":");
            bz_buf_json_str(b, judge_local_name(s->l), strlen(judge_local_name(s->l)));
        }
        bz_buf_putc(b, '}');
    }
    bz_buf_puts(b, "]}");
}

/* Answer the request in c->h.req now, or queue a job (c->job set). */
static void handle_request(struct conn *c)
{
    struct tui_serve *s = c->srv;
    struct judge_httpd_req *rq = &c->h.req;
    char path[256];
    judge_httpd_path(rq, path, sizeof path);
    int close = conn_wants_close(c);
    int kind = !strcmp(path, "/v1/chat/completions") ? JUDGE_API_CHAT
               : !strcmp(path, "/v1/completions")    ? JUDGE_API_COMPLETIONS
                                                      : 0;
    if (!strcmp(path, "/v1/models") || !strcmp(path, "/health")) {
        if (rq->method != HTTP_GET) {
            respond_error(c, 405, "use GET here", close, "Allow: GET\r\n");
            return;
        }
        struct bz_buf b;
        bz_buf_init(&b);
        if (path[1] == 'h')
            bz_buf_puts(&b, "{\"status\":\"ok\"}");
        else
            models_json(s, &b);
        s->n_requests++;
        respond(c, 200, b.p, b.len, close, NULL);
        bz_buf_cleanup(&b);
        return;
    }
    if (!kind) {
        char msg[320];
        snprintf(msg, sizeof msg, "no such endpoint: %s", path);
        respond_error(c, 404, msg, close, NULL);
        return;
    }
    if (rq->method != HTTP_POST) {
        respond_error(c, 405, "use POST here", close, "Allow: POST\r\n");
        return;
    }
    struct job *j = bz_calloc(1, sizeof *j);
    char msg[256] = "";
    int st = judge_api_parse(&j->api, kind, rq->body.p ? rq->body.p : "", rq->body.len,
                             s->cfg.max_tokens, msg, sizeof msg);
    j->lora = -1;
    j->model = judge_local_name(s->l);
    if (st == 0 && j->api.model) {
        int f = judge_local_find(s->l, j->api.model);
        if (f == BZ_ENOTFOUND) {
            snprintf(msg, sizeof msg, "the model '%.200s' does not exist here (see /v1/models)",
                     j->api.model);
            st = 404;
        } else {
            j->lora = f;
            j->model = f < 0 ? judge_local_name(s->l) : judge_local_lora_name(s->l, f);
        }
    }
    if (st) {
        judge_api_req_cleanup(&j->api);
        free(j);
        respond_error(c, st, msg, close, NULL);
        return;
    }
    j->srv = s;
    j->conn = c;
    j->created = (long)time(NULL);
    snprintf(j->id, sizeof j->id, "%s-%llx%04llx", kind == JUDGE_API_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)j->created, (unsigned long long)(++s->next_id & 0xffff));
    bz_buf_init(&j->pending);
    judge_result_init(&j->res);
    c->job = j;
    if (close)
        c->close_after = 1;
    j->anext = s->active;
    if (s->active)
        s->active->aprev = j;
    s->active = j;
    uv_timer_stop(&c->timer);
    pthread_mutex_lock(&s->mu);
    if (s->qtail)
        s->qtail->qnext = j;
    else
        s->qhead = j;
    s->qtail = j;
    s->queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void conn_process(struct conn *c)
{
    while (!c->closing && !c->job && !c->close_after && c->in.len > 0) {
        size_t used = judge_httpd_conn_feed(&c->h, c->in.p, c->in.len);
        memmove(c->in.p, c->in.p + used, c->in.len - used);
        c->in.len -= used;
        if (c->h.error_status) {
            respond_error(c, c->h.error_status, c->h.error_msg, 1, NULL);
            return;
        }
        if (!c->h.ready)
            break;
        handle_request(c);
        if (!c->job && !c->close_after)
            judge_httpd_conn_next(&c->h);
    }
    if (!c->closing && !c->reading && !c->close_after &&
        c->in.len < c->srv->cfg.max_body + c->srv->cfg.max_header) {
        c->reading = 1;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static int status_of(int rc)
{
    switch (rc) {
    case BZ_ERANGE: case BZ_EEMPTY: case BZ_ENOTFOUND: case BZ_EINVAL: case BZ_EPARSE:
    case BZ_EUNSUPPORTED:
        return 400;
    case BZ_ECANCELED:
        return 503;
    default:
        return 500;
    }
}

static void job_free(struct job *j)
{
    struct tui_serve *s = j->srv;
    if (j->aprev)
        j->aprev->anext = j->anext;
    else
        s->active = j->anext;
    if (j->anext)
        j->anext->aprev = j->aprev;
    judge_api_req_cleanup(&j->api);
    bz_buf_cleanup(&j->pending);
    judge_result_cleanup(&j->res);
    free(j);
}

static void maybe_finish_stop(struct tui_serve *s);

/* Move what the worker produced to the client; finish the job when it is done. */
static void job_pump(struct job *j)
{
    struct tui_serve *s = j->srv;
    struct bz_buf text;
    bz_buf_init(&text);
    pthread_mutex_lock(&s->mu);
    int done = j->done;
    if (j->pending.len) {
        text = j->pending;
        bz_buf_init(&j->pending);
    }
    pthread_mutex_unlock(&s->mu);
    struct conn *c = j->conn;
    if (c && !c->closing && j->api.stream) {
        struct bz_buf b;
        bz_buf_init(&b);
        if (!j->started && (text.len || (done && j->res.rc == 0))) {
            j->started = 1;
            bz_buf_puts(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
            bz_buf_printf(&b, "Connection: %s\r\n\r\n", c->close_after ? "close" : "keep-alive");
            conn_send(c, &b);
        }
        if (text.len) {
            judge_api_chunk_sse(&b, j->api.kind, j->id, j->created, j->model, text.p, text.len,
                                NULL, NULL);
            send_chunk(c, b.p, b.len);
        }
        bz_buf_cleanup(&b);
    }
    bz_buf_cleanup(&text);
    if (!done)
        return;
    if (c && !c->closing) {
        struct judge_result *r = &j->res;
        struct bz_buf b;
        bz_buf_init(&b);
        if (!r->rc) { /* counted before the bytes go out: a client may look right after */
            s->n_requests++;
            s->n_tokens += BZ_MAX(r->completion_tokens, 0);
        }
        if (r->rc && !j->started) {
            respond_error(c, status_of(r->rc), r->error, c->close_after, NULL);
        } else if (j->api.stream) {
            if (r->rc) {
                bz_buf_puts(&b, "data: ");
                judge_api_error_json(&b, 500, r->error);
                bz_buf_puts(&b, "\n\n");
                s->n_errors++;
            } else {
                judge_api_chunk_sse(&b, j->api.kind, j->id, j->created, j->model, NULL, 0,
                                    r->finish_reason, NULL);
                if (j->api.include_usage)
                    judge_api_chunk_sse(&b, j->api.kind, j->id, j->created, j->model, NULL, 0,
                                        NULL, r);
            }
            bz_buf_puts(&b, "data: [DONE]\n\n");
            send_chunk(c, b.p, b.len);
            bz_buf_cleanup(&b);
            bz_buf_puts(&b, "0\r\n\r\n");
            conn_send(c, &b);
        } else {
            judge_api_answer_json(&b, j->api.kind, j->id, j->created, j->model, r);
            respond(c, 200, b.p, b.len, c->close_after, NULL);
        }
        bz_buf_cleanup(&b);
        c->job = NULL;
        conn_next(c);
    } else if (j->res.rc == BZ_ECANCELED || !strcmp(j->res.finish_reason, "cancel"))
        s->n_cancelled++;
    job_free(j);
    maybe_finish_stop(s);
}

static void on_async(uv_async_t *a)
{
    struct tui_serve *s = a->data;
    struct job *j = s->active;
    while (j) {
        struct job *next = j->anext;
        job_pump(j);
        j = next;
    }
}

/* ---------------------------------------------------------------- connections */

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    struct tui_serve *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    judge_httpd_conn_cleanup(&c->h);
    bz_buf_cleanup(&c->in);
    free(c);
    maybe_finish_stop(s);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->job) { /* the worker stops at its next token; the loop frees the job */
        c->job->cancel = 1;
        c->job->conn = NULL;
        c->job = NULL;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    bz_buf_reserve(&c->in, 65536);
    buf->base = c->in.p + c->in.len;
    buf->len = 65536;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    (void)buf;
    if (n < 0) { /* EOF or error: the client is gone */
        conn_close(c);
        return;
    }
    if (n == 0)
        return;
    c->in.len += (size_t)n;
    c->in.p[c->in.len] = 0;
    if (!c->job)
        uv_timer_again(&c->timer);
    if (c->in.len > c->srv->cfg.max_body + c->srv->cfg.max_header) {
        uv_read_stop(st); /* a pipelining client waits for its answers */
        c->reading = 0;
    }
    conn_process(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->job || c->closing)
        return;
    if (c->in.len > 0 || c->h.header_bytes > 0)
        respond_error(c, 408, "the request did not arrive in time", 1, NULL);
    else
        conn_close(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct tui_serve *s = ls->data;
    if (status < 0)
        return;
    struct conn *c = bz_calloc(1, sizeof *c);
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0 || s->stopping) {
        c->open_handles = 1;
        c->closing = 1;
        s->n_conns++;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 2;
    judge_httpd_conn_init(&c->h, s->cfg.max_header, s->cfg.max_body);
    bz_buf_init(&c->in);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    uint64_t ms = (uint64_t)(s->cfg.idle_timeout_s * 1000);
    uv_timer_start(&c->timer, on_timer, ms ? ms : 1, ms ? ms : 1);
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---------------------------------------------------------------- start and stop */

/* tui_serve_start: see serve.h. */
int tui_serve_start(struct tui_serve **out, uv_loop_t *loop, struct judge_local *l,
                    const struct tui_serve_cfg *cfg, struct bz_err *err)
{
    *out = NULL;
    struct tui_serve *s = bz_calloc(1, sizeof *s);
    s->loop = loop;
    s->l = l;
    s->cfg = *cfg;
    if (s->cfg.parallel < 1)
        s->cfg.parallel = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
        struct sockaddr_storage ss;
    } addr;
    const char *host = s->cfg.host ? s->cfg.host : "127.0.0.1";
    int rc = strchr(host, ':') ? uv_ip6_addr(host, s->cfg.port, &addr.v6)
                               : uv_ip4_addr(host, s->cfg.port, &addr.v4);
    if (rc) {
        free(s);
        return bz_errf(err, BZ_EINVAL, "--host %s: not an IP address (%s)", host,
                       uv_strerror(rc));
    }
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->listener_open = 1;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rc) {
        bz_errf(err, BZ_EIO, "cannot listen on %s:%d: %s", host, s->cfg.port, uv_strerror(rc));
        uv_close((uv_handle_t *)&s->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        free(s);
        return BZ_EIO;
    }
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    s->async_open = 1;
    s->workers = bz_calloc((size_t)s->cfg.parallel, sizeof *s->workers);
    int cpus = s->cfg.threads > 0 ? s->cfg.threads : (int)uv_available_parallelism();
    int per = BZ_MAX(1, cpus / s->cfg.parallel);
    for (int i = 0; i < s->cfg.parallel && rc == 0; i++) {
        struct worker *w = &s->workers[i];
        w->srv = s;
        rc = judge_local_slot_new(&w->slot, l, per, s->cfg.n_ctx, err);
        if (rc == 0 && pthread_create(&w->th, NULL, worker_main, w) != 0)
            rc = bz_errf(err, BZ_ENOMEM, "cannot start a worker thread");
        if (rc == 0)
            w->started = 1;
        s->n_workers = i + 1;
    }
    *out = s;
    if (rc) {
        tui_serve_stop(s, 1, NULL, NULL);
        return rc;
    }
    return 0;
}

/* tui_serve_port: see serve.h. */
int tui_serve_port(const struct tui_serve *s)
{
    return s->port;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct tui_serve *s = h->data;
    s->listener_open = 0;
    maybe_finish_stop(s);
}

static void on_async_closed(uv_handle_t *h)
{
    struct tui_serve *s = h->data;
    s->async_open = 0;
    if (s->done)
        s->done(s->done_ctx);
}

static void maybe_finish_stop(struct tui_serve *s)
{
    if (!s->stopping || s->listener_open || s->conns || s->active || !s->async_open)
        return;
    if (uv_is_closing((uv_handle_t *)&s->async))
        return;
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].started) {
            pthread_join(s->workers[i].th, NULL);
            s->workers[i].started = 0;
        }
    uv_close((uv_handle_t *)&s->async, on_async_closed);
}

/* tui_serve_stop: see serve.h. */
void tui_serve_stop(struct tui_serve *s, int force, void (*done)(void *ctx), void *ctx)
{
    s->done = done;
    s->done_ctx = ctx;
    if (!s->stopping) {
        s->stopping = 1;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    }
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->job && !c->writes)
            conn_close(c);
        else
            c->close_after = 1;
    }
    if (force) {
        pthread_mutex_lock(&s->mu);
        for (struct job *j = s->active; j; j = j->anext)
            j->cancel = 1;
        pthread_mutex_unlock(&s->mu);
    }
    maybe_finish_stop(s);
}

/* tui_serve_free: see serve.h. */
void tui_serve_free(struct tui_serve *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_workers; i++)
        judge_local_slot_free(s->workers[i].slot);
    free(s->workers);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* tui_serve_stats: see serve.h. */
void tui_serve_stats(const struct tui_serve *s, struct tui_serve_stats *st)
{
    st->requests = s->n_requests;
    st->tokens = s->n_tokens;
    st->errors = s->n_errors;
    st->cancelled = s->n_cancelled;
    st->connections = s->n_conns;
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    st->queued = s->queued;
    st->running = s->running;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
}
