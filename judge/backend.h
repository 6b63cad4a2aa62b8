/*
 * backend.h: model backends for generation and judging: a conversation (or a raw
 * prompt) plus sampling options in, text out, streamed, with usage and timing.
 *
 * A backend is named by a spec string:
 *   local:MODEL[+ADAPTER]   the engine in-process (core/), one model copy
 *   openai:URL#MODEL        any OpenAI-compatible endpoint (vLLM, llama.cpp server,
 *                           `bezoar serve`, hosted APIs); URL is the base ending in /v1
 * Key idea: one batch call runs many requests with bounded concurrency and gives each
 * its own result (success, or a clear error after retries), so generate and judge
 * never manage connections. The API key comes only from BEZOAR_API_KEY or
 * OPENAI_API_KEY and is never printed, logged or stored in a result.
 *
 * The local engine parts (judge_local_*) are public too: `bezoar serve` runs one slot
 * per worker thread over one shared model, and shares this code path with the
 * local backend so that both answer the same.
 *
 * Left out: n > 1 choices, tools/function calls, logprobs, images.
 */
#ifndef JUDGE_BACKEND_H
#define JUDGE_BACKEND_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

enum judge_role { JUDGE_ROLE_SYSTEM = 0, JUDGE_ROLE_USER = 1, JUDGE_ROLE_ASSISTANT = 2 };

struct judge_msg {
    int role;            /* enum judge_role */
    const char *content; /* borrowed, UTF-8, NUL-terminated */
};

#define JUDGE_MAX_STOP 8

struct judge_sampling {
    float temperature; /* 0: greedy */
    float top_p;       /* 1: off */
    int max_tokens;    /* >= 1 */
    int has_seed;
    uint64_t seed;
    const char *stop[JUDGE_MAX_STOP]; /* n_stop stop strings, borrowed */
    int n_stop;
};

/* Greedy, top_p 1, 256 tokens, no seed, no stop strings. */
void judge_sampling_defaults(struct judge_sampling *s);

struct judge_request {
    const struct judge_msg *msgs; /* the conversation (chat completions) */
    size_t n_msgs;
    const char *prompt;           /* non-NULL: a raw completion of this text instead */
    struct judge_sampling s;
};

/* What one request ended as. text holds the whole answer also when streamed. */
struct judge_result {
    int rc;                  /* 0, or a BZ_E* code (error holds the words) */
    char error[256];
    struct bz_buf text;
    char finish_reason[16];  /* "stop", "length", "cancel" (or the server's word) */
    int prompt_tokens;       /* -1 when the server did not say */
    int completion_tokens;
    int attempts;            /* HTTP attempts made (1 for local) */
    int http_status;         /* last HTTP status (0: none, local) */
    double first_s;          /* seconds from the start to the first text (-1: none) */
    double total_s;          /* seconds from the start to the end */
};
void judge_result_init(struct judge_result *r);
void judge_result_cleanup(struct judge_result *r);

/* Called with each piece of text of request i as it arrives (whole UTF-8 characters
 * for local models; as the server sent them for remote ones). text is valid only
 * during the call. Nonzero cancels that request (it ends with BZ_ECANCELED). Called
 * on the thread that called judge_backend_run. A remote stream that fails after
 * text was delivered is not retried (the text would come twice): it is an error. */
typedef int (*judge_text_fn)(void *ctx, size_t i, const char *text, size_t n);

struct judge_backend_cfg {
    int parallel;             /* requests in flight at once (remote); local runs one */
    int stream;               /* remote: ask for SSE streaming */
    double connect_timeout_s; /* remote: TCP/TLS connect */
    double read_timeout_s;    /* remote: longest silence while waiting for bytes */
    double total_timeout_s;   /* remote: one attempt, whole (0: none) */
    int max_retries;          /* retries after the first attempt */
    double backoff_s;         /* first backoff; doubles, full jitter, capped */
    double backoff_max_s;
    double retry_after_max_s; /* a longer Retry-After is an error, not a wait */
    size_t max_response;      /* bytes of one response body */
    const char *template_name;/* local: chat template (NULL: the model's own) */
    int threads;              /* local: threads (<= 0: every CPU) */
    int n_ctx;                /* local: KV cache positions (<= 0: the model's) */
    int local_slots;          /* local: requests run at once (at most one per thread),
                               * each slot with threads / local_slots threads over the one
                               * model (<= 1: one slot with every thread) */
};
/* parallel 4, stream 1, connect 10 s, read 60 s, total 0, 5 retries, backoff 0.5..30 s,
 * Retry-After up to 120 s, 16 MiB responses. */
void judge_backend_cfg_defaults(struct judge_backend_cfg *c);

struct judge_backend;

/* Open the backend named by spec (see the top). Local models load here; remote ones
 * are not contacted. A bad spec is BZ_EUSAGE naming what is wrong. Free with
 * judge_backend_free. cfg may be NULL (defaults). */
int judge_backend_open(struct judge_backend **out, const char *spec,
                       const struct judge_backend_cfg *cfg, struct bz_err *err);
void judge_backend_free(struct judge_backend *b);
/* The model name requests go to ("stories260K", "qwen2.5-7b-instruct"). */
const char *judge_backend_model(const struct judge_backend *b);

/* Run reqs[0..n), results in res[0..n) (initialised by the caller). Local slots run
 * on threads of their own, their text still reaches cb on the caller's thread.
 * Thread-safe: concurrent calls on a local backend take separate slots (a call waits
 * while every slot is busy), on a remote one separate connections.
 * Returns 0 when every request ran (each res[i].rc says how it ended), or a negative code when the
 * batch could not start. cb may be NULL. *cancel (may be NULL) becoming nonzero ends
 * the requests in flight and the rest with BZ_ECANCELED. */
int judge_backend_run(struct judge_backend *b, const struct judge_request *reqs, size_t n,
                      struct judge_result *res, judge_text_fn cb, void *ctx,
                      volatile sig_atomic_t *cancel);

/* ------------------------------------------------------------- judge/backend-local.c
 * The engine in-process: a model with its vocabulary, chat template and adapters
 * (shared, read-only once opened), and slots (an evaluator with its KV cache and a
 * thread pool each) that run one request at a time. Slots of one judge_local may
 * run on different threads at once. */
struct judge_local;
struct judge_local_slot;

/* Open the model at path. template_name NULL: the model's own template; a model
 * without one still serves raw completions (chat requests are then refused). */
int judge_local_open(struct judge_local **out, const char *path, const char *template_name,
                     struct bz_err *err);
void judge_local_free(struct judge_local *l);
/* Load an adapter under a name; returns its index (>= 0) or a negative code. Not while
 * slots run. */
int judge_local_add_lora(struct judge_local *l, const char *name, const char *path,
                         struct bz_err *err);
/* The base model's name (file name without .gguf), the adapter count and names. */
const char *judge_local_name(const struct judge_local *l);
int judge_local_n_lora(const struct judge_local *l);
const char *judge_local_lora_name(const struct judge_local *l, int i);
/* By name: -1 the base, i >= 0 an adapter, BZ_ENOTFOUND otherwise. */
int judge_local_find(const struct judge_local *l, const char *name);

/* A slot with `threads` threads (<= 0: every CPU) and an n_ctx cache. */
int judge_local_slot_new(struct judge_local_slot **out, struct judge_local *l, int threads,
                         int n_ctx, struct bz_err *err);
void judge_local_slot_free(struct judge_local_slot *s);
/* Run one request with adapter `lora` (-1: base) into res (initialised). Text goes to
 * cb(ctx, index, ...) as whole UTF-8 characters; cb nonzero or *cancel ends it with
 * finish_reason "cancel" (rc 0: what was generated is the answer). The cache keeps the
 * longest prefix shared with the previous request of the same adapter. Returns res->rc. */
int judge_local_slot_run(struct judge_local_slot *s, int lora, const struct judge_request *req,
                         size_t index, judge_text_fn cb, void *ctx,
                         volatile sig_atomic_t *cancel, struct judge_result *res);

#endif
