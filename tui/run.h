/*
 * run.h: a training run as the TUI knows it: the state built from the worker's
 * JSON-lines events (start, progress, step, eval, checkpoint, done, error), fed
 * either from a child's stdout or by following runs/NAME/events.jsonl. The TUI
 * draws only from this. No curses, no libuv: tests feed it lines.
 *
 * DPO runs add reward series (margin, accuracy) from their step and eval events. A
 * recipe run (`bezoar train --recipe`: "recipe", "stage", "recipe_done" events in
 * RUN/events.jsonl) holds its stages, each an ordinary run of RUN/NN-name followed
 * along with it.
 */
#ifndef TUI_RUN_H
#define TUI_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "core/bz.h"
#include "tui/canvas.h"

enum tui_run_state {
    TUI_RUN_NEW = 0,   /* no event yet */
    TUI_RUN_RUNNING,
    TUI_RUN_DONE,
    TUI_RUN_FAILED,
    TUI_RUN_STOPPED,   /* ended without done/error (SIGTERM, killed); resumable */
};
const char *tui_run_state_name(int st);

struct tui_ckpt {
    long step;
    char *path;
};

struct tui_run {
    char *dir;                 /* runs/NAME */
    char *name;
    int state;
    /* from the start event */
    char *model, *data;
    long total_steps;
    /* the latest step event */
    long step;
    double epoch, loss, lr, grad_norm, tokens_per_s, elapsed_s, eta_s;
    /* the current phase ("tokenize", "train", "eval", "save") and its progress */
    char phase[24];
    long phase_done, phase_total;
    /* series for the charts: x = step */
    struct tui_point *loss_pts, *eval_pts, *lr_pts, *gnorm_pts;
    size_t n_loss, n_eval, n_lr, n_gnorm;
    size_t cap_loss, cap_eval, cap_lr, cap_gnorm;
    /* overfitting watch: evaluations in a row whose loss rose, and the best one */
    int eval_rising;
    double best_eval;
    long best_eval_step;
    /* DPO: the method from the start event ("sft" when it names none), the latest
     * rewards, and series of margin and accuracy per step and per eval */
    char method[8];
    double beta, reward_margin, reward_accuracy, eval_margin, eval_accuracy;
    struct tui_point *margin_pts, *acc_pts, *emargin_pts, *eacc_pts;
    size_t n_margin, n_acc, n_emargin, n_eacc;
    size_t cap_margin, cap_acc, cap_emargin, cap_eacc;
    struct tui_ckpt *ckpts;
    size_t n_ckpts;
    /* a recipe run: its name, stage count, the stages seen so far (stages[i] is stage
     * i + 1, a run of DIR/NN-name; NULL dir when not announced yet) and the current one */
    int is_recipe;
    char *recipe_name, *recipe_file;
    struct tui_run *stages;
    int n_stages, cur_stage;
    int view_stage;            /* the stage the Train view shows ([ / ]); -1: the current */
    char *adapter;             /* from the done event, else DIR/adapter when present */
    char *error;               /* the error event's message, or why the worker failed */
    size_t invalid_lines;      /* lines that were not JSON events */
    /* following events.jsonl */
    long follow_off;
    char *partial;
};

void tui_run_init(struct tui_run *r, const char *dir);
void tui_run_cleanup(struct tui_run *r);
/* Feed one line (no newline). Invalid JSON or an unknown shape counts in
 * invalid_lines and returns BZ_EPARSE with the first bytes in err. */
int tui_run_feed(struct tui_run *r, const char *line, size_t n, struct bz_err *err);
/* Read what was appended to DIR/FILE since the last call (whole lines only): the
 * worker's captured stdout (worker.out) for jobs the TUI started, else the
 * events.jsonl the worker keeps. Returns the number of lines fed. */
int tui_run_follow(struct tui_run *r, const char *file, struct bz_err *err);
/* The run whose numbers to draw: the current stage of a recipe (the last one that
 * has started), else r itself. Borrowed. */
const struct tui_run *tui_run_shown(const struct tui_run *r);
/* Show the stage before (step -1) or after (+1) the one shown; past the current stage
 * the view follows the current one again. Returns 0 when there is no such stage. */
int tui_run_view_stage(struct tui_run *r, int step);
/* Exponential moving average of the loss series into out (n_loss points). */
void tui_run_smooth(const struct tui_run *r, double alpha, struct tui_point *out);

#endif
