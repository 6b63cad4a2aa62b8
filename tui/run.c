/*
 * run.c: training-run state from worker events (see run.h). Unknown keys are
 * ignored so the worker can add fields; a line that is not a JSON object with an
 * "event" string is counted and reported, never guessed at. A recipe run's stages are
 * runs of their own (stages[]), created by its "stage" events and followed by
 * tui_run_follow along with it.
 */
#include "tui/run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tui_run_state_name(int st)
{
    switch (st) {
    case TUI_RUN_RUNNING: return "running";
    case TUI_RUN_DONE: return "done";
    case TUI_RUN_FAILED: return "failed";
    case TUI_RUN_STOPPED: return "stopped";
    default: return "new";
    }
}

void tui_run_init(struct tui_run *r, const char *dir)
{
    memset(r, 0, sizeof *r);
    r->dir = bz_strdup(dir);
    const char *slash = strrchr(dir, '/');
    r->name = bz_strdup(slash && slash[1] ? slash + 1 : dir);
    r->best_eval = INFINITY;
    r->best_eval_step = -1;
    r->cur_stage = -1;
    r->view_stage = -1;
    r->beta = r->reward_margin = r->reward_accuracy = NAN;
    r->eval_margin = r->eval_accuracy = NAN;
}

void tui_run_cleanup(struct tui_run *r)
{
    if (!r)
        return;
    free(r->dir);
    free(r->name);
    free(r->model);
    free(r->data);
    free(r->loss_pts);
    free(r->eval_pts);
    free(r->lr_pts);
    free(r->gnorm_pts);
    free(r->margin_pts);
    free(r->acc_pts);
    free(r->emargin_pts);
    free(r->eacc_pts);
    for (int i = 0; i < r->n_stages; i++)
        tui_run_cleanup(&r->stages[i]);
    free(r->stages);
    free(r->recipe_name);
    free(r->recipe_file);
    for (size_t i = 0; i < r->n_ckpts; i++)
        free(r->ckpts[i].path);
    free(r->ckpts);
    free(r->adapter);
    free(r->error);
    free(r->partial);
    memset(r, 0, sizeof *r);
}

static void push(struct tui_point **v, size_t *n, size_t *cap, double x, double y)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *v = bz_realloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = (struct tui_point){x, y};
}

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_str(char **dst, const char *s)
{
    if (!s)
        return;
    free(*dst);
    *dst = bz_strdup(s);
}

int tui_run_feed(struct tui_run *r, const char *line, size_t n, struct bz_err *err)
{
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (n == 0)
        return 0;
    cJSON *o = cJSON_ParseWithLength(line, n);
    const char *ev = o ? str(o, "event") : NULL;
    if (!ev) {
        r->invalid_lines++;
        int show = (int)BZ_MIN(n, 60);
        bz_errf(err, BZ_EPARSE, "%s: worker printed %s: %.*s", r->name,
                o ? "a line without an event" : "invalid JSON", show, line);
        cJSON_Delete(o);
        return BZ_EPARSE;
    }
    if (r->is_recipe && strcmp(ev, "recipe") && strcmp(ev, "stage") && strcmp(ev, "error") &&
        strcmp(ev, "recipe_done") && strcmp(ev, "recipe_stopped")) {
        /* a stage's own event (a recipe's --json stdout carries both): its run has it */
    } else if (strcmp(ev, "start") == 0) {
        r->state = TUI_RUN_RUNNING;
        const char *m = str(o, "method");
        snprintf(r->method, sizeof r->method, "%s", m ? m : "sft");
        r->beta = num(o, "beta", NAN);
        set_str(&r->model, str(o, "model"));
        set_str(&r->data, str(o, "data"));
        r->total_steps = (long)num(o, "total_steps", num(o, "max_steps", (double)r->total_steps));
        snprintf(r->phase, sizeof r->phase, "start");
    } else if (strcmp(ev, "progress") == 0) {
        const char *ph = str(o, "phase");
        snprintf(r->phase, sizeof r->phase, "%s", ph ? ph : "progress");
        r->phase_done = (long)num(o, "done", 0);
        r->phase_total = (long)num(o, "total", 0);
    } else if (strcmp(ev, "step") == 0) {
        if (r->state == TUI_RUN_NEW)
            r->state = TUI_RUN_RUNNING;
        snprintf(r->phase, sizeof r->phase, "train");
        r->step = (long)num(o, "step", (double)r->step);
        r->epoch = num(o, "epoch", r->epoch);
        r->loss = num(o, "loss", NAN);
        r->lr = num(o, "lr", NAN);
        r->grad_norm = num(o, "grad_norm", NAN);
        r->tokens_per_s = num(o, "tokens_per_s", r->tokens_per_s);
        r->elapsed_s = num(o, "elapsed_s", r->elapsed_s);
        r->eta_s = num(o, "eta_s", r->eta_s);
        double tot = num(o, "total_steps", -1);
        if (tot > 0)
            r->total_steps = (long)tot;
        push(&r->loss_pts, &r->n_loss, &r->cap_loss, (double)r->step, r->loss);
        push(&r->lr_pts, &r->n_lr, &r->cap_lr, (double)r->step, r->lr);
        push(&r->gnorm_pts, &r->n_gnorm, &r->cap_gnorm, (double)r->step, r->grad_norm);
        double mg = num(o, "reward_margin", NAN), ac = num(o, "reward_accuracy", NAN);
        if (isfinite(mg)) {
            r->reward_margin = mg;
            push(&r->margin_pts, &r->n_margin, &r->cap_margin, (double)r->step, mg);
        }
        if (isfinite(ac)) {
            r->reward_accuracy = ac;
            push(&r->acc_pts, &r->n_acc, &r->cap_acc, (double)r->step, ac);
        }
    } else if (strcmp(ev, "eval") == 0) {
        double loss = num(o, "loss", NAN);
        long step = (long)num(o, "step", (double)r->step);
        if (r->n_eval && isfinite(loss) && loss > r->eval_pts[r->n_eval - 1].y)
            r->eval_rising++;
        else
            r->eval_rising = 0;
        if (isfinite(loss) && loss < r->best_eval) {
            r->best_eval = loss;
            r->best_eval_step = step;
        }
        push(&r->eval_pts, &r->n_eval, &r->cap_eval, (double)step, loss);
        double mg = num(o, "reward_margin", NAN), ac = num(o, "reward_accuracy", NAN);
        if (isfinite(mg)) {
            r->eval_margin = mg;
            push(&r->emargin_pts, &r->n_emargin, &r->cap_emargin, (double)step, mg);
        }
        if (isfinite(ac)) {
            r->eval_accuracy = ac;
            push(&r->eacc_pts, &r->n_eacc, &r->cap_eacc, (double)step, ac);
        }
    } else if (strcmp(ev, "checkpoint") == 0) {
        r->ckpts = bz_realloc(r->ckpts, (r->n_ckpts + 1) * sizeof *r->ckpts);
        r->ckpts[r->n_ckpts].step = (long)num(o, "step", (double)r->step);
        const char *p = str(o, "path");
        r->ckpts[r->n_ckpts].path = bz_strdup(p ? p : "");
        r->n_ckpts++;
    } else if (strcmp(ev, "done") == 0) {
        /* a worker stopped by SIGTERM checkpoints and ends with "stopped": true */
        const cJSON *stopped = cJSON_GetObjectItemCaseSensitive(o, "stopped");
        r->state = cJSON_IsTrue(stopped) ? TUI_RUN_STOPPED : TUI_RUN_DONE;
        snprintf(r->phase, sizeof r->phase, "%s", r->state == TUI_RUN_DONE ? "done" : "stopped");
        const char *a = str(o, "adapter");
        if (a) {
            set_str(&r->adapter, a);
        } else {
            char *p = bz_path_join(r->dir, "adapter");
            if (access(p, R_OK) == 0)
                set_str(&r->adapter, p);
            free(p);
        }
    } else if (strcmp(ev, "recipe") == 0) {
        r->is_recipe = 1;
        r->state = TUI_RUN_RUNNING; /* also a rerun after a stop or a failure */
        free(r->error);
        r->error = NULL;
        set_str(&r->recipe_name, str(o, "name"));
        set_str(&r->recipe_file, str(o, "file"));
        int ns = (int)num(o, "stages", 0);
        if (ns > r->n_stages && ns <= 999) {
            r->stages = bz_realloc(r->stages, (size_t)ns * sizeof *r->stages);
            memset(r->stages + r->n_stages, 0, (size_t)(ns - r->n_stages) * sizeof *r->stages);
            r->n_stages = ns;
        }
        snprintf(r->phase, sizeof r->phase, "recipe");
    } else if (strcmp(ev, "stage") == 0) {
        int i = (int)num(o, "index", 0) - 1;
        const char *d = str(o, "dir");
        if (i >= 0 && i < r->n_stages && d) {
            if (!r->stages[i].dir) {
                /* the stage directory is beside this one's events, whatever the cwd was */
                const char *base = strrchr(d, '/');
                char *sd = bz_path_join(r->dir, base ? base + 1 : d);
                tui_run_init(&r->stages[i], sd);
                free(sd);
            }
            r->cur_stage = i;
            snprintf(r->phase, sizeof r->phase, "stage %d/%d", i + 1, r->n_stages);
        }
    } else if (strcmp(ev, "recipe_done") == 0) {
        r->state = TUI_RUN_DONE;
        snprintf(r->phase, sizeof r->phase, "done");
        set_str(&r->adapter, str(o, "adapter"));
    } else if (strcmp(ev, "recipe_stopped") == 0) {
        r->state = TUI_RUN_STOPPED;
        snprintf(r->phase, sizeof r->phase, "stopped");
    } else if (strcmp(ev, "error") == 0) {
        r->state = TUI_RUN_FAILED;
        snprintf(r->phase, sizeof r->phase, "error");
        const char *m = str(o, "message");
        set_str(&r->error, m ? m : "the worker reported an error without a message");
    }
    cJSON_Delete(o);
    return 0;
}

int tui_run_follow(struct tui_run *r, const char *file, struct bz_err *err)
{
    char *path = bz_path_join(r->dir, file);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return 0;
    if (fseek(f, r->follow_off, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    struct bz_buf b;
    bz_buf_init(&b);
    if (r->partial)
        bz_buf_puts(&b, r->partial);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        bz_buf_append(&b, chunk, got);
        r->follow_off += (long)got;
    }
    fclose(f);
    free(r->partial);
    r->partial = NULL;
    int lines = 0;
    size_t start = 0;
    for (size_t i = 0; i < b.len; i++) {
        if (b.p[i] != '\n')
            continue;
        tui_run_feed(r, b.p + start, i - start, err);
        lines++;
        start = i + 1;
    }
    if (start < b.len)
        r->partial = bz_strndup(b.p + start, b.len - start);
    bz_buf_cleanup(&b);
    for (int i = 0; i < r->n_stages; i++)
        if (r->stages[i].dir)
            lines += tui_run_follow(&r->stages[i], "events.jsonl", NULL);
    return lines;
}

static int shown_index(const struct tui_run *r)
{
    if (!r->is_recipe)
        return -1;
    if (r->view_stage >= 0 && r->view_stage < r->n_stages && r->stages[r->view_stage].dir)
        return r->view_stage;
    if (r->cur_stage >= 0 && r->cur_stage < r->n_stages && r->stages[r->cur_stage].dir)
        return r->cur_stage;
    return -1;
}

const struct tui_run *tui_run_shown(const struct tui_run *r)
{
    int i = shown_index(r);
    return i >= 0 ? &r->stages[i] : r;
}

int tui_run_view_stage(struct tui_run *r, int step)
{
    int i = shown_index(r);
    if (i < 0)
        return 0;
    int to = i + step;
    if (to < 0 || to >= r->n_stages || !r->stages[to].dir)
        return 0;
    r->view_stage = to >= r->cur_stage ? -1 : to;
    return 1;
}

void tui_run_smooth(const struct tui_run *r, double alpha, struct tui_point *out)
{
    double ema = NAN;
    for (size_t i = 0; i < r->n_loss; i++) {
        double y = r->loss_pts[i].y;
        if (isfinite(y))
            ema = isfinite(ema) ? alpha * ema + (1 - alpha) * y : y;
        out[i] = (struct tui_point){r->loss_pts[i].x, ema};
    }
}
