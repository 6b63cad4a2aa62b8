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
    "  --json   print {\"event\":\"done\",...} instead of text\n";

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

int tui_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *type_name = NULL;
    int json = 0;
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
        } else if (a[0] == '-' && a[1]) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "convert: unknown flag '%s' (see -h)", a);
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "convert: too many arguments (IN OUT)");
        }
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
        return tui_cmd_fail_err(&err, rc);
    }
    struct core_gguf *g;
    rc = core_gguf_open(&g, out, &err); /* read back: the file we promise is valid */
    if (rc) {
        bz_buf_cleanup(&rep);
        core_model_free(m);
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
    return TUI_EXIT_OK;
}
