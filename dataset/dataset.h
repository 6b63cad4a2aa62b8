/*
 * dataset.h: instruction pairs. Import/export formats, the record model, the
 * background line index over an mmap'd file, and the append-only decision journal.
 *
 * Key ideas:
 * - The source file is never written. It is mmap'd (a .gz is first inflated to an
 *   unlinked temp file) and indexed in the background: record byte ranges first
 *   (fast, ~GB/s), then an analysis pass that parses each record once and keeps a
 *   small summary (id hash, content hash, lengths, rule flags). Records are parsed
 *   again in full only when shown, filtered or exported.
 * - Every record is a conversation (messages with roles) with a stable id: its own
 *   "id" field if it has one, else the hash of its canonical content.
 * - Decisions live in DATASET.bezoar/journal, one JSON line each, fsync'd before
 *   ds_decide returns; replayed on open; a torn last line is ignored and reported.
 *
 * Threads: one background indexing thread per open dataset. Every function here may
 * be called from the owning thread while indexing runs; ds_get, ds_status and
 * ds_summary are also safe from other threads (a search worker).
 *
 * Left out: writing the source file, ever.
 */
#ifndef DS_DATASET_H
#define DS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

/* ---------------------------------------------------------------- formats */

enum ds_format {
    DS_FMT_UNKNOWN = 0,   /* detect */
    DS_FMT_ALPACA,        /* instruction, input, output[, system] */
    DS_FMT_SHAREGPT,      /* conversations: [{from, value}] */
    DS_FMT_OPENAI,        /* messages: [{role, content}] */
    DS_FMT_SELFINSTRUCT,  /* instruction + instances: [{input, output}], one pair per instance */
    DS_FMT_PREF_LF,       /* LLaMA-Factory: conversations + chosen/rejected {from, value} */
    DS_FMT_PREF_HH,       /* HH-RLHF: chosen/rejected transcripts (\n\nHuman: / \n\nAssistant:) */
    DS_FMT_PREF_OPENAI,   /* input.messages, preferred_output, non_preferred_output */
    DS_FMT_PREF_TRL,      /* prompt, chosen, rejected (strings) */
    DS_FMT_COUNT
};
const char *ds_format_name(int fmt);          /* "alpaca", "sharegpt", ... */
int ds_format_parse(const char *name);        /* DS_FMT_*, or -1 when unknown */

enum ds_role { DS_ROLE_SYSTEM, DS_ROLE_USER, DS_ROLE_ASSISTANT };
const char *ds_role_name(int role);

struct ds_msg {
    int role;       /* enum ds_role */
    char *content;  /* UTF-8, NUL-terminated, owned by the record */
};

enum ds_status { DS_PENDING = 0, DS_ACCEPTED, DS_REJECTED, DS_FLAGGED };
const char *ds_status_name(int st);

/* Rule flags, computed by the analysis pass (and by ds_record_flags on a record). */
enum ds_flag {
    DS_F_BAD = 1 << 0,        /* the record could not be parsed */
    DS_F_DUP = 1 << 1,        /* exact duplicate of an earlier record (normalized) */
    DS_F_EMPTY = 1 << 2,      /* empty or whitespace-only response */
    DS_F_REFUSAL = 1 << 3,    /* "as an AI language model"-style answer */
    DS_F_REPEAT = 1 << 4,     /* repetition loop in the response */
    DS_F_LONG = 1 << 5,       /* response longer than the long limit */
    DS_F_EDITED = 1 << 6,     /* an edit from the journal applies */
    DS_F_PREF = 1 << 7,       /* a preference pair (chosen/rejected) */
    DS_F_SHORT = 1 << 8,      /* response shorter than the short limit */
    DS_F_ECHO = 1 << 9,       /* the response repeats the instruction */
    DS_F_LANG = 1 << 10,      /* response language differs from the instruction's */
    DS_F_CTRL = 1 << 11,      /* invalid UTF-8 or control characters */
    DS_F_NEARDUP = 1 << 12,   /* near duplicate of another record (set by the filter pass) */
};
#define DS_F_NBITS 13
/* The one-word name of flag bit f ("empty", "refusal", ...) and its one-line
 * explanation; NULL for a bit that is not a flag. */
const char *ds_flag_name(unsigned f);
const char *ds_flag_explain(unsigned f);

/* One record, fully parsed. Caller storage, ds_record_cleanup frees its fields. */
struct ds_record {
    char *id;             /* stable id */
    size_t index;         /* position in the dataset */
    size_t line;          /* 1-based line in the source file where the record starts */
    int format;           /* enum ds_format it was read as */
    struct ds_msg *msgs;  /* the conversation (edits applied) */
    int n_msgs;
    struct ds_msg *orig_msgs; /* before the edit, when DS_F_EDITED; else NULL */
    int n_orig_msgs;
    char *chosen;         /* preference pairs: the chosen and rejected final answers */
    char *rejected;       /* (msgs then holds the prompt turns only); else NULL */
    char *meta_json;      /* free JSON object (scheme, provenance, ...), or NULL */
    int status;           /* enum ds_status from the journal */
    unsigned flags;       /* enum ds_flag */
};
void ds_record_cleanup(struct ds_record *r);
/* The first user message and the last assistant message (or chosen), "" when absent.
 * Borrowed from r. */
const char *ds_record_prompt(const struct ds_record *r);
const char *ds_record_response(const struct ds_record *r);
/* Rule flags of a parsed record under the default rules (assets/filters/rules.json,
 * compiled in; dataset/filter.h configures them): EMPTY, SHORT, LONG, REFUSAL, REPEAT,
 * ECHO, LANG, CTRL, PREF. DUP and NEARDUP need the whole dataset; BAD and EDITED are
 * kept from r->flags. */
unsigned ds_record_flags(const struct ds_record *r);

/* Parse one JSON text (one line or one array element) as format fmt (DS_FMT_UNKNOWN:
 * detect). sub selects the instance for Self-Instruct (0 otherwise). On error the
 * message is "file:line:col: reason" using the given file/line for the place.
 * Returns the number of records the text holds (>= 1), or a negative code. */
int ds_parse_record(const char *json, size_t len, int fmt, int sub, const char *file,
                    size_t line, struct ds_record *out, struct bz_err *err);

/* ---------------------------------------------------------------- datasets */

struct ds_dataset;

struct ds_open_opts {
    int format;        /* DS_FMT_UNKNOWN: detect from the first records */
    int background;    /* 1: index in a thread, ds_open returns at once */
    int read_only;     /* 1: do not create DATASET.bezoar/ (stats, export) */
};

/* Open path. Missing, directory, empty, binary: refused with a clear message. */
int ds_open(struct ds_dataset **out, const char *path, const struct ds_open_opts *opts,
            struct bz_err *err);
void ds_close(struct ds_dataset *ds);
const char *ds_path(const struct ds_dataset *ds);
int ds_detected_format(const struct ds_dataset *ds);

struct ds_progress {
    uint64_t bytes_done, bytes_total;  /* index pass */
    size_t analysed;                   /* records summarised by the analysis pass */
    size_t records;                    /* records indexed so far */
    int indexed;                       /* the index pass is complete */
    int finished;                      /* both passes are complete */
};
void ds_progress(struct ds_dataset *ds, struct ds_progress *p);
/* Block until indexing (both passes) has finished. Returns its result. */
int ds_wait(struct ds_dataset *ds, struct bz_err *err);
/* Records indexed so far (grows while indexing runs). */
size_t ds_count(struct ds_dataset *ds);

/* Parse record i in full (edits applied, status filled). A bad record returns
 * BZ_EPARSE with "file:line:col: reason" in err, rec->flags = DS_F_BAD, rec->line
 * set and rec->id = "bad:LINE" (not decidable). rec is always safe to clean up.
 * Records without an own id that are exact duplicates share their content-hash id,
 * so a decision on one decides all of them (the counts count every record). */
int ds_get(struct ds_dataset *ds, size_t i, struct ds_record *rec, struct bz_err *err);

/* The analysis summary of record i; returns 1 when filled, 0 when not analysed yet.
 * flags carry the rules (DUP included) plus DS_F_EDITED when the journal has an edit;
 * status comes from the journal at the time of the call. */
struct ds_summary {
    uint64_t id_hash;
    uint32_t prompt_chars, response_chars;
    unsigned flags;
    int status;
};
int ds_summary(struct ds_dataset *ds, size_t i, struct ds_summary *out);

struct ds_counts {
    size_t records, bad, accepted, rejected, flagged, pending;
    size_t duplicates, empty;
};
/* Counts over the records; while the analysis pass runs, records it has not reached
 * yet count as pending. Any thread. */
void ds_counts(struct ds_dataset *ds, struct ds_counts *c);

/* Bad lines found so far (by the analysis pass): the i-th as "file:line:col: reason".
 * Only the first 1000 messages are kept (NULL beyond), the count is exact. Borrowed
 * until ds_close. */
size_t ds_bad_count(struct ds_dataset *ds);
const char *ds_bad_message(struct ds_dataset *ds, size_t i);

/* ---------------------------------------------------------------- decisions */

enum ds_op { DS_OP_ACCEPT, DS_OP_REJECT, DS_OP_FLAG, DS_OP_RESET, DS_OP_EDIT };
const char *ds_op_name(int op);
int ds_op_parse(const char *name);

/* Decide record ids[0..n) with op in one journal write (one fsync). When this
 * returns 0 the decision is durable. Edits use ds_edit. Pushes one undo step.
 * Owner thread only. Ids are not checked against the records (the CLI does that);
 * a read-only dataset refuses with BZ_EUNSUPPORTED. */
int ds_decide(struct ds_dataset *ds, const char *const *ids, size_t n, int op,
              struct bz_err *err);
/* Replace the messages of record id (the original stays in the source file; ds_get
 * then gives it in orig_msgs). For a preference pair the edit replaces the prompt
 * turns; chosen and rejected stay as they are. An edit keeps the status. */
int ds_edit(struct ds_dataset *ds, const char *id, const struct ds_msg *msgs, int n_msgs,
            struct bz_err *err);
/* Undo / redo the last decision step (any depth); each writes new journal lines
 * (restoring the previous or the new states, with "undo"/"redo" naming the step), and
 * replay on open rebuilds both stacks, so undo continues across sessions.
 * Returns 1 when a step was undone/redone, 0 when there was nothing to do. The ids
 * affected are reported through first_id (borrowed, may be NULL). */
int ds_undo(struct ds_dataset *ds, const char **first_id, struct bz_err *err);
int ds_redo(struct ds_dataset *ds, const char **first_id, struct bz_err *err);
/* Drop the edit of record id (back to the source text), as a new undoable step. */
int ds_revert_edit(struct ds_dataset *ds, const char *id, struct bz_err *err);
/* Depth of the undo and redo stacks (for the TUI's hints). */
size_t ds_undo_depth(struct ds_dataset *ds);
size_t ds_redo_depth(struct ds_dataset *ds);
/* Status of an id from the journal state (DS_PENDING when undecided). */
int ds_status(struct ds_dataset *ds, const char *id);
/* Lines skipped while replaying the journal (torn tail), for a warning. */
size_t ds_journal_torn(struct ds_dataset *ds);

/* Index the records appended to the source file since it was opened or last
 * refreshed (a generator appends while the Data view shows the file). Only whole
 * lines are taken; a torn last line waits for the next call. A file that shrank or
 * whose indexed bytes changed is refused (BZ_ECORRUPT, the message naming the file);
 * a .gz source is BZ_EUNSUPPORTED. Returns the number of new records (>= 0) or a
 * negative code. Owner thread; call after ds_wait or when ds_progress says finished. */
int ds_refresh(struct ds_dataset *ds, struct bz_err *err);

/* ---------------------------------------------------------------- suggestions
 * What the automatic filters propose, never a decision: journal lines
 *   {"t":..,"g":..,"n":..,"id":"abc","op":"suggest","suggest":"reject","why":"refusal"}
 * replayed on open. A suggestion stays until replaced or cleared (op DS_OP_RESET);
 * it does not change the status. The person confirms suggestions with ds_decide. */
int ds_suggest(struct ds_dataset *ds, const char *const *ids, size_t n, int op,
               const char *why, struct bz_err *err);
/* 1 with the suggested op (DS_OP_REJECT, DS_OP_FLAG, DS_OP_ACCEPT) and its reason
 * (borrowed until the next journal write or ds_close) when id has one, else 0. */
int ds_suggestion(struct ds_dataset *ds, const char *id, int *op, const char **why);
size_t ds_suggestion_count(struct ds_dataset *ds);
/* The same by the id's hash (ds_summary's id_hash): no record parsed, for sorting and
 * filtering many rows. */
int ds_suggestion_hash(struct ds_dataset *ds, uint64_t id_hash, int *op);

/* ---------------------------------------------------------------- scores
 * Judge-as-proxy ratings in DATASET.bezoar/scores.jsonl, one JSON line each
 *   {"t":..,"id":"abc","judge":"openai:...#m","score":7,"rationale":"..."}
 * appended and fsync'd; replayed on open, the last line of an id wins, a torn or bad
 * line is skipped and counted. */
int ds_score_set(struct ds_dataset *ds, const char *id, const char *judge, double score,
                 const char *rationale, struct bz_err *err);
/* 1 with the latest score of id (judge and rationale borrowed until the next
 * ds_score_set or ds_close; either pointer may be NULL), 0 when id has none. */
int ds_score_get(struct ds_dataset *ds, const char *id, double *score, const char **judge,
                 const char **rationale);
size_t ds_score_count(struct ds_dataset *ds);
/* The latest score by the id's hash (ds_summary's id_hash), no record parsed. */
int ds_score_get_hash(struct ds_dataset *ds, uint64_t id_hash, double *score);

/* ---------------------------------------------------------------- export, stats */

enum ds_out_format { DS_OUT_ALPACA, DS_OUT_SHAREGPT, DS_OUT_OPENAI };
int ds_out_format_parse(const char *name);

/* Status mask: bit (1 << DS_*) per status; DS_ALL_STATUSES for all. */
#define DS_ALL_STATUSES 0xF
/* A comma list of status names or "all" ("accepted,flagged") as a mask; BZ_EUSAGE with
 * the unknown word named, or for an empty list. */
int ds_status_mask_parse(const char *s, unsigned *mask, struct bz_err *err);

/* Write the records whose status is in mask to path (tmp + fsync + rename), edits
 * applied, each with its id, each id once. jsonl=0 writes a JSON array. *written gets
 * the count. */
int ds_export(struct ds_dataset *ds, const char *path, unsigned status_mask, int out_format,
              int jsonl, size_t *written, struct bz_err *err);

/* ds_export with more choices: with_source adds "source": {file, line, format} and the
 * record's "meta" to each record (what `bezoar data import` writes). Records that share
 * an id (exact copies without an own id, which one decision decides) are written once
 * unless keep_copies; *copies (may be NULL) gets how many were left out. */
struct ds_export_opts {
    unsigned status_mask;
    int out_format;   /* enum ds_out_format */
    int jsonl;
    int with_source;
    int keep_copies;
    size_t *copies;
};
int ds_export_ex(struct ds_dataset *ds, const char *path, const struct ds_export_opts *opts,
                 size_t *written, struct bz_err *err);

struct ds_stats {
    struct ds_counts counts;
    size_t per_format[DS_FMT_COUNT];
    size_t exact_duplicates, empty_responses, refusals;
    /* response length percentiles in characters: p50, p90, p99, max */
    size_t resp_p50, resp_p90, resp_p99, resp_max;
    size_t prompt_p50, prompt_p90, prompt_p99, prompt_max;
};
int ds_stats(struct ds_dataset *ds, struct ds_stats *st, struct bz_err *err);

/* ---------------------------------------------------------------- votes */

/* A vote from the Compare view: which of two answers to one prompt is better. Kept in
 * DATASET.bezoar/votes.jsonl, one JSON line each, appended and fsync'd (votes.c). */
enum ds_vote_choice { DS_VOTE_A = 0, DS_VOTE_B, DS_VOTE_TIE, DS_VOTE_BOTH_BAD };
const char *ds_vote_name(int v);
struct ds_vote {
    const char *prompt_id;  /* the record or question the prompt came from, or NULL */
    const char *prompt;
    const char *model;
    const char *label[2];   /* sides a and b as generated (never shuffled) */
    const char *adapter[2]; /* NULL for the base model */
    const char *text[2];
    int vote;               /* enum ds_vote_choice, on the un-shuffled sides */
    int blind;
};
int ds_vote_append(const char *path, const struct ds_vote *v, struct bz_err *err);
/* Write the decisive votes (a or b) of votes_path as preference pairs, one JSON line
 * each {"id", "prompt", "chosen", "rejected"} (TRL / LLaMA-Factory style), tmp +
 * fsync + rename. Ties and both-bad votes are counted in *skipped, as are torn or bad
 * lines (reported through bad_first, the first such place, when not NULL). */
int ds_votes_export(const char *votes_path, const char *out, size_t *written, size_t *skipped,
                    struct bz_err *err);

#endif
