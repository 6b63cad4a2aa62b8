/*
 * optim.h: AdamW over one flat slab of parameters, with the learning-rate schedule
 * (linear warmup, then cosine or linear decay to a floor), global-norm gradient
 * clipping and NaN/Inf step skipping.
 *
 * Key idea: the trainer keeps every trainable float in one slab (core/train.h), so
 * the optimizer is one loop over n floats; weight decay applies to [0, n_decay).
 * Everything is deterministic: no randomness, sums in a fixed order in double.
 *
 * Left out: other optimizers, per-group learning rates, loss scaling.
 */
#ifndef CORE_OPTIM_H
#define CORE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

enum core_sched { CORE_SCHED_COSINE = 0, CORE_SCHED_LINEAR, CORE_SCHED_CONSTANT };

struct core_optim_config {
    float lr;            /* peak learning rate */
    float beta1, beta2, eps;
    float weight_decay;  /* decoupled (AdamW), on params [0, n_decay) */
    float clip;          /* global gradient norm limit; <= 0: no clipping */
    int warmup;          /* steps of linear warmup from 0 */
    int total_steps;     /* schedule length */
    int schedule;        /* enum core_sched */
    float min_lr_ratio;  /* floor of the decay as a fraction of lr */
    int max_bad_steps;   /* non-finite steps in a row before the run stops */
};

/* Defaults: lr 2e-4, betas 0.9/0.999, eps 1e-8, wd 0, clip 1, cosine, floor 0, K 5. */
void core_optim_config_default(struct core_optim_config *c);

struct core_optim {
    struct core_optim_config cfg;
    size_t n, n_decay;
    float *m, *v;        /* (n) first and second moments */
    int64_t step;        /* optimizer steps taken (skipped steps do not count) */
    int bad_in_row;      /* consecutive skipped steps */
};

/* Allocate zeroed moments for n parameters. Returns BZ_ENOMEM with the size. */
int core_optim_init(struct core_optim *o, const struct core_optim_config *cfg, size_t n,
                    size_t n_decay, struct bz_err *err);
void core_optim_cleanup(struct core_optim *o);

/* Learning rate at optimizer step `step` (0-based). */
float core_optim_lr(const struct core_optim_config *c, int64_t step);

/* Global L2 norm of grads (double accumulation); NaN/Inf when any is non-finite. */
double core_optim_grad_norm(const float *grads, size_t n);

/* One AdamW update of params from grads (clipped to cfg.clip first). *grad_norm gets
 * the norm before clipping, *lr the rate used. Returns 0 when the step was taken, 1
 * when it was skipped because the gradients are not finite (params untouched), and
 * BZ_ENUMERIC after cfg.max_bad_steps skipped steps in a row. */
int core_optim_step(struct core_optim *o, float *params, const float *grads, double *grad_norm,
                    float *lr, struct bz_err *err);

#endif
