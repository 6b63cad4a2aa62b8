/*
 * model.c: core_model_open (the three sources behind one struct), shape checks,
 * parameter counts, GGUF export, and the tensor type table.
 *
 * Key idea: every loader produces the same thing: cfg, a flat array of tensors with
 * GGUF names ("blk.3.attn_q.weight") and GGUF layouts, and optional metadata as a
 * struct core_gguf. core_model__bind then resolves the named roles and checks each
 * shape against cfg once, so the forward pass can trust the struct.
 * Left out: architectures other than llama and qwen2 (refused by name), partial
 * RoPE, YaRN scaling (refused).
 */
#include "core/model.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/gguf.h"
#include "core/quant.h"

/* ---------------------------------------------------------------- tensor types */

struct type_info {
    int type;
    const char *name;
    int block_elems;
    size_t block_bytes;
};

static const struct type_info type_table[] = {
    {CORE_TYPE_F32, "F32", 1, 4},
    {CORE_TYPE_F16, "F16", 1, 2},
    {CORE_TYPE_Q4_0, "Q4_0", 32, 18},
    {CORE_TYPE_Q4_1, "Q4_1", 32, 20},
    {CORE_TYPE_Q5_0, "Q5_0", 32, 22},
    {CORE_TYPE_Q5_1, "Q5_1", 32, 24},
    {CORE_TYPE_Q8_0, "Q8_0", 32, 34},
    {CORE_TYPE_Q8_1, "Q8_1", 32, 36},
    {CORE_TYPE_Q2_K, "Q2_K", 256, 84},
    {CORE_TYPE_Q3_K, "Q3_K", 256, 110},
    {CORE_TYPE_Q4_K, "Q4_K", 256, 144},
    {CORE_TYPE_Q5_K, "Q5_K", 256, 176},
    {CORE_TYPE_Q6_K, "Q6_K", 256, 210},
    {CORE_TYPE_Q8_K, "Q8_K", 256, 292},
    /* the i-quants: sizes known so files holding them open and are described;
     * nothing computes with them (core_model_open refuses them by name) */
    {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},
    {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},
    {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136},
    {29, "IQ1_M", 256, 56},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {CORE_TYPE_BF16, "BF16", 1, 2},
};

static const struct type_info *type_find(int type)
{
    for (size_t i = 0; i < BZ_ARRAY_SIZE(type_table); i++)
        if (type_table[i].type == type)
            return &type_table[i];
    return NULL;
}

/* Bytes per block of a ggml type; 0 when unknown. */
size_t core_type_block_bytes(int type)
{
    const struct type_info *t = type_find(type);
    return t ? t->block_bytes : 0;
}

/* Elements per block of a ggml type; 0 when unknown. */
int core_type_block_elems(int type)
{
    const struct type_info *t = type_find(type);
    return t ? t->block_elems : 0;
}

/* Name of a ggml type ("Q4_K"); "?" when unknown. */
const char *core_type_name(int type)
{
    const struct type_info *t = type_find(type);
    return t ? t->name : "?";
}

/* The type id for a name ("f16", "Q8_0", case-insensitive), or -1. */
int core_type_from_name(const char *name)
{
    for (size_t i = 0; i < BZ_ARRAY_SIZE(type_table); i++)
        if (strcasecmp(type_table[i].name, name) == 0)
            return type_table[i].type;
    return -1;
}

/* ---------------------------------------------------------------- lifetime */

struct defer {
    void (*fn)(void *);
    void *p;
};

struct model_priv {
    struct defer *d;
    size_t n, cap;
};

/* Register fn(p) to run at core_model_free, last registered first. */
void core_model__defer(struct core_model *m, void (*fn)(void *), void *p)
{
    struct model_priv *pv = m->priv;
    if (pv->n == pv->cap) {
        pv->cap = pv->cap ? pv->cap * 2 : 8;
        pv->d = bz_realloc(pv->d, pv->cap * sizeof *pv->d);
    }
    pv->d[pv->n++] = (struct defer){fn, p};
}

/* Run the deferred releases (mmaps, slabs, readers) and free the model. Takes NULL. */
void core_model_free(struct core_model *m)
{
    if (!m)
        return;
    struct model_priv *pv = m->priv;
    if (pv) {
        while (pv->n > 0) {
            struct defer d = pv->d[--pv->n];
            d.fn(d.p);
        }
        free(pv->d);
        free(pv);
    }
    free(m->tensors);
    free(m->layers);
    free(m->chat_template);
    free(m->name);
    free(m->path);
    free(m);
}

/* ---------------------------------------------------------------- tensors */

/* Number of elements of a tensor. */
int64_t core_tensor_nelems(const struct core_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++)
        n *= t->ne[d];
    return n;
}

/* A tensor by GGUF name (linear search); borrowed, NULL when absent. */
struct core_tensor *core_model_tensor(const struct core_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

/* Elements over all tensors (a tied output counts once). */
uint64_t core_model_params(const struct core_model *m)
{
    uint64_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        n += (uint64_t)core_tensor_nelems(&m->tensors[i]);
    return n;
}

/* Find a tensor, check its shape; NULL *out when absent and optional. */
static int want(struct core_model *m, struct core_tensor **out, int optional, int64_t ne0,
                int64_t ne1, struct bz_err *err, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int want(struct core_model *m, struct core_tensor **out, int optional, int64_t ne0,
                int64_t ne1, struct bz_err *err, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    struct core_tensor *t = core_model_tensor(m, name);
    *out = t;
    if (!t) {
        if (optional)
            return 0;
        return bz_errf(err, BZ_EFORMAT, "%s: missing tensor '%s'", m->path, name);
    }
    int nd = ne1 > 0 ? 2 : 1;
    int ok = t->ne[0] == ne0 && (nd == 1 ? core_tensor_nelems(t) == ne0 : t->ne[1] == ne1) &&
             t->ne[2] == 1 && t->ne[3] == 1;
    if (!ok)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld%s%lld]",
                       m->path, name, (long long)t->ne[0], (long long)t->ne[1],
                       (long long)t->ne[2], (long long)t->ne[3], (long long)ne0,
                       nd == 2 ? ", " : "", nd == 2 ? (long long)ne1 : 0LL);
    if (!core_quant_can_dequant(t->type))
        return bz_errf(err, BZ_EUNSUPPORTED,
                       "%s: tensor '%s' has type %s, which Bezoar cannot compute with", m->path,
                       name, core_type_name(t->type));
    return 0;
}

/* Resolve the named roles and check every shape and type against cfg. */
int core_model__bind(struct core_model *m, struct bz_err *err)
{
    struct core_model_config *c = &m->cfg;
    if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->head_dim <= 0 || c->ffn_dim <= 0 || c->vocab_size <= 0)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: bad shape: dim %d, layers %d, heads %d, kv heads %d, head dim %d, "
                       "ffn %d, vocab %d", m->path, c->dim, c->n_layers, c->n_heads,
                       c->n_kv_heads, c->head_dim, c->ffn_dim, c->vocab_size);
    if (c->n_heads % c->n_kv_heads != 0)
        return bz_errf(err, BZ_EFORMAT, "%s: %d heads is not a multiple of %d kv heads",
                       m->path, c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return bz_errf(err, BZ_EFORMAT, "%s: head dim %d is odd", m->path, c->head_dim);
    if (c->n_layers > 4096)
        return bz_errf(err, BZ_EFORMAT, "%s: %d layers", m->path, c->n_layers);
    int64_t C = c->dim, V = c->vocab_size, FF = c->ffn_dim;
    int64_t QD = (int64_t)c->n_heads * c->head_dim, KD = (int64_t)c->n_kv_heads * c->head_dim;
    int rc;
    if ((rc = want(m, &m->tok_embd, 0, C, V, err, "token_embd.weight")) ||
        (rc = want(m, &m->out_norm, 0, C, 0, err, "output_norm.weight")) ||
        (rc = want(m, &m->output, 1, C, V, err, "output.weight")) ||
        (rc = want(m, &m->rope_freqs, 1, c->head_dim / 2, 0, err, "rope_freqs.weight")))
        return rc;
    if (!m->output) {
        m->output = m->tok_embd;
        c->tied_output = 1;
    }
    free(m->layers);
    m->layers = bz_calloc((size_t)c->n_layers, sizeof *m->layers);
    int any_bias = 0;
    for (int l = 0; l < c->n_layers; l++) {
        struct core_layer *L = &m->layers[l];
        if ((rc = want(m, &L->attn_norm, 0, C, 0, err, "blk.%d.attn_norm.weight", l)) ||
            (rc = want(m, &L->wq, 0, C, QD, err, "blk.%d.attn_q.weight", l)) ||
            (rc = want(m, &L->wk, 0, C, KD, err, "blk.%d.attn_k.weight", l)) ||
            (rc = want(m, &L->wv, 0, C, KD, err, "blk.%d.attn_v.weight", l)) ||
            (rc = want(m, &L->wo, 0, QD, C, err, "blk.%d.attn_output.weight", l)) ||
            (rc = want(m, &L->bq, 1, QD, 0, err, "blk.%d.attn_q.bias", l)) ||
            (rc = want(m, &L->bk, 1, KD, 0, err, "blk.%d.attn_k.bias", l)) ||
            (rc = want(m, &L->bv, 1, KD, 0, err, "blk.%d.attn_v.bias", l)) ||
            (rc = want(m, &L->ffn_norm, 0, C, 0, err, "blk.%d.ffn_norm.weight", l)) ||
            (rc = want(m, &L->w_gate, 0, C, FF, err, "blk.%d.ffn_gate.weight", l)) ||
            (rc = want(m, &L->w_up, 0, C, FF, err, "blk.%d.ffn_up.weight", l)) ||
            (rc = want(m, &L->w_down, 0, FF, C, err, "blk.%d.ffn_down.weight", l)))
            return rc;
        int nb = !!L->bq + !!L->bk + !!L->bv;
        if (nb != 0 && nb != 3)
            return bz_errf(err, BZ_EFORMAT, "%s: layer %d has %d of the 3 q/k/v biases",
                           m->path, l, nb);
        if (l > 0 && (nb == 3) != any_bias)
            return bz_errf(err, BZ_EFORMAT, "%s: layer %d differs from layer 0 in q/k/v biases",
                           m->path, l);
        any_bias = nb == 3;
    }
    c->qkv_bias = any_bias;
    if (c->arch == CORE_ARCH_QWEN2 && !any_bias)
        return bz_errf(err, BZ_EFORMAT, "%s: qwen2 model without q/k/v biases", m->path);
    return 0;
}

/* ---------------------------------------------------------------- GGUF source */

static void defer_gguf_close(void *p)
{
    core_gguf_close(p);
}

static int arch_from_name(const char *path, const char *name, size_t n, int *arch,
                          struct bz_err *err)
{
    if (n == 5 && memcmp(name, "llama", 5) == 0) {
        *arch = CORE_ARCH_LLAMA;
        return 0;
    }
    if (n == 5 && memcmp(name, "qwen2", 5) == 0) {
        *arch = CORE_ARCH_QWEN2;
        return 0;
    }
    return bz_errf(err, BZ_EUNSUPPORTED,
                   "%s: architecture '%.*s' is not supported (llama and qwen2 are)", path,
                   (int)BZ_MIN(n, 64), name);
}

static const char *arch_name(int arch)
{
    return arch == CORE_ARCH_QWEN2 ? "qwen2" : "llama";
}

/* An integer hyper-parameter "<arch>.<key>": required unless def >= 0. */
static int hp_int(const struct core_gguf *g, const char *arch, const char *key, int def,
                  int *out, struct bz_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (!core_gguf_find(g, k) && def >= 0) {
        *out = def;
        return 0;
    }
    uint32_t v;
    int rc = core_gguf_get_u32(g, k, &v, err);
    if (rc)
        return rc;
    if (v > (uint32_t)INT32_MAX)
        return bz_errf(err, BZ_ERANGE, "%s: %s = %u is too large", g->path, k, v);
    *out = (int)v;
    return 0;
}

static int hp_float(const struct core_gguf *g, const char *arch, const char *key, float def,
                    float *out, struct bz_err *err)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (!core_gguf_find(g, k)) {
        *out = def;
        return 0;
    }
    return core_gguf_get_f32(g, k, out, err);
}

static int load_gguf(struct core_model *m, const char *path, struct bz_err *err)
{
    struct core_gguf *g;
    int rc = core_gguf_open(&g, path, err);
    if (rc)
        return rc;
    core_model__defer(m, defer_gguf_close, g);
    m->gguf = g;
    m->format = "gguf";
    struct core_gguf_str a;
    if ((rc = core_gguf_get_str(g, "general.architecture", &a, err)))
        return rc;
    struct core_model_config *c = &m->cfg;
    if ((rc = arch_from_name(path, a.p, a.n, &c->arch, err)))
        return rc;
    const char *an = arch_name(c->arch);
    int rope_dim = 0, key_len = 0;
    if ((rc = hp_int(g, an, "embedding_length", -1, &c->dim, err)) ||
        (rc = hp_int(g, an, "block_count", -1, &c->n_layers, err)) ||
        (rc = hp_int(g, an, "attention.head_count", -1, &c->n_heads, err)) ||
        (rc = hp_int(g, an, "feed_forward_length", -1, &c->ffn_dim, err)) ||
        (rc = hp_int(g, an, "context_length", -1, &c->ctx_len, err)) ||
        (rc = hp_int(g, an, "attention.head_count_kv", c->n_heads, &c->n_kv_heads, err)) ||
        (rc = hp_int(g, an, "attention.key_length", 0, &key_len, err)) ||
        (rc = hp_int(g, an, "rope.dimension_count", 0, &rope_dim, err)) ||
        (rc = hp_float(g, an, "rope.freq_base", 10000.0f, &c->rope_theta, err)))
        return rc;
    char k[128];
    snprintf(k, sizeof k, "%s.attention.layer_norm_rms_epsilon", an);
    if ((rc = core_gguf_get_f32(g, k, &c->norm_eps, err)))
        return rc;
    if (c->n_heads <= 0 || c->dim <= 0)
        return bz_errf(err, BZ_EFORMAT, "%s: %d heads, dim %d", path, c->n_heads, c->dim);
    c->head_dim = key_len > 0 ? key_len : c->dim / c->n_heads;
    if (rope_dim != 0 && rope_dim != c->head_dim)
        return bz_errf(err, BZ_EUNSUPPORTED,
                       "%s: partial RoPE (%d of %d head dims) is not supported", path, rope_dim,
                       c->head_dim);
    c->rope_mode = c->arch == CORE_ARCH_QWEN2 ? CORE_ROPE_NEOX : CORE_ROPE_NORM;
    c->rope_scale = 1.0f;
    snprintf(k, sizeof k, "%s.rope.scaling.type", an);
    struct core_gguf_str st = {"none", 4};
    if (core_gguf_find(g, k) && (rc = core_gguf_get_str(g, k, &st, err)))
        return rc;
    if (st.n == 6 && memcmp(st.p, "linear", 6) == 0) {
        if ((rc = hp_float(g, an, "rope.scaling.factor", 1.0f, &c->rope_scale, err)))
            return rc;
    } else if (!(st.n == 4 && memcmp(st.p, "none", 4) == 0)) {
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: RoPE scaling '%.*s' is not supported", path,
                       (int)BZ_MIN(st.n, 32), st.p);
    }
    if ((rc = hp_float(g, an, "rope.scale_linear", c->rope_scale, &c->rope_scale, err)))
        return rc;
    if (!(c->rope_scale > 0))
        return bz_errf(err, BZ_EFORMAT, "%s: RoPE scale %g", path, c->rope_scale);

    if (g->n_tensors > INT32_MAX / 2)
        return bz_errf(err, BZ_EFORMAT, "%s: %lld tensors", path, (long long)g->n_tensors);
    m->n_tensors = (int)g->n_tensors;
    m->tensors = bz_calloc((size_t)BZ_MAX(m->n_tensors, 1), sizeof *m->tensors);
    for (int i = 0; i < m->n_tensors; i++) {
        const struct core_gguf_tensor *s = &g->tensors[i];
        struct core_tensor *t = &m->tensors[i];
        memcpy(t->name, s->name, sizeof t->name);
        t->type = s->type;
        t->n_dims = s->n_dims;
        memcpy(t->ne, s->ne, sizeof t->ne);
        t->data = (void *)s->data; /* read-only mapping */
        t->nbytes = s->nbytes;
    }
    if (g->n_tensors == 0)
        return bz_errf(err, BZ_EFORMAT, "%s: no tensors: a vocabulary-only GGUF (tokenize works "
                       "on it, a model needs weights)", path);
    const struct core_gguf_tensor *te = core_gguf_tensor(g, "token_embd.weight");
    if (!te)
        return bz_errf(err, BZ_EFORMAT, "%s: missing tensor 'token_embd.weight'", path);
    if (te->ne[1] > INT32_MAX)
        return bz_errf(err, BZ_EFORMAT, "%s: vocab of %lld", path, (long long)te->ne[1]);
    c->vocab_size = (int)te->ne[1];
    if (core_gguf_find(g, "general.name") &&
        (rc = core_gguf_get_strdup(g, "general.name", &m->name, err)))
        return rc;
    if (core_gguf_find(g, "tokenizer.chat_template") &&
        (rc = core_gguf_get_strdup(g, "tokenizer.chat_template", &m->chat_template, err)))
        return rc;
    return core_model__bind(m, err);
}

/* ---------------------------------------------------------------- open */

/* Open a GGUF file, llama2.c checkpoint or HF directory; see model.h. */
int core_model_open(struct core_model **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return bz_errf(err, BZ_EINVAL, "%s: not a regular file or a directory", path);
    struct core_model *m = bz_calloc(1, sizeof *m);
    m->priv = bz_calloc(1, sizeof(struct model_priv));
    m->path = bz_strdup(path);
    int rc;
    if (S_ISDIR(st.st_mode)) {
        rc = core_hf_load(m, path, err);
    } else {
        char magic[4] = {0};
        FILE *f = fopen(path, "rb");
        if (!f) {
            rc = bz_errf(err, -errno, "%s: %s", path, strerror(errno));
            core_model_free(m);
            return rc;
        }
        size_t got = fread(magic, 1, 4, f);
        fclose(f);
        if (got == 4 && memcmp(magic, "GGUF", 4) == 0)
            rc = load_gguf(m, path, err);
        else
            rc = core_llama2c_load(m, path, err);
    }
    if (rc == 0 && !m->name) {
        /* the file or directory name, without a trailing slash or extension */
        char *p = bz_strdup(path);
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            p[--n] = '\0';
        char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
        char *dot = strrchr(base, '.');
        if (dot && dot != base && !S_ISDIR(st.st_mode))
            *dot = '\0';
        m->name = bz_strdup(base);
        free(p);
    }
    if (rc) {
        core_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---------------------------------------------------------------- GGUF export */

struct save_tensor {
    const struct core_tensor *t;
    int type;
};

/* Produce a tensor in its target type, row by row (dequantize, then quantize). */
static int save_fill(void *ctx, void *dst, size_t nbytes, struct bz_err *err)
{
    const struct save_tensor *s = ctx;
    const struct core_tensor *t = s->t;
    if (t->type == s->type) {
        memcpy(dst, t->data, nbytes);
        return 0;
    }
    int64_t row = t->ne[0], rows = core_tensor_nelems(t) / row;
    size_t in_row = core_quant_row_bytes(t->type, row);
    size_t out_row = core_quant_row_bytes(s->type, row);
    float *buf = malloc((size_t)row * sizeof *buf);
    if (!buf)
        return bz_errf(err, BZ_ENOMEM, "tensor '%s': no memory for a row", t->name);
    int rc = 0;
    for (int64_t r = 0; r < rows && rc == 0; r++) {
        rc = core_dequant_row(t->type, (const uint8_t *)t->data + (size_t)r * in_row, buf, row);
        if (rc == 0)
            rc = core_quant_row(s->type, buf, (uint8_t *)dst + (size_t)r * out_row, row);
    }
    free(buf);
    if (rc)
        return bz_errf(err, rc, "tensor '%s': cannot convert %s to %s", t->name,
                       core_type_name(t->type), core_type_name(s->type));
    return 0;
}

static int skip_key(const struct core_gguf_kv *kv, const char *arch)
{
    static const char *const own[] = {"general.architecture", "general.name",
                                      "general.file_type", "general.alignment"};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(own); i++)
        if (kv->key.n == strlen(own[i]) && memcmp(kv->key.p, own[i], kv->key.n) == 0)
            return 1;
    size_t an = strlen(arch);
    return kv->key.n > an && memcmp(kv->key.p, arch, an) == 0 && kv->key.p[an] == '.';
}

/* Write m as GGUF with matrices in type; see model.h. */
int core_model_save_gguf(const struct core_model *m, const char *path, int type,
                         struct bz_buf *report, struct bz_err *err)
{
    return core_model_save_gguf_progress(m, path, type, report, NULL, NULL, err);
}

/* core_model_save_gguf with a progress callback per tensor. */
int core_model_save_gguf_progress(const struct core_model *m, const char *path, int type,
                                  struct bz_buf *report,
                                  int (*fn)(void *ctx, uint64_t done, uint64_t total),
                                  void *ctx, struct bz_err *err)
{
    if (!core_quant_can_quant(type))
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: cannot write tensors as %s (f32, f16, bf16 "
                       "and q8_0 are supported)", path, core_type_name(type));
    const struct core_model_config *c = &m->cfg;
    const char *an = arch_name(c->arch);
    struct core_gguf_writer *w = core_gguf_writer_new();
    char k[128];
#define KEY(suffix) (snprintf(k, sizeof k, "%s." suffix, an), k)
    core_gguf_writer_set_str(w, "general.architecture", an);
    core_gguf_writer_set_str(w, "general.name", m->name ? m->name : "model");
    uint32_t ftype = type == CORE_TYPE_F16 ? 1 : type == CORE_TYPE_Q8_0 ? 7
                     : type == CORE_TYPE_BF16 ? 32 : 0;
    core_gguf_writer_set_u32(w, "general.file_type", ftype);
    core_gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)c->ctx_len);
    core_gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)c->dim);
    core_gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)c->n_layers);
    core_gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)c->ffn_dim);
    core_gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads);
    core_gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    core_gguf_writer_set_u32(w, KEY("rope.dimension_count"), (uint32_t)c->head_dim);
    core_gguf_writer_set_f32(w, KEY("rope.freq_base"), c->rope_theta);
    core_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->norm_eps);
    core_gguf_writer_set_u32(w, KEY("vocab_size"), (uint32_t)c->vocab_size);
    if (c->head_dim * c->n_heads != c->dim) {
        core_gguf_writer_set_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
        core_gguf_writer_set_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
    }
    if (c->rope_scale != 1.0f) {
        core_gguf_writer_set_str(w, KEY("rope.scaling.type"), "linear");
        core_gguf_writer_set_f32(w, KEY("rope.scaling.factor"), c->rope_scale);
    }
#undef KEY
    int rc = 0;
    if (m->gguf)
        for (int64_t i = 0; i < m->gguf->n_kv && rc == 0; i++)
            if (!skip_key(&m->gguf->kvs[i], an))
                rc = core_gguf_writer_copy_kv(w, &m->gguf->kvs[i]);
    if (rc == 0 && m->chat_template && !(m->gguf && core_gguf_find(m->gguf,
                                                                    "tokenizer.chat_template")))
        rc = core_gguf_writer_set_str(w, "tokenizer.chat_template", m->chat_template);
    if (rc)
        rc = bz_errf(err, rc, "%s: cannot copy the metadata", path);
    struct save_tensor *st = bz_calloc((size_t)BZ_MAX(m->n_tensors, 1), sizeof *st);
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const struct core_tensor *t = &m->tensors[i];
        int to = t->n_dims == 1 ? CORE_TYPE_F32 : type;
        if (!core_quant_can_dequant(t->type) && t->type != to)
            rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: tensor '%s' is %s, which cannot be converted",
                         path, t->name, core_type_name(t->type));
        if (rc == 0 && t->ne[0] % core_type_block_elems(to) != 0) {
            if (report)
                bz_buf_printf(report, "%s: rows of %lld are not a multiple of the %s block; "
                              "written as F16\n", t->name, (long long)t->ne[0],
                              core_type_name(to));
            to = CORE_TYPE_F16;
        }
        st[i].t = t;
        st[i].type = to;
        if (rc == 0)
            rc = core_gguf_writer_add_tensor_fn(w, t->name, to, t->n_dims, t->ne, save_fill,
                                                &st[i], err);
    }
    core_gguf_writer_set_progress(w, fn, ctx);
    if (rc == 0)
        rc = core_gguf_writer_write(w, path, err);
    free(st);
    core_gguf_writer_free(w);
    return rc;
}
