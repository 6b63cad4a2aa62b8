/*
 * serve.h: the OpenAI-compatible HTTP server behind `bezoar serve`: libuv sockets on
 * the loop, generation on worker threads (one judge_local_slot each) over one shared
 * model, requests queued when every slot is busy.
 */
#ifndef TUI_SERVE_H
#define TUI_SERVE_H

#include <uv.h>

#include "judge/backend.h"

struct tui_serve_cfg {
    const char *host;       /* default 127.0.0.1 */
    int port;               /* 0: any free port (tui_serve_port tells) */
    int parallel;           /* slots (worker threads) */
    int threads;            /* threads over all slots (<= 0: every CPU) */
    int n_ctx;              /* KV positions per slot (<= 0: the model's) */
    size_t max_body;        /* request body bytes */
    size_t max_header;      /* request header bytes */
    double idle_timeout_s;  /* a connection silent this long without a request in flight */
    int max_tokens;         /* cap of max_tokens */
};
void tui_serve_cfg_defaults(struct tui_serve_cfg *c);

struct tui_serve;

/* Bind, listen and start the workers on loop. l is borrowed (outlives the server).
 * Errors (address in use, bad host) are returned with words in err. */
int tui_serve_start(struct tui_serve **out, uv_loop_t *loop, struct judge_local *l,
                    const struct tui_serve_cfg *cfg, struct bz_err *err);
int tui_serve_port(const struct tui_serve *s);
/* Graceful stop: no new connections, answers in flight finish (force: cancelled), idle
 * connections close; when all is closed the workers are joined and done(ctx) runs on
 * the loop. Then tui_serve_free. */
void tui_serve_stop(struct tui_serve *s, int force, void (*done)(void *ctx), void *ctx);
void tui_serve_free(struct tui_serve *s);
/* Counters: requests answered, generated tokens, error answers, generations stopped
 * because their client went away; connections open, jobs waiting and running. */
struct tui_serve_stats {
    long long requests, tokens, errors, cancelled;
    int connections, queued, running;
};
void tui_serve_stats(const struct tui_serve *s, struct tui_serve_stats *st);

#endif
