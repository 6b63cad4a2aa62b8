/*
 * forward.c: the Llama-family forward pass for inference, prefill and decode.
 *
 * Key idea: every projection is one "linear job" over the output rows of up to three
 * weights that share an input (q/k/v, gate/up), split over the pool. A job runs either
 * as matvecs through the fused kernels (one or few tokens) or as cblas_sgemm on F32
 * rows (quantized rows are first dequantized into the thread's scratch by tiles).
 * Bias and LoRA are added after the job, beside the frozen weight. Attention is one
 * job over (head, block of query rows) pairs reading the F32 KV cache through sgemm.
 *
 * Left out: fused attention kernels; the elementwise steps run on the calling thread
 * (they are a few percent of the time at these shapes).
 */
#include "core/forward.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/kernels.h"

#define FW_MAX_BATCH 512
#define FW_TILE_FLOATS (256 * 1024)
#define FW_ATT_ROWS 64
#define FW_MIN_WORK (64 * 1024)
#define FW_MIN_LIN (8 * 1024)
#define FW_XQ_TOKENS 4 /* matvec mode runs for fewer tokens than this */

struct fw_layer {
    float *attn_norm, *ffn_norm; /* (C) */
    float *bq, *bk, *bv;         /* (QD) (KVD) (KVD) or NULL */
};

struct core_forward {
    const struct core_model *m;
    struct core_pool *pool;
    const struct core_lora *lora;
    int C, NH, NKV, HS, FF, V, L, QD, KVD;
    int n_ctx, pos, nb, n_threads, tile_rows;
    float eps;
    const struct core_tensor *output;
    float *small;              /* owns norms and biases as F32 */
    struct fw_layer *lw;       /* [L] */
    float *out_norm;           /* (C) */
    float *rope_cos, *rope_sin; /* (n_ctx, HS/2) */
    float *k_cache, *v_cache;  /* (L, n_ctx, KVD) */
    float *x, *xn, *tmp;       /* (nb, C) */
    float *q, *att;            /* (nb, QD) */
    float *k, *v;              /* (nb, KVD) */
    float *g, *u;              /* (nb, FF) */
    float *lora_h;             /* (nb, R max) */
    int16_t *xq16;             /* (FW_XQ_TOKENS, max in): int16 activations for decode */
    float *xqd;                /* (FW_XQ_TOKENS, max in / 32) their block scales */
    int lora_r;
    float *scratch;            /* [n_threads][scratch_per] */
    size_t scratch_per;
    struct core_forward_stats st;
};

/* ---------------------------------------------------------------------------------- */
/* setup                                                                               */

static int fw_check_tensor(const struct core_tensor *t, const char *what, int64_t ne0,
                           int64_t ne1, struct bz_err *err)
{
    if (!t)
        return bz_errf(err, BZ_EFORMAT, "model has no %s tensor", what);
    if (!core_kernels_type_ok(t->type))
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: tensor type %d has no kernel", t->name, t->type);
    int64_t n1 = t->n_dims > 1 ? t->ne[1] : 1;
    if (t->ne[0] != ne0 || n1 != ne1)
        return bz_errf(err, BZ_EFORMAT, "%s: shape (%lld, %lld), expected (%lld, %lld)", t->name,
                       (long long)t->ne[0], (long long)n1, (long long)ne0, (long long)ne1);
    if (ne0 % core_kernels_block_elems(t->type) != 0)
        return bz_errf(err, BZ_EFORMAT, "%s: row of %lld is not whole blocks", t->name,
                       (long long)ne0);
    if (!t->data)
        return bz_errf(err, BZ_EFORMAT, "%s: no data", t->name);
    return 0;
}

/* Copy a small vector tensor (norm, bias) of n elements into dst as F32. */
static int fw_small(float *dst, const struct core_tensor *t, const char *what, int64_t n,
                    struct bz_err *err)
{
    int rc = fw_check_tensor(t, what, n, 1, err);
    if (rc)
        return rc;
    return core_kernels_dequant(t->type, t->data, dst, n);
}

static void *fw_alloc(size_t nfloats, int *fail)
{
    if (*fail)
        return NULL;
    float *p = calloc(nfloats ? nfloats : 1, sizeof(float));
    if (!p)
        *fail = 1;
    return p;
}

/* core_forward_new: see forward.h. */
int core_forward_new(struct core_forward **out, const struct core_model *m,
                     struct core_pool *pool, int n_ctx, struct bz_err *err)
{
    *out = NULL;
    const struct core_model_config *c = &m->cfg;
    if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->head_dim <= 0 || c->head_dim % 2 || c->ffn_dim <= 0 || c->vocab_size <= 0 ||
        c->n_heads % c->n_kv_heads)
        return bz_errf(err, BZ_EFORMAT,
                       "model shape not usable (dim %d, layers %d, heads %d/%d, head %d, ffn %d, "
                       "vocab %d)", c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
                       c->ffn_dim, c->vocab_size);
    if (n_ctx <= 0)
        n_ctx = c->ctx_len > 0 ? BZ_MIN(c->ctx_len, 4096) : 2048;
    struct core_forward *f = bz_calloc(1, sizeof *f);
    f->m = m;
    f->pool = pool;
    f->C = c->dim;
    f->NH = c->n_heads;
    f->NKV = c->n_kv_heads;
    f->HS = c->head_dim;
    f->FF = c->ffn_dim;
    f->V = c->vocab_size;
    f->L = c->n_layers;
    f->QD = f->NH * f->HS;
    f->KVD = f->NKV * f->HS;
    f->n_ctx = n_ctx;
    f->nb = BZ_MIN(FW_MAX_BATCH, n_ctx);
    f->eps = c->norm_eps > 0 ? c->norm_eps : 1e-5f;
    f->n_threads = core_pool_threads(pool);
    f->output = m->output ? m->output : m->tok_embd;
    int rc = 0;
    rc = rc ? rc : fw_check_tensor(m->tok_embd, "token_embd", f->C, f->V, err);
    rc = rc ? rc : fw_check_tensor(f->output, "output", f->C, f->V, err);
    for (int l = 0; l < f->L && !rc; l++) {
        const struct core_layer *ly = &m->layers[l];
        rc = rc ? rc : fw_check_tensor(ly->wq, "attn_q", f->C, f->QD, err);
        rc = rc ? rc : fw_check_tensor(ly->wk, "attn_k", f->C, f->KVD, err);
        rc = rc ? rc : fw_check_tensor(ly->wv, "attn_v", f->C, f->KVD, err);
        rc = rc ? rc : fw_check_tensor(ly->wo, "attn_output", f->QD, f->C, err);
        rc = rc ? rc : fw_check_tensor(ly->w_gate, "ffn_gate", f->C, f->FF, err);
        rc = rc ? rc : fw_check_tensor(ly->w_up, "ffn_up", f->C, f->FF, err);
        rc = rc ? rc : fw_check_tensor(ly->w_down, "ffn_down", f->FF, f->C, err);
    }
    if (rc) {
        free(f);
        return rc;
    }
    size_t per_layer = 2 * (size_t)f->C + (c->qkv_bias ? (size_t)f->QD + 2 * (size_t)f->KVD : 0);
    f->small = bz_calloc((size_t)f->L * per_layer + (size_t)f->C, sizeof(float));
    f->lw = bz_calloc((size_t)f->L, sizeof *f->lw);
    float *p = f->small;
    for (int l = 0; l < f->L && !rc; l++) {
        const struct core_layer *ly = &m->layers[l];
        struct fw_layer *w = &f->lw[l];
        w->attn_norm = p, p += f->C;
        w->ffn_norm = p, p += f->C;
        rc = rc ? rc : fw_small(w->attn_norm, ly->attn_norm, "attn_norm", f->C, err);
        rc = rc ? rc : fw_small(w->ffn_norm, ly->ffn_norm, "ffn_norm", f->C, err);
        if (c->qkv_bias) {
            w->bq = p, p += f->QD;
            w->bk = p, p += f->KVD;
            w->bv = p, p += f->KVD;
            rc = rc ? rc : fw_small(w->bq, ly->bq, "attn_q.bias", f->QD, err);
            rc = rc ? rc : fw_small(w->bk, ly->bk, "attn_k.bias", f->KVD, err);
            rc = rc ? rc : fw_small(w->bv, ly->bv, "attn_v.bias", f->KVD, err);
        }
    }
    f->out_norm = p;
    rc = rc ? rc : fw_small(f->out_norm, m->out_norm, "output_norm", f->C, err);
    if (rc) {
        core_forward_free(f);
        return rc;
    }

    int max_in = BZ_MAX(BZ_MAX(f->C, f->QD), f->FF);
    f->tile_rows = BZ_MAX(16, FW_TILE_FLOATS / max_in / 16 * 16);
    f->scratch_per = BZ_MAX((size_t)f->tile_rows * max_in, (size_t)FW_ATT_ROWS * n_ctx) + 16;
    int fail = 0;
    size_t cache = (size_t)f->L * n_ctx * f->KVD;
    f->k_cache = fw_alloc(cache, &fail);
    f->v_cache = fw_alloc(cache, &fail);
    f->rope_cos = fw_alloc((size_t)n_ctx * f->HS / 2, &fail);
    f->rope_sin = fw_alloc((size_t)n_ctx * f->HS / 2, &fail);
    f->x = fw_alloc((size_t)f->nb * f->C, &fail);
    f->xn = fw_alloc((size_t)f->nb * f->C, &fail);
    f->tmp = fw_alloc((size_t)f->nb * f->C, &fail);
    f->q = fw_alloc((size_t)f->nb * f->QD, &fail);
    f->att = fw_alloc((size_t)f->nb * f->QD, &fail);
    f->k = fw_alloc((size_t)f->nb * f->KVD, &fail);
    f->v = fw_alloc((size_t)f->nb * f->KVD, &fail);
    f->g = fw_alloc((size_t)f->nb * f->FF, &fail);
    f->u = fw_alloc((size_t)f->nb * f->FF, &fail);
    f->scratch = fw_alloc(f->scratch_per * f->n_threads, &fail);
    f->xq16 = fail ? NULL : calloc((size_t)FW_XQ_TOKENS * max_in, sizeof(int16_t));
    f->xqd = fw_alloc((size_t)FW_XQ_TOKENS * (max_in / 32 + 1), &fail);
    fail |= !f->xq16;
    if (fail) {
        core_forward_free(f);
        return bz_errf(err, BZ_ENOMEM, "no memory for a %d-position KV cache (%.0f MiB); try a "
                       "smaller context", n_ctx, 2.0 * cache * 4 / (1 << 20));
    }
    /* RoPE angles as llama2.c computes them (float), positions divided by the linear
     * scaling factor. */
    float scale = c->rope_scale > 0 ? c->rope_scale : 1.0f;
    float theta = c->rope_theta > 0 ? c->rope_theta : 10000.0f;
    float *factors = NULL; /* Llama 3.1 per-frequency divisors (rope_freqs), as llama.cpp */
    if (m->rope_freqs) {
        factors = bz_malloc((size_t)f->HS / 2 * sizeof(float));
        rc = fw_small(factors, m->rope_freqs, "rope_freqs", f->HS / 2, err);
        if (rc) {
            free(factors);
            core_forward_free(f);
            return rc;
        }
    }
    for (int pos = 0; pos < n_ctx; pos++)
        for (int i = 0; i < f->HS / 2; i++) {
            float freq = 1.0f / powf(theta, (float)(2 * i) / (float)f->HS);
            if (factors)
                freq /= factors[i];
            float val = (float)pos / scale * freq;
            f->rope_cos[(size_t)pos * (f->HS / 2) + i] = cosf(val);
            f->rope_sin[(size_t)pos * (f->HS / 2) + i] = sinf(val);
        }
    free(factors);
    *out = f;
    return 0;
}

/* core_forward_free: see forward.h. */
void core_forward_free(struct core_forward *f)
{
    if (!f)
        return;
    free(f->small);
    free(f->lw);
    free(f->k_cache);
    free(f->v_cache);
    free(f->rope_cos);
    free(f->rope_sin);
    free(f->x);
    free(f->xn);
    free(f->tmp);
    free(f->q);
    free(f->att);
    free(f->k);
    free(f->v);
    free(f->g);
    free(f->u);
    free(f->lora_h);
    free(f->scratch);
    free(f->xq16);
    free(f->xqd);
    free(f);
}

/* core_forward_set_lora: see forward.h. */
int core_forward_set_lora(struct core_forward *f, const struct core_lora *lora,
                          struct bz_err *err)
{
    if (!lora) {
        f->lora = NULL;
        return 0;
    }
    if (lora->n_layers != f->L)
        return bz_errf(err, BZ_EFORMAT, "adapter has %d layers, model %d", lora->n_layers, f->L);
    const int cin[CORE_LORA_NTARGETS] = {f->C, f->C, f->C, f->QD, f->C, f->C, f->FF};
    const int cout[CORE_LORA_NTARGETS] = {f->QD, f->KVD, f->KVD, f->C, f->FF, f->FF, f->C};
    static const char *names[CORE_LORA_NTARGETS] = {"q", "k", "v", "o", "gate", "up", "down"};
    int rmax = 0;
    for (int l = 0; l < f->L; l++)
        for (int t = 0; t < CORE_LORA_NTARGETS; t++) {
            const struct core_lora_pair *p = core_lora_pair_at(lora, l, t);
            if (!p)
                continue;
            if (p->r <= 0 || !p->b || p->c_in != cin[t] || p->c_out != cout[t])
                return bz_errf(err, BZ_EFORMAT,
                               "adapter layer %d %s: rank %d, (%d -> %d), model expects (%d -> %d)",
                               l, names[t], p->r, p->c_in, p->c_out, cin[t], cout[t]);
            rmax = BZ_MAX(rmax, p->r);
        }
    if (rmax > f->lora_r) {
        float *h = realloc(f->lora_h, (size_t)f->nb * rmax * sizeof(float));
        if (!h)
            return bz_errf(err, BZ_ENOMEM, "no memory for adapter rank %d", rmax);
        f->lora_h = h;
        f->lora_r = rmax;
    }
    f->lora = lora;
    return 0;
}

/* core_forward_truncate: see forward.h. */
void core_forward_truncate(struct core_forward *f, int n_pos)
{
    if (n_pos < f->pos)
        f->pos = BZ_MAX(0, n_pos);
}

/* core_forward_pos: see forward.h. */
int core_forward_pos(const struct core_forward *f) { return f->pos; }
/* core_forward_ctx: see forward.h. */
int core_forward_ctx(const struct core_forward *f) { return f->n_ctx; }
/* core_forward_vocab: see forward.h. */
int core_forward_vocab(const struct core_forward *f) { return f->V; }

/* core_forward_stats: see forward.h. */
void core_forward_stats(const struct core_forward *f, struct core_forward_stats *st)
{
    *st = f->st;
}

/* ---------------------------------------------------------------------------------- */
/* linear jobs                                                                         */

struct fw_part {
    const struct core_tensor *w;
    float *y;          /* (T, rows) */
    int64_t rows;      /* output rows of this weight */
    int64_t first;     /* index of its first row in the job's combined range */
};

struct fw_lin {
    struct core_forward *f;
    const float *x;    /* (T, cin) */
    struct core_kernels_xq xq[FW_XQ_TOKENS]; /* matvec mode: x prepared per token */
    int T;
    int64_t cin;
    int matvec;        /* 1: fused kernels per token; 0: sgemm */
    int n;
    struct fw_part p[3];
};

static void fw_lin_rows(struct fw_lin *j, const struct fw_part *p, int64_t r0, int64_t r1,
                        int tid)
{
    const struct core_tensor *w = p->w;
    size_t rb = core_kernels_row_bytes(w->type, j->cin);
    if (j->matvec) {
        for (int t = 0; t < j->T; t++)
            core_kernels_matvec_xq(w->type, w->data, j->cin, &j->xq[t],
                                   p->y + (size_t)t * p->rows, r0, r1);
        return;
    }
    if (w->type == CORE_TYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, (int)(r1 - r0), (int)j->cin,
                    1.0f, j->x, (int)j->cin, (const float *)w->data + r0 * j->cin, (int)j->cin,
                    0.0f, p->y + r0, (int)p->rows);
        return;
    }
    float *tile = j->f->scratch + (size_t)tid * j->f->scratch_per;
    for (int64_t a = r0; a < r1; a += j->f->tile_rows) {
        int64_t b = BZ_MIN(r1, a + j->f->tile_rows);
        core_kernels_dequant(w->type, (const char *)w->data + a * rb, tile, (b - a) * j->cin);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->T, (int)(b - a), (int)j->cin,
                    1.0f, j->x, (int)j->cin, tile, (int)j->cin, 0.0f, p->y + a, (int)p->rows);
    }
}

static void fw_lin_fn(void *ctx, int64_t begin, int64_t end, int tid)
{
    struct fw_lin *j = ctx;
    for (int i = 0; i < j->n; i++) {
        const struct fw_part *p = &j->p[i];
        int64_t b = BZ_MAX(begin, p->first), e = BZ_MIN(end, p->first + p->rows);
        if (b < e)
            fw_lin_rows(j, p, b - p->first, e - p->first, tid);
    }
}

/* y_i (T, rows_i) = x (T, cin) · W_iᵀ for up to three weights sharing the input. */
static void fw_linear(struct core_forward *f, const float *x, int T, int64_t cin, int n,
                      const struct core_tensor *const *w, float *const *y)
{
    struct fw_lin j = {.f = f, .x = x, .T = T, .cin = cin, .n = n};
    int64_t total = 0;
    int all_f32 = 1;
    for (int i = 0; i < n; i++) {
        j.p[i] = (struct fw_part){w[i], y[i], w[i]->ne[1], total};
        total += w[i]->ne[1];
        all_f32 &= w[i]->type == CORE_TYPE_F32;
    }
    j.matvec = T == 1 || (T < FW_XQ_TOKENS && !all_f32);
    for (int t = 0; j.matvec && t < T; t++)
        core_kernels_xq_prepare(&j.xq[t], x + (size_t)t * cin, cin,
                                f->xq16 + (size_t)t * cin, f->xqd + (size_t)t * (cin / 32 + 1));
    int64_t grain;
    if (j.matvec) /* two chunks per thread: few claims on the shared counter, some balance */
        grain = (total + 2 * f->n_threads - 1) / (2 * f->n_threads);
    else if (all_f32)
        grain = (total + f->n_threads - 1) / f->n_threads;
    else /* at most a tile per chunk, and enough chunks for every thread */
        grain = BZ_MIN(f->tile_rows, ((total + f->n_threads - 1) / f->n_threads + 15) / 16 * 16);
    /* a chunk worth less than FW_MIN_LIN multiply-adds is not worth a claim; more than
     * that starves threads in decode (few rows per weight, many threads) */
    grain = BZ_MAX(grain, FW_MIN_LIN / (cin * T));
    core_pool_for(f->pool, total, grain, fw_lin_fn, &j);
}

/* y (T, cout) += bias and the adapter pair's scale * (x·Aᵀ)·Bᵀ. */
static void fw_extras(struct core_forward *f, const float *x, int T, float *y, int cout,
                      const float *bias, int l, int target)
{
    if (bias)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < cout; o++)
                y[(size_t)t * cout + o] += bias[o];
    const struct core_lora_pair *p = core_lora_pair_at(f->lora, l, target);
    if (!p)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, p->r, p->c_in, 1.0f, x, p->c_in,
                p->a, p->c_in, 0.0f, f->lora_h, p->r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, p->c_out, p->r, p->scale, f->lora_h,
                p->r, p->b, p->r, 1.0f, y, p->c_out);
}

/* ---------------------------------------------------------------------------------- */
/* the other steps                                                                     */

static void fw_rmsnorm(float *out, const float *x, const float *w, int T, int C, float eps)
{
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        float *ot = out + (size_t)t * C;
        float ss = 0;
        for (int i = 0; i < C; i++)
            ss += xt[i] * xt[i];
        ss = 1.0f / sqrtf(ss / (float)C + eps);
        for (int i = 0; i < C; i++)
            ot[i] = w[i] * (ss * xt[i]);
    }
}

/* Rotate x (T, nh, HS) at positions p0 + t. */
static void fw_rope(const struct core_forward *f, float *x, int T, int nh, int p0)
{
    int HS = f->HS, half = HS / 2;
    int neox = f->m->cfg.rope_mode == CORE_ROPE_NEOX;
    for (int t = 0; t < T; t++) {
        const float *cs = f->rope_cos + (size_t)(p0 + t) * half;
        const float *sn = f->rope_sin + (size_t)(p0 + t) * half;
        for (int h = 0; h < nh; h++) {
            float *v = x + ((size_t)t * nh + h) * HS;
            for (int i = 0; i < half; i++) {
                int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                float v0 = v[a], v1 = v[b];
                v[a] = v0 * cs[i] - v1 * sn[i];
                v[b] = v0 * sn[i] + v1 * cs[i];
            }
        }
    }
}

/* Attention of the query rows [t0, t1) of one head: scores S = Q·Kᵀ against the
 * keys the last row sees (sgemm), causal mask and softmax per row, then O = S·V. */
struct fw_att {
    struct core_forward *f;
    int l, p0, T, nblk;
};

static void fw_att_fn(void *ctx, int64_t begin, int64_t end, int tid)
{
    struct fw_att *a = ctx;
    struct core_forward *f = a->f;
    int HS = f->HS, group = f->NH / f->NKV;
    float scale = 1.0f / sqrtf((float)HS);
    float *S = f->scratch + (size_t)tid * f->scratch_per;
    const float *kc = f->k_cache + (size_t)a->l * f->n_ctx * f->KVD;
    const float *vc = f->v_cache + (size_t)a->l * f->n_ctx * f->KVD;
    for (int64_t i = begin; i < end; i++) {
        int h = (int)(i / a->nblk), blk = (int)(i % a->nblk), kvh = h / group;
        int t0 = blk * FW_ATT_ROWS, t1 = BZ_MIN(a->T, t0 + FW_ATT_ROWS), rows = t1 - t0;
        int P = a->p0 + t1;
        const float *q = f->q + (size_t)t0 * f->QD + (size_t)h * HS;
        float *o = f->att + (size_t)t0 * f->QD + (size_t)h * HS;
        if (rows == 1) {
            /* one query (decode): two matrix-vector products over the cache rows of
             * this kv head, sgemm's packing would cost more */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, P, HS, scale, kc + (size_t)kvh * HS,
                        f->KVD, q, 1, 0.0f, S, 1);
            float mx = -INFINITY, sum = 0;
            for (int j = 0; j < P; j++)
                mx = fmaxf(mx, S[j]);
            for (int j = 0; j < P; j++)
                sum += (S[j] = expf(S[j] - mx));
            cblas_sgemv(CblasRowMajor, CblasTrans, P, HS, 1.0f / sum, vc + (size_t)kvh * HS,
                        f->KVD, S, 1, 0.0f, o, 1);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, P, HS, scale, q, f->QD,
                    kc + (size_t)kvh * HS, f->KVD, 0.0f, S, P);
        for (int r = 0; r < rows; r++) {
            float *sr = S + (size_t)r * P;
            int npos = a->p0 + t0 + r + 1;
            float mx = -INFINITY, sum = 0;
            for (int j = 0; j < npos; j++)
                mx = fmaxf(mx, sr[j]);
            for (int j = 0; j < npos; j++)
                sum += (sr[j] = expf(sr[j] - mx));
            float inv = 1.0f / sum;
            for (int j = 0; j < npos; j++)
                sr[j] *= inv;
            for (int j = npos; j < P; j++)
                sr[j] = 0;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, HS, P, 1.0f, S, P,
                    vc + (size_t)kvh * HS, f->KVD, 0.0f, o, f->QD);
    }
}

/* The per-token steps of a chunk as one pool job over token ranges (prefill of many
 * tokens would otherwise spend a serial tenth of its time here). */
enum { FW_EW_ATTN_NORM, FW_EW_ROPE, FW_EW_ADD_NORM, FW_EW_SWIGLU, FW_EW_ADD };

struct fw_ew {
    struct core_forward *f;
    int op, p0;
    const float *w; /* norm weights */
};

static void fw_ew_fn(void *ctx, int64_t b, int64_t e, int tid)
{
    struct fw_ew *j = ctx;
    struct core_forward *f = j->f;
    int C = f->C, FF = f->FF, n = (int)(e - b);
    size_t oc = (size_t)b * C;
    switch (j->op) {
    case FW_EW_ATTN_NORM:
        fw_rmsnorm(f->xn + oc, f->x + oc, j->w, n, C, f->eps);
        break;
    case FW_EW_ROPE:
        fw_rope(f, f->q + (size_t)b * f->QD, n, f->NH, j->p0 + (int)b);
        fw_rope(f, f->k + (size_t)b * f->KVD, n, f->NKV, j->p0 + (int)b);
        break;
    case FW_EW_ADD_NORM:
        for (size_t i = oc; i < (size_t)e * C; i++)
            f->x[i] += f->tmp[i];
        fw_rmsnorm(f->xn + oc, f->x + oc, j->w, n, C, f->eps);
        break;
    case FW_EW_SWIGLU:
        for (size_t i = (size_t)b * FF; i < (size_t)e * FF; i++) {
            float gv = f->g[i];
            f->g[i] = gv / (1.0f + expf(-gv)) * f->u[i];
        }
        break;
    case FW_EW_ADD:
        for (size_t i = oc; i < (size_t)e * C; i++)
            f->x[i] += f->tmp[i];
        break;
    }
}

static void fw_ew(struct core_forward *f, int op, int T, int p0, const float *w)
{
    struct fw_ew j = {f, op, p0, w};
    int64_t grain = BZ_MAX(1, FW_MIN_WORK / 16 / BZ_MAX(f->C, f->FF));
    core_pool_for(T > 1 ? f->pool : NULL, T, grain, fw_ew_fn, &j);
}

/* One chunk of T <= nb tokens at positions pos..pos+T-1; leaves the final normed hidden
 * state in f->xn. */
static void fw_chunk(struct core_forward *f, const int *tokens, int T)
{
    const struct core_model *m = f->m;
    int C = f->C, p0 = f->pos;
    size_t erb = core_kernels_row_bytes(m->tok_embd->type, C);
    for (int t = 0; t < T; t++)
        core_kernels_dequant(m->tok_embd->type, (const char *)m->tok_embd->data +
                             (size_t)tokens[t] * erb, f->x + (size_t)t * C, C);
    for (int l = 0; l < f->L; l++) {
        const struct core_layer *ly = &m->layers[l];
        const struct fw_layer *lw = &f->lw[l];
        fw_ew(f, FW_EW_ATTN_NORM, T, p0, lw->attn_norm);
        const struct core_tensor *wqkv[3] = {ly->wq, ly->wk, ly->wv};
        float *yqkv[3] = {f->q, f->k, f->v};
        fw_linear(f, f->xn, T, C, 3, wqkv, yqkv);
        fw_extras(f, f->xn, T, f->q, f->QD, lw->bq, l, CORE_LORA_Q);
        fw_extras(f, f->xn, T, f->k, f->KVD, lw->bk, l, CORE_LORA_K);
        fw_extras(f, f->xn, T, f->v, f->KVD, lw->bv, l, CORE_LORA_V);
        fw_ew(f, FW_EW_ROPE, T, p0, NULL);
        size_t off = ((size_t)l * f->n_ctx + p0) * f->KVD;
        memcpy(f->k_cache + off, f->k, (size_t)T * f->KVD * sizeof(float));
        memcpy(f->v_cache + off, f->v, (size_t)T * f->KVD * sizeof(float));
        struct fw_att a = {f, l, p0, T, (T + FW_ATT_ROWS - 1) / FW_ATT_ROWS};
        int64_t work = (int64_t)T * (p0 + T) * f->QD;
        core_pool_for(work < FW_MIN_WORK ? NULL : f->pool, (int64_t)f->NH * a.nblk, 1,
                      fw_att_fn, &a);
        const struct core_tensor *wo[1] = {ly->wo}, *wd[1] = {ly->w_down};
        fw_linear(f, f->att, T, f->QD, 1, wo, &f->tmp);
        fw_extras(f, f->att, T, f->tmp, C, NULL, l, CORE_LORA_O);
        fw_ew(f, FW_EW_ADD_NORM, T, p0, lw->ffn_norm);
        const struct core_tensor *wgu[2] = {ly->w_gate, ly->w_up};
        float *ygu[2] = {f->g, f->u};
        fw_linear(f, f->xn, T, C, 2, wgu, ygu);
        fw_extras(f, f->xn, T, f->g, f->FF, NULL, l, CORE_LORA_GATE);
        fw_extras(f, f->xn, T, f->u, f->FF, NULL, l, CORE_LORA_UP);
        fw_ew(f, FW_EW_SWIGLU, T, p0, NULL);
        fw_linear(f, f->g, T, f->FF, 1, wd, &f->tmp);
        fw_extras(f, f->g, T, f->tmp, C, NULL, l, CORE_LORA_DOWN);
        fw_ew(f, FW_EW_ADD, T, p0, NULL);
    }
    fw_ew(f, FW_EW_ATTN_NORM, T, p0, f->out_norm);
    f->pos += T;
}

/* core_forward_eval: see forward.h. */
int core_forward_eval(struct core_forward *f, const int *tokens, int T, float *logits,
                      int all_logits, struct bz_err *err)
{
    if (T <= 0)
        return bz_errf(err, BZ_EINVAL, "no tokens to evaluate");
    if (f->pos + T > f->n_ctx)
        return bz_errf(err, BZ_ERANGE, "context full: %d + %d tokens exceed %d positions", f->pos,
                       T, f->n_ctx);
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= f->V)
            return bz_errf(err, BZ_EINVAL, "token id %d outside the vocabulary (0..%d)",
                           tokens[t], f->V - 1);
    double t0 = bz_now();
    for (int done = 0; done < T;) {
        int n = BZ_MIN(f->nb, T - done);
        fw_chunk(f, tokens + done, n);
        if (logits && all_logits) {
            float *y = logits + (size_t)done * f->V;
            fw_linear(f, f->xn, n, f->C, 1, &f->output, &y);
        } else if (logits && done + n == T) {
            float *y = logits;
            fw_linear(f, f->xn + (size_t)(n - 1) * f->C, 1, f->C, 1, &f->output, &y);
        }
        done += n;
    }
    double dt = bz_now() - t0;
    if (T == 1) {
        f->st.decode_tokens++;
        f->st.decode_s += dt;
    } else {
        f->st.prefill_tokens += T;
        f->st.prefill_s += dt;
    }
    return 0;
}
