/*
 * train.h: one training step of a Llama-family model: forward saving activations,
 * backward into gradients, for LoRA adapters on any of q,k,v,o,gate,up,down or for
 * every weight (full mode).
 *
 * Key ideas: the step is written out layer by layer with core/ops.h kernels (llm.c
 * style). Trainable parameters live in ONE slab (params), their gradients in a second
 * slab of the same layout (grads), so the optimizer is one loop over n_params floats;
 * activations live in a third slab sized for (B, T) at creation. In LoRA mode the base
 * weights stay frozen in whatever type they are stored (quantized ones dequantized by
 * tile); in full mode every weight is copied to F32 in the params slab.
 *
 * The step also splits into forward and backward at the output head, so a loss that
 * weighs each row after seeing the forward (DPO, core/dpo.h) costs one forward and one
 * backward.
 *
 * Left out: activation recomputation (everything the backward needs is kept), mixed
 * precision.
 */
#ifndef CORE_TRAIN_H
#define CORE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"
#include "core/lora.h"
#include "core/model.h"
#include "core/pool.h"

struct core_train_opts {
    unsigned targets;   /* bit mask of (1u << CORE_LORA_*); ignored in full mode */
    int rank;           /* R */
    float alpha;        /* scale = alpha / R (alpha / sqrt(R) with rslora) */
    float dropout;      /* LoRA dropout probability on the adapter input */
    int rslora;
    int full;           /* train every weight instead of adapters */
    int B, T;           /* micro-batch shape the activations are sized for */
    int head_chunk;     /* rows per output-projection chunk; 0: 256 */
};

/* One micro-batch, all arrays (B, T) with T = the batch's own length (<= opts.T; 0
 * means opts.T), rows contiguous. targets[i] < 0: no loss at position i (prompt,
 * padding). pos: RoPE positions; seg: attention segment ids (a token sees earlier
 * tokens of its own segment only), NULL for one segment per row. */
struct core_train_batch {
    int T;
    const int *tokens;
    const int *targets;
    const int *pos;
    const int *seg;
};

struct core_train {
    struct core_model *model;
    struct core_train_opts opts;
    int B, T, C, NH, NKV, HS, FF, V, L, R, QD, KD;
    float *params;          /* (n_params) trainable parameters */
    float *grads;           /* (n_params) their gradients, same layout */
    size_t n_params;
    size_t n_decay;         /* params [0, n_decay) take weight decay, the rest (norms) not */
    struct core_lora lora;  /* LoRA mode: pairs pointing into params */
    struct core_pool *pool; /* borrowed, may be NULL */
    void *priv;             /* weights table, activations, scratch (train.c) */
};

/* Check the options against the model and the available memory, then allocate the
 * slabs. Errors name the number that is wrong (rank larger than a dimension, T larger
 * than the context, memory needed vs available). The model is borrowed and must
 * outlive the trainer; pool may be NULL. LoRA A/B start at zero: call
 * core_train_init_params. */
int core_train_new(struct core_train **out, struct core_model *m,
                   const struct core_train_opts *opts, struct core_pool *pool,
                   struct bz_err *err);
void core_train_free(struct core_train *t);
/* Bytes the trainer would allocate for these options (params, grads, activations,
 * scratch; not the model or optimizer moments). */
size_t core_train_bytes(const struct core_model *m, const struct core_train_opts *opts);

/* LoRA: A ~ U(-1/sqrt(C_in), 1/sqrt(C_in)) from a stream keyed by seed, B = 0 (PEFT
 * default). Full mode: the params already hold the model's weights; nothing to do. */
void core_train_init_params(struct core_train *t, uint64_t seed);
void core_train_zero_grad(struct core_train *t);

/* Forward one micro-batch; with backward != 0 also backward, adding to grads the
 * gradient of dscale * (sum of token losses). *loss_sum is the sum of token losses
 * (double), *count the tokens that carry loss. dropout_seed keys the dropout masks
 * (the same seed gives the same masks); dropout is off when backward == 0. */
int core_train_step(struct core_train *t, const struct core_train_batch *b, int backward,
                    float dscale, uint64_t dropout_seed, double *loss_sum, int *count,
                    struct bz_err *err);

/* The step split at the output head, for losses whose per-row weight depends on the
 * forward's result (DPO). core_train_forward runs the forward (dropout on when train,
 * masks keyed by dropout_seed), keeps the activations, and sets row_loss[b] (t->B
 * doubles) to the sum of the token losses of batch row b, *loss_sum their total and
 * *count the tokens with loss. core_train_backward, called next with the same batch
 * after a train forward, adds to grads the gradient of sum_b row_scale[b] * row_loss[b]
 * (one head recomputation, no second forward). With every row_scale equal to dscale
 * the gradient is what core_train_step gives (up to float summation order). */
int core_train_forward(struct core_train *t, const struct core_train_batch *b, int train,
                       uint64_t dropout_seed, double *row_loss, double *loss_sum, int *count,
                       struct bz_err *err);
int core_train_backward(struct core_train *t, const struct core_train_batch *b,
                        const float *row_scale, struct bz_err *err);

/* Full mode: tensors is a copy of model->tensors ([n_tensors]); every trained tensor
 * in it is re-pointed at the trainer's F32 weights (type F32; borrowed, valid while t
 * lives), so a shallow model copy using it can be written with core_model_save_gguf. */
int core_train_export_full(struct core_train *t, struct core_tensor *tensors,
                           struct bz_err *err);

/* Per-kind seconds spent in the last core_train_step (for benchmarks). */
enum core_train_timer {
    CORE_TRAIN_T_NORM, CORE_TRAIN_T_ATTN_LIN, CORE_TRAIN_T_ATTN, CORE_TRAIN_T_FFN_LIN,
    CORE_TRAIN_T_LORA, CORE_TRAIN_T_HEAD, CORE_TRAIN_T_OTHER, CORE_TRAIN_T_COUNT
};
const char *core_train_timer_name(int i);
void core_train_timers(const struct core_train *t, double out[CORE_TRAIN_T_COUNT]);

#endif
