/*
 * model.h: one in-memory description of a Llama-family decoder, filled from GGUF,
 * a Hugging Face directory (config.json + safetensors) or a llama2.c checkpoint.
 *
 * Weights are not copied when the source can be mapped: a tensor points into the
 * mmap'd file and keeps its stored type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K);
 * kernels dequantize by tile. Layouts follow GGUF/ggml: a weight (out, in) is
 * ne[0] = in (contiguous), ne[1] = out, row-major rows of `in` elements; Q/K rows
 * are in GGUF order (HF checkpoints are permuted on load).
 *
 * Dimension letters (llm.c): C model dim, NH heads, NKV kv heads, HS head size,
 * FF FFN hidden, V vocab, L layers.
 */
#ifndef CORE_MODEL_H
#define CORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

/* ggml tensor type ids (as stored in GGUF). */
enum core_type {
    CORE_TYPE_F32 = 0,
    CORE_TYPE_F16 = 1,
    CORE_TYPE_Q4_0 = 2,
    CORE_TYPE_Q4_1 = 3,
    CORE_TYPE_Q5_0 = 6,
    CORE_TYPE_Q5_1 = 7,
    CORE_TYPE_Q8_0 = 8,
    CORE_TYPE_Q8_1 = 9,
    CORE_TYPE_Q2_K = 10,
    CORE_TYPE_Q3_K = 11,
    CORE_TYPE_Q4_K = 12,
    CORE_TYPE_Q5_K = 13,
    CORE_TYPE_Q6_K = 14,
    CORE_TYPE_Q8_K = 15,
    CORE_TYPE_BF16 = 30,
};

struct core_tensor {
    char name[96];
    int type;           /* enum core_type */
    int n_dims;
    int64_t ne[4];      /* ne[0] contiguous */
    void *data;         /* borrowed (mmap) or owned by the model's slab */
    size_t nbytes;
};

enum core_rope_mode { CORE_ROPE_NORM = 0, CORE_ROPE_NEOX = 2 };
enum core_arch { CORE_ARCH_LLAMA = 0, CORE_ARCH_QWEN2 };

struct core_model_config {
    int arch;           /* enum core_arch */
    int dim;            /* C */
    int n_layers;       /* L */
    int n_heads;        /* NH */
    int n_kv_heads;     /* NKV */
    int head_dim;       /* HS */
    int ffn_dim;        /* FF */
    int vocab_size;     /* V */
    int ctx_len;        /* trained context length */
    float rope_theta;
    float rope_scale;   /* linear scaling factor (1 = none) */
    int rope_mode;      /* enum core_rope_mode */
    float norm_eps;
    int tied_output;    /* output projection is the token embedding */
    int qkv_bias;       /* q/k/v carry a bias (Qwen2) */
};

struct core_layer {
    struct core_tensor *attn_norm;          /* (C) */
    struct core_tensor *wq, *wk, *wv, *wo;  /* (NH*HS, C) (NKV*HS, C) x2, (C, NH*HS) */
    struct core_tensor *bq, *bk, *bv;       /* optional biases */
    struct core_tensor *ffn_norm;           /* (C) */
    struct core_tensor *w_gate, *w_up;      /* (FF, C) */
    struct core_tensor *w_down;             /* (C, FF) */
};

struct core_vocab; /* core/tokenizer.h */
struct core_gguf;  /* core/gguf.h */

struct core_model {
    struct core_model_config cfg;
    struct core_tensor *tok_embd;    /* (V, C) */
    struct core_tensor *out_norm;    /* (C) */
    struct core_tensor *output;      /* (V, C); == tok_embd when tied */
    struct core_layer *layers;       /* [L] */
    struct core_tensor *tensors;     /* all tensors, [n_tensors] */
    int n_tensors;
    struct core_vocab *vocab;        /* may be NULL when the source has none */
    char *chat_template;             /* the model's own Jinja template text, or NULL */
    char *name;                      /* general.name or the file name */
    char *path;                      /* where it was loaded from */
    void *priv;                      /* loader state: mmaps, owned slabs */
    /* Added by the model-files part. Tensor data that points into a file is a
     * read-only mapping (PROT_READ): copy before writing. */
    struct core_tensor *rope_freqs;  /* optional (HS/2) RoPE frequency divisors (Llama 3.1):
                                        theta_i = pos * base^(-2i/HS) / rope_freqs[i] */
    struct core_gguf *gguf;          /* metadata (tokenizer.ggml.*, general.*): the GGUF
                                        file itself, or one synthesized in memory from a
                                        llama2.c tokenizer.bin or an HF tokenizer.json;
                                        never NULL after a successful open */
    const char *format;              /* "gguf", "llama2c" or "hf" (static string) */
};

/* Open a model: a .gguf file, a llama2.c .bin (tokenizer.bin beside it or given by
 * the BEZOAR_TOKENIZER environment), or a Hugging Face directory. Unknown
 * architectures are refused by name before any weight is touched. */
int core_model_open(struct core_model **out, const char *path, struct bz_err *err);
void core_model_free(struct core_model *m);
/* Parameter count (elements over all weight tensors). */
uint64_t core_model_params(const struct core_model *m);

/* Bytes per block and elements per block of a tensor type; 0 for unknown types. */
size_t core_type_block_bytes(int type);
int core_type_block_elems(int type);
const char *core_type_name(int type);
/* The type id for a name ("f16", "Q8_0"; case-insensitive), or -1. */
int core_type_from_name(const char *name);
/* Dequantize n elements (a multiple of the block size) of type from src to dst. */
int core_dequant_row(int type, const void *src, float *dst, int64_t n);

/* Elements of a tensor (product of ne). */
int64_t core_tensor_nelems(const struct core_tensor *t);
/* A model tensor by its GGUF name ("blk.0.attn_q.weight"); NULL when absent. */
struct core_tensor *core_model_tensor(const struct core_model *m, const char *name);
/* Write the model as GGUF v3: architecture keys from cfg, every other metadata key
 * of m->gguf (tokenizer, chat template, ...), every tensor. type (F32, F16, BF16 or
 * Q8_0) applies to 2-D tensors; 1-D tensors stay F32, and a 2-D tensor whose rows
 * are not a whole number of blocks falls back to F16 (a line per fallback goes to
 * `report` when given). Streams through tmp + fsync + rename. */
int core_model_save_gguf(const struct core_model *m, const char *path, int type,
                         struct bz_buf *report, struct bz_err *err);
/* The same with a progress callback after each tensor (done and total bytes of
 * tensor data written; nonzero cancels). fn may be NULL. */
int core_model_save_gguf_progress(const struct core_model *m, const char *path, int type,
                                  struct bz_buf *report,
                                  int (*fn)(void *ctx, uint64_t done, uint64_t total),
                                  void *ctx, struct bz_err *err);

/* Loader internals shared by core/model.c, llama2c.c and hf.c; not for other modules. */
/* Run fn(p) when the model is freed (mmaps, slabs, open files), in reverse order. */
void core_model__defer(struct core_model *m, void (*fn)(void *), void *p);
/* Point tok_embd/out_norm/output/layers at m->tensors by name and check every shape
 * against cfg; refuse tensor types that cannot be computed with. */
int core_model__bind(struct core_model *m, struct bz_err *err);
/* Fill m from a llama2.c checkpoint / a Hugging Face directory (cfg, tensors, gguf). */
int core_llama2c_load(struct core_model *m, const char *path, struct bz_err *err);
int core_hf_load(struct core_model *m, const char *dir, struct bz_err *err);

#endif
