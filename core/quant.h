/*
 * quant.h: reference (scalar) conversions between F32 and the stored tensor types:
 * half floats, bfloat16, and ggml's block formats. Dequantization covers F32, F16,
 * BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K; quantization
 * F32 -> F32/F16/BF16/Q8_0 (what `bezoar convert` writes).
 *
 * These are the definitions the fast fused kernels elsewhere are tested against:
 * plain loops, bit-exact with ggml's reference code (ggml-quants.c), no SIMD.
 * core_dequant_row (declared in core/model.h) lives here too.
 */
#ifndef CORE_QUANT_H
#define CORE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

/* IEEE half and bfloat16 <-> float. Rounding to nearest even; NaN stays NaN. */
float core_quant_f16_to_f32(uint16_t h);
uint16_t core_quant_f32_to_f16(float f);
float core_quant_bf16_to_f32(uint16_t h);
uint16_t core_quant_f32_to_bf16(float f);

/* Bytes of n elements of type (n a multiple of the block size); 0 when the type is
 * unknown or n is not a whole number of blocks. */
size_t core_quant_row_bytes(int type, int64_t n);
/* Whether core_dequant_row / core_quant_row handle type. */
int core_quant_can_dequant(int type);
int core_quant_can_quant(int type);
/* Quantize n floats (a multiple of the block size) into dst of type: F32, F16, BF16,
 * Q8_0 (ggml's reference rounding). BZ_EUNSUPPORTED for other types, BZ_EINVAL for
 * a partial block. */
int core_quant_row(int type, const float *src, void *dst, int64_t n);

#endif
