/*
 * bench_forward.c: how fast the forward pass is against what this machine can do.
 * Measures the sgemm peak (OpenBLAS, 3072^3, best of 6, as many threads as the pool) and the memory bandwidth (a streaming read over the pool), then for a random
 * model with SmolLM2-135M's shape (vocab 49152, dim 576, 30 layers, 9/3 heads, FFN
 * 1536, tied) in F32, Q8_0 and Q4_0: prefill tokens/s on a 512-token prompt (GFLOP/s
 * against the sgemm peak) and decode tokens/s over 128 tokens (weight bytes/s against
 * the bandwidth). Prints figures only; it never fails on speed.
 *
 *   bench_forward [--threads N] [--layers L] [--types f32,q8_0,q4_0]
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static uint64_t rng = 0x1234567;
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

/* ---------------------------------------------------------------- machine limits */

static double sgemm_peak(int threads)
{
    int n = 3072;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
    float *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        a[i] = rnd(), b[i] = rnd();
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int r = 0; r < 6; r++) {
        double t0 = bz_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 2.0 * n * n * n / (bz_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    openblas_set_num_threads(1);
    free(a), free(b), free(c);
    return best;
}

struct bw_ctx {
    const float *p;
    const float *ones; /* (4096) */
    double sum[256];
};

/* A streaming read with the same F32 dot kernel decode uses (AVX-512/AVX2 loads): the
 * x operand (4096 floats) stays in L1, the buffer streams from memory. */
static void bw_fn(void *vctx, int64_t b, int64_t e, int tid)
{
    struct bw_ctx *c = vctx;
    double s = 0;
    for (int64_t i = b; i < e; i += 4096)
        s += core_kernels_dot(CORE_TYPE_F32, c->p + i, c->ones, BZ_MIN(4096, e - i));
    c->sum[tid] += s;
}

static double bandwidth(struct core_pool *pool)
{
    size_t n = (size_t)256 << 20; /* 1 GiB of floats */
    float *p = malloc(n * sizeof(float)), ones[4096];
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(i & 7);
    for (int i = 0; i < 4096; i++)
        ones[i] = 1;
    struct bw_ctx c = {.p = p, .ones = ones};
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = bz_now();
        core_pool_split(pool, (int64_t)n, 4096, bw_fn, &c);
        double g = n * sizeof(float) / (bz_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    if (c.sum[0] == 12345.0)
        printf("(unlikely)\n");
    free(p);
    return best;
}

/* ---------------------------------------------------------------- the model */

struct bmodel {
    struct core_model m;
    struct core_tensor t[30 * 9 + 3];
    int nt;
    size_t weight_bytes; /* bytes a decode step reads: layers + output */
};

static struct core_tensor *bt(struct bmodel *bm, int type, int64_t ne0, int64_t ne1, float c,
                              float amp)
{
    struct core_tensor *t = &bm->t[bm->nt++];
    t->type = ne1 > 1 ? type : CORE_TYPE_F32;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    snprintf(t->name, sizeof t->name, "t%d", bm->nt);
    size_t n = (size_t)(ne0 * ne1);
    float *f = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        f[i] = c + amp * rnd();
    t->nbytes = core_kernels_row_bytes(t->type, ne0) * (size_t)ne1;
    t->data = malloc(t->nbytes);
    core_kernels_quantize(t->type, f, t->data, (int64_t)n);
    free(f);
    return t;
}

static void bmodel_init(struct bmodel *bm, int type, int layers)
{
    memset(bm, 0, sizeof *bm);
    struct core_model_config c = {
        .arch = CORE_ARCH_LLAMA, .dim = 576, .n_layers = layers, .n_heads = 9,
        .n_kv_heads = 3, .head_dim = 64, .ffn_dim = 1536, .vocab_size = 49152,
        .ctx_len = 8192, .rope_theta = 100000, .rope_scale = 1, .rope_mode = CORE_ROPE_NEOX,
        .norm_eps = 1e-5f, .tied_output = 1};
    bm->m.cfg = c;
    float a = 1.0f / sqrtf(576.0f);
    bm->m.tok_embd = bt(bm, type, 576, 49152, 0, 1);
    bm->m.output = bm->m.tok_embd;
    bm->m.out_norm = bt(bm, type, 576, 1, 1, 0.1f);
    bm->weight_bytes = bm->m.output->nbytes;
    bm->m.layers = calloc((size_t)layers, sizeof *bm->m.layers);
    for (int l = 0; l < layers; l++) {
        struct core_layer *ly = &bm->m.layers[l];
        ly->attn_norm = bt(bm, type, 576, 1, 1, 0.1f);
        ly->ffn_norm = bt(bm, type, 576, 1, 1, 0.1f);
        ly->wq = bt(bm, type, 576, 576, 0, a);
        ly->wk = bt(bm, type, 576, 192, 0, a);
        ly->wv = bt(bm, type, 576, 192, 0, a);
        ly->wo = bt(bm, type, 576, 576, 0, a);
        ly->w_gate = bt(bm, type, 576, 1536, 0, a);
        ly->w_up = bt(bm, type, 576, 1536, 0, a);
        ly->w_down = bt(bm, type, 1536, 576, 0, 1.0f / sqrtf(1536.0f));
        bm->weight_bytes += ly->wq->nbytes + ly->wk->nbytes + ly->wv->nbytes + ly->wo->nbytes +
                            ly->w_gate->nbytes + ly->w_up->nbytes + ly->w_down->nbytes;
    }
    bm->m.tensors = bm->t;
    bm->m.n_tensors = bm->nt;
}

static void bmodel_free(struct bmodel *bm)
{
    for (int i = 0; i < bm->nt; i++)
        free(bm->t[i].data);
    free(bm->m.layers);
}

/* FLOPs of a prefill of T tokens (matmuls + attention), logits of the last token only. */
static double prefill_flops(const struct core_model_config *c, int T)
{
    double per_tok = 0;
    double C = c->dim, QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    per_tok += 2 * C * (QD + 2 * KVD) + 2 * QD * C + 2 * 3 * C * c->ffn_dim;
    double att = 0;
    for (int t = 0; t < T; t++)
        att += 4.0 * c->n_heads * c->head_dim * (t + 1);
    return c->n_layers * (per_tok * T + att) + 2.0 * C * c->vocab_size;
}

int main(int argc, char **argv)
{
    int threads = 0, layers = 30;
    const char *types = "f32,q8_0,q4_0";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc)
            layers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else {
            fprintf(stderr, "usage: bench_forward [--threads N] [--layers L] [--types LIST]\n");
            return 2;
        }
    }
    struct bz_err err = {0};
    struct core_pool *pool;
    if (core_pool_new(&pool, threads, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int nt = core_pool_threads(pool);
    printf("threads %d, kernels %s\n", nt, core_kernels_isa_name(core_kernels_isa()));
    double peak1 = sgemm_peak(1), peak = nt > 1 ? sgemm_peak(nt) : peak1;
    double bw = bandwidth(pool);
    printf("sgemm peak (OpenBLAS, 3072^3, best of 6): %.1f GFLOP/s on %d threads (%.1f on 1)\n",
           peak, nt,
           peak1);
    printf("memory bandwidth (streaming read of 1 GiB by the F32 dot kernel, best of 5): "
           "%.2f GB/s\n", bw);

    enum { TP = 512, TG = 128 };
    int *prompt = malloc(sizeof(int) * TP);
    for (int i = 0; i < TP; i++)
        prompt[i] = (int)((rnd() + 1) * 24000);
    float *logits = malloc(sizeof(float) * 49152);
    char list[64];
    snprintf(list, sizeof list, "%s", types);
    for (char *save = NULL, *name = strtok_r(list, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        int type = !strcmp(name, "f32") ? CORE_TYPE_F32 : !strcmp(name, "q8_0") ? CORE_TYPE_Q8_0
                   : !strcmp(name, "q4_0") ? CORE_TYPE_Q4_0 : !strcmp(name, "f16") ? CORE_TYPE_F16
                                                                                  : -1;
        if (type < 0) {
            fprintf(stderr, "unknown type %s\n", name);
            return 2;
        }
        struct bmodel *bm = calloc(1, sizeof *bm);
        bmodel_init(bm, type, layers);
        struct core_forward *f;
        if (core_forward_new(&f, &bm->m, pool, TP + TG + 8, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        /* warm up, then the best of 2 prefills */
        core_forward_eval(f, prompt, 32, NULL, 0, &err);
        double best_pp = 1e30;
        for (int r = 0; r < 2; r++) {
            core_forward_truncate(f, 0);
            double t0 = bz_now();
            if (core_forward_eval(f, prompt, TP, logits, 0, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double dt = bz_now() - t0;
            best_pp = dt < best_pp ? dt : best_pp;
        }
        /* decode 128 tokens from an empty cache (as llama-bench tg128) */
        core_forward_truncate(f, 0);
        int tok = prompt[0];
        double t0 = bz_now();
        for (int i = 0; i < TG; i++) {
            core_forward_eval(f, &tok, 1, logits, 0, &err);
            int best = 0;
            for (int v = 1; v < 49152; v++)
                if (logits[v] > logits[best])
                    best = v;
            tok = best;
        }
        double tg = bz_now() - t0;
        double gflops = prefill_flops(&bm->m.cfg, TP) / best_pp / 1e9;
        double tps = TG / tg, bps = bm->weight_bytes * tps / 1e9;
        printf("%-5s %3d layers  weights %6.1f MB | prefill %4d tok: %7.1f tok/s %6.1f GFLOP/s "
               "= %3.0f%% of sgemm peak | decode %d tok: %6.1f tok/s %6.2f GB/s = %3.0f%% of "
               "bandwidth\n",
               name, layers, bm->weight_bytes / 1e6, TP, TP / best_pp, gflops,
               100 * gflops / peak, TG, tps, bps, 100 * bps / bw);
        fflush(stdout);
        core_forward_free(f);
        bmodel_free(bm);
        free(bm);
    }
    free(prompt);
    free(logits);
    core_pool_free(pool);
    return 0;
}
