/*
 * view-train.c: the Train view: the runs under runs/ with their state, the new-run
 * form, and for the selected run a live loss chart (raw points, an EMA line and
 * eval-loss points on the same axes), a small lr / grad-norm chart, a progress bar
 * with step/total, epoch, tokens/s, elapsed and ETA, the current phase, the
 * checkpoint list, an overfitting alert, and where the adapter is when done. A DPO
 * run charts its reward margin and accuracy beside the loss; a recipe run shows its
 * stages and draws the current one as a run of its own.
 * Everything drawn comes from the worker's events (tui/run.c).
 */
#include <cblas.h>
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tui/draw.h"
#include "tui/internal.h"
#include "tui/tui.h"

#define OVERFIT_EVALS 3


static void fmt_secs(double s, char *buf, size_t n)
{
    if (!(s >= 0) || !isfinite(s)) {
        snprintf(buf, n, "-");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static struct tui_job *selected(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    if (app->jobs.n == 0)
        return NULL;
    if (t->sel >= app->jobs.n)
        t->sel = app->jobs.n - 1;
    return app->jobs.v[t->sel];
}

static attr_t state_attr(struct tui_app *app, int st)
{
    switch (st) {
    case TUI_RUN_RUNNING: return tui_color(app, TUI_C_USER, A_BOLD) | A_BOLD;
    case TUI_RUN_DONE: return tui_color(app, TUI_C_ACCEPTED, A_BOLD) | A_BOLD;
    case TUI_RUN_FAILED: return tui_color(app, TUI_C_REJECTED, A_BOLD) | A_BOLD;
    case TUI_RUN_STOPPED: return tui_color(app, TUI_C_FLAGGED, A_BOLD);
    default: return A_DIM;
    }
}

/* ---------------------------------------------------------------- charts */

/* Draw a chart box at (y, x) of h x w cells with y labels on the left. */
static void draw_chart(struct tui_app *app, int y, int x, int h, int w, const char *title,
                       const struct tui_series *s, size_t ns, int log_hint)
{
    (void)log_hint;
    int lab = 9;
    if (h < 3 || w < lab + 8)
        return;
    struct tui_axes ax;
    tui_chart_fit(s, ns, &ax);
    struct tui_canvas c;
    tui_canvas_init(&c, tui_canvas_default_mode(), w - lab, h - 1);
    tui_chart_plot(&c, s, ns, &ax);
    tui_put(y, x, w, title, A_BOLD);
    char buf[32];
    for (int r = 0; r < h - 1; r++) {
        if (r == 0 || r == h - 2 || r == (h - 1) / 2) {
            double v = ax.ymax - (ax.ymax - ax.ymin) * (double)r / (double)(h - 2 > 0 ? h - 2 : 1);
            snprintf(buf, sizeof buf, "%8.4g", v);
            tui_put(y + 1 + r, x, lab - 1, buf, A_DIM);
        }
        mvaddstr(y + 1 + r, x + lab - 1, "┤");
        for (int cx = 0; cx < c.w; cx++) {
            char cell[5];
            int col = tui_canvas_cell(&c, cx, r, cell);
            static const int pairs[] = {0, TUI_C_DIM, TUI_C_ASSISTANT, TUI_C_FLAGGED,
                                        TUI_C_REJECTED, TUI_C_USER};
            attrset(col && app->color ? COLOR_PAIR(pairs[col % 6]) : A_NORMAL);
            if (col == 2 && !app->color)
                attrset(A_BOLD);
            mvaddstr(y + 1 + r, x + lab + cx, cell);
        }
        attrset(A_NORMAL);
    }
    snprintf(buf, sizeof buf, "step %.0f", ax.xmin);
    (void)buf;
    tui_canvas_cleanup(&c);
}

/* ---------------------------------------------------------------- the view */

/* A recipe run's lines above its current stage: the recipe, and its stages with
 * their states (done ✓, running ▶, stopped ‖, failed ✗, not yet ·). Returns the next
 * free row. */
static int draw_recipe(struct tui_app *app, const struct tui_run *top, int y, int x, int w)
{
    char buf[512];
    snprintf(buf, sizeof buf, "recipe %s · %s · %d stages", top->recipe_name ? top->recipe_name
             : top->name, tui_run_state_name(top->state), top->n_stages);
    tui_put(y++, x, w, buf, state_attr(app, top->state) | A_BOLD);
    int cx = x;
    for (int i = 0; i < top->n_stages && cx < x + w; i++) {
        const struct tui_run *s = &top->stages[i];
        int st = s->state == TUI_RUN_RUNNING && top->state != TUI_RUN_RUNNING ? TUI_RUN_STOPPED
                                                                              : s->state;
        const char *mark = !s->dir ? "·" : st == TUI_RUN_DONE ? "✓"
                         : st == TUI_RUN_FAILED ? "✗"
                         : st == TUI_RUN_STOPPED ? "‖"
                         : st == TUI_RUN_RUNNING ? "▶" : "·";
        if (s->dir)
            snprintf(buf, sizeof buf, "%s %s  ", mark, s->name);
        else
            snprintf(buf, sizeof buf, "%s %02d  ", mark, i + 1);
        attr_t a = s == tui_run_shown(top) ? A_BOLD | A_UNDERLINE : s->dir ? A_NORMAL : A_DIM;
        if (s->dir)
            a |= state_attr(app, st);
        tui_put(y, cx, x + w - cx, buf, a);
        cx += tui_text_width(buf, strlen(buf));
    }
    return y + 1;
}

void tui_view_train_init(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    t->smooth = 0.9;
    t->sel = 0;
}

static void draw_runs(struct tui_app *app, int y, int h, int w)
{
    struct tui_train *t = &app->train;
    tui_put(y, 1, w - 2, "runs (n: new)", A_BOLD);
    if (app->jobs.n == 0) {
        tui_put(y + 2, 1, w - 2, "no runs yet under runs/", A_DIM);
        tui_put(y + 3, 1, w - 2, "n opens the new-run form", A_DIM);
        return;
    }
    size_t first = t->sel >= (size_t)(h - 2) ? t->sel - (size_t)(h - 2) + 1 : 0;
    for (int r = 0; r + 1 < h && first + (size_t)r < app->jobs.n; r++) {
        struct tui_job *j = app->jobs.v[first + (size_t)r];
        int yy = y + 1 + r;
        attr_t base = first + (size_t)r == t->sel ? A_REVERSE : A_NORMAL;
        attrset(base);
        move(yy, 0);
        for (int x = 0; x < w; x++)
            addch(' ');
        tui_put(yy, 1, w - 11, j->run.name, base | A_BOLD);
        tui_put(yy, w - 9, 8, tui_run_state_name(j->run.state), base | state_attr(app, j->run.state));
    }
}

static void draw_progress(int y, int x, int w, double frac)
{
    if (w < 4)
        return;
    int fill = (int)(frac * (w - 2) + 0.5);
    mvaddch(y, x, '[');
    for (int i = 0; i < w - 2; i++)
        mvaddstr(y, x + 1 + i, i < fill ? "█" : "·");
    mvaddch(y, x + w - 1, ']');
}

void tui_view_train_draw(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    int H = app->rows, W = app->cols;
    char buf[512], a[32], b[32];
    erase();
    snprintf(buf, sizeof buf, "%zu runs, %zu running", app->jobs.n, tui_jobs_running(&app->jobs));
    tui_draw_header(app, buf);
    int lw = W >= 100 ? 30 : 22;
    int body_y = 1, body_h = H - 3;
    draw_runs(app, body_y, body_h / 2, lw);
    for (int r = 0; r < body_h; r++)
        mvaddstr(body_y + r, lw, "│");
    struct tui_job *j = selected(app);
    int x = lw + 2, w = W - x - 1;
    if (!j) {
        tui_put(body_y + 1, x, w, "Start a run with n: it trains a LoRA adapter on the accepted pairs",
            A_NORMAL);
        tui_put(body_y + 2, x, w, "of the open dataset, in a background worker you can leave running.",
            A_NORMAL);
    } else {
        const struct tui_run *top = &j->run, *r = tui_run_shown(top);
        int y = body_y;
        if (top->is_recipe)
            y = draw_recipe(app, top, y, x, w);
        /* checkpoints under the run list */
        int cy = body_y + body_h / 2;
        tui_put(cy, 1, lw - 2, "checkpoints", A_BOLD);
        for (size_t i = 0; i < r->n_ckpts && cy + 1 + (int)i < body_y + body_h; i++) {
            size_t k = r->n_ckpts - 1 - i;
            snprintf(buf, sizeof buf, "step %ld", r->ckpts[k].step);
            tui_put(cy + 1 + (int)i, 2, lw - 3, buf, A_NORMAL);
        }
        /* a stage whose recipe is no longer running is not running either */
        int rst = r != top && r->state == TUI_RUN_RUNNING && top->state != TUI_RUN_RUNNING
                      ? TUI_RUN_STOPPED : r->state;
        snprintf(buf, sizeof buf, "%s · %s · %s", r->name, tui_run_state_name(rst),
                 r->phase[0] ? r->phase : "-");
        if (strcmp(r->method, "dpo") == 0) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, " · DPO β %.3g", r->beta);
        } else if (r->method[0]) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, " · %s", r->method);
        }
        tui_put(y++, x, w, buf, state_attr(app, rst));
        double frac = r->total_steps > 0 ? (double)r->step / (double)r->total_steps : 0;
        if (strcmp(r->phase, "tokenize") == 0 && r->phase_total > 0)
            frac = (double)r->phase_done / (double)r->phase_total;
        int bw = w - 26 > 10 ? w - 26 : 10;
        draw_progress(y, x, bw, frac > 1 ? 1 : frac);
        if (strcmp(r->phase, "tokenize") == 0)
            snprintf(buf, sizeof buf, " tokenizing %ld/%ld", r->phase_done, r->phase_total);
        else
            snprintf(buf, sizeof buf, " step %ld/%ld · ep %.2f", r->step, r->total_steps,
                     r->epoch);
        tui_put(y++, x + bw, W - x - bw - 1, buf, A_BOLD);
        fmt_secs(tui_job_elapsed(j), a, sizeof a);
        fmt_secs(r->eta_s, b, sizeof b);
        snprintf(buf, sizeof buf, "loss %.4f · lr %.3g · grad %.3g · %.0f tok/s · %s elapsed · "
                 "ETA %s", r->loss, r->lr, r->grad_norm, r->tokens_per_s, a,
                 rst == TUI_RUN_RUNNING ? b : "-");
        tui_put(y++, x, w, buf, A_NORMAL);
        if (r->n_eval) {
            snprintf(buf, sizeof buf, "eval loss %.4f (best %.4f at step %ld) · smoothing %.2f",
                     r->eval_pts[r->n_eval - 1].y, r->best_eval, r->best_eval_step, t->smooth);
            tui_put(y++, x, w, buf, A_NORMAL);
        } else {
            snprintf(buf, sizeof buf, "no eval yet · smoothing %.2f (+/-)", t->smooth);
            tui_put(y++, x, w, buf, A_DIM);
        }
        int dpo = r->n_margin > 0 || r->n_emargin > 0;
        if (dpo) {
            snprintf(buf, sizeof buf, "reward margin %.4g · accuracy %.2f", r->reward_margin,
                     r->reward_accuracy);
            if (r->n_eacc) {
                size_t l = strlen(buf);
                snprintf(buf + l, sizeof buf - l, " · held-out margin %.4g · accuracy %.2f",
                         r->eval_margin, r->eval_accuracy);
            }
            tui_put(y++, x, w, buf, A_NORMAL);
        }
        /* messages at the bottom of the panel */
        int msg_rows = 0;
        char msgs[10][300];
        attr_t mattr[10];
        if (r->state == TUI_RUN_FAILED) {
            snprintf(msgs[msg_rows], 300, "failed: %s", r->error ? r->error : "unknown error");
            mattr[msg_rows++] = tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD;
            for (int i = BZ_MAX(0, j->n_err_tail - 4); i < j->n_err_tail; i++) {
                snprintf(msgs[msg_rows], 300, "  %s", j->err_tail[i]);
                mattr[msg_rows++] = A_DIM;
            }
        }
        if (r->state == TUI_RUN_STOPPED && !top->is_recipe) {
            snprintf(msgs[msg_rows], 300, "stopped at step %ld · R resumes from the newest "
                     "checkpoint", r->step);
            mattr[msg_rows++] = tui_color(app, TUI_C_FLAGGED, A_BOLD);
        }
        if (r->eval_rising >= OVERFIT_EVALS && r->state == TUI_RUN_RUNNING) {
            snprintf(msgs[msg_rows], 300, "eval loss rose %d times in a row: overfitting? s stops "
                     "(best checkpoint: step %ld)", r->eval_rising, r->best_eval_step);
            mattr[msg_rows++] = tui_color(app, TUI_C_FLAGGED, A_BOLD) | A_BOLD;
        }
        if (r->state == TUI_RUN_DONE && !top->is_recipe) {
            snprintf(msgs[msg_rows], 300, "done · adapter: %s · 3 compares it with the base",
                     r->adapter ? r->adapter : "-");
            mattr[msg_rows++] = tui_color(app, TUI_C_ACCEPTED, A_BOLD) | A_BOLD;
        }
        if (top->is_recipe && top->state == TUI_RUN_DONE) {
            snprintf(msgs[msg_rows], 300, "recipe done · final adapter: %s · 3 compares it with "
                     "the base", top->adapter ? top->adapter : "-");
            mattr[msg_rows++] = tui_color(app, TUI_C_ACCEPTED, A_BOLD) | A_BOLD;
        } else if (top->is_recipe && top->state == TUI_RUN_STOPPED) {
            snprintf(msgs[msg_rows], 300, "recipe stopped in stage %d/%d · R resumes it",
                     top->cur_stage + 1, top->n_stages);
            mattr[msg_rows++] = tui_color(app, TUI_C_FLAGGED, A_BOLD);
        } else if (top->is_recipe && top->state == TUI_RUN_FAILED && r != top) {
            snprintf(msgs[msg_rows], 300, "recipe failed: %s", top->error ? top->error : "-");
            mattr[msg_rows++] = tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD;
        }
        int chart_h = body_h - (y - body_y) - msg_rows;
        int loss_h = chart_h * 2 / 3, small_h = chart_h - loss_h;
        if (r->n_loss > 0 && loss_h >= 4) {
            struct tui_point *sm = bz_malloc(r->n_loss * sizeof *sm);
            tui_run_smooth(r, t->smooth, sm);
            struct tui_series s[3] = {
                {r->loss_pts, r->n_loss, 1, 1},
                {sm, r->n_loss, 2, 0},
                {r->eval_pts, r->n_eval, 3, 1},
            };
            /* DPO: reward margin and accuracy beside the loss, train line and eval dots */
            int lw_ = dpo && w >= 60 ? w * 3 / 5 : w;
            draw_chart(app, y, x, loss_h, lw_, "loss: · raw  ─ smoothed  • eval", s, 3, 0);
            free(sm);
            if (lw_ < w) {
                int mh = loss_h / 2;
                struct tui_series m[2] = {{r->margin_pts, r->n_margin, 2, 0},
                                          {r->emargin_pts, r->n_emargin, 3, 1}};
                struct tui_series a2[2] = {{r->acc_pts, r->n_acc, 5, 0},
                                           {r->eacc_pts, r->n_eacc, 3, 1}};
                draw_chart(app, y, x + lw_ + 1, mh, w - lw_ - 1,
                           "reward margin: ─ train • eval", m, 2, 0);
                draw_chart(app, y + mh, x + lw_ + 1, loss_h - mh, w - lw_ - 1,
                           "reward accuracy: ─ train • eval", a2, 2, 0);
            }
            if (small_h >= 4 && dpo && lw_ == w) {
                /* too narrow to put them beside the loss: they take lr's and grad's place */
                struct tui_series m[2] = {{r->margin_pts, r->n_margin, 2, 0},
                                          {r->emargin_pts, r->n_emargin, 3, 1}};
                struct tui_series a2[2] = {{r->acc_pts, r->n_acc, 5, 0},
                                           {r->eacc_pts, r->n_eacc, 3, 1}};
                int half = w / 2;
                draw_chart(app, y + loss_h, x, small_h, half - 1, "reward margin:", m, 2, 0);
                draw_chart(app, y + loss_h, x + half, small_h, w - half, "reward accuracy:",
                           a2, 2, 0);
            } else if (small_h >= 4) {
                struct tui_series s2[2] = {{r->lr_pts, r->n_lr, 5, 0},
                                           {r->gnorm_pts, r->n_gnorm, 4, 0}};
                /* lr and grad norm differ by orders of magnitude: one chart each side */
                int half = w / 2;
                draw_chart(app, y + loss_h, x, small_h, half - 1, "lr", &s2[0], 1, 0);
                draw_chart(app, y + loss_h, x + half, small_h, w - half, "grad norm", &s2[1], 1,
                           0);
            }
        } else if (r->n_loss == 0) {
            tui_put(y + 1, x, w, r->state == TUI_RUN_RUNNING ? "waiting for the first step ..."
                                                          : "no steps recorded", A_DIM);
        }
        for (int i = 0; i < msg_rows; i++)
            tui_put(body_y + body_h - msg_rows + i, x, w, msgs[i], mattr[i]);
    }
    /* footer */
    move(H - 2, 0);
    clrtoeol();
    if (app->data.msg[0])
        tui_put(H - 2, 1, W - 2, app->data.msg, app->data.msg_error ?
            tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD : A_NORMAL);
    tui_put(H - 1, 1, W - 2, "n new run  s stop  S save now  R resume  +/- smoothing  j/k runs  "
        "1 data  ? help  q quit", A_DIM);
}

/* ---------------------------------------------------------------- the form */

static const char *field_names[TUI_FF__COUNT] = {
    "model", "pairs", "run name", "template", "LoRA targets", "rank", "alpha", "dropout",
    "learning rate", "epochs", "batch", "sequence length", "eval split", "save every",
    "seed", "method", "start from", "DPO beta",
};

static const char *field_help[TUI_FF__COUNT] = {
    "a .gguf, llama2.c .bin or Hugging Face directory",
    "accepted | all | pending | flagged",
    "the run directory is runs/NAME",
    "auto (the model's own) or chatml, llama2, llama3, zephyr, alpaca",
    "any of q,k,v,o,gate,up,down",
    "LoRA rank r",
    "LoRA alpha (scale = alpha / r)",
    "LoRA dropout",
    "peak learning rate (warmup then cosine)",
    "passes over the pairs",
    "micro-batch size",
    "tokens per sequence (from the data's lengths)",
    "fraction held out for eval loss",
    "checkpoint every N steps",
    "seed (same seed, same numbers)",
    "sft, or dpo on preference pairs (prompt, chosen, rejected)",
    "empty, or an earlier run (runs/NAME) whose adapter this one continues",
    "DPO: how far the policy may move from its start (0.1)",
};

static double measure_sgemm(void)
{
    enum { N = 256 };
    float *A = bz_calloc(N * N, sizeof(float)), *B = bz_calloc(N * N, sizeof(float)),
          *C = bz_calloc(N * N, sizeof(float));
    for (int i = 0; i < N * N; i++)
        A[i] = B[i] = (float)(i % 7) * 0.1f;
    double t0 = bz_now();
    int reps = 8;
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, A, N, B, N, 0, C, N);
    double dt = bz_now() - t0;
    free(A);
    free(B);
    free(C);
    return dt > 0 ? 2.0 * N * N * N * reps / dt / 1e9 : 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Pairs and token estimate from the analysis summaries (4 characters per token), as
 * the worker will count them: the statuses of the form (a list the worker reads; an
 * unknown word gives no pairs), each id once. */
static void form_data_info(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    unsigned mask = 0;
    if (ds_status_mask_parse(t->form[TUI_FF_STATUS], &mask, NULL))
        mask = 0;
    size_t n = ds_count(app->data.ds), pairs = 0, chars = 0;
    size_t *lens = bz_malloc((n ? n : 1) * sizeof *lens);
    struct bz_set64 seen = {0};
    for (size_t i = 0; i < n; i++) {
        struct ds_summary s;
        if (!ds_summary(app->data.ds, i, &s) || (s.flags & DS_F_BAD) ||
            !(mask & (1u << s.status)) || !bz_set64_add(&seen, s.id_hash))
            continue;
        size_t c = (size_t)s.prompt_chars + s.response_chars;
        lens[pairs++] = c;
        chars += c;
    }
    size_t p95 = 0;
    if (pairs) {
        qsort(lens, pairs, sizeof *lens, cmp_size);
        p95 = lens[(pairs - 1) * 95 / 100];
    }
    free(lens);
    bz_set64_cleanup(&seen);
    t->pairs = pairs;
    t->est_tokens = chars / 4;
    t->p95_chars = p95;
}

static void form_model_info(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    if (strcmp(t->form_model_seen, t->form[TUI_FF_MODEL]) == 0)
        return;
    snprintf(t->form_model_seen, sizeof t->form_model_seen, "%s", t->form[TUI_FF_MODEL]);
    t->model_params = 0;
    t->model_ctx = t->model_dim = 0;
    if (!t->form[TUI_FF_MODEL][0]) {
        snprintf(t->form_model_info, sizeof t->form_model_info, "no model chosen");
        return;
    }
    struct core_model *m = NULL;
    struct bz_err err = {0};
    int rc = core_model_open(&m, t->form[TUI_FF_MODEL], &err);
    if (rc != 0) {
        snprintf(t->form_model_info, sizeof t->form_model_info, "%s", bz_err_msg(&err, rc));
        return;
    }
    t->model_params = (double)core_model_params(m);
    t->model_ctx = m->cfg.ctx_len;
    t->model_dim = m->cfg.dim;
    snprintf(t->form_model_info, sizeof t->form_model_info,
             "%s: %.2fM parameters, dim %d, %d layers, context %d", m->name ? m->name : "model",
             t->model_params / 1e6, m->cfg.dim, m->cfg.n_layers, m->cfg.ctx_len);
    core_model_free(m);
}

static void form_defaults(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    char *demo = bz_path_join(tui_assets_dir(), "demo-model.gguf");
    if (!t->form[TUI_FF_MODEL][0] && access(demo, R_OK) == 0)
        snprintf(t->form[TUI_FF_MODEL], 256, "%s", demo);
    free(demo);
    if (!t->form[TUI_FF_STATUS][0]) {
        snprintf(t->form[TUI_FF_STATUS], 256, "accepted");
        snprintf(t->form[TUI_FF_TEMPLATE], 256, "auto");
        snprintf(t->form[TUI_FF_TARGETS], 256, "q,k,v,o,gate,up,down");
        snprintf(t->form[TUI_FF_RANK], 256, "16");
        snprintf(t->form[TUI_FF_ALPHA], 256, "32");
        snprintf(t->form[TUI_FF_DROPOUT], 256, "0.05");
        snprintf(t->form[TUI_FF_LR], 256, "2e-4");
        snprintf(t->form[TUI_FF_EPOCHS], 256, "3");
        snprintf(t->form[TUI_FF_BATCH], 256, "4");
        snprintf(t->form[TUI_FF_EVAL_SPLIT], 256, "0.1");
        snprintf(t->form[TUI_FF_SAVE_EVERY], 256, "50");
        snprintf(t->form[TUI_FF_SEED], 256, "42");
        snprintf(t->form[TUI_FF_METHOD], 256, "sft");
        snprintf(t->form[TUI_FF_BETA], 256, "0.1");
    }
    t->form_model_seen[0] = '\x01'; /* re-read the model */
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(t->form[TUI_FF_NAME], 256, "run-%Y%m%d-%H%M%S", &tm);
    form_data_info(app);
    form_model_info(app);
    /* sequence length: the 95th percentile in tokens, rounded up to 64, within context */
    long seq = (long)(t->p95_chars / 4 + 64) / 64 * 64 + 64;
    if (seq < 128)
        seq = 128;
    if (t->model_ctx > 0 && seq > t->model_ctx)
        seq = t->model_ctx;
    snprintf(t->form[TUI_FF_SEQ], 256, "%ld", seq);
    if (t->sgemm_gflops <= 0)
        t->sgemm_gflops = measure_sgemm();
    t->form_field = 0;
}

void tui_view_train_form_draw(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    int w = BZ_MIN(app->cols - 2, 100), h = BZ_MIN(app->rows - 1, TUI_FF__COUNT + 7);
    int x = (app->cols - w) / 2, y = BZ_MAX(0, (app->rows - h) / 2);
    attrset(A_NORMAL);
    for (int r = 0; r < h; r++) {
        move(y + r, x);
        for (int c = 0; c < w; c++)
            addch(' ');
    }
    tui_put(y, x + 1, w - 2, "New run (j/k field · Enter edit · Enter on Start begins · Esc cancels)",
        A_BOLD | A_REVERSE);
    int fields_h = h - 7;
    int first = t->form_field >= fields_h ? t->form_field - fields_h + 1 : 0;
    if (first > TUI_FF__COUNT - fields_h)
        first = BZ_MAX(0, TUI_FF__COUNT - fields_h);
    char buf[512];
    for (int i = 0; i < fields_h && first + i < TUI_FF__COUNT; i++) {
        int f = first + i;
        attr_t a = f == t->form_field ? A_REVERSE : A_NORMAL;
        snprintf(buf, sizeof buf, "%-16s %s", field_names[f], t->form[f]);
        tui_put(y + 1 + i, x + 2, 44, buf, a);
        if (f == t->form_field)
            tui_put(y + 1 + i, x + 48, w - 50, field_help[f], A_DIM);
    }
    int iy = y + 1 + fields_h;
    form_model_info(app);
    tui_put(iy++, x + 2, w - 4, t->form_model_info, t->model_params > 0 ? A_NORMAL : A_BOLD);
    snprintf(buf, sizeof buf, "data: %s · %zu %s pairs · ~%zu tokens (4 chars/token)",
             app->dataset_path, t->pairs, t->form[TUI_FF_STATUS], t->est_tokens);
    tui_put(iy++, x + 2, w - 4, buf, t->pairs ? A_NORMAL : A_BOLD);
    double epochs = atof(t->form[TUI_FF_EPOCHS]);
    if (t->model_params > 0 && t->sgemm_gflops > 0) {
        /* forward + backward through frozen weights: ~4 x params FLOPs per token */
        double flops = 4.0 * t->model_params * (double)t->est_tokens * (epochs > 0 ? epochs : 1);
        double secs = flops / (t->sgemm_gflops * 1e9 * 0.5);
        double batch = atof(t->form[TUI_FF_BATCH]), seq = atof(t->form[TUI_FF_SEQ]);
        double act = batch * seq * t->model_dim * 4.0 * 24 * 1.0; /* bytes per layer, rough */
        char tb[32];
        fmt_secs(secs, tb, sizeof tb);
        snprintf(buf, sizeof buf, "estimate: ~%s at half of this machine's %.0f GFLOP/s sgemm; "
                 "memory ~%.0f MB weights + ~%.0f MB activations per layer", tb,
                 t->sgemm_gflops, t->model_params * 4 / 1e6, act / 1e6);
        tui_put(iy++, x + 2, w - 4, buf, A_DIM);
    } else {
        tui_put(iy++, x + 2, w - 4, "estimate: needs a model that opens", A_DIM);
    }
    iy++;
    tui_put(iy, x + 2, 12, "[ Start ]", t->form_field == TUI_FF__COUNT ? A_REVERSE | A_BOLD : A_BOLD);
}

static int start_run(struct tui_app *app)
{
    struct tui_train *t = &app->train;
    struct tui_data *d = &app->data;
    if (!t->form[TUI_FF_MODEL][0] || t->model_params <= 0) {
        tui_data_msg(d, 1, "choose a model that opens first (%s)", t->form_model_info);
        return BZ_EINVAL;
    }
    if (t->pairs == 0) {
        tui_data_msg(d, 1, "no %s pairs to train on: accept some in the Data view (1)",
                     t->form[TUI_FF_STATUS]);
        return BZ_EINVAL;
    }
    static const int numeric[] = {TUI_FF_RANK, TUI_FF_ALPHA, TUI_FF_DROPOUT, TUI_FF_LR,
                                  TUI_FF_EPOCHS, TUI_FF_BATCH, TUI_FF_SEQ, TUI_FF_EVAL_SPLIT,
                                  TUI_FF_SAVE_EVERY, TUI_FF_SEED, TUI_FF_BETA};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(numeric); i++) {
        char *end;
        const char *v = t->form[numeric[i]];
        double x = strtod(v, &end);
        if (!*v || *end || x < 0) {
            tui_data_msg(d, 1, "%s: '%s' is not a number", field_names[numeric[i]], v);
            t->form_field = numeric[i];
            return BZ_EINVAL;
        }
    }
    const char *method = t->form[TUI_FF_METHOD], *init = t->form[TUI_FF_INIT];
    if (strcmp(method, "sft") && strcmp(method, "dpo")) {
        tui_data_msg(d, 1, "method: '%s' is not sft or dpo", method);
        t->form_field = TUI_FF_METHOD;
        return BZ_EINVAL;
    }
    if (init[0] && access(init, R_OK) != 0) {
        tui_data_msg(d, 1, "start from: %s: %s", init, strerror(errno));
        t->form_field = TUI_FF_INIT;
        return BZ_EINVAL;
    }
    char *dir = bz_path_join(app->jobs.runs_dir, t->form[TUI_FF_NAME]);
    char self[4096];
    if (tui_job_worker_path(self, sizeof self) != 0) {
        free(dir);
        return tui_data_msg(d, 1, "cannot find the bezoar binary"), BZ_EIO;
    }
    char *argv[48];
    int k = 0;
    argv[k++] = self;
    argv[k++] = "train";
    argv[k++] = "--json";
    argv[k++] = "-m";
    argv[k++] = t->form[TUI_FF_MODEL];
    argv[k++] = "--data";
    argv[k++] = app->dataset_path;
    argv[k++] = "--status";
    argv[k++] = t->form[TUI_FF_STATUS];
    argv[k++] = "--out";
    argv[k++] = dir;
    if (strcmp(t->form[TUI_FF_TEMPLATE], "auto") != 0) {
        argv[k++] = "--template";
        argv[k++] = t->form[TUI_FF_TEMPLATE];
    }
    static const struct { int f; const char *flag; } map[] = {
        {TUI_FF_TARGETS, "--targets"}, {TUI_FF_RANK, "--rank"}, {TUI_FF_ALPHA, "--alpha"},
        {TUI_FF_DROPOUT, "--dropout"}, {TUI_FF_LR, "--lr"}, {TUI_FF_EPOCHS, "--epochs"},
        {TUI_FF_BATCH, "--batch"}, {TUI_FF_SEQ, "--seq"}, {TUI_FF_EVAL_SPLIT, "--eval-split"},
        {TUI_FF_SAVE_EVERY, "--save-every"}, {TUI_FF_SEED, "--seed"},
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(map); i++) {
        /* a continued adapter brings its own targets, rank and alpha */
        if (init[0] && (map[i].f == TUI_FF_TARGETS || map[i].f == TUI_FF_RANK ||
                        map[i].f == TUI_FF_ALPHA))
            continue;
        argv[k++] = (char *)map[i].flag;
        argv[k++] = t->form[map[i].f];
    }
    argv[k++] = "--method";
    argv[k++] = (char *)method;
    if (!strcmp(method, "dpo")) {
        argv[k++] = "--beta";
        argv[k++] = t->form[TUI_FF_BETA];
    }
    if (init[0]) {
        argv[k++] = "--init-adapter";
        argv[k++] = (char *)init;
    }
    argv[k] = NULL;
    struct bz_err err = {0};
    struct tui_job *j = tui_jobs_start(&app->jobs, argv, dir, &err);
    free(dir);
    if (!j) {
        tui_data_msg(d, 1, "%s", err.msg);
        return BZ_EIO;
    }
    for (size_t i = 0; i < app->jobs.n; i++)
        if (app->jobs.v[i] == j)
            t->sel = i;
    tui_data_msg(d, 0, "started %s (pid %d)", j->run.name, (int)j->pid);
    return 0;
}

void tui_view_train_form_set(struct tui_app *app, const char *value)
{
    struct tui_train *t = &app->train;
    if (t->form_field < TUI_FF__COUNT)
        snprintf(t->form[t->form_field], sizeof t->form[0], "%s", value);
    if (t->form_field == TUI_FF_STATUS)
        form_data_info(app);
}

void tui_view_train_form_key(struct tui_app *app, int ch)
{
    struct tui_train *t = &app->train;
    switch (ch) {
    case 27:
        app->overlay = TUI_OV_NONE;
        tui_data_msg(&app->data, 0, "new run canceled");
        return;
    case 'j': case KEY_DOWN: case '\t':
        if (t->form_field < TUI_FF__COUNT)
            t->form_field++;
        return;
    case 'k': case KEY_UP:
        if (t->form_field > 0)
            t->form_field--;
        return;
    case '\n': case '\r': case KEY_ENTER:
        if (t->form_field == TUI_FF__COUNT) {
            if (start_run(app) == 0)
                app->overlay = TUI_OV_NONE;
            return;
        }
        app->overlay = TUI_OV_PROMPT;
        app->prompt_kind = TUI_PROMPT_FIELD;
        snprintf(app->prompt, sizeof app->prompt, "%s", t->form[t->form_field]);
        app->prompt_len = strlen(app->prompt);
        return;
    default:
        return;
    }
}

/* ---------------------------------------------------------------- actions */

/* Start `bezoar train --resume` for job j's run directory. */
static void resume(struct tui_app *app, struct tui_job *j)
{
    struct bz_err err = {0};
    char self[4096];
    if (tui_job_worker_path(self, sizeof self) != 0)
        return;
    char *dir = bz_strdup(j->run.dir);
    char *argv[] = {self, "train", "--json", "--resume", dir, NULL, NULL, NULL};
    if (j->run.is_recipe) {
        /* the same command again: finished stages are skipped, the started one resumes */
        if (!j->run.recipe_file) {
            tui_data_msg(&app->data, 1, "%s: its events name no recipe file", j->run.name);
            free(dir);
            return;
        }
        argv[3] = "--recipe", argv[4] = j->run.recipe_file;
        argv[5] = "--out", argv[6] = dir;
    }
    if (!tui_jobs_start(&app->jobs, argv, dir, &err))
        tui_data_msg(&app->data, 1, "%s", err.msg);
    else
        tui_data_msg(&app->data, 0, "resuming %s", j->run.name);
    free(dir);
}

void tui_view_train_tick(struct tui_app *app)
{
    for (size_t i = 0; i < app->jobs.n; i++) {
        struct tui_job *j = app->jobs.v[i];
        if (j->resume_pending && !j->pid) {
            j->resume_pending = 0;
            resume(app, j);
        }
    }
}

void tui_view_train_key(struct tui_app *app, int action)
{
    struct tui_train *t = &app->train;
    struct tui_data *d = &app->data;
    struct tui_job *j = selected(app);
    struct bz_err err = {0};
    switch (action) {
    case TUI_A_DOWN:
        if (t->sel + 1 < app->jobs.n)
            t->sel++;
        break;
    case TUI_A_UP:
        if (t->sel > 0)
            t->sel--;
        break;
    case TUI_A_NEW_RUN:
        form_defaults(app);
        app->overlay = TUI_OV_FORM;
        break;
    case TUI_A_STOP_RUN:
        if (!j || tui_job_stop(j, &err) != 0)
            tui_data_msg(d, 1, "%s", j ? err.msg : "no run selected");
        else
            tui_data_msg(d, 0, "stopping %s: it writes a checkpoint, then exits", j->run.name);
        break;
    case TUI_A_SAVE_NOW:
        if (!j || tui_job_save_now(j, &err) != 0)
            tui_data_msg(d, 1, "%s", j ? err.msg : "no run selected");
        else
            tui_data_msg(d, 0, "asked %s to save a checkpoint now", j->run.name);
        break;
    case TUI_A_RESUME_RUN:
        if (!j) {
            tui_data_msg(d, 1, "no run selected");
        } else if (j->run.state == TUI_RUN_DONE || j->run.state == TUI_RUN_RUNNING) {
            tui_data_msg(d, 1, "%s is %s; only a stopped or failed run resumes", j->run.name,
                         tui_run_state_name(j->run.state));
        } else if (j->pid) {
            /* it reported its stop but is still exiting: resume when it is gone */
            j->resume_pending = 1;
            tui_data_msg(d, 0, "%s resumes as soon as its worker has exited", j->run.name);
        } else {
            resume(app, j);
        }
        break;
    case TUI_A_STAGE_PREV:
    case TUI_A_STAGE_NEXT:
        if (!j || !j->run.is_recipe)
            tui_data_msg(d, 1, "[ and ] choose a stage of a recipe run");
        else if (!tui_run_view_stage(&j->run, action == TUI_A_STAGE_PREV ? -1 : 1))
            tui_data_msg(d, 0, "no stage %s", action == TUI_A_STAGE_PREV ? "before" : "after");
        break;
    case TUI_A_SMOOTH_MORE:
        t->smooth = t->smooth < 0.95 ? t->smooth + 0.05 : 0.99;
        break;
    case TUI_A_SMOOTH_LESS:
        t->smooth = t->smooth > 0.05 ? t->smooth - 0.05 : 0;
        break;
    default:
        break;
    }
}
