/*
 * ops.c: training kernels, forward/backward pairs (see ops.h for the contract).
 *
 * Key idea: everything with a reduction over a model dimension goes to cblas_sgemm
 * (linears, LoRA, the attention score and value products per (batch, head)); the rest
 * are plain loops over rows that the compiler vectorises. Backward accumulates.
 *
 * Threads: with a pool set (core_ops_set_pool), big sgemms are split over the pool
 * along their larger output dimension, each piece a single-threaded sgemm (the pool
 * keeps OpenBLAS at one thread), and attention runs one (batch, kv group) per task.
 *
 * Left out: causal skipping inside the attention sgemms.
 */
#include "core/ops.h"

/* The elementwise loops (softmax, dropout, SwiGLU, RMSNorm) need the loop vectoriser,
 * which GCC runs at -O2 only for loops without an epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- threads */

static struct core_pool *ops_pool;

void core_ops_set_pool(struct core_pool *pool)
{
    ops_pool = pool;
}

struct gemm_job {
    int ta, tb, M, N, K, lda, ldb, ldc, split_m, step;
    float alpha, beta;
    const float *a, *b;
    float *c;
};

static void gemm_piece(void *ctx, int64_t begin, int64_t end, int tid)
{
    const struct gemm_job *j = ctx;
    int i0 = (int)begin * j->step, i1 = BZ_MIN((int)end * j->step, j->split_m ? j->M : j->N);
    if (i0 >= i1)
        return;
    const float *a = j->a, *b = j->b;
    float *c = j->c;
    int M = j->M, N = j->N;
    if (j->split_m) {
        a += j->ta ? (size_t)i0 : (size_t)i0 * j->lda;
        c += (size_t)i0 * j->ldc;
        M = i1 - i0;
    } else {
        b += j->tb ? (size_t)i0 * j->ldb : (size_t)i0;
        c += i0;
        N = i1 - i0;
    }
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                M, N, j->K, j->alpha, a, j->lda, b, j->ldb, j->beta, c, j->ldc);
}

/* C (M,N) = alpha op(A) op(B) + beta C, split over the pool when big enough. */
static void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc)
{
    int nt = core_pool_threads(ops_pool);
    if (nt <= 1 || (double)M * N * K < 2e6) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    struct gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, M >= N, 0, alpha, beta, a, b, c};
    int len = j.split_m ? M : N;
    j.step = (len + nt - 1) / nt;
    j.step = (j.step + 15) / 16 * 16;
    core_pool_for(ops_pool, (len + j.step - 1) / j.step, 1, gemm_piece, &j);
}

/* ---------------------------------------------------------------- exp */

/* e^x for x <= 0 (softmax after subtracting the max) and moderate x, branch-free so
 * loops of it vectorise: x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial
 * (relative error < 2e-7), 2^n through the exponent bits. Below -87 it returns 0. */
static inline float ops_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666418f +
                  r * (0.00833345205f + r * 0.00138888415f)))));
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, 4);
    return x <= -87.0f ? 0.0f : p * s;
}

/* Sum and max of n floats with eight independent lanes (vectorisable without
 * reassociation flags; the order is fixed, so results are deterministic). */
static float sum_f(const float *x, int n)
{
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[i + k];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

static float max_f(const float *x, int n)
{
    float acc[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                    -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
    float m = -INFINITY;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int k = 0; k < 8; k++)
        m = acc[k] > m ? acc[k] : m;
    return m;
}

/* Softmax in place over row[0, len) where seg[t2] == seg[t] (seg may be NULL), zero
 * elsewhere up to T. */
static void softmax_row(float *row, int len, int T, const int *sg, int t)
{
    float mx = -INFINITY;
    if (sg) {
        int s0 = sg[t];
        for (int t2 = 0; t2 < len; t2++)
            if (sg[t2] == s0 && row[t2] > mx)
                mx = row[t2];
        for (int t2 = 0; t2 < len; t2++) {
            float e = ops_expf(row[t2] - mx);
            row[t2] = sg[t2] == s0 ? e : 0.0f;
        }
    } else {
        mx = max_f(row, len);
        for (int t2 = 0; t2 < len; t2++)
            row[t2] = ops_expf(row[t2] - mx);
    }
    float inv = 1.0f / sum_f(row, len);
    for (int t2 = 0; t2 < len; t2++)
        row[t2] *= inv;
    for (int t2 = len; t2 < T; t2++)
        row[t2] = 0.0f;
}

/* ---------------------------------------------------------------- embedding */

void core_ops_embedding_forward(float *out, const int *inp, const float *wte, int N, int C)
{
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, wte + (size_t)inp[n] * C, sizeof(float) * C);
}

void core_ops_embedding_backward(float *dwte, const float *dout, const int *inp, int N, int C)
{
    for (int n = 0; n < N; n++) {
        float *dst = dwte + (size_t)inp[n] * C;
        const float *src = dout + (size_t)n * C;
        for (int c = 0; c < C; c++)
            dst[c] += src[c];
    }
}

/* The uniform of element i of stream seed: murmur3's 32-bit finaliser of (i, key),
 * which vectorises (four or eight lanes of 32-bit multiplies). */
static inline uint32_t drop_bits(uint32_t k0, uint32_t k1, uint32_t i)
{
    uint32_t x = (i ^ k0) * 0x9E3779B1u + k1;
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

/* ---------------------------------------------------------------- parallel loops */

/* Elementwise kernels run over index ranges: rows for RMSNorm, elements otherwise.
 * Each index is computed the same way whatever the split, so results do not depend
 * on the thread count; reductions across rows (dweight) stay serial. */
enum { EW_RMS_FWD, EW_RMS_BWD, EW_SWIGLU_FWD, EW_SWIGLU_BWD, EW_RES_FWD, EW_RES_BWD, EW_DROP };

struct ew_job {
    int op, C;
    float eps, p, s;
    uint32_t k0, k1;
    float *o0, *o1, *o2;
    const float *i0, *i1, *i2, *i3;
};

static void rms_fwd_rows(const struct ew_job *j, int64_t n0, int64_t n1)
{
    int C = j->C;
    for (int64_t n = n0; n < n1; n++) {
        const float *x = j->i0 + (size_t)n * C;
        float *o = j->o0 + (size_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++)
            ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / C + j->eps);
        for (int c = 0; c < C; c++)
            o[c] = x[c] * r * j->i1[c];
        j->o1[n] = r;
    }
}

/* y = x r w with r = (mean(x^2)+eps)^-1/2: dx = r (w dy) - x r^3 / C * sum(w dy x). */
static void rms_bwd_rows(const struct ew_job *j, int64_t n0, int64_t n1)
{
    int C = j->C;
    const float *weight = j->i2, *rstd = j->i3;
    for (int64_t n = n0; n < n1; n++) {
        const float *x = j->i1 + (size_t)n * C, *dy = j->i0 + (size_t)n * C;
        float *dx = j->o0 + (size_t)n * C;
        float r = rstd[n], dot = 0.0f;
        for (int c = 0; c < C; c++)
            dot += weight[c] * dy[c] * x[c];
        float k = dot * r * r * r / C;
        for (int c = 0; c < C; c++)
            dx[c] += r * weight[c] * dy[c] - x[c] * k;
        if (j->o1)
            for (int c = 0; c < C; c++)
                j->o1[c] += dy[c] * x[c] * r;
    }
}

static void ew_range(const struct ew_job *j, int64_t b, int64_t e)
{
    switch (j->op) {
    case EW_RMS_FWD: rms_fwd_rows(j, b, e); break;
    case EW_RMS_BWD: rms_bwd_rows(j, b, e); break;
    case EW_SWIGLU_FWD:
        for (int64_t i = b; i < e; i++) {
            float g = j->i0[i];
            j->o0[i] = g / (1.0f + ops_expf(-g)) * j->i1[i];
        }
        break;
    case EW_SWIGLU_BWD:
        for (int64_t i = b; i < e; i++) {
            float g = j->i1[i], sg = 1.0f / (1.0f + ops_expf(-g)), d = j->i0[i];
            j->o1[i] += d * g * sg;
            j->o0[i] += d * j->i2[i] * sg * (1.0f + g * (1.0f - sg));
        }
        break;
    case EW_RES_FWD:
        for (int64_t i = b; i < e; i++)
            j->o0[i] = j->i0[i] + j->i1[i];
        break;
    case EW_RES_BWD:
        for (int64_t i = b; i < e; i++) {
            j->o0[i] += j->i0[i];
            j->o1[i] += j->i0[i];
        }
        break;
    default: { /* EW_DROP: o0[i] = keep(i) ? i0[i] * s : 0 */
        uint32_t thr = (uint32_t)((double)j->p * 4294967296.0);
        uint32_t b32 = (uint32_t)b, e32 = (uint32_t)e;
        for (uint32_t i = b32; i < e32; i++) {
            float m = drop_bits(j->k0, j->k1, i) >= thr ? j->s : 0.0f;
            j->o0[i] = j->i0[i] * m;
        }
    }
    }
}

static void ew_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    ew_range(ctx, begin, end);
}

/* Run job over [0, n) on the pool in chunks of grain (serially when small). */
static void ew_run(struct ew_job *j, int64_t n, int64_t grain)
{
    if (!ops_pool || n < 2 * grain)
        ew_range(j, 0, n);
    else
        core_pool_for(ops_pool, n, grain, ew_task, j);
}

/* ---------------------------------------------------------------- rmsnorm */

void core_ops_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                              int N, int C, float eps)
{
    struct ew_job j = {.op = EW_RMS_FWD, .C = C, .eps = eps, .o0 = out, .o1 = rstd, .i0 = inp,
                       .i1 = weight};
    ew_run(&j, N, 16);
}

void core_ops_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                               const float *weight, const float *rstd, int N, int C)
{
    struct ew_job j = {.op = EW_RMS_BWD, .C = C, .o0 = dinp, .o1 = dweight, .i0 = dout,
                       .i1 = inp, .i2 = weight, .i3 = rstd};
    if (dweight) /* a reduction over rows: serial, so the sum order is fixed */
        ew_range(&j, 0, N);
    else
        ew_run(&j, N, 16);
}

/* ---------------------------------------------------------------- matmul */

void core_ops_matmul_forward(float *out, const float *inp, const float *weight,
                             const float *bias, int N, int C, int OC)
{
    gemm(0, 1, N, OC, C, 1.0f, inp, C, weight, C,
                0.0f, out, OC);
    if (bias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
                out[(size_t)n * OC + o] += bias[o];
}

void core_ops_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int N, int C, int OC)
{
    if (dinp)
        gemm(0, 0, N, C, OC, 1.0f, dout, OC,
                    weight, C, 1.0f, dinp, C);
    if (dweight)
        gemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C,
                    1.0f, dweight, C);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
                dbias[o] += dout[(size_t)n * OC + o];
}

size_t core_ops_linear_scratch(const struct core_tensor *w)
{
    if (w->type == CORE_TYPE_F32)
        return 0;
    return (size_t)CORE_OPS_TILE * (size_t)w->ne[0];
}

/* Dequantize rows [o0, o1) of w (rows of C elements) into dst. */
static int linear_tile(const struct core_tensor *w, int o0, int o1, int C, float *dst)
{
    size_t bb = core_type_block_bytes(w->type);
    int be = core_type_block_elems(w->type);
    if (!bb || be <= 0 || C % be)
        return BZ_EUNSUPPORTED;
    size_t row_bytes = (size_t)(C / be) * bb;
    for (int o = o0; o < o1; o++) {
        int rc = core_dequant_row(w->type, (const char *)w->data + row_bytes * o,
                                  dst + (size_t)(o - o0) * C, C);
        if (rc)
            return rc;
    }
    return 0;
}

int core_ops_linear_forward(float *out, const float *inp, const struct core_tensor *w,
                            int N, int C, int OC, int accumulate, float *scratch)
{
    float beta = accumulate ? 1.0f : 0.0f;
    if (w->type == CORE_TYPE_F32) {
        gemm(0, 1, N, OC, C, 1.0f, inp, C,
                    (const float *)w->data, C, beta, out, OC);
        return 0;
    }
    for (int o0 = 0; o0 < OC; o0 += CORE_OPS_TILE) {
        int o1 = BZ_MIN(OC, o0 + CORE_OPS_TILE);
        int rc = linear_tile(w, o0, o1, C, scratch);
        if (rc)
            return rc;
        gemm(0, 1, N, o1 - o0, C, 1.0f, inp, C,
                    scratch, C, beta, out + o0, OC);
    }
    return 0;
}

int core_ops_linear_backward(float *dinp, const float *dout, const struct core_tensor *w,
                             int N, int C, int OC, float *scratch)
{
    if (w->type == CORE_TYPE_F32) {
        gemm(0, 0, N, C, OC, 1.0f, dout, OC,
                    (const float *)w->data, C, 1.0f, dinp, C);
        return 0;
    }
    for (int o0 = 0; o0 < OC; o0 += CORE_OPS_TILE) {
        int o1 = BZ_MIN(OC, o0 + CORE_OPS_TILE);
        int rc = linear_tile(w, o0, o1, C, scratch);
        if (rc)
            return rc;
        gemm(0, 0, N, C, o1 - o0, 1.0f, dout + o0,
                    OC, scratch, C, 1.0f, dinp, C);
    }
    return 0;
}

/* ---------------------------------------------------------------- rope */

void core_ops_rope_table(float *cos_t, float *sin_t, int npos, int HS, float theta,
                         float scale)
{
    int half = HS / 2;
    for (int p = 0; p < npos; p++)
        for (int i = 0; i < half; i++) {
            double freq = pow((double)theta, -2.0 * i / HS);
            double a = (double)p / (scale > 0 ? scale : 1.0f) * freq;
            cos_t[(size_t)p * half + i] = (float)cos(a);
            sin_t[(size_t)p * half + i] = (float)sin(a);
        }
}

/* sign +1 rotates by +angle (forward), -1 by -angle (the transpose, for backward). */
static void rope_apply(float *x, const int *pos, const float *cos_t, const float *sin_t,
                       int N, int NH, int HS, int mode, float sign)
{
    int half = HS / 2;
    for (int n = 0; n < N; n++) {
        const float *cs = cos_t + (size_t)pos[n] * half, *sn = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < NH; h++) {
            float *v = x + ((size_t)n * NH + h) * HS;
            for (int i = 0; i < half; i++) {
                int i0 = mode == CORE_ROPE_NEOX ? i : 2 * i;
                int i1 = mode == CORE_ROPE_NEOX ? i + half : 2 * i + 1;
                float c = cs[i], s = sign * sn[i];
                float a = v[i0], b = v[i1];
                v[i0] = a * c - b * s;
                v[i1] = a * s + b * c;
            }
        }
    }
}

void core_ops_rope_forward(float *x, const int *pos, const float *cos_t, const float *sin_t,
                           int N, int NH, int HS, int mode)
{
    rope_apply(x, pos, cos_t, sin_t, N, NH, HS, mode, 1.0f);
}

void core_ops_rope_backward(float *dx, const int *pos, const float *cos_t,
                            const float *sin_t, int N, int NH, int HS, int mode)
{
    rope_apply(dx, pos, cos_t, sin_t, N, NH, HS, mode, -1.0f);
}

/* ---------------------------------------------------------------- attention */

struct att_job {
    float *out, *att, *dq, *dk, *dv, *scratch;
    const float *q, *k, *v, *dout, *catt;
    const int *seg;
    int B, T, NH, NKV, HS;
};

/* Query rows are taken in blocks of ATT_RB: block [r0, r1) only needs keys [0, r1),
 * which skips most of the masked upper triangle. */
#define ATT_RB 64

/* One (batch, head) per index. */
static void att_fwd_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const struct att_job *j = ctx;
    int T = j->T, HS = j->HS, ldq = j->NH * HS, ldk = j->NKV * HS, rep = j->NH / j->NKV;
    float scale = 1.0f / sqrtf((float)HS);
    for (int64_t i = begin; i < end; i++) {
        int b = (int)(i / j->NH), h = (int)(i % j->NH);
        const int *sg = j->seg ? j->seg + (size_t)b * T : NULL;
        const float *qh = j->q + (size_t)b * T * ldq + (size_t)h * HS;
        const float *kh = j->k + (size_t)b * T * ldk + (size_t)(h / rep) * HS;
        const float *vh = j->v + (size_t)b * T * ldk + (size_t)(h / rep) * HS;
        float *P = j->att + ((size_t)b * j->NH + h) * T * T;
        float *oh = j->out + (size_t)b * T * ldq + (size_t)h * HS;
        for (int r0 = 0; r0 < T; r0 += ATT_RB) {
            int r1 = BZ_MIN(T, r0 + ATT_RB), nr = r1 - r0;
            float *Pb = P + (size_t)r0 * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, r1, HS, scale,
                        qh + (size_t)r0 * ldq, ldq, kh, ldk, 0.0f, Pb, T);
            for (int t = r0; t < r1; t++)
                softmax_row(P + (size_t)t * T, t + 1, T, sg, t);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, HS, r1, 1.0f, Pb, T, vh,
                        ldk, 0.0f, oh + (size_t)r0 * ldq, ldq);
        }
    }
}

void core_ops_attention_forward(float *out, float *att, const float *q, const float *k,
                                const float *v, const int *seg, int B, int T, int NH, int NKV,
                                int HS)
{
    struct att_job j = {.out = out, .att = att, .q = q, .k = k, .v = v, .seg = seg, .B = B,
                        .T = T, .NH = NH, .NKV = NKV, .HS = HS};
    core_pool_for(ops_pool, (int64_t)B * NH, 1, att_fwd_task, &j);
}

size_t core_ops_attention_scratch(int T)
{
    return (size_t)T * T * (size_t)core_pool_threads(ops_pool);
}

/* One (batch, kv group) per index: the group's heads share dk/dv rows. */
static void att_bwd_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const struct att_job *j = ctx;
    int T = j->T, HS = j->HS, ldq = j->NH * HS, ldk = j->NKV * HS, rep = j->NH / j->NKV;
    float scale = 1.0f / sqrtf((float)HS);
    float *dP = j->scratch + (size_t)tid * T * T;
    for (int64_t i = begin; i < end; i++) {
        int b = (int)(i / j->NKV), g = (int)(i % j->NKV);
        size_t ko = (size_t)b * T * ldk + (size_t)g * HS;
        for (int h = g * rep; h < (g + 1) * rep; h++) {
            size_t qo = (size_t)b * T * ldq + (size_t)h * HS;
            const float *P = j->catt + ((size_t)b * j->NH + h) * T * T;
            for (int r0 = 0; r0 < T; r0 += ATT_RB) {
                int r1 = BZ_MIN(T, r0 + ATT_RB), nr = r1 - r0;
                const float *Pb = P + (size_t)r0 * T;
                float *dPb = dP + (size_t)r0 * T;
                const float *dOb = j->dout + qo + (size_t)r0 * ldq;
                /* dV[0, r1) += Pb^T dOb ; dPb = dOb V[0, r1)^T */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, HS, nr, 1.0f, Pb, T,
                            dOb, ldq, 1.0f, j->dv + ko, ldk);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, r1, HS, 1.0f, dOb, ldq,
                            j->v + ko, ldk, 0.0f, dPb, T);
                /* softmax backward: dS = P (dP - sum(P dP)); masked entries have P = 0 */
                for (int t = r0; t < r1; t++) {
                    const float *p = P + (size_t)t * T;
                    float *d = dP + (size_t)t * T;
                    float dot = 0.0f;
                    for (int t2 = 0; t2 <= t; t2++)
                        dot += p[t2] * d[t2];
                    for (int t2 = 0; t2 <= t; t2++)
                        d[t2] = p[t2] * (d[t2] - dot);
                    for (int t2 = t + 1; t2 < r1; t2++)
                        d[t2] = 0.0f;
                }
                /* dQ[r0, r1) += scale dS K[0, r1) ; dK[0, r1) += scale dS^T Q[r0, r1) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, HS, r1, scale, dPb, T,
                            j->k + ko, ldk, 1.0f, j->dq + qo + (size_t)r0 * ldq, ldq);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, HS, nr, scale, dPb, T,
                            j->q + qo + (size_t)r0 * ldq, ldq, 1.0f, j->dk + ko, ldk);
            }
        }
    }
}

void core_ops_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                 const float *att, const float *q, const float *k,
                                 const float *v, int B, int T, int NH, int NKV, int HS,
                                 float *scratch)
{
    struct att_job j = {.dq = dq, .dk = dk, .dv = dv, .scratch = scratch, .q = q, .k = k,
                        .v = v, .dout = dout, .catt = att, .B = B, .T = T, .NH = NH,
                        .NKV = NKV, .HS = HS};
    core_pool_for(ops_pool, (int64_t)B * NKV, 1, att_bwd_task, &j);
}

/* ---------------------------------------------------------------- swiglu, residual */

void core_ops_swiglu_forward(float *out, const float *gate, const float *up, int N, int FF)
{
    struct ew_job j = {.op = EW_SWIGLU_FWD, .o0 = out, .i0 = gate, .i1 = up};
    ew_run(&j, (int64_t)N * FF, 8192);
}

void core_ops_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                              const float *up, int N, int FF)
{
    struct ew_job j = {.op = EW_SWIGLU_BWD, .o0 = dgate, .o1 = dup, .i0 = dout, .i1 = gate,
                       .i2 = up};
    ew_run(&j, (int64_t)N * FF, 8192);
}

void core_ops_residual_forward(float *out, const float *a, const float *b, size_t n)
{
    struct ew_job j = {.op = EW_RES_FWD, .o0 = out, .i0 = a, .i1 = b};
    ew_run(&j, (int64_t)n, 16384);
}

void core_ops_residual_backward(float *da, float *db, const float *dout, size_t n)
{
    struct ew_job j = {.op = EW_RES_BWD, .o0 = da, .o1 = db, .i0 = dout};
    ew_run(&j, (int64_t)n, 16384);
}

/* ---------------------------------------------------------------- loss */

void core_ops_crossentropy_forward(float *losses, float *probs, const float *logits,
                                   const int *targets, int N, int V)
{
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) {
            losses[n] = 0.0f;
            continue;
        }
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            mx = l[i] > mx ? l[i] : mx;
        float sum = 0.0f;
        for (int i = 0; i < V; i++) {
            p[i] = ops_expf(l[i] - mx);
            sum += p[i];
        }
        float inv = 1.0f / sum;
        for (int i = 0; i < V; i++)
            p[i] *= inv;
        losses[n] = -logf(p[targets[n]]);
    }
}

void core_ops_crossentropy_backward(float *dlogits, const float *dlosses, const float *probs,
                                    const int *targets, int N, int V)
{
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0)
            continue;
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        float dl = dlosses[n];
        for (int i = 0; i < V; i++)
            d[i] += (p[i] - (i == targets[n] ? 1.0f : 0.0f)) * dl;
    }
}

size_t core_ops_masked_head_scratch(const struct core_tensor *w, int C, int V, int chunk)
{
    return (size_t)chunk * ((size_t)C * 2 + (size_t)V) + core_ops_linear_scratch(w);
}

struct head_job {
    float *logits;
    const int *rows, *targets;
    int V, backward, T;
    float dscale;
    const float *row_scale; /* per batch row (position / T), or NULL: dscale */
    double *loss;
};

/* Softmax cross-entropy of logits rows [b, e) in place: the row's loss, and with
 * backward the gradient (p - onehot) * dscale over the row. */
static void head_rows(void *ctx, int64_t b, int64_t e, int tid)
{
    const struct head_job *j = ctx;
    int V = j->V;
    for (int64_t i = b; i < e; i++) {
        float *l = j->logits + (size_t)i * V;
        int tgt = j->targets[j->rows[i]];
        float mx = max_f(l, V);
        for (int k = 0; k < V; k++)
            l[k] = ops_expf(l[k] - mx);
        float inv = 1.0f / sum_f(l, V);
        j->loss[i] = -log((double)l[tgt] * inv);
        if (j->backward) {
            float ds = j->row_scale ? j->row_scale[j->rows[i] / j->T] : j->dscale;
            float sc = inv * ds;
            for (int k = 0; k < V; k++)
                l[k] *= sc;
            l[tgt] -= ds;
        }
    }
}

double core_ops_masked_head(const float *x, const struct core_tensor *w, const int *targets,
                            int N, int C, int V, float dscale, float *dx, float *dw,
                            int chunk, float *scratch, int *count)
{
    return core_ops_masked_head_rows(x, w, targets, N, C, V, N, NULL, dscale, NULL, dx, dw,
                                     chunk, scratch, count);
}

double core_ops_masked_head_rows(const float *x, const struct core_tensor *w,
                                 const int *targets, int N, int C, int V, int T,
                                 const float *row_scale, float dscale, double *row_loss,
                                 float *dx, float *dw, int chunk, float *scratch, int *count)
{
    float *xc = scratch, *logits = xc + (size_t)chunk * C;
    float *dxc = logits + (size_t)chunk * V, *lin = dxc + (size_t)chunk * C;
    bz_assert(chunk > 0 && chunk <= 1024);
    int rows[chunk];
    double rowloss[chunk];
    double total = 0.0;
    int cnt = 0, n = 0;
    while (n < N) {
        int m = 0;
        for (; n < N && m < chunk; n++)
            if (targets[n] >= 0) {
                rows[m] = n;
                memcpy(xc + (size_t)m * C, x + (size_t)n * C, sizeof(float) * C);
                m++;
            }
        if (!m)
            break;
        core_ops_linear_forward(logits, xc, w, m, C, V, 0, lin);
        struct head_job hj = {.logits = logits, .rows = rows, .targets = targets, .V = V,
                              .T = T, .dscale = dscale, .row_scale = row_scale,
                              .backward = dx != NULL, .loss = rowloss};
        if (ops_pool && m > 1)
            core_pool_for(ops_pool, m, 1, head_rows, &hj);
        else
            head_rows(&hj, 0, m, 0);
        for (int i = 0; i < m; i++) {
            total += rowloss[i];
            if (row_loss)
                row_loss[rows[i] / T] += rowloss[i];
        }
        cnt += m;
        if (dx) {
            memset(dxc, 0, sizeof(float) * (size_t)m * C);
            core_ops_linear_backward(dxc, logits, w, m, C, V, lin);
            for (int i = 0; i < m; i++) {
                float *d = dx + (size_t)rows[i] * C;
                const float *s = dxc + (size_t)i * C;
                for (int c = 0; c < C; c++)
                    d[c] += s[c];
            }
            if (dw)
                gemm(1, 0, V, C, m, 1.0f, logits, V,
                            xc, C, 1.0f, dw, C);
        }
    }
    *count = cnt;
    return total;
}

/* ---------------------------------------------------------------- lora */

int core_ops_dropout_keep(uint64_t seed, uint64_t i, float p)
{
    uint32_t thr = (uint32_t)((double)p * 4294967296.0);
    return drop_bits((uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)i) >= thr;
}

/* dst[i] = keep(i) ? src[i] * s : 0 (dst == src allowed). */
static void drop_apply(float *dst, const float *src, size_t n, float p, uint64_t seed, float s)
{
    bz_assert(n <= UINT32_MAX);
    struct ew_job j = {.op = EW_DROP, .p = p, .s = s, .k0 = (uint32_t)seed,
                       .k1 = (uint32_t)(seed >> 32), .o0 = dst, .i0 = src};
    ew_run(&j, (int64_t)n, 16384);
}

static void lora_drop(float *xd, const float *inp, size_t n, float p, uint64_t seed)
{
    drop_apply(xd, inp, n, p, seed, 1.0f / (1.0f - p));
}

void core_ops_lora_forward(float *out, float *h, const float *inp, const float *a,
                           const float *b, int N, int C, int OC, int R, float scale, float p,
                           uint64_t seed, float *xd)
{
    const float *x = inp;
    if (p > 0.0f) {
        lora_drop(xd, inp, (size_t)N * C, p, seed);
        x = xd;
    }
    gemm(0, 1, N, R, C, 1.0f, x, C, a, C, 0.0f, h, R);
    gemm(0, 1, N, OC, R, scale, h, R, b, R, 1.0f, out,
                OC);
}

void core_ops_lora_backward(float *dinp, float *da, float *db, const float *dout,
                            const float *h, const float *inp, const float *a, const float *b,
                            int N, int C, int OC, int R, float scale, float p, uint64_t seed,
                            float *dh, float *xd)
{
    /* dh = scale dout B ; dB += scale dout^T h */
    gemm(0, 0, N, R, OC, scale, dout, OC, b, R, 0.0f,
                dh, R);
    if (db)
        gemm(1, 0, OC, R, N, scale, dout, OC, h, R,
                    1.0f, db, R);
    const float *x = inp;
    if (p > 0.0f) {
        lora_drop(xd, inp, (size_t)N * C, p, seed);
        x = xd;
    }
    if (da)
        gemm(1, 0, R, C, N, 1.0f, dh, R, x, C, 1.0f,
                    da, C);
    if (!dinp)
        return;
    if (p <= 0.0f) {
        gemm(0, 0, N, C, R, 1.0f, dh, R, a, C, 1.0f,
                    dinp, C);
        return;
    }
    gemm(0, 0, N, C, R, 1.0f, dh, R, a, C, 0.0f, xd,
                C);
    size_t n = (size_t)N * C;
    drop_apply(xd, xd, n, p, seed, 1.0f / (1.0f - p));
    for (size_t i = 0; i < n; i++)
        dinp[i] += xd[i];
}
