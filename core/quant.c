/*
 * quant.c: reference dequantization and quantization, one scalar function per
 * block type, transcribed from ggml's reference code so results are bit-exact.
 *
 * Key idea: a row is a sequence of independent blocks (32 elements for the legacy
 * types, 256 for the K-quants); each block carries its own half-float scale(s).
 * Left out: the IQ types (their sizes are known to core_type_* so files holding them
 * open, but they are refused here), and quantizing to anything
 * but F32/F16/BF16/Q8_0.
 */
#include "core/quant.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/model.h"

/* ---------------------------------------------------------------- scalars */

static inline float bits_f32(uint32_t w)
{
    float f;
    memcpy(&f, &w, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t w;
    memcpy(&w, &f, 4);
    return w;
}

/* IEEE half to float, exact (subnormals, inf, NaN kept). */
float core_quant_f16_to_f32(uint16_t h)
{
    /* Maratyszcza's branch-light conversion, as in ggml. */
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float normalized = bits_f32((two_w >> 4) + exp_offset) * 0x1.0p-112f;
    const uint32_t magic_mask = 126u << 23;
    const float denormalized = bits_f32((two_w >> 17) | magic_mask) - 0.5f;
    const uint32_t cutoff = 1u << 27;
    return bits_f32(sign | (two_w < cutoff ? f32_bits(denormalized) : f32_bits(normalized)));
}

/* Float to IEEE half, round to nearest even, overflow to inf, NaN stays NaN. */
uint16_t core_quant_f32_to_f16(float f)
{
    float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u)
        bias = 0x71000000u;
    base = bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

/* bfloat16 to float, exact. */
float core_quant_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

/* Float to bfloat16, round to nearest even, NaN kept quiet. */
uint16_t core_quant_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet and NaN */
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* Every half as a float, for row conversion (256 KB, built once, then read-only). */
static float f16_table[1 << 16];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_table_init(void)
{
    for (uint32_t h = 0; h < (1u << 16); h++)
        f16_table[h] = core_quant_f16_to_f32((uint16_t)h);
}

static inline float h2f(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return core_quant_f16_to_f32(h);
}

/* ---------------------------------------------------------------- legacy blocks */

static void dq_q4_0(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 18, y += 32) {
        const float d = h2f(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

static void dq_q4_1(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 20, y += 32) {
        const float d = h2f(b), m = h2f(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(qs[j] & 0x0F) * d + m;
            y[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

static void dq_q5_0(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 22, y += 32) {
        const float d = h2f(b);
        uint32_t qh;
        memcpy(&qh, b + 2, 4);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < 16; j++) {
            const uint8_t xh0 = (uint8_t)(((qh >> j) << 4) & 0x10);
            const uint8_t xh1 = (uint8_t)((qh >> (j + 12)) & 0x10);
            y[j] = (float)(((qs[j] & 0x0F) | xh0) - 16) * d;
            y[j + 16] = (float)(((qs[j] >> 4) | xh1) - 16) * d;
        }
    }
}

static void dq_q5_1(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 24, y += 32) {
        const float d = h2f(b), m = h2f(b + 2);
        uint32_t qh;
        memcpy(&qh, b + 4, 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < 16; j++) {
            const uint8_t xh0 = (uint8_t)(((qh >> j) << 4) & 0x10);
            const uint8_t xh1 = (uint8_t)((qh >> (j + 12)) & 0x10);
            y[j] = (float)((qs[j] & 0x0F) | xh0) * d + m;
            y[j + 16] = (float)((qs[j] >> 4) | xh1) * d + m;
        }
    }
}

static void dq_q8_0(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 34, y += 32) {
        const float d = h2f(b);
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++)
            y[j] = (float)qs[j] * d;
    }
}

static void dq_q8_1(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 36, y += 32) {
        const float d = h2f(b);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int j = 0; j < 32; j++)
            y[j] = (float)qs[j] * d;
    }
}

/* ---------------------------------------------------------------- k-quants */

/* The 6-bit scale and min of sub-block j, packed in 12 bytes (Q4_K, Q5_K). */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* block_q2_K: scales[16] (4-bit scale | 4-bit min), qs[64], d, dmin (f16): 84 bytes. */
static void dq_q2_k(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 84) {
        const float d = h2f(b + 80), min = h2f(b + 82);
        const uint8_t *sc = b, *q = b + 16;
        int is = 0;
        for (int n = 0; n < 256; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                uint8_t s = sc[is++];
                float dl = d * (float)(s & 0xF), ml = min * (float)(s >> 4);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)((q[l] >> shift) & 3) - ml;
                s = sc[is++];
                dl = d * (float)(s & 0xF);
                ml = min * (float)(s >> 4);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)((q[l + 16] >> shift) & 3) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

/* block_q3_K: hmask[32], qs[64], scales[12] (16 6-bit scales), d (f16): 110 bytes. */
static void dq_q3_k(const uint8_t *b, float *y, int64_t nb)
{
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    for (int64_t i = 0; i < nb; i++, b += 110) {
        const float d_all = h2f(b + 108);
        const uint8_t *hm = b, *q = b + 32;
        uint32_t aux[4];
        memcpy(aux, b + 96, 12);
        uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int8_t scales[16];
        memcpy(scales, aux, 16);
        int is = 0;
        uint8_t m = 1;
        for (int n = 0; n < 256; n += 128) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                float dl = d_all * (float)(scales[is++] - 32);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                dl = d_all * (float)(scales[is++] - 32);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)(((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m = (uint8_t)(m << 1);
            }
            q += 32;
        }
    }
}

/* block_q4_K: d, dmin (f16), scales[12], qs[128]: 144 bytes. */
static void dq_q4_k(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 144) {
        const float d = h2f(b), min = h2f(b + 2);
        const uint8_t *sc = b + 4, *q = b + 16;
        int is = 0;
        for (int j = 0; j < 256; j += 64) {
            uint8_t s, m;
            scale_min_k4(is + 0, sc, &s, &m);
            const float d1 = d * s, m1 = min * m;
            scale_min_k4(is + 1, sc, &s, &m);
            const float d2 = d * s, m2 = min * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)(q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

/* block_q5_K: d, dmin (f16), scales[12], qh[32], qs[128]: 176 bytes. */
static void dq_q5_k(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 176) {
        const float d = h2f(b), min = h2f(b + 2);
        const uint8_t *sc = b + 4, *qh = b + 16, *ql = b + 48;
        int is = 0;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < 256; j += 64) {
            uint8_t s, m;
            scale_min_k4(is + 0, sc, &s, &m);
            const float d1 = d * s, m1 = min * m;
            scale_min_k4(is + 1, sc, &s, &m);
            const float d2 = d * s, m2 = min * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

/* block_q6_K: ql[128], qh[64], scales[16] (int8), d (f16): 210 bytes. */
static void dq_q6_k(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 210) {
        const float d = h2f(b + 208);
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int n = 0; n < 256; n += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * (float)sc[is + 0] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

/* block_q8_K: d (f32), qs[256], bsums[16] (int16): 292 bytes. */
static void dq_q8_k(const uint8_t *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, b += 292, y += 256) {
        float d;
        memcpy(&d, b, 4);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int j = 0; j < 256; j++)
            y[j] = d * (float)qs[j];
    }
}

/* ---------------------------------------------------------------- rows */

/* Bytes of n elements of type; 0 for unknown types or partial blocks. */
size_t core_quant_row_bytes(int type, int64_t n)
{
    size_t bb = core_type_block_bytes(type);
    int be = core_type_block_elems(type);
    if (bb == 0 || be <= 0 || n < 0 || n % be != 0)
        return 0;
    return (size_t)(n / be) * bb;
}

/* Whether core_dequant_row handles type. */
int core_quant_can_dequant(int type)
{
    switch (type) {
    case CORE_TYPE_F32: case CORE_TYPE_F16: case CORE_TYPE_BF16: case CORE_TYPE_Q4_0:
    case CORE_TYPE_Q4_1: case CORE_TYPE_Q5_0: case CORE_TYPE_Q5_1: case CORE_TYPE_Q8_0:
    case CORE_TYPE_Q8_1: case CORE_TYPE_Q2_K: case CORE_TYPE_Q3_K: case CORE_TYPE_Q4_K:
    case CORE_TYPE_Q5_K: case CORE_TYPE_Q6_K: case CORE_TYPE_Q8_K:
        return 1;
    default:
        return 0;
    }
}

/* Whether core_quant_row handles type. */
int core_quant_can_quant(int type)
{
    return type == CORE_TYPE_F32 || type == CORE_TYPE_F16 || type == CORE_TYPE_BF16 ||
           type == CORE_TYPE_Q8_0;
}

/* Reference dequantization of n elements; thread-safe (the F16 table is built once). */
int core_dequant_row(int type, const void *src, float *dst, int64_t n)
{
    if (!core_quant_can_dequant(type))
        return BZ_EUNSUPPORTED;
    int be = core_type_block_elems(type);
    if (n < 0 || n % be != 0)
        return BZ_EINVAL;
    const uint8_t *b = src;
    const int64_t nb = n / be;
    switch (type) {
    case CORE_TYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        break;
    case CORE_TYPE_F16:
        pthread_once(&f16_once, f16_table_init);
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, b + 2 * i, 2);
            dst[i] = f16_table[h];
        }
        break;
    case CORE_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, b + 2 * i, 2);
            dst[i] = core_quant_bf16_to_f32(h);
        }
        break;
    case CORE_TYPE_Q4_0: dq_q4_0(b, dst, nb); break;
    case CORE_TYPE_Q4_1: dq_q4_1(b, dst, nb); break;
    case CORE_TYPE_Q5_0: dq_q5_0(b, dst, nb); break;
    case CORE_TYPE_Q5_1: dq_q5_1(b, dst, nb); break;
    case CORE_TYPE_Q8_0: dq_q8_0(b, dst, nb); break;
    case CORE_TYPE_Q8_1: dq_q8_1(b, dst, nb); break;
    case CORE_TYPE_Q2_K: dq_q2_k(b, dst, nb); break;
    case CORE_TYPE_Q3_K: dq_q3_k(b, dst, nb); break;
    case CORE_TYPE_Q4_K: dq_q4_k(b, dst, nb); break;
    case CORE_TYPE_Q5_K: dq_q5_k(b, dst, nb); break;
    case CORE_TYPE_Q6_K: dq_q6_k(b, dst, nb); break;
    case CORE_TYPE_Q8_K: dq_q8_k(b, dst, nb); break;
    }
    return 0;
}

static void q_q8_0(const float *x, uint8_t *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += 32, b += 34) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t h = core_quant_f32_to_f16(d);
        memcpy(b, &h, 2);
        int8_t *qs = (int8_t *)(b + 2);
        for (int j = 0; j < 32; j++)
            qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* Reference quantization of n floats to type (F32, F16, BF16, Q8_0); thread-safe. */
int core_quant_row(int type, const float *src, void *dst, int64_t n)
{
    if (!core_quant_can_quant(type))
        return BZ_EUNSUPPORTED;
    int be = core_type_block_elems(type);
    if (n < 0 || n % be != 0)
        return BZ_EINVAL;
    uint8_t *b = dst;
    switch (type) {
    case CORE_TYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        break;
    case CORE_TYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = core_quant_f32_to_f16(src[i]);
            memcpy(b + 2 * i, &h, 2);
        }
        break;
    case CORE_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = core_quant_f32_to_bf16(src[i]);
            memcpy(b + 2 * i, &h, 2);
        }
        break;
    case CORE_TYPE_Q8_0:
        q_q8_0(src, b, n / 32);
        break;
    }
    return 0;
}
