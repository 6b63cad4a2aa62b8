/*
 * dpo.c: the DPO loss, its statistics and the micro-batch step (see dpo.h).
 *
 * Key idea: log sigmoid(x) = -softplus(-x), computed as -(max(-x, 0) + log1p(e^-|x|)),
 * so a large beta (or a large margin) neither overflows nor loses the log 2 at z = 0.
 * The per-row weights handed to core_train_backward are d loss / d row_loss:
 * -dz for the chosen row and +dz for the rejected one (row_loss = -log-prob).
 *
 * Left out: anything that needs a second copy of the model.
 */
#include "core/dpo.h"

#include <math.h>
#include <string.h>

/* log(1 + e^x) without overflow. */
static double softplus(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

static double sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double core_dpo_loss(double pi_c, double pi_r, double ref_c, double ref_r, float beta,
                     float eps, double *dz)
{
    double z = (pi_c - ref_c) - (pi_r - ref_r), bz = (double)beta * z;
    /* -log sigmoid(bz) = softplus(-bz) ; -log sigmoid(-bz) = softplus(bz) */
    double loss = (1.0 - eps) * softplus(-bz) + (double)eps * softplus(bz);
    if (dz)
        *dz = (double)beta * (-(1.0 - eps) * sigmoid(-bz) + (double)eps * sigmoid(bz));
    return loss;
}

void core_dpo_stats_add(struct core_dpo_stats *s, double pi_c, double pi_r, double ref_c,
                        double ref_r, float beta, float eps)
{
    double rc = (double)beta * (pi_c - ref_c), rr = (double)beta * (pi_r - ref_r);
    s->n++;
    s->loss += core_dpo_loss(pi_c, pi_r, ref_c, ref_r, beta, eps, NULL);
    s->rewards_chosen += rc, s->rewards_rejected += rr;
    s->reward_margin += rc - rr;
    s->reward_accuracy += rc > rr;
    s->logps_chosen += pi_c, s->logps_rejected += pi_r;
    s->ref_logps_chosen += ref_c, s->ref_logps_rejected += ref_r;
}

void core_dpo_stats_mean(struct core_dpo_stats *s)
{
    if (s->n <= 0)
        return;
    double k = 1.0 / s->n;
    s->loss *= k, s->rewards_chosen *= k, s->rewards_rejected *= k, s->reward_margin *= k;
    s->reward_accuracy *= k, s->logps_chosen *= k, s->logps_rejected *= k;
    s->ref_logps_chosen *= k, s->ref_logps_rejected *= k;
}

static int blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!strchr(" \t\r\n\v\f", *s))
            return 0;
    return 1;
}

int core_dpo_pair_check(const char *chosen, const char *rejected)
{
    if (blank(chosen) || blank(rejected))
        return CORE_DPO_SKIP_EMPTY;
    return strcmp(chosen, rejected) ? CORE_DPO_USABLE : CORE_DPO_SKIP_SAME;
}

int core_dpo_step(struct core_train *t, const struct core_train_batch *b, int n_pairs,
                  const double *ref, float beta, float eps, int backward, float dscale,
                  uint64_t dropout_seed, double *logps, struct core_dpo_stats *acc, int *ntok,
                  struct bz_err *err)
{
    if (n_pairs < 1 || 2 * n_pairs > t->B)
        return bz_errf(err, BZ_EINVAL, "dpo: %d pairs do not fit a batch of %d rows", n_pairs,
                       t->B);
    double row_loss[t->B], sum;
    float scale[t->B];
    int cnt;
    int rc = core_train_forward(t, b, backward, dropout_seed, row_loss, &sum, &cnt, err);
    if (rc)
        return rc;
    if (ntok)
        *ntok = cnt;
    for (int i = 0; i < t->B; i++)
        scale[i] = 0.0f;
    for (int i = 0; i < n_pairs; i++) {
        double pc = -row_loss[2 * i], pr = -row_loss[2 * i + 1], dz;
        core_dpo_loss(pc, pr, ref[2 * i], ref[2 * i + 1], beta, eps, &dz);
        if (acc)
            core_dpo_stats_add(acc, pc, pr, ref[2 * i], ref[2 * i + 1], beta, eps);
        if (logps)
            logps[2 * i] = pc, logps[2 * i + 1] = pr;
        scale[2 * i] = (float)(-dz * dscale);
        scale[2 * i + 1] = (float)(dz * dscale);
    }
    return backward ? core_train_backward(t, b, scale, err) : 0;
}
