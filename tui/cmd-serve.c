/*
 * cmd-serve.c: `bezoar serve -m MODEL [--lora NAME=ADAPTER]...`: an OpenAI-compatible
 * HTTP server for a local model and its adapters (tui/serve.c does the work).
 *
 * Key idea: the base model and every adapter are models of their own to clients
 * (`model` in the request picks one; GET /v1/models lists them), all over one copy of
 * the base weights. SIGTERM or SIGINT stop gracefully (answers in flight finish); a
 * second one cancels them.
 *
 * Left out: TLS and API keys (it binds loopback unless told otherwise).
 */
#include "tui/tui.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tui/serve.h"

BZ_CMD("serve", tui_cmd_serve, "OpenAI-compatible HTTP server for a local model (+ adapters)");

static const char usage[] =
    "usage: bezoar serve -m MODEL [--lora [NAME=]ADAPTER]... [options]\n"
    "Serve MODEL over HTTP: GET /v1/models, POST /v1/chat/completions, /v1/completions\n"
    "(streamed with \"stream\": true). `model` picks the base (the file name without .gguf)\n"
    "or an adapter by NAME (default: the adapter's file name). Prints the base URL on stdout.\n"
    "  --host ADDR          address to bind (default 127.0.0.1)\n"
    "  --port N             port (default 8080; 0: any free port)\n"
    "  --parallel N         requests generated at once (default 1); more wait in a queue\n"
    "  --template NAME      chat template (default: the model's): chatml, llama2, llama3,\n"
    "                       zephyr, phi3, alpaca\n"
    "  --threads N          threads over all slots (default: every CPU)\n"
    "  --ctx N              KV cache positions per slot (default: the model's, at most 4096)\n"
    "  --max-body BYTES     largest request body (default 1048576)\n"
    "  --max-tokens N       cap of a request's max_tokens (default 4096)\n"
    "  --timeout S          close a connection silent for S seconds (default 30)\n";

struct serve_main {
    struct tui_serve *srv;
    uv_signal_t sigterm, sigint;
    int signals;
};

static void serve_stopped(void *ctx)
{
    struct serve_main *m = ctx;
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
}

static void serve_signal(uv_signal_t *h, int sig)
{
    struct serve_main *m = h->data;
    m->signals++;
    fprintf(stderr, "bezoar serve: %s, %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            m->signals == 1 ? "finishing the answers in flight (again to cancel them)"
                            : "cancelling the answers in flight");
    tui_serve_stop(m->srv, m->signals > 1, serve_stopped, m);
}

/* tui_cmd_serve: the serve verb (usage above); returns the exit code. Blocks until stopped. */
int tui_cmd_serve(int argc, char **argv)
{
    const char *model = NULL, *tname = NULL;
    const char **loras = calloc((size_t)argc, sizeof *loras);
    int n_loras = 0;
    struct tui_serve_cfg cfg;
    tui_serve_cfg_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free(loras);
            return TUI_EXIT_OK;
        }
        if (i + 1 >= argc) {
            free(loras);
            return tui_cmd_fail(TUI_EXIT_USAGE, "serve: %s needs a value (see -h)", a);
        }
        const char *val = argv[++i];
        int bad = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            model = val;
        else if (!strcmp(a, "--lora"))
            loras[n_loras++] = val;
        else if (!strcmp(a, "--template"))
            tname = val;
        else if (!strcmp(a, "--host"))
            cfg.host = val;
        else if (!strcmp(a, "--port"))
            bad = tui_arg_num(val, 0, 65535, &v), cfg.port = (int)v;
        else if (!strcmp(a, "--parallel"))
            bad = tui_arg_num(val, 1, 256, &v), cfg.parallel = (int)v;
        else if (!strcmp(a, "--threads"))
            bad = tui_arg_num(val, 1, 1024, &v), cfg.threads = (int)v;
        else if (!strcmp(a, "--ctx"))
            bad = tui_arg_num(val, 16, 1 << 20, &v), cfg.n_ctx = (int)v;
        else if (!strcmp(a, "--max-body"))
            bad = tui_arg_num(val, 64, 1 << 30, &v), cfg.max_body = (size_t)v;
        else if (!strcmp(a, "--max-tokens"))
            bad = tui_arg_num(val, 1, 1 << 20, &v), cfg.max_tokens = (int)v;
        else if (!strcmp(a, "--timeout"))
            bad = tui_arg_num(val, 0.01, 86400, &v), cfg.idle_timeout_s = v;
        else {
            free(loras);
            return tui_cmd_fail(TUI_EXIT_USAGE, "serve: unknown flag '%s' (see -h)", a);
        }
        if (bad) {
            free(loras);
            return tui_cmd_fail(TUI_EXIT_USAGE, "serve: bad value for %s: '%s'", a, val);
        }
    }
    if (!model) {
        free(loras);
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    struct bz_err err = {0};
    struct judge_local *l = NULL;
    int rc = judge_local_open(&l, model, tname, &err);
    for (int i = 0; rc == 0 && i < n_loras; i++) {
        const char *eq = strchr(loras[i], '=');
        char *name, *path;
        if (eq && eq != loras[i]) {
            name = bz_strndup(loras[i], (size_t)(eq - loras[i]));
            path = bz_strdup(eq + 1);
        } else {
            path = bz_strdup(loras[i]);
            const char *b = strrchr(path, '/');
            while (b && !b[1] && b != path) { /* "dir/": the directory's own name */
                const char *p = b - 1;
                while (p > path && *p != '/')
                    p--;
                b = p;
            }
            name = bz_strdup(b ? (*b == '/' ? b + 1 : b) : path);
            size_t n = strlen(name);
            while (n && name[n - 1] == '/')
                name[--n] = 0;
            if (n > 5 && !strcmp(name + n - 5, ".gguf"))
                name[n - 5] = 0;
        }
        int k = judge_local_add_lora(l, name, path, &err);
        rc = k < 0 ? k : 0;
        free(name);
        free(path);
    }
    free(loras);
    if (rc) {
        judge_local_free(l);
        return tui_cmd_fail_err(&err, rc);
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    struct serve_main m = {0};
    rc = tui_serve_start(&m.srv, loop, l, &cfg, &err);
    if (rc) {
        if (m.srv) {
            uv_run(loop, UV_RUN_DEFAULT);
            tui_serve_free(m.srv);
        }
        judge_local_free(l);
        return tui_cmd_fail_err(&err, rc);
    }
    uv_signal_init(loop, &m.sigterm);
    uv_signal_init(loop, &m.sigint);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, serve_signal, SIGTERM);
    uv_signal_start(&m.sigint, serve_signal, SIGINT);
    const char *host = cfg.host;
    int v6 = strchr(host, ':') != NULL;
    printf("http://%s%s%s:%d/v1\n", v6 ? "[" : "", host, v6 ? "]" : "", tui_serve_port(m.srv));
    fflush(stdout);
    fprintf(stderr, "bezoar serve: %s", judge_local_name(l));
    for (int i = 0; i < judge_local_n_lora(l); i++)
        fprintf(stderr, "%s%s", i ? ", " : " + adapters ", judge_local_lora_name(l, i));
    fprintf(stderr, " on http://%s%s%s:%d/v1, %d slot%s\n", v6 ? "[" : "", host, v6 ? "]" : "",
            tui_serve_port(m.srv), cfg.parallel, cfg.parallel == 1 ? "" : "s");
    uv_run(loop, UV_RUN_DEFAULT);
    struct tui_serve_stats st;
    tui_serve_stats(m.srv, &st);
    fprintf(stderr, "bezoar serve: stopped after %lld answers, %lld tokens, %lld errors\n",
            st.requests, st.tokens, st.errors);
    tui_serve_free(m.srv);
    judge_local_free(l);
    uv_loop_close(loop);
    return TUI_EXIT_OK;
}
