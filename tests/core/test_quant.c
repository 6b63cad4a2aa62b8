/* test_quant.c: reference dequantization against blocks built and computed by hand,
 * half/bfloat16 rounding, and the F32 -> F16/BF16/Q8_0 quantizers. */
#include <string.h>

#include "core/model.h"
#include "core/quant.h"
#include "tests/test.h"

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

TEST(quant_f16_values)
{
    ASSERT_NEAR(core_quant_f16_to_f32(0x3C00), 1.0, 0);
    ASSERT_NEAR(core_quant_f16_to_f32(0xC000), -2.0, 0);
    ASSERT_NEAR(core_quant_f16_to_f32(0x7BFF), 65504.0, 0);
    ASSERT_NEAR(core_quant_f16_to_f32(0x0001), ldexp(1, -24), 0);      /* smallest subnormal */
    ASSERT_NEAR(core_quant_f16_to_f32(0x03FF), 1023 * ldexp(1, -24), 0);
    ASSERT_NEAR(core_quant_f16_to_f32(0x3555), 0.333251953125, 0);
    ASSERT(isinf(core_quant_f16_to_f32(0x7C00)));
    ASSERT(isnan(core_quant_f16_to_f32(0x7E00)));
    ASSERT(signbit(core_quant_f16_to_f32(0x8000)));
    ASSERT_EQ_INT(core_quant_f32_to_f16(1.0f), 0x3C00);
    ASSERT_EQ_INT(core_quant_f32_to_f16(-2.0f), 0xC000);
    ASSERT_EQ_INT(core_quant_f32_to_f16(1.0f / 3), 0x3555);
    ASSERT_EQ_INT(core_quant_f32_to_f16(65504.0f), 0x7BFF);
    ASSERT_EQ_INT(core_quant_f32_to_f16(65520.0f), 0x7C00);             /* rounds to inf */
    ASSERT_EQ_INT(core_quant_f32_to_f16(1e-8f), 0x0000);                /* below half the min */
    ASSERT_EQ_INT(core_quant_f32_to_f16((float)ldexp(3, -25)), 0x0002); /* tie -> even */
    ASSERT_EQ_INT(core_quant_f32_to_f16(1.0f + (float)ldexp(1, -11)), 0x3C00); /* tie -> even */
    ASSERT_EQ_INT(core_quant_f32_to_f16(1.0f + (float)ldexp(3, -11)), 0x3C02);
    ASSERT_EQ_INT(core_quant_f32_to_f16(NAN) & 0x7E00, 0x7E00);
    /* every finite half survives a round trip */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00)
            continue;
        ASSERT_EQ_INT(core_quant_f32_to_f16(core_quant_f16_to_f32((uint16_t)h)), h);
    }
}

TEST(quant_bf16_values)
{
    ASSERT_NEAR(core_quant_bf16_to_f32(0x3F80), 1.0, 0);
    ASSERT_NEAR(core_quant_bf16_to_f32(0xC0A0), -5.0, 0);
    ASSERT_EQ_INT(core_quant_f32_to_bf16(1.0f), 0x3F80);
    ASSERT_EQ_INT(core_quant_f32_to_bf16(1.0f + (float)ldexp(1, -8)), 0x3F80); /* tie -> even */
    ASSERT_EQ_INT(core_quant_f32_to_bf16(1.0f + (float)ldexp(3, -8)), 0x3F82);
    ASSERT(isnan(core_quant_bf16_to_f32(core_quant_f32_to_bf16(NAN))));
}

TEST(quant_dequant_f16_bf16_rows)
{
    uint8_t b[8];
    put16(b, 0x3C00);
    put16(b + 2, 0xC000);
    put16(b + 4, 0x3800);
    put16(b + 6, 0x0000);
    float y[4];
    ASSERT_OK(core_dequant_row(CORE_TYPE_F16, b, y, 4), NULL);
    ASSERT_NEAR(y[0], 1, 0);
    ASSERT_NEAR(y[1], -2, 0);
    ASSERT_NEAR(y[2], 0.5, 0);
    ASSERT_NEAR(y[3], 0, 0);
    put16(b, 0x4040);     /* 3.0 */
    put16(b + 2, 0xBF00); /* -0.5 */
    ASSERT_OK(core_dequant_row(CORE_TYPE_BF16, b, y, 2), NULL);
    ASSERT_NEAR(y[0], 3, 0);
    ASSERT_NEAR(y[1], -0.5, 0);
    float x[3] = {1.5f, -7.25f, 0};
    ASSERT_OK(core_dequant_row(CORE_TYPE_F32, x, y, 3), NULL);
    ASSERT_NEAR(y[1], -7.25, 0);
}

TEST(quant_dequant_q8_0_block)
{
    uint8_t b[34 * 2];
    put16(b, 0x3800); /* d = 0.5 */
    for (int j = 0; j < 32; j++)
        b[2 + j] = (uint8_t)(int8_t)(j * 8 - 128); /* -128, -120, ..., 120 */
    put16(b + 34, 0xC400); /* d = -4 */
    for (int j = 0; j < 32; j++)
        b[36 + j] = (uint8_t)(int8_t)(j - 16);
    float y[64];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q8_0, b, y, 64), NULL);
    ASSERT_NEAR(y[0], -64, 0);
    ASSERT_NEAR(y[1], -60, 0);
    ASSERT_NEAR(y[16], 0, 0);
    ASSERT_NEAR(y[31], 60, 0);
    ASSERT_NEAR(y[32], 64, 0);  /* -16 * -4 */
    ASSERT_NEAR(y[63], -60, 0); /* 15 * -4 */
    ASSERT_EQ_INT(core_dequant_row(CORE_TYPE_Q8_0, b, y, 33), BZ_EINVAL);
}

TEST(quant_dequant_q4_0_block)
{
    uint8_t b[18];
    put16(b, 0x4000); /* d = 2 */
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | ((15 - j) << 4));
    float y[32];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q4_0, b, y, 32), NULL);
    /* low nibbles are elements 0..15, high nibbles 16..31; value (q - 8) * d */
    ASSERT_NEAR(y[0], -16, 0);
    ASSERT_NEAR(y[8], 0, 0);
    ASSERT_NEAR(y[15], 14, 0);
    ASSERT_NEAR(y[16], 14, 0);
    ASSERT_NEAR(y[31], -16, 0);
    for (int j = 0; j < 16; j++) {
        ASSERT_NEAR(y[j], (j - 8) * 2, 0);
        ASSERT_NEAR(y[j + 16], (7 - j) * 2, 0);
    }
}

/* Pack 6-bit scales and mins of the 8 sub-blocks the way ggml's Q4_K/Q5_K do. */
static void pack_k4_scales(uint8_t q[12], const int sc[8], const int mn[8])
{
    memset(q, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            q[j] = (uint8_t)sc[j];
            q[j + 4] = (uint8_t)mn[j];
        } else {
            q[j + 4] = (uint8_t)((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
            q[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            q[j] |= (uint8_t)((mn[j] >> 4) << 6);
        }
    }
}

TEST(quant_dequant_q4_k_block)
{
    uint8_t b[144];
    put16(b, 0x3C00);     /* d = 1 */
    put16(b + 2, 0x3800); /* dmin = 0.5 */
    int sc[8], mn[8];
    for (int s = 0; s < 8; s++) {
        sc[s] = 10 + 7 * s; /* 10..59: high bits used from sub-block 1 on */
        mn[s] = 63 - 5 * s;
    }
    pack_k4_scales(b + 4, sc, mn);
    for (int k = 0; k < 128; k++)
        b[16 + k] = (uint8_t)(k * 7);
    float y[256];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q4_K, b, y, 256), NULL);
    /* by hand: y[0] = 1*10*(0 & 15) - 0.5*63 = -31.5;
     * y[1] = 10*(7 & 15) - 31.5 = 38.5; y[32] = 17*(0 >> 4) - 0.5*58 = -29;
     * y[34] = qs[2] = 14, high nibble 0 -> -29; y[35] = qs[3] = 21 -> 17*1 - 29 = -12;
     * y[64] = qs[32] = 224: low 0 -> 24*0 - 0.5*53 = -26.5; y[255] = qs[127] = 889 & 255 =
     * 121 = 0x79, high nibble 7 -> 59*7 - 0.5*28 = 399 */
    ASSERT_NEAR(y[0], -31.5, 0);
    ASSERT_NEAR(y[1], 38.5, 0);
    ASSERT_NEAR(y[32], -29, 0);
    ASSERT_NEAR(y[34], -29, 0);
    ASSERT_NEAR(y[35], -12, 0);
    ASSERT_NEAR(y[64], -26.5, 0);
    ASSERT_NEAR(y[255], 399, 0);
    for (int i = 0; i < 256; i++) {
        int chunk = i / 64, l = i % 32, hi = (i % 64) >= 32, s = chunk * 2 + hi;
        uint8_t q = b[16 + chunk * 32 + l];
        int v = hi ? q >> 4 : q & 15;
        ASSERT_NEAR(y[i], sc[s] * v - 0.5 * mn[s], 0);
    }
}

TEST(quant_dequant_q5_k_block)
{
    uint8_t b[176];
    put16(b, 0x4000);     /* d = 2 */
    put16(b + 2, 0x3C00); /* dmin = 1 */
    int sc[8], mn[8];
    for (int s = 0; s < 8; s++) {
        sc[s] = 1 + s * 8;
        mn[s] = s * 9;
    }
    pack_k4_scales(b + 4, sc, mn);
    for (int k = 0; k < 32; k++)
        b[16 + k] = (uint8_t)(k * 37 + 11); /* qh */
    for (int k = 0; k < 128; k++)
        b[48 + k] = (uint8_t)(k * 13 + 5);  /* qs */
    float y[256];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q5_K, b, y, 256), NULL);
    /* by hand: y[0]: qs[0] = 5 low 5, qh[0] = 11 bit0 set -> 5+16 = 21, 2*1*21 - 0 = 42 */
    ASSERT_NEAR(y[0], 42, 0);
    for (int i = 0; i < 256; i++) {
        int chunk = i / 64, l = i % 32, hi = (i % 64) >= 32, s = chunk * 2 + hi;
        uint8_t q = b[48 + chunk * 32 + l];
        int v = (hi ? q >> 4 : q & 15) + (((b[16 + l] >> s) & 1) ? 16 : 0);
        ASSERT_NEAR(y[i], 2.0 * sc[s] * v - mn[s], 0);
    }
}

TEST(quant_dequant_q6_k_block)
{
    uint8_t b[210];
    memset(b, 0, sizeof b);
    /* choose the 6-bit value of every element, then lay the bits out as Q6_K does */
    int q[256];
    for (int i = 0; i < 256; i++)
        q[i] = (i * 29 + 3) & 63;
    for (int c = 0; c < 2; c++)
        for (int l = 0; l < 32; l++) {
            const int *Q = q + c * 128;
            b[c * 64 + l] = (uint8_t)((Q[l] & 15) | ((Q[l + 64] & 15) << 4));
            b[c * 64 + l + 32] = (uint8_t)((Q[l + 32] & 15) | ((Q[l + 96] & 15) << 4));
            b[128 + c * 32 + l] = (uint8_t)((Q[l] >> 4) | ((Q[l + 32] >> 4) << 2) |
                                            ((Q[l + 64] >> 4) << 4) | ((Q[l + 96] >> 4) << 6));
        }
    int8_t sc[16];
    for (int s = 0; s < 16; s++)
        sc[s] = (int8_t)(s * 9 - 70);
    memcpy(b + 192, sc, 16);
    put16(b + 208, 0x3400); /* d = 0.25 */
    float y[256];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q6_K, b, y, 256), NULL);
    /* by hand: y[0]: q = 3 -> (3 - 32) * sc[0] (-70) * 0.25 = 507.5 */
    ASSERT_NEAR(y[0], 507.5, 0);
    for (int i = 0; i < 256; i++)
        ASSERT_NEAR(y[i], 0.25 * sc[i / 16] * (q[i] - 32), 0);
}

TEST(quant_q8_0_round_trip)
{
    float x[64], y[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)sin(i * 0.37) * (i < 32 ? 3.0f : 0.01f);
    x[40] = 0;
    uint8_t b[68];
    ASSERT_OK(core_quant_row(CORE_TYPE_Q8_0, x, b, 64), NULL);
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q8_0, b, y, 64), NULL);
    for (int blk = 0; blk < 2; blk++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[blk * 32 + j]));
        for (int j = 0; j < 32; j++)
            /* half a step + the f16 rounding of the scale */
            ASSERT_NEAR(y[blk * 32 + j], x[blk * 32 + j], amax / 127 * 0.6);
    }
    /* an all-zero block has d = 0 and dequantizes to zeros */
    float z[32] = {0};
    ASSERT_OK(core_quant_row(CORE_TYPE_Q8_0, z, b, 32), NULL);
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q8_0, b, y, 32), NULL);
    for (int j = 0; j < 32; j++)
        ASSERT_NEAR(y[j], 0, 0);
    uint16_t h[3];
    float f[3] = {1, 0.1f, -1e5f};
    ASSERT_OK(core_quant_row(CORE_TYPE_F16, f, h, 3), NULL);
    ASSERT_EQ_INT(h[0], 0x3C00);
    ASSERT_EQ_INT(h[2], 0xFC00);
    ASSERT_EQ_INT(core_quant_row(CORE_TYPE_Q4_K, f, h, 256), BZ_EUNSUPPORTED);
    ASSERT_EQ_INT(core_quant_row_bytes(CORE_TYPE_Q8_0, 64), 68);
    ASSERT_EQ_INT(core_quant_row_bytes(CORE_TYPE_Q8_0, 65), 0);
    ASSERT_EQ_INT(core_quant_row_bytes(CORE_TYPE_Q6_K, 512), 420);
}

TEST(quant_type_names)
{
    ASSERT_EQ_STR(core_type_name(CORE_TYPE_Q4_K), "Q4_K");
    ASSERT_EQ_INT(core_type_from_name("q8_0"), CORE_TYPE_Q8_0);
    ASSERT_EQ_INT(core_type_from_name("bf16"), CORE_TYPE_BF16);
    ASSERT_EQ_INT(core_type_from_name("q9_9"), -1);
    ASSERT_EQ_INT(core_type_block_bytes(CORE_TYPE_Q4_K), 144);
    ASSERT_EQ_INT(core_type_block_elems(CORE_TYPE_Q6_K), 256);
    ASSERT_EQ_INT(core_type_block_bytes(99), 0);
    ASSERT_EQ_STR(core_type_name(23), "IQ4_XS");
    ASSERT_EQ_INT(core_type_block_bytes(23), 136);
    ASSERT_EQ_INT(core_dequant_row(23, NULL, NULL, 256), BZ_EUNSUPPORTED);
}

TEST(quant_f16_row_table_matches_scalar)
{
    uint16_t *h = malloc(65536 * sizeof *h);
    float *y = malloc(65536 * sizeof *y);
    for (uint32_t i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    ASSERT_OK(core_dequant_row(CORE_TYPE_F16, h, y, 65536), NULL);
    for (uint32_t i = 0; i < 65536; i++) {
        float s = core_quant_f16_to_f32((uint16_t)i);
        if (memcmp(&s, &y[i], 4) != 0)
            test__fail(__FILE__, __LINE__, "half 0x%04x: row %g, scalar %g", i, y[i], s);
    }
    free(h);
    free(y);
}

/* Q2_K and Q3_K blocks packed the way ggml's quantizers pack them, from chosen
 * 2/3-bit values and scales; each element checked against its formula. */
static void pack_2bit(uint8_t qs[64], const int L[256])
{
    memset(qs, 0, 64);
    for (int j = 0; j < 256; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)((L[j + l] & 3) | ((L[j + l + 32] & 3) << 2) |
                                      ((L[j + l + 64] & 3) << 4) | ((L[j + l + 96] & 3) << 6));
}

TEST(quant_dequant_q2_k_block)
{
    uint8_t b[84];
    int L[256], sc[16], mn[16];
    for (int i = 0; i < 256; i++)
        L[i] = (i * 5 + i / 7) & 3;
    for (int j = 0; j < 16; j++) {
        sc[j] = (j * 7 + 1) & 15;
        mn[j] = (15 - j) & 15;
        b[j] = (uint8_t)(sc[j] | (mn[j] << 4));
    }
    pack_2bit(b + 16, L);
    put16(b + 80, 0x3800); /* d = 0.5 */
    put16(b + 82, 0x3400); /* dmin = 0.25 */
    float y[256];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q2_K, b, y, 256), NULL);
    /* by hand: y[0]: L 0, sc 1, min 15 -> 0.5*1*0 - 0.25*15 = -3.75 */
    ASSERT_NEAR(y[0], -3.75, 0);
    for (int i = 0; i < 256; i++)
        ASSERT_NEAR(y[i], 0.5 * sc[i / 16] * L[i] - 0.25 * mn[i / 16], 0);
}

TEST(quant_dequant_q3_k_block)
{
    uint8_t b[110];
    memset(b, 0, sizeof b);
    int L[256], Ls[16], low[256];
    for (int i = 0; i < 256; i++)
        L[i] = (i * 3 + i / 5) & 7; /* 0..7, value L - 4 */
    for (int j = 0; j < 16; j++)
        Ls[j] = (j * 13 + 5) & 63;  /* 6-bit, value Ls - 32 */
    /* high bit of element j goes to hmask[j % 32], bit j / 32 */
    for (int i = 0; i < 256; i++) {
        low[i] = L[i] & 3;
        if (L[i] > 3)
            b[i % 32] |= (uint8_t)(1 << (i / 32));
    }
    pack_2bit(b + 32, low);
    uint8_t *s = b + 96;
    for (int j = 0; j < 16; j++) {
        int l = Ls[j];
        if (j < 8)
            s[j] = (uint8_t)(l & 0xF);
        else
            s[j - 8] |= (uint8_t)((l & 0xF) << 4);
        s[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
    put16(b + 108, 0x4000); /* d = 2 */
    float y[256];
    ASSERT_OK(core_dequant_row(CORE_TYPE_Q3_K, b, y, 256), NULL);
    /* by hand: y[0]: L 0 -> -4, scale 5 - 32 = -27 -> 2 * -27 * -4 = 216 */
    ASSERT_NEAR(y[0], 216, 0);
    for (int i = 0; i < 256; i++)
        ASSERT_NEAR(y[i], 2.0 * (Ls[i / 16] - 32) * (L[i] - 4), 0);
}
