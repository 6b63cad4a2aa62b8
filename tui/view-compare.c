/*
 * view-compare.c: the Compare view: one prompt (the selected dataset record, a
 * question from a set, or typed), two answers side by side streaming in at once
 * from the same model with and without an adapter, the words that differ
 * highlighted, blind mode, votes (A better, B better, tie, both bad) journaled as
 * preference data, and the accepted training pairs most like the prompt.
 */
#include <cjson/cJSON.h>
#include <curses.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/internal.h"
#include "tui/tui.h"


/* ---------------------------------------------------------------- opening */

int tui_view_compare_load_questions(struct tui_app *app, const char *path, struct bz_err *err)
{
    struct tui_cmp *v = &app->cmp;
    char *text = NULL;
    size_t n = 0;
    int rc = bz_read_file(path, &text, &n, err);
    if (rc)
        return rc;
    size_t line = 0;
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        if (!*p)
            continue;
        cJSON *o = cJSON_Parse(p);
        const cJSON *turns = o ? cJSON_GetObjectItemCaseSensitive(o, "turns") : NULL;
        const cJSON *t1 = cJSON_IsArray(turns) ? cJSON_GetArrayItem(turns, 0) : NULL;
        if (!cJSON_IsString(t1)) {
            cJSON_Delete(o);
            free(text);
            return bz_errf(err, BZ_EPARSE, "%s:%zu: not a question ({question_id, category, "
                           "turns: [...]})", path, line);
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "question_id");
        const cJSON *cat = cJSON_GetObjectItemCaseSensitive(o, "category");
        v->questions = bz_realloc(v->questions, (v->n_questions + 1) * sizeof *v->questions);
        struct tui_question *q = &v->questions[v->n_questions++];
        q->id = cJSON_IsNumber(id) ? bz_asprintf("q%d", id->valueint)
                                   : bz_strdup(cJSON_IsString(id) ? id->valuestring : "?");
        q->category = bz_strdup(cJSON_IsString(cat) ? cat->valuestring : "");
        q->turn1 = bz_strdup(t1->valuestring);
        cJSON_Delete(o);
    }
    free(text);
    if (v->n_questions == 0)
        return bz_errf(err, BZ_EEMPTY, "%s: no questions", path);
    return 0;
}

/* The model and adapter to compare: given on the command line, else the newest run
 * that finished with an adapter (its config.json names the model and template). */
int tui_view_compare_pick(struct tui_app *app, char **model, char **lora, char **tmpl)
{
    struct tui_cmp *v = &app->cmp;
    if (v->model) {
        *model = bz_strdup(v->model);
        *lora = v->lora ? bz_strdup(v->lora) : NULL;
        *tmpl = v->tmpl ? bz_strdup(v->tmpl) : NULL;
        return 0;
    }
    for (size_t k = app->jobs.n + 1; k-- > 0;) {
        /* the run the Train view asked for first, then the newest finished one */
        struct tui_job *j = NULL;
        if (k == app->jobs.n) {
            for (size_t i = 0; i < app->jobs.n && v->want_run; i++)
                if (strcmp(app->jobs.v[i]->run.dir, v->want_run) == 0)
                    j = app->jobs.v[i];
        } else {
            j = app->jobs.v[k];
        }
        if (!j || j->run.state != TUI_RUN_DONE || !j->run.adapter)
            continue;
        char *cfgp = bz_path_join(j->run.dir, "config.json"), *text = NULL;
        int rc = bz_read_file(cfgp, &text, NULL, NULL);
        free(cfgp);
        if (rc)
            continue;
        cJSON *o = cJSON_Parse(text);
        free(text);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "template");
        if (cJSON_IsString(m)) {
            *model = bz_strdup(m->valuestring);
            *lora = bz_strdup(j->run.adapter);
            *tmpl = cJSON_IsString(t) ? bz_strdup(t->valuestring) : NULL;
            cJSON_Delete(o);
            return 0;
        }
        cJSON_Delete(o);
    }
    return BZ_ENOTFOUND;
}

void tui_view_compare_enter(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    if (v->opened == 1)
        return;
    char *model = NULL, *lora = NULL, *tmpl = NULL;
    if (tui_view_compare_pick(app, &model, &lora, &tmpl) != 0) {
        v->opened = -1;
        snprintf(v->error, sizeof v->error, "nothing to compare yet: finish a training run "
                 "(2, n) or start with 'bezoar compare -m MODEL --lora ADAPTER'");
        return;
    }
    struct bz_err err = {0};
    char *votes = bz_asprintf("%s.bezoar/votes.jsonl", app->dataset_path);
    int rc = tui_compare_open(&v->c, model, NULL, lora, tmpl, votes, &err);
    free(votes);
    if (rc != 0) {
        v->opened = -1;
        snprintf(v->error, sizeof v->error, "%s", bz_err_msg(&err, rc));
    } else {
        v->opened = 1;
        const char *js = v->judge ? v->judge : getenv("BEZOAR_JUDGE");
        v->c.judge_spec = js && *js ? bz_strdup(js) : NULL;
        v->c.wake = tui_app_wake;
        v->c.wake_arg = app;
        v->sync = 1;
    }
    free(model);
    free(lora);
    free(tmpl);
}

void tui_view_compare_want_run(struct tui_app *app, const char *run_dir)
{
    struct tui_cmp *v = &app->cmp;
    if (v->model || (v->want_run && strcmp(v->want_run, run_dir) == 0 && v->opened == 1))
        return; /* `bezoar compare` named its model; or this run is already open */
    free(v->want_run);
    v->want_run = bz_strdup(run_dir);
    if (v->opened == 1)
        tui_compare_close(&v->c);
    v->opened = 0;
}

void tui_view_compare_cleanup(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    free(v->want_run);
    free(v->judge);
    if (v->opened == 1)
        tui_compare_close(&v->c);
    for (size_t i = 0; i < v->n_questions; i++) {
        free(v->questions[i].id);
        free(v->questions[i].category);
        free(v->questions[i].turn1);
    }
    free(v->questions);
    free(v->marks[0]);
    free(v->marks[1]);
    free(v->model);
    free(v->lora);
    free(v->tmpl);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- prompts */

static int start(struct tui_app *app, const char *prompt, const char *id)
{
    struct tui_cmp *v = &app->cmp;
    struct bz_err err = {0};
    if (v->opened != 1)
        return BZ_EINVAL;
    int rc = tui_compare_start(&v->c, prompt, id, v->blind_next, &err);
    if (rc)
        tui_data_msg(&app->data, 1, "%s", bz_err_msg(&err, rc));
    v->scroll[0] = v->scroll[1] = 0;
    v->n_similar = 0;
    return rc;
}

void tui_view_compare_prompt(struct tui_app *app, const char *text)
{
    if (text && *text)
        start(app, text, NULL);
}

/* Compare the current source item: the selected question, else the Data view's
 * selected record. */
static void run_current(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    if (v->n_questions) {
        struct tui_question *q = &v->questions[v->q_sel];
        start(app, q->turn1, q->id);
        return;
    }
    struct tui_data *d = &app->data;
    if (tui_data_count(d) == 0)
        return;
    struct ds_record rec;
    memset(&rec, 0, sizeof rec);
    struct bz_err err = {0};
    int rc = ds_get(d->ds, tui_data_record(d, d->sel), &rec, &err);
    if (rc)
        tui_data_msg(d, 1, "%s", bz_err_msg(&err, rc));
    else
        start(app, ds_record_prompt(&rec), rec.id);
    ds_record_cleanup(&rec);
}

/* ---------------------------------------------------------------- similar pairs */

static size_t words(const char *s, uint64_t *h, size_t max)
{
    size_t k = 0;
    while (*s && k < max) {
        while (*s && !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                       (*s >= '0' && *s <= '9') || (unsigned char)*s >= 0x80))
            s++;
        const char *st = s;
        char buf[64];
        size_t n = 0;
        while (*s && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || (unsigned char)*s >= 0x80)) {
            if (n < sizeof buf)
                buf[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
            s++;
        }
        if (s > st)
            h[k++] = bz_hash64(buf, n);
    }
    return k;
}

static double overlap(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t inter = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                inter++;
                break;
            }
    size_t uni = na + nb - inter;
    return uni ? (double)inter / (double)uni : 0;
}

/* The accepted pairs most like the prompt by word overlap (Jaccard over the word
 * sets), scanning at most 50,000 records. */
static void find_similar(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    struct ds_dataset *ds = app->data.ds;
    uint64_t pw[256], rw[256];
    size_t np = words(v->c.prompt ? v->c.prompt : "", pw, 256);
    double best[8];
    size_t best_i[8];
    int nb = 0;
    size_t n = BZ_MIN(ds_count(ds), (size_t)50000);
    for (size_t i = 0; i < n; i++) {
        struct ds_summary s;
        if (!ds_summary(ds, i, &s) || s.status != DS_ACCEPTED)
            continue;
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_get(ds, i, &rec, NULL) == 0) {
            double sc = overlap(pw, np, rw, words(ds_record_prompt(&rec), rw, 256));
            int pos = nb;
            while (pos > 0 && best[pos - 1] < sc)
                pos--;
            if (pos < 8) {
                int last = nb < 8 ? nb : 7;
                for (int k = last; k > pos; k--) {
                    best[k] = best[k - 1];
                    best_i[k] = best_i[k - 1];
                }
                best[pos] = sc;
                best_i[pos] = i;
                if (nb < 8)
                    nb++;
            }
        }
        ds_record_cleanup(&rec);
    }
    v->n_similar = 0;
    for (int k = 0; k < nb; k++) {
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_get(ds, best_i[k], &rec, NULL) == 0)
            snprintf(v->similar[v->n_similar++], sizeof v->similar[0], "%.2f  #%zu %s: %s",
                     best[k], best_i[k] + 1, rec.id, ds_record_prompt(&rec));
        ds_record_cleanup(&rec);
    }
}

void tui_view_compare_similar_draw(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    int w = BZ_MIN(app->cols - 4, 100), h = v->n_similar + 4;
    int x = (app->cols - w) / 2, y = BZ_MAX(1, (app->rows - h) / 2);
    for (int r = 0; r < h; r++) {
        move(y + r, x);
        for (int c = 0; c < w; c++)
            addch(' ' | A_REVERSE);
    }
    tui_put(y, x + 1, w - 2, "Accepted training pairs most like this prompt (word overlap) · any key "
        "closes", A_REVERSE | A_BOLD);
    if (v->n_similar == 0)
        tui_put(y + 2, x + 2, w - 4, "no accepted pair shares a word with the prompt", A_REVERSE);
    for (int i = 0; i < v->n_similar; i++)
        tui_put(y + 2 + i, x + 2, w - 4, v->similar[i], A_REVERSE);
}

/* ---------------------------------------------------------------- drawing */

static void draw_column(struct tui_app *app, int side, int y, int x, int w, int h,
                        const struct tui_cmp_view *cv, const unsigned char *marks)
{
    struct tui_cmp *v = &app->cmp;
    char buf[300];
    snprintf(buf, sizeof buf, "%s · %s", side ? "B" : "A", cv->label);
    attr_t head = (side ? tui_color(app, TUI_C_USER, A_BOLD) : tui_color(app, TUI_C_ASSISTANT, A_BOLD)) |
                  A_BOLD;
    if (!v->sync && v->focus == side)
        head |= A_UNDERLINE;
    tui_put(y, x, w, buf, head);
    if (cv->error[0])
        snprintf(buf, sizeof buf, "error: %s", cv->error);
    else
        snprintf(buf, sizeof buf, "%d tokens · %.1f tok/s · %s", cv->n_tokens, cv->tok_s,
                 cv->running ? "streaming" : cv->done ? "done" : "idle");
    tui_put(y + 1, x, w, buf, cv->error[0] ? tui_color(app, TUI_C_ERROR, A_BOLD) : A_DIM);
    size_t n = strlen(cv->text);
    size_t nl = tui_text_wrap(cv->text, n, w, NULL, 0);
    struct tui_line *lines = bz_malloc((nl ? nl : 1) * sizeof *lines);
    tui_text_wrap(cv->text, n, w, lines, nl);
    int scroll = v->scroll[v->sync ? 0 : side];
    if (scroll > (int)nl - 1)
        scroll = nl ? (int)nl - 1 : 0;
    attr_t hl = tui_color(app, TUI_C_MATCH, A_REVERSE) | A_REVERSE;
    for (int r = 0; r < h - 2 && (size_t)(scroll + r) < nl; r++) {
        struct tui_line *l = &lines[scroll + r];
        move(y + 2 + r, x);
        int col = 0;
        for (size_t i = l->off; i < l->off + l->len;) {
            int cp;
            int k = tui_text_next(cv->text + i, n - i, &cp);
            int cw = tui_text_cpwidth(cp);
            if (col + cw > w)
                break;
            attrset(marks && marks[i] ? hl : A_NORMAL);
            if (cp < 0x20 || cp == 0x7f)
                addch(cp == '\t' ? ' ' : '?');
            else
                addnstr(cv->text + i, k);
            col += cw;
            i += (size_t)k;
        }
        attrset(A_NORMAL);
    }
    free(lines);
}

void tui_view_compare_draw(struct tui_app *app)
{
    struct tui_cmp *v = &app->cmp;
    int H = app->rows, W = app->cols;
    char buf[600];
    erase();
    tui_view_compare_enter(app);
    if (v->opened != 1) {
        tui_draw_header(app, "Compare");
        tui_put(2, 2, W - 4, v->error, A_BOLD);
        tui_put(H - 1, 1, W - 2, "1 data  2 train  ? help  q quit", A_DIM);
        return;
    }
    const char *src = v->n_questions ? "questions" : "dataset";
    snprintf(buf, sizeof buf, "Compare · %s · prompts from the %s%s", v->c.model_path, src,
             v->blind_next ? " · blind" : "");
    tui_draw_header(app, buf);
    int y = 1;
    if (v->n_questions) {
        struct tui_question *q = &v->questions[v->q_sel];
        snprintf(buf, sizeof buf, "question %zu/%zu · %s · %s", v->q_sel + 1, v->n_questions,
                 q->id, q->category);
    } else {
        snprintf(buf, sizeof buf, "record %zu of %zu in the Data view · [ ] move · Enter compares "
                 "· p types a prompt", app->data.sel + 1, tui_data_count(&app->data));
    }
    tui_put(y++, 1, W - 2, buf, A_DIM);
    const char *prompt = v->c.prompt ? v->c.prompt : "(press Enter to compare the selected prompt)";
    size_t pn = strlen(prompt);
    struct tui_line pl[4];
    size_t npl = tui_text_wrap(prompt, pn, W - 4, pl, 4);
    for (size_t i = 0; i < npl && i < 4; i++) {
        attrset(A_BOLD);
        mvaddnstr(y++, 2, prompt + pl[i].off, (int)pl[i].len);
        attrset(A_NORMAL);
    }
    y++;
    struct tui_cmp_view cv[2];
    tui_compare_snapshot(&v->c, 0, &cv[0]);
    tui_compare_snapshot(&v->c, 1, &cv[1]);
    /* the difference, once both answers are complete */
    unsigned char *marks[2] = {NULL, NULL};
    if (cv[0].done && cv[1].done) {
        size_t na = strlen(cv[0].text), nb = strlen(cv[1].text);
        if (v->diff_seq != v->c.seq || v->marks_len[0] != na || v->marks_len[1] != nb) {
            free(v->marks[0]);
            free(v->marks[1]);
            v->marks[0] = bz_malloc(na + 1);
            v->marks[1] = bz_malloc(nb + 1);
            tui_compare_diff(cv[0].text, na, cv[1].text, nb, v->marks[0], v->marks[1]);
            v->marks_len[0] = na;
            v->marks_len[1] = nb;
            v->diff_seq = v->c.seq;
        }
        marks[0] = v->marks[0];
        marks[1] = v->marks[1];
    }
    char jline[400];
    int jst = tui_compare_judge_line(&v->c, jline, sizeof jline);
    int colw = (W - 3) / 2, h = H - y - 2 - (jst ? 1 : 0);
    if (jst)
        tui_put(H - 3, 1, W - 2, jline, jst < 0 ? tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD
                                                  : A_BOLD);
    draw_column(app, 0, y, 1, colw, h, &cv[0], marks[0]);
    for (int r = 0; r < h; r++)
        mvaddstr(y + r, colw + 1, "│");
    draw_column(app, 1, y, colw + 2, W - colw - 3, h, &cv[1], marks[1]);
    free(cv[0].text);
    free(cv[1].text);
    move(H - 2, 0);
    clrtoeol();
    if (app->data.msg[0])
        tui_put(H - 2, 1, W - 2, app->data.msg, app->data.msg_error ?
            tui_color(app, TUI_C_ERROR, A_BOLD) | A_BOLD : A_NORMAL);
    else if (v->c.voted >= 0)
        tui_put(H - 2, 1, W - 2, "voted; the sides are revealed", A_NORMAL);
    tui_put(H - 1, 1, W - 2, "Enter compare  [ ] prev/next  p type  a A better  b B better  t tie  "
        "z both bad  g judge  v blind  s similar  y sync  h/l side  J/K scroll  ? help", A_DIM);
}

/* ---------------------------------------------------------------- actions */

void tui_view_compare_key(struct tui_app *app, int action)
{
    struct tui_cmp *v = &app->cmp;
    struct tui_data *d = &app->data;
    if (v->opened != 1)
        return;
    struct bz_err err = {0};
    int vote = -1;
    switch (action) {
    case TUI_A_CMP_RUN: run_current(app); break;
    case TUI_A_CMP_PREV:
    case TUI_A_CMP_NEXT: {
        int delta = action == TUI_A_CMP_NEXT ? 1 : -1;
        if (v->n_questions) {
            if (delta > 0 && v->q_sel + 1 < v->n_questions)
                v->q_sel++;
            else if (delta < 0 && v->q_sel > 0)
                v->q_sel--;
        } else {
            tui_data_move(d, delta, app->list_rows > 0 ? app->list_rows : 10);
        }
        run_current(app);
        break;
    }
    case TUI_A_VOTE_A: vote = TUI_VOTE_A; break;
    case TUI_A_VOTE_B: vote = TUI_VOTE_B; break;
    case TUI_A_VOTE_TIE: vote = TUI_VOTE_TIE; break;
    case TUI_A_VOTE_BAD: vote = TUI_VOTE_BOTH_BAD; break;
    case TUI_A_CMP_BLIND:
        v->blind_next = !v->blind_next;
        tui_data_msg(d, 0, "blind mode %s for the next comparison", v->blind_next ? "on" : "off");
        break;
    case TUI_A_CMP_SYNC:
        v->sync = !v->sync;
        v->scroll[1] = v->scroll[0];
        tui_data_msg(d, 0, "scrolling %s", v->sync ? "together" : "each side on its own (h/l)");
        break;
    case TUI_A_CMP_FOCUS_A: v->focus = 0; break;
    case TUI_A_CMP_FOCUS_B: v->focus = 1; break;
    case TUI_A_DETAIL_DOWN:
    case TUI_A_DETAIL_UP: {
        int step = action == TUI_A_DETAIL_DOWN ? 5 : -5;
        int *s = &v->scroll[v->sync ? 0 : v->focus];
        *s += step;
        if (*s < 0)
            *s = 0;
        break;
    }
    case TUI_A_CMP_JUDGE: {
        char *prompts = bz_path_join(tui_assets_dir(), "judge-prompts.jsonl");
        if (tui_compare_judge(&v->c, prompts, &err) != 0)
            tui_data_msg(d, 1, "%s", err.msg);
        free(prompts);
        break;
    }
    case TUI_A_CMP_SIMILAR:
        if (!v->c.prompt) {
            tui_data_msg(d, 0, "compare a prompt first");
            break;
        }
        find_similar(app);
        app->overlay = TUI_OV_SIMILAR;
        break;
    default: break;
    }
    if (vote >= 0) {
        if (tui_compare_vote(&v->c, vote, &err) != 0)
            tui_data_msg(d, 1, "%s", err.msg);
        else
            tui_data_msg(d, 0, "vote: %s (journaled in %s)", tui_vote_name(vote),
                         v->c.votes_path);
    }
}
