/*
 * internal.h: what the files of dataset/ share and nobody else sees: the dataset
 * object, the chunked index arrays, the journal state, and the private helpers of
 * record parsing, rules, scanning and journal replay.
 *
 * Memory model: the indexer thread appends to chunked arrays (fixed chunk table, so
 * a chunk never moves) and publishes the count with a release store; readers load
 * the count with acquire and read only below it. Everything else that is shared
 * (journal state, counts, bad-line messages, the id multiplicity table) is guarded
 * by ds->mu.
 */
#ifndef DS_INTERNAL_H
#define DS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "dataset/dataset.h"

/* ---------------------------------------------------------------- record parsing */

/* Parse like ds_parse_record, with the column of json[0] in its line (1-based) and
 * with_meta = 0 to skip building meta_json (the analysis pass does not need it). */
int ds__parse_at(const char *json, size_t len, int fmt, int sub, const char *file, size_t line,
                 size_t col, int with_meta, struct ds_record *out, struct bz_err *err);
/* Number of Self-Instruct instances in a record text (>= 1), or a negative code. */
int ds__count_instances(const char *json, size_t len);
/* The 16-hex id of a record's canonical content (roles + contents). */
void ds__content_id(const struct ds_record *r, char out[17]);
/* Parse a JSON array of {role, content} into msgs (caller frees with ds__msgs_free). */
int ds__msgs_from_json(const char *json, struct ds_msg **msgs, int *n, struct bz_err *err);
/* Append msgs as a JSON array of {role, content}. */
void ds__msgs_to_json(struct bz_buf *b, const struct ds_msg *msgs, int n);
void ds__msgs_free(struct ds_msg *msgs, int n);
struct ds_msg *ds__msgs_dup(const struct ds_msg *msgs, int n);

/* ---------------------------------------------------------------- rules */

/* Rule flags of a parsed record (DUP and EDITED excluded: they need context). */
unsigned ds__rules_flags(const struct ds_record *r);
/* Hash of the normalized content (case folded ASCII, collapsed whitespace) for
 * exact-duplicate detection. */
uint64_t ds__rules_dup_hash(const struct ds_record *r);
/* Code points in s (invalid bytes count one each). */
size_t ds__utf8_chars(const char *s);

/* ---------------------------------------------------------------- the index */

#define DS__CHUNK_BITS 16
#define DS__CHUNK (1u << DS__CHUNK_BITS)
#define DS__MAX_CHUNKS (1u << 16) /* 4G records */

/* One record's place in the mapped text. Self-Instruct instances share off/len; the
 * instance number is found by walking back to the first entry with the same off. */
struct ds__ent {
    uint64_t off;
    uint32_t len;
    uint32_t line;
};

/* The analysis summary as stored (status is looked up in the journal on read). */
struct ds__sum {
    uint64_t id_hash;
    uint32_t prompt_chars, response_chars;
    uint16_t flags;
    uint8_t format;
    uint8_t pad;
};

enum ds__layout { DS__JSONL, DS__ARRAY, DS__STREAM };

/* Journal state of one id. */
struct ds__jent {
    uint64_t h;
    char *id;
    int status;
    char *edit;   /* JSON array of {role, content}, or NULL */
};

/* One decided id inside an undo step: the state before and after. */
struct ds__change {
    char *id;
    int prev_status, new_status;
    char *prev_edit, *new_edit; /* owned copies, NULL when none */
    int is_edit;                /* the step changed the edit, not the status */
};

struct ds__step {
    uint64_t g; /* journal group number that made it */
    size_t n;
    struct ds__change *ch;
};

struct ds__stack {
    struct ds__step *v;
    size_t n, cap;
};

struct ds_dataset {
    char *path;
    char *jdir, *jpath;
    int read_only;
    int fmt_override;   /* DS_FMT_UNKNOWN: detect per record */
    int fmt_detected;   /* of the first good record */
    int layout;
    int expand_instances; /* Self-Instruct: one entry per instance */

    /* the text: mapped, and the fd it came from (the index pass reads it) */
    int fd;
    const char *map;
    size_t size;
    size_t start;       /* after a BOM */

    /* index (written by the indexer thread only) */
    struct ds__ent **ent;
    _Atomic size_t n_ent;
    struct ds__sum **sum;
    _Atomic size_t n_sum;
    _Atomic uint64_t bytes_done;
    _Atomic int indexed, finished, stop;
    int index_rc;
    struct bz_err index_err;
    pthread_t thread;
    int thread_live;

    pthread_mutex_t mu;
    /* guarded by mu */
    size_t st_count[4];        /* analysed good records by status */
    size_t n_bad, n_dup, n_empty, n_refusal;
    size_t per_format[DS_FMT_COUNT];
    char **bad_msgs;
    size_t n_bad_msgs, cap_bad_msgs;
    uint64_t *idt_key;         /* id multiplicity table (analysis), open addressing */
    uint32_t *idt_mult;
    size_t idt_cap;            /* power of two, 0 until analysis starts */
    struct ds__jent **jt;      /* journal state, open addressing by h */
    size_t jt_cap, jt_n;

    /* journal (owner thread only) */
    int jfd;
    uint64_t next_g;
    size_t torn;
    struct ds__stack undo, redo;
    /* filter suggestions (journal.c, under mu) and judge scores (scores.c, under mu,
     * loaded on first use, freed by ds__journal_close) */
    struct ds__suggs *suggs;
    struct ds__scores *scores;

    /* ds_refresh (index.c, owner thread): where the indexed lines end, the line number
     * there, whether the last line indexed had no newline, a hash of a sample of the
     * indexed bytes, the exact-duplicate set kept from the analysis pass, and mappings
     * replaced by a larger one (unmapped at close: other threads may read them) */
    size_t ref_off, ref_line;
    int ref_open_tail;
    uint64_t ref_fp;
    uint64_t *dup_k;
    size_t dup_cap, dup_n;
    void **old_maps;
    size_t *old_sizes, n_old_maps;
};

/* Entry i (i < n_ent). */
static inline struct ds__ent *ds__ent_at(struct ds_dataset *ds, size_t i)
{
    return &ds->ent[i >> DS__CHUNK_BITS][i & (DS__CHUNK - 1)];
}
static inline struct ds__sum *ds__sum_at(struct ds_dataset *ds, size_t i)
{
    return &ds->sum[i >> DS__CHUNK_BITS][i & (DS__CHUNK - 1)];
}

/* Drop the mapped pages in [*released, upto) from this process once they are 16 MiB
 * or more (all: whatever is left); *released moves up. They stay in the page cache. */
void ds__release(struct ds_dataset *ds, size_t *released, size_t upto, int all);
/* Index chunks (mmap'd, pre-faulted), and their release. */
void *ds__chunk_alloc(size_t bytes);
void ds__chunk_free(void *p, size_t bytes);
/* Bytes per read() of the index pass (4 MiB; tests make it tiny to cross chunk
 * boundaries everywhere). Set before ds_open. */
extern size_t ds__read_chunk;
/* The indexer thread body and the synchronous version (index.c). */
void *ds__index_thread(void *arg);
int ds__index_run(struct ds_dataset *ds);
/* Parse entry i in full (with_meta: build meta_json). A bad entry returns BZ_EPARSE
 * with "file:line:col: reason" and rec->flags = DS_F_BAD. */
int ds__parse_ent(struct ds_dataset *ds, size_t i, int with_meta, struct ds_record *rec,
                  struct bz_err *err);
/* Find the layout (JSONL, array, stream) of the text at map[start..size). */
int ds__detect_layout(const char *p, size_t n);
/* The end of the JSON value starting at p[0] (string/bracket aware), or NULL when it
 * does not close before end. */
const char *ds__scan_value(const char *p, const char *end);

/* Free what ds_refresh keeps (index.c); ds_close calls it. */
void ds__refresh_cleanup(struct ds_dataset *ds);

/* Journal (journal.c). Called with mu NOT held unless said. */
int ds__journal_open(struct ds_dataset *ds, struct bz_err *err);
void ds__journal_close(struct ds_dataset *ds);
/* Free the loaded scores (scores.c). */
void ds__scores_free(struct ds_dataset *ds);
/* Under mu: the journal entry of h/id, or NULL. */
struct ds__jent *ds__jt_find(struct ds_dataset *ds, uint64_t h, const char *id);
/* Under mu: the multiplicity of id hash h among analysed records. */
uint32_t ds__idt_mult(struct ds_dataset *ds, uint64_t h);
/* Under mu: count one more analysed record with id hash h. */
void ds__idt_add(struct ds_dataset *ds, uint64_t h);

#endif
