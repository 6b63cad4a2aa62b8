/*
 * dpo.h: Direct Preference Optimization on top of the training step (core/train.h).
 *
 * Key ideas: a pair is two rows of one micro-batch, row 2i the prompt + chosen answer
 * and row 2i+1 the prompt + rejected answer, with loss targets on the answer tokens
 * only. The policy's log-probability of an answer is minus the sum of its row's token
 * losses; the reference's comes from the caller (computed once with the starting
 * parameters, so no second model is kept). With z = (pi_c - ref_c) - (pi_r - ref_r),
 * the loss of a pair is -(1-eps) log sigmoid(beta z) - eps log sigmoid(-beta z)
 * (eps: label smoothing); its gradient reaches every token of a row through one
 * number per row, so a DPO micro-batch is one forward and one backward
 * (core_train_forward / core_train_backward).
 *
 * Left out: IPO / hinge variants, reference-free DPO, pairs split across
 * micro-batches.
 */
#ifndef CORE_DPO_H
#define CORE_DPO_H

#include <stdint.h>

#include "core/bz.h"
#include "core/train.h"

/* Sums over pairs (core_dpo_stats_add), then means (core_dpo_stats_mean). Rewards are
 * beta * (policy - reference) log-probs; accuracy counts reward chosen > rejected. */
struct core_dpo_stats {
    int n;
    double loss, rewards_chosen, rewards_rejected, reward_margin, reward_accuracy;
    double logps_chosen, logps_rejected, ref_logps_chosen, ref_logps_rejected;
};

/* Loss of one pair from the four log-probs; *dz (may be NULL) gets d loss / d z, so
 * d loss / d pi_c = *dz and d loss / d pi_r = -*dz. Stable for any beta z. */
double core_dpo_loss(double pi_c, double pi_r, double ref_c, double ref_r, float beta,
                     float eps, double *dz);
void core_dpo_stats_add(struct core_dpo_stats *s, double pi_c, double pi_r, double ref_c,
                        double ref_r, float beta, float eps);
/* Turn the sums into means over s->n pairs (nothing when n is 0). */
void core_dpo_stats_mean(struct core_dpo_stats *s);

/* Why a preference pair cannot be trained on: 0 usable, CORE_DPO_SKIP_EMPTY when a
 * side is NULL or only whitespace, CORE_DPO_SKIP_SAME when both are the same text. */
enum { CORE_DPO_USABLE = 0, CORE_DPO_SKIP_EMPTY, CORE_DPO_SKIP_SAME };
int core_dpo_pair_check(const char *chosen, const char *rejected);

/* One DPO micro-batch of n_pairs pairs in rows [0, 2 n_pairs) of b (t->B >= 2 n_pairs;
 * rows beyond carry no loss targets). ref[2i], ref[2i+1]: reference log-probs of pair
 * i's chosen and rejected answers. Forward with dropout when backward != 0 (masks
 * keyed by dropout_seed); logps (2 n_pairs, may be NULL) gets the policy log-probs;
 * the pairs are added to *acc (may be NULL). With backward, adds to t->grads the
 * gradient of dscale * (sum of the pairs' losses). *ntok (may be NULL): tokens with
 * loss in the batch. */
int core_dpo_step(struct core_train *t, const struct core_train_batch *b, int n_pairs,
                  const double *ref, float beta, float eps, int backward, float dscale,
                  uint64_t dropout_seed, double *logps, struct core_dpo_stats *acc, int *ntok,
                  struct bz_err *err);

#endif
