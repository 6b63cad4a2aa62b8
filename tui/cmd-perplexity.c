/*
 * cmd-perplexity.c: `bezoar perplexity -m MODEL FILE`: perplexity of a text file under
 * the model, exp(mean negative log-likelihood per predicted token).
 *
 * Key idea: the file is tokenized once (BOS first when the vocab adds one) and cut
 * into windows of --ctx tokens (default 512, at most the model's context); each window
 * is evaluated from an empty cache in one prefill and every token after the window's
 * first is scored against the logits before it. Log-softmax in double precision.
 *
 * Left out: llama.cpp's "score only the second half of each window" mode and KL
 * divergence against saved logits.
 */
#include "tui/tui.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

BZ_CMD("perplexity", tui_cmd_perplexity, "perplexity of a model on a text file, in windows");

static const char usage[] =
    "usage: bezoar perplexity -m MODEL FILE [--ctx N] [--threads N] [--json]\n"
    "Perplexity of MODEL on the text of FILE: the tokens are cut into windows of N\n"
    "(default 512), each evaluated from an empty cache; every token but a window's first\n"
    "is scored. Prints the perplexity, the mean NLL and the speed.\n";

int tui_cmd_perplexity(int argc, char **argv)
{
    const char *model = NULL, *path = NULL;
    int threads = 0, win = 512, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--ctx") ||
                   !strcmp(a, "--threads")) {
            if (i + 1 >= argc)
                return tui_cmd_fail(TUI_EXIT_USAGE, "perplexity: %s needs a value", a);
            const char *v = argv[++i];
            if (a[1] == 'm' || !strcmp(a, "--model")) {
                model = v;
            } else {
                int n = atoi(v);
                if (n < (a[2] == 'c' ? 2 : 1) || n > (1 << 20))
                    return tui_cmd_fail(TUI_EXIT_USAGE, "perplexity: bad %s '%s'", a, v);
                *(a[2] == 'c' ? &win : &threads) = n;
            }
        } else if (a[0] == '-' && a[1]) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "perplexity: unknown flag '%s' (see -h)", a);
        } else if (!path) {
            path = a;
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "perplexity: one FILE only");
        }
    }
    if (!model || !path) {
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    struct bz_err err = {0};
    char *text = NULL;
    size_t n = 0;
    int rc = bz_read_file(path, &text, &n, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    struct core_generate_session s;
    rc = core_generate_open(&s, model, threads, win, &err);
    if (rc) {
        free(text);
        return tui_cmd_fail_err(&err, rc);
    }
    win = core_forward_ctx(s.fwd);
    struct core_ids ids;
    core_ids_init(&ids);
    rc = core_tokenizer_encode(s.vocab, text, n, s.vocab->add_bos ? CORE_TOK_ADD_BOS : 0, &ids,
                               &err);
    if (rc == 0 && ids.n < 2)
        rc = bz_errf(&err, BZ_EEMPTY, "%s: fewer than 2 tokens, nothing to score", path);
    int V = core_forward_vocab(s.fwd);
    float *logits = rc ? NULL : malloc((size_t)win * V * sizeof(float));
    if (rc == 0 && !logits)
        rc = bz_errf(&err, BZ_ENOMEM, "no memory for %d x %d logits", win, V);
    double nll = 0, t0 = bz_now();
    long scored = 0, windows = 0;
    for (size_t at = 0; rc == 0 && at + 1 < ids.n; at += (size_t)win) {
        int T = (int)BZ_MIN((size_t)win, ids.n - at);
        if (T < 2)
            break;
        core_forward_truncate(s.fwd, 0);
        rc = core_forward_eval(s.fwd, ids.p + at, T, logits, 1, &err);
        for (int t = 0; rc == 0 && t + 1 < T; t++) {
            const float *l = logits + (size_t)t * V;
            double mx = l[0], sum = 0;
            for (int v = 1; v < V; v++)
                mx = l[v] > mx ? l[v] : mx;
            for (int v = 0; v < V; v++)
                sum += exp((double)l[v] - mx);
            nll += -((double)l[ids.p[at + t + 1]] - mx - log(sum));
            scored++;
        }
        windows++;
        if (!json && isatty(2))
            fprintf(stderr, "\r[%ld] %zu/%zu tokens, ppl so far %.4f", windows,
                    BZ_MIN(at + (size_t)win, ids.n), ids.n, exp(nll / (double)scored));
    }
    double dt = bz_now() - t0;
    if (rc == 0 && !isfinite(nll))
        rc = bz_errf(&err, BZ_ENUMERIC, "the log-likelihood is not finite");
    if (rc == 0) {
        double mean = nll / (double)scored;
        if (json)
            printf("{\"event\":\"done\",\"file\":\"%s\",\"tokens\":%zu,\"scored\":%ld,"
                   "\"windows\":%ld,\"ctx\":%d,\"nll\":%.6f,\"ppl\":%.6f,\"tokens_per_s\":%.2f}\n",
                   path, ids.n, scored, windows, win, mean, exp(mean),
                   dt > 0 ? ids.n / dt : 0);
        else {
            if (isatty(2))
                fputc('\n', stderr);
            printf("perplexity %.4f (mean NLL %.6f over %ld tokens, %ld windows of %d)\n",
                   exp(mean), mean, scored, windows, win);
            fprintf(stderr, "%zu tokens in %.2f s, %.1f tokens/s\n", ids.n, dt,
                    dt > 0 ? ids.n / dt : 0);
        }
    }
    free(logits);
    core_ids_cleanup(&ids);
    core_generate_close(&s);
    free(text);
    return rc ? tui_cmd_fail_err(&err, rc) : TUI_EXIT_OK;
}
