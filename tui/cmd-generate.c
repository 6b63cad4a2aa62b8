/*
 * cmd-generate.c: `bezoar generate`: synthetic instruction pairs by a scheme (LaMini-
 * style, Evol-Instruct, Orca-style) from a backend, appended to a JSON-lines file as
 * each pair completes. dataset/generate.c does the scheme; this file parses the flags,
 * opens the backend, runs each request the library asks for, and shows progress (a bar
 * with rate and ETA on a terminal, JSON-lines events with --json).
 *
 * Key ideas: the library calls back from `--parallel` threads, each running one
 * request as a batch of one on the shared backend (a remote backend runs each on its
 * own connection, a local one gives each its own slot over the one model: --parallel
 * slots sharing the threads). The first SIGINT or
 * SIGTERM stops starting units and lets those in flight finish and be written; a
 * second one cancels the requests in flight.
 *
 * Left out: the config file's named backends (the spec is given in full).
 */
#include "tui/tui.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/generate.h"
#include "judge/judge.h"

BZ_CMD("generate", tui_cmd_generate, "synthetic pairs by scheme: lamini, evol, orca");

static const char usage[] =
    "usage: bezoar generate --scheme lamini|evol|orca --seeds SEEDS --backend SPEC -n N\n"
    "                       -o OUT.jsonl [options]\n"
    "Generate until OUT holds N pairs of the scheme, appending each pair as one JSON line\n"
    "(OpenAI chat format with provenance in \"meta\") as soon as it is complete. Run again\n"
    "to resume: done units are skipped, never written twice; a torn last line is cut.\n"
    "  lamini   new instructions from a few seed examples (and from --topics), then answers\n"
    "  evol     seed instructions rewritten in depth or breadth (failed ones dropped), then\n"
    "           answers; evolving an evolved instruction raises its generation\n"
    "  orca     the seed tasks answered under step-by-step system messages (kept)\n"
    "SEEDS: JSON lines {\"id\", \"instruction\", \"input\"} (or any pair format: its prompt).\n"
    "SPEC is local:MODEL[+ADAPTER] or openai:URL#MODEL (key from BEZOAR_API_KEY).\n"
    "  --topics FILE        LaMini topics, one per line (topic-guided instructions)\n"
    "  --prompts DIR        prompt templates (default: the shipped assets/prompts)\n"
    "  --parallel N         units in flight (remote: default 4; local: slots sharing the\n"
    "                       threads, default 1)\n"
    "  --temperature T      sampling temperature (default 0.7)\n"
    "  --top-p P            nucleus sampling (default 0.95)\n"
    "  --max-tokens M       tokens per answer (default 512)\n"
    "  --seed S             run seed; each request's seed derives from it and its key (1)\n"
    "  --count K            LaMini: instructions asked for per request (default 5)\n"
    "  --max-units U        units tried at most in this run (default 4 x missing + 16)\n"
    "  --retries N          remote: retries of a failed request (default 5, with backoff)\n"
    "  --template NAME      local: chat template (default: the model's)\n"
    "  --json               events as JSON lines on stdout   --quiet   no progress\n"
    "Exit: 0 when OUT holds N pairs of the scheme, 1 when it stopped short or failed,\n"
    "2 on a usage error.\n";

#define usage_fail(...) tui_cmd_usage_fail("generate", usage, __VA_ARGS__)

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_units, cancel_requests;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_units)
        cancel_requests = 1;
    stop_units = 1;
}

/* ---------------------------------------------------------------- requests */

struct gen_backend {
    struct judge_backend *be;
};

/* The library's complete callback: one request as a batch of one. */
static int gen_complete(void *ctx, const struct ds_generate_req *q, struct bz_buf *text,
                        struct bz_err *err)
{
    struct gen_backend *g = ctx;
    struct judge_msg m[2];
    size_t n = 0;
    if (q->system)
        m[n++] = (struct judge_msg){JUDGE_ROLE_SYSTEM, q->system};
    m[n++] = (struct judge_msg){JUDGE_ROLE_USER, q->user};
    struct judge_request r;
    memset(&r, 0, sizeof r);
    r.msgs = m;
    r.n_msgs = n;
    judge_sampling_defaults(&r.s);
    r.s.temperature = (float)q->s->temperature;
    r.s.top_p = (float)q->s->top_p;
    r.s.max_tokens = q->s->max_tokens;
    r.s.has_seed = 1;
    r.s.seed = q->seed;
    struct judge_result res;
    judge_result_init(&res);
    int rc = judge_backend_run(g->be, &r, 1, &res, NULL, NULL, &cancel_requests);
    if (rc)
        bz_errf(err, rc, "the request could not start");
    else if (res.rc)
        rc = bz_errf(err, res.rc, "%s", res.error[0] ? res.error : bz_strerror(res.rc));
    else
        bz_buf_append(text, res.text.p ? res.text.p : "", res.text.len);
    judge_result_cleanup(&res);
    return rc;
}

/* ---------------------------------------------------------------- events */

struct gen_ui {
    int json, quiet, tty;
    double t0;
    size_t existing, written;
};

static void json_str(const char *key, const char *s)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_json_str(&b, s ? s : "", s ? strlen(s) : 0);
    printf(",\"%s\":%s", key, b.p);
    bz_buf_cleanup(&b);
}

static void progress_show(struct gen_ui *u, const struct ds_generate_event *e)
{
    if (u->quiet)
        return;
    double el = bz_now() - u->t0;
    size_t made = e->done > u->existing ? e->done - u->existing : 0;
    double rate = el > 0 ? (double)made / el : 0;
    double eta = rate > 0 ? (double)(e->total - e->done) / rate : -1;
    if (u->json) {
        printf("{\"event\":\"progress\",\"phase\":\"generate\",\"done\":%zu,\"total\":%zu,"
               "\"dropped\":%zu,\"errors\":%zu,\"elapsed_s\":%.3f,\"rate\":%.4f,"
               "\"eta_s\":%.1f}\n",
               e->done, e->total, e->dropped, e->errors, el, rate, eta);
        fflush(stdout);
    } else if (u->tty) {
        int w = 24, fill = e->total ? (int)((double)w * (double)e->done / (double)e->total) : w;
        char bar[32];
        for (int i = 0; i < w; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        char etas[32];
        if (eta >= 0)
            snprintf(etas, sizeof etas, "ETA %.0f s", eta);
        else
            snprintf(etas, sizeof etas, "ETA ?");
        fprintf(stderr, "\rgenerate [%s] %zu/%zu  %.2f pairs/s  %s  dropped %zu  errors %zu ", bar,
                e->done, e->total, rate, etas, e->dropped, e->errors);
    }
}

static void on_event(void *ctx, const struct ds_generate_event *e)
{
    struct gen_ui *u = ctx;
    if (e->type == DS_GENERATE_EV_PAIR)
        u->written++;
    if (u->json && !u->quiet) {
        static const char *const names[] = {"pair", "dropped", "error"};
        printf("{\"event\":\"%s\"", names[e->type]);
        json_str("key", e->key);
        if (e->type == DS_GENERATE_EV_PAIR)
            json_str("id", e->id);
        json_str("strategy", e->strategy);
        if (e->type == DS_GENERATE_EV_PAIR)
            printf(",\"generation\":%d,\"done\":%zu,\"total\":%zu", e->generation, e->done,
                   e->total);
        if (e->type == DS_GENERATE_EV_DROPPED)
            json_str("reason", ds_generate_drop_name(e->reason));
        if (e->type == DS_GENERATE_EV_ERROR)
            json_str("message", e->message);
        printf("}\n");
    } else if (e->type == DS_GENERATE_EV_ERROR && !u->quiet) {
        fprintf(stderr, "%sbezoar: generate: %s: %s\n", u->tty ? "\r\033[K" : "", e->key,
                e->message);
    }
    progress_show(u, e);
}

/* ---------------------------------------------------------------- the verb */

static int num_flag(const char *flag, const char *v, double lo, double hi, double *out)
{
    if (tui_arg_num(v, lo, hi, out))
        return usage_fail("%s: expected a number in [%g, %g] (got %s)", flag, lo, hi, v);
    return 0;
}

/* tui_cmd_generate: the generate verb (usage above); returns the exit code. */
int tui_cmd_generate(int argc, char **argv)
{
    const char *scheme_s = NULL, *seeds_p = NULL, *spec = NULL, *out = NULL, *topics_p = NULL;
    const char *prompts_d = NULL, *tmpl = NULL;
    double n = -1, parallel = 0, temp = 0.7, top_p = 0.95, max_tokens = 512, seed = 1, count = 5,
           max_units = 0, retries = -1;
    int json = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        }
        if (!v)
            return usage_fail("%s needs a value (or is unknown)", a);
        i++;
        int bad = 0;
        if (!strcmp(a, "--scheme"))
            scheme_s = v;
        else if (!strcmp(a, "--seeds"))
            seeds_p = v;
        else if (!strcmp(a, "--backend"))
            spec = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--topics"))
            topics_p = v;
        else if (!strcmp(a, "--prompts"))
            prompts_d = v;
        else if (!strcmp(a, "--template"))
            tmpl = v;
        else if (!strcmp(a, "-n"))
            bad = num_flag(a, v, 1, 1e9, &n);
        else if (!strcmp(a, "--parallel"))
            bad = num_flag(a, v, 1, 256, &parallel);
        else if (!strcmp(a, "--temperature") || !strcmp(a, "--temp"))
            bad = num_flag(a, v, 0, 100, &temp);
        else if (!strcmp(a, "--top-p"))
            bad = num_flag(a, v, 1e-9, 1, &top_p);
        else if (!strcmp(a, "--max-tokens"))
            bad = num_flag(a, v, 1, 1 << 20, &max_tokens);
        else if (!strcmp(a, "--seed"))
            bad = num_flag(a, v, 0, 9007199254740992.0, &seed);
        else if (!strcmp(a, "--count"))
            bad = num_flag(a, v, 1, 100, &count);
        else if (!strcmp(a, "--max-units"))
            bad = num_flag(a, v, 1, 1e9, &max_units);
        else if (!strcmp(a, "--retries"))
            bad = num_flag(a, v, 0, 100, &retries);
        else
            return usage_fail("unknown option %s", a);
        if (bad)
            return bad;
    }
    const double whole[] = {n, parallel, max_tokens, seed, count, max_units, retries};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(whole); i++)
        if (floor(whole[i]) != whole[i])
            return usage_fail("-n, --parallel, --max-tokens, --seed, --count, --max-units and "
                              "--retries take whole numbers (got %g)",
                              whole[i]);
    if (!scheme_s || !seeds_p || !spec || n < 0 || !out)
        return usage_fail("--scheme, --seeds, --backend, -n and -o are required");
    int scheme = ds_generate_scheme_parse(scheme_s);
    if (scheme < 0)
        return usage_fail("--scheme: expected lamini, evol or orca (got %s)", scheme_s);
    if (topics_p && scheme != DS_GENERATE_LAMINI)
        return usage_fail("--topics is for --scheme lamini");
    if (strncmp(spec, "local:", 6) && strncmp(spec, "openai:", 7))
        return usage_fail("--backend: expected local:MODEL[+ADAPTER] or openai:URL#MODEL "
                          "(got %s)",
                          spec);

    struct bz_err err = {0};
    struct ds_generate_seeds seeds = {0};
    struct ds_generate_prompts prompts;
    memset(&prompts, 0, sizeof prompts);
    char **topics = NULL, *defprompts = NULL;
    size_t n_topics = 0;
    struct gen_backend gb = {NULL};
    struct ds_generate_done *done = NULL;
    int code = TUI_EXIT_OK;
    int rc = ds_generate_seeds_load(&seeds, seeds_p, &err);
    if (!rc && topics_p)
        rc = ds_generate_topics_load(&topics, &n_topics, topics_p, &err);
    if (!rc) {
        if (!prompts_d)
            prompts_d = defprompts = bz_path_join(tui_assets_dir(), "prompts");
        rc = ds_generate_prompts_load(&prompts, prompts_d, &err);
    }
    /* what OUT holds already: said before the backend (a model load) is opened */
    size_t torn = 0, bad = 0, existing = 0;
    if (!rc)
        rc = ds_generate_done_open(&done, out, &torn, &bad, &err);
    if (rc)
        goto fail;
    existing = ds_generate_done_count(done, scheme);
    ds_generate_done_free(done);
    if (torn && !quiet)
        fprintf(stderr, "bezoar: %s: cut off a torn last line (%zu bytes)\n", out, torn);
    if (bad && !quiet)
        fprintf(stderr, "bezoar: %s: %zu line%s not JSON, skipped\n", out, bad,
                bad == 1 ? "" : "s");

    int local = !strncmp(spec, "local:", 6);
    int par = parallel > 0 ? (int)parallel : local ? 1 : 4;
    if (existing < (size_t)n) {
        struct judge_backend_cfg cfg;
        judge_backend_cfg_defaults(&cfg);
        cfg.parallel = 1; /* each thread runs batches of one */
        cfg.local_slots = local ? par : 1;
        cfg.template_name = tmpl;
        if (retries >= 0)
            cfg.max_retries = (int)retries;
        rc = judge_backend_open(&gb.be, spec, &cfg, &err);
        if (rc == BZ_EUSAGE) {
            code = tui_cmd_fail(TUI_EXIT_USAGE, "generate: %s", bz_err_msg(&err, rc));
            goto cleanup;
        }
        if (rc)
            goto fail;
    }
    const char *model = gb.be ? judge_backend_model(gb.be) : "";
    struct gen_ui ui = {json, quiet, isatty(2), bz_now(), existing, 0};
    if (json && !quiet) {
        printf("{\"event\":\"start\",\"verb\":\"generate\"");
        json_str("scheme", scheme_s);
        json_str("backend", spec);
        json_str("model", model);
        json_str("path", out);
        printf(",\"seeds\":%zu,\"topics\":%zu,\"target\":%zu,\"existing\":%zu,\"parallel\":%d,"
               "\"torn_bytes\":%zu}\n",
               seeds.n, n_topics, (size_t)n, existing, par, torn);
        fflush(stdout);
    }

    struct ds_generate_opts o;
    memset(&o, 0, sizeof o);
    o.scheme = scheme;
    o.out = out;
    o.n = (size_t)n;
    o.parallel = par;
    o.s.temperature = temp;
    o.s.top_p = top_p;
    o.s.max_tokens = (int)max_tokens;
    o.s.seed = (uint64_t)seed;
    o.backend = spec;
    o.model = model;
    o.count = (int)count;
    o.max_units = (int)max_units;
    struct ds_generate_stats st;
    memset(&st, 0, sizeof st);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (existing < (size_t)n)
        rc = ds_generate_run(&o, &seeds, topics, n_topics, &prompts, gen_complete, &gb, on_event,
                             &ui, &stop_units, &st, &err);
    else
        st.existing = existing;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (ui.tty && !quiet && !json && st.units)
        fputc('\n', stderr);
    size_t now = st.existing + st.written;
    if (!quiet) {
        if (json) {
            printf("{\"event\":\"done\"");
            json_str("path", out);
            printf(",\"written\":%zu,\"existing\":%zu,\"total\":%zu,\"target\":%zu,"
                   "\"dropped\":%zu,\"errors\":%zu,\"requests\":%zu,\"units\":%zu,"
                   "\"exhausted\":%s,\"stopped\":%s,\"dropped_by\":{",
                   st.written, st.existing, now, (size_t)n, st.dropped, st.errors, st.requests,
                   st.units, st.exhausted ? "true" : "false", stop_units ? "true" : "false");
            int first = 1;
            for (int r = 1; r < DS_GENERATE_DROP_N; r++)
                if (st.dropped_by[r]) {
                    printf("%s\"%s\":%zu", first ? "" : ",", ds_generate_drop_name(r),
                           st.dropped_by[r]);
                    first = 0;
                }
            printf("}}\n");
            fflush(stdout);
        } else {
            fprintf(stderr, "generate: %s: %zu new %s pair%s, %zu of %zu; %zu dropped", out,
                    st.written, scheme_s, st.written == 1 ? "" : "s", now, (size_t)n, st.dropped);
            for (int r = 1, k = 0; r < DS_GENERATE_DROP_N; r++)
                if (st.dropped_by[r])
                    fprintf(stderr, "%s%s %zu", k++ ? ", " : " (", ds_generate_drop_name(r),
                            st.dropped_by[r]);
            for (int r = 1; r < DS_GENERATE_DROP_N; r++)
                if (st.dropped_by[r]) {
                    fputc(')', stderr);
                    break;
                }
            fprintf(stderr, "; %zu request error%s of %zu requests\n", st.errors,
                    st.errors == 1 ? "" : "s", st.requests);
        }
    }
    if (rc)
        goto fail;
    if (now < (size_t)n) {
        code = tui_cmd_fail(TUI_EXIT_ERROR,
                            "generate: stopped short at %zu of %zu %s pairs (%s); "
                            "run again to go on",
                            now, (size_t)n, scheme_s,
                            stop_units     ? "interrupted"
                            : st.exhausted ? "every unit the seeds allow was tried: add seeds"
                                           : "the unit budget (--max-units) is spent");
    }
    goto cleanup;
fail:
    if (json && !quiet) {
        printf("{\"event\":\"error\"");
        json_str("message", bz_err_msg(&err, rc));
        printf("}\n");
        fflush(stdout);
    }
    code = tui_cmd_fail_err(&err, rc);
cleanup:
    judge_backend_free(gb.be);
    ds_generate_seeds_cleanup(&seeds);
    ds_generate_prompts_cleanup(&prompts);
    for (size_t i = 0; i < n_topics; i++)
        free(topics[i]);
    free(topics);
    free(defprompts);
    return code;
}
