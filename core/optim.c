/*
 * optim.c: AdamW, schedule, clipping, non-finite step skipping (see optim.h).
 *
 * Key idea: bias-corrected Adam moments with decoupled weight decay, as PyTorch's
 * AdamW computes them, so results can be compared step by step.
 *
 * Left out: fused multi-tensor kernels; the loop is a few percent of a step.
 */
#include "core/optim.h"

#include <math.h>
#include <string.h>

void core_optim_config_default(struct core_optim_config *c)
{
    *c = (struct core_optim_config){.lr = 2e-4f, .beta1 = 0.9f, .beta2 = 0.999f,
                                    .eps = 1e-8f, .weight_decay = 0.0f, .clip = 1.0f,
                                    .warmup = 0, .total_steps = 1, .schedule = CORE_SCHED_COSINE,
                                    .min_lr_ratio = 0.0f, .max_bad_steps = 5};
}

int core_optim_init(struct core_optim *o, const struct core_optim_config *cfg, size_t n,
                    size_t n_decay, struct bz_err *err)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg, o->n = n, o->n_decay = n_decay;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        core_optim_cleanup(o);
        return bz_errf(err, BZ_ENOMEM, "optimizer moments: %.1f MiB could not be allocated",
                       2.0 * n * sizeof(float) / 1048576.0);
    }
    return 0;
}

void core_optim_cleanup(struct core_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

float core_optim_lr(const struct core_optim_config *c, int64_t step)
{
    if (c->warmup > 0 && step < c->warmup)
        return c->lr * (float)(step + 1) / (float)c->warmup;
    float floor_lr = c->lr * c->min_lr_ratio;
    int64_t span = (int64_t)c->total_steps - c->warmup;
    if (c->schedule == CORE_SCHED_CONSTANT || span <= 1)
        return c->lr;
    double frac = (double)(step - c->warmup) / (double)(span - 1);
    if (frac > 1.0)
        frac = 1.0;
    double k = c->schedule == CORE_SCHED_LINEAR ? 1.0 - frac : 0.5 * (1.0 + cos(M_PI * frac));
    return floor_lr + (float)k * (c->lr - floor_lr);
}

double core_optim_grad_norm(const float *grads, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)grads[i] * grads[i];
    return sqrt(s);
}

int core_optim_step(struct core_optim *o, float *params, const float *grads, double *grad_norm,
                    float *lr, struct bz_err *err)
{
    const struct core_optim_config *c = &o->cfg;
    double norm = core_optim_grad_norm(grads, o->n);
    *grad_norm = norm;
    *lr = core_optim_lr(c, o->step);
    if (!isfinite(norm)) {
        if (++o->bad_in_row >= c->max_bad_steps)
            return bz_errf(err, BZ_ENUMERIC,
                           "gradients were NaN/Inf in %d steps in a row (after step %lld): "
                           "lower --lr or check the data", o->bad_in_row, (long long)o->step);
        return 1;
    }
    o->bad_in_row = 0;
    float gscale = (c->clip > 0 && norm > c->clip) ? (float)(c->clip / norm) : 1.0f;
    o->step++;
    float b1 = c->beta1, b2 = c->beta2, rate = *lr;
    float bc1 = 1.0f - powf(b1, (float)o->step), bc2 = 1.0f - powf(b2, (float)o->step);
    for (size_t i = 0; i < o->n; i++) {
        float g = grads[i] * gscale;
        float m = o->m[i] = b1 * o->m[i] + (1.0f - b1) * g;
        float v = o->v[i] = b2 * o->v[i] + (1.0f - b2) * g * g;
        float mh = m / bc1, vh = v / bc2;
        float wd = i < o->n_decay ? c->weight_decay : 0.0f;
        params[i] -= rate * (mh / (sqrtf(vh) + c->eps) + wd * params[i]);
    }
    return 0;
}
