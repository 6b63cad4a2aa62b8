/*
 * lora.c: LoRA adapters on disk and their creation (see the second half of lora.h).
 *
 * Key idea: one in-memory layout (PEFT shapes, B rows in the model's GGUF order) and
 * two layouts: a PEFT directory (adapter_config.json + adapter_model.safetensors
 * through core/safetensors.h) and a llama.cpp adapter GGUF through core/gguf.h.
 * Loading checks every shape against the model before anything is used.
 *
 * Left out: safetensors dtypes other than F32/F16/BF16 on load (always F32 on save).
 */
#include "core/lora.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/gguf.h"
#include "core/safetensors.h"

#define NT CORE_LORA_NTARGETS

static const char *hf_names[NT] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                   "gate_proj", "up_proj", "down_proj"};
static const char *gguf_names[NT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                     "ffn_gate", "ffn_up", "ffn_down"};

const char *core_lora_hf_name(int t) { return t >= 0 && t < NT ? hf_names[t] : "?"; }
const char *core_lora_gguf_name(int t) { return t >= 0 && t < NT ? gguf_names[t] : "?"; }

static void dims(const struct core_model *m, int t, int *cin, int *cout)
{
    const struct core_model_config *c = &m->cfg;
    int hs = c->head_dim ? c->head_dim : c->dim / c->n_heads;
    int qd = c->n_heads * hs, kd = c->n_kv_heads * hs;
    int in[NT] = {c->dim, c->dim, c->dim, qd, c->dim, c->dim, c->ffn_dim};
    int out[NT] = {qd, kd, kd, c->dim, c->ffn_dim, c->ffn_dim, c->dim};
    *cin = in[t], *cout = out[t];
}

/* Allocate pairs and slab for the (target, rank) set in ranks[l * NT + t] (0: none). */
static int alloc_pairs(struct core_lora *l, const struct core_model *m, const int *ranks,
                       float alpha, int rslora, struct bz_err *err)
{
    int L = m->cfg.n_layers;
    size_t total = 0;
    for (int i = 0; i < L * NT; i++)
        if (ranks[i]) {
            int cin, cout;
            dims(m, i % NT, &cin, &cout);
            total += (size_t)ranks[i] * (cin + cout);
        }
    l->pairs = bz_calloc((size_t)L * NT, sizeof *l->pairs);
    l->slab = calloc(total ? total : 1, sizeof(float));
    if (!l->slab)
        return bz_errf(err, BZ_ENOMEM, "lora: %.1f MiB for the adapter", total * 4 / 1048576.0);
    l->n_layers = L, l->alpha = alpha;
    float *p = l->slab;
    for (int i = 0; i < L * NT; i++) {
        if (!ranks[i])
            continue;
        struct core_lora_pair *pr = &l->pairs[i];
        int r = ranks[i];
        dims(m, i % NT, &pr->c_in, &pr->c_out);
        pr->r = r;
        pr->scale = rslora ? alpha / sqrtf((float)r) : alpha / (float)r;
        pr->a = p, p += (size_t)r * pr->c_in;
        pr->b = p, p += (size_t)pr->c_out * r;
        l->targets |= 1u << (i % NT);
        if (!l->rank)
            l->rank = r;
    }
    return 0;
}

int core_lora_init(struct core_lora *l, const struct core_model *m, unsigned targets, int rank,
                   float alpha, int rslora, struct bz_err *err)
{
    memset(l, 0, sizeof *l);
    for (int t = 0; t < NT; t++) {
        int cin, cout;
        dims(m, t, &cin, &cout);
        if ((targets & (1u << t)) && rank > BZ_MIN(cin, cout))
            return bz_errf(err, BZ_EINVAL, "lora rank %d is larger than dimension %d of %s",
                           rank, BZ_MIN(cin, cout), hf_names[t]);
    }
    if (rank < 1)
        return bz_errf(err, BZ_EINVAL, "lora rank must be >= 1 (got %d)", rank);
    int L = m->cfg.n_layers;
    int *ranks = bz_calloc((size_t)L * NT, sizeof(int));
    for (int i = 0; i < L * NT; i++)
        ranks[i] = (targets & (1u << (i % NT))) ? rank : 0;
    int rc = alloc_pairs(l, m, ranks, alpha, rslora, err);
    free(ranks);
    if (rc)
        core_lora_cleanup(l);
    return rc;
}

void core_lora_cleanup(struct core_lora *l)
{
    if (!l)
        return;
    free(l->pairs);
    free(l->slab);
    free(l->name);
    memset(l, 0, sizeof *l);
}

/* HF row of GGUF row g for a q/k projection with heads of size hs (normal RoPE):
 * GGUF interleaves the two halves of each head: g = h*hs + 2i + j <- h*hs + j*hs/2 + i. */
static int hf_row(int g, int hs)
{
    int h = g / hs, w = g % hs, i = w / 2, j = w % 2;
    return h * hs + j * (hs / 2) + i;
}

static int permuted(const struct core_model *m, int t)
{
    return m->cfg.rope_mode == CORE_ROPE_NORM && (t == CORE_LORA_Q || t == CORE_LORA_K);
}

static int head_size(const struct core_model *m)
{
    return m->cfg.head_dim ? m->cfg.head_dim : m->cfg.dim / m->cfg.n_heads;
}

/* ---------------------------------------------------------------- PEFT */

static void hf_tensor_name(char *dst, size_t n, int layer, int t, char ab)
{
    snprintf(dst, n, "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", layer,
             t < CORE_LORA_GATE ? "self_attn" : "mlp", hf_names[t], ab);
}

int core_lora_save_peft(const struct core_lora *l, const struct core_model *m, const char *dir,
                        float dropout, int rslora, const char *base_name, struct bz_err *err)
{
    int rc = bz_mkdir_p(dir, err);
    if (rc)
        return rc;
    int hs = head_size(m);
    struct core_safetensors_writer *w = core_safetensors_writer_new();
    core_safetensors_writer_set_meta(w, "format", "pt");
    float **perm = bz_calloc((size_t)l->n_layers * NT, sizeof *perm); /* HF-order q/k B */
    for (int layer = 0; layer < l->n_layers && !rc; layer++)
        for (int t = 0; t < NT && !rc; t++) {
            const struct core_lora_pair *pr = core_lora_pair_at(l, layer, t);
            if (!pr)
                continue;
            const float *b = pr->b;
            if (permuted(m, t)) {
                float *hf = bz_malloc(sizeof(float) * (size_t)pr->c_out * pr->r);
                for (int g = 0; g < pr->c_out; g++)
                    memcpy(hf + (size_t)hf_row(g, hs) * pr->r, pr->b + (size_t)g * pr->r,
                           sizeof(float) * pr->r);
                perm[layer * NT + t] = hf;
                b = hf;
            }
            char name[128];
            int64_t sa[2] = {pr->r, pr->c_in}, sb[2] = {pr->c_out, pr->r};
            hf_tensor_name(name, sizeof name, layer, t, 'A');
            rc = core_safetensors_writer_add(w, name, CORE_ST_F32, 2, sa, pr->a, err);
            hf_tensor_name(name, sizeof name, layer, t, 'B');
            if (!rc)
                rc = core_safetensors_writer_add(w, name, CORE_ST_F32, 2, sb, b, err);
        }
    char *path = bz_path_join(dir, "adapter_model.safetensors");
    if (!rc)
        rc = core_safetensors_writer_write(w, path, err);
    free(path);
    core_safetensors_writer_free(w);
    for (int i = 0; i < l->n_layers * NT; i++)
        free(perm[i]);
    free(perm);
    if (rc)
        return rc;

    struct bz_buf js;
    bz_buf_init(&js);
    bz_buf_puts(&js, "{\n  \"peft_type\": \"LORA\",\n  \"task_type\": \"CAUSAL_LM\",\n"
                     "  \"base_model_name_or_path\": ");
    const char *bn = base_name ? base_name : "";
    bz_buf_json_str(&js, bn, strlen(bn));
    bz_buf_printf(&js, ",\n  \"r\": %d,\n  \"lora_alpha\": %.9g,\n  \"lora_dropout\": %.9g,\n"
                       "  \"use_rslora\": %s,\n  \"bias\": \"none\",\n"
                       "  \"fan_in_fan_out\": false,\n  \"inference_mode\": true,\n"
                       "  \"target_modules\": [",
                  l->rank, l->alpha, dropout, rslora ? "true" : "false");
    int first = 1;
    for (int t = 0; t < NT; t++)
        if (l->targets & (1u << t)) {
            bz_buf_printf(&js, "%s\"%s\"", first ? "" : ", ", hf_names[t]);
            first = 0;
        }
    bz_buf_puts(&js, "]\n}\n");
    path = bz_path_join(dir, "adapter_config.json");
    rc = bz_write_atomic(path, js.p, js.len, err);
    free(path);
    bz_buf_cleanup(&js);
    return rc;
}

/* Copy a (rows, cols) tensor of type (F32/F16/BF16) into dst, B of q/k from HF row
 * order back to GGUF order (perm_hs: head size, 0 for no permutation). */
static int st_copy(float *dst, const struct core_safetensors_tensor *ti, int rows, int cols,
                   int perm_hs)
{
    size_t esz = ti->nbytes / ((size_t)rows * cols);
    float *row = bz_malloc(sizeof(float) * (size_t)cols);
    int rc = 0;
    for (int r = 0; r < rows && !rc; r++) {
        const unsigned char *src = (const unsigned char *)ti->data + (size_t)r * cols * esz;
        if (ti->type == CORE_TYPE_F32)
            memcpy(row, src, sizeof(float) * (size_t)cols); /* may be unaligned */
        else
            rc = core_dequant_row(ti->type, src, row, cols);
        int g = r;
        if (perm_hs) /* HF row r: find the GGUF row that maps to it */
            for (g = 0; hf_row(g, perm_hs) != r; g++)
                ;
        memcpy(dst + (size_t)g * cols, row, sizeof(float) * (size_t)cols);
    }
    free(row);
    return rc;
}

static int load_peft(struct core_lora *out, const struct core_model *m, const char *dir,
                     struct bz_err *err)
{
    char *cfg_path = bz_path_join(dir, "adapter_config.json");
    char *st_path = bz_path_join(dir, "adapter_model.safetensors");
    char *cfg_txt = NULL;
    size_t cfg_len;
    cJSON *cfg = NULL;
    struct core_safetensors *st = NULL;
    int *ranks = NULL, rc;
    if ((rc = bz_read_file(cfg_path, &cfg_txt, &cfg_len, err)) ||
        (rc = core_safetensors_open(&st, st_path, err)))
        goto out;
    cfg = cJSON_Parse(cfg_txt);
    const cJSON *jr = cfg ? cJSON_GetObjectItem(cfg, "r") : NULL;
    const cJSON *ja = cfg ? cJSON_GetObjectItem(cfg, "lora_alpha") : NULL;
    if (!cJSON_IsNumber(jr) || !cJSON_IsNumber(ja)) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: expected numbers \"r\" and \"lora_alpha\"", cfg_path);
        goto out;
    }
    int rslora = cJSON_IsTrue(cJSON_GetObjectItem(cfg, "use_rslora"));
    int L = m->cfg.n_layers;
    ranks = bz_calloc((size_t)L * NT, sizeof(int));
    /* pass 1: ranks from the shapes; pass 2: copy after allocation */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < st->n_tensors; i++) {
            const struct core_safetensors_tensor *ti = &st->tensors[i];
            int layer, n = 0;
            char block[32], mod[32], ab;
            if (sscanf(ti->name,
                       "base_model.model.model.layers.%d.%31[^.].%31[^.].lora_%c.weight%n",
                       &layer, block, mod, &ab, &n) != 4 || ti->name[n] || layer < 0 ||
                layer >= L || (ab != 'A' && ab != 'B')) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: unexpected tensor \"%s\"", st_path, ti->name);
                goto out;
            }
            int t = 0;
            while (t < NT && strcmp(mod, hf_names[t]))
                t++;
            if (t == NT) {
                rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: target module \"%s\" is not supported",
                             st_path, mod);
                goto out;
            }
            if (ti->n_dims != 2 || ti->type < 0) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: %s: %d dimensions of %s, expected 2 of "
                             "F32/F16/BF16", st_path, ti->name, ti->n_dims,
                             core_safetensors_dtype_name(ti->dtype));
                goto out;
            }
            int rows = (int)ti->shape[0], cols = (int)ti->shape[1];
            int cin, cout;
            dims(m, t, &cin, &cout);
            int r = ab == 'A' ? rows : cols;
            int want_r = ranks[layer * NT + t] ? ranks[layer * NT + t] : r;
            int er = ab == 'A' ? want_r : cout, ec = ab == 'A' ? cin : want_r;
            if (rows != er || cols != ec || r < 1) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: %s has shape (%d, %d), the model needs "
                             "(%d, %d)", st_path, ti->name, rows, cols, er, ec);
                goto out;
            }
            if (pass == 0) {
                ranks[layer * NT + t] = r;
                continue;
            }
            struct core_lora_pair *pr = &out->pairs[layer * NT + t];
            if ((rc = st_copy(ab == 'A' ? pr->a : pr->b, ti, rows, cols,
                              ab == 'B' && permuted(m, t) ? head_size(m) : 0))) {
                rc = bz_errf(err, rc, "%s: %s cannot be converted", st_path, ti->name);
                goto out;
            }
        }
        if (pass == 0) {
            int any = 0;
            for (int i = 0; i < L * NT; i++)
                any |= ranks[i] != 0;
            if (!any) {
                rc = bz_errf(err, BZ_EEMPTY, "%s: no LoRA tensors", st_path);
                goto out;
            }
            if ((rc = alloc_pairs(out, m, ranks, (float)ja->valuedouble, rslora, err)))
                goto out;
        }
    }
    out->rank = jr->valueint;
    out->name = bz_strdup(dir);
    rc = 0;
out:
    cJSON_Delete(cfg);
    core_safetensors_close(st);
    free(cfg_txt), free(cfg_path), free(st_path), free(ranks);
    if (rc)
        core_lora_cleanup(out);
    return rc;
}

/* ---------------------------------------------------------------- GGUF */

int core_lora_save_gguf(const struct core_lora *l, const struct core_model *m, const char *path,
                        struct bz_err *err)
{
    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.architecture",
                             m->cfg.arch == CORE_ARCH_QWEN2 ? "qwen2" : "llama");
    core_gguf_writer_set_str(w, "general.type", "adapter");
    core_gguf_writer_set_str(w, "adapter.type", "lora");
    core_gguf_writer_set_f32(w, "adapter.lora.alpha", l->alpha);
    int rc = 0;
    for (int layer = 0; layer < l->n_layers && !rc; layer++)
        for (int t = 0; t < NT && !rc; t++) {
            const struct core_lora_pair *pr = core_lora_pair_at(l, layer, t);
            if (!pr)
                continue;
            char name[96];
            int64_t nea[2] = {pr->c_in, pr->r}, neb[2] = {pr->r, pr->c_out};
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_a", layer, gguf_names[t]);
            rc = core_gguf_writer_add_tensor(w, name, CORE_TYPE_F32, 2, nea, pr->a, err);
            snprintf(name, sizeof name, "blk.%d.%s.weight.lora_b", layer, gguf_names[t]);
            if (!rc)
                rc = core_gguf_writer_add_tensor(w, name, CORE_TYPE_F32, 2, neb, pr->b, err);
        }
    if (!rc)
        rc = core_gguf_writer_write(w, path, err);
    core_gguf_writer_free(w);
    return rc;
}

static int load_gguf(struct core_lora *out, const struct core_model *m, const char *path,
                     struct bz_err *err)
{
    struct core_gguf *g;
    int rc = core_gguf_open(&g, path, err);
    if (rc)
        return rc;
    char *type = NULL;
    float alpha = 0;
    int L = m->cfg.n_layers;
    int *ranks = bz_calloc((size_t)L * NT, sizeof(int));
    if ((rc = core_gguf_get_strdup(g, "general.type", &type, err)))
        goto out;
    if (strcmp(type, "adapter")) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: general.type is \"%s\", expected \"adapter\"", path,
                     type);
        goto out;
    }
    if ((rc = core_gguf_get_f32(g, "adapter.lora.alpha", &alpha, err)))
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < g->n_tensors; i++) {
            const struct core_gguf_tensor *ti = &g->tensors[i];
            int layer, n = 0;
            char mod[32], ab;
            if (sscanf(ti->name, "blk.%d.%31[^.].weight.lora_%c%n", &layer, mod, &ab, &n) != 3 ||
                ti->name[n] || layer < 0 || layer >= L || (ab != 'a' && ab != 'b')) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: unexpected tensor \"%s\"", path, ti->name);
                goto out;
            }
            int t = 0;
            while (t < NT && strcmp(mod, gguf_names[t]))
                t++;
            if (t == NT) {
                rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: adapted tensor \"%s\" is not supported",
                             path, mod);
                goto out;
            }
            int cin, cout;
            dims(m, t, &cin, &cout);
            int r = (int)(ab == 'a' ? ti->ne[1] : ti->ne[0]);
            int want = ranks[layer * NT + t] ? ranks[layer * NT + t] : r;
            int64_t e0 = ab == 'a' ? cin : want, e1 = ab == 'a' ? want : cout;
            if (ti->n_dims != 2 || ti->ne[0] != e0 || ti->ne[1] != e1 || r < 1) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: %s has ne (%lld, %lld), the model needs "
                             "(%lld, %lld)", path, ti->name, (long long)ti->ne[0],
                             (long long)ti->ne[1], (long long)e0, (long long)e1);
                goto out;
            }
            if (pass == 0) {
                ranks[layer * NT + t] = r;
                continue;
            }
            struct core_lora_pair *pr = &out->pairs[layer * NT + t];
            float *dst = ab == 'a' ? pr->a : pr->b;
            int64_t ne = ti->ne[0] * ti->ne[1];
            if (ti->type == CORE_TYPE_F32)
                memcpy(dst, ti->data, sizeof(float) * (size_t)ne);
            else if ((rc = core_dequant_row(ti->type, ti->data, dst, ne))) {
                rc = bz_errf(err, rc, "%s: %s: type %s cannot be read", path, ti->name,
                             core_type_name(ti->type));
                goto out;
            }
        }
        if (pass == 0 && (rc = alloc_pairs(out, m, ranks, alpha, 0, err)))
            goto out;
    }
    if (!out->targets) {
        rc = bz_errf(err, BZ_EEMPTY, "%s: no LoRA tensors", path);
        goto out;
    }
    out->name = bz_strdup(path);
out:
    free(type);
    free(ranks);
    core_gguf_close(g);
    if (rc)
        core_lora_cleanup(out);
    return rc;
}

int core_lora_load(struct core_lora *out, const struct core_model *m, const char *path,
                   struct bz_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st))
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return load_peft(out, m, path, err);
    size_t n = strlen(path);
    const char *suf = ".safetensors";
    if (n > strlen(suf) && !strcmp(path + n - strlen(suf), suf)) {
        char *dir = bz_path_dir(path);
        int rc = load_peft(out, m, dir, err);
        free(dir);
        return rc;
    }
    return load_gguf(out, m, path, err);
}

int core_lora_merge(struct core_model *m, const struct core_lora *l, struct bz_err *err)
{
    for (int layer = 0; layer < l->n_layers; layer++) {
        struct core_layer *ly = &m->layers[layer];
        struct core_tensor *w[NT] = {ly->wq, ly->wk, ly->wv, ly->wo,
                                     ly->w_gate, ly->w_up, ly->w_down};
        for (int t = 0; t < NT; t++) {
            const struct core_lora_pair *pr = core_lora_pair_at(l, layer, t);
            if (!pr)
                continue;
            if (w[t]->type != CORE_TYPE_F32)
                return bz_errf(err, BZ_EUNSUPPORTED, "merge: %s is %s, merging needs F32",
                               w[t]->name, core_type_name(w[t]->type));
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, pr->c_out, pr->c_in, pr->r,
                        pr->scale, pr->b, pr->r, pr->a, pr->c_in, 1.0f, w[t]->data, pr->c_in);
        }
    }
    return 0;
}
