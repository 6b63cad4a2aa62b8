/*
 * generate.h: synthetic instruction pairs by three schemes, as a library that builds
 * requests and consumes texts; the caller runs the requests on whatever backend it has
 * (`bezoar generate` wires in judge/backend.h; the tests feed canned texts).
 *
 *   lamini  LaMini-style: a prompt showing a few seed instructions asks for new ones
 *           (strategy "example"), a prompt naming a topic asks for instructions about
 *           it ("topic"); the list in the answer is parsed, deduplicated against the
 *           seeds and everything written before, then each instruction is answered.
 *   evol    Evol-Instruct: a seed instruction is rewritten in depth ("add-constraints",
 *           "deepen", "concretize", "more-reasoning", "complicate-input") or in breadth
 *           ("breadth"); failed evolutions are dropped (counted per reason), the others
 *           answered. A seed's k-th evolution rewrites its latest evolved instruction,
 *           so the generation number grows along the chain.
 *   orca    Orca-style: the seed tasks answered under system messages that ask for
 *           step-by-step explanations (one prompt file each, picked per seed
 *           deterministically); the system message stays in the pair.
 *
 * Key ideas: every unit of work has a deterministic key "SCHEME/SEED/STRATEGY/K" (a
 * LaMini unit's pairs add "/J", the item of the list); the output file is the only
 * state: on start its keys are read back and done units are skipped, a torn last line
 * is cut back to the last newline; each pair is one JSON line appended with one write
 * and an fsync as soon as it is complete, so a follower (the Data view) sees it at once
 * and a killed run resumes to exactly N pairs without a duplicate key.
 *
 * Left out: multi-turn generation, response-side filtering (the dataset filters flag
 * refusals and loops in the pairs later), prompts in other languages.
 */
#ifndef DS_GENERATE_H
#define DS_GENERATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

enum ds_generate_scheme { DS_GENERATE_LAMINI, DS_GENERATE_EVOL, DS_GENERATE_ORCA };
const char *ds_generate_scheme_name(int scheme); /* "lamini", "evol", "orca" */
int ds_generate_scheme_parse(const char *name);  /* DS_GENERATE_*, or -1 */

/* Evol-Instruct strategies, in the order of their prompt files. */
enum ds_generate_evol {
    DS_GENERATE_EVOL_CONSTRAINTS,
    DS_GENERATE_EVOL_DEEPEN,
    DS_GENERATE_EVOL_CONCRETIZE,
    DS_GENERATE_EVOL_REASONING,
    DS_GENERATE_EVOL_INPUT,
    DS_GENERATE_EVOL_BREADTH,
    DS_GENERATE_EVOL_N
};
const char *ds_generate_evol_name(int strategy); /* "add-constraints", ..., "breadth" */

/* Why an evolved instruction was dropped (the "dropped" event's reason). */
enum ds_generate_drop {
    DS_GENERATE_OK = 0,
    DS_GENERATE_DROP_EMPTY,          /* nothing left after cleaning */
    DS_GENERATE_DROP_SHORT,          /* fewer than 3 words */
    DS_GENERATE_DROP_UNCHANGED,      /* the same instruction after normalising */
    DS_GENERATE_DROP_COPIED,         /* the prompt (a line of the template) copied back */
    DS_GENERATE_DROP_MARKERS,        /* template markers left ("{instruction}", "#Given ...#") */
    DS_GENERATE_DROP_REFUSAL,        /* a refusal as ds_record_flags sees it */
    DS_GENERATE_DROP_DUPLICATE,      /* an instruction already seeded or written */
    DS_GENERATE_DROP_NO_ITEMS,       /* LaMini: no usable instruction in the answer */
    DS_GENERATE_DROP_EMPTY_RESPONSE, /* the response was empty */
    DS_GENERATE_DROP_N
};
const char *ds_generate_drop_name(int reason); /* "unchanged", "copied-prompt", ... */

/* ---------------------------------------------------------------- inputs */

struct ds_generate_seed {
    char *id;          /* the record's "id", else "s" + 16 hex digits of its text's hash */
    char *instruction; /* instruction, with the input appended after a blank line */
    size_t line;       /* 1-based line in the seeds file */
};
struct ds_generate_seeds {
    struct ds_generate_seed *v;
    size_t n;
};
/* Load seed tasks, one JSON object per line: {"id"?, "instruction", "input"?} or any
 * record ds_parse_record reads (its first user message is the task). Blank lines and
 * lines starting with '#' are skipped. A bad line is an error "FILE:LINE: what"; so
 * are a duplicate id and a file without seeds. Free with ds_generate_seeds_cleanup. */
int ds_generate_seeds_load(struct ds_generate_seeds *s, const char *path, struct bz_err *err);
void ds_generate_seeds_cleanup(struct ds_generate_seeds *s);

/* Topics for LaMini's topic-guided strategy: one per line, '#' lines and blank lines
 * skipped. *out is an array of *n strings (caller frees each and the array). */
int ds_generate_topics_load(char ***out, size_t *n, const char *path, struct bz_err *err);

/* The prompt templates, one file each in a directory (assets/prompts/):
 *   lamini-example.txt  {examples} (a numbered list of seed instructions), {count}
 *   lamini-topic.txt    {topic}, {count}
 *   evol-<strategy>.txt {instruction}, one per ds_generate_evol_name
 *   orca-system-*.txt   Orca system messages (at least one), sorted by file name; the
 *                       strategy of a pair is the file name without ".txt"
 * A missing file or placeholder is an error naming the file. Trailing whitespace of
 * each file is dropped. */
struct ds_generate_prompts {
    char *lamini_example, *lamini_topic;
    char *evol[DS_GENERATE_EVOL_N];
    char **orca;      /* n_orca system messages */
    char **orca_name; /* their strategy names */
    size_t n_orca;
};
int ds_generate_prompts_load(struct ds_generate_prompts *p, const char *dir, struct bz_err *err);
void ds_generate_prompts_cleanup(struct ds_generate_prompts *p);

/* ---------------------------------------------------------------- the pieces
 * Public so that the tests check each one without a backend. */

/* tmpl with each "{name}" of names[0..n) replaced by vals[i]; other braces stay.
 * Caller frees. */
char *ds_generate_fill(const char *tmpl, const char *const *names, const char *const *vals,
                       size_t n);
/* The LaMini example-guided prompt: the seeds idx[0..n) as "1. ...\n2. ...", count
 * asked. Caller frees. */
char *ds_generate_lamini_prompt(const struct ds_generate_prompts *p,
                                const struct ds_generate_seeds *s, const size_t *idx, size_t n,
                                int count);
/* Which seeds show as examples for unit k of seed i: i first, then up to m-1 others
 * picked by a hash of (seed id, k), no repeats. Returns how many were put in idx. */
size_t ds_generate_lamini_examples(const struct ds_generate_seeds *s, size_t i, int k, size_t m,
                                   size_t *idx);

/* Parse the instructions out of a model's answer: numbered lines ("1. x", "2) x") or
 * bullets ("- x", "* x") when there are any (continuation lines join their item),
 * else every non-empty line of 3 or more words that does not end with ':'. Quotes and
 * labels ("Instruction:") are stripped; items of fewer than 3 words are dropped. At
 * most max items. Returns the count; items[i] are caller-freed. */
size_t ds_generate_parse_list(const char *text, char **items, size_t max);

/* Whitespace collapsed, ASCII case folded, trailing punctuation trimmed: the form
 * instructions are compared in. Caller frees. */
char *ds_generate_norm(const char *s);

/* Clean an evolved instruction (surrounding whitespace and quotes, a leading label
 * such as "#Rewritten Instruction#:" or "New instruction:") and check it against the
 * instruction it came from and the template that asked for it. Returns
 * DS_GENERATE_OK with *out set (caller frees), or the drop reason (*out NULL). */
int ds_generate_evol_check(const char *evolved, const char *orig, const char *tmpl, char **out);

/* The unit key "SCHEME/SEED/STRATEGY/K". Caller frees. */
char *ds_generate_key(int scheme, const char *seed_id, const char *strategy, int k);
/* The unit a pair key belongs to (a LaMini pair key loses its "/J"). Caller frees. */
char *ds_generate_unit_of(const char *pair_key);

/* ---------------------------------------------------------------- the output file */

/* What an output file holds already. */
struct ds_generate_done;
/* Read what path holds (created when missing, mode 0644): a last line without '\n'
 * (what a killed writer leaves) is cut back to the last newline (*torn gets the bytes
 * cut, 0 when none), then every line is read: pairs with a meta.key count as done (per
 * scheme), their first user messages go into the duplicate check. A line that is not a
 * JSON object is skipped and counted in *bad (the file is not rewritten). Returns 0 or a
 * negative code; free *out with ds_generate_done_free. */
int ds_generate_done_open(struct ds_generate_done **out, const char *path, size_t *torn,
                          size_t *bad, struct bz_err *err);
void ds_generate_done_free(struct ds_generate_done *d);
/* Pairs of scheme in the file; whether unit_key (or a pair key) is done; whether an
 * instruction is known (compared by ds_generate_norm). */
size_t ds_generate_done_count(const struct ds_generate_done *d, int scheme);
int ds_generate_done_has(const struct ds_generate_done *d, const char *key);
int ds_generate_done_known(const struct ds_generate_done *d, const char *instruction);

/* ---------------------------------------------------------------- running */

struct ds_generate_sampling {
    double temperature;
    double top_p;
    int max_tokens;
    uint64_t seed; /* the run's seed; each request's seed derives from it and its key */
};

enum ds_generate_stage { DS_GENERATE_STAGE_INSTRUCTION, DS_GENERATE_STAGE_RESPONSE };

/* One request for the caller to run. Everything is borrowed for the call. */
struct ds_generate_req {
    int stage;          /* enum ds_generate_stage */
    const char *key;    /* the unit's key */
    const char *system; /* NULL: no system message */
    const char *user;
    const struct ds_generate_sampling *s;
    uint64_t seed; /* this request's sampling seed (< 2^31) */
};
/* Run req; the whole answer goes to text (initialised, empty). Return 0, or a negative
 * code with the words in err. Called from `parallel` threads at once. */
typedef int (*ds_generate_complete_fn)(void *ctx, const struct ds_generate_req *req,
                                       struct bz_buf *text, struct bz_err *err);

enum ds_generate_ev { DS_GENERATE_EV_PAIR, DS_GENERATE_EV_DROPPED, DS_GENERATE_EV_ERROR };
struct ds_generate_event {
    int type;        /* enum ds_generate_ev */
    const char *key; /* the pair's key (PAIR) or the unit's */
    const char *id;  /* PAIR: the record id */
    const char *strategy;
    int generation;         /* PAIR: 1 for LaMini and Orca, >= 1 along an Evol chain */
    int reason;             /* DROPPED: enum ds_generate_drop */
    const char *message;    /* ERROR: the request's error */
    size_t done, total;     /* pairs of the scheme in the file now, the target */
    size_t dropped, errors; /* so far in this run */
};
/* Called once per event, never from two threads at once (the run holds its lock). */
typedef void (*ds_generate_event_fn)(void *ctx, const struct ds_generate_event *ev);

struct ds_generate_opts {
    int scheme;
    const char *out; /* the output file (JSON lines, OpenAI chat format) */
    size_t n;        /* target: pairs of this scheme in out */
    int parallel;    /* units in flight (threads); 1: on the caller's thread */
    struct ds_generate_sampling s;
    const char *backend; /* provenance: the backend spec and model name */
    const char *model;
    int count;     /* LaMini: instructions asked for per request (default 5) */
    int max_units; /* units tried at most in this run (<= 0: 4 * missing + 16) */
};

struct ds_generate_stats {
    size_t existing; /* pairs of the scheme in out before the run */
    size_t written, dropped, errors, requests, units;
    size_t dropped_by[DS_GENERATE_DROP_N];
    size_t torn;      /* bytes of a torn last line cut off */
    size_t bad_lines; /* lines of out that were not JSON (kept, skipped) */
    int exhausted;    /* every unit the seeds allow was tried */
};

/* Generate until out holds o->n pairs of o->scheme (never more), the unit budget is
 * spent, or the seeds are exhausted (Orca: one unit per seed and system message).
 * Requests go to complete(cctx, ...); events to ev(ectx, ...) (may be NULL). *cancel
 * (may be NULL) stops after the units in flight. topics may be NULL/0 (LaMini then
 * uses examples only). Returns 0 (stats say how far it got), or a negative code: the
 * output cannot be opened or written, or every request failed (err: the first error). */
int ds_generate_run(const struct ds_generate_opts *o, const struct ds_generate_seeds *seeds,
                    char *const *topics, size_t n_topics, const struct ds_generate_prompts *p,
                    ds_generate_complete_fn complete, void *cctx, ds_generate_event_fn ev,
                    void *ectx, volatile sig_atomic_t *cancel, struct ds_generate_stats *st,
                    struct bz_err *err);

#endif
