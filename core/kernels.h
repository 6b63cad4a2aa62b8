/*
 * kernels.h: the weight kernels of the engine: dequantize rows of a stored tensor
 * type, and fused dequantize-and-dot of a stored row with an F32 vector (decode
 * matvec). Types: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (ggml block layouts).
 *
 * Key idea: a portable C path is always present; AVX2 (+FMA+F16C) and AVX-512
 * (F+BW) paths are compiled with target attributes (the build targets x86-64-v2)
 * and chosen at run time with __builtin_cpu_supports. The fused dots dequantize in
 * registers and accumulate in F32, so they agree with dequantize-then-dot to rounding.
 * Decode of Q8_0/Q4_0 may instead take the activation as int16 per block of 32
 * (core_kernels_matvec_xq): half the instructions, error below 2e-5 of |w|.|x|.
 * Quantizers (F16, BF16, Q8_0, Q4_0) exist for tests, tools and benches.
 *
 * Left out: Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q5_K types, ARM NEON, K-quant quantizers.
 */
#ifndef CORE_KERNELS_H
#define CORE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

enum core_kernels_isa {
    CORE_KERNELS_AUTO = 0,
    CORE_KERNELS_PORTABLE,
    CORE_KERNELS_AVX2,
    CORE_KERNELS_AVX512,
};

/* Choose the code path for every later call in the process (AUTO: the best the CPU
 * has). Returns 0, or BZ_EUNSUPPORTED when the CPU lacks that instruction set. Not
 * to be called while other threads run kernels. */
int core_kernels_set_isa(int isa);
/* The path in use (never AUTO), and its name ("portable", "avx2", "avx512"). Until a
 * path is set, the first call picks the best, or the one the environment variable
 * BEZOAR_KERNELS names when the CPU has it. */
int core_kernels_isa(void);
const char *core_kernels_isa_name(int isa);
/* 1 when the CPU can run the given path. */
int core_kernels_isa_supported(int isa);

/* 1 when the type has dequantize and dot kernels here. */
int core_kernels_type_ok(int type);
/* Elements per block and bytes per block of a type (0 for unsupported types). */
int core_kernels_block_elems(int type);
size_t core_kernels_block_bytes(int type);
/* Bytes of one row of n elements (n a multiple of the block size). */
size_t core_kernels_row_bytes(int type, int64_t n);

/* Dequantize n elements (a multiple of the block size) from src into dst (portable
 * code; prefill amortises it over the batch). Returns 0 or BZ_EUNSUPPORTED. */
int core_kernels_dequant(int type, const void *src, float *dst, int64_t n);
/* Quantize n floats into dst (F32, F16, BF16, Q8_0, Q4_0 only). 0 or BZ_EUNSUPPORTED. */
int core_kernels_quantize(int type, const float *src, void *dst, int64_t n);

/* Dot of one stored row (n elements) with x (n floats). type must be supported. */
float core_kernels_dot(int type, const void *row, const float *x, int64_t n);
/* y[r] = dot(row r of w, x) for rows r in [r0, r1) of a weight whose rows hold n
 * elements. y is indexed by absolute row. Thread-safe; callers split rows. */
void core_kernels_matvec(int type, const void *w, int64_t n, const float *x, float *y,
                         int64_t r0, int64_t r1);

/* An activation prepared for the integer matvecs of Q8_0 and Q4_0: x in blocks of 32
 * as int16 with a per-block scale (block max |x| / 32767), beside x itself. Products
 * then come from vpmaddwd (int8 weights widened to int16): half the instructions of
 * the float path, at an activation error below 1/65534 of each block's largest value
 * (llama.cpp's 8-bit activations err 256 times more). Other types use x. */
struct core_kernels_xq {
    const float *x;   /* (n) */
    int64_t n;
    int16_t *q;       /* (n), caller storage */
    float *d;         /* (n / 32), caller storage */
};
/* Fill xq from x (n a multiple of 32 for the integer path; otherwise only x is used). */
void core_kernels_xq_prepare(struct core_kernels_xq *xq, const float *x, int64_t n, int16_t *q,
                             float *d);
/* As core_kernels_matvec with a prepared activation: Q8_0 and Q4_0 rows through the
 * integer path on AVX2/AVX-512, everything else as core_kernels_matvec. */
void core_kernels_matvec_xq(int type, const void *w, int64_t n, const struct core_kernels_xq *xq,
                            float *y, int64_t r0, int64_t r1);

/* Half and bfloat16 conversions (round to nearest even). */
float core_kernels_f16_to_f32(uint16_t h);
uint16_t core_kernels_f32_to_f16(float f);
float core_kernels_bf16_to_f32(uint16_t h);
uint16_t core_kernels_f32_to_bf16(float f);

#endif
