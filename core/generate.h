/*
 * generate.h: the generation loop: evaluate a prompt, then sample, stream and feed
 * back one token at a time until a stop: max tokens, EOS/EOT of the vocab, a stop
 * string, a full context, a cancel flag (Ctrl-C) or the callback asking to stop.
 *
 * Key idea: text reaches the callback through the tokenizer's streaming decoder, so
 * it never splits a UTF-8 character, and text that could be the start of a stop
 * string is held back until it is known not to be one (a stop string is never shown).
 * The prompt is evaluated at the evaluator's current position, so a caller that keeps
 * the KV cache (chat) passes only the new tokens.
 *
 * Left out: beam search, speculative decoding, several sequences at once.
 */
#ifndef CORE_GENERATE_H
#define CORE_GENERATE_H

#include <signal.h>

#include "core/forward.h"
#include "core/sample.h"
#include "core/tokenizer.h"

enum core_generate_stop {
    CORE_GENERATE_LENGTH = 0, /* max_tokens reached */
    CORE_GENERATE_EOS,        /* the vocab's EOS or EOT was sampled (not shown, not fed) */
    CORE_GENERATE_STOP_STRING,
    CORE_GENERATE_CONTEXT,    /* the KV cache is full */
    CORE_GENERATE_CANCEL,     /* *cancel became nonzero */
    CORE_GENERATE_CALLBACK,   /* the callback returned nonzero */
};

struct core_generate_opts {
    int max_tokens;                 /* <= 0: until another stop */
    struct core_sample_params sample;
    const char *const *stop;        /* n_stop stop strings (UTF-8, non-empty) */
    int n_stop;
    int ignore_eos;                 /* keep going after EOS/EOT */
    int detok_flags;                /* CORE_DETOK_* for the streaming decoder (chat replies
                                       use CORE_DETOK_STRIP_PREFIX) */
    volatile sig_atomic_t *cancel;  /* may be NULL; checked before each token */
};

/* Defaults: 256 tokens, greedy (core_sample_defaults), no stop strings. */
void core_generate_defaults(struct core_generate_opts *o);

/* Called once per generated token with the text it completes (whole UTF-8 characters,
 * possibly none: n == 0), and once more with id -1 for text held back until the end
 * (an incomplete character as U+FFFD, or the start of a stop string that did not
 * come). text is valid only during the call. Nonzero stops. */
typedef int (*core_generate_fn)(void *ctx, int32_t id, const char *text, size_t n);

struct core_generate_result {
    int stop;                  /* enum core_generate_stop */
    int n_prompt;              /* prompt tokens evaluated */
    struct core_ids tokens;    /* generated ids (the EOS that stopped it excluded) */
    struct bz_buf text;        /* the text delivered to the callback, in one piece */
    double prompt_s, gen_s;    /* seconds for the prompt and for the generated tokens */
};
void core_generate_result_init(struct core_generate_result *r);
void core_generate_result_cleanup(struct core_generate_result *r);
/* "length", "eos", "stop", "context", "cancel", "callback". */
const char *core_generate_stop_name(int stop);

/* Evaluate prompt[0..n_prompt) (n_prompt >= 1) at the evaluator's current position,
 * then generate. The cache ends holding the prompt and res->tokens, except the last
 * token when a stop string, the callback or a full context ended the run (an EOS is
 * never in res->tokens); core_forward_pos tells exactly. v may be NULL: ids
 * only, no text, no EOS and no stop strings. cb may be NULL. res must be initialised.
 * A full context before the first token is BZ_ERANGE; later it is a stop. */
int core_generate_run(struct core_forward *f, const struct core_vocab *v, const int32_t *prompt,
                      size_t n_prompt, const struct core_generate_opts *o, core_generate_fn cb,
                      void *ctx, struct core_generate_result *res, struct bz_err *err);

/* The vocabulary of a model: m->vocab when the loader set one, else built from the
 * model's GGUF metadata (GGUF files and llama2.c imports), else from the Hugging Face
 * directory it came from. *owned says whether the caller must core_vocab_free it. */
int core_generate_vocab(const struct core_model *m, struct core_vocab **out, int *owned,
                        struct bz_err *err);

/* What the verbs need to run a model: the model, its vocabulary, one pool, one
 * evaluator. */
struct core_generate_session {
    struct core_model *model;
    struct core_vocab *vocab;   /* the model's; NULL only if it has none */
    int vocab_owned;
    struct core_pool *pool;
    struct core_forward *fwd;
};

/* Open the model at path (core_model_open), its vocabulary (core_generate_vocab; a
 * model without one is an error), a pool of `threads` threads (<= 0: every CPU) and an
 * evaluator with an n_ctx-position cache (<= 0: the default of core_forward_new).
 * On failure everything is released. Close with core_generate_close. */
int core_generate_open(struct core_generate_session *s, const char *path, int threads,
                       int n_ctx, struct bz_err *err);
/* Release what core_generate_open made (a zeroed session is fine). */
void core_generate_close(struct core_generate_session *s);

#endif
