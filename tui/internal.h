/*
 * internal.h: declarations shared by the TUI's files: the application state, the
 * view interface, the key table and the data view's state (which makes no curses
 * calls, so tests drive it headless).
 */
#ifndef TUI_INTERNAL_H
#define TUI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "tui/compare.h"
#include "tui/job.h"
#include "tui/text.h"

/* ---------------------------------------------------------------- actions and keys */

enum tui_action {
    TUI_A_NONE = 0,
    TUI_A_QUIT,
    TUI_A_HELP,
    TUI_A_UP,
    TUI_A_DOWN,
    TUI_A_PGUP,
    TUI_A_PGDN,
    TUI_A_TOP,
    TUI_A_BOTTOM,
    TUI_A_ACCEPT,
    TUI_A_REJECT,
    TUI_A_FLAG,
    TUI_A_RESET,
    TUI_A_SKIP,
    TUI_A_UNDO,
    TUI_A_REDO,
    TUI_A_EDIT,
    TUI_A_SHOW_ORIG,
    TUI_A_REVERT,
    TUI_A_SEARCH,
    TUI_A_NEXT_MATCH,
    TUI_A_PREV_MATCH,
    TUI_A_FILTER,
    TUI_A_MARK,
    TUI_A_MARK_ALL,
    TUI_A_UNMARK_ALL,
    TUI_A_BULK,
    TUI_A_DETAIL_DOWN,
    TUI_A_DETAIL_UP,
    TUI_A_REDRAW,
    TUI_A_VIEW_DATA,
    TUI_A_VIEW_TRAIN,
    TUI_A_NEXT_VIEW,
    TUI_A_NEW_RUN,
    TUI_A_STOP_RUN,
    TUI_A_SAVE_NOW,
    TUI_A_RESUME_RUN,
    TUI_A_SMOOTH_MORE,
    TUI_A_SMOOTH_LESS,
    TUI_A_VIEW_COMPARE,
    TUI_A_CMP_RUN,
    TUI_A_CMP_PREV,
    TUI_A_CMP_NEXT,
    TUI_A_CMP_TYPE,
    TUI_A_VOTE_A,
    TUI_A_VOTE_B,
    TUI_A_VOTE_TIE,
    TUI_A_VOTE_BAD,
    TUI_A_CMP_BLIND,
    TUI_A_CMP_SYNC,
    TUI_A_CMP_FOCUS_A,
    TUI_A_CMP_FOCUS_B,
    TUI_A_CMP_SIMILAR,
    TUI_A_CMP_JUDGE,
    TUI_A_VIEW_JUDGE,
    TUI_A_JUDGE_TOGGLE,
    TUI_A_JUDGE_OPEN,
    TUI_A_JUDGE_BACK,
    TUI_A_JUDGE_RELOAD,
    TUI_A_JUDGE_CAT_PREV,
    TUI_A_JUDGE_CAT_NEXT,
    TUI_A_JUDGE_ANSWER,
    TUI_A_JUDGE_GRADE,
    TUI_A_GENERATE,
    TUI_A_GEN_STOP,
    TUI_A_SORT_SCORE,
    TUI_A_PREMARK,
    TUI_A_STAGE_PREV,
    TUI_A_STAGE_NEXT,
    TUI_A_RUN_FILTER,
    TUI_A_RUN_SCORE,
    TUI_A__COUNT
};

/* One binding: key (a curses key code or character) -> action, with its help text.
 * The same table drives dispatch and the `?` overlay. */
enum tui_view {
    TUI_VIEW_DATA = 0, TUI_VIEW_TRAIN, TUI_VIEW_COMPARE, TUI_VIEW_JUDGE, TUI_VIEW__COUNT
};
#define TUI_V_DATA (1u << TUI_VIEW_DATA)
#define TUI_V_TRAIN (1u << TUI_VIEW_TRAIN)
#define TUI_V_COMPARE (1u << TUI_VIEW_COMPARE)
#define TUI_V_JUDGE (1u << TUI_VIEW_JUDGE)
#define TUI_V_ALL 0xFFu

struct tui_binding {
    unsigned views;  /* TUI_V_* where the binding applies */
    int key;
    int action;
    const char *keyname;
    const char *help;
};
extern const struct tui_binding tui_bindings[];
extern const size_t tui_n_bindings;
int tui_keys_action(int view, int key);

/* ---------------------------------------------------------------- data view state */

enum tui_status_filter {
    TUI_SF_ALL = 0, TUI_SF_PENDING, TUI_SF_ACCEPTED, TUI_SF_REJECTED, TUI_SF_FLAGGED, TUI_SF_BAD,
    TUI_SF__COUNT
};

struct tui_filter {
    int status;            /* enum tui_status_filter */
    unsigned need_flags;   /* rows must have all of these DS_F_* flags */
    long min_chars;        /* response length range, -1 = open */
    long max_chars;
    double score_below;    /* rows with a score < this; < 0 = off (unscored rows drop) */
    int suggested;         /* rows with a suggested reject (from `bezoar data filter`) */
};

enum tui_sort { TUI_SORT_FILE = 0, TUI_SORT_SCORE_UP, TUI_SORT_SCORE_DOWN, TUI_SORT__COUNT };

/* A parsed row, cached for drawing. */
struct tui_row {
    size_t index;          /* record index; SIZE_MAX = empty slot */
    char *id;
    char *title;           /* first line of the instruction */
    char *error;           /* for bad rows: the parse error */
    size_t prompt_chars, response_chars;
    unsigned flags;
    int has_score;
    double score;          /* the judge's latest score, when has_score */
    int sugg_op;           /* suggested DS_OP_*, or -1 */
};

#define TUI_ROW_CACHE 256

struct tui_data {
    struct ds_dataset *ds;
    /* The visible list: all records (view == NULL) or the filtered indices. */
    struct tui_filter filter;
    size_t *view;          /* filtered record indices, or NULL when unfiltered */
    size_t n_view;
    size_t view_analysed;  /* analysis count the filtered view was built from */
    size_t sel;            /* position in the visible list */
    size_t top;            /* first visible list position */
    int detail_scroll;     /* first detail line shown */
    int show_orig;         /* detail shows the original of an edited record */
    uint8_t *marks;        /* one bit per record */
    size_t marks_cap;      /* bytes */
    size_t n_marked;
    /* search */
    void *re;              /* pcre2_code *, or NULL */
    char *pattern;
    int search_dir;        /* +1 / -1 while a search is running, 0 idle */
    size_t search_pos;     /* next visible position to test */
    size_t search_left;    /* positions left to test */
    size_t search_origin;
    /* scores and suggestions per record index (NAN / -1 when none), filled up to
     * n_meta when a sort, filter or pre-mark needs them */
    double *score;
    signed char *sugg;
    size_t n_meta, cap_meta;
    int sort;              /* enum tui_sort */
    /* following the file as it grows: its size at the last look, and the last
     * refusal (followed again only once the size changes) */
    long long follow_size;
    int follow_failed;
    size_t follow_added;   /* records added by refreshes since open */
    /* last message for the status line */
    char msg[256];
    int msg_error;
    struct tui_row cache[TUI_ROW_CACHE];
};

void tui_data_init(struct tui_data *d, struct ds_dataset *ds);
void tui_data_cleanup(struct tui_data *d);
/* Visible rows and the record index at a visible position. */
size_t tui_data_count(struct tui_data *d);
size_t tui_data_record(struct tui_data *d, size_t pos);
/* The parsed row at a visible position (cached; borrowed until the next call that
 * invalidates the cache: decisions, edits, filter changes). */
const struct tui_row *tui_data_row(struct tui_data *d, size_t pos);
void tui_data_invalidate(struct tui_data *d, size_t index);
/* Move the selection by delta (clamped); keep it on screen for a list of rows rows. */
void tui_data_move(struct tui_data *d, long delta, int rows);
void tui_data_goto(struct tui_data *d, size_t pos, int rows);
/* Decide the selected record (op: DS_OP_*), then move to the next pending row. */
int tui_data_decide(struct tui_data *d, int op, int rows);
int tui_data_skip(struct tui_data *d, int rows);
int tui_data_undo(struct tui_data *d, int redo, int rows);
/* Marks. */
void tui_data_toggle_mark(struct tui_data *d);
int tui_data_is_marked(struct tui_data *d, size_t index);
void tui_data_mark_all(struct tui_data *d, int on);
/* Bulk: the records a bulk action applies to (marked rows, else the whole visible
 * list) and the decision itself. */
size_t tui_data_bulk_count(struct tui_data *d);
int tui_data_bulk(struct tui_data *d, int op);
/* Filters: set and rebuild; refresh rebuilds when the analysis advanced. */
void tui_data_set_filter(struct tui_data *d, const struct tui_filter *f);
void tui_data_refresh(struct tui_data *d);
const char *tui_data_filter_desc(const struct tui_data *d, char *buf, size_t n);
/* Search: compile pattern (PCRE2, caseless unless it has upper case) and start
 * scanning in dir; tui_data_search_step scans up to budget rows and returns 1 while
 * more work remains. */
int tui_data_search_start(struct tui_data *d, const char *pattern, int dir);
int tui_data_search_step(struct tui_data *d, size_t budget, int rows);
/* Match ranges of the current pattern in text: fills up to max (off,len) pairs. */
size_t tui_data_matches(struct tui_data *d, const char *text, size_t n, size_t *offs,
                        size_t *lens, size_t max);
void tui_data_msg(struct tui_data *d, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Follow the file: when its size changed since the last call (and the index is
 * finished), ds_refresh it, fill what the view keeps for the new records and rebuild a
 * filtered or sorted list keeping the selection and the marks. Returns the number of
 * new records, 0, or a negative code (said in the message once, not again until the
 * size changes). */
int tui_data_follow(struct tui_data *d);
/* Sort order (enum tui_sort): by score up or down puts unscored records last. */
void tui_data_set_sort(struct tui_data *d, int sort);
/* Mark every pending record whose score is below `below` (< 0: no score test) or
 * that has a suggested reject. Returns the number marked; *n_score / *n_sugg (may be
 * NULL) get how many for each reason. */
size_t tui_data_premark(struct tui_data *d, double below, size_t *n_score, size_t *n_sugg);
/* Whether any record has a score (the list then shows a score column). */
int tui_data_has_scores(struct tui_data *d);
/* The latest score of id (judge, rationale borrowed until the next call) and its
 * suggestion (why borrowed likewise): 1 when there is one, else 0. */
int tui_data_score_info(struct tui_data *d, const char *id, double *score, const char **judge,
                        const char **rationale);
int tui_data_suggestion_info(struct tui_data *d, const char *id, int *op, const char **why);


/* ---------------------------------------------------------------- train view state */

enum tui_form_field {
    TUI_FF_MODEL, TUI_FF_STATUS, TUI_FF_NAME, TUI_FF_TEMPLATE, TUI_FF_TARGETS, TUI_FF_RANK,
    TUI_FF_ALPHA, TUI_FF_DROPOUT, TUI_FF_LR, TUI_FF_EPOCHS, TUI_FF_BATCH, TUI_FF_SEQ,
    TUI_FF_EVAL_SPLIT, TUI_FF_SAVE_EVERY, TUI_FF_SEED, TUI_FF_METHOD, TUI_FF_INIT,
    TUI_FF_BETA, TUI_FF__COUNT
};

struct tui_train {
    size_t sel;             /* selected job */
    double smooth;          /* EMA weight for the smoothed loss line, 0..0.99 */
    int form_field;         /* selected form field; TUI_FF__COUNT = the Start button */
    char form[TUI_FF__COUNT][256];
    /* what the form knows about its inputs (refreshed when the model changes) */
    char form_model_seen[256];
    char form_model_info[256];
    double model_params;    /* parameters, 0 when the model could not be read */
    int model_ctx, model_dim;
    size_t pairs, est_tokens, p95_chars;
    double sgemm_gflops;    /* measured once, for the time estimate */
    int alert_dismissed;    /* overfitting alert acknowledged for this many rises */
};

/* ---------------------------------------------------------------- compare view state */

struct tui_question {
    char *id, *category, *turn1;
};

struct tui_cmp {
    int opened;               /* 1 open, -1 failed (why in error) */
    char error[300];
    struct tui_compare c;
    /* where prompts come from: a question set when loaded, else the dataset */
    struct tui_question *questions;
    size_t n_questions, q_sel;
    int blind_next;           /* blind mode for the next comparison */
    int sync;                 /* scroll both columns together */
    int focus;                /* 0 A, 1 B: the column J/K scroll when not synced */
    int scroll[2];
    unsigned long diff_seq;   /* the comparison the diff marks belong to */
    unsigned char *marks[2];
    size_t marks_len[2];
    /* similar pairs overlay */
    char similar[8][200];
    int n_similar;
    /* what to open: from `bezoar compare`, else the run chosen in the Train view, else
     * the newest finished run */
    char *model, *lora, *tmpl;
    char *want_run;           /* a run directory the Train view asked to compare */
    char *judge;              /* the judge backend spec (--judge, else $BEZOAR_JUDGE) */
};

/* ---------------------------------------------------------------- judge view state */

struct judge_summary;
struct judge_judgments;

struct tui_judge {
    int loaded;               /* 1 loaded, -1 nothing to show (why in error) */
    char error[300];
    char *dir;                /* where judgment files are looked for ("judgments") */
    char **files;
    size_t n_files;
    struct judge_judgments *j;
    struct judge_summary *sum;
    unsigned char show[64];   /* models drawn on the radar */
    size_t sel_model;
    int level;                /* 0 overview, 1 a category's rows, 2 one row's judgment */
    int cat;                  /* the category drilled into */
    size_t *rows;             /* indices of single rows in that category */
    size_t grades_seen;       /* finished grading jobs already reloaded */
    size_t n_rows, sel_row;
    int scroll;
};

/* ---------------------------------------------------------------- the application */

enum tui_overlay {
    TUI_OV_NONE = 0,
    TUI_OV_HELP,
    TUI_OV_PROMPT,   /* a line of input at the bottom (search, numbers) */
    TUI_OV_CONFIRM,  /* y/N question */
    TUI_OV_FILTER,   /* the filter menu */
    TUI_OV_BULK,     /* choose the bulk decision */
    TUI_OV_FORM,     /* the new-run form (Train view) */
    TUI_OV_QUIT,     /* quit while jobs run: keep them or stop them */
    TUI_OV_SIMILAR,  /* accepted training pairs most like the compared prompt */
    TUI_OV_GEN,      /* the generation form (Data view) */
};

enum tui_prompt_kind {
    TUI_PROMPT_SEARCH, TUI_PROMPT_MIN_LEN, TUI_PROMPT_MAX_LEN, TUI_PROMPT_FIELD, TUI_PROMPT_COMPARE,
    TUI_PROMPT_SCORE_BELOW, TUI_PROMPT_PREMARK, TUI_PROMPT_GEN_FIELD
};

/* The generation form of the Data view and the job it started. */
enum tui_gen_field { TUI_GF_SCHEME, TUI_GF_SEEDS, TUI_GF_BACKEND, TUI_GF_N, TUI_GF__COUNT };
struct tui_gen {
    int field;              /* selected field; TUI_GF__COUNT = the Start button */
    char form[TUI_GF__COUNT][512];
    char *job_dir;          /* runs/gen-... of the job started from here, or NULL */
    size_t start_count;     /* records when it started */
    int stop_requested;     /* 's' was pressed: its "stopped short" exit is no failure */
    /* a filter or score job started here (runs/filter-* or runs/score-*): when it ends
     * the dataset is opened again, so the suggestions and scores it wrote show */
    char *aux_dir;
    int aux_reloaded;
};

struct tui_app {
    void *loop;             /* uv_loop_t * (kept opaque for files without uv.h) */
    int rows, cols;
    int dirty;
    int quit;
    int color;              /* colours on (NO_COLOR unset and the terminal has them) */
    double last_draw;       /* bz_now() of the last frame */
    double last_draw_ms;    /* how long the last frame took */
    int overlay;            /* enum tui_overlay */
    int prompt_kind;
    char prompt[512];       /* input text (UTF-8) */
    size_t prompt_len;
    char question[256];     /* TUI_OV_CONFIRM text */
    int confirm_op;         /* the bulk op waiting for y */
    int help_scroll;
    /* layout of the data view, set when drawn (mouse hit tests use it) */
    int list_y, list_rows, detail_y, detail_rows;
    struct tui_data data;
    char *dataset_path;
    int view;               /* enum tui_view */
    struct tui_jobs jobs;
    struct tui_train train;
    struct tui_cmp cmp;
    struct tui_judge judge;
    struct tui_gen gen;
};

void tui_app_dirty(struct tui_app *app);
/* Leave curses, run argv (no shell), come back. Returns the exit status or -errno. */
int tui_app_run_external(struct tui_app *app, char *const argv[]);

/* The data view. */
void tui_view_data_draw(struct tui_app *app);
void tui_view_data_key(struct tui_app *app, int action);
void tui_view_data_mouse(struct tui_app *app, int y, int x, int wheel, int click);
void tui_view_data_edit(struct tui_app *app);
/* The generation form and its job (view-data.c). */
void tui_view_data_gen_draw(struct tui_app *app);
void tui_view_data_gen_key(struct tui_app *app, int ch);
void tui_view_data_gen_set(struct tui_app *app, const char *value);
void tui_view_data_cleanup(struct tui_app *app);
/* Open another dataset in the Data view (the current one is closed when this one
 * opens). Returns 0 or a negative code with the reason in the message line. */
int tui_app_open_dataset(struct tui_app *app, const char *path);

/* Colour pairs (app.c sets them up when colours are on). */
enum tui_color {
    TUI_C_HEADER = 1, TUI_C_ACCEPTED, TUI_C_REJECTED, TUI_C_FLAGGED, TUI_C_BAD, TUI_C_MATCH,
    TUI_C_DIM, TUI_C_USER, TUI_C_ASSISTANT, TUI_C_SYSTEM, TUI_C_ERROR,
};
void tui_view_data_search_changed(void);

/* The train view. */
void tui_view_train_init(struct tui_app *app);
void tui_view_train_draw(struct tui_app *app);
void tui_view_train_key(struct tui_app *app, int action);
void tui_view_train_form_draw(struct tui_app *app);
void tui_view_train_form_key(struct tui_app *app, int ch);
void tui_view_train_form_set(struct tui_app *app, const char *value);
/* Start the resumes that waited for their stopping worker to exit. */
void tui_view_train_tick(struct tui_app *app);
/* A filter or score job started from the Data view ended: open the file again. */
void tui_view_data_tick(struct tui_app *app);
/* The compare view. */
void tui_view_compare_draw(struct tui_app *app);
void tui_view_compare_key(struct tui_app *app, int action);
void tui_view_compare_enter(struct tui_app *app);
void tui_view_compare_prompt(struct tui_app *app, const char *text);
void tui_view_compare_similar_draw(struct tui_app *app);
void tui_view_compare_cleanup(struct tui_app *app);
/* Compare this run (its model without and with its adapter) when the view opens next. */
void tui_view_compare_want_run(struct tui_app *app, const char *run_dir);
/* The model, adapter and template to compare (caller frees); BZ_ENOTFOUND when none. */
int tui_view_compare_pick(struct tui_app *app, char **model, char **lora, char **tmpl);
int tui_view_compare_load_questions(struct tui_app *app, const char *path, struct bz_err *err);
/* The judge view. */
void tui_view_judge_draw(struct tui_app *app);
void tui_view_judge_key(struct tui_app *app, int action);
void tui_view_judge_cleanup(struct tui_app *app);

/* Wake the loop from another thread (generation): thread-safe. */
void tui_app_wake(void *app);

/* Common header line: the view tabs and a title. */
void tui_draw_header(struct tui_app *app, const char *title);

#endif
