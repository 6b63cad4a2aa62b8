/*
 * cmd-logits.c: `bezoar logits -m MODEL -p PROMPT -o FILE`: the logits of every prompt
 * position as raw little-endian float32, T rows of V, for tests and for comparing
 * engines (llama.cpp, llama2.c, PyTorch dumps). One prefill (or, with --decode, one
 * token at a time through the decode path, to compare the two); --lora applies an
 * adapter beside the weights. The file is written through tmp + fsync + rename. The token count, the shape and the speed go to stderr.
 *
 * Left out: big-endian hosts (refused), top-k summaries (use a script on the file).
 */
#include "tui/tui.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

BZ_CMD("logits", tui_cmd_logits, "write the logits of every prompt position (float32 T x V)");

static const char usage[] =
    "usage: bezoar logits -m MODEL [--lora ADAPTER] -p PROMPT -o FILE [--no-bos] [--special]\n"
    "                     [--decode] [--threads N]\n"
    "Write the logits of every position of PROMPT as raw little-endian float32, T rows of\n"
    "V (T prompt tokens, BOS included unless --no-bos; V the vocabulary size).\n"
    "  --decode           evaluate one token at a time (the decode path) instead of one prefill\n"
    "  --ids              print the prompt's token ids on stderr too\n";

int tui_cmd_logits(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *outp = NULL, *lora_path = NULL;
    int threads = 0, no_bos = 0, special = 0, show_ids = 0, decode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = 1;
        } else if (!strcmp(a, "--special")) {
            special = 1;
        } else if (!strcmp(a, "--ids")) {
            show_ids = 1;
        } else if (!strcmp(a, "--decode")) {
            decode = 1;
        } else if (i + 1 >= argc) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "logits: %s needs a value (see -h)", a);
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            model = argv[++i];
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            prompt = argv[++i];
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            outp = argv[++i];
        } else if (!strcmp(a, "--lora")) {
            lora_path = argv[++i];
        } else if (!strcmp(a, "--threads")) {
            threads = atoi(argv[++i]);
            if (threads < 1 || threads > 256)
                return tui_cmd_fail(TUI_EXIT_USAGE, "logits: bad --threads '%s'", argv[i]);
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "logits: unknown flag '%s' (see -h)", a);
        }
    }
    if (!model || !prompt || !outp) {
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1)
        return tui_cmd_fail(TUI_EXIT_ERROR, "logits: this host is big-endian; not supported");
    struct bz_err err = {0};
    struct core_generate_session s;
    int rc = core_generate_open(&s, model, threads, 0, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    struct core_lora lora;
    memset(&lora, 0, sizeof lora);
    if (lora_path) {
        rc = core_lora_load(&lora, s.model, lora_path, &err);
        if (rc == 0)
            rc = core_forward_set_lora(s.fwd, &lora, &err);
    }
    struct core_ids ids;
    core_ids_init(&ids);
    int flags = (s.vocab->add_bos && !no_bos ? CORE_TOK_ADD_BOS : 0) |
                (special ? CORE_TOK_SPECIAL : 0);
    if (rc == 0)
        rc = core_tokenizer_encode(s.vocab, prompt, strlen(prompt), flags, &ids, &err);
    if (rc == 0 && ids.n == 0)
        rc = bz_errf(&err, BZ_EEMPTY, "the prompt has no tokens");
    if (rc == 0 && (int64_t)ids.n > core_forward_ctx(s.fwd))
        rc = bz_errf(&err, BZ_ERANGE, "the prompt has %zu tokens, the context %d", ids.n,
                     core_forward_ctx(s.fwd));
    int V = core_forward_vocab(s.fwd);
    float *logits = NULL;
    if (rc == 0) {
        logits = malloc(ids.n * (size_t)V * sizeof(float));
        if (!logits)
            rc = bz_errf(&err, BZ_ENOMEM, "no memory for %zu x %d logits", ids.n, V);
    }
    double t0 = bz_now();
    for (size_t t = 0; rc == 0 && decode && t < ids.n; t++)
        rc = core_forward_eval(s.fwd, ids.p + t, 1, logits + t * (size_t)V, 0, &err);
    if (rc == 0 && !decode)
        rc = core_forward_eval(s.fwd, ids.p, (int)ids.n, logits, 1, &err);
    double dt = bz_now() - t0;
    if (rc == 0)
        rc = bz_write_atomic(outp, logits, ids.n * (size_t)V * sizeof(float), &err);
    if (rc == 0) {
        if (show_ids) {
            for (size_t i = 0; i < ids.n; i++)
                fprintf(stderr, "%s%d", i ? " " : "", (int)ids.p[i]);
            fputc('\n', stderr);
        }
        fprintf(stderr, "%s: %zu x %d float32 (%zu tokens, %.1f tokens/s)\n", outp, ids.n, V,
                ids.n, dt > 0 ? ids.n / dt : 0);
    }
    free(logits);
    core_ids_cleanup(&ids);
    core_generate_close(&s);
    core_lora_cleanup(&lora);
    return rc ? tui_cmd_fail_err(&err, rc) : TUI_EXIT_OK;
}
