/*
 * ops.h: the training kernels, as forward/backward pairs (llm.c style).
 *
 * Key ideas: every op has a _forward and a _backward with the same argument order;
 * backward ACCUMULATES into gradient buffers (callers zero them), and a gradient
 * pointer that is NULL is not computed (frozen weights). Activations are row-major
 * (N rows = B*T tokens); weights follow GGUF layout (OC, C): row o holds the C inputs
 * of output o, so a linear is out = inp . W^T (+ bias). Matmuls go to cblas_sgemm;
 * quantized frozen weights are dequantized by tiles of rows into a caller scratch.
 *
 * Dimension letters: B batch, T time, C model dim, NH heads, NKV kv heads, HS head
 * size, FF ffn hidden, V vocab, R LoRA rank, OC output channels, N = B*T rows.
 *
 * Left out: fused kernels, flash attention (the attention keeps its (B,NH,T,T)
 * probabilities for backward), anything but float32 activations.
 */
#ifndef CORE_OPS_H
#define CORE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/pool.h"

/* Rows of a quantized weight dequantized at once by core_ops_linear_*; the scratch
 * those need is CORE_OPS_TILE * C floats (see core_ops_linear_scratch). */
#define CORE_OPS_TILE 64

/* Use pool for the big matmuls and attention from now on (NULL: serial, OpenBLAS's
 * own threads). Process-wide; set it before training starts, not during a step. */
void core_ops_set_pool(struct core_pool *pool);

/* Floats of scratch core_ops_attention_backward needs for T (per pool thread). */
size_t core_ops_attention_scratch(int T);

/* out (N,C) = wte[inp[n]] ; backward: dwte[inp[n]] += dout[n]. */
void core_ops_embedding_forward(float *out, const int *inp, const float *wte, int N, int C);
void core_ops_embedding_backward(float *dwte, const float *dout, const int *inp, int N, int C);

/* out (N,C) = inp * rstd * weight, rstd (N) saved for backward. */
void core_ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                              int N, int C, float eps);
/* dinp (N,C) +=, dweight (C) += (may be NULL). */
void core_ops_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                               const float *weight, const float *rstd, int N, int C);

/* out (N,OC) = inp (N,C) . weight(OC,C)^T + bias (OC, may be NULL). F32 weights. */
void core_ops_matmul_forward(float *out, const float *inp, const float *weight,
                             const float *bias, int N, int C, int OC);
/* dinp (N,C) += dout . W ; dweight (OC,C) += dout^T . inp ; dbias += colsum(dout).
 * Any of dinp, dweight, dbias may be NULL. */
void core_ops_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int N, int C, int OC);

/* Floats of scratch core_ops_linear_* needs for weight w (0 for F32). */
size_t core_ops_linear_scratch(const struct core_tensor *w);
/* As matmul, for a frozen weight tensor of any stored type: F32 directly, other types
 * dequantized CORE_OPS_TILE rows at a time into scratch. out is overwritten (beta 0)
 * when accumulate is 0, else added to. Returns 0 or BZ_EUNSUPPORTED (type). */
int core_ops_linear_forward(float *out, const float *inp, const struct core_tensor *w,
                            int N, int C, int OC, int accumulate, float *scratch);
/* dinp (N,C) += dout (N,OC) . W, for a frozen weight of any stored type. */
int core_ops_linear_backward(float *dinp, const float *dout, const struct core_tensor *w,
                             int N, int C, int OC, float *scratch);

/* RoPE tables: cos/sin (npos, HS/2) for theta and linear position scaling. */
void core_ops_rope_table(float *cos_t, float *sin_t, int npos, int HS, float theta,
                         float scale);
/* Rotate in place x (N, NH, HS) at positions pos (N) (each < npos of the table).
 * mode CORE_ROPE_NORM rotates pairs (2i, 2i+1); CORE_ROPE_NEOX pairs (i, i+HS/2). */
void core_ops_rope_forward(float *x, const int *pos, const float *cos_t, const float *sin_t,
                           int N, int NH, int HS, int mode);
/* The inverse rotation, in place on the gradient dx (N, NH, HS). */
void core_ops_rope_backward(float *dx, const int *pos, const float *cos_t,
                            const float *sin_t, int N, int NH, int HS, int mode);

/* Causal attention with GQA and segment masks. q (B,T,NH,HS), k and v (B,T,NKV,HS),
 * out (B,T,NH,HS), att (B,NH,T,T) softmax probabilities saved for backward. Query t
 * sees keys t2 <= t with seg[b,t2] == seg[b,t] (seg may be NULL: one segment per
 * row), which isolates packed sequences and padding. Scale 1/sqrt(HS). */
void core_ops_attention_forward(float *out, float *att, const float *q, const float *k,
                                const float *v, const int *seg, int B, int T, int NH, int NKV,
                                int HS);
/* dq, dk, dv +=. scratch: core_ops_attention_scratch(T) floats. */
void core_ops_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                 const float *att, const float *q, const float *k,
                                 const float *v, int B, int T, int NH, int NKV, int HS,
                                 float *scratch);

/* out (N,FF) = silu(gate) * up ; backward dgate, dup +=. */
void core_ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int FF);
void core_ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                              const float *up, int N, int FF);

/* out = a + b (n floats) ; backward da += dout, db += dout. */
void core_ops_residual_forward(float *out, const float *a, const float *b, size_t n);
void core_ops_residual_backward(float *da, float *db, const float *dout, size_t n);

/* Softmax cross-entropy over rows of logits (N,V): losses (N) = -log p[target]; probs
 * (N,V) may alias logits. Rows with target < 0 get loss 0 and are not touched. */
void core_ops_crossentropy_forward(float *losses, float *probs, const float *logits,
                                   const int *targets, int N, int V);
/* dlogits (N,V) += (probs - onehot) * dlosses[n], rows with target < 0 skipped. */
void core_ops_crossentropy_backward(float *dlogits, const float *dlosses, const float *probs,
                                    const int *targets, int N, int V);

/* Masked output head: loss over the rows n with targets[n] >= 0 only; the V-wide
 * projection runs on those rows alone, in chunks of `chunk` rows. x (N,C) is the final
 * normed hidden state, w (V,C) the output weight. Returns the SUM of losses, *count
 * the rows counted. When dx (N,C) is not NULL it does the backward too, with dloss =
 * dscale per counted row: dx += ..., dw (V,C) += ... (dw may be NULL: frozen).
 * scratch: chunk*(C + V) + chunk*C floats plus core_ops_linear_scratch(w). */
double core_ops_masked_head(const float *x, const struct core_tensor *w, const int *targets,
                            int N, int C, int V, float dscale, float *dx, float *dw,
                            int chunk, float *scratch, int *count);
/* The same with the rows grouped by T (batch row b = n / T): the backward's dloss of
 * a counted row n is row_scale[n / T] (row_scale NULL: dscale for every row), and
 * row_loss (N / T doubles, may be NULL) gets each batch row's loss sum added. With
 * row_scale NULL and T = N it computes exactly what core_ops_masked_head does. */
double core_ops_masked_head_rows(const float *x, const struct core_tensor *w,
                                 const int *targets, int N, int C, int V, int T,
                                 const float *row_scale, float dscale, double *row_loss,
                                 float *dx, float *dw, int chunk, float *scratch, int *count);
size_t core_ops_masked_head_scratch(const struct core_tensor *w, int C, int V, int chunk);

/* Dropout mask bit for element i of stream `seed`: 1 keep, 0 drop (counter-based, so
 * backward regenerates it instead of storing it). Elements are indexed mod 2^32. */
int core_ops_dropout_keep(uint64_t seed, uint64_t i, float p);

/* LoRA: out (N,OC) += scale * (drop(inp) . A^T) . B^T with A (R,C), B (OC,R).
 * h (N,R) = drop(inp) . A^T is saved for backward. dropout p with stream seed (p = 0:
 * no dropout). xd: N*C scratch used when p > 0. */
void core_ops_lora_forward(float *out, float *h, const float *inp, const float *a,
                           const float *b, int N, int C, int OC, int R, float scale, float p,
                           uint64_t seed, float *xd);
/* dinp (N,C) += , da (R,C) +=, db (OC,R) +=. dh: N*R scratch, xd: N*C scratch. */
void core_ops_lora_backward(float *dinp, float *da, float *db, const float *dout,
                            const float *h, const float *inp, const float *a, const float *b,
                            int N, int C, int OC, int R, float scale, float p, uint64_t seed,
                            float *dh, float *xd);

#endif
