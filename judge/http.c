/*
 * http.c: many POSTs on libcurl's multi interface, with retries, timeouts and SSE
 * (see http.h).
 *
 * Key idea: each transfer is a small state machine (waiting until its next try,
 * running, finished) driven by one loop on this thread: start waiting transfers while
 * fewer than `parallel` run, let curl_multi_poll wait for sockets or the earliest
 * retry, then judge each finished attempt (retry with backoff or end). The read
 * timeout is ours (time since the last byte), so it works in milliseconds and
 * includes servers that accept and never answer.
 *
 * Left out: connection limits per host (parallel bounds the whole batch).
 */
#include "judge/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* judge_http_cfg_defaults: see http.h. */
void judge_http_cfg_defaults(struct judge_http_cfg *c)
{
    c->parallel = 4;
    c->connect_timeout_s = 10;
    c->read_timeout_s = 60;
    c->total_timeout_s = 0;
    c->max_retries = 5;
    c->backoff_s = 0.5;
    c->backoff_max_s = 30;
    c->retry_after_max_s = 120;
    c->max_response = (size_t)16 << 20;
}

/* judge_http_quote: see http.h. */
void judge_http_quote(const char *p, size_t n, size_t max, char *out, size_t out_size)
{
    size_t o = 0;
    size_t i;
    for (i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)p[i];
        if (o + 8 >= out_size)
            break;
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
    }
    if (i < n && o + 4 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

/* judge_http_retry_after: see http.h. */
double judge_http_retry_after(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char *end;
    double s = strtod(v, &end);
    if (end != v) {
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        return *end || s < 0 || s != s ? -1 : s;
    }
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
        return -1;
    double d = difftime(t, time(NULL));
    return d > 0 ? d : 0;
}

/* ---------------------------------------------------------------- SSE */

/* judge_http_sse_init: see http.h. */
void judge_http_sse_init(struct judge_http_sse *s, size_t max_line)
{
    memset(s, 0, sizeof *s);
    bz_buf_init(&s->line);
    bz_buf_init(&s->data);
    s->max_line = max_line ? max_line : (size_t)1 << 20;
}

/* judge_http_sse_cleanup: see http.h. */
void judge_http_sse_cleanup(struct judge_http_sse *s)
{
    bz_buf_cleanup(&s->line);
    bz_buf_cleanup(&s->data);
}

static int sse_line(struct judge_http_sse *s, const char *p, size_t n, judge_http_sse_fn fn,
                    void *ctx)
{
    if (n && p[n - 1] == '\r')
        n--;
    if (n == 0) { /* blank line: dispatch */
        if (!s->has_data)
            return 0;
        s->has_data = 0;
        size_t len = s->data.len;
        s->data.len = 0;
        if (len == 6 && !memcmp(s->data.p, "[DONE]", 6)) {
            s->done = 1;
            return 0;
        }
        return fn(ctx, s->data.p, len);
    }
    if (p[0] == ':')
        return 0;
    if (n >= 5 && !memcmp(p, "data", 4) && (p[4] == ':')) {
        p += 5, n -= 5;
        if (n && *p == ' ')
            p++, n--;
        if (s->has_data)
            bz_buf_putc(&s->data, '\n');
        bz_buf_append(&s->data, p, n);
        if (!s->data.p)
            bz_buf_putc(&s->data, 0), s->data.len = 0;
        s->has_data = 1;
        /* "[DONE]" ends the stream even without the blank line after it */
        if (s->data.len == 6 && !memcmp(s->data.p, "[DONE]", 6)) {
            s->done = 1;
            s->has_data = 0;
            s->data.len = 0;
        }
    }
    return 0; /* event:, id:, retry: and unknown fields are ignored */
}

/* judge_http_sse_feed: see http.h. */
int judge_http_sse_feed(struct judge_http_sse *s, const char *p, size_t n, judge_http_sse_fn fn,
                        void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (s->line.len + take > s->max_line)
            return BZ_EPROTO;
        if (!nl) {
            bz_buf_append(&s->line, p, take);
            return 0;
        }
        int rc;
        if (s->line.len) {
            bz_buf_append(&s->line, p, take);
            rc = sse_line(s, s->line.p, s->line.len, fn, ctx);
            s->line.len = 0;
        } else
            rc = sse_line(s, p, take, fn, ctx);
        if (rc)
            return rc;
        p += take + 1;
        n -= take + 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- transfers */

enum { X_WAIT, X_RUN, X_DONE };

struct xstate {
    struct judge_http_xfer *x;
    size_t i;
    CURL *h;
    struct curl_slist *hdrs;
    int state;
    double next_try;      /* X_WAIT: not before this time */
    double last_io;       /* X_RUN: last byte or start */
    double retry_after;   /* from this attempt's response, -1 none */
    int status;           /* this attempt's, once known */
    int committed;        /* text went to the user */
    int fatal;            /* an error that ends the transfer (x->rc, x->error set) */
    int timed_out;
    struct bz_buf body;   /* non-SSE body, or the first bytes of an error body */
    size_t seen;          /* bytes received this attempt */
    struct judge_http_sse sse;
    const struct judge_http_cfg *cfg;
    unsigned *seed;       /* the batch's jitter RNG */
    judge_http_event_fn fn;
    void *ctx;
};

static void x_fatal(struct xstate *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void x_fatal(struct xstate *s, int rc, const char *fmt, ...)
{
    if (s->fatal)
        return;
    s->fatal = 1;
    s->x->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->x->error, sizeof s->x->error, fmt, ap);
    va_end(ap);
}

static int x_sse_event(void *ctx, const char *data, size_t n)
{
    struct xstate *s = ctx;
    int rc = s->fn(s->ctx, s->i, s->x, data, n);
    if (rc == 1) {
        s->committed = 1;
        return 0;
    }
    if (rc < 0) {
        s->fatal = 1;
        s->x->rc = rc;
        return rc;
    }
    return 0;
}

static size_t x_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xstate *s = ud;
    size_t n = size * nmemb;
    s->last_io = bz_now();
    s->seen += n;
    if (!s->status) {
        long st = 0;
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &st);
        s->status = (int)st;
        char *ct = NULL;
        curl_easy_getinfo(s->h, CURLINFO_CONTENT_TYPE, &ct);
        /* a server that ignores "stream": true answers whole; take it as such */
        if (s->x->sse && st >= 200 && st < 300 && ct && !strncasecmp(ct, "application/json", 16))
            s->x->sse = 0;
    }
    int ok = s->status >= 200 && s->status < 300;
    if (ok && s->x->sse) {
        if (s->body.len < 512) /* for quoting a stream that proves broken */
            bz_buf_append(&s->body, p, BZ_MIN(n, 512 - s->body.len));
        int rc = judge_http_sse_feed(&s->sse, p, n, x_sse_event, s);
        if (rc == BZ_EPROTO && !s->fatal)
            x_fatal(s, BZ_EPROTO, "an SSE line longer than %zu bytes", s->cfg->max_response);
        return rc ? 0 : n;
    }
    if (!ok) { /* keep the start of an error body for the message */
        if (s->body.len < 4096)
            bz_buf_append(&s->body, p, BZ_MIN(n, 4096 - s->body.len));
        return n;
    }
    if (s->body.len + n > s->cfg->max_response) {
        char q[96];
        judge_http_quote(s->body.p ? s->body.p : "", s->body.len, 48, q, sizeof q);
        x_fatal(s, BZ_EPROTO, "response body over %zu bytes: %s", s->cfg->max_response, q);
        return 0;
    }
    bz_buf_append(&s->body, p, n);
    return n;
}

static size_t x_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xstate *s = ud;
    size_t n = size * nmemb;
    s->last_io = bz_now();
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
        s->retry_after = -1;
        s->status = 0;
    } else if (n > 12 && !strncasecmp(p, "retry-after:", 12)) {
        char v[64];
        size_t m = BZ_MIN(n - 12, sizeof v - 1);
        memcpy(v, p + 12, m);
        v[m] = 0;
        s->retry_after = judge_http_retry_after(v);
    }
    return n;
}

static int x_start(struct xstate *s, CURLM *m)
{
    struct judge_http_xfer *x = s->x;
    if (!s->h) {
        s->h = curl_easy_init();
        if (!s->h)
            return BZ_ENOMEM;
        s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
        s->hdrs = curl_slist_append(s->hdrs, "Expect:");
        if (x->sse)
            s->hdrs = curl_slist_append(s->hdrs, "Accept: text/event-stream");
        if (x->bearer) {
            char *h = bz_asprintf("Authorization: Bearer %s", x->bearer);
            s->hdrs = curl_slist_append(s->hdrs, h);
            memset(h, 0, strlen(h));
            free(h);
        }
        curl_easy_setopt(s->h, CURLOPT_URL, x->url);
        curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
        curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, x_write);
        curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, x_header);
        curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
        curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s->h, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(s->cfg->connect_timeout_s * 1000 + 0.5));
        if (s->cfg->total_timeout_s > 0)
            curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, (long)(s->cfg->total_timeout_s * 1000));
        curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->h, CURLOPT_USERAGENT, "bezoar");
    }
    s->status = 0;
    s->retry_after = -1;
    s->timed_out = 0;
    s->seen = 0;
    s->body.len = 0;
    judge_http_sse_cleanup(&s->sse);
    judge_http_sse_init(&s->sse, s->cfg->max_response);
    if (x->attempts == 0)
        x->t_start = bz_now();
    x->attempts++;
    int rc = s->fn(s->ctx, s->i, x, NULL, 0);
    if (rc < 0) {
        s->fatal = 1;
        x->rc = rc;
        return 0;
    }
    s->last_io = bz_now();
    if (curl_multi_add_handle(m, s->h) != CURLM_OK)
        return BZ_EIO;
    s->state = X_RUN;
    return 0;
}

static void x_end(struct xstate *s)
{
    s->state = X_DONE;
    s->x->t_end = bz_now();
    s->x->status = s->status;
}

/* The attempt ended (curl result cr); retry or end the transfer. */
static void x_finish(struct xstate *s, CURLcode cr, const char *cerr)
{
    struct judge_http_xfer *x = s->x;
    const struct judge_http_cfg *cfg = s->cfg;
    if (!s->status) {
        long st = 0;
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &st);
        s->status = (int)st;
    }
    if (s->fatal) {
        x_end(s);
        return;
    }
    char q[160];
    judge_http_quote(s->body.p ? s->body.p : "", s->body.len, 96, q, sizeof q);
    char why[200];
    int retry = 0, rc = 0;
    if (s->timed_out) {
        snprintf(why, sizeof why, "no byte for %.1f s (read timeout)", cfg->read_timeout_s);
        retry = 1, rc = BZ_ETIMEDOUT;
    } else if (cr != CURLE_OK) {
        snprintf(why, sizeof why, "%s", cerr && *cerr ? cerr : curl_easy_strerror(cr));
        rc = cr == CURLE_OPERATION_TIMEDOUT ? BZ_ETIMEDOUT : BZ_EIO;
        retry = cr != CURLE_URL_MALFORMAT && cr != CURLE_UNSUPPORTED_PROTOCOL &&
                cr != CURLE_SSL_CACERT_BADFILE && cr != CURLE_PEER_FAILED_VERIFICATION;
    } else if (s->status == 429 || s->status == 408 || s->status >= 500) {
        snprintf(why, sizeof why, "HTTP %d: %s", s->status, q);
        retry = 1, rc = BZ_EIO;
    } else if (s->status < 200 || s->status >= 300) {
        snprintf(why, sizeof why, "HTTP %d: %s", s->status, q);
        rc = BZ_EPROTO;
    } else if (x->sse) {
        if (!s->sse.done) {
            snprintf(why, sizeof why, "the stream ended without [DONE] after %zu bytes: %s",
                     s->seen, q);
            retry = 1, rc = BZ_ECORRUPT;
        }
    } else {
        int e = s->fn(s->ctx, s->i, x, s->body.p ? s->body.p : "", s->body.len);
        if (e < 0) {
            x->rc = e;
            x_end(s);
            return;
        }
    }
    if (!rc) {
        x->rc = 0;
        x->error[0] = 0;
        x_end(s);
        return;
    }
    if (retry && s->committed) {
        snprintf(x->error, sizeof x->error, "%s (after text was delivered; not retried)", why);
        x->rc = rc;
        x_end(s);
        return;
    }
    if (!retry || x->attempts > cfg->max_retries) {
        if (retry)
            snprintf(x->error, sizeof x->error, "gave up after %d attempts: %s", x->attempts,
                     why);
        else
            snprintf(x->error, sizeof x->error, "%s", why);
        x->rc = rc;
        x_end(s);
        return;
    }
    if (s->retry_after > cfg->retry_after_max_s) {
        snprintf(x->error, sizeof x->error, "%s; Retry-After %.0f s is over the %.0f s limit",
                 why, s->retry_after, cfg->retry_after_max_s);
        x->rc = rc;
        x_end(s);
        return;
    }
    double b = cfg->backoff_s * (double)(1u << BZ_MIN(x->attempts - 1, 20));
    if (b > cfg->backoff_max_s)
        b = cfg->backoff_max_s;
    b *= 0.5 + 0.5 * ((double)(rand_r(s->seed) & 0xffff) / 65536.0); /* jitter */
    if (s->retry_after >= 0 && s->retry_after > b)
        b = s->retry_after;
    snprintf(x->error, sizeof x->error, "%s", why); /* the last reason, while waiting */
    bz_log(BZ_LOG_DEBUG, "http: request %zu attempt %d: %s; retry in %.2f s", s->i, x->attempts,
           why, b);
    s->state = X_WAIT;
    s->next_try = bz_now() + b;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* judge_http_run: see http.h. */
int judge_http_run(const struct judge_http_cfg *cfg, struct judge_http_xfer *x, size_t n,
                   judge_http_event_fn fn, void *ctx, volatile sig_atomic_t *cancel)
{
    pthread_once(&curl_once, curl_init_once);
    CURLM *m = curl_multi_init();
    if (!m)
        return BZ_ENOMEM;
    struct xstate *st = bz_calloc(n ? n : 1, sizeof *st);
    /* jitter differs between processes, so that clients that failed together spread out */
    unsigned seed = (unsigned)(bz_wall() * 1e6) ^ ((unsigned)getpid() << 16);
    for (size_t i = 0; i < n; i++) {
        st[i] = (struct xstate){.x = &x[i], .i = i, .state = X_WAIT, .cfg = cfg, .fn = fn,
                                .ctx = ctx, .retry_after = -1, .seed = &seed};
        bz_buf_init(&st[i].body);
        judge_http_sse_init(&st[i].sse, cfg->max_response);
        x[i].rc = 0;
        x[i].error[0] = 0;
        x[i].status = 0;
        x[i].attempts = 0;
    }
    int par = cfg->parallel > 0 ? cfg->parallel : 1;
    size_t left = n;
    int running = 0, rc = 0;
    while (left > 0) {
        double now = bz_now();
        double next = now + 1.0;
        int cancelled = cancel && *cancel;
        for (size_t i = 0; i < n; i++) {
            struct xstate *s = &st[i];
            if (s->state == X_RUN && (cancelled || (cfg->read_timeout_s > 0 &&
                                                    now - s->last_io > cfg->read_timeout_s))) {
                curl_multi_remove_handle(m, s->h);
                running--;
                if (cancelled)
                    x_fatal(s, BZ_ECANCELED, "cancelled");
                s->timed_out = 1;
                x_finish(s, CURLE_OK, NULL);
            }
            if (s->state == X_WAIT && cancelled) {
                x_fatal(s, BZ_ECANCELED, "cancelled");
                x_end(s);
            }
            if (s->state == X_WAIT && s->next_try <= now && running < par) {
                if ((rc = x_start(s, m)) != 0)
                    goto out;
                if (s->state == X_RUN)
                    running++;
                else
                    x_end(s);
            }
            if (s->state == X_WAIT && s->next_try < next)
                next = s->next_try;
            if (s->state == X_RUN && cfg->read_timeout_s > 0 &&
                s->last_io + cfg->read_timeout_s < next)
                next = s->last_io + cfg->read_timeout_s;
            if (s->state == X_DONE && s->h) {
                curl_easy_cleanup(s->h);
                s->h = NULL;
                curl_slist_free_all(s->hdrs);
                s->hdrs = NULL;
                left--;
            }
        }
        if (left == 0)
            break;
        int still = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xstate *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode cr = msg->data.result;
            curl_multi_remove_handle(m, s->h);
            running--;
            x_finish(s, cr, NULL);
            next = now; /* look again at once: slots are free */
        }
        double wait = next - bz_now();
        int ms = wait <= 0 ? 0 : wait > 1 ? 1000 : (int)(wait * 1000) + 1;
        if (ms > 0)
            curl_multi_poll(m, NULL, 0, ms, NULL);
    }
out:
    for (size_t i = 0; i < n; i++) {
        if (st[i].h) {
            curl_multi_remove_handle(m, st[i].h);
            curl_easy_cleanup(st[i].h);
        }
        curl_slist_free_all(st[i].hdrs);
        bz_buf_cleanup(&st[i].body);
        judge_http_sse_cleanup(&st[i].sse);
    }
    free(st);
    curl_multi_cleanup(m);
    return rc;
}
