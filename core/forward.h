/*
 * forward.h: inference for a Llama-family decoder: RMSNorm, RoPE (normal and NeoX
 * pairs, theta, linear position scaling), GQA attention over a KV cache, SwiGLU,
 * tied or untied output, optional q/k/v bias, and an optional LoRA adapter applied
 * beside the frozen weights (y += scale * (x·Aᵀ)·Bᵀ, never merged).
 *
 * Key idea: one call evaluates a run of tokens at the next positions of the cache.
 * Several tokens (prefill) go through cblas_sgemm, the weight's output rows split over
 * the pool, quantized weights dequantized by tiles of rows into per-thread scratch;
 * one token (decode) goes through the fused dequantize-and-dot kernels of
 * core/kernels.h, again rows split over the pool. Weights stay as stored.
 *
 * Threading: the caller's core_pool is the only threading layer (OpenBLAS is kept at
 * one thread; see core/pool.h). A core_forward is used by one thread at a time.
 *
 * Left out: batching several sequences, KV cache quantisation or paging, sliding
 * window attention, flash attention; the KV cache is F32.
 */
#ifndef CORE_FORWARD_H
#define CORE_FORWARD_H

#include "core/lora.h"
#include "core/model.h"
#include "core/pool.h"

struct core_forward;

/* Create an evaluator for model m (borrowed; must outlive it) with a KV cache of
 * n_ctx positions (<= 0: the model's ctx_len, at most 4096) and the pool (borrowed,
 * may be NULL for one thread). Fails with BZ_EUNSUPPORTED for a weight type the
 * kernels lack, BZ_EFORMAT for inconsistent shapes, BZ_ENOMEM when the cache does
 * not fit. Caller frees with core_forward_free. */
int core_forward_new(struct core_forward **out, const struct core_model *m,
                     struct core_pool *pool, int n_ctx, struct bz_err *err);
void core_forward_free(struct core_forward *f);

/* Use adapter lora (borrowed, NULL: the base model) for the following calls. Shapes
 * are checked against the model (BZ_EFORMAT). The cache is not cleared: callers who
 * switch adapters mid-sequence must core_forward_reset themselves. */
int core_forward_set_lora(struct core_forward *f, const struct core_lora *lora,
                          struct bz_err *err);

/* Forget the cached positions from n_pos on (0: empty the cache). */
void core_forward_truncate(struct core_forward *f, int n_pos);
/* Positions held in the cache, and its capacity. */
int core_forward_pos(const struct core_forward *f);
int core_forward_ctx(const struct core_forward *f);
/* Vocabulary size V of the logits rows. */
int core_forward_vocab(const struct core_forward *f);

/* Evaluate tokens[0..T) at positions pos..pos+T-1 (pos = core_forward_pos) and append
 * them to the cache. logits: NULL, or (T, V) floats when all_logits, else (V) floats
 * for the last token only. Fails with BZ_ERANGE when the cache would overflow (it is
 * left unchanged), BZ_EINVAL for a token outside [0, V). */
int core_forward_eval(struct core_forward *f, const int *tokens, int T, float *logits,
                      int all_logits, struct bz_err *err);

/* Counters since creation: tokens evaluated by several-token calls and by one-token
 * calls, and seconds spent in each. */
struct core_forward_stats {
    long long prefill_tokens, decode_tokens;
    double prefill_s, decode_s;
};
void core_forward_stats(const struct core_forward *f, struct core_forward_stats *st);

#endif
