/*
 * kernels.c: dequantize and fused dequantize-and-dot for F32, F16, BF16, Q8_0, Q4_0,
 * Q4_K, Q6_K, in three flavours: portable C (always), AVX2+FMA+F16C and AVX-512
 * (F+BW), the last two compiled through target attributes and picked at run time.
 *
 * Every dot accumulates q*x per block (or sub-block) in F32 and then scales by the
 * block's d (Q4_K also subtracts m * sum(x)), which is the same math as dequantize
 * then dot, up to F32 rounding order. The K-quants unpack a block to int8 first
 * (vectorised by the compiler under the target attribute) and then run the SIMD dot.
 *
 * Left out: integer (VNNI) dots with a quantised activation; other quant types.
 */
#include "core/kernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"

#define QK 32
#define QKK 256

struct blk_q8_0 {
    uint16_t d;
    int8_t qs[QK];
};
struct blk_q4_0 {
    uint16_t d;
    uint8_t qs[QK / 2];
};
struct blk_q4_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[QKK / 2];
};
struct blk_q6_k {
    uint8_t ql[QKK / 2];
    uint8_t qh[QKK / 4];
    int8_t scales[QKK / 16];
    uint16_t d;
};

_Static_assert(sizeof(struct blk_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(struct blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(struct blk_q4_k) == 144, "q4_K block");
_Static_assert(sizeof(struct blk_q6_k) == 210, "q6_K block");

/* ---------------------------------------------------------------------------------- */
/* conversions and block geometry                                                      */

/* core_kernels_f16_to_f32: see kernels.h. */
float core_kernels_f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, u;
    float f;
    if (e == 0) {
        f = (float)m * (1.0f / 16777216.0f);
        return (h & 0x8000u) ? -f : f;
    }
    if (e == 31)
        u = s | 0x7f800000u | (m << 13);
    else
        u = s | ((e + 112) << 23) | (m << 13);
    memcpy(&f, &u, 4);
    return f;
}

/* core_kernels_f32_to_f16: see kernels.h. */
uint16_t core_kernels_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t s = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)
        return (uint16_t)(s | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u)
        return (uint16_t)(s | 0x7c00u);
    if (ax < 0x38800000u) {
        float v;
        memcpy(&v, &ax, 4);
        return (uint16_t)(s | (uint32_t)lrintf(v * 16777216.0f));
    }
    ax -= 112u << 23;
    ax += 0xfffu + ((ax >> 13) & 1u);
    return (uint16_t)(s | (ax >> 13));
}

/* core_kernels_bf16_to_f32: see kernels.h. */
float core_kernels_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* core_kernels_f32_to_bf16: see kernels.h. */
uint16_t core_kernels_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* core_kernels_block_elems: see kernels.h. */
int core_kernels_block_elems(int type)
{
    switch (type) {
    case CORE_TYPE_F32: case CORE_TYPE_F16: case CORE_TYPE_BF16: return 1;
    case CORE_TYPE_Q8_0: case CORE_TYPE_Q4_0: return QK;
    case CORE_TYPE_Q4_K: case CORE_TYPE_Q6_K: return QKK;
    default: return 0;
    }
}

/* core_kernels_block_bytes: see kernels.h. */
size_t core_kernels_block_bytes(int type)
{
    switch (type) {
    case CORE_TYPE_F32: return 4;
    case CORE_TYPE_F16: case CORE_TYPE_BF16: return 2;
    case CORE_TYPE_Q8_0: return sizeof(struct blk_q8_0);
    case CORE_TYPE_Q4_0: return sizeof(struct blk_q4_0);
    case CORE_TYPE_Q4_K: return sizeof(struct blk_q4_k);
    case CORE_TYPE_Q6_K: return sizeof(struct blk_q6_k);
    default: return 0;
    }
}

/* core_kernels_type_ok: see kernels.h. */
int core_kernels_type_ok(int type)
{
    return core_kernels_block_elems(type) != 0;
}

/* core_kernels_row_bytes: see kernels.h. */
size_t core_kernels_row_bytes(int type, int64_t n)
{
    int be = core_kernels_block_elems(type);
    return be ? (size_t)(n / be) * core_kernels_block_bytes(type) : 0;
}

static void q4k_scale_min(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Unpack a Q6_K block to 256 signed 6-bit values (-32..31), in element order. */
#define Q6K_UNPACK_BODY                                                                   \
    const uint8_t *ql = b->ql, *qh = b->qh;                                               \
    for (int n = 0; n < QKK; n += 128) {                                                  \
        for (int l = 0; l < 32; l++) {                                                    \
            q[n + l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);        \
            q[n + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32); \
            q[n + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);   \
            q[n + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32); \
        }                                                                                 \
        ql += 64;                                                                         \
        qh += 32;                                                                         \
    }

/* Unpack a Q4_K block to 256 unsigned 4-bit values (0..15), in element order. */
#define Q4K_UNPACK_BODY                                                                   \
    const uint8_t *qs = b->qs;                                                            \
    for (int j = 0; j < QKK; j += 64) {                                                   \
        for (int l = 0; l < 32; l++) {                                                    \
            q[j + l] = (uint8_t)(qs[l] & 0xF);                                            \
            q[j + l + 32] = (uint8_t)(qs[l] >> 4);                                        \
        }                                                                                 \
        qs += 32;                                                                         \
    }

/* Every half as a float, for the AVX block scales: a broadcast from memory uses only a
 * load port, where converting in registers competes with the int8 widening shuffles. */
static float kernels_f16_table[65536];
static pthread_once_t kernels_table_once = PTHREAD_ONCE_INIT;

static void kernels_table_init(void)
{
    for (uint32_t h = 0; h < 65536; h++)
        kernels_f16_table[h] = core_kernels_f16_to_f32((uint16_t)h);
}

static void q6k_unpack(const struct blk_q6_k *b, int8_t *restrict q) { Q6K_UNPACK_BODY }
static void q4k_unpack(const struct blk_q4_k *b, uint8_t *restrict q) { Q4K_UNPACK_BODY }

/* ---------------------------------------------------------------------------------- */
/* dequantize (portable) and quantize                                                  */

/* core_kernels_dequant: see kernels.h. */
int core_kernels_dequant(int type, const void *src, float *dst, int64_t n)
{
    int be = core_kernels_block_elems(type);
    if (!be)
        return BZ_EUNSUPPORTED;
    int64_t nb = n / be;
    switch (type) {
    case CORE_TYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        break;
    case CORE_TYPE_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = core_kernels_f16_to_f32(s[i]);
        break;
    }
    case CORE_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = core_kernels_bf16_to_f32(s[i]);
        break;
    }
    case CORE_TYPE_Q8_0: {
        const struct blk_q8_0 *b = src;
        for (int64_t i = 0; i < nb; i++) {
            float d = core_kernels_f16_to_f32(b[i].d);
            for (int j = 0; j < QK; j++)
                dst[i * QK + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case CORE_TYPE_Q4_0: {
        const struct blk_q4_0 *b = src;
        for (int64_t i = 0; i < nb; i++) {
            float d = core_kernels_f16_to_f32(b[i].d);
            for (int j = 0; j < QK / 2; j++) {
                dst[i * QK + j] = d * (float)((b[i].qs[j] & 0xF) - 8);
                dst[i * QK + j + QK / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    case CORE_TYPE_Q4_K: {
        const struct blk_q4_k *b = src;
        for (int64_t i = 0; i < nb; i++) {
            float d = core_kernels_f16_to_f32(b[i].d), dmin = core_kernels_f16_to_f32(b[i].dmin);
            uint8_t q[QKK];
            q4k_unpack(&b[i], q);
            for (int s = 0; s < 8; s++) {
                uint8_t sc, m;
                q4k_scale_min(s, b[i].scales, &sc, &m);
                float d1 = d * sc, m1 = dmin * m;
                for (int l = 0; l < 32; l++)
                    dst[i * QKK + s * 32 + l] = d1 * q[s * 32 + l] - m1;
            }
        }
        break;
    }
    case CORE_TYPE_Q6_K: {
        const struct blk_q6_k *b = src;
        for (int64_t i = 0; i < nb; i++) {
            float d = core_kernels_f16_to_f32(b[i].d);
            int8_t q[QKK];
            q6k_unpack(&b[i], q);
            for (int g = 0; g < 16; g++) {
                float dg = d * b[i].scales[g];
                for (int l = 0; l < 16; l++)
                    dst[i * QKK + g * 16 + l] = dg * q[g * 16 + l];
            }
        }
        break;
    }
    }
    return 0;
}

/* core_kernels_quantize: see kernels.h. */
int core_kernels_quantize(int type, const float *src, void *dst, int64_t n)
{
    switch (type) {
    case CORE_TYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        return 0;
    case CORE_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = core_kernels_f32_to_f16(src[i]);
        return 0;
    case CORE_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = core_kernels_f32_to_bf16(src[i]);
        return 0;
    case CORE_TYPE_Q8_0:
        for (int64_t i = 0; i < n / QK; i++) {
            const float *x = src + i * QK;
            struct blk_q8_0 *b = (struct blk_q8_0 *)dst + i;
            float amax = 0;
            for (int j = 0; j < QK; j++)
                amax = fmaxf(amax, fabsf(x[j]));
            float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
            b->d = core_kernels_f32_to_f16(d);
            for (int j = 0; j < QK; j++)
                b->qs[j] = (int8_t)roundf(x[j] * id);
        }
        return 0;
    case CORE_TYPE_Q4_0:
        for (int64_t i = 0; i < n / QK; i++) {
            const float *x = src + i * QK;
            struct blk_q4_0 *b = (struct blk_q4_0 *)dst + i;
            float amax = 0, max = 0;
            for (int j = 0; j < QK; j++)
                if (amax < fabsf(x[j])) {
                    amax = fabsf(x[j]);
                    max = x[j];
                }
            float d = max / -8, id = d ? 1.0f / d : 0.0f;
            b->d = core_kernels_f32_to_f16(d);
            for (int j = 0; j < QK / 2; j++) {
                int a0 = (int)(x[j] * id + 8.5f), a1 = (int)(x[j + QK / 2] * id + 8.5f);
                a0 = BZ_MIN(15, BZ_MAX(0, a0));
                a1 = BZ_MIN(15, BZ_MAX(0, a1));
                b->qs[j] = (uint8_t)(a0 | (a1 << 4));
            }
        }
        return 0;
    default:
        return BZ_EUNSUPPORTED;
    }
}

/* ---------------------------------------------------------------------------------- */
/* portable dots                                                                       */

static float dot_f32_portable(const void *row, const float *x, int64_t n)
{
    const float *w = row;
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += w[i + k] * x[i + k];
    float s = 0;
    for (; i < n; i++)
        s += w[i] * x[i];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

static float dot_f16_portable(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    float s = 0;
    for (int64_t i = 0; i < n; i++)
        s += core_kernels_f16_to_f32(w[i]) * x[i];
    return s;
}

static float dot_bf16_portable(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    float s = 0;
    for (int64_t i = 0; i < n; i++)
        s += core_kernels_bf16_to_f32(w[i]) * x[i];
    return s;
}

static float dot_q8_0_portable(const void *row, const float *x, int64_t n)
{
    const struct blk_q8_0 *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float bs = 0;
        for (int j = 0; j < QK; j++)
            bs += (float)b[i].qs[j] * x[j];
        s += core_kernels_f16_to_f32(b[i].d) * bs;
    }
    return s;
}

static float dot_q4_0_portable(const void *row, const float *x, int64_t n)
{
    const struct blk_q4_0 *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float bs = 0;
        for (int j = 0; j < QK / 2; j++)
            bs += (float)((b[i].qs[j] & 0xF) - 8) * x[j] +
                  (float)((b[i].qs[j] >> 4) - 8) * x[j + QK / 2];
        s += core_kernels_f16_to_f32(b[i].d) * bs;
    }
    return s;
}

static float dot_q4_k_portable(const void *row, const float *x, int64_t n)
{
    const struct blk_q4_k *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        uint8_t q[QKK];
        q4k_unpack(&b[i], q);
        float d = core_kernels_f16_to_f32(b[i].d), dmin = core_kernels_f16_to_f32(b[i].dmin);
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            q4k_scale_min(g, b[i].scales, &sc, &m);
            float qx = 0, sx = 0;
            for (int l = 0; l < 32; l++) {
                qx += (float)q[g * 32 + l] * x[g * 32 + l];
                sx += x[g * 32 + l];
            }
            s += d * sc * qx - dmin * m * sx;
        }
    }
    return s;
}

static float dot_q6_k_portable(const void *row, const float *x, int64_t n)
{
    const struct blk_q6_k *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        int8_t q[QKK];
        q6k_unpack(&b[i], q);
        float d = core_kernels_f16_to_f32(b[i].d), bs = 0;
        for (int g = 0; g < 16; g++) {
            float gs = 0;
            for (int l = 0; l < 16; l++)
                gs += (float)q[g * 16 + l] * x[g * 16 + l];
            bs += (float)b[i].scales[g] * gs;
        }
        s += d * bs;
    }
    return s;
}

/* ---------------------------------------------------------------------------------- */
/* AVX2 + FMA + F16C                                                                   */

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* 8 int8 at p -> 8 floats */
AVX2 static inline __m256 i8x8_ps(__m128i v)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
}

AVX2 static float dot_f32_avx2(const void *row, const float *x, int64_t n)
{
    const float *w = row;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        s += w[i] * x[i];
    return s;
}

AVX2 static float dot_f16_avx2(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        s += core_kernels_f16_to_f32(w[i]) * x[i];
    return s;
}

AVX2 static float dot_bf16_avx2(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + i));
        __m256 w0 = _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(v)), 16));
        __m256 w1 = _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(v, 1)), 16));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        s += core_kernels_bf16_to_f32(w[i]) * x[i];
    return s;
}

AVX2 static inline __m256 q8_0_block_avx2(const struct blk_q8_0 *b, const float *x)
{
    __m128i q0 = _mm_loadu_si128((const __m128i *)b->qs);
    __m128i q1 = _mm_loadu_si128((const __m128i *)(b->qs + 16));
    __m256 s = _mm256_mul_ps(i8x8_ps(q0), _mm256_loadu_ps(x));
    s = _mm256_fmadd_ps(i8x8_ps(_mm_srli_si128(q0, 8)), _mm256_loadu_ps(x + 8), s);
    s = _mm256_fmadd_ps(i8x8_ps(q1), _mm256_loadu_ps(x + 16), s);
    return _mm256_fmadd_ps(i8x8_ps(_mm_srli_si128(q1, 8)), _mm256_loadu_ps(x + 24), s);
}

AVX2 static inline __m256 q4_0_block_avx2(const struct blk_q4_0 *b, const float *x)
{
    const __m128i m4 = _mm_set1_epi8(0xF), off = _mm_set1_epi8(8);
    __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), off);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), off);
    __m256 s = _mm256_mul_ps(i8x8_ps(lo), _mm256_loadu_ps(x));
    s = _mm256_fmadd_ps(i8x8_ps(_mm_srli_si128(lo, 8)), _mm256_loadu_ps(x + 8), s);
    s = _mm256_fmadd_ps(i8x8_ps(hi), _mm256_loadu_ps(x + 16), s);
    return _mm256_fmadd_ps(i8x8_ps(_mm_srli_si128(hi, 8)), _mm256_loadu_ps(x + 24), s);
}

/* Two blocks per step on two accumulators (see the AVX-512 note on FMA latency). */
#define DOT_BLOCKS_AVX2(NAME, BLK, FN)                                                    \
    AVX2 static float NAME(const void *row, const float *x, int64_t n)                    \
    {                                                                                     \
        const struct BLK *b = row;                                                        \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                         \
        int64_t nb = n / QK, i = 0;                                                       \
        for (; i + 2 <= nb; i += 2, x += 2 * QK) {                                        \
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i].d]), FN(&b[i], x), a0);    \
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i + 1].d]),                   \
                                 FN(&b[i + 1], x + QK), a1);                              \
        }                                                                                 \
        for (; i < nb; i++, x += QK)                                                      \
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i].d]), FN(&b[i], x), a0);    \
        return hsum256(_mm256_add_ps(a0, a1));                                            \
    }

DOT_BLOCKS_AVX2(dot_q8_0_avx2, blk_q8_0, q8_0_block_avx2)
DOT_BLOCKS_AVX2(dot_q4_0_avx2, blk_q4_0, q4_0_block_avx2)

AVX2 static void q6k_unpack_avx2(const struct blk_q6_k *b, int8_t *restrict q) { Q6K_UNPACK_BODY }
AVX2 static void q4k_unpack_avx2(const struct blk_q4_k *b, uint8_t *restrict q) { Q4K_UNPACK_BODY }

AVX2 static float dot_q4_k_avx2(const void *row, const float *x, int64_t n)
{
    const struct blk_q4_k *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        uint8_t q[QKK];
        q4k_unpack_avx2(&b[i], q);
        float d = _cvtsh_ss(b[i].d), dmin = _cvtsh_ss(b[i].dmin);
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            q4k_scale_min(g, b[i].scales, &sc, &m);
            __m256 qx = _mm256_setzero_ps(), sx = qx;
            for (int l = 0; l < 32; l += 8) {
                __m256 xv = _mm256_loadu_ps(x + g * 32 + l);
                __m128i qv = _mm_loadl_epi64((const __m128i *)(q + g * 32 + l));
                qx = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(qv)), xv, qx);
                sx = _mm256_add_ps(sx, xv);
            }
            s += d * sc * hsum256(qx) - dmin * m * hsum256(sx);
        }
    }
    return s;
}

AVX2 static float dot_q6_k_avx2(const void *row, const float *x, int64_t n)
{
    const struct blk_q6_k *b = row;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        int8_t q[QKK];
        q6k_unpack_avx2(&b[i], q);
        float d = _cvtsh_ss(b[i].d);
        for (int g = 0; g < 16; g++) {
            __m128i qv = _mm_loadu_si128((const __m128i *)(q + g * 16));
            __m256 gs = _mm256_mul_ps(i8x8_ps(qv), _mm256_loadu_ps(x + g * 16));
            gs = _mm256_fmadd_ps(i8x8_ps(_mm_srli_si128(qv, 8)), _mm256_loadu_ps(x + g * 16 + 8),
                                 gs);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)b[i].scales[g]), gs, acc);
        }
    }
    return hsum256(acc);
}

/* ---------------------------------------------------------------------------------- */
/* AVX-512 (F + BW)                                                                    */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma,f16c")))

AVX512 static inline __m512 i8x16_ps(__m128i v)
{
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v));
}

AVX512 static float dot_f32_avx512(const void *row, const float *x, int64_t n)
{
    const float *w = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16), _mm512_loadu_ps(x + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 32), _mm512_loadu_ps(x + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 48), _mm512_loadu_ps(x + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < n; i++)
        s += w[i] * x[i];
    return s;
}

AVX512 static float dot_f16_avx512(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16)));
        a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + i + 16), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < n; i++)
        s += core_kernels_f16_to_f32(w[i]) * x[i];
    return s;
}

AVX512 static float dot_bf16_avx512(const void *row, const float *x, int64_t n)
{
    const uint16_t *w = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(w + i))), 16));
        __m512 w1 = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(w + i + 16))), 16));
        a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + i + 16), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < n; i++)
        s += core_kernels_bf16_to_f32(w[i]) * x[i];
    return s;
}

AVX512 static inline __m512 q8_0_block_avx512(const struct blk_q8_0 *b, const float *x)
{
    __m512 s = _mm512_mul_ps(i8x16_ps(_mm_loadu_si128((const __m128i *)b->qs)),
                             _mm512_loadu_ps(x));
    return _mm512_fmadd_ps(i8x16_ps(_mm_loadu_si128((const __m128i *)(b->qs + 16))),
                           _mm512_loadu_ps(x + 16), s);
}

/* Four accumulators: one FMA chain per block would cap a core at one block per FMA
 * latency, below memory speed. */
AVX512 static float dot_q8_0_avx512(const void *row, const float *x, int64_t n)
{
    const struct blk_q8_0 *b = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t nb = n / QK, i = 0;
    for (; i + 4 <= nb; i += 4, x += 4 * QK) {
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d]), q8_0_block_avx512(&b[i], x), a0);
        a1 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 1].d]),
                             q8_0_block_avx512(&b[i + 1], x + QK), a1);
        a2 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 2].d]),
                             q8_0_block_avx512(&b[i + 2], x + 2 * QK), a2);
        a3 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 3].d]),
                             q8_0_block_avx512(&b[i + 3], x + 3 * QK), a3);
    }
    for (; i < nb; i++, x += QK)
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d]), q8_0_block_avx512(&b[i], x), a0);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

AVX512 static inline __m512 q4_0_block_avx512(const struct blk_q4_0 *b, const float *x)
{
    const __m128i m4 = _mm_set1_epi8(0xF), off = _mm_set1_epi8(8);
    __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), off);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), off);
    __m512 s = _mm512_mul_ps(i8x16_ps(lo), _mm512_loadu_ps(x));
    return _mm512_fmadd_ps(i8x16_ps(hi), _mm512_loadu_ps(x + 16), s);
}

AVX512 static float dot_q4_0_avx512(const void *row, const float *x, int64_t n)
{
    const struct blk_q4_0 *b = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t nb = n / QK, i = 0;
    for (; i + 4 <= nb; i += 4, x += 4 * QK) {
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d]), q4_0_block_avx512(&b[i], x), a0);
        a1 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 1].d]),
                             q4_0_block_avx512(&b[i + 1], x + QK), a1);
        a2 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 2].d]),
                             q4_0_block_avx512(&b[i + 2], x + 2 * QK), a2);
        a3 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 3].d]),
                             q4_0_block_avx512(&b[i + 3], x + 3 * QK), a3);
    }
    for (; i < nb; i++, x += QK)
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d]), q4_0_block_avx512(&b[i], x), a0);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

AVX512 static void q6k_unpack_avx512(const struct blk_q6_k *b, int8_t *restrict q)
{
    Q6K_UNPACK_BODY
}
AVX512 static void q4k_unpack_avx512(const struct blk_q4_k *b, uint8_t *restrict q)
{
    Q4K_UNPACK_BODY
}

AVX512 static float dot_q4_k_avx512(const void *row, const float *x, int64_t n)
{
    const struct blk_q4_k *b = row;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        uint8_t q[QKK];
        q4k_unpack_avx512(&b[i], q);
        float d = _cvtsh_ss(b[i].d), dmin = _cvtsh_ss(b[i].dmin);
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            q4k_scale_min(g, b[i].scales, &sc, &m);
            __m512 x0 = _mm512_loadu_ps(x + g * 32), x1 = _mm512_loadu_ps(x + g * 32 + 16);
            __m512 q0 = _mm512_cvtepi32_ps(
                _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + g * 32))));
            __m512 q1 = _mm512_cvtepi32_ps(
                _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + g * 32 + 16))));
            __m512 qx = _mm512_fmadd_ps(q1, x1, _mm512_mul_ps(q0, x0));
            __m512 sx = _mm512_add_ps(x0, x1);
            acc = _mm512_fmadd_ps(_mm512_set1_ps(d * sc), qx, acc);
            acc = _mm512_fnmadd_ps(_mm512_set1_ps(dmin * m), sx, acc);
        }
    }
    return _mm512_reduce_add_ps(acc);
}

AVX512 static float dot_q6_k_avx512(const void *row, const float *x, int64_t n)
{
    const struct blk_q6_k *b = row;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        int8_t q[QKK];
        q6k_unpack_avx512(&b[i], q);
        float d = _cvtsh_ss(b[i].d);
        for (int g = 0; g < 16; g++) {
            __m512 gs = _mm512_mul_ps(i8x16_ps(_mm_loadu_si128((const __m128i *)(q + g * 16))),
                                      _mm512_loadu_ps(x + g * 16));
            acc = _mm512_fmadd_ps(_mm512_set1_ps(d * (float)b[i].scales[g]), gs, acc);
        }
    }
    return _mm512_reduce_add_ps(acc);
}

/* ---------------------------------------------------------------------------------- */
/* integer activations (int16) for Q8_0 / Q4_0                                         */

/* core_kernels_xq_prepare: see kernels.h. */
void core_kernels_xq_prepare(struct core_kernels_xq *xq, const float *x, int64_t n, int16_t *q,
                             float *d)
{
    xq->x = x;
    xq->n = n;
    xq->q = q;
    xq->d = d;
    if (n % QK)
        return;
    for (int64_t b = 0; b < n / QK; b++) {
        const float *xb = x + b * QK;
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(xb[j]));
        float dd = amax / 32767.0f, id = amax > 0 ? 32767.0f / amax : 0;
        d[b] = dd;
        for (int j = 0; j < QK; j++)
            q[b * QK + j] = (int16_t)lrintf(xb[j] * id);
    }
}

/* portable: the same integer math, for tests and machines without AVX2 */
static float dotq_q8_0_portable(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q8_0 *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++, q += QK) {
        int32_t acc = 0;
        for (int j = 0; j < QK; j++)
            acc += (int32_t)b[i].qs[j] * q[j];
        s += core_kernels_f16_to_f32(b[i].d) * d[i] * (float)acc;
    }
    return s;
}

static float dotq_q4_0_portable(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q4_0 *b = row;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++, q += QK) {
        int32_t acc = 0;
        for (int j = 0; j < QK / 2; j++)
            acc += ((b[i].qs[j] & 0xF) - 8) * q[j] + ((b[i].qs[j] >> 4) - 8) * q[j + QK / 2];
        s += core_kernels_f16_to_f32(b[i].d) * d[i] * (float)acc;
    }
    return s;
}

AVX2 static inline __m256 dotq_block_avx2(__m128i w0, __m128i w1, const int16_t *q)
{
    __m256i p0 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(w0), _mm256_loadu_si256((const __m256i *)q));
    __m256i p1 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(w1),
                                   _mm256_loadu_si256((const __m256i *)(q + 16)));
    return _mm256_cvtepi32_ps(_mm256_add_epi32(p0, p1));
}

AVX2 static float dotq_q8_0_avx2(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q8_0 *b = row;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t nb = n / QK, i = 0;
    for (; i + 2 <= nb; i += 2, q += 2 * QK) {
        __m256 s0 = dotq_block_avx2(_mm_loadu_si128((const __m128i *)b[i].qs),
                                    _mm_loadu_si128((const __m128i *)(b[i].qs + 16)), q);
        __m256 s1 = dotq_block_avx2(_mm_loadu_si128((const __m128i *)b[i + 1].qs),
                                    _mm_loadu_si128((const __m128i *)(b[i + 1].qs + 16)), q + QK);
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i].d] * d[i]), s0, a0);
        a1 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i + 1].d] * d[i + 1]), s1, a1);
    }
    for (; i < nb; i++, q += QK) {
        __m256 s0 = dotq_block_avx2(_mm_loadu_si128((const __m128i *)b[i].qs),
                                    _mm_loadu_si128((const __m128i *)(b[i].qs + 16)), q);
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i].d] * d[i]), s0, a0);
    }
    return hsum256(_mm256_add_ps(a0, a1));
}

AVX2 static float dotq_q4_0_avx2(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q4_0 *b = row;
    const __m128i m4 = _mm_set1_epi8(0xF), off = _mm_set1_epi8(8);
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK; i++, q += QK) {
        __m128i v = _mm_loadu_si128((const __m128i *)b[i].qs);
        __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), off);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), off);
        __m256 s0 = dotq_block_avx2(lo, hi, q);
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(kernels_f16_table[b[i].d] * d[i]), s0, a0);
    }
    return hsum256(a0);
}

AVX512 static float dotq_q8_0_avx512(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q8_0 *b = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t nb = n / QK, i = 0;
    for (; i + 2 <= nb; i += 2, q += 2 * QK) {
        __m512i p0 = _mm512_madd_epi16(
            _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)b[i].qs)),
            _mm512_loadu_si512(q));
        __m512i p1 = _mm512_madd_epi16(
            _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)b[i + 1].qs)),
            _mm512_loadu_si512(q + QK));
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d] * d[i]),
                             _mm512_cvtepi32_ps(p0), a0);
        a1 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 1].d] * d[i + 1]),
                             _mm512_cvtepi32_ps(p1), a1);
    }
    for (; i < nb; i++, q += QK) {
        __m512i p0 = _mm512_madd_epi16(
            _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)b[i].qs)),
            _mm512_loadu_si512(q));
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d] * d[i]),
                             _mm512_cvtepi32_ps(p0), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

AVX512 static inline __m512 dotq_q4_0_block_avx512(const struct blk_q4_0 *b, const int16_t *q)
{
    const __m128i m4 = _mm_set1_epi8(0xF), off = _mm_set1_epi8(8);
    __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(v, m4), off);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), off);
    __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_cvtepi8_epi16(lo)),
                                   _mm256_cvtepi8_epi16(hi), 1);
    return _mm512_cvtepi32_ps(_mm512_madd_epi16(w, _mm512_loadu_si512(q)));
}

AVX512 static float dotq_q4_0_avx512(const void *row, const int16_t *q, const float *d, int64_t n)
{
    const struct blk_q4_0 *b = row;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t nb = n / QK, i = 0;
    for (; i + 2 <= nb; i += 2, q += 2 * QK) {
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d] * d[i]),
                             dotq_q4_0_block_avx512(&b[i], q), a0);
        a1 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i + 1].d] * d[i + 1]),
                             dotq_q4_0_block_avx512(&b[i + 1], q + QK), a1);
    }
    for (; i < nb; i++, q += QK)
        a0 = _mm512_fmadd_ps(_mm512_set1_ps(kernels_f16_table[b[i].d] * d[i]),
                             dotq_q4_0_block_avx512(&b[i], q), a0);
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

typedef float (*kernels_dotq_fn)(const void *row, const int16_t *q, const float *d, int64_t n);

/* ---------------------------------------------------------------------------------- */
/* dispatch                                                                            */

typedef float (*kernels_dot_fn)(const void *row, const float *x, int64_t n);

enum { K_F32, K_F16, K_BF16, K_Q8_0, K_Q4_0, K_Q4_K, K_Q6_K, K_N };

static const kernels_dot_fn kernels_table[4][K_N] = {
    [CORE_KERNELS_PORTABLE] = {dot_f32_portable, dot_f16_portable, dot_bf16_portable,
                               dot_q8_0_portable, dot_q4_0_portable, dot_q4_k_portable,
                               dot_q6_k_portable},
    [CORE_KERNELS_AVX2] = {dot_f32_avx2, dot_f16_avx2, dot_bf16_avx2, dot_q8_0_avx2,
                           dot_q4_0_avx2, dot_q4_k_avx2, dot_q6_k_avx2},
    [CORE_KERNELS_AVX512] = {dot_f32_avx512, dot_f16_avx512, dot_bf16_avx512, dot_q8_0_avx512,
                             dot_q4_0_avx512, dot_q4_k_avx512, dot_q6_k_avx512},
};

static atomic_int kernels_isa_cur;

/* F16C through CPUID: clang's __builtin_cpu_supports does not know "f16c". */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

/* core_kernels_isa_supported: see kernels.h. */
int core_kernels_isa_supported(int isa)
{
    __builtin_cpu_init();
    switch (isa) {
    case CORE_KERNELS_PORTABLE:
        return 1;
    case CORE_KERNELS_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    case CORE_KERNELS_AVX512:
        return core_kernels_isa_supported(CORE_KERNELS_AVX2) &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    default:
        return 0;
    }
}

/* core_kernels_set_isa: see kernels.h. */
int core_kernels_set_isa(int isa)
{
    pthread_once(&kernels_table_once, kernels_table_init);
    if (isa == CORE_KERNELS_AUTO) {
        isa = core_kernels_isa_supported(CORE_KERNELS_AVX512) ? CORE_KERNELS_AVX512
              : core_kernels_isa_supported(CORE_KERNELS_AVX2) ? CORE_KERNELS_AVX2
                                                              : CORE_KERNELS_PORTABLE;
    }
    if (!core_kernels_isa_supported(isa))
        return BZ_EUNSUPPORTED;
    atomic_store(&kernels_isa_cur, isa);
    return 0;
}

/* core_kernels_isa: see kernels.h. */
int core_kernels_isa(void)
{
    int isa = atomic_load_explicit(&kernels_isa_cur, memory_order_relaxed);
    if (isa == CORE_KERNELS_AUTO) {
        /* BEZOAR_KERNELS=portable|avx2|avx512 overrides the choice (for measuring) */
        const char *env = getenv("BEZOAR_KERNELS");
        int want = CORE_KERNELS_AUTO;
        for (int i = CORE_KERNELS_PORTABLE; env && i <= CORE_KERNELS_AVX512; i++)
            if (!strcmp(env, core_kernels_isa_name(i)))
                want = i;
        if (core_kernels_set_isa(want) != 0)
            core_kernels_set_isa(CORE_KERNELS_AUTO);
        isa = atomic_load(&kernels_isa_cur);
    }
    return isa;
}

/* core_kernels_isa_name: see kernels.h. */
const char *core_kernels_isa_name(int isa)
{
    switch (isa) {
    case CORE_KERNELS_PORTABLE: return "portable";
    case CORE_KERNELS_AVX2: return "avx2";
    case CORE_KERNELS_AVX512: return "avx512";
    default: return "auto";
    }
}

static int kernels_index(int type)
{
    switch (type) {
    case CORE_TYPE_F32: return K_F32;
    case CORE_TYPE_F16: return K_F16;
    case CORE_TYPE_BF16: return K_BF16;
    case CORE_TYPE_Q8_0: return K_Q8_0;
    case CORE_TYPE_Q4_0: return K_Q4_0;
    case CORE_TYPE_Q4_K: return K_Q4_K;
    case CORE_TYPE_Q6_K: return K_Q6_K;
    default: return -1;
    }
}

/* core_kernels_dot: see kernels.h. */
float core_kernels_dot(int type, const void *row, const float *x, int64_t n)
{
    int k = kernels_index(type);
    bz_assert(k >= 0);
    return kernels_table[core_kernels_isa()][k](row, x, n);
}

/* core_kernels_matvec: see kernels.h. */
void core_kernels_matvec(int type, const void *w, int64_t n, const float *x, float *y,
                         int64_t r0, int64_t r1)
{
    int k = kernels_index(type);
    bz_assert(k >= 0);
    kernels_dot_fn fn = kernels_table[core_kernels_isa()][k];
    size_t rb = core_kernels_row_bytes(type, n);
    const char *p = (const char *)w + (size_t)r0 * rb;
    for (int64_t r = r0; r < r1; r++, p += rb)
        y[r] = fn(p, x, n);
}

/* core_kernels_matvec_xq: see kernels.h. */
void core_kernels_matvec_xq(int type, const void *w, int64_t n, const struct core_kernels_xq *xq,
                            float *y, int64_t r0, int64_t r1)
{
    static const kernels_dotq_fn q8[4] = {NULL, dotq_q8_0_portable, dotq_q8_0_avx2,
                                          dotq_q8_0_avx512};
    static const kernels_dotq_fn q4[4] = {NULL, dotq_q4_0_portable, dotq_q4_0_avx2,
                                          dotq_q4_0_avx512};
    int isa = core_kernels_isa();
    if ((type != CORE_TYPE_Q8_0 && type != CORE_TYPE_Q4_0) || n % QK || !xq->q) {
        core_kernels_matvec(type, w, n, xq->x, y, r0, r1);
        return;
    }
    kernels_dotq_fn fn = (type == CORE_TYPE_Q8_0 ? q8 : q4)[isa];
    size_t rb = core_kernels_row_bytes(type, n);
    const char *p = (const char *)w + (size_t)r0 * rb;
    for (int64_t r = r0; r < r1; r++, p += rb)
        y[r] = fn(p, xq->q, xq->d, n);
}
