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

#endif
