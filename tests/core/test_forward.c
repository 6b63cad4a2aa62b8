/* test_forward.c: the forward pass against a naive reference written here (double
 * precision, dequantized weights, LoRA merged into the weights), prefill against
 * step-by-step decode, on small random models built in memory: Llama-style (GQA,
 * normal RoPE, untied), Qwen2-style (q/k/v bias, NeoX RoPE, tied, theta 1e6, linear
 * RoPE scaling), every stored weight type, LoRA, and SmolLM2-135M's shape with 2 layers.
 * The stories260K golden tests are at the end. */
#include "core/forward.h"
#include "core/kernels.h"
#include "tests/test.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------------- */
/* random models                                                                       */

struct tm {
    struct core_model m;
    struct core_tensor *t; /* owned tensors */
    int nt;
    float **deq;           /* dequantized copy of each tensor, for the reference */
};

static uint64_t tm_rng = 1;
static float tm_rnd(void)
{
    tm_rng ^= tm_rng << 13;
    tm_rng ^= tm_rng >> 7;
    tm_rng ^= tm_rng << 17;
    return (float)((tm_rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

/* A tensor of (ne0, ne1) of type, random values around `center` with spread `amp`. */
static struct core_tensor *tm_tensor(struct tm *tm, const char *name, int type, int64_t ne0,
                                     int64_t ne1, float center, float amp)
{
    struct core_tensor *t = &tm->t[tm->nt];
    float **d = &tm->deq[tm->nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    size_t n = (size_t)(ne0 * ne1);
    *d = malloc(n * sizeof(float));
    t->nbytes = core_kernels_row_bytes(type, ne0) * (size_t)ne1;
    t->data = malloc(t->nbytes);
    if (type == CORE_TYPE_Q4_K || type == CORE_TYPE_Q6_K) {
        /* no quantizer for K types: random blocks with small scales */
        uint8_t *p = t->data;
        for (size_t i = 0; i < t->nbytes; i++)
            p[i] = (uint8_t)(tm_rnd() * 127 + 128);
        size_t bb = core_kernels_block_bytes(type);
        for (size_t off = 0; off < t->nbytes; off += bb) {
            uint16_t dd = core_kernels_f32_to_f16(amp * (type == CORE_TYPE_Q6_K ? 0.0008f : 0.02f));
            uint16_t dm = core_kernels_f32_to_f16(amp * 0.01f);
            if (type == CORE_TYPE_Q4_K) {
                memcpy(p + off, &dd, 2);
                memcpy(p + off + 2, &dm, 2);
            } else {
                memcpy(p + off + 208, &dd, 2);
            }
        }
    } else {
        for (size_t i = 0; i < n; i++)
            (*d)[i] = center + amp * tm_rnd();
        ASSERT_EQ_INT(core_kernels_quantize(type, *d, t->data, (int64_t)n), 0);
    }
    ASSERT_EQ_INT(core_kernels_dequant(type, t->data, *d, (int64_t)n), 0);
    return t;
}

static float *tm_deq(const struct tm *tm, const struct core_tensor *t)
{
    return t ? tm->deq[t - tm->t] : NULL;
}

static struct tm *tm_new(struct core_model_config cfg, int wtype, uint64_t seed)
{
    struct tm *tm = calloc(1, sizeof *tm);
    tm_rng = seed * 2654435761u + 12345;
    tm->t = calloc((size_t)cfg.n_layers * 12 + 3, sizeof *tm->t);
    tm->deq = calloc((size_t)cfg.n_layers * 12 + 3, sizeof *tm->deq);
    tm->m.cfg = cfg;
    int C = cfg.dim, QD = cfg.n_heads * cfg.head_dim, KVD = cfg.n_kv_heads * cfg.head_dim;
    float ac = 1.0f / sqrtf((float)C), af = 1.0f / sqrtf((float)cfg.ffn_dim);
    tm->m.tok_embd = tm_tensor(tm, "token_embd.weight", wtype, C, cfg.vocab_size, 0, 1.0f);
    tm->m.out_norm = tm_tensor(tm, "output_norm.weight", CORE_TYPE_F32, C, 1, 1.0f, 0.2f);
    tm->m.output = cfg.tied_output ? tm->m.tok_embd
                                   : tm_tensor(tm, "output.weight", wtype, C, cfg.vocab_size,
                                               0, ac * 2);
    tm->m.layers = calloc((size_t)cfg.n_layers, sizeof *tm->m.layers);
    for (int l = 0; l < cfg.n_layers; l++) {
        struct core_layer *ly = &tm->m.layers[l];
        ly->attn_norm = tm_tensor(tm, "attn_norm", CORE_TYPE_F32, C, 1, 1.0f, 0.2f);
        ly->wq = tm_tensor(tm, "attn_q", wtype, C, QD, 0, ac * 2);
        ly->wk = tm_tensor(tm, "attn_k", wtype, C, KVD, 0, ac * 2);
        ly->wv = tm_tensor(tm, "attn_v", wtype, C, KVD, 0, ac);
        ly->wo = tm_tensor(tm, "attn_output", wtype, QD, C, 0, ac);
        if (cfg.qkv_bias) {
            ly->bq = tm_tensor(tm, "attn_q.bias", CORE_TYPE_F32, QD, 1, 0, 0.5f);
            ly->bk = tm_tensor(tm, "attn_k.bias", CORE_TYPE_F32, KVD, 1, 0, 0.5f);
            ly->bv = tm_tensor(tm, "attn_v.bias", CORE_TYPE_F32, KVD, 1, 0, 0.1f);
        }
        ly->ffn_norm = tm_tensor(tm, "ffn_norm", CORE_TYPE_F32, C, 1, 1.0f, 0.2f);
        ly->w_gate = tm_tensor(tm, "ffn_gate", wtype, C, cfg.ffn_dim, 0, ac * 2);
        ly->w_up = tm_tensor(tm, "ffn_up", wtype, C, cfg.ffn_dim, 0, ac * 2);
        ly->w_down = tm_tensor(tm, "ffn_down", wtype, cfg.ffn_dim, C, 0, af);
    }
    tm->m.tensors = tm->t;
    tm->m.n_tensors = tm->nt;
    return tm;
}

static void tm_free(struct tm *tm)
{
    for (int i = 0; i < tm->nt; i++) {
        free(tm->t[i].data);
        free(tm->deq[i]);
    }
    free(tm->t);
    free(tm->deq);
    free(tm->m.layers);
    free(tm);
}

static struct core_model_config cfg_llama(void)
{
    return (struct core_model_config){
        .arch = CORE_ARCH_LLAMA, .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .head_dim = 16, .ffn_dim = 96, .vocab_size = 101, .ctx_len = 128, .rope_theta = 10000,
        .rope_scale = 1, .rope_mode = CORE_ROPE_NORM, .norm_eps = 1e-5f};
}

static struct core_model_config cfg_qwen(void)
{
    return (struct core_model_config){
        .arch = CORE_ARCH_QWEN2, .dim = 96, .n_layers = 2, .n_heads = 6, .n_kv_heads = 2,
        .head_dim = 16, .ffn_dim = 160, .vocab_size = 77, .ctx_len = 128, .rope_theta = 1e6f,
        .rope_scale = 2, .rope_mode = CORE_ROPE_NEOX, .norm_eps = 1e-6f, .tied_output = 1,
        .qkv_bias = 1};
}

/* ---------------------------------------------------------------------------------- */
/* the naive reference: whole sequence, double precision                               */

/* y (OC) = W (OC, IC) x + scale * B (A x), the adapter merged in the math */
static void ref_linear(double *y, const double *x, const float *w, int IC, int OC,
                       const float *bias, const struct core_lora_pair *lp)
{
    for (int o = 0; o < OC; o++) {
        double s = bias ? bias[o] : 0;
        for (int i = 0; i < IC; i++) {
            double wv = w[(size_t)o * IC + i];
            if (lp) {
                double d = 0;
                for (int r = 0; r < lp->r; r++)
                    d += (double)lp->b[(size_t)o * lp->r + r] * lp->a[(size_t)r * IC + i];
                wv += lp->scale * d;
            }
            s += wv * x[i];
        }
        y[o] = s;
    }
}

static void ref_rmsnorm(double *o, const double *x, const float *w, int C, double eps)
{
    double ss = 0;
    for (int i = 0; i < C; i++)
        ss += x[i] * x[i];
    ss = 1.0 / sqrt(ss / C + eps);
    for (int i = 0; i < C; i++)
        o[i] = w[i] * x[i] * ss;
}

static const float *ref_freq_factors; /* rope_freqs of the model under test, or NULL */

static void ref_rope(double *v, int nh, int HS, int pos, const struct core_model_config *c)
{
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < HS / 2; i++) {
            double ang = pos / (double)c->rope_scale * pow(c->rope_theta, -2.0 * i / HS);
            if (ref_freq_factors)
                ang /= ref_freq_factors[i];
            int a = c->rope_mode == CORE_ROPE_NEOX ? i : 2 * i;
            int b = c->rope_mode == CORE_ROPE_NEOX ? i + HS / 2 : 2 * i + 1;
            double x0 = v[h * HS + a], x1 = v[h * HS + b];
            v[h * HS + a] = x0 * cos(ang) - x1 * sin(ang);
            v[h * HS + b] = x0 * sin(ang) + x1 * cos(ang);
        }
}

/* logits (T, V) for tokens[0..T) from position 0 */
static void ref_forward(const struct tm *tm, const struct core_lora *lora, const int *tok,
                        int T, float *logits)
{
    const struct core_model_config *c = &tm->m.cfg;
    int C = c->dim, HS = c->head_dim, NH = c->n_heads, NKV = c->n_kv_heads, FF = c->ffn_dim;
    int QD = NH * HS, KVD = NKV * HS, V = c->vocab_size;
    double *x = calloc((size_t)T * C, 8), *xn = calloc(C > FF ? C : FF, 8);
    double *q = calloc((size_t)T * QD, 8), *k = calloc((size_t)T * KVD, 8);
    double *v = calloc((size_t)T * KVD, 8), *att = calloc(QD, 8), *tmp = calloc(C, 8);
    double *g = calloc(FF, 8), *u = calloc(FF, 8), *sc = calloc(T, 8);
    const float *emb = tm_deq(tm, tm->m.tok_embd);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < C; i++)
            x[(size_t)t * C + i] = emb[(size_t)tok[t] * C + i];
    for (int l = 0; l < c->n_layers; l++) {
        const struct core_layer *ly = &tm->m.layers[l];
        for (int t = 0; t < T; t++) {
            ref_rmsnorm(xn, x + (size_t)t * C, tm_deq(tm, ly->attn_norm), C, c->norm_eps);
            ref_linear(q + (size_t)t * QD, xn, tm_deq(tm, ly->wq), C, QD, tm_deq(tm, ly->bq),
                       core_lora_pair_at(lora, l, CORE_LORA_Q));
            ref_linear(k + (size_t)t * KVD, xn, tm_deq(tm, ly->wk), C, KVD, tm_deq(tm, ly->bk),
                       core_lora_pair_at(lora, l, CORE_LORA_K));
            ref_linear(v + (size_t)t * KVD, xn, tm_deq(tm, ly->wv), C, KVD, tm_deq(tm, ly->bv),
                       core_lora_pair_at(lora, l, CORE_LORA_V));
            ref_rope(q + (size_t)t * QD, NH, HS, t, c);
            ref_rope(k + (size_t)t * KVD, NKV, HS, t, c);
        }
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < NH; h++) {
                int kh = h / (NH / NKV);
                double mx = -1e300, sum = 0;
                for (int j = 0; j <= t; j++) {
                    double s = 0;
                    for (int d = 0; d < HS; d++)
                        s += q[(size_t)t * QD + h * HS + d] * k[(size_t)j * KVD + kh * HS + d];
                    sc[j] = s / sqrt(HS);
                    mx = sc[j] > mx ? sc[j] : mx;
                }
                for (int j = 0; j <= t; j++)
                    sum += (sc[j] = exp(sc[j] - mx));
                for (int d = 0; d < HS; d++) {
                    double o = 0;
                    for (int j = 0; j <= t; j++)
                        o += sc[j] / sum * v[(size_t)j * KVD + kh * HS + d];
                    att[h * HS + d] = o;
                }
            }
            ref_linear(tmp, att, tm_deq(tm, ly->wo), QD, C, NULL,
                       core_lora_pair_at(lora, l, CORE_LORA_O));
            for (int i = 0; i < C; i++)
                x[(size_t)t * C + i] += tmp[i];
        }
        for (int t = 0; t < T; t++) {
            ref_rmsnorm(xn, x + (size_t)t * C, tm_deq(tm, ly->ffn_norm), C, c->norm_eps);
            ref_linear(g, xn, tm_deq(tm, ly->w_gate), C, FF, NULL,
                       core_lora_pair_at(lora, l, CORE_LORA_GATE));
            ref_linear(u, xn, tm_deq(tm, ly->w_up), C, FF, NULL,
                       core_lora_pair_at(lora, l, CORE_LORA_UP));
            for (int i = 0; i < FF; i++)
                g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            ref_linear(tmp, g, tm_deq(tm, ly->w_down), FF, C, NULL,
                       core_lora_pair_at(lora, l, CORE_LORA_DOWN));
            for (int i = 0; i < C; i++)
                x[(size_t)t * C + i] += tmp[i];
        }
    }
    double *lg = calloc(V, 8);
    for (int t = 0; t < T; t++) {
        ref_rmsnorm(xn, x + (size_t)t * C, tm_deq(tm, tm->m.out_norm), C, c->norm_eps);
        ref_linear(lg, xn, tm_deq(tm, tm->m.output), C, V, NULL, NULL);
        for (int i = 0; i < V; i++)
            logits[(size_t)t * V + i] = (float)lg[i];
    }
    free(x), free(xn), free(q), free(k), free(v), free(att), free(tmp), free(g), free(u);
    free(sc), free(lg);
}

/* ---------------------------------------------------------------------------------- */
/* helpers                                                                             */

static void random_tokens(int *tok, int T, int V, uint64_t seed)
{
    tm_rng = seed + 99;
    for (int t = 0; t < T; t++)
        tok[t] = (int)((tm_rnd() + 1) * 0.5f * (V - 1));
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i]));
    return m;
}

/* Logits of every position by one prefill call and by T decode calls. */
static void run_both(const struct core_model *m, struct core_pool *pool,
                     const struct core_lora *lora, const int *tok, int T, float *pre, float *dec)
{
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, m, pool, T + 4, &err), &err);
    ASSERT_OK(core_forward_set_lora(f, lora, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, T, pre, 1, &err), &err);
    ASSERT_EQ_INT(core_forward_pos(f), T);
    core_forward_truncate(f, 0);
    int V = core_forward_vocab(f);
    for (int t = 0; t < T; t++)
        ASSERT_OK(core_forward_eval(f, tok + t, 1, dec + (size_t)t * V, 0, &err), &err);
    core_forward_free(f);
}

static void check_model(struct tm *tm, const struct core_lora *lora, int T, double tol,
                        struct core_pool *pool)
{
    int V = tm->m.cfg.vocab_size;
    int *tok = malloc(sizeof(int) * T);
    random_tokens(tok, T, V, (uint64_t)T);
    float *ref = malloc(sizeof(float) * T * V), *pre = malloc(sizeof(float) * T * V);
    float *dec = malloc(sizeof(float) * T * V);
    ref_forward(tm, lora, tok, T, ref);
    run_both(&tm->m, pool, lora, tok, T, pre, dec);
    double scale = 1 + max_abs(ref, (size_t)T * V);
    double dp = max_abs_diff(pre, ref, (size_t)T * V), dd = max_abs_diff(dec, ref, (size_t)T * V);
    if (dp > tol * scale || dd > tol * scale)
        test__fail(__FILE__, __LINE__, "prefill diff %g, decode diff %g, tol %g (max |logit| %g)",
                   dp, dd, tol * scale, scale - 1);
    free(tok), free(ref), free(pre), free(dec);
}

/* ---------------------------------------------------------------------------------- */
/* tests                                                                               */

/* Decode with Q8_0/Q4_0 weights takes the activation as int16 per block of 32
 * (core_kernels_xq): each dot is within 2e-5 of |w|.|x| (test_kernels), which over a
 * few layers is about 5e-5 of the logits' scale; the float paths stay at 2e-5. */
#define XQ_TOL 1e-4

TEST(forward_llama_matches_reference)
{
    struct tm *tm = tm_new(cfg_llama(), CORE_TYPE_F32, 1);
    check_model(tm, NULL, 24, 2e-5, NULL);
    tm_free(tm);
}

TEST(forward_qwen2_bias_neox_tied_matches_reference)
{
    struct tm *tm = tm_new(cfg_qwen(), CORE_TYPE_F32, 2);
    check_model(tm, NULL, 24, 2e-5, NULL);
    tm_free(tm);
}

TEST(forward_threads_match_reference)
{
    struct core_pool *pool;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&pool, 3, &err), &err);
    struct tm *tm = tm_new(cfg_qwen(), CORE_TYPE_F32, 3);
    check_model(tm, NULL, 17, 2e-5, pool);
    tm_free(tm);
    tm = tm_new(cfg_llama(), CORE_TYPE_Q8_0, 4);
    check_model(tm, NULL, 9, XQ_TOL, pool);
    tm_free(tm);
    core_pool_free(pool);
}

static void check_type(int type)
{
    double tol = type == CORE_TYPE_Q8_0 || type == CORE_TYPE_Q4_0 ? XQ_TOL : 2e-5;
    struct core_model_config c = cfg_llama();
    c.dim = 256;
    c.n_heads = 8;
    c.n_kv_heads = 4;
    c.head_dim = 32;
    c.ffn_dim = 512;
    struct tm *tm = tm_new(c, type, 5);
    for (int isa = CORE_KERNELS_PORTABLE; isa <= CORE_KERNELS_AVX512; isa++) {
        if (core_kernels_set_isa(isa) != 0)
            continue;
        check_model(tm, NULL, 10, tol, NULL);
    }
    core_kernels_set_isa(CORE_KERNELS_AUTO);
    /* two and three tokens at a time take the matvec path for quantized weights */
    int tok[7], V = c.vocab_size;
    random_tokens(tok, 7, V, 7);
    float ref[7 * 101], got[7 * 101];
    ref_forward(tm, NULL, tok, 7, ref);
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 0, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, 2, got, 1, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok + 2, 3, got + 2 * V, 1, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok + 5, 2, got + 5 * V, 1, &err), &err);
    ASSERT(max_abs_diff(got, ref, 7 * V) < tol * (1 + max_abs(ref, 7 * V)));
    core_forward_free(f);
    tm_free(tm);
}

TEST(forward_f16_weights) { check_type(CORE_TYPE_F16); }
TEST(forward_bf16_weights) { check_type(CORE_TYPE_BF16); }
TEST(forward_q8_0_weights) { check_type(CORE_TYPE_Q8_0); }
TEST(forward_q4_0_weights) { check_type(CORE_TYPE_Q4_0); }
TEST(forward_q4_k_weights) { check_type(CORE_TYPE_Q4_K); }
TEST(forward_q6_k_weights) { check_type(CORE_TYPE_Q6_K); }

/* An adapter on every target, applied beside the weights, equals the merged weights of
 * the reference; dropping it gives the base logits back. */
TEST(forward_lora_matches_merged_reference)
{
    struct tm *tm = tm_new(cfg_qwen(), CORE_TYPE_Q8_0, 6);
    const struct core_model_config *c = &tm->m.cfg;
    int QD = c->n_heads * c->head_dim, KVD = c->n_kv_heads * c->head_dim;
    const int cin[7] = {c->dim, c->dim, c->dim, QD, c->dim, c->dim, c->ffn_dim};
    const int cout[7] = {QD, KVD, KVD, c->dim, c->ffn_dim, c->ffn_dim, c->dim};
    struct core_lora lora = {.n_layers = c->n_layers, .rank = 4, .alpha = 8, .targets = 0x7f};
    lora.pairs = calloc((size_t)c->n_layers * CORE_LORA_NTARGETS, sizeof *lora.pairs);
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CORE_LORA_NTARGETS; t++) {
            if (l == 1 && t == CORE_LORA_K)
                continue; /* a hole: not every pair must be adapted */
            struct core_lora_pair *p = &lora.pairs[l * CORE_LORA_NTARGETS + t];
            p->r = t == CORE_LORA_DOWN ? 2 : 4;
            p->c_in = cin[t];
            p->c_out = cout[t];
            p->scale = 8.0f / p->r;
            p->a = malloc(sizeof(float) * p->r * p->c_in);
            p->b = malloc(sizeof(float) * p->r * p->c_out);
            for (int i = 0; i < p->r * p->c_in; i++)
                p->a[i] = 0.05f * tm_rnd();
            for (int i = 0; i < p->r * p->c_out; i++)
                p->b[i] = 0.05f * tm_rnd();
        }
    check_model(tm, &lora, 12, XQ_TOL, NULL);

    int tok[5] = {3, 1, 4, 1, 5}, V = c->vocab_size;
    float base[5 * 77], with[5 * 77], ref[5 * 77];
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 16, &err), &err);
    ASSERT_OK(core_forward_set_lora(f, &lora, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, 5, with, 1, &err), &err);
    core_forward_truncate(f, 0);
    ASSERT_OK(core_forward_set_lora(f, NULL, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, 5, base, 1, &err), &err);
    ref_forward(tm, NULL, tok, 5, ref);
    ASSERT(max_abs_diff(base, ref, 5 * V) < 2e-5 * (1 + max_abs(ref, 5 * V)));
    ASSERT(max_abs_diff(base, with, 5 * V) > 1e-3); /* the adapter changes something */

    /* a wrong shape is refused by name */
    lora.pairs[CORE_LORA_O].c_in = 5;
    ASSERT_EQ_INT(core_forward_set_lora(f, &lora, &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "layer 0 o") != NULL);
    core_forward_free(f);
    for (int i = 0; i < c->n_layers * CORE_LORA_NTARGETS; i++) {
        free(lora.pairs[i].a);
        free(lora.pairs[i].b);
    }
    free(lora.pairs);
    tm_free(tm);
}

/* Llama 3.1's per-frequency RoPE factors divide the frequencies. */
TEST(forward_rope_freq_factors)
{
    struct tm *tm = tm_new(cfg_llama(), CORE_TYPE_F32, 13);
    struct core_tensor *rf = tm_tensor(tm, "rope_freqs.weight", CORE_TYPE_F32, 8, 1, 2.5f, 1.5f);
    tm->m.rope_freqs = rf;
    ref_freq_factors = tm_deq(tm, rf);
    check_model(tm, NULL, 20, 2e-5, NULL);
    /* and they matter: without them the reference differs */
    int tok[8];
    random_tokens(tok, 8, 101, 1);
    float a[8 * 101], b[8 * 101];
    ref_forward(tm, NULL, tok, 8, a);
    ref_freq_factors = NULL;
    ref_forward(tm, NULL, tok, 8, b);
    ASSERT(max_abs_diff(a, b, 8 * 101) > 1e-3);
    tm_free(tm);
}

/* A prompt longer than one batch (512) is split into chunks; later calls continue. */
TEST(forward_long_prompt_in_chunks)
{
    struct core_model_config c = cfg_llama();
    c.dim = 32;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.ffn_dim = 48;
    c.n_layers = 1;
    c.ctx_len = 1024;
    struct tm *tm = tm_new(c, CORE_TYPE_F32, 8);
    enum { T = 530 };
    int *tok = malloc(sizeof(int) * T);
    random_tokens(tok, T, c.vocab_size, 3);
    float *ref = malloc(sizeof(float) * T * 101), *got = malloc(sizeof(float) * T * 101);
    ref_forward(tm, NULL, tok, T, ref);
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 600, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, T - 10, got, 1, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok + T - 10, 10, got + (T - 10) * 101, 1, &err), &err);
    ASSERT(max_abs_diff(got, ref, (size_t)T * 101) < 2e-5 * (1 + max_abs(ref, (size_t)T * 101)));
    /* only-last logits equal the last row */
    float last[101];
    core_forward_truncate(f, 0);
    ASSERT_OK(core_forward_eval(f, tok, T, last, 0, &err), &err);
    ASSERT(max_abs_diff(last, ref + (T - 1) * 101, 101) < 2e-4);
    core_forward_free(f);
    free(tok), free(ref), free(got);
    tm_free(tm);
}

TEST(forward_refuses_overflow_and_bad_tokens)
{
    struct tm *tm = tm_new(cfg_llama(), CORE_TYPE_F32, 9);
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 8, &err), &err);
    ASSERT_EQ_INT(core_forward_ctx(f), 8);
    int tok[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ASSERT_EQ_INT(core_forward_eval(f, tok, 9, NULL, 0, &err), BZ_ERANGE);
    ASSERT_EQ_INT(core_forward_pos(f), 0);
    int bad = 101;
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_forward_eval(f, &bad, 1, NULL, 0, &err), BZ_EINVAL);
    ASSERT_OK(core_forward_eval(f, tok, 8, NULL, 0, &err), &err);
    ASSERT_EQ_INT(core_forward_eval(f, tok, 1, NULL, 0, &err), BZ_ERANGE);
    struct core_forward_stats st;
    core_forward_stats(f, &st);
    ASSERT_EQ_INT(st.prefill_tokens, 8);
    core_forward_free(f);
    /* a tensor of the wrong shape is refused by name */
    tm->m.layers[1].wk->ne[1] = 31;
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_forward_new(&f, &tm->m, NULL, 8, &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "attn_k") != NULL);
    tm->m.layers[1].wk->ne[1] = 32;
    tm->m.layers[0].w_up->type = CORE_TYPE_Q5_K;
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_forward_new(&f, &tm->m, NULL, 8, &err), BZ_EUNSUPPORTED);
    tm->m.layers[0].w_up->type = CORE_TYPE_F32;
    tm_free(tm);
}

/* SmolLM2-135M's shape (vocab 49152, dim 576, 9 heads, 3 KV heads, FFN 1536, tied) with
 * 2 of its 30 layers, Q8_0: prefill and step-by-step decode agree. */
TEST(forward_smollm2_shape_prefill_equals_decode)
{
    struct core_model_config c = {
        .arch = CORE_ARCH_LLAMA, .dim = 576, .n_layers = 2, .n_heads = 9, .n_kv_heads = 3,
        .head_dim = 64, .ffn_dim = 1536, .vocab_size = 49152, .ctx_len = 8192,
        .rope_theta = 100000, .rope_scale = 1, .rope_mode = CORE_ROPE_NEOX, .norm_eps = 1e-5f,
        .tied_output = 1};
    struct tm *tm = tm_new(c, CORE_TYPE_Q8_0, 10);
    enum { T = 6 };
    int tok[T];
    random_tokens(tok, T, c.vocab_size, 11);
    float *pre = malloc(sizeof(float) * T * 49152), *dec = malloc(sizeof(float) * T * 49152);
    struct core_pool *pool;
    struct bz_err err = {0};
    ASSERT_OK(core_pool_new(&pool, 2, &err), &err);
    run_both(&tm->m, pool, NULL, tok, T, pre, dec);
    double d = max_abs_diff(pre, dec, (size_t)T * 49152), s = max_abs(pre, (size_t)T * 49152);
    if (d > 5e-5 * (1 + s)) /* decode uses int16 activations for Q8_0 (see XQ_TOL) */
        test__fail(__FILE__, __LINE__, "prefill vs decode: %g (max |logit| %g)", d, s);
    core_pool_free(pool);
    free(pre), free(dec);
    tm_free(tm);
}

/* ---------------------------------------------------------------------------------- */
/* golden outputs of stories260K (llama2.c run.c)                                      */

static int read_ids(const char *path, int *ids, int max)
{
    FILE *fp = fopen(path, "r");
    ASSERT(fp != NULL);
    int n = 0;
    while (n < max && fscanf(fp, "%d", &ids[n]) == 1)
        n++;
    fclose(fp);
    return n;
}

static struct core_model *open_model(const char *rel)
{
    const char *path = test_data(rel);
    struct core_model *m;
    struct bz_err err = {0};
    ASSERT_OK(core_model_open(&m, path, &err), &err);
    return m;
}

static void check_greedy_200(const char *rel)
{
    int ref[200];
    ASSERT_EQ_INT(read_ids(test_data("models/reference/stories260K_greedy_bos_200.ids"), ref, 200),
                  200);
    struct core_model *m = open_model(rel);
    struct bz_err err = {0};
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, m, NULL, 0, &err), &err);
    int V = core_forward_vocab(f), tok = 1;
    float *logits = malloc(sizeof(float) * V);
    for (int i = 0; i < 200; i++) {
        ASSERT_OK(core_forward_eval(f, &tok, 1, logits, 0, &err), &err);
        int best = 0;
        for (int v = 1; v < V; v++)
            if (logits[v] > logits[best])
                best = v;
        if (best != ref[i])
            test__fail(__FILE__, __LINE__, "%s: greedy step %d gave %d, reference %d", rel, i,
                       best, ref[i]);
        tok = best;
    }
    free(logits);
    core_forward_free(f);
    core_model_free(m);
}

TEST(forward_stories260k_greedy_200_gguf) { check_greedy_200("models/stories260K.gguf"); }
TEST(forward_stories260k_greedy_200_llama2c) { check_greedy_200("models/llama2c/stories260K.bin"); }

/* The first 16 logits rows of the greedy run, by decode and by one prefill, within 1e-4. */
TEST(forward_stories260k_logits16)
{
    int ids[200];
    read_ids(test_data("models/reference/stories260K_greedy_bos_200.ids"), ids, 200);
    const char *lp = test_data("models/reference/stories260K_greedy_bos_logits16.f32");
    char *raw;
    size_t n;
    struct bz_err err = {0};
    ASSERT_OK(bz_read_file(lp, &raw, &n, &err), &err);
    ASSERT_EQ_INT(n, 16 * 512 * 4);
    float ref[16 * 512];
    memcpy(ref, raw, sizeof ref);
    free(raw);
    struct core_model *m = open_model("models/stories260K.gguf");
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, m, NULL, 0, &err), &err);
    ASSERT_EQ_INT(core_forward_vocab(f), 512);
    int tok[16] = {1};
    memcpy(tok + 1, ids, 15 * sizeof(int));
    static float dec[16 * 512], pre[16 * 512];
    for (int t = 0; t < 16; t++)
        ASSERT_OK(core_forward_eval(f, &tok[t], 1, dec + t * 512, 0, &err), &err);
    core_forward_truncate(f, 0);
    ASSERT_OK(core_forward_eval(f, tok, 16, pre, 1, &err), &err);
    for (int i = 0; i < 16 * 512; i++) {
        if (fabsf(dec[i] - ref[i]) > 1e-4f || fabsf(pre[i] - ref[i]) > 1e-4f)
            test__fail(__FILE__, __LINE__, "position %d token %d: decode %.7g prefill %.7g, "
                       "reference %.7g", i / 512, i % 512, dec[i], pre[i], ref[i]);
    }
    core_forward_free(f);
    core_model_free(m);
}

/* The adapter applied beside the weights (core/forward.c) equals the same adapter
 * merged into them by core_lora_merge (core/lora.c, the training side). */
TEST(forward_lora_equals_core_lora_merge)
{
    struct tm *tm = tm_new(cfg_llama(), CORE_TYPE_F32, 12);
    struct core_lora lora;
    struct bz_err err = {0};
    ASSERT_OK(core_lora_init(&lora, &tm->m, (1u << CORE_LORA_NTARGETS) - 1, 4, 8, 0, &err),
              &err);
    for (int i = 0; i < tm->m.cfg.n_layers * CORE_LORA_NTARGETS; i++) {
        struct core_lora_pair *p = &lora.pairs[i];
        for (int k = 0; k < p->r * p->c_in; k++)
            p->a[k] = 0.1f * tm_rnd();
        for (int k = 0; k < p->r * p->c_out; k++)
            p->b[k] = 0.1f * tm_rnd();
    }
    enum { T = 9 };
    int tok[T];
    random_tokens(tok, T, 101, 5);
    float side[T * 101], merged[T * 101], base[T * 101];
    struct core_forward *f;
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 16, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, T, base, 1, &err), &err);
    core_forward_truncate(f, 0);
    ASSERT_OK(core_forward_set_lora(f, &lora, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, T, side, 1, &err), &err);
    core_forward_free(f);
    ASSERT_OK(core_lora_merge(&tm->m, &lora, &err), &err);
    ASSERT_OK(core_forward_new(&f, &tm->m, NULL, 16, &err), &err);
    ASSERT_OK(core_forward_eval(f, tok, T, merged, 1, &err), &err);
    core_forward_free(f);
    double d = max_abs_diff(side, merged, T * 101), s = max_abs(merged, T * 101);
    if (d > 1e-5 * (1 + s))
        test__fail(__FILE__, __LINE__, "beside vs merged: %g (max |logit| %g)", d, s);
    ASSERT(max_abs_diff(side, base, T * 101) > 1e-2);
    core_lora_cleanup(&lora);
    tm_free(tm);
}
