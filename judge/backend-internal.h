/*
 * backend-internal.h: what backend.c, backend-openai.c and backend-local.c share.
 */
#ifndef JUDGE_BACKEND_INTERNAL_H
#define JUDGE_BACKEND_INTERNAL_H

#include <pthread.h>

#include "judge/backend.h"
#include "judge/http.h"

struct judge_backend {
    int kind; /* JUDGE__LOCAL, JUDGE__OPENAI */
    struct judge_backend_cfg cfg;
    char *model;            /* the name requests carry */
    /* local */
    struct judge_local *local;
    struct judge_local_slot **slots; /* n_slots, each with its own cache and pool */
    int n_slots;
    unsigned char *busy;    /* per slot: taken by a judge_backend_run call */
    pthread_mutex_t mu;     /* guards busy */
    pthread_cond_t freed;
    int lora;               /* -1: base */
    /* openai */
    char *base_url;         /* ends before /chat/completions */
    char *chat_url, *completions_url;
};
enum { JUDGE__LOCAL = 1, JUDGE__OPENAI = 2 };

int judge__openai_run(struct judge_backend *b, const struct judge_request *reqs, size_t n,
                      struct judge_result *res, judge_text_fn cb, void *ctx,
                      volatile sig_atomic_t *cancel);

/* Set res->rc and res->error (first error wins, like bz_errf). Returns code. */
int judge__fail(struct judge_result *res, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
