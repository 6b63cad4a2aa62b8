/*
 * hf.c: Hugging Face model directories: config.json + model.safetensors, or shards
 * listed in model.safetensors.index.json; tokenizer_config.json for the chat
 * template.
 *
 * Key idea: names are mapped to GGUF names ("model.layers.3.self_attn.q_proj.weight"
 * -> "blk.3.attn_q.weight") and, for llama, the rows of q_proj and k_proj (and
 * their biases) are permuted from HF's half-split RoPE order to GGUF's
 * adjacent-pair order, exactly as llama.cpp's converter does: within each head,
 * GGUF row 2*i + j is HF row j*HS/2 + i. Permuted tensors (and any tensor whose
 * data is not aligned in the file) are copied into owned memory; the rest point
 * into the mapped shards. Qwen2 uses NeoX RoPE, so nothing is permuted.
 * Llama 3.1-style "llama3" RoPE scaling becomes a rope_freqs tensor as in GGUF.
 * tokenizer.json (+ tokenizer_config.json) is loaded by the tokenizer module and
 * written back as in-memory GGUF metadata (tokenizer.ggml.*: model, pre, tokens,
 * scores, types, merges, special ids and flags, chat template) in m->gguf, so the
 * vocabulary reaches every user the same way as from a GGUF file, and `convert`
 * writes it out. A tokenizer.json the tokenizer cannot load leaves m->gguf without
 * tokenizer keys (the model still opens; the vocab loader reports why).
 * Left out: unknown tensor names are refused.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "core/gguf.h"
#include "core/model.h"
#include "core/safetensors.h"
#include "core/tok-internal.h"
#include "core/tokenizer.h"

static void defer_st(void *p)
{
    core_safetensors_close(p);
}

static int read_json(const char *path, cJSON **out, struct bz_err *err)
{
    char *text;
    size_t len;
    int rc = bz_read_file(path, &text, &len, err);
    if (rc)
        return rc;
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out)
        return bz_errf(err, BZ_EPARSE, "%s: does not parse as JSON", path);
    return 0;
}

static int cfg_int(const cJSON *c, const char *key, int def, int *out, const char *path,
                   struct bz_err *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!j || cJSON_IsNull(j)) {
        if (def < 0)
            return bz_errf(err, BZ_EFORMAT, "%s: missing \"%s\"", path, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > INT32_MAX ||
        floor(j->valuedouble) != j->valuedouble)
        return bz_errf(err, BZ_EFORMAT, "%s: \"%s\" is not a non-negative integer", path, key);
    *out = (int)j->valuedouble;
    return 0;
}

static int cfg_float(const cJSON *c, const char *key, float def, float *out, const char *path,
                     struct bz_err *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!j || cJSON_IsNull(j)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(j))
        return bz_errf(err, BZ_EFORMAT, "%s: \"%s\" is not a number", path, key);
    *out = (float)j->valuedouble;
    return 0;
}

/* ---------------------------------------------------------------- names */

static const struct {
    const char *hf, *gguf;
} layer_names[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

/* The GGUF name of an HF tensor: 1 mapped, 0 to skip, -1 unknown. */
static int map_name(const char *hf, char out[96], int n_layers)
{
    if (strcmp(hf, "model.embed_tokens.weight") == 0)
        return snprintf(out, 96, "token_embd.weight"), 1;
    if (strcmp(hf, "model.norm.weight") == 0)
        return snprintf(out, 96, "output_norm.weight"), 1;
    if (strcmp(hf, "lm_head.weight") == 0)
        return snprintf(out, 96, "output.weight"), 1;
    int layer, pos = 0;
    if (sscanf(hf, "model.layers.%d.%n", &layer, &pos) != 1 || pos == 0 || layer < 0 ||
        layer >= n_layers)
        return -1;
    const char *rest = hf + pos;
    if (strcmp(rest, "self_attn.rotary_emb.inv_freq") == 0)
        return 0;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(layer_names); i++)
        if (strcmp(rest, layer_names[i].hf) == 0)
            return snprintf(out, 96, "blk.%d.%s", layer, layer_names[i].gguf), 1;
    return -1;
}

/* ---------------------------------------------------------------- tensors */

struct slab {
    void **p;
    size_t n;
};

static void free_slab(void *q)
{
    struct slab *s = q;
    for (size_t i = 0; i < s->n; i++)
        free(s->p[i]);
    free(s->p);
    free(s);
}

static void *slab_alloc(struct slab *s, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    s->p = bz_realloc(s->p, (s->n + 1) * sizeof *s->p);
    s->p[s->n++] = p;
    return p;
}

/* Copy rows of src into dst in GGUF RoPE order: n_head heads of rows of row_bytes. */
static void permute_rows(uint8_t *dst, const uint8_t *src, int64_t rows, size_t row_bytes,
                         int n_head)
{
    int64_t hs = rows / n_head, half = hs / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++)
                memcpy(dst + (size_t)(h * hs + 2 * i + j) * row_bytes,
                       src + (size_t)(h * hs + j * half + i) * row_bytes, row_bytes);
}

static int add_tensor(struct core_model *m, struct slab *slab, const char *gname,
                      const struct core_safetensors *st, const struct core_safetensors_tensor *s,
                      int cap, struct bz_err *err)
{
    if (s->type < 0)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (F32, F16 and BF16 "
                       "are supported)", st->path, s->name, core_safetensors_dtype_name(s->dtype));
    if (s->n_dims < 1 || s->n_dims > 2)
        return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s' has %d dimensions", st->path, s->name,
                       s->n_dims);
    if (m->n_tensors >= cap)
        return bz_errf(err, BZ_EFORMAT, "%s: too many tensors", st->path);
    if (core_model_tensor(m, gname))
        return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s' appears twice", st->path, s->name);
    struct core_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", gname);
    t->type = s->type;
    t->n_dims = s->n_dims;
    for (int d = 0; d < 4; d++)
        t->ne[d] = s->ne[d];
    t->nbytes = s->nbytes;
    size_t es = core_type_block_bytes(t->type);
    int permute = 0;
    if (m->cfg.arch == CORE_ARCH_LLAMA) {
        const char *suf = strchr(gname + 4, '.');
        if (suf && (strncmp(suf, ".attn_q.", 8) == 0))
            permute = m->cfg.n_heads;
        if (suf && (strncmp(suf, ".attn_k.", 8) == 0))
            permute = m->cfg.n_kv_heads;
    }
    if (!permute && (uintptr_t)s->data % es == 0) {
        t->data = (void *)s->data; /* read-only mapping */
        return 0;
    }
    t->data = slab_alloc(slab, s->nbytes);
    if (!t->data)
        return bz_errf(err, BZ_ENOMEM, "%s: no memory for tensor '%s' (%zu bytes)", st->path,
                       s->name, s->nbytes);
    if (!permute) {
        memcpy(t->data, s->data, s->nbytes);
        return 0;
    }
    /* rows are ne[1] for a matrix, ne[0] single elements for a bias */
    int64_t rows = t->n_dims == 2 ? t->ne[1] : t->ne[0];
    size_t row_bytes = t->n_dims == 2 ? (size_t)t->ne[0] * es : es;
    if (rows % permute != 0 || (rows / permute) % 2 != 0)
        return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s': %lld rows do not split into %d heads "
                       "of even size", st->path, s->name, (long long)rows, permute);
    permute_rows(t->data, s->data, rows, row_bytes, permute);
    return 0;
}

/* Llama 3.1 "llama3" RoPE scaling as per-frequency factors (llama.cpp's rope_freqs). */
static int llama3_freqs(struct core_model *m, struct slab *slab, const cJSON *rs, int cap,
                        const char *path, struct bz_err *err)
{
    float factor, lo, hi;
    int old_ctx;
    int rc;
    if ((rc = cfg_float(rs, "factor", 8.0f, &factor, path, err)) ||
        (rc = cfg_float(rs, "low_freq_factor", 1.0f, &lo, path, err)) ||
        (rc = cfg_float(rs, "high_freq_factor", 4.0f, &hi, path, err)) ||
        (rc = cfg_int(rs, "original_max_position_embeddings", 8192, &old_ctx, path, err)))
        return rc;
    if (!(hi > lo) || !(factor > 0))
        return bz_errf(err, BZ_EFORMAT, "%s: bad llama3 rope_scaling", path);
    int n = m->cfg.head_dim / 2;
    float *f = slab_alloc(slab, (size_t)n * sizeof *f);
    if (!f || m->n_tensors >= cap)
        return bz_errf(err, BZ_ENOMEM, "%s: no memory", path);
    double lo_wl = old_ctx / lo, hi_wl = old_ctx / hi;
    for (int i = 0; i < n; i++) {
        double freq = 1.0 / pow(m->cfg.rope_theta, 2.0 * i / m->cfg.head_dim);
        double wl = 2 * M_PI / freq;
        if (wl < hi_wl)
            f[i] = 1.0f;
        else if (wl > lo_wl)
            f[i] = factor;
        else {
            double smooth = (old_ctx / wl - lo) / (hi - lo);
            f[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
    struct core_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "rope_freqs.weight");
    t->type = CORE_TYPE_F32;
    t->n_dims = 1;
    t->ne[0] = n;
    t->ne[1] = t->ne[2] = t->ne[3] = 1;
    t->data = f;
    t->nbytes = (size_t)n * 4;
    return 0;
}

/* ---------------------------------------------------------------- config */

static int read_config(struct core_model *m, const char *dir, cJSON **rope_scaling_out,
                       cJSON **root_out, int *tie, struct bz_err *err)
{
    char *path = bz_path_join(dir, "config.json");
    cJSON *c;
    int rc = read_json(path, &c, err);
    if (rc) {
        free(path);
        return rc;
    }
    *root_out = c;
    struct core_model_config *k = &m->cfg;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    if (!cJSON_IsString(mt))
        rc = bz_errf(err, BZ_EFORMAT, "%s: missing \"model_type\"", path);
    else if (strcmp(mt->valuestring, "llama") == 0)
        k->arch = CORE_ARCH_LLAMA;
    else if (strcmp(mt->valuestring, "qwen2") == 0)
        k->arch = CORE_ARCH_QWEN2;
    else
        rc = bz_errf(err, BZ_EUNSUPPORTED,
                     "%s: architecture '%.64s' is not supported (llama and qwen2 are)", path,
                     mt->valuestring);
    if (rc == 0)
        rc = cfg_int(c, "hidden_size", -1, &k->dim, path, err);
    if (rc == 0)
        rc = cfg_int(c, "num_hidden_layers", -1, &k->n_layers, path, err);
    if (rc == 0)
        rc = cfg_int(c, "num_attention_heads", -1, &k->n_heads, path, err);
    if (rc == 0)
        rc = cfg_int(c, "intermediate_size", -1, &k->ffn_dim, path, err);
    if (rc == 0)
        rc = cfg_int(c, "vocab_size", -1, &k->vocab_size, path, err);
    if (rc == 0)
        rc = cfg_int(c, "max_position_embeddings", 2048, &k->ctx_len, path, err);
    if (rc == 0)
        rc = cfg_float(c, "rope_theta", 10000.0f, &k->rope_theta, path, err);
    if (rc == 0)
        rc = cfg_float(c, "rms_norm_eps", -1.0f, &k->norm_eps, path, err);
    if (rc == 0 && (rc = cfg_int(c, "num_key_value_heads", k->n_heads, &k->n_kv_heads, path,
                                 err)) == 0) {
        if (k->n_heads <= 0)
            rc = bz_errf(err, BZ_EFORMAT, "%s: num_attention_heads is 0", path);
        else
            rc = cfg_int(c, "head_dim", k->dim / k->n_heads, &k->head_dim, path, err);
    }
    if (rc == 0 && !(k->norm_eps > 0))
        rc = bz_errf(err, BZ_EFORMAT, "%s: missing or bad \"rms_norm_eps\"", path);
    /* transformers' default for llama and qwen2 is an untied lm_head */
    *tie = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "tie_word_embeddings"));
    k->rope_mode = k->arch == CORE_ARCH_QWEN2 ? CORE_ROPE_NEOX : CORE_ROPE_NORM;
    k->rope_scale = 1.0f;
    cJSON *rs = cJSON_GetObjectItemCaseSensitive(c, "rope_scaling");
    *rope_scaling_out = NULL;
    if (rc == 0 && rs && !cJSON_IsNull(rs)) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
        if (!cJSON_IsString(ty))
            ty = cJSON_GetObjectItemCaseSensitive(rs, "type");
        const char *tn = cJSON_IsString(ty) ? ty->valuestring : "?";
        if (strcmp(tn, "linear") == 0)
            rc = cfg_float(rs, "factor", 1.0f, &k->rope_scale, path, err);
        else if (strcmp(tn, "llama3") == 0 && k->arch == CORE_ARCH_LLAMA)
            *rope_scaling_out = rs;
        else if (strcmp(tn, "default") != 0)
            rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: rope_scaling type '%.32s' is not supported",
                         path, tn);
    }
    free(path);
    return rc;
}

/* The chat template from tokenizer_config.json (a string, or the "default" of a
 * list of named templates); absent is fine. */
static int read_chat_template(struct core_model *m, const char *dir, struct bz_err *err)
{
    char *path = bz_path_join(dir, "tokenizer_config.json");
    if (access(path, R_OK) != 0) {
        free(path);
        return 0;
    }
    cJSON *c;
    int rc = read_json(path, &c, err);
    free(path);
    if (rc)
        return rc;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "chat_template");
    if (cJSON_IsString(t)) {
        m->chat_template = bz_strdup(t->valuestring);
    } else if (cJSON_IsArray(t)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, t)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "template");
            if (cJSON_IsString(n) && cJSON_IsString(v) && strcmp(n->valuestring, "default") == 0)
                m->chat_template = bz_strdup(v->valuestring);
        }
    }
    cJSON_Delete(c);
    return 0;
}

/* The shard files: from model.safetensors.index.json, else model.safetensors. */
static int list_shards(const char *dir, char ***out, int *n, struct bz_err *err)
{
    char *idx = bz_path_join(dir, "model.safetensors.index.json");
    *out = NULL;
    *n = 0;
    if (access(idx, R_OK) != 0) {
        free(idx);
        char *one = bz_path_join(dir, "model.safetensors");
        if (access(one, R_OK) != 0) {
            int rc = bz_errf(err, BZ_ENOENT, "%s: no model.safetensors or "
                             "model.safetensors.index.json", dir);
            free(one);
            return rc;
        }
        *out = bz_malloc(sizeof **out);
        (*out)[0] = one;
        *n = 1;
        return 0;
    }
    cJSON *c;
    int rc = read_json(idx, &c, err);
    if (rc) {
        free(idx);
        return rc;
    }
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(c, "weight_map");
    if (!cJSON_IsObject(wm))
        rc = bz_errf(err, BZ_EFORMAT, "%s: missing \"weight_map\" object", idx);
    const cJSON *e;
    char **files = NULL;
    int nf = 0;
    if (rc == 0)
        cJSON_ArrayForEach(e, wm)
        {
            if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || e->valuestring[0] == '.') {
                rc = bz_errf(err, BZ_EFORMAT, "%s: weight_map entry '%.64s' is not a plain file "
                             "name", idx, e->string ? e->string : "?");
                break;
            }
            char *f = bz_path_join(dir, e->valuestring);
            int seen = 0;
            for (int i = 0; i < nf && !seen; i++)
                seen = strcmp(files[i], f) == 0;
            if (seen) {
                free(f);
                continue;
            }
            files = bz_realloc(files, (size_t)(nf + 1) * sizeof *files);
            files[nf++] = f;
        }
    cJSON_Delete(c);
    free(idx);
    *out = files;
    *n = nf;
    if (rc == 0 && nf == 0)
        rc = bz_errf(err, BZ_EFORMAT, "%s: empty weight_map", dir);
    return rc;
}

/* ---------------------------------------------------------------- vocabulary */

static void free_img(void *p)
{
    bz_buf_cleanup(p);
    free(p);
}

static void close_gguf(void *p)
{
    core_gguf_close(p);
}

static void set_id(struct core_gguf_writer *w, const char *key, int id)
{
    if (id >= 0)
        core_gguf_writer_set_u32(w, key, (uint32_t)id);
}

/* The vocab as GGUF tokenizer metadata, the way llama.cpp's converter writes it. */
static void vocab_kvs(struct core_gguf_writer *w, const struct core_vocab *v)
{
    int n = v->n_tokens;
    const char **texts = bz_calloc((size_t)BZ_MAX(n, 1), sizeof *texts);
    size_t *lens = bz_calloc((size_t)BZ_MAX(n, 1), sizeof *lens);
    float *scores = bz_calloc((size_t)BZ_MAX(n, 1), sizeof *scores);
    int32_t *types = bz_calloc((size_t)BZ_MAX(n, 1), sizeof *types);
    for (int i = 0; i < n; i++) {
        texts[i] = v->tokens[i].text;
        lens[i] = v->tokens[i].len;
        scores[i] = v->tokens[i].score;
        types[i] = v->tokens[i].type;
    }
    int spm = v->kind == CORE_VOCAB_SPM;
    core_gguf_writer_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    if (!spm && v->pre[0])
        core_gguf_writer_set_str(w, "tokenizer.ggml.pre", v->pre);
    core_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, lens, (uint64_t)n);
    core_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CORE_GGUF_FLOAT32, scores,
                             (uint64_t)n);
    core_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CORE_GGUF_INT32, types,
                             (uint64_t)n);
    const struct core_vocab__priv *pv = v->priv;
    if (!spm && pv && pv->n_merges > 0) {
        char **mt = bz_calloc((size_t)pv->n_merges, sizeof *mt);
        size_t *ml = bz_calloc((size_t)pv->n_merges, sizeof *ml);
        for (int i = 0; i < pv->n_merges; i++) {
            const struct core__tok_merge *g = &pv->merges[i];
            mt[i] = bz_malloc(g->len + 2);
            memcpy(mt[i], g->text, g->left_len);
            mt[i][g->left_len] = ' ';
            memcpy(mt[i] + g->left_len + 1, g->text + g->left_len, g->len - g->left_len);
            ml[i] = g->len + 1;
        }
        core_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)mt, ml,
                                     (uint64_t)pv->n_merges);
        for (int i = 0; i < pv->n_merges; i++)
            free(mt[i]);
        free(mt);
        free(ml);
    }
    set_id(w, "tokenizer.ggml.bos_token_id", v->bos);
    set_id(w, "tokenizer.ggml.eos_token_id", v->eos);
    set_id(w, "tokenizer.ggml.unknown_token_id", v->unk);
    set_id(w, "tokenizer.ggml.padding_token_id", v->pad);
    set_id(w, "tokenizer.ggml.eot_token_id", v->eot);
    core_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos);
    core_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", v->add_eos);
    if (spm)
        core_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix);
    free(texts);
    free(lens);
    free(scores);
    free(types);
}

/* m->gguf: architecture, chat template and (when tokenizer.json loads) the vocab. */
static int load_metadata(struct core_model *m, const char *dir, struct bz_err *err)
{
    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.architecture",
                             m->cfg.arch == CORE_ARCH_QWEN2 ? "qwen2" : "llama");
    char *tj = bz_path_join(dir, "tokenizer.json");
    struct core_vocab *v = NULL;
    if (access(tj, R_OK) == 0 && core_vocab_from_hf(&v, dir, NULL) == 0)
        vocab_kvs(w, v);
    free(tj);
    const char *tmpl = m->chat_template ? m->chat_template : v ? v->chat_template : NULL;
    if (tmpl) {
        core_gguf_writer_set_str(w, "tokenizer.chat_template", tmpl);
        if (!m->chat_template)
            m->chat_template = bz_strdup(tmpl);
    }
    core_vocab_free(v);
    struct bz_buf *img = bz_calloc(1, sizeof *img);
    bz_buf_init(img);
    core_model__defer(m, free_img, img);
    int rc = core_gguf_writer_to_buf(w, img, err);
    core_gguf_writer_free(w);
    struct core_gguf *g = NULL;
    if (rc == 0)
        rc = core_gguf_open_mem(&g, img->p, img->len, m->path, err);
    if (rc == 0) {
        core_model__defer(m, close_gguf, g);
        m->gguf = g;
    }
    return rc;
}

/* Fill m from a Hugging Face directory (config.json, safetensors, tokenizer). */
int core_hf_load(struct core_model *m, const char *dir, struct bz_err *err)
{
    m->format = "hf";
    cJSON *rope_scaling = NULL, *cfg_root = NULL;
    int tie = 0;
    int rc = read_config(m, dir, &rope_scaling, &cfg_root, &tie, err);
    if (rc == 0)
        rc = read_chat_template(m, dir, err);
    char **files = NULL;
    int nf = 0;
    if (rc == 0)
        rc = list_shards(dir, &files, &nf, err);
    struct slab *slab = bz_calloc(1, sizeof *slab);
    core_model__defer(m, free_slab, slab);
    int cap = 0;
    struct core_safetensors **sts = bz_calloc((size_t)BZ_MAX(nf, 1), sizeof *sts);
    for (int i = 0; rc == 0 && i < nf; i++) {
        rc = core_safetensors_open(&sts[i], files[i], err);
        if (rc == 0) {
            core_model__defer(m, defer_st, sts[i]);
            cap += sts[i]->n_tensors;
        }
    }
    if (rc == 0 && m->cfg.n_layers > 4096)
        rc = bz_errf(err, BZ_EFORMAT, "%s: %d layers", dir, m->cfg.n_layers);
    if (rc == 0) {
        m->tensors = bz_calloc((size_t)cap + 1, sizeof *m->tensors);
        for (int i = 0; rc == 0 && i < nf; i++)
            for (int j = 0; rc == 0 && j < sts[i]->n_tensors; j++) {
                const struct core_safetensors_tensor *s = &sts[i]->tensors[j];
                char g[96];
                int k = map_name(s->name, g, m->cfg.n_layers);
                if (k < 0)
                    rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: unexpected tensor '%.80s'",
                                 sts[i]->path, s->name);
                else if (k > 0)
                    rc = add_tensor(m, slab, g, sts[i], s, cap, err);
            }
    }
    if (rc == 0 && rope_scaling)
        rc = llama3_freqs(m, slab, rope_scaling, cap + 1, dir, err);
    if (rc == 0 && !tie && !core_model_tensor(m, "output.weight"))
        rc = bz_errf(err, BZ_EFORMAT, "%s: no lm_head.weight, and config.json does not say "
                     "tie_word_embeddings: true", dir);
    for (int i = 0; i < nf; i++)
        free(files[i]);
    free(files);
    free(sts);
    cJSON_Delete(cfg_root);
    if (rc == 0)
        rc = load_metadata(m, dir, err);
    if (rc == 0)
        rc = core_model__bind(m, err);
    return rc;
}
