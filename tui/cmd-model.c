/*
 * cmd-model.c: `bezoar model info MODEL [--json] [--tensors]`: what a model file is
 * before anything runs on it: architecture, shape, parameter count, tensor types and
 * bytes, tokenizer kind and size, special tokens, chat template.
 *
 * Key idea: the model is opened the same way every other verb opens it
 * (core_model_open: mmap, no weights read), so what info accepts, chat and train
 * accept too, and what it refuses is refused with the same message. The tokenizer is
 * loaded from the model's metadata (GGUF, or llama2.c tokenizer.bin) or the HF
 * directory's tokenizer.json; when it cannot be loaded, the raw metadata is shown
 * with the reason.
 * Left out: editing metadata.
 */
#include "tui/tui.h"

#include <string.h>

#include "core/core.h"

BZ_CMD("model", tui_cmd_model, "model files: info (architecture, shape, tensors, tokenizer)");

static const char usage[] =
    "usage: bezoar model info MODEL [--json] [--tensors]\n"
    "Describe MODEL: a .gguf file, a llama2.c checkpoint (.bin, tokenizer.bin or\n"
    "tok<VOCAB>.bin beside it), or a Hugging Face directory (config.json + safetensors).\n"
    "  --json     one JSON object instead of text\n"
    "  --tensors  also list every tensor (name, type, shape, bytes)\n";

struct type_count {
    int type;
    int count;
    uint64_t bytes;
};

static void human(char *out, size_t n, double v, const char *unit)
{
    const char *sfx[] = {"", "K", "M", "G", "T"};
    int k = 0;
    double div = strcmp(unit, "B") == 0 ? 1024 : 1000;
    while (v >= div && k < 4) {
        v /= div;
        k++;
    }
    if (strcmp(unit, "B") == 0)
        snprintf(out, n, k ? "%.2f %s%s" : "%.0f %s%s", v, sfx[k], k ? "iB" : "B");
    else
        snprintf(out, n, k ? "%.2f%s" : "%.0f%s", v, sfx[k]);
}

static const char *tok_text(const struct core_vocab *v, int id)
{
    return id >= 0 && id < v->n_tokens ? v->tokens[id].text : "";
}

static void json_kv_str(struct bz_buf *b, const char *key, const char *s)
{
    bz_buf_printf(b, ",\"%s\":", key);
    if (s)
        bz_buf_json_str(b, s, strlen(s));
    else
        bz_buf_puts(b, "null");
}

/* The raw tokenizer metadata when the vocab could not be loaded. */
static void raw_tokenizer(const struct core_model *m, char *model, size_t n, uint64_t *ntok)
{
    snprintf(model, n, "%s", "?");
    *ntok = 0;
    if (!m->gguf)
        return;
    struct core_gguf_str s;
    if (core_gguf_get_str(m->gguf, "tokenizer.ggml.model", &s, NULL) == 0)
        snprintf(model, n, "%.*s", (int)BZ_MIN(s.n, 60), s.p);
    const struct core_gguf_kv *kv = core_gguf_find(m->gguf, "tokenizer.ggml.tokens");
    if (kv && kv->type == CORE_GGUF_ARRAY)
        *ntok = kv->n;
}

static int info(const char *path, int json, int list)
{
    struct bz_err err = {0};
    struct core_model *m;
    int rc = core_model_open(&m, path, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    const struct core_model_config *c = &m->cfg;

    struct type_count tc[32];
    int ntc = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct core_tensor *t = &m->tensors[i];
        bytes += t->nbytes;
        int k = 0;
        while (k < ntc && tc[k].type != t->type)
            k++;
        if (k == ntc && ntc < 32)
            tc[ntc++] = (struct type_count){t->type, 0, 0};
        if (k < ntc) {
            tc[k].count++;
            tc[k].bytes += t->nbytes;
        }
    }
    uint64_t params = core_model_params(m);

    struct core_vocab *v = NULL;
    struct bz_err verr = {0};
    int vrc;
    if (strcmp(m->format, "hf") == 0)
        vrc = core_vocab_from_hf(&v, path, &verr);
    else if (m->gguf && core_gguf_find(m->gguf, "tokenizer.ggml.model"))
        vrc = core_vocab_from_gguf(&v, m->gguf, &verr);
    else
        vrc = bz_errf(&verr, BZ_ENOTFOUND, "no tokenizer in or beside the model");
    char rawmodel[64];
    uint64_t rawn;
    raw_tokenizer(m, rawmodel, sizeof rawmodel, &rawn);

    const char *tmpl = NULL;
    struct bz_err terr = {0};
    const char *jinja = m->chat_template ? m->chat_template : v ? v->chat_template : NULL;
    if (jinja) {
        int id = core_template_detect(jinja, &terr);
        if (id >= 0)
            tmpl = core_template_name(id);
    }
    const char *arch = c->arch == CORE_ARCH_QWEN2 ? "qwen2" : "llama";

    struct bz_buf b;
    bz_buf_init(&b);
    if (json) {
        bz_buf_puts(&b, "{\"path\":");
        bz_buf_json_str(&b, path, strlen(path));
        json_kv_str(&b, "format", m->format);
        json_kv_str(&b, "name", m->name);
        json_kv_str(&b, "arch", arch);
        bz_buf_printf(&b, ",\"dim\":%d,\"n_layers\":%d,\"n_heads\":%d,\"n_kv_heads\":%d,"
                      "\"head_dim\":%d,\"ffn_dim\":%d,\"vocab_size\":%d,\"ctx_len\":%d,"
                      "\"rope_theta\":%g,\"rope_scale\":%g,\"rope_mode\":\"%s\",\"norm_eps\":%g,"
                      "\"tied_output\":%s,\"qkv_bias\":%s,\"params\":%llu,\"bytes\":%llu,"
                      "\"n_tensors\":%d,\"tensor_types\":{",
                      c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->ffn_dim,
                      c->vocab_size, c->ctx_len, c->rope_theta, c->rope_scale,
                      c->rope_mode == CORE_ROPE_NEOX ? "neox" : "norm", c->norm_eps,
                      c->tied_output ? "true" : "false", c->qkv_bias ? "true" : "false",
                      (unsigned long long)params, (unsigned long long)bytes, m->n_tensors);
        for (int k = 0; k < ntc; k++)
            bz_buf_printf(&b, "%s\"%s\":{\"count\":%d,\"bytes\":%llu}", k ? "," : "",
                          core_type_name(tc[k].type), tc[k].count,
                          (unsigned long long)tc[k].bytes);
        bz_buf_puts(&b, "},\"tokenizer\":");
        if (v) {
            bz_buf_printf(&b, "{\"kind\":\"%s\",\"n_tokens\":%d,\"bos\":%d,\"eos\":%d,"
                          "\"unk\":%d,\"pad\":%d,\"eot\":%d,\"add_bos\":%s",
                          core_vocab_kind_name(v->kind), v->n_tokens, v->bos, v->eos, v->unk,
                          v->pad, v->eot, v->add_bos ? "true" : "false");
            json_kv_str(&b, "bos_text", tok_text(v, v->bos));
            json_kv_str(&b, "eos_text", tok_text(v, v->eos));
            json_kv_str(&b, "pre", v->pre[0] ? v->pre : NULL);
            bz_buf_putc(&b, '}');
        } else {
            bz_buf_puts(&b, "{\"model\":");
            bz_buf_json_str(&b, rawmodel, strlen(rawmodel));
            bz_buf_printf(&b, ",\"n_tokens\":%llu", (unsigned long long)rawn);
            json_kv_str(&b, "error", bz_err_msg(&verr, vrc));
            bz_buf_putc(&b, '}');
        }
        json_kv_str(&b, "chat_template", tmpl);
        bz_buf_printf(&b, ",\"has_chat_template\":%s", jinja ? "true" : "false");
        if (list) {
            bz_buf_puts(&b, ",\"tensors\":[");
            for (int i = 0; i < m->n_tensors; i++) {
                const struct core_tensor *t = &m->tensors[i];
                bz_buf_printf(&b, "%s{\"name\":", i ? "," : "");
                bz_buf_json_str(&b, t->name, strlen(t->name));
                bz_buf_printf(&b, ",\"type\":\"%s\",\"ne\":[", core_type_name(t->type));
                for (int d = 0; d < t->n_dims; d++)
                    bz_buf_printf(&b, "%s%lld", d ? "," : "", (long long)t->ne[d]);
                bz_buf_printf(&b, "],\"bytes\":%zu}", t->nbytes);
            }
            bz_buf_putc(&b, ']');
        }
        bz_buf_puts(&b, "}\n");
    } else {
        char hp[32], hb[32];
        human(hp, sizeof hp, (double)params, "");
        human(hb, sizeof hb, (double)bytes, "B");
        bz_buf_printf(&b, "model      %s (%s)\n", path, m->format);
        bz_buf_printf(&b, "name       %s\n", m->name ? m->name : "");
        bz_buf_printf(&b, "arch       %s\n", arch);
        bz_buf_printf(&b, "shape      dim %d, layers %d, heads %d (kv %d), head dim %d, ffn %d, "
                      "vocab %d, context %d\n", c->dim, c->n_layers, c->n_heads, c->n_kv_heads,
                      c->head_dim, c->ffn_dim, c->vocab_size, c->ctx_len);
        bz_buf_printf(&b, "rope       %s, theta %g, scale %g%s\n",
                      c->rope_mode == CORE_ROPE_NEOX ? "neox" : "norm", c->rope_theta,
                      c->rope_scale, m->rope_freqs ? ", frequency factors" : "");
        bz_buf_printf(&b, "norm eps   %g\n", c->norm_eps);
        bz_buf_printf(&b, "output     %s; q/k/v bias %s\n",
                      c->tied_output ? "tied to the embedding" : "own matrix",
                      c->qkv_bias ? "yes" : "no");
        bz_buf_printf(&b, "params     %s (%llu)\n", hp, (unsigned long long)params);
        bz_buf_printf(&b, "tensors    %d, %s:", m->n_tensors, hb);
        for (int k = 0; k < ntc; k++) {
            human(hb, sizeof hb, (double)tc[k].bytes, "B");
            bz_buf_printf(&b, "%s %s x%d (%s)", k ? "," : "", core_type_name(tc[k].type),
                          tc[k].count, hb);
        }
        bz_buf_putc(&b, '\n');
        if (v) {
            bz_buf_printf(&b, "tokenizer  %s, %d tokens%s%s\n", core_vocab_kind_name(v->kind),
                          v->n_tokens, v->pre[0] ? ", pre " : "", v->pre);
            bz_buf_printf(&b, "special    bos %d '%s', eos %d '%s', unk %d '%s'", v->bos,
                          tok_text(v, v->bos), v->eos, tok_text(v, v->eos), v->unk,
                          tok_text(v, v->unk));
            if (v->eot >= 0 && v->eot != v->eos)
                bz_buf_printf(&b, ", eot %d '%s'", v->eot, tok_text(v, v->eot));
            if (v->pad >= 0)
                bz_buf_printf(&b, ", pad %d '%s'", v->pad, tok_text(v, v->pad));
            bz_buf_puts(&b, v->add_bos ? "; adds bos\n" : "\n");
        } else {
            bz_buf_printf(&b, "tokenizer  %s, %llu tokens (raw metadata; %s)\n", rawmodel,
                          (unsigned long long)rawn, bz_err_msg(&verr, vrc));
        }
        if (tmpl)
            bz_buf_printf(&b, "template   %s (detected)\n", tmpl);
        else if (jinja)
            bz_buf_printf(&b, "template   not recognised: %s\n", bz_err_msg(&terr, BZ_ENOTFOUND));
        else
            bz_buf_puts(&b, "template   none in the model\n");
        if (list)
            for (int i = 0; i < m->n_tensors; i++) {
                const struct core_tensor *t = &m->tensors[i];
                bz_buf_printf(&b, "  %-32s %-5s [", t->name, core_type_name(t->type));
                for (int d = 0; d < t->n_dims; d++)
                    bz_buf_printf(&b, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
                bz_buf_printf(&b, "] %zu\n", t->nbytes);
            }
    }
    fwrite(b.p, 1, b.len, stdout);
    bz_buf_cleanup(&b);
    core_vocab_free(v);
    core_model_free(m);
    return TUI_EXIT_OK;
}

int tui_cmd_model(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TUI_EXIT_USAGE : TUI_EXIT_OK;
    }
    if (strcmp(argv[1], "info") != 0)
        return tui_cmd_fail(TUI_EXIT_USAGE, "model: unknown subcommand '%s' (info)", argv[1]);
    const char *path = NULL;
    int json = 0, list = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--tensors") == 0)
            list = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1])
            return tui_cmd_fail(TUI_EXIT_USAGE, "model info: unknown flag '%s' (see -h)",
                                argv[i]);
        else if (path)
            return tui_cmd_fail(TUI_EXIT_USAGE, "model info: one MODEL only");
        else
            path = argv[i];
    }
    if (!path)
        return tui_cmd_fail(TUI_EXIT_USAGE, "model info: MODEL is missing (see -h)");
    return info(path, json, list);
}
