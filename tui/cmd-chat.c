/*
 * cmd-chat.c: `bezoar chat -m MODEL [--lora ADAPTER] [--system TEXT]`: an interactive
 * multi-turn chat in the terminal with the model's chat template (or --template).
 *
 * Key idea: the whole conversation is rendered again each turn (core_template_render)
 * and only the tokens after the longest prefix already in the KV cache are evaluated,
 * so a turn costs its new tokens. Replies stream as whole UTF-8 characters. Ctrl-C
 * stops the reply being generated (the part shown stays in the conversation); at the
 * prompt it clears the line. Ctrl-D or /exit quits, /reset starts over. Lines are
 * edited by the terminal's own line discipline.
 *
 * Left out: a readline-style history, multi-line input, saving the conversation.
 */
#include "tui/tui.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

BZ_CMD("chat", tui_cmd_chat, "chat with a local model (+ adapter) in the terminal");

static const char usage[] =
    "usage: bezoar chat -m MODEL [--lora ADAPTER] [--system TEXT] [options]\n"
    "Chat with MODEL using its chat template. Ctrl-C stops a reply, Ctrl-D or /exit quits,\n"
    "/reset forgets the conversation.\n"
    "  --lora ADAPTER       a LoRA adapter (PEFT directory or adapter .gguf), applied unmerged\n"
    "  --system TEXT        a system message first\n"
    "  --template NAME      chatml, llama2, llama3, zephyr, phi3, alpaca (default: the model's)\n"
    "  -n N                 at most N tokens per reply (default 512)\n"
    "  --temp T             temperature (default 0.7; 0: greedy)\n"
    "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, --freq-penalty F, --seed S\n"
    "                       as in complete\n"
    "  --ctx N              KV cache positions (default: the model's, at most 4096)\n"
    "  --threads N          threads (default: every CPU)\n";

static volatile sig_atomic_t chat_interrupted;

static void chat_sigint(int sig)
{
    (void)sig;
    chat_interrupted = 1;
}

static int chat_print(void *ctx, int32_t id, const char *text, size_t n)
{
    (void)ctx;
    (void)id;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
    return 0;
}

struct chat_msgs {
    struct core_chat_msg *m;
    char **own;
    size_t n, cap;
};

static void msgs_push(struct chat_msgs *c, int role, const char *text, size_t len)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->m = bz_realloc(c->m, c->cap * sizeof *c->m);
        c->own = bz_realloc(c->own, c->cap * sizeof *c->own);
    }
    c->own[c->n] = bz_strndup(text, len);
    c->m[c->n] = (struct core_chat_msg){role, c->own[c->n], len};
    c->n++;
}

static void msgs_truncate(struct chat_msgs *c, size_t n)
{
    while (c->n > n)
        free(c->own[--c->n]);
}

/* One turn: render, evaluate what the cache lacks, generate. cache holds the ids in
 * the KV cache. Returns 0, or an error that ends only this turn (reported). */
static int chat_turn(struct core_generate_session *s, int tmpl, struct chat_msgs *msgs,
                     struct core_ids *cache, const struct core_generate_opts *o,
                     struct bz_err *err)
{
    struct core_template_out out;
    core_template_out_init(&out);
    int rc = core_template_render(s->vocab, tmpl, msgs->m, msgs->n, CORE_TEMPLATE_GENERATION,
                                  &out, err);
    if (rc == 0 && (int64_t)out.ids.n >= core_forward_ctx(s->fwd))
        rc = bz_errf(err, BZ_ERANGE, "the conversation (%zu tokens) fills the context (%d); "
                     "/reset to start over", out.ids.n, core_forward_ctx(s->fwd));
    if (rc) {
        core_template_out_cleanup(&out);
        return rc;
    }
    size_t keep = 0;
    size_t have = BZ_MIN(cache->n, (size_t)core_forward_pos(s->fwd));
    while (keep < have && keep < out.ids.n && cache->p[keep] == out.ids.p[keep])
        keep++;
    if (keep == out.ids.n)
        keep--; /* at least one token to get logits from */
    core_forward_truncate(s->fwd, (int)keep);
    struct core_generate_result res;
    core_generate_result_init(&res);
    rc = core_generate_run(s->fwd, s->vocab, out.ids.p + keep, out.ids.n - keep, o, chat_print,
                           NULL, &res, err);
    if (rc == 0) {
        cache->n = 0;
        for (size_t i = 0; i < out.ids.n; i++)
            core_ids_push(cache, out.ids.p[i]);
        for (size_t i = 0; i < res.tokens.n; i++)
            core_ids_push(cache, res.tokens.p[i]);
        cache->n = BZ_MIN(cache->n, (size_t)core_forward_pos(s->fwd));
        msgs_push(msgs, CORE_ROLE_ASSISTANT, res.text.p ? res.text.p : "", res.text.len);
        fputc('\n', stdout);
        if (res.stop == CORE_GENERATE_CANCEL)
            fputs("[stopped]\n", stderr);
        else if (res.stop == CORE_GENERATE_CONTEXT)
            fputs("[the context is full; /reset to start over]\n", stderr);
        fprintf(stderr, "[%zu new prompt tokens %.1f/s, %zu tokens %.1f/s]\n", out.ids.n - keep,
                res.prompt_s > 0 ? (out.ids.n - keep) / res.prompt_s : 0, res.tokens.n,
                res.gen_s > 0 ? res.tokens.n / res.gen_s : 0);
    } else {
        core_forward_truncate(s->fwd, 0);
        cache->n = 0;
    }
    core_generate_result_cleanup(&res);
    core_template_out_cleanup(&out);
    return rc;
}

int tui_cmd_chat(int argc, char **argv)
{
    const char *model = NULL, *lora_path = NULL, *system = NULL, *tname = NULL;
    int threads = 0, n_ctx = 0;
    struct core_generate_opts o;
    core_generate_defaults(&o);
    o.max_tokens = 512;
    o.sample.temp = 0.7f;
    o.detok_flags = CORE_DETOK_STRIP_PREFIX;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        }
        if (i + 1 >= argc)
            return tui_cmd_fail(TUI_EXIT_USAGE, "chat: %s needs a value (see -h)", a);
        const char *val = argv[++i];
        int bad = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            model = val;
        else if (!strcmp(a, "--lora"))
            lora_path = val;
        else if (!strcmp(a, "--system"))
            system = val;
        else if (!strcmp(a, "--template"))
            tname = val;
        else if (tui_arg_sample(a, val, &o.sample, &bad))
            ;
        else if (!strcmp(a, "-n"))
            bad = tui_arg_num(val, 1, 1e9, &v), o.max_tokens = (int)v;
        else if (!strcmp(a, "--ctx"))
            bad = tui_arg_num(val, 16, 1 << 20, &v), n_ctx = (int)v;
        else if (!strcmp(a, "--threads"))
            bad = tui_arg_num(val, 1, 256, &v), threads = (int)v;
        else
            return tui_cmd_fail(TUI_EXIT_USAGE, "chat: unknown flag '%s' (see -h)", a);
        if (bad)
            return tui_cmd_fail(TUI_EXIT_USAGE, "chat: bad value for %s: '%s'", a, val);
    }
    if (!model) {
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    struct bz_err err = {0};
    struct core_generate_session s;
    int rc = core_generate_open(&s, model, threads, n_ctx, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    struct core_lora lora;
    memset(&lora, 0, sizeof lora);
    if (lora_path) {
        rc = core_lora_load(&lora, s.model, lora_path, &err);
        if (rc == 0)
            rc = core_forward_set_lora(s.fwd, &lora, &err);
    }
    int tmpl = rc ? -1 : core_template_pick(s.vocab, tname, &err);
    if (rc == 0 && tmpl < 0)
        rc = tmpl;
    if (rc) {
        core_lora_cleanup(&lora);
        core_generate_close(&s);
        if (rc == BZ_ENOTFOUND && !tname)
            return tui_cmd_fail(TUI_EXIT_ERROR, "%s (choose one with --template)",
                                bz_err_msg(&err, rc));
        return tui_cmd_fail_err(&err, rc);
    }
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = chat_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old); /* no SA_RESTART: a read at the prompt is interrupted */
    o.cancel = &chat_interrupted;
    int tty = isatty(0);
    fprintf(stderr, "bezoar chat: %s%s%s, template %s, %d threads. Ctrl-C stops a reply, "
            "Ctrl-D or /exit quits, /reset starts over.\n", model, lora_path ? " + " : "",
            lora_path ? lora_path : "", core_template_name(tmpl), core_pool_threads(s.pool));
    struct chat_msgs msgs = {0};
    if (system)
        msgs_push(&msgs, CORE_ROLE_SYSTEM, system, strlen(system));
    size_t base = msgs.n;
    struct core_ids cache;
    core_ids_init(&cache);
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        chat_interrupted = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            if (chat_interrupted) {
                clearerr(stdin);
                fputc('\n', stdout);
                continue;
            }
            if (tty)
                fputc('\n', stdout);
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit"))
            break;
        if (!strcmp(line, "/reset")) {
            msgs_truncate(&msgs, base);
            cache.n = 0;
            core_forward_truncate(s.fwd, 0);
            fputs("[conversation reset]\n", stderr);
            continue;
        }
        msgs_push(&msgs, CORE_ROLE_USER, line, (size_t)n);
        chat_interrupted = 0;
        bz_err_clear(&err);
        int trc = chat_turn(&s, tmpl, &msgs, &cache, &o, &err);
        if (trc) {
            msgs_truncate(&msgs, msgs.n - 1); /* drop the user line that failed */
            fprintf(stderr, "bezoar: %s\n", bz_err_msg(&err, trc));
        }
    }
    sigaction(SIGINT, &old, NULL);
    free(line);
    msgs_truncate(&msgs, 0);
    free(msgs.m);
    free(msgs.own);
    core_ids_cleanup(&cache);
    core_lora_cleanup(&lora);
    core_generate_close(&s);
    return TUI_EXIT_OK;
}
