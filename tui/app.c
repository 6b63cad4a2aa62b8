/*
 * app.c: the workbench program: curses set-up, the libuv loop (stdin by uv_poll,
 * SIGWINCH by uv_signal, a frame timer capped at ~30 fps that draws only when
 * something is dirty, a tick that follows background indexing, runs search steps
 * and every ~0.5 s looks whether the dataset file grew), key dispatch through the
 * one key table, and the overlays (help, prompt, confirmation, filter menu, bulk
 * menu, the generation form).
 *
 * Callbacks change state and mark it dirty; drawing happens in one place.
 */
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "tui/internal.h"
#include "tui/tui.h"

#define FRAME_MS 33

struct app_loop {
    uv_loop_t loop;
    uv_async_t wake;
    uv_poll_t input;
    uv_signal_t winch, term, hup;
    uv_timer_t frame, tick;
};

static struct tui_app *the_app;
static struct app_loop *the_loop;

/* ---------------------------------------------------------------- drawing */

static void draw_box(int y, int x, int h, int w, const char *title)
{
    attrset(A_NORMAL);
    for (int r = 0; r < h; r++) {
        move(y + r, x);
        for (int c = 0; c < w; c++)
            addch(' ');
    }
    mvaddstr(y, x, "┌");
    mvaddstr(y, x + w - 1, "┐");
    mvaddstr(y + h - 1, x, "└");
    mvaddstr(y + h - 1, x + w - 1, "┘");
    for (int c = 1; c < w - 1; c++) {
        mvaddstr(y, x + c, "─");
        mvaddstr(y + h - 1, x + c, "─");
    }
    for (int r = 1; r < h - 1; r++) {
        mvaddstr(y + r, x, "│");
        mvaddstr(y + r, x + w - 1, "│");
    }
    attron(A_BOLD);
    mvaddstr(y, x + 2, title);
    attroff(A_BOLD);
}

static void draw_help(struct tui_app *app)
{
    int w = BZ_MIN(app->cols - 4, 70), h = app->rows - 2;
    int x = (app->cols - w) / 2, y = 1;
    draw_box(y, x, h, w, " Keys (Esc or ? closes, j/k scroll) ");
    int line = 0, shown = 0;
    for (size_t i = 0; i < tui_n_bindings; i++) {
        if (!tui_bindings[i].help || !(tui_bindings[i].views & (1u << app->view)))
            continue;
        if (line++ < app->help_scroll)
            continue;
        if (shown >= h - 3)
            break;
        attron(A_BOLD);
        mvaddnstr(y + 1 + shown, x + 2, tui_bindings[i].keyname, w - 4);
        attroff(A_BOLD);
        mvaddnstr(y + 1 + shown, x + 20, tui_bindings[i].help, w - 22);
        shown++;
    }
    mvaddnstr(y + h - 2, x + 2, "Mouse: wheel scrolls, click selects.", w - 4);
}

/* The rule flags of the filter menu, with their keys (names from ds_flag_name). */
static const struct {
    int key;
    unsigned flag;
} filter_flags[] = {
    {'d', DS_F_DUP},     {'n', DS_F_NEARDUP}, {'e', DS_F_EMPTY},  {'s', DS_F_SHORT},
    {'r', DS_F_REFUSAL}, {'l', DS_F_REPEAT},  {'L', DS_F_LONG},   {'o', DS_F_ECHO},
    {'g', DS_F_LANG},    {'t', DS_F_CTRL},    {'E', DS_F_EDITED},
};

static void draw_filter(struct tui_app *app)
{
    static const char *status[] = {"all", "pending", "accepted", "rejected", "flagged", "bad"};
    struct tui_filter *f = &app->data.filter;
    int w = BZ_MIN(app->cols - 4, 64), h = 18;
    int x = (app->cols - w) / 2, y = BZ_MAX(1, (app->rows - h) / 2);
    if (h > app->rows - 1)
        h = app->rows - 1;
    draw_box(y, x, h, w, " Filter (Enter or Esc closes) ");
    int r = y + 1, col = (w - 4) / 2;
    mvaddstr(r++, x + 2, "status");
    for (int i = 0; i < TUI_SF__COUNT && r < y + h - 1; i += 2, r++)
        for (int k = 0; k < 2 && i + k < TUI_SF__COUNT; k++)
            mvprintw(r, x + 4 + k * col, "%d  %s %s", i + k, f->status == i + k ? "(*)" : "( )",
                     status[i + k]);
    if (r < y + h - 1)
        mvaddstr(r++, x + 2, "rule flags (all selected must hold)");
    for (size_t i = 0; i < BZ_ARRAY_SIZE(filter_flags) && r < y + h - 1; i += 2, r++)
        for (size_t k = 0; k < 2 && i + k < BZ_ARRAY_SIZE(filter_flags); k++) {
            const char *name = ds_flag_name(filter_flags[i + k].flag);
            mvprintw(r, x + 4 + (int)k * col, "%c  [%c] %s", filter_flags[i + k].key,
                     (f->need_flags & filter_flags[i + k].flag) ? 'x' : ' ', name ? name : "?");
        }
    char lo[32] = "any", hi[32] = "any", sb[32] = "off";
    if (f->min_chars >= 0)
        snprintf(lo, sizeof lo, "%ld", f->min_chars);
    if (f->max_chars >= 0)
        snprintf(hi, sizeof hi, "%ld", f->max_chars);
    if (f->score_below >= 0)
        snprintf(sb, sizeof sb, "%g", f->score_below);
    if (r < y + h - 1)
        mvprintw(r++, x + 2, "<  min response chars: %s    >  max: %s", lo, hi);
    if (r < y + h - 1)
        mvprintw(r++, x + 2, "b  score below: %s", sb);
    if (r < y + h - 1)
        mvprintw(r++, x + 2, "S  [%c] suggested reject (bezoar data filter / score --below)",
                 f->suggested ? 'x' : ' ');
    if (r < y + h - 1)
        mvaddstr(r++, x + 2, "c  clear the filter");
}

static void draw_overlay(struct tui_app *app)
{
    int y = app->rows - 1;
    switch (app->overlay) {
    case TUI_OV_HELP:
        draw_help(app);
        break;
    case TUI_OV_FILTER:
        draw_filter(app);
        break;
    case TUI_OV_FORM:
        tui_view_train_form_draw(app);
        break;
    case TUI_OV_GEN:
        tui_view_data_gen_draw(app);
        break;
    case TUI_OV_SIMILAR:
        tui_view_compare_similar_draw(app);
        break;
    case TUI_OV_QUIT: {
        char buf[160];
        snprintf(buf, sizeof buf, "%zu job(s) running: k keep them running and quit · s stop "
                 "them (checkpoint) and quit · Esc stay", tui_jobs_running(&app->jobs));
        move(y, 0);
        clrtoeol();
        attron(A_BOLD);
        mvaddnstr(y, 0, buf, app->cols - 1);
        attroff(A_BOLD);
        break;
    }
    case TUI_OV_PROMPT: {
        static const char *label[] = {"/",
                                      "min response chars: ",
                                      "max response chars: ",
                                      "value: ",
                                      "prompt: ",
                                      "score below (empty: off): ",
                                      "pre-mark pending scored below (empty: suggested rejects "
                                      "only): ",
                                      "value: "};
        if (app->prompt_kind == TUI_PROMPT_FIELD)
            tui_view_train_form_draw(app);
        if (app->prompt_kind == TUI_PROMPT_GEN_FIELD)
            tui_view_data_gen_draw(app);
        move(y, 0);
        clrtoeol();
        attron(A_BOLD);
        mvaddstr(y, 0, label[app->prompt_kind]);
        attroff(A_BOLD);
        addnstr(app->prompt, (int)app->prompt_len);
        curs_set(1);
        return;
    }
    case TUI_OV_CONFIRM:
        move(y, 0);
        clrtoeol();
        attron(A_BOLD);
        mvaddnstr(y, 0, app->question, app->cols - 1);
        attroff(A_BOLD);
        break;
    case TUI_OV_BULK: {
        char buf[256];
        snprintf(buf, sizeof buf, "bulk on %zu %s: a accept  x reject  f flag  r reset  Esc "
                 "cancel", tui_data_bulk_count(&app->data),
                 app->data.n_marked ? "marked records" : "records shown by the filter");
        move(y, 0);
        clrtoeol();
        attron(A_BOLD);
        mvaddnstr(y, 0, buf, app->cols - 1);
        attroff(A_BOLD);
        break;
    }
    default:
        break;
    }
    curs_set(0);
}

void tui_draw_header(struct tui_app *app, const char *title)
{
    static const char *names[TUI_VIEW__COUNT] = {"1 Data", "2 Train", "3 Compare", "4 Judge"};
    attr_t bar = app->color ? COLOR_PAIR(TUI_C_HEADER) : A_REVERSE;
    attrset(bar);
    move(0, 0);
    for (int x = 0; x < app->cols; x++)
        addch(' ');
    mvaddstr(0, 1, "Bezoar");
    int x = 8;
    for (int v = 0; v < TUI_VIEW__COUNT; v++) {
        attrset(v == app->view ? (bar | A_BOLD | A_UNDERLINE) : bar);
        mvaddstr(0, x, names[v]);
        x += (int)strlen(names[v]) + 2;
    }
    attrset(bar);
    mvaddstr(0, x, "│ ");
    x += 2;
    size_t n = tui_text_fit(title, strlen(title), app->cols - x - 1, NULL);
    mvaddnstr(0, x, title, (int)n);
    attrset(A_NORMAL);
}

static void draw(struct tui_app *app)
{
    double t0 = bz_now();
    if (app->view == TUI_VIEW_TRAIN)
        tui_view_train_draw(app);
    else if (app->view == TUI_VIEW_COMPARE)
        tui_view_compare_draw(app);
    else if (app->view == TUI_VIEW_JUDGE)
        tui_view_judge_draw(app);
    else
        tui_view_data_draw(app);
    draw_overlay(app);
    if (app->overlay != TUI_OV_PROMPT)
        move(app->rows - 1, app->cols - 1);
    refresh();
    app->dirty = 0;
    app->last_draw = bz_now();
    app->last_draw_ms = (app->last_draw - t0) * 1e3;
}

static void on_frame(uv_timer_t *t)
{
    struct tui_app *app = t->data;
    if (app->dirty)
        draw(app);
}

static void on_wake(uv_async_t *a)
{
    tui_app_dirty(a->data);
}

void tui_app_wake(void *app)
{
    (void)app;
    if (the_loop)
        uv_async_send(&the_loop->wake);
}

void tui_app_dirty(struct tui_app *app)
{
    app->dirty = 1;
    if (!the_loop || uv_is_active((uv_handle_t *)&the_loop->frame))
        return;
    double since = (bz_now() - app->last_draw) * 1e3;
    uint64_t wait = since >= FRAME_MS ? 0 : (uint64_t)(FRAME_MS - since);
    uv_timer_start(&the_loop->frame, on_frame, wait, 0);
}

/* ---------------------------------------------------------------- overlays' keys */

static void prompt_key(struct tui_app *app, wint_t ch, int is_key)
{
    struct tui_data *d = &app->data;
    if (!is_key && (ch == 27)) {
        app->overlay = app->prompt_kind == TUI_PROMPT_FIELD         ? TUI_OV_FORM
                       : app->prompt_kind == TUI_PROMPT_GEN_FIELD   ? TUI_OV_GEN
                       : app->prompt_kind == TUI_PROMPT_SCORE_BELOW ? TUI_OV_FILTER
                                                                    : TUI_OV_NONE;
        return;
    }
    if (!is_key && ch == 21) { /* Ctrl-u clears the line */
        app->prompt_len = 0;
        app->prompt[0] = '\0';
        return;
    }
    if ((is_key && (ch == KEY_BACKSPACE)) || (!is_key && (ch == 127 || ch == 8))) {
        while (app->prompt_len > 0) {
            unsigned char c = (unsigned char)app->prompt[--app->prompt_len];
            if ((c & 0xC0) != 0x80)
                break;
        }
        app->prompt[app->prompt_len] = '\0';
        return;
    }
    if ((is_key && ch == KEY_ENTER) || (!is_key && (ch == '\n' || ch == '\r'))) {
        app->overlay = TUI_OV_NONE;
        if (app->prompt_kind == TUI_PROMPT_FIELD) {
            tui_view_train_form_set(app, app->prompt);
            app->overlay = TUI_OV_FORM;
        } else if (app->prompt_kind == TUI_PROMPT_GEN_FIELD) {
            tui_view_data_gen_set(app, app->prompt);
            app->overlay = TUI_OV_GEN;
        } else if (app->prompt_kind == TUI_PROMPT_SCORE_BELOW ||
                   app->prompt_kind == TUI_PROMPT_PREMARK) {
            char *end;
            double v = app->prompt_len ? strtod(app->prompt, &end) : -1;
            if (app->prompt_len && (*end || !(v >= 0))) {
                tui_data_msg(d, 1, "'%s' is not a score", app->prompt);
                if (app->prompt_kind == TUI_PROMPT_SCORE_BELOW)
                    app->overlay = TUI_OV_FILTER;
                return;
            }
            if (app->prompt_kind == TUI_PROMPT_SCORE_BELOW) {
                struct tui_filter f = d->filter;
                f.score_below = v;
                tui_data_set_filter(d, &f);
                app->overlay = TUI_OV_FILTER;
            } else {
                size_t ns = 0, ng = 0;
                size_t n = tui_data_premark(d, v, &ns, &ng);
                if (v >= 0)
                    tui_data_msg(d, 0,
                                 "marked %zu pending: %zu scored below %g, %zu suggested "
                                 "rejects · B x rejects them",
                                 n, ns, v, ng);
                else
                    tui_data_msg(d, 0,
                                 "marked %zu pending with a suggested reject · B x "
                                 "rejects them",
                                 n);
            }
        } else if (app->prompt_kind == TUI_PROMPT_COMPARE) {
            tui_view_compare_prompt(app, app->prompt);
        } else if (app->prompt_kind == TUI_PROMPT_SEARCH) {
            if (app->prompt_len)
                tui_data_search_start(d, app->prompt, 1);
            tui_view_data_search_changed();
        } else {
            struct tui_filter f = d->filter;
            char *end;
            long v = app->prompt_len ? strtol(app->prompt, &end, 10) : -1;
            if (app->prompt_len && (*end || v < 0)) {
                tui_data_msg(d, 1, "'%s' is not a number of characters", app->prompt);
                app->overlay = TUI_OV_FILTER;
                return;
            }
            if (app->prompt_kind == TUI_PROMPT_MIN_LEN)
                f.min_chars = v;
            else
                f.max_chars = v;
            tui_data_set_filter(d, &f);
            app->overlay = TUI_OV_FILTER;
        }
        return;
    }
    if (is_key || ch < 0x20)
        return;
    char mb[8];
    int n = wctomb(mb, (wchar_t)ch);
    if (n > 0 && app->prompt_len + (size_t)n < sizeof app->prompt - 1) {
        memcpy(app->prompt + app->prompt_len, mb, (size_t)n);
        app->prompt_len += (size_t)n;
        app->prompt[app->prompt_len] = '\0';
    }
}

static void open_prompt(struct tui_app *app, int kind)
{
    app->overlay = TUI_OV_PROMPT;
    app->prompt_kind = kind;
    app->prompt_len = 0;
    app->prompt[0] = '\0';
}

static void filter_key(struct tui_app *app, int ch)
{
    struct tui_data *d = &app->data;
    struct tui_filter f = d->filter;
    switch (ch) {
    case 27: case '\n': case '\r': case 'q': case 'F':
        app->overlay = TUI_OV_NONE;
        return;
    case '<': open_prompt(app, TUI_PROMPT_MIN_LEN); return;
    case '>': open_prompt(app, TUI_PROMPT_MAX_LEN); return;
    case 'b':
        open_prompt(app, TUI_PROMPT_SCORE_BELOW);
        return;
    case 'S':
        f.suggested = !f.suggested;
        break;
    case 'c':
        f.status = TUI_SF_ALL;
        f.need_flags = 0;
        f.min_chars = f.max_chars = -1;
        f.score_below = -1;
        f.suggested = 0;
        break;
    default: {
        size_t i = 0;
        while (i < BZ_ARRAY_SIZE(filter_flags) && filter_flags[i].key != ch)
            i++;
        if (i < BZ_ARRAY_SIZE(filter_flags))
            f.need_flags ^= filter_flags[i].flag;
        else if (ch >= '0' && ch < '0' + TUI_SF__COUNT)
            f.status = ch - '0';
        else
            return;
    }
    }
    tui_data_set_filter(d, &f);
}

static void bulk_key(struct tui_app *app, int ch)
{
    int op = -1;
    switch (ch) {
    case 'a': op = DS_OP_ACCEPT; break;
    case 'x': op = DS_OP_REJECT; break;
    case 'f': op = DS_OP_FLAG; break;
    case 'r': op = DS_OP_RESET; break;
    default: app->overlay = TUI_OV_NONE; return;
    }
    size_t n = tui_data_bulk_count(&app->data);
    snprintf(app->question, sizeof app->question, "%s %zu %s? [y/N] ", ds_op_name(op), n,
             app->data.n_marked ? "marked records" : "records shown by the filter");
    app->question[0] = (char)(app->question[0] - 'a' + 'A');
    app->confirm_op = op;
    app->overlay = TUI_OV_CONFIRM;
}

/* ---------------------------------------------------------------- input */

static void handle_mouse(struct tui_app *app)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    if (ev.bstate & BUTTON4_PRESSED)
        tui_view_data_mouse(app, ev.y, ev.x, -1, 0);
#ifdef BUTTON5_PRESSED
    else if (ev.bstate & BUTTON5_PRESSED)
        tui_view_data_mouse(app, ev.y, ev.x, 1, 0);
#endif
    else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED))
        tui_view_data_mouse(app, ev.y, ev.x, 0, 1);
}

static void handle_key(struct tui_app *app, wint_t ch, int is_key)
{
    struct tui_data *d = &app->data;
    if (is_key && ch == KEY_MOUSE) {
        if (app->view == TUI_VIEW_DATA)
            handle_mouse(app);
        else {
            MEVENT ev;
            getmouse(&ev);
        }
        return;
    }
    if (is_key && ch == KEY_RESIZE)
        return;
    switch (app->overlay) {
    case TUI_OV_PROMPT:
        prompt_key(app, ch, is_key);
        return;
    case TUI_OV_HELP:
        if (ch == 'j' || (is_key && ch == KEY_DOWN))
            app->help_scroll++;
        else if ((ch == 'k' || (is_key && ch == KEY_UP)) && app->help_scroll > 0)
            app->help_scroll--;
        else
            app->overlay = TUI_OV_NONE;
        return;
    case TUI_OV_FILTER:
        if (!is_key)
            filter_key(app, (int)ch);
        return;
    case TUI_OV_BULK:
        bulk_key(app, is_key ? 0 : (int)ch);
        return;
    case TUI_OV_FORM:
        tui_view_train_form_key(app, (int)ch);
        return;
    case TUI_OV_GEN:
        tui_view_data_gen_key(app, (int)ch);
        return;
    case TUI_OV_SIMILAR:
        app->overlay = TUI_OV_NONE;
        return;
    case TUI_OV_QUIT:
        app->overlay = TUI_OV_NONE;
        if (!is_key && ch == 'k') {
            app->quit = 1;
        } else if (!is_key && ch == 's') {
            for (size_t i = 0; i < app->jobs.n; i++)
                if (app->jobs.v[i]->pid)
                    tui_job_stop(app->jobs.v[i], NULL);
            app->quit = 1;
        }
        return;
    case TUI_OV_CONFIRM:
        app->overlay = TUI_OV_NONE;
        if (!is_key && (ch == 'y' || ch == 'Y'))
            tui_data_bulk(d, app->confirm_op);
        else
            tui_data_msg(d, 0, "canceled");
        return;
    default:
        break;
    }
    if (!is_key && ch == 27) {
        d->msg[0] = '\0';
        if (app->view == TUI_VIEW_JUDGE)
            tui_view_judge_key(app, TUI_A_JUDGE_BACK);
        return;
    }
    int key = (int)ch;
    int action = tui_keys_action(app->view, key);
    d->msg[0] = d->search_dir ? d->msg[0] : '\0';
    switch (action) {
    case TUI_A_QUIT:
        if (tui_jobs_running(&app->jobs))
            app->overlay = TUI_OV_QUIT;
        else
            app->quit = 1;
        break;
    case TUI_A_VIEW_DATA: app->view = TUI_VIEW_DATA; break;
    case TUI_A_VIEW_TRAIN: app->view = TUI_VIEW_TRAIN; break;
    case TUI_A_VIEW_COMPARE:
        /* from the Train view, a finished run is what gets compared */
        if (app->view == TUI_VIEW_TRAIN && app->train.sel < app->jobs.n &&
            app->jobs.v[app->train.sel]->run.state == TUI_RUN_DONE)
            tui_view_compare_want_run(app, app->jobs.v[app->train.sel]->run.dir);
        app->view = TUI_VIEW_COMPARE;
        break;
    case TUI_A_VIEW_JUDGE: app->view = TUI_VIEW_JUDGE; break;
    case TUI_A_CMP_TYPE: open_prompt(app, TUI_PROMPT_COMPARE); break;
    case TUI_A_NEXT_VIEW: app->view = (app->view + 1) % TUI_VIEW__COUNT; break;
    case TUI_A_HELP: app->overlay = TUI_OV_HELP; app->help_scroll = 0; break;
    case TUI_A_SEARCH: open_prompt(app, TUI_PROMPT_SEARCH); break;
    case TUI_A_FILTER: app->overlay = TUI_OV_FILTER; break;
    case TUI_A_PREMARK:
        open_prompt(app, TUI_PROMPT_PREMARK);
        break;
    case TUI_A_BULK:
        if (tui_data_bulk_count(d) == 0)
            tui_data_msg(d, 0, "nothing to apply a bulk decision to");
        else
            app->overlay = TUI_OV_BULK;
        break;
    case TUI_A_REDRAW: clearok(curscr, TRUE); break;
    case TUI_A_NONE:
        if (key > 0)
            tui_data_msg(d, 0, "no action on this key (? shows the keys)");
        break;
    default:
        if (app->view == TUI_VIEW_TRAIN)
            tui_view_train_key(app, action);
        else if (app->view == TUI_VIEW_COMPARE)
            tui_view_compare_key(app, action);
        else if (app->view == TUI_VIEW_JUDGE)
            tui_view_judge_key(app, action);
        else
            tui_view_data_key(app, action);
        break;
    }
}

static void on_input(uv_poll_t *h, int status, int events)
{
    struct tui_app *app = h->data;
    wint_t ch;
    int rc;
    while ((rc = get_wch(&ch)) != ERR) {
        handle_key(app, ch, rc == KEY_CODE_YES);
        if (app->quit)
            break;
    }
    if (app->quit)
        uv_stop(&the_loop->loop);
    tui_app_dirty(app);
}

static void resize(struct tui_app *app)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    app->rows = LINES;
    app->cols = COLS;
    clearok(curscr, TRUE);
    tui_app_dirty(app);
}

static void on_winch(uv_signal_t *s, int sig)
{
    resize(s->data);
}

static void on_term(uv_signal_t *s, int sig)
{
    struct tui_app *app = s->data;
    app->quit = 1;
    uv_stop(&the_loop->loop);
}

/* Follows background indexing and runs search steps; fast while either is busy. */
static void on_tick(uv_timer_t *t)
{
    struct tui_app *app = t->data;
    struct tui_data *d = &app->data;
    struct ds_progress p;
    ds_progress(d->ds, &p);
    static struct ds_progress last;
    static const struct ds_dataset *last_ds; /* a reopened file ends where the old one did */
    if (memcmp(&p, &last, sizeof p) != 0 || d->ds != last_ds) {
        last = p;
        last_ds = d->ds;
        tui_app_dirty(app);
    }
    if (tui_jobs_poll(&app->jobs))
        tui_app_dirty(app);
    tui_view_train_tick(app);
    tui_view_data_tick(app);
    /* the dataset file may grow (a generation job, anyone appending): a stat every
     * half second, a refresh only when its size changed */
    static double last_follow;
    if (bz_now() - last_follow >= 0.5) {
        last_follow = bz_now();
        if (tui_data_follow(d) != 0)
            tui_app_dirty(app);
    }
    if (d->search_dir) {
        double t0 = bz_now();
        while (d->search_dir && bz_now() - t0 < 0.008)
            tui_data_search_step(d, 64, app->list_rows);
        tui_app_dirty(app);
    }
    uint64_t next = d->search_dir ? 1 : (p.finished && !tui_jobs_running(&app->jobs) ? 250 : 100);
    uv_timer_start(t, on_tick, next, 0);
}

/* ---------------------------------------------------------------- external programs */

int tui_app_run_external(struct tui_app *app, char *const argv[])
{
    def_prog_mode();
    endwin();
    pid_t pid = fork();
    if (pid < 0) {
        reset_prog_mode();
        return -errno;
    }
    if (pid == 0) {
        signal(SIGWINCH, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "bezoar: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    reset_prog_mode();
    resize(app);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---------------------------------------------------------------- main */

int tui_app_open_dataset(struct tui_app *app, const char *path)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.format = DS_FMT_UNKNOWN, .background = 1};
    int rc = ds_open(&ds, path, &o, &err);
    if (rc != 0) {
        tui_data_msg(&app->data, 1, "%s", bz_err_msg(&err, rc));
        return rc;
    }
    struct ds_dataset *old = app->data.ds;
    tui_data_cleanup(&app->data);
    tui_data_init(&app->data, ds);
    ds_close(old);
    free(app->dataset_path);
    app->dataset_path = bz_strdup(path);
    tui_view_data_search_changed();
    return 0;
}

static void setup_colors(struct tui_app *app)
{
    const char *nc = getenv("NO_COLOR");
    app->color = has_colors() && !(nc && *nc);
    if (!app->color)
        return;
    start_color();
    use_default_colors();
    init_pair(TUI_C_HEADER, COLOR_BLACK, COLOR_CYAN);
    init_pair(TUI_C_ACCEPTED, COLOR_GREEN, -1);
    init_pair(TUI_C_REJECTED, COLOR_RED, -1);
    init_pair(TUI_C_FLAGGED, COLOR_YELLOW, -1);
    init_pair(TUI_C_BAD, COLOR_MAGENTA, -1);
    init_pair(TUI_C_MATCH, COLOR_BLACK, COLOR_YELLOW);
    init_pair(TUI_C_DIM, COLOR_BLUE, -1);
    init_pair(TUI_C_USER, COLOR_CYAN, -1);
    init_pair(TUI_C_ASSISTANT, COLOR_GREEN, -1);
    init_pair(TUI_C_SYSTEM, COLOR_MAGENTA, -1);
    init_pair(TUI_C_ERROR, COLOR_RED, -1);
}

static void on_job_change(void *arg)
{
    tui_app_dirty(arg);
}

static void close_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int tui_app_main(const char *dataset)
{
    struct tui_app_opts o = {.dataset = dataset};
    return tui_app_run(&o);
}

int tui_app_run(const struct tui_app_opts *opts)
{
    const char *dataset = opts->dataset;
    char *demo = NULL;
    if (!dataset) {
        demo = bz_path_join(tui_assets_dir(), "demo/pairs.jsonl");
        dataset = demo;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        int code = tui_cmd_fail(TUI_EXIT_USAGE, "the workbench needs a terminal (use the "
                                "verbs, e.g. 'bezoar data stats %s', from scripts)", dataset);
        free(demo);
        return code;
    }
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts dso = {.format = DS_FMT_UNKNOWN, .background = 1};
    int rc = ds_open(&ds, dataset, &dso, &err);
    if (rc != 0) {
        free(demo);
        return tui_cmd_fail_err(&err, rc);
    }
    struct tui_app app;
    struct app_loop lp;
    memset(&app, 0, sizeof app);
    memset(&lp, 0, sizeof lp);
    the_app = &app;
    the_loop = &lp;
    app.dataset_path = bz_strdup(dataset);
    tui_data_init(&app.data, ds);
    if (ds_journal_torn(ds))
        tui_data_msg(&app.data, 1, "the journal had %zu torn line(s) from a crash; ignored",
                     ds_journal_torn(ds));

    initscr();
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(0);
    setup_colors(&app);
    app.rows = LINES;
    app.cols = COLS;

    uv_loop_init(&lp.loop);
    app.loop = &lp.loop;
    uv_async_init(&lp.loop, &lp.wake, on_wake);
    lp.wake.data = &app;
    tui_jobs_init(&app.jobs, &lp.loop, "runs", on_job_change, &app);
    tui_jobs_scan(&app.jobs);
    tui_view_train_init(&app);
    app.view = opts->view;
    if (opts->model) {
        app.cmp.model = bz_strdup(opts->model);
        app.cmp.lora = opts->lora ? bz_strdup(opts->lora) : NULL;
        app.cmp.tmpl = opts->tmpl ? bz_strdup(opts->tmpl) : NULL;
    }
    if (opts->judge)
        app.cmp.judge = bz_strdup(opts->judge);
    if (opts->questions) {
        struct bz_err qerr = {0};
        if (tui_view_compare_load_questions(&app, opts->questions, &qerr) != 0)
            tui_data_msg(&app.data, 1, "%s", qerr.msg);
    }
    uv_poll_init(&lp.loop, &lp.input, STDIN_FILENO);
    lp.input.data = &app;
    uv_poll_start(&lp.input, UV_READABLE, on_input);
    uv_signal_init(&lp.loop, &lp.winch);
    lp.winch.data = &app;
    uv_signal_start(&lp.winch, on_winch, SIGWINCH);
    uv_signal_init(&lp.loop, &lp.term);
    lp.term.data = &app;
    uv_signal_start(&lp.term, on_term, SIGTERM);
    uv_signal_init(&lp.loop, &lp.hup);
    lp.hup.data = &app;
    uv_signal_start(&lp.hup, on_term, SIGHUP);
    uv_timer_init(&lp.loop, &lp.frame);
    lp.frame.data = &app;
    uv_timer_init(&lp.loop, &lp.tick);
    lp.tick.data = &app;
    uv_timer_start(&lp.tick, on_tick, 0, 0);

    draw(&app);
    uv_run(&lp.loop, UV_RUN_DEFAULT);

    tui_view_compare_cleanup(&app); /* joins the generation threads before the loop goes */
    tui_view_judge_cleanup(&app);
    tui_view_data_cleanup(&app);
    tui_jobs_detach(&app.jobs);
    uv_walk(&lp.loop, close_cb, NULL);
    uv_run(&lp.loop, UV_RUN_DEFAULT);
    uv_loop_close(&lp.loop);
    endwin();
    the_loop = NULL;
    struct ds_counts c;
    ds = app.data.ds; /* the view may have switched to another file (a generation copy) */
    ds_counts(ds, &c);
    printf("bezoar: %s: %zu accepted, %zu rejected, %zu flagged, %zu pending, %zu bad\n",
           app.dataset_path, c.accepted, c.rejected, c.flagged, c.pending, c.bad);
    size_t still = tui_jobs_running(&app.jobs);
    if (still)
        printf("bezoar: %zu job(s) still running; reopen the workbench to follow them\n", still);
    tui_jobs_cleanup(&app.jobs);
    tui_data_cleanup(&app.data);
    ds_close(ds);
    free(app.dataset_path);
    free(demo);
    return 0;
}
