/*
 * cmd-convert.c: `bezoar convert IN OUT [--type f32|f16|bf16|q8_0] [--json]`: model
 * files to GGUF: llama2.c checkpoint (+ tokenizer.bin) -> GGUF, Hugging Face
 * directory -> GGUF, GGUF -> GGUF with another tensor type.
 *
 * Key idea: IN is opened with core_model_open, so the converter writes exactly the
 * model every other verb sees (HF Q/K rows already in GGUF order, llama2.c tokenizer
 * already as SentencePiece-style metadata), and core_model_save_gguf streams it
 * tensor by tensor through tmp + fsync + rename. 1-D tensors stay F32; a matrix whose
 * rows are not whole blocks of the type is written as F16 and reported.
 * An HF directory's tokenizer.json travels as GGUF tokenizer metadata (see hf.c);
 * when there is none, or it cannot be loaded, the output has no vocabulary and a
 * note says so.
 * Left out: adapter conversions and merges (see `bezoar train`).
 */
#include "tui/tui.h"

#include <string.h>
#include <unistd.h>

#include "core/core.h"

BZ_CMD("convert", tui_cmd_convert, "convert a model to GGUF (llama2.c, HF directory, GGUF type)");

static const char usage[] =
    "usage: bezoar convert IN OUT [--type f32|f16|bf16|q8_0] [--json]\n"
    "Write IN (a llama2.c checkpoint, a Hugging Face directory or a GGUF file) as the\n"
    "GGUF file OUT. --type applies to matrices (default: the type most of IN's matrices\n"
    "have when it can be written, else f16); vectors stay f32; a matrix whose rows are\n"
    "not whole q8_0 blocks is written as f16 (reported).\n"
    "  --json   print {\"event\":\"done\",...} instead of text\n"
    "       bezoar convert --merge MODEL ADAPTER OUT [--type T] [--json]\n"
    "Write MODEL with the LoRA ADAPTER (PEFT directory or adapter .gguf) merged into its\n"
    "weights (W += scale * B.A, computed in F32) as the GGUF file OUT (default type f32).\n";

struct progress {
    int json, tty;
    double t0, last;
};

/* A progress bar with rate and ETA on a terminal's stderr, JSON progress events
 * with --json, nothing when piped without --json. */
static int on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    double now = bz_now(), el = now - p->t0;
    if (done < total && now - p->last < 0.2)
        return 0;
    p->last = now;
    double rate = el > 0 ? done / el : 0, eta = rate > 0 ? (total - done) / rate : 0;
    if (p->json) {
        printf("{\"event\":\"progress\",\"phase\":\"write\",\"done\":%llu,\"total\":%llu,"
               "\"elapsed_s\":%.2f,\"eta_s\":%.2f}\n", (unsigned long long)done,
               (unsigned long long)total, el, eta);
        fflush(stdout);
    } else if (p->tty) {
        int w = 30, fill = total ? (int)((double)done / total * w) : w;
        fprintf(stderr, "\r[%.*s%*s] %3.0f%% %.1f MB/s ETA %.0fs ", fill,
                "##############################", w - fill, "",
                total ? 100.0 * done / total : 100.0, rate / 1e6, eta);
        if (done >= total)
            fputc('\n', stderr);
    }
    return 0;
}

/* The type most 2-D tensors have, when writable; else F16. */
static int default_type(const struct core_model *m)
{
    int count[64] = {0};
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].n_dims == 2 && m->tensors[i].type >= 0 && m->tensors[i].type < 64)
            count[m->tensors[i].type]++;
    int best = CORE_TYPE_F16;
    for (int t = 0; t < 64; t++)
        if (core_quant_can_quant(t) && count[t] > count[best])
            best = t;
    return best;
}

static void free_bufs(float **b, int n)
{
    for (int i = 0; i < n; i++)
        free(b[i]);
    free(b);
}

/* Give every weight the adapter touches an F32 copy the merge can write into (the
 * loaded weights may be a read-only mapping or quantized). The copies are listed in
 * *bufs for the caller to free after the model. */
static int merge_adapter(struct core_model *m, const char *adapter, float ***bufs, int *nbufs,
                         struct bz_err *err)
{
    struct core_lora l;
    memset(&l, 0, sizeof l);
    int rc = core_lora_load(&l, m, adapter, err);
    if (rc)
        return rc;
    *bufs = NULL;
    *nbufs = 0;
    for (int layer = 0; layer < l.n_layers && rc == 0; layer++) {
        struct core_layer *ly = &m->layers[layer];
        struct core_tensor *w[CORE_LORA_NTARGETS] = {ly->wq, ly->wk, ly->wv, ly->wo,
                                                     ly->w_gate, ly->w_up, ly->w_down};
        for (int t = 0; t < CORE_LORA_NTARGETS && rc == 0; t++) {
            if (!core_lora_pair_at(&l, layer, t) || !w[t])
                continue;
            int64_t n = w[t]->ne[0] * w[t]->ne[1];
            float *f = malloc((size_t)n * sizeof *f);
            if (!f) {
                rc = bz_errf(err, BZ_ENOMEM, "merge: no memory for %s (%lld floats)", w[t]->name,
                             (long long)n);
                break;
            }
            rc = core_dequant_row(w[t]->type, w[t]->data, f, n);
            if (rc) {
                free(f);
                rc = bz_errf(err, rc, "merge: cannot read %s as F32 (%s)", w[t]->name,
                             core_type_name(w[t]->type));
                break;
            }
            *bufs = bz_realloc(*bufs, (size_t)(*nbufs + 1) * sizeof **bufs);
            (*bufs)[(*nbufs)++] = f;
            w[t]->data = f;
            w[t]->type = CORE_TYPE_F32;
            w[t]->nbytes = (size_t)n * sizeof *f;
        }
    }
    if (rc == 0)
        rc = core_lora_merge(m, &l, err);
    core_lora_cleanup(&l);
    return rc;
}

int tui_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *type_name = NULL, *adapter = NULL;
    int json = 0, merge = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (strcmp(a, "--type") == 0 || strcmp(a, "-t") == 0) {
            if (i + 1 >= argc)
                return tui_cmd_fail(TUI_EXIT_USAGE, "convert: %s needs a value", a);
            type_name = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--merge") == 0) {
            merge = 1;
        } else if (a[0] == '-' && a[1]) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "convert: unknown flag '%s' (see -h)", a);
        } else if (!in) {
            in = a;
        } else if (merge && !adapter) {
            adapter = a;
        } else if (!out) {
            out = a;
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "convert: too many arguments (%s)",
                                merge ? "--merge MODEL ADAPTER OUT" : "IN OUT");
        }
    }
    if (merge && !out && adapter && in) {
        /* "--merge MODEL ADAPTER OUT" was given in another order */
        return tui_cmd_fail(TUI_EXIT_USAGE, "convert: --merge needs MODEL ADAPTER OUT");
    }
    if (!in || !out)
        return tui_cmd_fail(TUI_EXIT_USAGE, "convert: IN and OUT are required (see -h)");
    int type = -1;
    if (type_name) {
        type = core_type_from_name(type_name);
        if (type < 0 || !core_quant_can_quant(type))
            return tui_cmd_fail(TUI_EXIT_USAGE,
                                "convert: --type '%s' is not one of f32, f16, bf16, q8_0",
                                type_name);
    }
    struct bz_err err = {0};
    struct core_model *m;
    double t0 = bz_now();
    int rc = core_model_open(&m, in, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    float **merged = NULL;
    int n_merged = 0;
    if (merge) {
        rc = merge_adapter(m, adapter, &merged, &n_merged, &err);
        if (rc) {
            core_model_free(m);
            free_bufs(merged, n_merged);
            return tui_cmd_fail_err(&err, rc);
        }
        if (type < 0)
            type = CORE_TYPE_F32;
    }
    if (type < 0)
        type = default_type(m);
    int has_vocab = m->gguf && core_gguf_find(m->gguf, "tokenizer.ggml.tokens");
    struct bz_buf rep;
    bz_buf_init(&rep);
    struct progress pr = {json, isatty(2), bz_now(), 0};
    rc = core_model_save_gguf_progress(m, out, type, &rep, on_progress, &pr, &err);
    if (rc) {
        bz_buf_cleanup(&rep);
        core_model_free(m);
        free_bufs(merged, n_merged);
        return tui_cmd_fail_err(&err, rc);
    }
    struct core_gguf *g;
    rc = core_gguf_open(&g, out, &err); /* read back: the file we promise is valid */
    if (rc) {
        bz_buf_cleanup(&rep);
        core_model_free(m);
        free_bufs(merged, n_merged);
        return tui_cmd_fail_err(&err, rc);
    }
    double secs = bz_now() - t0;
    if (json) {
        struct bz_buf b;
        bz_buf_init(&b);
        bz_buf_puts(&b, "{\"event\":\"done\",\"in\":");
        bz_buf_json_str(&b, in, strlen(in));
        bz_buf_puts(&b, ",\"out\":");
        bz_buf_json_str(&b, out, strlen(out));
        bz_buf_printf(&b, ",\"from\":\"%s\",\"type\":\"%s\",\"tensors\":%lld,\"bytes\":%zu,"
                      "\"vocab\":%s,\"seconds\":%.3f,\"fallbacks\":",
                      m->format, core_type_name(type), (long long)g->n_tensors, g->size,
                      has_vocab ? "true" : "false", secs);
        bz_buf_json_str(&b, rep.p ? rep.p : "", rep.len);
        bz_buf_puts(&b, "}\n");
        fwrite(b.p, 1, b.len, stdout);
        bz_buf_cleanup(&b);
    } else {
        if (rep.len)
            fputs(rep.p, stderr);
        if (!has_vocab)
            fprintf(stderr, "bezoar: note: %s has no vocabulary in GGUF form; %s has none\n",
                    in, out);
        printf("wrote %s: %lld tensors, %s from %s, %zu bytes, %.2f s\n", out,
               (long long)g->n_tensors, core_type_name(type), m->format, g->size, secs);
    }
    core_gguf_close(g);
    bz_buf_cleanup(&rep);
    core_model_free(m);
        free_bufs(merged, n_merged);
    return TUI_EXIT_OK;
}
