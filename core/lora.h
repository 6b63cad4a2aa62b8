/*
 * lora.h: a LoRA adapter as the engine uses it: for each layer and each targeted
 * projection W (C_out, C_in), two F32 matrices A (R, C_in) and B (C_out, R) and a
 * scale, applied beside the frozen weight as y += scale * (x·Aᵀ)·Bᵀ. The adapter is
 * never merged into the base weights, so one model in memory serves with and
 * without it (core/forward.c takes the adapter per call).
 *
 * Layout follows PEFT (lora_A.weight is (R, C_in), lora_B.weight is (C_out, R),
 * rows contiguous). Creating, loading, training and exporting adapters live in
 * core/lora.c (training helper); this header only fixes the shape of the struct.
 */
#ifndef CORE_LORA_H
#define CORE_LORA_H

#include <stdint.h>

#include "core/bz.h"
#include "core/model.h"

/* The projections an adapter can target, in the order of core_layer's fields. */
enum core_lora_target {
    CORE_LORA_Q = 0,
    CORE_LORA_K,
    CORE_LORA_V,
    CORE_LORA_O,
    CORE_LORA_GATE,
    CORE_LORA_UP,
    CORE_LORA_DOWN,
    CORE_LORA_NTARGETS
};

/* One adapted projection. a == NULL means "not adapted". */
struct core_lora_pair {
    int r;          /* R (rank of this pair) */
    int c_in;       /* C_in, columns of A */
    int c_out;      /* C_out, rows of B */
    float scale;    /* usually alpha / R (alpha / sqrt(R) with rsLoRA) */
    float *a;       /* (R, C_in) */
    float *b;       /* (C_out, R) */
};

struct core_lora {
    int n_layers;                   /* L; equals the base model's */
    int rank;                       /* default R */
    float alpha;                    /* lora_alpha */
    unsigned targets;               /* bit mask of (1u << CORE_LORA_*) */
    struct core_lora_pair *pairs;   /* [L * CORE_LORA_NTARGETS], see core_lora_pair_at */
    float *slab;                    /* owns every a and b (may be NULL if owned elsewhere) */
    char *name;                     /* where it came from, or NULL */
};

/* The pair of layer l, target t, or NULL when lora is NULL or that pair is not adapted. */
static inline const struct core_lora_pair *core_lora_pair_at(const struct core_lora *lora, int l,
                                                             int t)
{
    if (!lora || !lora->pairs || l < 0 || l >= lora->n_layers)
        return 0;
    const struct core_lora_pair *p = &lora->pairs[(int64_t)l * CORE_LORA_NTARGETS + t];
    return p->a ? p : 0;
}

/* ---------------------------------------------------------------- core/lora.c
 * Files and creation. In memory, B's rows follow the model (GGUF order). The PEFT
 * export uses Hugging Face names (base_model.model.model.layers.N.self_attn.q_proj.
 * lora_A.weight) and HF row order: for a model with normal (adjacent-pair) RoPE the
 * rows of q's and k's B are un-permuted per head, the inverse of what llama.cpp's
 * converter does to the base weights; the GGUF adapter keeps GGUF order, as
 * convert_lora_to_gguf.py writes it. Left out: bias, DoRA, per-module ranks. */

/* Allocate a zeroed adapter for model m: targets (1u << CORE_LORA_*), rank, alpha,
 * scale alpha/rank (alpha/sqrt(rank) with rslora). Rank larger than a targeted
 * dimension is BZ_EINVAL, named. Free with core_lora_cleanup. */
int core_lora_init(struct core_lora *l, const struct core_model *m, unsigned targets, int rank,
                   float alpha, int rslora, struct bz_err *err);
/* Frees the slab and pairs (when owned), the name. Takes NULL. */
void core_lora_cleanup(struct core_lora *l);

/* The PEFT / HF module name of target t ("q_proj", ..., "down_proj") and its GGUF
 * base name ("attn_q", ..., "ffn_down"). */
const char *core_lora_hf_name(int t);
const char *core_lora_gguf_name(int t);

/* Write dir/adapter_config.json and dir/adapter_model.safetensors (F32), each tmp +
 * rename. base_name goes to base_model_name_or_path. */
int core_lora_save_peft(const struct core_lora *l, const struct core_model *m, const char *dir,
                        float dropout, int rslora, const char *base_name, struct bz_err *err);
/* Write a llama.cpp LoRA adapter GGUF (general.type=adapter, adapter.type=lora,
 * adapter.lora.alpha, blk.N.<name>.weight.lora_a / lora_b in F32). */
int core_lora_save_gguf(const struct core_lora *l, const struct core_model *m, const char *path,
                        struct bz_err *err);

/* Load a PEFT directory (or its adapter_model.safetensors) or an adapter GGUF for
 * model m. Every tensor's shape is checked against the model: a mismatch is refused
 * with both shapes. *out owns its memory: core_lora_cleanup. */
int core_lora_load(struct core_lora *out, const struct core_model *m, const char *path,
                   struct bz_err *err);

/* W += scale * B . A for every adapted pair, in the model's weights, which must be F32
 * and writable (BZ_EUNSUPPORTED names the first that is not). */
int core_lora_merge(struct core_model *m, const struct core_lora *l, struct bz_err *err);

#endif
