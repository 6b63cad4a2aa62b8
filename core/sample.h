/*
 * sample.h: choosing the next token from logits: greedy, temperature, top-k, top-p,
 * min-p, repetition / frequency / presence penalties over a window of recent tokens,
 * from a seeded RNG, so that a seed reproduces a run exactly.
 *
 * Key idea (llama.cpp's order): penalties change the logits, then greedy takes the
 * arg max (lowest id on ties); otherwise the candidates are cut by top-k, turned into
 * probabilities at temperature T, cut by top-p (smallest set whose mass reaches p)
 * and min-p (p >= min_p * p_max), renormalised, and drawn.
 *
 * Left out: mirostat, typical-p, DRY, grammar constraints, logit bias.
 */
#ifndef CORE_SAMPLE_H
#define CORE_SAMPLE_H

#include <stdint.h>

#include "core/bz.h"

struct core_sample_params {
    float temp;             /* <= 0: greedy */
    int top_k;              /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off; positive logits divided, negative multiplied */
    float freq_penalty;     /* 0: off; logit -= freq_penalty * count */
    float presence_penalty; /* 0: off; logit -= presence_penalty if seen */
    int penalty_last_n;     /* window of recent tokens for penalties (< 0: all, up to 65536) */
    uint64_t seed;
};

/* Greedy, no penalties, window 64, seed 0 (a fixed, reproducible stream). */
void core_sample_defaults(struct core_sample_params *p);
/* Check ranges (temp >= 0, 0 < top_p, 0 <= min_p <= 1, repeat_penalty > 0); the
 * message names the parameter. */
int core_sample_check(const struct core_sample_params *p, struct bz_err *err);

struct core_sample;

/* A sampler over V tokens. Caller frees with core_sample_free. */
int core_sample_new(struct core_sample **out, const struct core_sample_params *p, int V,
                    struct bz_err *err);
void core_sample_free(struct core_sample *s);
/* Record a token as seen (prompt tokens too, for the penalties). */
void core_sample_accept(struct core_sample *s, int token);
/* Forget the history and restart the RNG from the seed. */
void core_sample_reset(struct core_sample *s);
/* Choose the next token from logits (V floats, changed in place). Does not accept it. */
int core_sample_next(struct core_sample *s, float *logits);

/* The RNG alone (xoshiro256**, seeded through splitmix64): uniform in [0, 1). */
struct core_sample_rng {
    uint64_t s[4];
};
void core_sample_rng_seed(struct core_sample_rng *r, uint64_t seed);
uint64_t core_sample_rng_u64(struct core_sample_rng *r);
double core_sample_rng_uniform(struct core_sample_rng *r);

#endif
