/*
 * checkpoint.h: training checkpoints: RUN/checkpoints/step-N/ holding the trainable
 * parameters (the adapter, or every weight in full mode), the AdamW moments, and the
 * loop state (step, data cursor, the seed the RNG streams derive from, counters).
 *
 * Key idea: a checkpoint directory is written as step-N.tmp/ (each file fsync'd), then
 * renamed to step-N/ and the parent fsync'd, so a crash leaves either no step-N or a
 * complete one; the newest K are kept. All randomness in training is a pure function
 * of (seed, counter), so the counters ARE the RNG state.
 *
 * Left out: portability across endianness (files are host little-endian floats).
 */
#ifndef CORE_CHECKPOINT_H
#define CORE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"
#include "core/optim.h"

struct core_checkpoint_state {
    int64_t step;        /* optimizer steps done (including skipped ones) */
    int64_t micro;       /* micro-batches consumed: the data cursor */
    uint64_t seed;       /* the run's seed: data order, dropout and init derive from it */
    int64_t tokens;      /* loss tokens seen */
    double elapsed_s;    /* training time so far */
};

/* Write RUN/checkpoints/step-N/ (N = st->step) with n params and the optimizer, then
 * delete all but the newest `keep` step directories (keep <= 0: keep all). *path_out
 * (may be NULL) gets the directory, caller frees. */
int core_checkpoint_save(const char *run_dir, const float *params, size_t n,
                         const struct core_optim *opt, const struct core_checkpoint_state *st,
                         int keep, char **path_out, struct bz_err *err);
/* The newest complete checkpoint directory under RUN/checkpoints (caller frees), or
 * BZ_ENOTFOUND. */
int core_checkpoint_latest(const char *run_dir, char **path_out, struct bz_err *err);
/* Load a checkpoint into params (n floats) and opt (moments, step counters; its
 * config is left alone). A size mismatch is BZ_EFORMAT with both sizes. */
int core_checkpoint_load(const char *dir, float *params, size_t n, struct core_optim *opt,
                         struct core_checkpoint_state *st, struct bz_err *err);

#endif
