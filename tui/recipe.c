/*
 * recipe.c: `bezoar train --recipe FILE --out runs/NAME`: the stages of a recipe (SFT or
 * DPO, one dataset each) trained in order, each in RUN/NN-name/, each after the first
 * starting from the previous stage's adapter (--init-adapter).
 *
 * Key idea: a stage is an ordinary `bezoar train` run, built as an argv and run in this
 * process through tui_cmd_train, so its files, events, checkpoints and --resume are the
 * ones the Train view and the train tests already know. The recipe only decides, from the
 * files of each stage directory, whether a stage is finished (its last "done" event did
 * not stop, and its adapter is there: skipped), started (config.json and a checkpoint:
 * resumed) or new. A copy of the recipe in RUN/recipe.json makes a changed recipe refuse
 * instead of mixing the stages of two recipes. The whole recipe is checked (keys, types,
 * methods, files) before any stage starts.
 *
 * Recipe: {"name", "model", "description"?, "defaults": {options}, "stages": [{"name",
 * "method": "sft"|"dpo", "data", options...}]}; options are `bezoar train`'s long flags
 * spelt as its config.json keys ("max_steps"); relative paths resolve against the
 * recipe file's directory.
 *
 * Left out: --full stages (the next stage needs an adapter), a model per stage, options
 * the recipe itself sets (out, resume, init_adapter, json, quiet).
 */
#include "tui/tui.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

/* the training worker (tui/cmd-train.c), run in this process for each stage */
int tui_cmd_train(int argc, char **argv);

/* ---------------------------------------------------------------- the recipe */

enum { K_STR = TUI_OPT_STR, K_INT = TUI_OPT_INT, K_FLOAT = TUI_OPT_FLOAT, K_FLAG = TUI_OPT_FLAG };

/* The train options a recipe may set, from `bezoar train`'s own table (filled once). */
#define N_RKEYS 64
static struct rkey {
    char name[32];
    int kind;
} rkeys[N_RKEYS];
static size_t n_rkeys;

static void rkeys_load(void)
{
    while (n_rkeys < N_RKEYS &&
           tui_train_stage_option(n_rkeys, rkeys[n_rkeys].name, &rkeys[n_rkeys].kind))
        n_rkeys++;
}

struct stage {
    char *name, *method, *data; /* data: resolved (absolute) */
    char *val[N_RKEYS];         /* the flag's value after defaults; NULL: not set */
};

struct recipe {
    char *path, *name, *model;  /* model: resolved (absolute) */
    char *text;                 /* the file's bytes */
    size_t len;
    struct stage *st;
    int n;
};

static void recipe_free(struct recipe *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->st[i].name), free(r->st[i].method), free(r->st[i].data);
        for (size_t k = 0; k < n_rkeys; k++)
            free(r->st[i].val[k]);
    }
    free(r->st), free(r->name), free(r->model), free(r->text);
}

/* "--max-steps" from "max_steps". */
static void flag_of(const char *key, char out[40])
{
    snprintf(out, 40, "--%s", key);
    for (char *c = out + 2; *c; c++)
        if (*c == '_')
            *c = '-';
}

/* The option value v of key k as a flag argument (caller frees), or NULL with why set.
 * A false flag gives "" (not passed). */
static char *opt_value(const struct rkey *k, const cJSON *v, const char **why)
{
    switch (k->kind) {
    case K_STR:
        if (cJSON_IsString(v))
            return bz_strdup(v->valuestring);
        *why = "a string";
        return NULL;
    case K_FLAG:
        if (cJSON_IsBool(v))
            return bz_strdup(cJSON_IsTrue(v) ? "1" : "");
        *why = "true or false";
        return NULL;
    case K_INT:
        if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
            fabs(v->valuedouble) < 9e15)
            return bz_asprintf("%lld", (long long)v->valuedouble);
        *why = "an integer";
        return NULL;
    default:
        if (cJSON_IsNumber(v))
            return bz_asprintf("%.9g", v->valuedouble);
        *why = "a number";
        return NULL;
    }
}

static const struct rkey *rkey_find(const char *name)
{
    for (size_t k = 0; k < n_rkeys; k++)
        if (strcmp(rkeys[k].name, name) == 0)
            return &rkeys[k];
    return NULL;
}

/* Path p of the recipe resolved against its directory; NULL when it does not exist. */
static char *resolve(const struct recipe *r, const char *p, char **tried)
{
    char *dir = bz_path_dir(r->path);
    char *joined = p[0] == '/' ? bz_strdup(p) : bz_path_join(dir, p);
    free(dir);
    char buf[PATH_MAX];
    struct stat st;
    char *out = NULL;
    if (realpath(joined, buf) && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
        out = bz_strdup(buf);
    *tried = joined;
    return out;
}

/* Read the options of object o ("defaults" or a stage) into val; the keys in skip[] are
 * the caller's. where names the place for messages. */
static int read_opts(const struct recipe *r, const cJSON *o, const char *where,
                     const char *const *skip, char **val, struct bz_err *err)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int mine = 0;
        for (int s = 0; skip[s]; s++)
            mine |= strcmp(skip[s], it->string) == 0;
        if (mine)
            continue;
        const struct rkey *k = rkey_find(it->string);
        if (!k) {
            const char *hint = "";
            if (!strcmp(it->string, "init_adapter") || !strcmp(it->string, "out") ||
                !strcmp(it->string, "resume"))
                hint = " (the recipe sets it)";
            else if (!strcmp(it->string, "full"))
                hint = " (stages train adapters: the next stage starts from one)";
            else if (!strcmp(it->string, "model"))
                hint = " (one model per recipe, at the top)";
            return bz_errf(err, BZ_EFORMAT, "%s: %s: unknown key \"%s\"%s", r->path, where,
                           it->string, hint);
        }
        const char *why = NULL;
        char *v = opt_value(k, it, &why);
        if (!v)
            return bz_errf(err, BZ_EFORMAT, "%s: %s: \"%s\" must be %s", r->path, where,
                           it->string, why);
        size_t idx = (size_t)(k - rkeys);
        free(val[idx]);
        val[idx] = v;
    }
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parse and check the whole recipe at path: every error is one line naming the file and
 * the stage. */
static int recipe_load(struct recipe *r, const char *path, struct bz_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = (char *)path;
    int rc = bz_read_file(path, &r->text, &r->len, err);
    if (rc)
        return rc;
    cJSON *j = cJSON_ParseWithLength(r->text, r->len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return bz_errf(err, BZ_EFORMAT, "%s: not a JSON object", path);
    }
    char *dflt[N_RKEYS] = {0};
    char *tried = NULL;
    const cJSON *it, *stages = cJSON_GetObjectItemCaseSensitive(j, "stages");
    const char *name = jstr(j, "name"), *model = jstr(j, "model");
    cJSON_ArrayForEach(it, j)
    {
        static const char *const top[] = {"name", "model", "description", "defaults", "stages"};
        int ok = 0;
        for (size_t k = 0; k < BZ_ARRAY_SIZE(top); k++)
            ok |= strcmp(top[k], it->string) == 0;
        if (!ok) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: unknown key \"%s\" (expected name, model, "
                         "description, defaults, stages)", path, it->string);
            goto out;
        }
    }
    if (!name || !model || !cJSON_IsArray(stages) || cJSON_GetArraySize(stages) == 0) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: needs \"name\" and \"model\" strings and a "
                     "non-empty \"stages\" list", path);
        goto out;
    }
    r->name = bz_strdup(name);
    if (!(r->model = resolve(r, model, &tried))) {
        rc = bz_errf(err, BZ_ENOENT, "%s: model '%s' not found (looked at %s)", path, model,
                     tried);
        goto out;
    }
    free(tried), tried = NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "defaults");
    if (d && !cJSON_IsObject(d)) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: \"defaults\" must be an object", path);
        goto out;
    }
    static const char *const none[] = {NULL};
    if (d && (rc = read_opts(r, d, "defaults", none, dflt, err)))
        goto out;
    int n = cJSON_GetArraySize(stages);
    r->st = bz_calloc((size_t)n, sizeof *r->st);
    cJSON_ArrayForEach(it, stages)
    {
        struct stage *s = &r->st[r->n++];
        char where[96];
        const char *sn = cJSON_IsObject(it) ? jstr(it, "name") : NULL;
        snprintf(where, sizeof where, "stage %d%s%.64s%s", r->n, sn ? " '" : "", sn ? sn : "",
                 sn ? "'" : "");
        if (!cJSON_IsObject(it) || !sn || !valid_name(sn)) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: %s: needs a \"name\" of letters, digits, '-', "
                         "'_' or '.'", path, where);
            goto out;
        }
        for (int k = 0; k + 1 < r->n; k++)
            if (strcmp(r->st[k].name, sn) == 0) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: %s: the name is used by stage %d too", path,
                             where, k + 1);
                goto out;
            }
        s->name = bz_strdup(sn);
        const char *m = jstr(it, "method");
        if (!m || (strcmp(m, "sft") && strcmp(m, "dpo"))) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: %s: \"method\" must be \"sft\" or \"dpo\" "
                         "(got %s%s%s)", path, where, m ? "\"" : "", m ? m : "nothing",
                         m ? "\"" : "");
            goto out;
        }
        s->method = bz_strdup(m);
        const char *data = jstr(it, "data");
        if (!data) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: %s: needs a \"data\" path", path, where);
            goto out;
        }
        if (!(s->data = resolve(r, data, &tried))) {
            rc = bz_errf(err, BZ_ENOENT, "%s: %s: data '%s' not found (looked at %s)", path,
                         where, data, tried);
            goto out;
        }
        free(tried), tried = NULL;
        static const char *const own[] = {"name", "method", "data", "description", NULL};
        if ((rc = read_opts(r, it, where, own, s->val, err)))
            goto out;
        for (size_t k = 0; k < n_rkeys; k++) {
            int dpo_only = !strcmp(rkeys[k].name, "beta") ||
                           !strcmp(rkeys[k].name, "label_smoothing");
            if (dpo_only && !strcmp(m, "sft") && s->val[k]) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: %s: \"%s\" is for DPO stages", path,
                             where, rkeys[k].name);
                goto out;
            }
            /* the defaults' DPO options apply to the DPO stages only */
            if (!s->val[k] && dflt[k] && (!dpo_only || strcmp(m, "sft")))
                s->val[k] = bz_strdup(dflt[k]);
        }
    }
out:
    free(tried);
    for (size_t k = 0; k < n_rkeys; k++)
        free(dflt[k]);
    cJSON_Delete(j);
    return rc;
}

/* ---------------------------------------------------------------- stage state */

enum { STAGE_NEW, STAGE_STARTED, STAGE_DONE };

/* From a stage directory's files: finished (its last "done" event did not stop and the
 * adapter is there), started (config.json and a checkpoint), else new. */
static int stage_state(const char *dir)
{
    char *p = bz_path_join(dir, "events.jsonl"), *text = NULL;
    size_t n = 0;
    int done = -1;
    if (bz_read_file(p, &text, &n, NULL) == 0) {
        for (char *line = text, *nl; line < text + n; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(text + n - line));
            if (!nl)
                break; /* a torn last line is no event */
            *nl = '\0';
            if (!strstr(line, "\"event\":\"done\""))
                continue;
            cJSON *o = cJSON_ParseWithLength(line, (size_t)(nl - line));
            const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
            if (cJSON_IsString(ev) && strcmp(ev->valuestring, "done") == 0)
                done = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stopped"));
            cJSON_Delete(o);
        }
    }
    free(text);
    free(p);
    p = bz_path_join(dir, "adapter/adapter_model.safetensors");
    int have_adapter = access(p, R_OK) == 0;
    free(p);
    if (done == 1 && have_adapter)
        return STAGE_DONE;
    p = bz_path_join(dir, "config.json");
    int have_cfg = access(p, R_OK) == 0;
    free(p);
    char *ck = NULL;
    int have_ck = have_cfg && core_checkpoint_latest(dir, &ck, NULL) == 0;
    free(ck);
    return have_ck ? STAGE_STARTED : STAGE_NEW;
}

/* ---------------------------------------------------------------- running */

static volatile sig_atomic_t stop_asked;
static void on_stop(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static void catch_stop(void)
{
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
}

struct rout {
    FILE *log; /* RUN/events.jsonl */
    int json, quiet;
};

static void emit(struct rout *o, struct bz_buf *b)
{
    if (o->log) {
        fprintf(o->log, "%s\n", b->p);
        fflush(o->log);
    }
    if (o->json) {
        printf("%s\n", b->p);
        fflush(stdout);
    }
    bz_buf_cleanup(b);
}

static void put_str(struct bz_buf *b, const char *key, const char *s)
{
    bz_buf_printf(b, ",\"%s\":", key);
    bz_buf_json_str(b, s, strlen(s));
}

/* RUN/recipe.json: written on the first run, compared on the next ones. */
static int check_copy(const struct recipe *r, const char *out, struct bz_err *err)
{
    char *copy = bz_path_join(out, "recipe.json"), *text = NULL;
    size_t n = 0;
    int rc = 0;
    if (bz_read_file(copy, &text, &n, NULL) == 0) {
        if (n != r->len || memcmp(text, r->text, n) != 0)
            rc = bz_errf(err, BZ_EINVAL, "%s: the recipe changed since %s started (its copy "
                         "is %s): finish it with the old recipe or use a new --out", r->path,
                         out, copy);
    } else {
        DIR *d = opendir(out);
        struct dirent *e;
        int used = 0;
        while (d && (e = readdir(d)))
            used |= e->d_name[0] != '.';
        if (d)
            closedir(d);
        if (used)
            rc = bz_errf(err, -EEXIST, "%s: exists and is not a recipe run (no recipe.json): "
                         "use a new --out", out);
        else if (!(rc = bz_mkdir_p(out, err)))
            rc = bz_write_atomic(copy, r->text, r->len, err);
    }
    free(text);
    free(copy);
    return rc;
}

/* Run stage i of r in dir (fresh or resumed). Returns tui_cmd_train's exit code. */
static int stage_run(const struct recipe *r, int i, const char *out, const char *dir,
                     int resume, const struct rout *o, const char *threads)
{
    const struct stage *s = &r->st[i];
    char *argv[2 * N_RKEYS + 24];
    char flags[N_RKEYS][40];
    char *prev = NULL;
    int k = 0;
    argv[k++] = "train";
    if (resume) {
        argv[k++] = "--resume";
        argv[k++] = (char *)dir;
    } else {
        argv[k++] = "-m";
        argv[k++] = r->model;
        argv[k++] = "--data";
        argv[k++] = s->data;
        argv[k++] = "--out";
        argv[k++] = (char *)dir;
        if (strcmp(s->method, "sft") != 0) {
            argv[k++] = "--method";
            argv[k++] = s->method;
        }
        if (i > 0) {
            char *pd = bz_asprintf("%02d-%s/adapter", i, r->st[i - 1].name);
            prev = bz_path_join(out, pd);
            free(pd);
            argv[k++] = "--init-adapter";
            argv[k++] = prev;
        }
        for (size_t q = 0; q < n_rkeys; q++) {
            if (!s->val[q] || (threads && !strcmp(rkeys[q].name, "threads")))
                continue;
            if (rkeys[q].kind == K_FLAG && !s->val[q][0])
                continue;
            flag_of(rkeys[q].name, flags[q]);
            argv[k++] = flags[q];
            if (rkeys[q].kind != K_FLAG)
                argv[k++] = s->val[q];
        }
    }
    if (threads) {
        argv[k++] = "--threads";
        argv[k++] = (char *)threads;
    }
    if (o->json)
        argv[k++] = "--json";
    if (o->quiet)
        argv[k++] = "--quiet";
    argv[k] = NULL;
    if (!resume) { /* a stage that never reached a checkpoint starts over */
        char *p = bz_path_join(dir, "events.jsonl");
        unlink(p);
        free(p);
    }
    int rc = tui_cmd_train(k, argv);
    free(prev);
    return rc;
}

static const char usage[] =
    "usage: bezoar train --recipe FILE --out runs/NAME [--json] [--quiet] [--threads N]\n"
    "  Runs the recipe's stages in order, each in runs/NAME/NN-stage/, each after the first\n"
    "  starting from the previous stage's adapter. Running it again skips finished stages\n"
    "  and resumes a started one; a recipe that changed since the run began is refused.\n"
    "  Recipe: {\"name\", \"model\", \"defaults\": {options}, \"stages\": [{\"name\", \"method\":\n"
    "  \"sft\"|\"dpo\", \"data\", options...}]}, options as in config.json (\"max_steps\").\n";

/* The recipe runner (see tui.h). Prints its own messages; returns the exit code. */
int tui_recipe_run(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *threads = NULL;
    struct rout o = {0};
    rkeys_load();
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o.json = 1;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (i + 1 < argc && !strcmp(a, "--recipe")) {
            file = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--out")) {
            out = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--threads")) {
            threads = argv[++i];
            double t;
            if (tui_arg_num(threads, 0, 4096, &t) || t != floor(t))
                return tui_cmd_fail(TUI_EXIT_USAGE, "train --recipe: --threads expects a "
                                    "whole number (got '%s')", threads);
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "train --recipe: unexpected '%s': a recipe "
                                "run takes --recipe FILE --out runs/NAME [--json] [--quiet] "
                                "[--threads N]; training options go in the recipe", a);
        }
    }
    if (!file || !out)
        return tui_cmd_fail(TUI_EXIT_USAGE, "train --recipe FILE --out runs/NAME: both are "
                            "required (see bezoar train --recipe -h)");
    struct recipe r;
    struct bz_err err = {0};
    int rc = recipe_load(&r, file, &err);
    if (rc) {
        recipe_free(&r);
        /* one line naming the file (and the stage); nothing was started */
        return tui_cmd_fail(TUI_EXIT_USAGE, "%s", bz_err_msg(&err, rc));
    }
    if ((rc = check_copy(&r, out, &err))) {
        recipe_free(&r);
        return tui_cmd_fail_err(&err, rc);
    }
    char *evp = bz_path_join(out, "events.jsonl");
    o.log = fopen(evp, "a");
    free(evp);
    if (!o.log) {
        recipe_free(&r);
        return tui_cmd_fail(TUI_EXIT_ERROR, "%s/events.jsonl: %s", out, strerror(errno));
    }
    double t0 = bz_now();
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_puts(&b, "{\"event\":\"recipe\"");
    put_str(&b, "name", r.name);
    put_str(&b, "file", file);
    put_str(&b, "model", r.model);
    bz_buf_printf(&b, ",\"stages\":%d}", r.n);
    emit(&o, &b);
    stop_asked = 0;
    catch_stop();
    int code = TUI_EXIT_OK;
    char *last = NULL;
    for (int i = 0; i < r.n && code == TUI_EXIT_OK; i++) {
        char *sub = bz_asprintf("%02d-%s", i + 1, r.st[i].name);
        char *dir = bz_path_join(out, sub);
        free(sub);
        int st = stage_state(dir);
        static const char *const action[] = {"run", "resume", "skip"};
        bz_buf_init(&b);
        bz_buf_printf(&b, "{\"event\":\"stage\",\"index\":%d,\"of\":%d", i + 1, r.n);
        put_str(&b, "name", r.st[i].name);
        put_str(&b, "dir", dir);
        put_str(&b, "method", r.st[i].method);
        put_str(&b, "data", r.st[i].data);
        put_str(&b, "action", action[st]);
        bz_buf_putc(&b, '}');
        emit(&o, &b);
        if (!o.json && !o.quiet)
            fprintf(stderr, "recipe %s: stage %d/%d %s (%s): %s %s\n", r.name, i + 1, r.n,
                    r.st[i].name, r.st[i].method,
                    st == STAGE_DONE ? "finished, skipped" : st ? "resuming" : "training",
                    dir);
        free(last);
        last = bz_path_join(dir, "adapter");
        if (st != STAGE_DONE && !stop_asked) {
            code = stage_run(&r, i, out, dir, st == STAGE_STARTED, &o, threads);
            catch_stop(); /* the stage installed its own handlers */
            if (code != TUI_EXIT_OK) {
                bz_buf_init(&b);
                bz_buf_printf(&b, "{\"event\":\"error\",\"stage\":%d,\"message\":", i + 1);
                char *evs = bz_path_join(dir, "events.jsonl");
                int have = access(evs, R_OK) == 0;
                char *msg = bz_asprintf("stage %d/%d '%s' failed (exit %d)%s%s", i + 1, r.n,
                                        r.st[i].name, code, have ? ": its events are in " : "",
                                        have ? evs : "");
                free(evs);
                bz_buf_json_str(&b, msg, strlen(msg));
                bz_buf_putc(&b, '}');
                emit(&o, &b);
                fprintf(stderr, "bezoar: %s: %s\n", file, msg);
                free(msg);
            } else if (stage_state(dir) != STAGE_DONE) {
                stop_asked = 1; /* the stage stopped on SIGTERM with a checkpoint */
            }
        }
        if (code == TUI_EXIT_OK && stop_asked) {
            bz_buf_init(&b);
            bz_buf_printf(&b, "{\"event\":\"recipe_stopped\",\"stage\":%d,\"of\":%d", i + 1,
                          r.n);
            put_str(&b, "dir", dir);
            bz_buf_printf(&b, ",\"elapsed_s\":%.3f}", bz_now() - t0);
            emit(&o, &b);
            if (!o.quiet)
                fprintf(stderr, "recipe %s: stopped in stage %d/%d; the same command "
                        "resumes it\n", r.name, i + 1, r.n);
            free(dir);
            goto done;
        }
        free(dir);
    }
    if (code == TUI_EXIT_OK) {
        bz_buf_init(&b);
        bz_buf_printf(&b, "{\"event\":\"recipe_done\",\"stages\":%d", r.n);
        put_str(&b, "name", r.name);
        put_str(&b, "adapter", last);
        bz_buf_printf(&b, ",\"elapsed_s\":%.3f}", bz_now() - t0);
        emit(&o, &b);
        if (!o.json && !o.quiet)
            fprintf(stderr, "recipe %s: %d stages done; adapter: %s\n", r.name, r.n, last);
    }
done:
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    free(last);
    fclose(o.log);
    recipe_free(&r);
    return code;
}
