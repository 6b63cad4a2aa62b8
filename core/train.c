/*
 * train.c: the whole-model training step (see train.h).
 *
 * Key idea: llm.c's layout. Three slabs: trainable params, their grads (same layout),
 * and activations; each is planned once by walking the tensors with a running offset
 * (plan_* with base NULL counts, with a base points), so sizing and pointing cannot
 * disagree. Backward walks the layers in reverse with one residual-stream gradient
 * (dres) that each block adds into, and scratch gradients reused across layers.
 *
 * core_train_step is forward + head + backward in one call; core_train_forward and
 * core_train_backward split it at the head for losses that weigh each row by a number
 * known only after the forward (DPO): the backward recomputes the head's chunk with
 * the per-row weights and reuses every other activation.
 *
 * Left out: activation checkpointing, fused kernels, sequence parallelism.
 */
#include "core/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ops.h"

#define NLIN CORE_LORA_NTARGETS

struct tr_layer {
    const struct core_tensor *w[NLIN]; /* q,k,v,o,gate,up,down */
    const float *bias[3];              /* q,k,v bias (F32) or NULL */
    const float *attn_norm, *ffn_norm; /* (C) */
    float *dw[NLIN], *dbias[3], *dattn_norm, *dffn_norm; /* full mode grads, else NULL */
    /* activations */
    float *x_in, *xn1, *rstd1, *q, *k, *v, *att, *ao, *xmid, *xn2, *rstd2, *g, *u, *hs;
    float *lh[NLIN]; /* LoRA h (N, R) per adapted target */
};

struct tr_priv {
    struct tr_layer *layers;
    struct core_tensor *copies;     /* full mode: F32 views of params [NLIN * L + 2] */
    const struct core_tensor *emb, *out;
    const float *out_norm;
    float *demb, *dout, *dout_norm; /* full mode */
    float *normbuf;                 /* norms dequantized when stored non-F32 */
    float *acts;
    float *x_final, *xf, *rstdf;
    float *dres, *dxn, *dq, *dk, *dv, *dao, *dg, *du, *dhs, *dh, *xd, *attscr, *lin, *head;
    float *cos_t, *sin_t;
    double timers[CORE_TRAIN_T_COUNT];
    int T; /* time steps of the current batch */
    int fwd_train;       /* the activations are from core_train_forward(train = 1) */
    float fwd_pd;        /* its dropout probability and mask seed */
    uint64_t fwd_seed;
};

static const char *lin_name[NLIN] = {"q", "k", "v", "o", "gate", "up", "down"};

static void lin_dims(const struct core_train *t, int target, int *cin, int *cout)
{
    switch (target) {
    case CORE_LORA_Q: *cin = t->C, *cout = t->QD; break;
    case CORE_LORA_K:
    case CORE_LORA_V: *cin = t->C, *cout = t->KD; break;
    case CORE_LORA_O: *cin = t->QD, *cout = t->C; break;
    case CORE_LORA_GATE:
    case CORE_LORA_UP: *cin = t->C, *cout = t->FF; break;
    default: *cin = t->FF, *cout = t->C; break;
    }
}

static const struct core_tensor *model_lin(const struct core_layer *ly, int target)
{
    const struct core_tensor *w[NLIN] = {ly->wq, ly->wk, ly->wv, ly->wo,
                                         ly->w_gate, ly->w_up, ly->w_down};
    return w[target];
}

static void set_dims(struct core_train *t, const struct core_model *m,
                     const struct core_train_opts *o)
{
    const struct core_model_config *c = &m->cfg;
    t->B = o->B, t->T = o->T, t->C = c->dim, t->NH = c->n_heads, t->NKV = c->n_kv_heads;
    t->HS = c->head_dim ? c->head_dim : c->dim / c->n_heads;
    t->FF = c->ffn_dim, t->V = c->vocab_size, t->L = c->n_layers, t->R = o->rank;
    t->QD = t->NH * t->HS, t->KD = t->NKV * t->HS;
}

static int untied(const struct core_model *m)
{
    return m->output && m->output != m->tok_embd && !m->cfg.tied_output;
}

#define TAKE(ptr, n) ((ptr) = base ? base + off : NULL, off += (size_t)(n))

/* Trainable parameters (and, with the same walk over gbase, their gradients). */
static size_t plan_params(struct core_train *t, float *base, int grads, size_t *n_decay)
{
    struct tr_priv *p = t->priv;
    size_t off = 0;
    float *dummy;
    if (!t->opts.full) {
        for (int l = 0; l < t->L; l++)
            for (int k = 0; k < NLIN; k++) {
                if (!(t->opts.targets & (1u << k)))
                    continue;
                struct core_lora_pair *pr = &t->lora.pairs[(size_t)l * NLIN + k];
                int cin, cout;
                lin_dims(t, k, &cin, &cout);
                float *a, *b;
                TAKE(a, (size_t)t->R * cin);
                TAKE(b, (size_t)cout * t->R);
                if (base && !grads) /* LoRA grads are found by offset: see gof() */
                    pr->a = a, pr->b = b;
            }
        *n_decay = off;
        return off;
    }
    float *emb, *outw = NULL;
    TAKE(emb, (size_t)t->V * t->C);
    if (untied(t->model))
        TAKE(outw, (size_t)t->V * t->C);
    for (int l = 0; l < t->L; l++)
        for (int k = 0; k < NLIN; k++) {
            int cin, cout;
            lin_dims(t, k, &cin, &cout);
            TAKE(dummy, (size_t)cin * cout);
            if (base && grads)
                p->layers[l].dw[k] = dummy;
            else if (base)
                p->copies[(size_t)l * NLIN + k].data = dummy;
        }
    *n_decay = off;
    for (int l = 0; l < t->L; l++) {
        float *an, *fn;
        TAKE(an, t->C);
        TAKE(fn, t->C);
        if (base && grads)
            p->layers[l].dattn_norm = an, p->layers[l].dffn_norm = fn;
        else if (base)
            p->layers[l].attn_norm = an, p->layers[l].ffn_norm = fn;
        if (t->model->cfg.qkv_bias) {
            int dims[3] = {t->QD, t->KD, t->KD};
            for (int k = 0; k < 3; k++) {
                TAKE(dummy, dims[k]);
                if (base && grads)
                    p->layers[l].dbias[k] = dummy;
                else if (base)
                    p->layers[l].bias[k] = dummy;
            }
        }
    }
    float *on;
    TAKE(on, t->C);
    if (base && grads) {
        p->demb = emb, p->dout = outw ? outw : emb, p->dout_norm = on;
    } else if (base) {
        p->copies[(size_t)t->L * NLIN].data = emb;
        p->out_norm = on;
        if (outw)
            p->copies[(size_t)t->L * NLIN + 1].data = outw;
    }
    return off;
}

/* Activations and scratch. */
static size_t plan_acts(struct core_train *t, float *base)
{
    struct tr_priv *p = t->priv;
    size_t off = 0, N = (size_t)t->B * t->T;
    int adapted = !t->opts.full;
    for (int l = 0; l < t->L; l++) {
        struct tr_layer *y = base ? &p->layers[l] : &(struct tr_layer){0};
        TAKE(y->x_in, N * t->C);
        TAKE(y->xn1, N * t->C);
        TAKE(y->rstd1, N);
        TAKE(y->q, N * t->QD);
        TAKE(y->k, N * t->KD);
        TAKE(y->v, N * t->KD);
        TAKE(y->att, (size_t)t->B * t->NH * t->T * t->T);
        TAKE(y->ao, N * t->QD);
        TAKE(y->xmid, N * t->C);
        TAKE(y->xn2, N * t->C);
        TAKE(y->rstd2, N);
        TAKE(y->g, N * t->FF);
        TAKE(y->u, N * t->FF);
        TAKE(y->hs, N * t->FF);
        for (int k = 0; k < NLIN; k++)
            if (adapted && (t->opts.targets & (1u << k)))
                TAKE(y->lh[k], N * t->R);
    }
    TAKE(p->x_final, N * t->C);
    TAKE(p->xf, N * t->C);
    TAKE(p->rstdf, N);
    size_t wide = (size_t)BZ_MAX(BZ_MAX(t->C, t->QD), t->FF);
    TAKE(p->dres, N * t->C);
    TAKE(p->dxn, N * wide);
    TAKE(p->dq, N * t->QD);
    TAKE(p->dk, N * t->KD);
    TAKE(p->dv, N * t->KD);
    TAKE(p->dao, N * t->QD);
    TAKE(p->dg, N * t->FF);
    TAKE(p->du, N * t->FF);
    TAKE(p->dhs, N * t->FF);
    TAKE(p->dh, N * BZ_MAX(t->R, 1));
    TAKE(p->xd, N * wide);
    TAKE(p->attscr, core_ops_attention_scratch(t->T));
    TAKE(p->lin, (size_t)CORE_OPS_TILE * (size_t)BZ_MAX((size_t)t->V, wide) + 16);
    int chunk = t->opts.head_chunk > 0 ? t->opts.head_chunk : 256;
    TAKE(p->head, (size_t)chunk * ((size_t)2 * t->C + (size_t)t->V) +
                      (size_t)CORE_OPS_TILE * t->C + 16);
    TAKE(p->cos_t, (size_t)t->T * t->HS / 2);
    TAKE(p->sin_t, (size_t)t->T * t->HS / 2);
    return off;
}

/* Trainable parameters and activation floats for these options. */
static void train_counts(const struct core_model *m, const struct core_train_opts *opts,
                         size_t *np, size_t *na)
{
    struct core_train t = {.model = (struct core_model *)m, .opts = *opts};
    struct tr_priv p = {0};
    t.priv = &p;
    set_dims(&t, m, opts);
    size_t nd;
    *np = 0;
    if (opts->full) {
        *np = plan_params(&t, NULL, 0, &nd);
    } else {
        for (int l = 0; l < t.L; l++)
            for (int k = 0; k < NLIN; k++)
                if (opts->targets & (1u << k)) {
                    int cin, cout;
                    lin_dims(&t, k, &cin, &cout);
                    *np += (size_t)t.R * (cin + cout);
                }
    }
    *na = plan_acts(&t, NULL);
}

size_t core_train_bytes(const struct core_model *m, const struct core_train_opts *opts)
{
    size_t np, na;
    train_counts(m, opts, &np, &na);
    return sizeof(float) * (2 * np + na);
}

static long long mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* A tensor as F32: its data when F32, else dequantized into dst (n elements). */
static const float *as_f32(const struct core_tensor *w, float *dst, int64_t n, int *rc)
{
    if (w->type == CORE_TYPE_F32)
        return w->data;
    *rc = core_dequant_row(w->type, w->data, dst, n);
    return dst;
}

static int check_opts(const struct core_model *m, const struct core_train_opts *o,
                      struct core_train *t, struct bz_err *err)
{
    const struct core_model_config *c = &m->cfg;
    if (o->B < 1 || o->T < 2)
        return bz_errf(err, BZ_EINVAL, "batch %d x seq %d: need batch >= 1 and seq >= 2",
                       o->B, o->T);
    if (c->ctx_len > 0 && o->T > c->ctx_len)
        return bz_errf(err, BZ_EINVAL,
                       "seq %d is longer than the model's context %d: use --seq %d or less",
                       o->T, c->ctx_len, c->ctx_len);
    if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads)
        return bz_errf(err, BZ_EUNSUPPORTED, "heads %d not a multiple of kv heads %d",
                       c->n_heads, c->n_kv_heads);
    if (t->HS % 2)
        return bz_errf(err, BZ_EUNSUPPORTED, "head size %d is odd", t->HS);
    if (o->full)
        return 0;
    if (!o->targets || o->targets >> NLIN)
        return bz_errf(err, BZ_EINVAL, "lora targets: none selected (mask 0x%x)", o->targets);
    if (o->rank < 1)
        return bz_errf(err, BZ_EINVAL, "lora rank must be >= 1 (got %d)", o->rank);
    if (o->dropout < 0.0f || o->dropout >= 1.0f)
        return bz_errf(err, BZ_EINVAL, "lora dropout must be in [0, 1) (got %g)", o->dropout);
    for (int k = 0; k < NLIN; k++) {
        if (!(o->targets & (1u << k)))
            continue;
        int cin, cout;
        lin_dims(t, k, &cin, &cout);
        int d = BZ_MIN(cin, cout);
        if (o->rank > d)
            return bz_errf(err, BZ_EINVAL,
                           "lora rank %d is larger than dimension %d of %s_proj: use --rank %d "
                           "or less", o->rank, d, lin_name[k], d);
        for (int l = 0; l < c->n_layers; l++) {
            const struct core_tensor *w = model_lin(&m->layers[l], k);
            if (!w || w->ne[0] != cin || w->ne[1] != cout)
                return bz_errf(err, BZ_EFORMAT,
                               "layer %d %s weight: shape (%lld, %lld), expected (%d, %d)", l,
                               lin_name[k], w ? (long long)w->ne[1] : 0LL,
                               w ? (long long)w->ne[0] : 0LL, cout, cin);
        }
    }
    return 0;
}

int core_train_new(struct core_train **out, struct core_model *m,
                   const struct core_train_opts *opts, struct core_pool *pool,
                   struct bz_err *err)
{
    *out = NULL;
    struct core_train *t = bz_calloc(1, sizeof *t);
    struct tr_priv *p = bz_calloc(1, sizeof *p);
    t->model = m, t->opts = *opts, t->pool = pool, t->priv = p;
    set_dims(t, m, opts);
    int rc = check_opts(m, opts, t, err);
    if (rc)
        goto fail;
    size_t np, na;
    train_counts(m, opts, &np, &na);
    size_t need = sizeof(float) * (4 * np + na); /* params, grads, 2 AdamW moments, acts */
    long long avail = mem_available();
    if (avail > 0 && need > (size_t)avail) {
        rc = bz_errf(err, BZ_ENOMEM,
                     "training needs %.1f MiB for batch %d x seq %d but %.1f MiB are "
                     "available: lower --batch or --seq", need / 1048576.0, opts->B, opts->T,
                     avail / 1048576.0);
        goto fail;
    }
    p->layers = bz_calloc((size_t)t->L, sizeof *p->layers);
    t->lora.n_layers = t->L, t->lora.rank = t->R, t->lora.alpha = opts->alpha;
    t->lora.targets = opts->full ? 0 : opts->targets;
    float scale = opts->rslora ? opts->alpha / sqrtf((float)t->R) : opts->alpha / t->R;
    if (!opts->full) {
        t->lora.pairs = bz_calloc((size_t)t->L * NLIN, sizeof *t->lora.pairs);
        for (int l = 0; l < t->L; l++)
            for (int k = 0; k < NLIN; k++)
                if (opts->targets & (1u << k)) {
                    struct core_lora_pair *pr = &t->lora.pairs[(size_t)l * NLIN + k];
                    pr->r = t->R, pr->scale = scale;
                    lin_dims(t, k, &pr->c_in, &pr->c_out);
                }
    } else {
        p->copies = bz_calloc((size_t)t->L * NLIN + 2, sizeof *p->copies);
    }
    t->n_params = plan_params(t, NULL, 0, &t->n_decay);
    t->params = calloc(t->n_params ? t->n_params : 1, sizeof(float));
    t->grads = calloc(t->n_params ? t->n_params : 1, sizeof(float));
    na = plan_acts(t, NULL);
    p->acts = calloc(na, sizeof(float));
    size_t nnorm = (size_t)(2 * t->L + 1) * t->C;
    p->normbuf = calloc(nnorm, sizeof(float));
    if (!t->params || !t->grads || !p->acts || !p->normbuf) {
        rc = bz_errf(err, BZ_ENOMEM, "training buffers: %.1f MiB could not be allocated",
                     need / 1048576.0);
        goto fail;
    }
    size_t nd;
    plan_params(t, t->params, 0, &nd);
    plan_acts(t, p->acts);
    t->lora.slab = NULL; /* pairs point into t->params */
    core_ops_rope_table(p->cos_t, p->sin_t, t->T, t->HS, m->cfg.rope_theta > 0 ?
                        m->cfg.rope_theta : 10000.0f, m->cfg.rope_scale);

    /* Weights: frozen model tensors, or F32 copies in params (full mode). */
    float *nb = p->normbuf;
    rc = 0;
    for (int l = 0; l < t->L && !rc; l++) {
        struct tr_layer *y = &p->layers[l];
        const struct core_layer *ly = &m->layers[l];
        const float *an = as_f32(ly->attn_norm, nb, t->C, &rc);
        nb += t->C;
        const float *fn = as_f32(ly->ffn_norm, nb, t->C, &rc);
        nb += t->C;
        const struct core_tensor *bs[3] = {ly->bq, ly->bk, ly->bv};
        for (int k = 0; k < NLIN; k++)
            y->w[k] = model_lin(ly, k);
        if (!opts->full) {
            y->attn_norm = an, y->ffn_norm = fn;
            for (int k = 0; k < 3; k++)
                y->bias[k] = m->cfg.qkv_bias && bs[k] ? bs[k]->data : NULL;
            continue;
        }
        memcpy((float *)y->attn_norm, an, sizeof(float) * t->C);
        memcpy((float *)y->ffn_norm, fn, sizeof(float) * t->C);
        for (int k = 0; k < NLIN && !rc; k++) {
            struct core_tensor *cp = &p->copies[(size_t)l * NLIN + k];
            const struct core_tensor *src = model_lin(ly, k);
            void *dst = cp->data;
            *cp = *src;
            cp->type = CORE_TYPE_F32, cp->data = dst;
            cp->nbytes = sizeof(float) * (size_t)src->ne[0] * src->ne[1];
            if (src->type == CORE_TYPE_F32)
                memcpy(dst, src->data, cp->nbytes);
            else
                rc = core_dequant_row(src->type, src->data, dst, src->ne[0] * src->ne[1]);
            y->w[k] = cp;
        }
        if (m->cfg.qkv_bias)
            for (int k = 0; k < 3 && !rc; k++)
                if (bs[k])
                    memcpy((float *)y->bias[k], bs[k]->data, sizeof(float) * bs[k]->ne[0]);
    }
    if (rc) {
        rc = bz_errf(err, rc, "weights: a tensor's type cannot be converted to F32");
        goto fail;
    }
    const float *on = as_f32(m->out_norm, nb, t->C, &rc);
    p->emb = m->tok_embd;
    p->out = m->output ? m->output : m->tok_embd;
    if (!opts->full) {
        p->out_norm = on;
    } else {
        memcpy((float *)p->out_norm, on, sizeof(float) * t->C);
        int ne = untied(m) ? 2 : 1;
        const struct core_tensor *src[2] = {m->tok_embd, m->output};
        for (int i = 0; i < ne && !rc; i++) {
            struct core_tensor *cp = &p->copies[(size_t)t->L * NLIN + i];
            void *dst = cp->data;
            *cp = *src[i];
            cp->type = CORE_TYPE_F32, cp->data = dst;
            cp->nbytes = sizeof(float) * (size_t)t->V * t->C;
            if (src[i]->type == CORE_TYPE_F32)
                memcpy(dst, src[i]->data, cp->nbytes);
            else
                rc = core_dequant_row(src[i]->type, src[i]->data, dst, (int64_t)t->V * t->C);
        }
        p->emb = &p->copies[(size_t)t->L * NLIN];
        p->out = ne == 2 ? &p->copies[(size_t)t->L * NLIN + 1] : p->emb;
        size_t nd2;
        plan_params(t, t->grads, 1, &nd2);
    }
    if (rc) {
        rc = bz_errf(err, rc, "embedding: its type cannot be converted to F32");
        goto fail;
    }
    *out = t;
    return 0;
fail:
    core_train_free(t);
    return rc;
}

void core_train_free(struct core_train *t)
{
    if (!t)
        return;
    struct tr_priv *p = t->priv;
    if (p) {
        free(p->layers);
        free(p->copies);
        free(p->acts);
        free(p->normbuf);
        free(p);
    }
    free(t->lora.pairs);
    free(t->params);
    free(t->grads);
    free(t);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void core_train_init_params(struct core_train *t, uint64_t seed)
{
    if (t->opts.full)
        return;
    uint64_t s = seed ^ 0x6c6f7261ull;
    for (int l = 0; l < t->L; l++)
        for (int k = 0; k < NLIN; k++) {
            struct core_lora_pair *pr = &t->lora.pairs[(size_t)l * NLIN + k];
            if (!pr->a)
                continue;
            float bound = 1.0f / sqrtf((float)pr->c_in);
            size_t na = (size_t)pr->r * pr->c_in;
            for (size_t i = 0; i < na; i++)
                pr->a[i] = ((float)(splitmix(&s) >> 40) * (2.0f / 16777216.0f) - 1.0f) * bound;
            memset(pr->b, 0, sizeof(float) * (size_t)pr->c_out * pr->r);
        }
}

void core_train_zero_grad(struct core_train *t)
{
    memset(t->grads, 0, sizeof(float) * t->n_params);
}

/* Gradient of a LoRA pair's A and B: same offset in grads as in params. */
static float *gof(struct core_train *t, const float *param)
{
    return t->grads + (param - t->params);
}

static uint64_t drop_seed(uint64_t seed, int l, int k)
{
    uint64_t s = seed ^ ((uint64_t)l << 32) ^ ((uint64_t)k << 56);
    return splitmix(&s);
}

static double tick(void) { return bz_now(); }
#define TIME(kind, stmt)                                \
    do {                                                \
        double t0_ = tick();                            \
        stmt;                                           \
        p->timers[kind] += tick() - t0_;                \
    } while (0)

/* out = x . W^T (+bias) (+ LoRA), for linear k of layer l. */
static int lin_fwd(struct core_train *t, int l, int k, float *out, const float *x, float p_drop,
                   uint64_t seed, int kind)
{
    struct tr_priv *p = t->priv;
    struct tr_layer *y = &p->layers[l];
    int N = t->B * p->T, cin, cout, rc = 0;
    lin_dims(t, k, &cin, &cout);
    TIME(kind, rc = core_ops_linear_forward(out, x, y->w[k], N, cin, cout, 0, p->lin));
    if (rc)
        return rc;
    if (k < 3 && y->bias[k])
        for (int n = 0; n < N; n++)
            for (int o = 0; o < cout; o++)
                out[(size_t)n * cout + o] += y->bias[k][o];
    const struct core_lora_pair *pr = core_lora_pair_at(&t->lora, l, k);
    if (pr)
        TIME(CORE_TRAIN_T_LORA,
             core_ops_lora_forward(out, y->lh[k], x, pr->a, pr->b, N, cin, cout, pr->r,
                                   pr->scale, p_drop, drop_seed(seed, l, k), p->xd));
    return 0;
}

/* dx += dout . W (+ LoRA), and full-mode weight/bias grads. */
static int lin_bwd(struct core_train *t, int l, int k, float *dx, const float *dout,
                   const float *x, float p_drop, uint64_t seed, int kind)
{
    struct tr_priv *p = t->priv;
    struct tr_layer *y = &p->layers[l];
    int N = t->B * p->T, cin, cout, rc = 0;
    lin_dims(t, k, &cin, &cout);
    TIME(kind, rc = core_ops_linear_backward(dx, dout, y->w[k], N, cin, cout, p->lin));
    if (rc)
        return rc;
    if (y->dw[k] && t->opts.full)
        TIME(kind, core_ops_matmul_backward(NULL, y->dw[k], k < 3 ? y->dbias[k] : NULL, dout,
                                            x, y->w[k]->data, N, cin, cout));
    const struct core_lora_pair *pr = core_lora_pair_at(&t->lora, l, k);
    if (pr)
        TIME(CORE_TRAIN_T_LORA,
             core_ops_lora_backward(dx, gof(t, pr->a), gof(t, pr->b), dout, y->lh[k], x, pr->a,
                                    pr->b, N, cin, cout, pr->r, pr->scale, p_drop,
                                    drop_seed(seed, l, k), p->dh, p->xd));
    return 0;
}

/* Forward through the final norm (p->xf), activations kept for backward. */
static int step_forward(struct core_train *t, const struct core_train_batch *b, float pd,
                        uint64_t dropout_seed, struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    int B = t->B, T = b->T > 0 ? b->T : t->T, C = t->C, N = B * T, rc = 0;
    if (T > t->T)
        return bz_errf(err, BZ_EINVAL, "batch length %d is longer than the trainer's %d", T,
                       t->T);
    p->T = T;
    p->fwd_train = 0;
    float eps = t->model->cfg.norm_eps > 0 ? t->model->cfg.norm_eps : 1e-5f;
    int mode = t->model->cfg.rope_mode;
    memset(p->timers, 0, sizeof p->timers);
    for (int i = 0; i < N; i++) {
        if (b->tokens[i] < 0 || b->tokens[i] >= t->V)
            return bz_errf(err, BZ_ERANGE, "token %d at position %d is outside the vocab %d",
                           b->tokens[i], i, t->V);
        if (b->pos[i] < 0 || b->pos[i] >= T)
            return bz_errf(err, BZ_ERANGE, "position %d at %d is outside [0, %d)", b->pos[i],
                           i, T);
        if (b->targets[i] >= t->V)
            return bz_errf(err, BZ_ERANGE, "target %d at %d is outside the vocab %d",
                           b->targets[i], i, t->V);
    }

    /* ---- forward */
    double t0 = tick();
    struct tr_layer *y0 = &p->layers[0];
    if (p->emb->type == CORE_TYPE_F32) {
        core_ops_embedding_forward(y0->x_in, b->tokens, p->emb->data, N, C);
    } else {
        size_t rb = (size_t)(C / core_type_block_elems(p->emb->type)) *
                    core_type_block_bytes(p->emb->type);
        for (int n = 0; n < N && !rc; n++)
            rc = core_dequant_row(p->emb->type, (const char *)p->emb->data + rb * b->tokens[n],
                                  y0->x_in + (size_t)n * C, C);
        if (rc)
            return bz_errf(err, rc, "embedding type %d cannot be dequantized", p->emb->type);
    }
    p->timers[CORE_TRAIN_T_OTHER] += tick() - t0;
    for (int l = 0; l < t->L; l++) {
        struct tr_layer *y = &p->layers[l];
        float *x_next = l + 1 < t->L ? p->layers[l + 1].x_in : p->x_final;
        TIME(CORE_TRAIN_T_NORM,
             core_ops_rmsnorm_forward(y->xn1, y->rstd1, y->x_in, y->attn_norm, N, C, eps));
        if ((rc = lin_fwd(t, l, CORE_LORA_Q, y->q, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)) ||
            (rc = lin_fwd(t, l, CORE_LORA_K, y->k, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)) ||
            (rc = lin_fwd(t, l, CORE_LORA_V, y->v, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_ATTN, {
            core_ops_rope_forward(y->q, b->pos, p->cos_t, p->sin_t, N, t->NH, t->HS, mode);
            core_ops_rope_forward(y->k, b->pos, p->cos_t, p->sin_t, N, t->NKV, t->HS, mode);
            core_ops_attention_forward(y->ao, y->att, y->q, y->k, y->v, b->seg, B, T, t->NH,
                                       t->NKV, t->HS);
        });
        if ((rc = lin_fwd(t, l, CORE_LORA_O, y->xmid, y->ao, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_OTHER,
             core_ops_residual_forward(y->xmid, y->xmid, y->x_in, (size_t)N * C));
        TIME(CORE_TRAIN_T_NORM,
             core_ops_rmsnorm_forward(y->xn2, y->rstd2, y->xmid, y->ffn_norm, N, C, eps));
        if ((rc = lin_fwd(t, l, CORE_LORA_GATE, y->g, y->xn2, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)) ||
            (rc = lin_fwd(t, l, CORE_LORA_UP, y->u, y->xn2, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_OTHER, core_ops_swiglu_forward(y->hs, y->g, y->u, N, t->FF));
        if ((rc = lin_fwd(t, l, CORE_LORA_DOWN, x_next, y->hs, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_OTHER,
             core_ops_residual_forward(x_next, x_next, y->xmid, (size_t)N * C));
    }
    TIME(CORE_TRAIN_T_NORM,
         core_ops_rmsnorm_forward(p->xf, p->rstdf, p->x_final, p->out_norm, N, C, eps));
    return 0;
lin_fail:
    return bz_errf(err, rc, "a weight's stored type cannot be dequantized (%s)",
                   bz_strerror(rc));
}

/* Backward from p->dxn (the gradient at the final norm's output, filled by the head)
 * through every layer into grads. */
static int step_backward(struct core_train *t, const struct core_train_batch *b, float pd,
                         uint64_t dropout_seed, struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    int B = t->B, T = p->T, C = t->C, N = B * T, rc = 0;
    int mode = t->model->cfg.rope_mode;
    memset(p->dres, 0, sizeof(float) * (size_t)N * C);
    TIME(CORE_TRAIN_T_NORM,
         core_ops_rmsnorm_backward(p->dres, t->opts.full ? p->dout_norm : NULL, p->dxn,
                                   p->x_final, p->out_norm, p->rstdf, N, C));
    for (int l = t->L - 1; l >= 0; l--) {
        struct tr_layer *y = &p->layers[l];
        size_t nff = (size_t)N * t->FF;
        /* FFN block: x_next = xmid + down(swiglu(gate(xn2), up(xn2))) */
        memset(p->dhs, 0, sizeof(float) * nff);
        if ((rc = lin_bwd(t, l, CORE_LORA_DOWN, p->dhs, p->dres, y->hs, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)))
            goto lin_fail;
        memset(p->dg, 0, sizeof(float) * nff);
        memset(p->du, 0, sizeof(float) * nff);
        TIME(CORE_TRAIN_T_OTHER,
             core_ops_swiglu_backward(p->dg, p->du, p->dhs, y->g, y->u, N, t->FF));
        memset(p->dxn, 0, sizeof(float) * (size_t)N * C);
        if ((rc = lin_bwd(t, l, CORE_LORA_GATE, p->dxn, p->dg, y->xn2, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)) ||
            (rc = lin_bwd(t, l, CORE_LORA_UP, p->dxn, p->du, y->xn2, pd, dropout_seed,
                          CORE_TRAIN_T_FFN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_NORM,
             core_ops_rmsnorm_backward(p->dres, y->dffn_norm, p->dxn, y->xmid, y->ffn_norm,
                                       y->rstd2, N, C));
        /* attention block: xmid = x_in + o(attn(q, k, v)) */
        memset(p->dao, 0, sizeof(float) * (size_t)N * t->QD);
        if ((rc = lin_bwd(t, l, CORE_LORA_O, p->dao, p->dres, y->ao, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)))
            goto lin_fail;
        memset(p->dq, 0, sizeof(float) * (size_t)N * t->QD);
        memset(p->dk, 0, sizeof(float) * (size_t)N * t->KD);
        memset(p->dv, 0, sizeof(float) * (size_t)N * t->KD);
        TIME(CORE_TRAIN_T_ATTN, {
            core_ops_attention_backward(p->dq, p->dk, p->dv, p->dao, y->att, y->q, y->k, y->v,
                                        B, T, t->NH, t->NKV, t->HS, p->attscr);
            core_ops_rope_backward(p->dq, b->pos, p->cos_t, p->sin_t, N, t->NH, t->HS, mode);
            core_ops_rope_backward(p->dk, b->pos, p->cos_t, p->sin_t, N, t->NKV, t->HS, mode);
        });
        memset(p->dxn, 0, sizeof(float) * (size_t)N * C);
        if ((rc = lin_bwd(t, l, CORE_LORA_Q, p->dxn, p->dq, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)) ||
            (rc = lin_bwd(t, l, CORE_LORA_K, p->dxn, p->dk, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)) ||
            (rc = lin_bwd(t, l, CORE_LORA_V, p->dxn, p->dv, y->xn1, pd, dropout_seed,
                          CORE_TRAIN_T_ATTN_LIN)))
            goto lin_fail;
        TIME(CORE_TRAIN_T_NORM,
             core_ops_rmsnorm_backward(p->dres, y->dattn_norm, p->dxn, y->x_in, y->attn_norm,
                                       y->rstd1, N, C));
    }
    if (t->opts.full)
        TIME(CORE_TRAIN_T_OTHER, core_ops_embedding_backward(p->demb, p->dres, b->tokens, N, C));
    return 0;
lin_fail:
    return bz_errf(err, rc, "a weight's stored type cannot be dequantized (%s)",
                   bz_strerror(rc));
}

static int head_chunk(const struct core_train *t)
{
    return t->opts.head_chunk > 0 ? t->opts.head_chunk : 256;
}

int core_train_step(struct core_train *t, const struct core_train_batch *b, int backward,
                    float dscale, uint64_t dropout_seed, double *loss_sum, int *count,
                    struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    float pd = backward ? t->opts.dropout : 0.0f;
    int rc = step_forward(t, b, pd, dropout_seed, err);
    if (rc)
        return rc;
    int N = t->B * p->T, C = t->C;
    memset(p->dxn, 0, sizeof(float) * (size_t)N * C);
    double loss = 0;
    int cnt = 0;
    TIME(CORE_TRAIN_T_HEAD,
         loss = core_ops_masked_head(p->xf, p->out, b->targets, N, C, t->V, dscale,
                                     backward ? p->dxn : NULL, t->opts.full ? p->dout : NULL,
                                     head_chunk(t), p->head, &cnt));
    *loss_sum = loss, *count = cnt;
    if (!backward)
        return 0;
    return step_backward(t, b, pd, dropout_seed, err);
}

int core_train_forward(struct core_train *t, const struct core_train_batch *b, int train,
                       uint64_t dropout_seed, double *row_loss, double *loss_sum, int *count,
                       struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    float pd = train ? t->opts.dropout : 0.0f;
    int rc = step_forward(t, b, pd, dropout_seed, err);
    if (rc)
        return rc;
    int N = t->B * p->T, C = t->C, cnt = 0;
    double loss = 0;
    memset(row_loss, 0, sizeof(double) * (size_t)t->B);
    TIME(CORE_TRAIN_T_HEAD,
         loss = core_ops_masked_head_rows(p->xf, p->out, b->targets, N, C, t->V, p->T, NULL,
                                          0.0f, row_loss, NULL, NULL, head_chunk(t), p->head,
                                          &cnt));
    *loss_sum = loss, *count = cnt;
    p->fwd_train = train, p->fwd_pd = pd, p->fwd_seed = dropout_seed;
    return 0;
}

int core_train_backward(struct core_train *t, const struct core_train_batch *b,
                        const float *row_scale, struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    if (!p->fwd_train)
        return bz_errf(err, BZ_EINVAL, "train backward: the last forward was not a training "
                       "forward (core_train_forward with train = 1)");
    p->fwd_train = 0;
    int N = t->B * p->T, C = t->C, cnt = 0;
    memset(p->dxn, 0, sizeof(float) * (size_t)N * C);
    TIME(CORE_TRAIN_T_HEAD,
         core_ops_masked_head_rows(p->xf, p->out, b->targets, N, C, t->V, p->T, row_scale,
                                   0.0f, NULL, p->dxn, t->opts.full ? p->dout : NULL,
                                   head_chunk(t), p->head, &cnt));
    return step_backward(t, b, p->fwd_pd, p->fwd_seed, err);
}

static void point_f32(struct core_tensor *dst, const float *data)
{
    int64_t n = 1;
    for (int d = 0; d < dst->n_dims; d++)
        n *= dst->ne[d];
    dst->type = CORE_TYPE_F32, dst->data = (void *)data, dst->nbytes = sizeof(float) * (size_t)n;
}

int core_train_export_full(struct core_train *t, struct core_tensor *tensors, struct bz_err *err)
{
    struct tr_priv *p = t->priv;
    if (!t->opts.full)
        return bz_errf(err, BZ_EINVAL, "export_full: the trainer is in LoRA mode");
    const struct core_model *m = t->model;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct core_tensor *orig = &m->tensors[i];
        struct core_tensor *dst = &tensors[i];
        if (orig == m->tok_embd)
            point_f32(dst, p->emb->data);
        else if (orig == m->output)
            point_f32(dst, p->out->data);
        else if (orig == m->out_norm)
            point_f32(dst, p->out_norm);
        for (int l = 0; l < t->L; l++) {
            const struct core_layer *ly = &m->layers[l];
            const struct tr_layer *y = &p->layers[l];
            const struct core_tensor *bs[3] = {ly->bq, ly->bk, ly->bv};
            for (int k = 0; k < NLIN; k++)
                if (orig == model_lin(ly, k))
                    point_f32(dst, y->w[k]->data);
            for (int k = 0; k < 3; k++)
                if (bs[k] && orig == bs[k] && y->bias[k])
                    point_f32(dst, y->bias[k]);
            if (orig == ly->attn_norm)
                point_f32(dst, y->attn_norm);
            if (orig == ly->ffn_norm)
                point_f32(dst, y->ffn_norm);
        }
    }
    return 0;
}

const char *core_train_timer_name(int i)
{
    static const char *names[CORE_TRAIN_T_COUNT] = {"rmsnorm", "attn linears", "attention",
                                                     "ffn linears", "lora", "output head",
                                                     "other"};
    return i >= 0 && i < CORE_TRAIN_T_COUNT ? names[i] : "?";
}

void core_train_timers(const struct core_train *t, double out[CORE_TRAIN_T_COUNT])
{
    const struct tr_priv *p = t->priv;
    memcpy(out, p->timers, sizeof p->timers);
}
