/*
 * filter.h: the automatic filters of a dataset: the rule configuration (defaults
 * compiled in from assets/filters/rules.json and refusals-*.txt, overridable by a
 * rules file), the filter pass (rule flags, exact and near-duplicate groups, written
 * to the journal as suggestions or decisions), near-duplicate detection (MinHash over
 * word or character shingles with LSH bands, neardup.c), and the judge-as-proxy score
 * helpers (rubric prompt, strict verdict parsing, scores.c).
 *
 * Key idea: every flag is one cheap pass over the record's text, explainable in one
 * line (ds_flag_explain) and tunable in rules.json; the analysis pass of every open
 * dataset uses the compiled-in defaults, `bezoar data filter --rules FILE` its own.
 *
 * Left out: model-based language identification (scripts only), fuzzy refusal
 * matching (phrases only).
 */
#ifndef DS_FILTER_H
#define DS_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"

/* ---------------------------------------------------------------- rules (rules.c) */

enum ds_shingle { DS_SHINGLE_AUTO = 0, DS_SHINGLE_WORD, DS_SHINGLE_CHAR };
enum ds_keep { DS_KEEP_FIRST = 0, DS_KEEP_LONGEST };

struct ds__phrases; /* the refusal phrases with their search index (rules.c) */

/* A rule configuration. The numbers may be changed after loading; the phrase and
 * skip lists only through a rules file (ds_rules_parse). */
struct ds_rules {
    unsigned enabled;            /* DS_F_* bits that are on ("flags") */
    size_t short_chars;          /* response under this many code points: SHORT */
    size_t long_chars;           /* response over this many code points: LONG */
    size_t long_prompt_chars;    /* instruction over this many: LONG (0: off) */
    size_t refusal_window;       /* bytes of the response searched for refusals */
    int repeat_min_tokens, repeat_min_count, repeat_max_period;
    size_t echo_min_chars;
    double echo_share;
    size_t lang_min_letters;
    char **lang_skip;            /* lowercased; an instruction containing one: no LANG */
    size_t n_lang_skip;
    double near_threshold;       /* estimated Jaccard for near duplicates */
    int shingle;                 /* enum ds_shingle */
    int keep;                    /* enum ds_keep */
    struct ds__phrases *refusals;
};

/* The compiled-in defaults (assets/filters/rules.json with the lists); built once,
 * thread-safe, never freed. */
const struct ds_rules *ds_rules_default(void);
/* Rules = the defaults overridden by the keys of the JSON object json (name is used
 * in messages). Unknown keys, wrong types and out-of-range values are refused with
 * "NAME: key: what". Free with ds_rules_free. */
int ds_rules_parse(struct ds_rules **out, const char *json, size_t len, const char *name,
                   struct bz_err *err);
int ds_rules_load(struct ds_rules **out, const char *path, struct bz_err *err);
void ds_rules_free(struct ds_rules *r);
/* Number of refusal phrases in r. */
size_t ds_rules_refusal_count(const struct ds_rules *r);
/* The rule flags of a parsed record under r: EMPTY, SHORT, LONG, REFUSAL, REPEAT,
 * ECHO, LANG, CTRL (those enabled) and PREF. Thread-safe. */
unsigned ds_rules_flags(const struct ds_rules *r, const struct ds_record *rec);
/* The flag bit named name ("refusal"), or 0. */
unsigned ds_flag_parse(const char *name);

/* ---------------------------------------------------------------- near duplicates */

struct ds_neardup_opts {
    double threshold;  /* estimated Jaccard at or above which two texts are near dups */
    int shingle;       /* enum ds_shingle; AUTO: characters when CJK dominates the text */
};

/* Signature size (MinHash values of 16 bits) and the shingle length (words or
 * characters). */
#define DS_NEARDUP_PERM 64
#define DS_NEARDUP_K 3

struct ds_neardup;
int ds_neardup_new(struct ds_neardup **out, const struct ds_neardup_opts *o,
                   struct bz_err *err);
void ds_neardup_free(struct ds_neardup *nd);
/* Add the next text (item number ds_neardup_count() before the call). A text without
 * any shingle (empty, punctuation only) is kept but never grouped. */
void ds_neardup_add(struct ds_neardup *nd, const char *text, size_t len);
size_t ds_neardup_count(const struct ds_neardup *nd);
/* Group the items: LSH bands (chosen from the threshold) give candidate pairs, each
 * verified on the whole signature, joined by union-find. group[i] (caller storage,
 * count() entries) gets the smallest item index of i's group (i itself when alone).
 * *n_groups gets the number of groups with two or more members, *candidates (may be
 * NULL) the candidate pairs that were verified. */
int ds_neardup_groups(struct ds_neardup *nd, uint32_t *group, size_t *n_groups,
                      size_t *candidates, struct bz_err *err);
/* Estimated Jaccard similarity of items a and b (0 when either has no shingle). */
double ds_neardup_similarity(const struct ds_neardup *nd, size_t a, size_t b);
/* The bands and rows used for threshold t. */
void ds_neardup_bands(double t, int *bands, int *rows);
/* Whether text would be shingled by characters under mode shingle. */
int ds_neardup_char_mode(const char *text, size_t len, int shingle);

/* ---------------------------------------------------------------- filter pass */

/* One group of duplicates: record indexes in file order; keep is the one that gets
 * no duplicate flag. */
struct ds_group {
    size_t *idx;
    size_t n;
    size_t keep;
    int near;      /* 0: exact duplicates (normalized text), 1: near duplicates */
};

struct ds_filter_result {
    size_t records, bad;
    size_t per_flag[DS_F_NBITS]; /* records with each flag bit (under the rules) */
    size_t flagged;              /* records with at least one suggested-reject flag */
    struct ds_group *groups;     /* exact groups first, then near groups */
    size_t n_groups, n_exact_groups;
    size_t exact_members, near_members; /* records flagged DUP / NEARDUP */
    size_t candidates;           /* LSH candidate pairs verified */
    unsigned *flags;             /* per record (DS_F_BAD for bad ones) */
    char **ids;                  /* per record id (NULL for bad ones) */
    double seconds;
};

/* The flags that a filter turns into a suggested reject (all but PREF and EDITED). */
#define DS_FILTER_REJECT_MASK (~(unsigned)(DS_F_PREF | DS_F_EDITED))

/* Run the rules over every record of ds (after ds_wait), find exact duplicate groups
 * (normalized content hash, as DS_F_DUP) and, when r enables NEARDUP, near-duplicate
 * groups over instruction + response text. near_threshold < 0 and shingle < 0 take
 * r's values. Free res with ds_filter_result_free. */
int ds_filter_run(struct ds_dataset *ds, const struct ds_rules *r, double near_threshold,
                  int shingle, struct ds_filter_result *res, struct bz_err *err);
void ds_filter_result_free(struct ds_filter_result *res);
/* The flag names of f joined by ',' into out ("refusal,neardup"). */
void ds_filter_why(unsigned f, char *out, size_t cap);
/* What ds_filter_apply wrote. */
struct ds_filter_applied {
    size_t ids;        /* ids suggested (or decided) reject */
    size_t unchanged;  /* ids that already had the same suggestion (not rewritten) */
    size_t cleared;    /* older filter suggestions of ids that are clean now */
    size_t decided;    /* flagged ids left alone: a person decided them already */
    size_t shared;     /* duplicates whose id is the kept record's (no own id) */
    size_t steps;      /* journal steps written */
};

/* Write the result to the journal: decide = 0: one ds_suggest step per reason set
 * (suggest reject, why = the flag names, e.g. "refusal,neardup"), and a reset step
 * for ids whose older filter suggestion (a why made only of flag names) no longer
 * holds; decide = 1: one ds_decide reject step with every flagged id (undoable).
 * Ids a person has decided are left alone. A duplicate that shares its id with the
 * group's kept record (records without their own id are named by content) gets no
 * duplicate reason: it would reject the kept record too. */
int ds_filter_apply(struct ds_dataset *ds, const struct ds_filter_result *res, int decide,
                    struct ds_filter_applied *out, struct bz_err *err);

/* ---------------------------------------------------------------- scores (scores.c) */

/* The rubric prompt for a record: rubric with {instruction} and {response} replaced
 * (a system message, when the record has one, is put before the instruction).
 * Caller frees. */
char *ds_score_prompt(const char *rubric, const struct ds_record *r);
/* Parse a judge's verdict strictly: exactly one rating written "[[N]]" (N a number
 * from 1 to 10, decimals allowed), all its occurrences agreeing. 0 with *score and
 * *rationale (the text without the rating line, trimmed; caller frees) or BZ_EPARSE
 * with the reason in err. */
int ds_score_parse(const char *text, double *score, char **rationale, struct bz_err *err);
/* Lines of scores.jsonl skipped on load (torn or bad). */
size_t ds_score_torn(struct ds_dataset *ds);

#endif
