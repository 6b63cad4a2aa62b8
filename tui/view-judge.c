/*
 * view-judge.c: the Judge view: the judgment files under judgments/ (FastChat
 * MT-Bench layout, single and pairwise rows) summarised per model: a radar of the
 * category means for the models chosen, a table with the overall score, turn 1 and
 * turn 2, rows, failed parses and the standard error, pairwise win rates, and a
 * drill-down from a category to its rows and from a row to the judge's prompt and
 * text. `a` starts jobs answering the shipped questions with the base and the fine-tuned
 * model, `G` a job grading every answers/NAME.jsonl with the judge; they run as workers
 * like training (listed in the Train view too) and the view reloads when grading ends.
 */
#include <curses.h>
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "judge/judge.h"
#include "tui/canvas.h"
#include "tui/draw.h"
#include "tui/internal.h"
#include "tui/radar.h"
#include "tui/tui.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void unload(struct tui_judge *v)
{
    if (v->sum) {
        judge_summary_cleanup(v->sum);
        free(v->sum);
    }
    if (v->j) {
        judge_judgments_cleanup(v->j);
        free(v->j);
    }
    for (size_t i = 0; i < v->n_files; i++)
        free(v->files[i]);
    free(v->files);
    free(v->rows);
    v->sum = NULL;
    v->j = NULL;
    v->files = NULL;
    v->rows = NULL;
    v->n_files = v->n_rows = 0;
    v->loaded = 0;
    v->level = 0;
}

void tui_view_judge_cleanup(struct tui_app *app)
{
    unload(&app->judge);
    free(app->judge.dir);
    app->judge.dir = NULL;
}

static void load(struct tui_app *app)
{
    struct tui_judge *v = &app->judge;
    unload(v);
    if (!v->dir)
        v->dir = bz_strdup("judgments");
    DIR *d = opendir(v->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 7 || strcmp(e->d_name + n - 6, ".jsonl") != 0)
                continue;
            v->files = bz_realloc(v->files, (v->n_files + 1) * sizeof *v->files);
            v->files[v->n_files++] = bz_path_join(v->dir, e->d_name);
        }
        closedir(d);
    }
    if (v->n_files == 0) {
        v->loaded = -1;
        snprintf(v->error, sizeof v->error, "no judgment files in %s/ (make them with 'bezoar "
                 "judge grade ... -o %s/NAME.jsonl')", v->dir, v->dir);
        return;
    }
    qsort(v->files, v->n_files, sizeof *v->files, cmp_str);
    v->j = bz_calloc(1, sizeof *v->j);
    judge_judgments_init(v->j);
    for (size_t i = 0; i < v->n_files; i++) {
        struct bz_err err = {0};
        int rc = judge_judgments_load(v->j, v->files[i], &err);
        if (rc) {
            v->loaded = -1;
            snprintf(v->error, sizeof v->error, "%s", bz_err_msg(&err, rc));
            return;
        }
    }
    v->sum = bz_calloc(1, sizeof *v->sum);
    judge_summary_build(v->sum, v->j, 200, 1);
    memset(v->show, 1, sizeof v->show);
    v->loaded = 1;
    if (v->sel_model >= v->sum->n_models)
        v->sel_model = 0;
}

/* ---------------------------------------------------------------- drawing */

static void jobs_line(struct tui_app *app, char *buf, size_t n);

static const int model_pairs[] = {TUI_C_ASSISTANT, TUI_C_USER, TUI_C_FLAGGED, TUI_C_SYSTEM,
                                  TUI_C_REJECTED, TUI_C_BAD};

static attr_t model_attr(struct tui_app *app, int m)
{
    return tui_color(app, model_pairs[m % 6], A_BOLD) | A_BOLD;
}

static void draw_radar(struct tui_app *app, int y, int x, int w, int h)
{
    struct tui_judge *v = &app->judge;
    struct tui_cell *grid = NULL;
    struct bz_err err = {0};
    int mode = tui_canvas_default_mode();
    if (tui_radar_grid(v->sum, v->show, w, h, mode, app->color, &grid, &err) != 0) {
        tui_put(y + 1, x + 1, w - 2, err.msg, A_DIM);
        return;
    }
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            const struct tui_cell *cl = &grid[r * w + c];
            attr_t a = A_NORMAL;
            if (cl->color == TUI_RADAR_GRID_COLOR)
                a = tui_color(app, TUI_C_DIM, A_DIM);
            else if (cl->color > 0)
                a = model_attr(app, cl->color - 1);
            attrset(a);
            mvaddstr(y + r, x + c, cl->s);
        }
    attrset(A_NORMAL);
    free(grid);
}

static void fmt_num(double x, char *buf, size_t n)
{
    if (isfinite(x))
        snprintf(buf, n, "%5.2f", x);
    else
        snprintf(buf, n, "    -");
}

static int draw_table(struct tui_app *app, int y, int x, int w, int max_y)
{
    struct tui_judge *v = &app->judge;
    struct judge_summary *s = v->sum;
    char buf[512], a[16], b[16], c[16], d[16];
    snprintf(buf, sizeof buf, "   %-18s %5s %5s %5s %4s %4s %5s", "model", "score", "t1", "t2",
             "n", "fail", "±se");
    tui_put(y++, x, w, buf, A_BOLD);
    for (size_t m = 0; m < s->n_models; m++) {
        struct judge_model_stats *ms = &s->m[m];
        fmt_num(ms->score, a, sizeof a);
        fmt_num(ms->turn1, b, sizeof b);
        fmt_num(ms->turn2, c, sizeof c);
        fmt_num(ms->se, d, sizeof d);
        snprintf(buf, sizeof buf, "%s%c %-18.18s %s %s %s %4d %4d %s", m == v->sel_model ? ">" : " ",
                 v->show[m] ? '*' : ' ', ms->model, a, b, c, ms->n, ms->failed, d);
        attr_t at = model_attr(app, (int)m);
        if (m == v->sel_model)
            at |= A_REVERSE;
        tui_put(y++, x, w, buf, at);
    }
    y++;
    /* per-category means, selected category marked; when rows are short, only the
     * selected category (the radar shows them all) */
    int compact = y + 1 + (int)s->n_cats > max_y;
    tui_put(y++, x, w, compact ? "category (h/l choose, Enter opens):"
                               : "category means (h/l choose, Enter opens):", A_BOLD);
    for (size_t k = 0; k < s->n_cats; k++) {
        if (compact && (int)k != v->cat)
            continue;
        int n = snprintf(buf, sizeof buf, "%s %-11.11s", (int)k == v->cat ? ">" : " ", s->cats[k]);
        for (size_t m = 0; m < s->n_models && n < (int)sizeof buf - 8; m++) {
            fmt_num(s->m[m].cat[k], a, sizeof a);
            n += snprintf(buf + n, sizeof buf - (size_t)n, " %s", a);
        }
        tui_put(y++, x, w, buf, (int)k == v->cat ? A_REVERSE : A_NORMAL);
    }
    if (s->n_pairs && y + 2 + (int)s->n_pairs <= max_y) {
        y++;
        tui_put(y++, x, w, "pairwise (a win needs both orders to agree):", A_BOLD);
        for (size_t i = 0; i < s->n_pairs; i++) {
            struct judge_pair_stats *p = &s->pairs[i];
            snprintf(buf, sizeof buf, " %s vs %s: %d-%d-%d, win rate %.2f (ties half %.2f)",
                     p->model_a, p->model_b, p->win, p->loss, p->tie, p->win_rate,
                     p->win_rate_adj);
            tui_put(y++, x, w, buf, A_NORMAL);
        }
    }
    return y;
}

static void build_rows(struct tui_judge *v)
{
    free(v->rows);
    v->rows = NULL;
    v->n_rows = 0;
    const char *cat = v->sum->cats[v->cat];
    for (size_t i = 0; i < v->j->ns; i++) {
        if (strcmp(v->j->s[i].category, cat) != 0)
            continue;
        v->rows = bz_realloc(v->rows, (v->n_rows + 1) * sizeof *v->rows);
        v->rows[v->n_rows++] = i;
    }
    v->sel_row = 0;
    v->scroll = 0;
}

static void draw_rows(struct tui_app *app, int y, int h, int W)
{
    struct tui_judge *v = &app->judge;
    char buf[512];
    snprintf(buf, sizeof buf, "%s: %zu single rows (Enter shows the judgment, Backspace goes "
             "back)", v->sum->cats[v->cat], v->n_rows);
    tui_put(y++, 1, W - 2, buf, A_BOLD);
    size_t first = v->sel_row >= (size_t)(h - 2) ? v->sel_row - (size_t)(h - 2) + 1 : 0;
    for (int r = 0; r < h - 1 && first + (size_t)r < v->n_rows; r++) {
        const struct judge_single *s = &v->j->s[v->rows[first + (size_t)r]];
        char score[16];
        if (s->score >= 0)
            snprintf(score, sizeof score, "%4.1f", s->score);
        else
            snprintf(score, sizeof score, "FAIL");
        const char *q = s->user_prompt && *s->user_prompt ? s->user_prompt : "(score only)";
        snprintf(buf, sizeof buf, "q%-5d t%d %-18.18s %s  %s", s->question_id, s->turn, s->model,
                 score, q);
        for (char *p = buf; *p; p++)
            if (*p == '\n' || *p == '\t')
                *p = ' ';
        attr_t a = first + (size_t)r == v->sel_row ? A_REVERSE : A_NORMAL;
        if (s->score < 0)
            a |= tui_color(app, TUI_C_ERROR, A_BOLD);
        tui_put(y + r, 1, W - 2, buf, a);
    }
}

static void draw_detail(struct tui_app *app, int y, int h, int W)
{
    struct tui_judge *v = &app->judge;
    const struct judge_single *s = &v->j->s[v->rows[v->sel_row]];
    char head[300];
    snprintf(head, sizeof head, "q%d turn %d · %s · judge %s · score %s", s->question_id,
             s->turn, s->model, s->judge,
             s->score >= 0 ? "" : "unparsable (-1, left out of the means)");
    if (s->score >= 0)
        snprintf(head + strlen(head), sizeof head - strlen(head), "%.1f", s->score);
    tui_put(y++, 1, W - 2, head, A_BOLD);
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_printf(&b, "── the judge was asked:\n%s\n── the judge answered:\n%s",
                  s->user_prompt && *s->user_prompt ? s->user_prompt : "(not in the file)",
                  s->judgment && *s->judgment ? s->judgment : "(not in the file)");
    size_t nl = tui_text_wrap(b.p, b.len, W - 2, NULL, 0);
    struct tui_line *lines = bz_malloc((nl ? nl : 1) * sizeof *lines);
    tui_text_wrap(b.p, b.len, W - 2, lines, nl);
    if (v->scroll > (int)nl - 1)
        v->scroll = nl ? (int)nl - 1 : 0;
    for (int r = 0; r < h - 1 && (size_t)(v->scroll + r) < nl; r++) {
        struct tui_line *l = &lines[v->scroll + r];
        size_t n = tui_text_fit(b.p + l->off, l->len, W - 2, NULL);
        attr_t a = strncmp(b.p + l->off, "── ", 4) == 0 ? A_BOLD : A_NORMAL;
        attrset(a);
        mvaddnstr(y + r, 1, b.p + l->off, (int)n);
        attrset(A_NORMAL);
    }
    free(lines);
    bz_buf_cleanup(&b);
}

void tui_view_judge_draw(struct tui_app *app)
{
    struct tui_judge *v = &app->judge;
    int H = app->rows, W = app->cols;
    erase();
    char jl[300];
    jobs_line(app, jl, sizeof jl); /* first: a finished grading job reloads the files */
    if (v->loaded == 0)
        load(app);
    char title[300];
    if (v->loaded == 1)
        snprintf(title, sizeof title, "Judge · %zu models · %zu rows · %zu file(s) in %s/",
                 v->sum->n_models, v->j->ns + v->j->np, v->n_files, v->dir);
    else
        snprintf(title, sizeof title, "Judge");
    tui_draw_header(app, title);
    if (v->loaded != 1) {
        tui_put(2, 2, W - 4, v->error, A_BOLD);
    } else if (v->level == 0) {
        if (W >= 110) {
            int rw = BZ_MIN(W / 2, 70);
            draw_radar(app, 1, 0, rw, H - 3);
            draw_table(app, 2, rw + 1, W - rw - 2, H - 2);
        } else {
            int rh = BZ_MAX(10, (H - 3) - (int)v->sum->n_models - 4 - (int)v->sum->n_cats);
            if (rh > H - 8 - (int)v->sum->n_models)
                rh = BZ_MAX(8, H - 8 - (int)v->sum->n_models);
            draw_radar(app, 1, 0, W, rh);
            draw_table(app, 1 + rh, 1, W - 2, H - 2);
        }
    } else if (v->level == 1) {
        draw_rows(app, 1, H - 3, W);
    } else {
        draw_detail(app, 1, H - 3, W);
    }
    move(H - 2, 0);
    clrtoeol();
    if (app->data.msg[0])
        tui_put(H - 2, 1, W - 2, app->data.msg, app->data.msg_error ?
                tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD : A_NORMAL);
    else if (jl[0])
        tui_put(H - 2, 1, W - 2, jl, A_BOLD);
    tui_put(H - 1, 1, W - 2, "j/k model  space show  h/l category  Enter drill down  Backspace "
            "back  a answer  G grade  r reload  ? help", A_DIM);
}

/* ---------------------------------------------------------------- jobs */

/* The question set jobs use: $BEZOAR_QUESTIONS, else the shipped one. Caller frees. */
static char *questions_path(void)
{
    const char *e = getenv("BEZOAR_QUESTIONS");
    return e && *e ? bz_strdup(e) : bz_path_join(tui_assets_dir(), "questions.jsonl");
}

static int is_judge_job(const struct tui_job *j)
{
    return strncmp(j->run.name, "answer-", 7) == 0 || strncmp(j->run.name, "grade-", 6) == 0;
}

static void start_job(struct tui_app *app, char **argv, const char *name)
{
    struct bz_err err = {0};
    char *dir = bz_path_join(app->jobs.runs_dir, name);
    if (!tui_jobs_start(&app->jobs, argv, dir, &err))
        tui_data_msg(&app->data, 1, "%s", err.msg);
    else
        tui_data_msg(&app->data, 0, "started %s (follow it here or in the Train view)", name);
    free(dir);
}

/* Answer the questions with the model under comparison: the base, and the base with
 * its adapter (the newest finished run), each into answers/NAME.jsonl. */
static void answer_jobs(struct tui_app *app)
{
    char *model = NULL, *lora = NULL, *tmpl = NULL, self[4096];
    if (tui_view_compare_pick(app, &model, &lora, &tmpl) != 0 ||
        tui_job_worker_path(self, sizeof self)) {
        tui_data_msg(&app->data, 1, "no model to answer with: finish a training run first "
                     "(2, n), or use 'bezoar judge answer'");
        return;
    }
    char *q = questions_path();
    bz_mkdir_p("answers", NULL);
    for (int tuned = 0; tuned < 2; tuned++) {
        if (tuned && !lora)
            break;
        const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
        char name[200], spec[4200], out[300], job[240];
        if (tuned) {
            char *rd = bz_path_dir(lora); /* runs/NAME/adapter -> runs/NAME */
            const char *rn = strrchr(rd, '/') ? strrchr(rd, '/') + 1 : rd;
            snprintf(name, sizeof name, "%s", rn);
            free(rd);
            snprintf(spec, sizeof spec, "local:%s+%s", model, lora);
        } else {
            snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
            snprintf(spec, sizeof spec, "local:%s", model);
        }
        snprintf(out, sizeof out, "answers/%s.jsonl", name);
        snprintf(job, sizeof job, "answer-%s", name);
        char *argv[16];
        int k = 0;
        argv[k++] = self;
        argv[k++] = "judge";
        argv[k++] = "answer";
        argv[k++] = "--json";
        argv[k++] = "--questions";
        argv[k++] = q;
        argv[k++] = "--model";
        argv[k++] = spec;
        argv[k++] = "--name";
        argv[k++] = name;
        argv[k++] = "-o";
        argv[k++] = out;
        if (tmpl) {
            argv[k++] = "--template";
            argv[k++] = tmpl;
        }
        argv[k] = NULL;
        start_job(app, argv, job);
    }
    free(q);
    free(model);
    free(lora);
    free(tmpl);
}

/* Grade every answers/NAME.jsonl with the judge ($BEZOAR_JUDGE or bezoar compare's
 * --judge) into judgments/grades.jsonl (resumable: graded rows are kept). */
static void grade_job(struct tui_app *app)
{
    const char *spec = app->cmp.judge ? app->cmp.judge : getenv("BEZOAR_JUDGE");
    char self[4096];
    if (!spec || !*spec) {
        tui_data_msg(&app->data, 1, "no judge: set BEZOAR_JUDGE (openai:URL#MODEL or "
                     "local:MODEL) and press G again");
        return;
    }
    if (tui_job_worker_path(self, sizeof self))
        return;
    char *argv[64];
    int k = 0;
    char *q = questions_path();
    argv[k++] = self;
    argv[k++] = "judge";
    argv[k++] = "grade";
    argv[k++] = "--json";
    argv[k++] = "--questions";
    argv[k++] = q;
    argv[k++] = "--judge";
    argv[k++] = (char *)spec;
    argv[k++] = "--mode";
    argv[k++] = "single";
    argv[k++] = "-o";
    argv[k++] = "judgments/grades.jsonl";
    argv[k++] = "--answers";
    int first = k;
    DIR *d = opendir("answers");
    struct dirent *e;
    while (d && (e = readdir(d)) && k < 60) {
        size_t n = strlen(e->d_name);
        if (n > 6 && strcmp(e->d_name + n - 6, ".jsonl") == 0)
            argv[k++] = bz_path_join("answers", e->d_name);
    }
    if (d)
        closedir(d);
    argv[k] = NULL;
    if (k == first) {
        tui_data_msg(&app->data, 1, "nothing to grade in answers/: press a first");
    } else {
        bz_mkdir_p("judgments", NULL);
        char job[64];
        snprintf(job, sizeof job, "grade-%ld", (long)bz_wall());
        start_job(app, argv, job);
    }
    for (int i = first; i < k; i++)
        free(argv[i]);
    free(q);
}

/* The judge jobs' state for the status line; reloads when a grading job finished. */
static void jobs_line(struct tui_app *app, char *buf, size_t n)
{
    struct tui_judge *v = &app->judge;
    size_t grades_done = 0, len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < app->jobs.n; i++) {
        const struct tui_job *j = app->jobs.v[i];
        if (!is_judge_job(j))
            continue;
        if (strncmp(j->run.name, "grade-", 6) == 0 && j->run.state == TUI_RUN_DONE)
            grades_done++;
        if (j->run.state != TUI_RUN_RUNNING && j->run.state != TUI_RUN_FAILED)
            continue;
        int w = snprintf(buf + len, n - len, "%s%s %s %ld/%ld", len ? " · " : "", j->run.name,
                         j->run.state == TUI_RUN_FAILED ? "failed" : j->run.phase,
                         j->run.phase_done, j->run.phase_total);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    if (grades_done > v->grades_seen) {
        v->grades_seen = grades_done;
        unload(v); /* reloaded by the next draw */
    }
}

void tui_view_judge_key(struct tui_app *app, int action)
{
    struct tui_judge *v = &app->judge;
    if (action == TUI_A_JUDGE_ANSWER) {
        answer_jobs(app);
        return;
    }
    if (action == TUI_A_JUDGE_GRADE) {
        grade_job(app);
        return;
    }
    if (action == TUI_A_JUDGE_RELOAD) {
        unload(v);
        load(app);
        tui_data_msg(&app->data, 0, "reloaded %zu file(s)", v->n_files);
        return;
    }
    if (v->loaded != 1)
        return;
    size_t nm = v->sum->n_models;
    switch (action) {
    case TUI_A_DOWN:
        if (v->level == 0 && v->sel_model + 1 < nm)
            v->sel_model++;
        else if (v->level == 1 && v->sel_row + 1 < v->n_rows)
            v->sel_row++;
        else if (v->level == 2)
            v->scroll += 3;
        break;
    case TUI_A_UP:
        if (v->level == 0 && v->sel_model > 0)
            v->sel_model--;
        else if (v->level == 1 && v->sel_row > 0)
            v->sel_row--;
        else if (v->level == 2 && v->scroll > 0)
            v->scroll = BZ_MAX(0, v->scroll - 3);
        break;
    case TUI_A_JUDGE_TOGGLE:
        if (v->level == 0 && v->sel_model < sizeof v->show)
            v->show[v->sel_model] = !v->show[v->sel_model];
        break;
    case TUI_A_JUDGE_CAT_PREV:
        if (v->level == 0 && v->cat > 0)
            v->cat--;
        break;
    case TUI_A_JUDGE_CAT_NEXT:
        if (v->level == 0 && v->cat + 1 < (int)v->sum->n_cats)
            v->cat++;
        break;
    case TUI_A_JUDGE_OPEN:
        if (v->level == 0 && v->sum->n_cats > 0) {
            build_rows(v);
            v->level = 1;
        } else if (v->level == 1 && v->n_rows > 0) {
            v->level = 2;
            v->scroll = 0;
        }
        break;
    case TUI_A_JUDGE_BACK:
        if (v->level > 0)
            v->level--;
        break;
    default:
        break;
    }
}
