/*
 * http.h: the HTTP client under the remote backends: many POSTs on libcurl's multi
 * interface with bounded concurrency, connect and read timeouts, retries with
 * exponential backoff and full jitter on 429, 408, 5xx, resets and timeouts
 * (honouring Retry-After), and Server-Sent Events or whole-body responses.
 *
 * Key idea: the caller sees a response only through one event callback (each SSE
 * `data:` payload, or the whole body once), and says when it has passed text on
 * (committed): an attempt that fails after that is an error, never a retry, so no
 * answer is delivered twice. A failed attempt's bytes never reach the caller except
 * as the first bytes quoted in the error. Proxies come from the environment
 * (libcurl's http_proxy, https_proxy, no_proxy).
 *
 * Left out: HTTP/2 tuning, cookies, redirects (an API that redirects POSTs is refused
 * by its status), request bodies streamed from disk.
 */
#ifndef JUDGE_HTTP_H
#define JUDGE_HTTP_H

#include <signal.h>
#include <stddef.h>

#include "core/bz.h"

struct judge_http_cfg {
    int parallel;             /* transfers in flight at once (>= 1) */
    double connect_timeout_s;
    double read_timeout_s;    /* an attempt silent this long is a timeout (retried) */
    double total_timeout_s;   /* one attempt at most this long (0: no limit) */
    int max_retries;
    double backoff_s, backoff_max_s;
    double retry_after_max_s;
    size_t max_response;      /* body bytes (and SSE line bytes) */
};

/* One POST. The caller fills the request part and owns the strings. */
struct judge_http_xfer {
    const char *url;
    const char *body;
    size_t body_len;
    const char *bearer;    /* Authorization: Bearer ... (NULL: none); never logged */
    int sse;               /* expect text/event-stream with data: lines and [DONE]; cleared
                              when a server answers application/json (it does not stream) */
    /* the outcome */
    int rc;                /* 0 or BZ_E* */
    char error[256];
    int status;            /* last HTTP status (0: none) */
    int attempts;
    double t_start;        /* bz_now() at the first attempt */
    double t_end;
};

/* Events for one transfer: data == NULL means "a new attempt starts: forget what the
 * previous one gave"; otherwise one SSE data payload (sse) or the whole 2xx body. Return
 * 0 to go on, 1 when text went to the user (later failures are not retried), or a
 * negative code after writing the reason to x->error (ends the transfer, no retry). */
typedef int (*judge_http_event_fn)(void *ctx, size_t i, struct judge_http_xfer *x,
                                   const char *data, size_t n);

void judge_http_cfg_defaults(struct judge_http_cfg *c);

/* Run x[0..n) to completion (success or error each). Returns 0, or a negative code
 * when libcurl could not be set up. cancel may be NULL. Called from one thread. */
int judge_http_run(const struct judge_http_cfg *cfg, struct judge_http_xfer *x, size_t n,
                   judge_http_event_fn fn, void *ctx, volatile sig_atomic_t *cancel);

/* An SSE parser: feed bytes in any pieces; each complete event's data (data: lines
 * joined by '\n') goes to fn; "[DONE]" sets done instead. Lines longer than max_line
 * are BZ_EPROTO. fn returning nonzero stops the feed with that value. */
struct judge_http_sse {
    struct bz_buf line;
    struct bz_buf data;
    int has_data;
    int done;
    size_t max_line;
};
typedef int (*judge_http_sse_fn)(void *ctx, const char *data, size_t n);
void judge_http_sse_init(struct judge_http_sse *s, size_t max_line);
void judge_http_sse_cleanup(struct judge_http_sse *s);
int judge_http_sse_feed(struct judge_http_sse *s, const char *p, size_t n, judge_http_sse_fn fn,
                        void *ctx);

/* Write up to max bytes of p as printable text (\xNN for others, "..." when cut) into
 * out (NUL-terminated, out_size > 4): how errors quote a response. */
void judge_http_quote(const char *p, size_t n, size_t max, char *out, size_t out_size);

/* Parse a Retry-After value: seconds, or an HTTP date (seconds from now, >= 0).
 * -1 when unparseable. */
double judge_http_retry_after(const char *v);

#endif
