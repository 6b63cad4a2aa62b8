/*
 * judge.h: MT-Bench-style judging: question sets and reference answers, model
 * answer files, the project's judge prompts, verdict parsing, judgment files and
 * their aggregation (means, spread, pairwise win rates), and radar-chart geometry.
 *
 * Key ideas:
 * - Every file is JSON lines in FastChat's llm_judge layout, so its files load here
 *   and ours load there. A bad line is reported as "FILE:LINE: what", skipped and
 *   counted; the rest still loads.
 * - A verdict that cannot be parsed is kept (score -1 or winner "error", with the
 *   judge's text), counted and shown, never averaged in.
 * - Everything here is headless and single-threaded: the CLI and the TUI draw from
 *   these structs. Model backends (judge/backend.h) do the talking.
 *
 * Left out: drawing (tui/ owns terminals), Elo ratings, category weights.
 */
#ifndef JUDGE_JUDGE_H
#define JUDGE_JUDGE_H

#include <stddef.h>

#include "core/bz.h"
#include "judge/backend.h"

/* ---------------------------------------------------------------- problems */

/* Bad lines met while loading: the first JUDGE_PROBLEMS_KEPT messages are kept,
 * all are counted. */
#define JUDGE_PROBLEMS_KEPT 20
struct judge_problems {
    int count;
    int kept;
    char *msg[JUDGE_PROBLEMS_KEPT]; /* "FILE:LINE: what" */
};
void judge_problems_cleanup(struct judge_problems *p);

/* ---------------------------------------------------------------- questions */

/* The eight MT-Bench categories in FastChat's order (static storage). */
extern const char *const judge_mtbench_categories[8];
/* 1 for the categories graded against a reference answer (math, reasoning, coding). */
int judge_category_needs_ref(const char *category);
/* The sampling temperature MT-Bench answers a category with: 0.7 writing and
 * roleplay, 0.1 stem and humanities, 0 otherwise. */
double judge_category_temperature(const char *category);

struct judge_question {
    int id;            /* question_id */
    char *category;    /* "" when absent */
    char **turns;      /* n_turns user turns */
    int n_turns;
    char **ref;        /* reference answers per turn (NULL entries allowed), or NULL */
    int n_ref;
};

struct judge_questions {
    struct judge_question *q; /* in file order */
    size_t n;
    struct judge_problems bad;
};

void judge_questions_init(struct judge_questions *qs);
void judge_questions_cleanup(struct judge_questions *qs);
/* Append the questions of an MT-Bench question file (question_id, category, turns,
 * optional reference). Bad lines and repeated ids are skipped into qs->bad. Fails
 * only when the file cannot be read. */
int judge_questions_load(struct judge_questions *qs, const char *path, struct bz_err *err);
/* Parse one line (no trailing newline needed); errors are "WHERE: what". */
int judge_question_parse(struct judge_question *q, const char *line, size_t n,
                         const char *where, struct bz_err *err);
void judge_question_cleanup(struct judge_question *q);
/* Attach reference answers from a FastChat reference file (question_id, model_id,
 * choices[0].turns); they replace a question's own "reference". Lines naming an
 * unknown question are counted in qs->bad. */
int judge_questions_load_ref(struct judge_questions *qs, const char *path, struct bz_err *err);
/* The question with that id, or NULL. Borrowed. */
const struct judge_question *judge_questions_find(const struct judge_questions *qs, int id);

/* ---------------------------------------------------------------- answers */

struct judge_answer {
    int question_id;
    char *answer_id;   /* "" when absent */
    char *model_id;
    char **turns;      /* choices[0].turns */
    int n_turns;
    double tstamp;
};

struct judge_answers {
    struct judge_answer *a; /* file order; a later answer to the same (model, question)
                               replaces the earlier one */
    size_t n;
    struct judge_problems bad;
};

void judge_answers_init(struct judge_answers *as);
void judge_answers_cleanup(struct judge_answers *as);
/* Append the answers of a FastChat model_answer file. A missing file is -ENOENT
 * (callers resuming a run treat it as empty). */
int judge_answers_load(struct judge_answers *as, const char *path, struct bz_err *err);
int judge_answer_parse(struct judge_answer *a, const char *line, size_t n, const char *where,
                       struct bz_err *err);
void judge_answer_cleanup(struct judge_answer *a);
/* The answer of model to question id (model NULL: any model), or NULL. Borrowed. */
const struct judge_answer *judge_answers_find(const struct judge_answers *as, const char *model,
                                              int id);
/* Append a as one JSON line (with '\n') in FastChat's layout. */
void judge_answer_to_json(struct bz_buf *b, const struct judge_answer *a);

/* ---------------------------------------------------------------- verdicts */

/* The rating in a single-answer judgment, FastChat's rule: the first "[[N]]", else
 * the first "[N]", N being digits with an optional fraction ("8", "7.5", "9.").
 * Returns the rating, or -1 when there is none or it lies outside 0..10. */
double judge_verdict_rating(const char *text);

enum judge_winner {
    JUDGE_WIN_ERROR = -1, /* no verdict found */
    JUDGE_WIN_A = 0,      /* "[[A]]": the first answer shown */
    JUDGE_WIN_B = 1,      /* "[[B]]" */
    JUDGE_WIN_TIE = 2,    /* "[[C]]" */
};
/* The verdict of a pairwise judgment, FastChat's rule: "[[A]]" anywhere wins over
 * "[[B]]", which wins over "[[C]]"; none of them is JUDGE_WIN_ERROR. */
int judge_verdict_pair(const char *text);

/* ---------------------------------------------------------------- prompts */

enum judge_prompt_type { JUDGE_PROMPT_SINGLE, JUDGE_PROMPT_PAIR };

struct judge_prompt {
    char *name;
    int type;           /* enum judge_prompt_type */
    int ref;            /* uses {ref_answer_1}: for reference-guided categories */
    int multi_turn;     /* judges turn 2 on the whole conversation */
    char *system;       /* system_prompt */
    char *tmpl;         /* prompt_template with {placeholders} */
    char *output_format;/* "[[rating]]" or "[[A]]" */
};

struct judge_prompts {
    struct judge_prompt *p;
    size_t n;
    struct judge_problems bad;
};

void judge_prompts_init(struct judge_prompts *ps);
void judge_prompts_cleanup(struct judge_prompts *ps);
/* Load a judge prompt file: JSON lines {name, type: "single"|"pairwise", system_prompt,
 * prompt_template, output_format}, FastChat's judge_prompts.jsonl layout. Whether a
 * prompt is reference-guided or multi-turn is read from its placeholders. */
int judge_prompts_load(struct judge_prompts *ps, const char *path, struct bz_err *err);
/* The prompt for (type, ref, multi_turn), or NULL. Borrowed. */
const struct judge_prompt *judge_prompts_pick(const struct judge_prompts *ps, int type, int ref,
                                              int multi_turn);

/* Values for a template's placeholders, each NULL when not known. */
struct judge_fill {
    const char *question[2];  /* {question} / {question_1}, {question_2} */
    const char *answer[2];    /* single: {answer} / {answer_1}, {answer_2} */
    const char *answer_a[2];  /* pairwise: {answer_a} / {answer_a_1}, {answer_a_2} */
    const char *answer_b[2];
    const char *ref[2];       /* {ref_answer_1}, {ref_answer_2} */
};
/* Expand tmpl into out: {name} becomes its value, "{{" and "}}" become braces (as
 * Python's str.format does). An unknown or unset placeholder is an error. */
int judge_prompt_fill(const char *tmpl, const struct judge_fill *f, struct bz_buf *out,
                      struct bz_err *err);

/* ---------------------------------------------------------------- judgments */

struct judge_single {
    int question_id;
    int turn;             /* 1 or 2 */
    double score;         /* < 0: the verdict could not be parsed */
    char *model;
    char *judge;          /* judge[0] of FastChat's ["model", "prompt"], or the string */
    char *prompt_name;    /* judge[1], or "" */
    char *category;       /* the row's, else the question file's, else "" */
    char *user_prompt;    /* may be "" (score-only rows) */
    char *judgment;
    double tstamp;
};

/* g1 judged (model_1 as A, model_2 as B); g2 the swapped order. Winners are the
 * names FastChat writes: "model_1", "model_2", "tie", "error". */
enum judge_gwin { JUDGE_G_ERROR = -1, JUDGE_G_MODEL_1 = 1, JUDGE_G_MODEL_2 = 2, JUDGE_G_TIE = 3 };
const char *judge_gwin_name(int g);

struct judge_pair {
    int question_id;
    int turn;
    int g1_winner, g2_winner; /* enum judge_gwin */
    char *model_1, *model_2;
    char *judge, *prompt_name, *category;
    char *g1_user_prompt, *g1_judgment, *g2_user_prompt, *g2_judgment;
    double tstamp;
};

struct judge_judgments {
    struct judge_single *s;
    size_t ns;
    struct judge_pair *p;
    size_t np;
    int replaced;              /* rows that replaced an earlier row with the same key */
    struct judge_problems bad;
};

void judge_judgments_init(struct judge_judgments *j);
void judge_judgments_cleanup(struct judge_judgments *j);
/* Append the rows of a judgment file (single and pairwise rows may mix). A row with
 * the key of an earlier row (single: model, question, turn, judge; pairwise: both
 * models, question, turn, judge) replaces it, so re-graded rows win. */
int judge_judgments_load(struct judge_judgments *j, const char *path, struct bz_err *err);
/* Parse one line into a single or a pairwise row: returns 1 (single, *s set), 2
 * (pairwise, *p set) or a negative code. */
int judge_judgment_parse(const char *line, size_t n, const char *where, struct judge_single *s,
                         struct judge_pair *p, struct bz_err *err);
void judge_single_cleanup(struct judge_single *s);
void judge_pair_cleanup(struct judge_pair *p);
/* Rows whose category is "" take it from the question file. */
void judge_judgments_categorize(struct judge_judgments *j, const struct judge_questions *qs);
/* One JSON line (with '\n') in FastChat's layout plus "category". */
void judge_single_to_json(struct bz_buf *b, const struct judge_single *s);
void judge_pair_to_json(struct bz_buf *b, const struct judge_pair *p);

/* ---------------------------------------------------------------- aggregation */

struct judge_model_stats {
    char *model;
    int n;              /* rows with score >= 0 (both turns) */
    int failed;         /* rows with score < 0 */
    double score;       /* mean of the n rows; NAN when n == 0 */
    double turn1, turn2;/* means per turn; NAN when none */
    int n_turn1, n_turn2;
    double se;          /* standard error of the mean (sample sd / sqrt(n)); NAN when n < 2 */
    double ci_lo, ci_hi;/* bootstrap 95% interval of the mean (seeded); NAN when n == 0 */
    double *cat;        /* per category of the summary (NAN when none) */
    int *cat_n;
};

struct judge_pair_stats {
    char *model_a, *model_b; /* as first met in the rows (model_1, model_2) */
    int win, loss, tie;      /* from model_a's side; a win needs both orders to agree */
    int failed;              /* rows with an "error" in either order (left out) */
    double win_rate;         /* win / (win + loss + tie); NAN when none */
    double win_rate_adj;     /* (win + tie / 2) / (win + loss + tie) */
};

struct judge_summary {
    char **cats;             /* categories: MT-Bench's order first, then others as met */
    size_t n_cats;
    struct judge_model_stats *m; /* models in order of first appearance */
    size_t n_models;
    struct judge_pair_stats *pairs;
    size_t n_pairs;
};

/* Summarise the rows; bootstrap with `resamples` draws from the seed (0 draws: no
 * interval). Categories "" are left out of the per-category means only. */
void judge_summary_build(struct judge_summary *sum, const struct judge_judgments *j,
                         int resamples, unsigned long long seed);
void judge_summary_cleanup(struct judge_summary *sum);
/* Index of a category in sum->cats, or -1. */
int judge_summary_cat(const struct judge_summary *sum, const char *cat);
/* {"models":[{"model","score","turn1","turn2","n","failed","se","ci95":[lo,hi],
 *  "categories":{..}}], "pairs":[..]} with full precision (%.17g), null for NAN. */
void judge_summary_to_json(struct bz_buf *b, const struct judge_summary *sum);

/* ---------------------------------------------------------------- radar geometry */

struct judge_radar_label {
    int col, row;   /* cell where the label text starts */
    int align;      /* -1: text ends at col (left side), 0: centred on col, 1: starts at col */
};

/* A radar chart on a text area of cols x rows cells whose cells hold cdx x cdy dots
 * (braille 2x4, block 1x2, ASCII 1x1); a cell is taken to be twice as tall as wide,
 * so the chart is round. Axis 0 points up, the others follow clockwise. */
struct judge_radar {
    int n_axes;
    int cols, rows, cdx, cdy;
    int label_w;         /* widest label, in columns */
    int canvas_x, canvas_y, canvas_w, canvas_h; /* the dot canvas, in cells */
    double cx, cy;       /* centre, in dots of the canvas */
    double rx, ry;       /* radius of value 10, in dots along x and y */
};

/* Lay out n_axes axes with labels at most label_w columns wide. Fails (BZ_ERANGE)
 * when the area is too small for a chart of radius 3 cells. */
int judge_radar_layout(struct judge_radar *r, int n_axes, int label_w, int cols, int rows,
                       int cdx, int cdy, struct bz_err *err);
/* The dot at value v (clamped to 0..10; NAN gives the centre) on axis k. */
void judge_radar_point(const struct judge_radar *r, int k, double v, int *x, int *y);
/* Where axis k's label goes, in cells of the whole area, for a label len columns wide. */
void judge_radar_label_at(const struct judge_radar *r, int k, int len,
                          struct judge_radar_label *out);

#endif
