/* test_kernels.c: every fused dot agrees with dequantize-then-dot in double, on every
 * instruction-set path this CPU has; conversions and block layouts are checked by hand. */
#include "core/kernels.h"
#include "core/model.h"
#include "tests/test.h"

#include <stdlib.h>

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
static float rndf(void) { return (float)(rnd() % 2000001) / 1000000.0f - 1.0f; }

/* Random but valid stored data for n elements of type: quants random, scales small. */
static void *random_row(int type, int64_t n)
{
    size_t nb = core_kernels_row_bytes(type, n);
    uint8_t *p = malloc(nb);
    for (size_t i = 0; i < nb; i++)
        p[i] = (uint8_t)rnd();
    size_t bb = core_kernels_block_bytes(type);
    for (size_t off = 0; off < nb; off += bb) {
        uint16_t d = core_kernels_f32_to_f16(0.01f + 0.02f * (rndf() + 1));
        uint16_t dm = core_kernels_f32_to_f16(0.005f * (rndf() + 1));
        switch (type) {
        case CORE_TYPE_F32: {
            float f = rndf();
            memcpy(p + off, &f, 4);
            break;
        }
        case CORE_TYPE_F16: {
            uint16_t h = core_kernels_f32_to_f16(rndf());
            memcpy(p + off, &h, 2);
            break;
        }
        case CORE_TYPE_BF16: {
            uint16_t h = core_kernels_f32_to_bf16(rndf());
            memcpy(p + off, &h, 2);
            break;
        }
        case CORE_TYPE_Q8_0: case CORE_TYPE_Q4_0:
            memcpy(p + off, &d, 2);
            break;
        case CORE_TYPE_Q4_K:
            memcpy(p + off, &d, 2);
            memcpy(p + off + 2, &dm, 2);
            break;
        case CORE_TYPE_Q6_K:
            memcpy(p + off + 208, &d, 2);
            break;
        }
    }
    return p;
}

static const char *tname(int type)
{
    switch (type) {
    case CORE_TYPE_F32: return "F32";
    case CORE_TYPE_F16: return "F16";
    case CORE_TYPE_BF16: return "BF16";
    case CORE_TYPE_Q8_0: return "Q8_0";
    case CORE_TYPE_Q4_0: return "Q4_0";
    case CORE_TYPE_Q4_K: return "Q4_K";
    case CORE_TYPE_Q6_K: return "Q6_K";
    default: return "?";
    }
}

static const int all_types[] = {CORE_TYPE_F32, CORE_TYPE_F16, CORE_TYPE_BF16, CORE_TYPE_Q8_0,
                                CORE_TYPE_Q4_0, CORE_TYPE_Q4_K, CORE_TYPE_Q6_K};

static void check_dots(int isa)
{
    if (!core_kernels_isa_supported(isa))
        SKIP("this CPU has no %s", core_kernels_isa_name(isa));
    ASSERT_EQ_INT(core_kernels_set_isa(isa), 0);
    ASSERT_EQ_INT(core_kernels_isa(), isa);
    const int64_t sizes[] = {256, 512, 1536, 4096 + 256};
    for (size_t t = 0; t < BZ_ARRAY_SIZE(all_types); t++) {
        int type = all_types[t];
        for (size_t s = 0; s < BZ_ARRAY_SIZE(sizes); s++) {
            int64_t n = sizes[s];
            if (type == CORE_TYPE_F32 || type == CORE_TYPE_F16 || type == CORE_TYPE_BF16)
                n += 7; /* exercise the scalar tails */
            int rows = 3;
            size_t rb = core_kernels_row_bytes(type, n);
            uint8_t *w = random_row(type, n * rows);
            float *x = malloc((size_t)n * 4), *deq = malloc((size_t)n * 4), y[3];
            for (int64_t i = 0; i < n; i++)
                x[i] = rndf();
            core_kernels_matvec(type, w, n, x, y, 0, rows);
            for (int r = 0; r < rows; r++) {
                ASSERT_EQ_INT(core_kernels_dequant(type, w + r * rb, deq, n), 0);
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) {
                    ref += (double)deq[i] * x[i];
                    mag += fabs((double)deq[i] * x[i]);
                }
                float got = core_kernels_dot(type, w + r * rb, x, n);
                ASSERT(mag > 0);
                if (fabs(got - ref) > 2e-6 * mag + 1e-6)
                    test__fail(__FILE__, __LINE__, "%s %s n=%lld row %d: %.9g vs %.9g (mag %g)",
                               core_kernels_isa_name(isa), tname(type),
                               (long long)n, r, got, ref, mag);
                ASSERT_NEAR(y[r], got, 1e-6 * mag);
            }
            free(w);
            free(x);
            free(deq);
        }
    }
}

TEST(kernels_dot_portable_matches_dequant) { check_dots(CORE_KERNELS_PORTABLE); }
TEST(kernels_dot_avx2_matches_dequant) { check_dots(CORE_KERNELS_AVX2); }
TEST(kernels_dot_avx512_matches_dequant) { check_dots(CORE_KERNELS_AVX512); }

TEST(kernels_auto_picks_best)
{
    ASSERT_EQ_INT(core_kernels_set_isa(CORE_KERNELS_AUTO), 0);
    int isa = core_kernels_isa();
    ASSERT(isa != CORE_KERNELS_AUTO);
    if (core_kernels_isa_supported(CORE_KERNELS_AVX512))
        ASSERT_EQ_INT(isa, CORE_KERNELS_AVX512);
    ASSERT_EQ_INT(core_kernels_set_isa(99), BZ_EUNSUPPORTED);
    ASSERT(!core_kernels_type_ok(CORE_TYPE_Q5_K));
    ASSERT_EQ_INT(core_kernels_dequant(CORE_TYPE_Q5_K, "", NULL, 0), BZ_EUNSUPPORTED);
}

TEST(kernels_f16_roundtrips_every_half)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = core_kernels_f16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        ASSERT_EQ_INT(core_kernels_f32_to_f16(f), h);
    }
    ASSERT_EQ_INT(core_kernels_f32_to_f16(1.0f), 0x3c00);
    ASSERT_EQ_INT(core_kernels_f32_to_f16(-2.0f), 0xc000);
    ASSERT_EQ_INT(core_kernels_f32_to_f16(65504.0f), 0x7bff);
    ASSERT_EQ_INT(core_kernels_f32_to_f16(1e6f), 0x7c00);
    ASSERT_EQ_INT(core_kernels_f32_to_f16(5.9604645e-8f), 0x0001); /* smallest subnormal */
    ASSERT_EQ_INT(core_kernels_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    ASSERT_NEAR(core_kernels_f16_to_f32(0x3555), 0.33325195, 1e-8);
    ASSERT_EQ_INT(core_kernels_f32_to_bf16(1.0f), 0x3f80);
    ASSERT_NEAR(core_kernels_bf16_to_f32(0x4049), 3.140625, 0);
    ASSERT_EQ_INT(core_kernels_f32_to_bf16(1.0f + 1.0f / 256), 0x3f80); /* tie to even */
}

TEST(kernels_quantize_roundtrip_error_bounded)
{
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N * 4];
    for (int i = 0; i < N; i++)
        x[i] = rndf() * 3;
    const int types[] = {CORE_TYPE_F16, CORE_TYPE_BF16, CORE_TYPE_Q8_0, CORE_TYPE_Q4_0};
    const double tol[] = {3.0 / 2048, 3.0 / 128, 3.0 / 127 * 0.6, 3.0 / 8 * 1.01};
    for (size_t t = 0; t < BZ_ARRAY_SIZE(types); t++) {
        ASSERT_EQ_INT(core_kernels_quantize(types[t], x, q, N), 0);
        ASSERT_EQ_INT(core_kernels_dequant(types[t], q, y, N), 0);
        for (int i = 0; i < N; i++)
            ASSERT_NEAR(y[i], x[i], tol[t]);
    }
    ASSERT_EQ_INT(core_kernels_quantize(CORE_TYPE_Q6_K, x, q, N), BZ_EUNSUPPORTED);
}

/* Layout checks by hand, independent of the unpack code: element positions of ggml's
 * Q4_0, Q4_K and Q6_K blocks. */
TEST(kernels_block_layouts_by_hand)
{
    uint8_t b0[18] = {0};
    uint16_t one = core_kernels_f32_to_f16(1.0f), half = core_kernels_f32_to_f16(0.5f);
    memcpy(b0, &one, 2);
    b0[2 + 3] = 0xA2; /* element 3 = 2-8 = -6, element 19 = 10-8 = 2 */
    float y[256];
    core_kernels_dequant(CORE_TYPE_Q4_0, b0, y, 32);
    ASSERT_NEAR(y[3], -6, 0);
    ASSERT_NEAR(y[19], 2, 0);
    ASSERT_NEAR(y[0], -8, 0);

    uint8_t k4[144] = {0};
    memcpy(k4, &one, 2);
    memcpy(k4 + 2, &half, 2);
    /* sub-block 5: scale = (s[9] & 15) | (s[1] >> 6) << 4, min = (s[9] >> 4) | (s[5] >> 6) << 4 */
    k4[4 + 9] = 0x23;        /* scale low 3, min low 2 */
    k4[4 + 1] = 0x40;        /* scale high bits 1 -> 16 + 3 = 19 */
    k4[4 + 5] = 0x80;        /* min high bits 2 -> 32 + 2 = 34 */
    k4[16 + 64 + 7] = 0x9C;  /* sub-block 5 = high nibbles of bytes 64..95: element 167 = 9 */
    core_kernels_dequant(CORE_TYPE_Q4_K, k4, y, 256);
    ASSERT_NEAR(y[167], 19 * 9 - 0.5 * 34, 1e-6);
    ASSERT_NEAR(y[160], -0.5 * 34, 1e-6);
    /* sub-block 4 = low nibbles of bytes 64..95: element 135 = 0xC, scale 0 */
    ASSERT_NEAR(y[135], 0, 1e-6);

    uint8_t k6[210] = {0};
    memcpy(k6 + 208, &half, 2);
    /* element 70: second 128-half? no: first half, l = 6, third quarter -> ql[6] >> 4,
     * qh[6] bits 4-5, scale index 4. */
    k6[6] = 0x50;             /* high nibble 5 */
    k6[128 + 6] = 0x20;       /* (qh >> 4) & 3 = 2 -> +32 */
    k6[192 + 4] = (uint8_t)(int8_t)-3;
    core_kernels_dequant(CORE_TYPE_Q6_K, k6, y, 256);
    ASSERT_NEAR(y[70], 0.5 * -3 * (5 + 32 - 32), 1e-6);
    /* element 128 + 32 + 1: second half, l = 1, second quarter -> ql[64 + 33] & 15,
     * qh[32 + 1] bits 2-3, scale index 8 + 2 */
    k6[64 + 33] = 0x07;
    k6[128 + 33] = 0x0C;      /* (qh >> 2) & 3 = 3 -> +48 */
    k6[192 + 10] = 2;
    core_kernels_dequant(CORE_TYPE_Q6_K, k6, y, 256);
    ASSERT_NEAR(y[161], 0.5 * 2 * (7 + 48 - 32), 1e-6);
}

/* Cross-check with the model loader's reference dequantization (core/quant.c, written
 * independently from ggml's reference code): same floats for every type. */
TEST(kernels_dequant_matches_core_dequant_row)
{
    for (size_t t = 0; t < BZ_ARRAY_SIZE(all_types); t++) {
        int type = all_types[t];
        int64_t n = 1024;
        uint8_t *w = random_row(type, n);
        float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
        ASSERT_EQ_INT(core_kernels_dequant(type, w, a, n), 0);
        ASSERT_EQ_INT(core_dequant_row(type, w, b, n), 0);
        ASSERT_EQ_U64(core_kernels_row_bytes(type, n),
                      (size_t)(n / core_type_block_elems(type)) * core_type_block_bytes(type));
        for (int64_t i = 0; i < n; i++)
            if (memcmp(&a[i], &b[i], 4) != 0)
                test__fail(__FILE__, __LINE__, "%s element %lld: %.9g vs %.9g", tname(type),
                           (long long)i, a[i], b[i]);
        free(w), free(a), free(b);
    }
}

/* The int16-activation matvecs of Q8_0 and Q4_0 stay within 2e-5 of |w|.|x| of the
 * dequantized reference, on every path, and other types fall back to the float dot. */
static void check_xq(int isa)
{
    if (!core_kernels_isa_supported(isa))
        SKIP("this CPU has no %s", core_kernels_isa_name(isa));
    ASSERT_EQ_INT(core_kernels_set_isa(isa), 0);
    const int types[] = {CORE_TYPE_Q8_0, CORE_TYPE_Q4_0, CORE_TYPE_F16, CORE_TYPE_Q6_K};
    for (size_t t = 0; t < BZ_ARRAY_SIZE(types); t++)
        for (int64_t n = 256; n <= 1536 + 256; n += 768) {
            enum { ROWS = 5 };
            int type = types[t];
            size_t rb = core_kernels_row_bytes(type, n);
            uint8_t *w = random_row(type, n * ROWS);
            float *x = malloc(sizeof(float) * n), *deq = malloc(sizeof(float) * n), y[ROWS];
            int16_t *q = malloc(sizeof(int16_t) * n);
            float *d = malloc(sizeof(float) * (n / 32));
            for (int64_t i = 0; i < n; i++)
                x[i] = rndf() * (i % 7 == 0 ? 10 : 1);
            x[3] = 0;
            struct core_kernels_xq xq;
            core_kernels_xq_prepare(&xq, x, n, q, d);
            core_kernels_matvec_xq(type, w, n, &xq, y, 0, ROWS);
            for (int r = 0; r < ROWS; r++) {
                core_kernels_dequant(type, w + r * rb, deq, n);
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) {
                    ref += (double)deq[i] * x[i];
                    mag += fabs((double)deq[i] * x[i]);
                }
                if (fabs(y[r] - ref) > 2e-5 * mag)
                    test__fail(__FILE__, __LINE__, "%s %s n=%lld row %d: %.9g vs %.9g (mag %g)",
                               core_kernels_isa_name(isa), tname(type), (long long)n, r, y[r],
                               ref, mag);
            }
            free(w), free(x), free(deq), free(q), free(d);
        }
    core_kernels_set_isa(CORE_KERNELS_AUTO);
}

TEST(kernels_xq_portable) { check_xq(CORE_KERNELS_PORTABLE); }
TEST(kernels_xq_avx2) { check_xq(CORE_KERNELS_AVX2); }
TEST(kernels_xq_avx512) { check_xq(CORE_KERNELS_AVX512); }
