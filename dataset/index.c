/*
 * index.c: the background indexer of a mapped dataset: the index pass (record byte
 * ranges) and the analysis pass (one summary per record).
 *
 * Key ideas: the index pass never parses JSON. JSON lines are split with memchr;
 * a JSON array (or a stream of pretty-printed objects) is split by a scanner that
 * knows only strings (skipped with memchr on '"') and brackets. Entries go into
 * chunks that never move, and the count is published with a release store, so
 * readers in other threads see records as soon as they exist. The analysis pass
 * then parses each record once (cJSON, without meta), keeps a 24-byte summary and
 * commits counts under the mutex in batches.
 *
 * ds_refresh (at the end) takes the whole lines appended to a JSON-lines file since
 * it was indexed: the map grows (in place when it can; else a new mapping, the old
 * one kept until close because other threads may still read through it), new
 * entries and summaries are appended, and the exact-duplicate set and id table kept
 * from the analysis pass go on growing, so counts and DUP flags stay what a fresh
 * open would give.
 *
 * Left out: refreshing a JSON array or a stream of pretty-printed objects (appending
 * to them does not add records), and a full check of the indexed bytes (a sample of
 * them is hashed: the head, the tail and 16 blocks between).
 */
#include "dataset/internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- scanning */

static int is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* After the opening quote: the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if ((bs & 1) == 0)
            return q + 1;
        p = q + 1;
    }
}

/* Structural bytes for the bracket scanner. */
static const unsigned char structural[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

const char *ds__scan_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p + 1, end);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != ']' && *p != '}' && !is_ws(*p))
            p++;
        return p;
    }
    int depth = 0;
    while (p < end) {
        while (p < end && !structural[(unsigned char)*p])
            p++;
        if (p >= end)
            break;
        char c = *p;
        if (c == '"') {
            p = skip_string(p + 1, end);
            if (!p)
                return NULL;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (--depth == 0) {
            return p + 1;
        }
        p++;
    }
    return NULL;
}

int ds__detect_layout(const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end && is_ws(*p))
        p++;
    if (p < end && *p == '[')
        return DS__ARRAY;
    if (p >= end || *p != '{')
        return DS__JSONL;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *e = ds__scan_value(p, le);
    if (e) {
        while (e < le && is_ws(*e))
            e++;
        if (e == le)
            return DS__JSONL;
    }
    /* a first line that opens an object and stops at a structural point is a
     * pretty-printed object; anything else is a JSON line with something wrong */
    const char *t = le;
    while (t > p && is_ws(t[-1]))
        t--;
    char last = t[-1];
    if (last == '{' || last == '[' || last == ',' || last == ':')
        return DS__STREAM;
    return DS__JSONL;
}

/* ---------------------------------------------------------------- index pass */

/* Chunks come from mmap with MAP_POPULATE: one call maps all their pages, instead of
 * a page fault every 4 KiB while the index is written. */
void *ds__chunk_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void ds__chunk_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}

/* Drop the mapped pages below upto from this process (they stay in the page cache and
 * fault back in when a record there is read), so that the resident size follows the
 * index, not the file. Done in 16 MiB steps. */
#define RELEASE_STEP ((size_t)16 << 20)
void ds__release(struct ds_dataset *ds, size_t *released, size_t upto, int all)
{
    size_t a = upto & ~(size_t)4095;
    if (a > *released && (all || a - *released >= RELEASE_STEP)) {
        madvise((char *)ds->map + *released, a - *released, MADV_DONTNEED);
        *released = a;
    }
}

static int push_ent(struct ds_dataset *ds, uint64_t off, size_t len, size_t line)
{
    size_t n = atomic_load_explicit(&ds->n_ent, memory_order_relaxed);
    size_t c = n >> DS__CHUNK_BITS;
    if (c >= DS__MAX_CHUNKS)
        return bz_errf(&ds->index_err, BZ_ERANGE, "%s: more than %u records", ds->path,
                       DS__MAX_CHUNKS * DS__CHUNK);
    if (len > UINT32_MAX)
        return bz_errf(&ds->index_err, BZ_ERANGE, "%s:%zu: record longer than 4 GiB", ds->path,
                       line);
    if (!ds->ent[c]) {
        ds->ent[c] = ds__chunk_alloc(DS__CHUNK * sizeof(struct ds__ent));
        if (!ds->ent[c])
            return bz_errf(&ds->index_err, BZ_ENOMEM, "%s: out of memory indexing", ds->path);
    }
    struct ds__ent *e = &ds->ent[c][n & (DS__CHUNK - 1)];
    e->off = off;
    e->len = (uint32_t)len;
    e->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
    atomic_store_explicit(&ds->n_ent, n + 1, memory_order_release);
    return 0;
}

static int push_record(struct ds_dataset *ds, const char *p, size_t len, size_t line)
{
    uint64_t off = (uint64_t)(p - ds->map);
    int k = 1;
    if (ds->expand_instances) {
        k = ds__count_instances(p, len);
        if (k < 1)
            k = 1; /* a bad element is one bad row */
    }
    for (int i = 0; i < k; i++) {
        int rc = push_ent(ds, off, len, line);
        if (rc < 0)
            return rc;
    }
    return 0;
}


/* JSON lines: read() in 4 MiB chunks (on a warm page cache this runs ~3x faster than
 * first-touch faults on the mapping) and memchr for newlines. Only offsets are kept,
 * so a line longer than a chunk needs nothing special. */
size_t ds__read_chunk = (size_t)4 << 20;

/* The first read is small, so that the first records are there at once. */
static size_t first_chunk(const struct ds_dataset *ds, size_t off)
{
    return off == ds->start ? BZ_MIN(ds__read_chunk, (size_t)65536) : ds__read_chunk;
}

static int index_jsonl(struct ds_dataset *ds)
{
    char *buf = malloc(ds__read_chunk);
    if (!buf)
        return bz_errf(&ds->index_err, BZ_ENOMEM, "%s: out of memory indexing", ds->path);
    size_t off = ds->start, line_start = ds->start, line = 1;
    int nonblank = 0, rc = 0;
    char prev = 0;
    while (off < ds->size && rc == 0) {
        size_t want = BZ_MIN(first_chunk(ds, off), ds->size - off);
        ssize_t r = pread(ds->fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = bz_errf(&ds->index_err, r < 0 ? -errno : BZ_EIO, "%s: read failed at byte %zu",
                         ds->path, off);
            break;
        }
        const char *p = buf, *e = buf + r;
        while (p < e) {
            const char *q = memchr(p, '\n', (size_t)(e - p));
            const char *se = q ? q : e;
            for (const char *c = p; !nonblank && c < se; c++)
                nonblank = !is_ws(*c);
            if (!q) {
                if (se > p)
                    prev = se[-1];
                break;
            }
            size_t end_off = off + (size_t)(q - buf), len = end_off - line_start;
            if ((q > p ? q[-1] : prev) == '\r' && len)
                len--;
            if (nonblank && (rc = push_record(ds, ds->map + line_start, len, line)) < 0)
                break;
            line++;
            line_start = end_off + 1;
            nonblank = 0;
            prev = 0;
            p = q + 1;
        }
        off += (size_t)r;
        atomic_store_explicit(&ds->bytes_done, (uint64_t)off, memory_order_relaxed);
        if (atomic_load_explicit(&ds->stop, memory_order_relaxed))
            rc = BZ_ECANCELED;
    }
    /* where ds_refresh goes on: after the last newline, or after a last line without
     * one, taken as a record (it must then be followed by a newline) */
    ds->ref_off = line_start;
    ds->ref_line = line;
    ds->ref_open_tail = 0;
    if (rc == 0 && line_start < ds->size && nonblank) {
        size_t len = ds->size - line_start;
        if (ds->map[ds->size - 1] == '\r')
            len--;
        rc = push_record(ds, ds->map + line_start, len, line);
        ds->ref_off = ds->size;
        ds->ref_line = line + 1;
        ds->ref_open_tail = 1;
    }
    free(buf);
    return rc;
}

/* Newlines in [p, e): eight bytes at a time (an exact count of the zero bytes of
 * w ^ "\n\n\n\n\n\n\n\n"). */
static size_t count_nl(const char *p, const char *e)
{
    const uint64_t nl = 0x0a0a0a0a0a0a0a0aull, lo7 = 0x7f7f7f7f7f7f7f7full;
    size_t n = 0;
    while (e - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= nl;
        uint64_t t = ~(((w & lo7) + lo7) | w | lo7);
        n += (size_t)__builtin_popcountll(t);
        p += 8;
    }
    for (; p < e; p++)
        n += *p == '\n';
    return n;
}

/* A JSON array, or a stream of values: the same read() chunks, with a scanner whose
 * whole state (depth, inside a string, after a backslash, the value's start) carries
 * over from one chunk to the next. A top-level value is an object/array up to its
 * matching bracket, a string up to its closing quote, or a bare token up to , ] } or
 * white space; a stray ] or } is a one-byte value; a value still open at the end of
 * the file runs to the end (a truncated record). */
enum { V_NONE, V_CONTAINER, V_STRING, V_BARE };

static const unsigned char v_struct[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

static int index_values(struct ds_dataset *ds)
{
    char *buf = malloc(ds__read_chunk);
    if (!buf)
        return bz_errf(&ds->index_err, BZ_ENOMEM, "%s: out of memory indexing", ds->path);
    int kind = V_NONE, in_str = 0, esc = 0, opened = ds->layout != DS__ARRAY, rc = 0;
    long depth = 0;
    size_t off = ds->start, start = 0, start_line = 0, line = 1;
    while (off < ds->size && rc == 0) {
        size_t want = BZ_MIN(first_chunk(ds, off), ds->size - off);
        ssize_t r = pread(ds->fd, buf, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = bz_errf(&ds->index_err, r < 0 ? -errno : BZ_EIO, "%s: read failed at byte %zu",
                         ds->path, off);
            break;
        }
        const char *p = buf, *e = buf + r;
        const char *counted = buf; /* newlines before here are in line */
#define POS ((size_t)(p - buf) + off)
        while (p < e && rc == 0) {
            if (kind == V_NONE) {
                char c = *p;
                if (is_ws(c) || c == ',' || !opened) {
                    opened |= c == '[';
                    p++;
                    continue;
                }
                if (ds->layout == DS__ARRAY && c == ']') {
                    p = e;
                    off = ds->size; /* the array is closed: the rest is not records */
                    break;
                }
                start = POS;
                line += count_nl(counted, p);
                counted = p;
                start_line = line;
                p++;
                if (c == '{' || c == '[') {
                    kind = V_CONTAINER;
                    depth = 1;
                } else if (c == '"') {
                    kind = V_STRING;
                    in_str = 1;
                } else if (c == ']' || c == '}') {
                    rc = push_record(ds, ds->map + start, 1, start_line);
                } else {
                    kind = V_BARE;
                }
                continue;
            }
            if (in_str) {
                if (esc) {
                    esc = 0;
                    p++;
                    continue;
                }
                const char *q = memchr(p, '"', (size_t)(e - p));
                const char *se = q ? q : e;
                const char *bs = memchr(p, '\\', (size_t)(se - p));
                if (bs) {
                    p = bs + 1;
                    esc = 1;
                    continue;
                }
                p = se;
                if (!q)
                    continue;
                p++;
                in_str = 0;
                if (kind == V_STRING) {
                    rc = push_record(ds, ds->map + start, POS - start, start_line);
                    kind = V_NONE;
                }
                continue;
            }
            if (kind == V_BARE) {
                char c = *p;
                if (is_ws(c) || c == ',' || c == ']' || c == '}') {
                    rc = push_record(ds, ds->map + start, POS - start, start_line);
                    kind = V_NONE;
                    continue; /* the delimiter is looked at again between values */
                }
                p++;
                continue;
            }
            while (p < e && !v_struct[(unsigned char)*p])
                p++;
            if (p >= e)
                break;
            char c = *p++;
            if (c == '"') {
                in_str = 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (--depth == 0) {
                rc = push_record(ds, ds->map + start, POS - start, start_line);
                kind = V_NONE;
            }
        }
#undef POS
        if (counted < e)
            line += count_nl(counted, e);
        off = BZ_MIN(ds->size, off + (size_t)r);
        atomic_store_explicit(&ds->bytes_done, (uint64_t)off, memory_order_relaxed);
        if (atomic_load_explicit(&ds->stop, memory_order_relaxed))
            rc = BZ_ECANCELED;
    }
    if (rc == 0 && kind != V_NONE)
        rc = push_record(ds, ds->map + start, ds->size - start, start_line);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- analysis pass */

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

/* Column (1-based, bytes) of map[off] in its line. */
static size_t col_of(struct ds_dataset *ds, uint64_t off)
{
    const char *s = ds->map + ds->start, *p = ds->map + off;
    const char *nl = p > s ? memrchr(s, '\n', (size_t)(p - s)) : NULL;
    return (size_t)(p - (nl ? nl + 1 : s)) + 1;
}

int ds__parse_ent(struct ds_dataset *ds, size_t i, int with_meta, struct ds_record *rec,
                  struct bz_err *err)
{
    struct ds__ent *e = ds__ent_at(ds, i);
    int sub = 0;
    if (ds->expand_instances)
        while ((size_t)sub < i && ds__ent_at(ds, i - (size_t)sub - 1)->off == e->off)
            sub++;
    int fmt = ds->fmt_override ? ds->fmt_override
                               : ds->expand_instances ? DS_FMT_SELFINSTRUCT : DS_FMT_UNKNOWN;
    const char *text = ds->map + e->off;
    size_t col = ds->layout == DS__JSONL ? 1 : 0;
    struct bz_err e1 = {0};
    int rc = ds__parse_at(text, e->len, fmt, sub, ds->path, e->line, col ? col : 1, with_meta,
                          rec, &e1);
    if (rc < 0 && !col) {
        /* the error place needs the element's real column: compute it only now */
        ds_record_cleanup(rec);
        bz_err_clear(&e1);
        rc = ds__parse_at(text, e->len, fmt, sub, ds->path, e->line, col_of(ds, e->off),
                          with_meta, rec, &e1);
    }
    rec->index = i;
    if (rc < 0) {
        rec->flags = DS_F_BAD;
        rec->line = e->line;
        if (err && !err->code)
            *err = e1;
        return rc;
    }
    return 0;
}

static void idt_insert(struct ds_dataset *ds, uint64_t h)
{
    size_t mask = ds->idt_cap - 1, j = (size_t)h & mask;
    if (h == 0)
        h = 1;
    while (ds->idt_key[j] && ds->idt_key[j] != h)
        j = (j + 1) & mask;
    ds->idt_key[j] = h;
    ds->idt_mult[j]++;
}

void ds__idt_add(struct ds_dataset *ds, uint64_t h)
{
    idt_insert(ds, h);
}

uint32_t ds__idt_mult(struct ds_dataset *ds, uint64_t h)
{
    if (!ds->idt_cap)
        return 0;
    if (h == 0)
        h = 1;
    size_t mask = ds->idt_cap - 1, j = (size_t)h & mask;
    while (ds->idt_key[j]) {
        if (ds->idt_key[j] == h)
            return ds->idt_mult[j];
        j = (j + 1) & mask;
    }
    return 0;
}

/* Exact-duplicate set: open addressing on the normalized content hash. */
struct dupset {
    uint64_t *k;
    size_t cap, n;
};

static int dupset_seen(struct dupset *d, uint64_t h)
{
    if (h == 0)
        h = 1;
    size_t mask = d->cap - 1, j = (size_t)h & mask;
    while (d->k[j]) {
        if (d->k[j] == h)
            return 1;
        j = (j + 1) & mask;
    }
    d->k[j] = h;
    d->n++;
    return 0;
}

#define BATCH 256
#define RING 32          /* batches in flight between the workers and the committer */
#define MAX_WORKERS 8
#define MAX_BAD_MSGS 1000

/* The analysis runs on worker threads that parse batches of records in any order,
 * and the indexer thread, which commits the batches in order: the duplicate check
 * (the first occurrence is not a duplicate), the counts under ds->mu, and the
 * published count n_sum. A batch lives in one of RING slots until committed. */
struct slot {
    int done;
    size_t nbad;
    uint64_t dup[BATCH];
    char bad[BATCH][256];
};

struct par {
    struct ds_dataset *ds;
    size_t n, nb;            /* records, batches */
    pthread_mutex_t m;
    pthread_cond_t cv;
    size_t next, committed;  /* next batch to claim; batches committed so far */
    struct slot *slots;      /* RING of them */
};

/* The summary of record i (all but DUP) and its normalized content hash (0 for a bad
 * record, whose message goes to bad). Returns 1 when the record is bad. */
static int summarise(struct ds_dataset *ds, size_t i, uint64_t *dup, char bad[256])
{
    struct ds_record r;
    struct bz_err e = {0};
    struct ds__sum *s = ds__sum_at(ds, i);
    int is_bad = 0;
    memset(s, 0, sizeof *s);
    *dup = 0;
    if (ds__parse_ent(ds, i, 0, &r, &e) < 0) {
        s->flags = DS_F_BAD;
        memcpy(bad, e.msg, 256);
        is_bad = 1;
    } else {
        s->id_hash = bz_hash64(r.id, strlen(r.id));
        s->prompt_chars =
            (uint32_t)BZ_MIN(ds__utf8_chars(ds_record_prompt(&r)), (size_t)UINT32_MAX);
        s->response_chars =
            (uint32_t)BZ_MIN(ds__utf8_chars(ds_record_response(&r)), (size_t)UINT32_MAX);
        s->flags = (uint16_t)ds__rules_flags(&r);
        s->format = (uint8_t)r.format;
        *dup = ds__rules_dup_hash(&r);
    }
    ds_record_cleanup(&r);
    return is_bad;
}

/* Parse batch b into its summaries (all but DUP) and its slot. */
static void analyse_batch(struct par *pa, size_t b)
{
    struct ds_dataset *ds = pa->ds;
    struct slot *sl = &pa->slots[b % RING];
    size_t b0 = b * BATCH, b1 = BZ_MIN(pa->n, b0 + BATCH);
    sl->nbad = 0;
    for (size_t i = b0; i < b1; i++)
        sl->nbad += (size_t)summarise(ds, i, &sl->dup[i - b0], sl->bad[sl->nbad]);
}

/* Claim the next batch that fits in the ring; -1 when there is none left. */
static long claim(struct par *pa)
{
    pthread_mutex_lock(&pa->m);
    while (pa->next < pa->nb && pa->next >= pa->committed + RING)
        pthread_cond_wait(&pa->cv, &pa->m);
    long b = pa->next < pa->nb ? (long)pa->next++ : -1;
    pthread_mutex_unlock(&pa->m);
    return b;
}

/* A worker: claim, parse, mark done, until no batch is left. A stop is the
 * committer's business (it stops claiming by moving next to the end). */
static void *analyse_worker(void *arg)
{
    struct par *pa = arg;
    for (long b; (b = claim(pa)) >= 0;) {
        analyse_batch(pa, (size_t)b);
        pthread_mutex_lock(&pa->m);
        pa->slots[b % RING].done = 1;
        pthread_cond_broadcast(&pa->cv);
        pthread_mutex_unlock(&pa->m);
    }
    return NULL;
}

/* In order, on the indexer thread: duplicates, counts, bad messages, publication. */
static void commit_batch(struct par *pa, size_t b, struct dupset *dups)
{
    struct ds_dataset *ds = pa->ds;
    struct slot *sl = &pa->slots[b % RING];
    size_t b0 = b * BATCH, b1 = BZ_MIN(pa->n, b0 + BATCH);
    for (size_t i = b0; i < b1; i++) {
        struct ds__sum *s = ds__sum_at(ds, i);
        if (!(s->flags & DS_F_BAD) && dupset_seen(dups, sl->dup[i - b0]))
            s->flags |= DS_F_DUP;
    }
    pthread_mutex_lock(&ds->mu);
    for (size_t i = b0; i < b1; i++) {
        struct ds__sum *s = ds__sum_at(ds, i);
        if (s->flags & DS_F_BAD) {
            ds->n_bad++;
            continue;
        }
        idt_insert(ds, s->id_hash);
        struct ds__jent *je = ds__jt_find(ds, s->id_hash, NULL);
        ds->st_count[je ? je->status : DS_PENDING]++;
        ds->n_dup += (s->flags & DS_F_DUP) != 0;
        ds->n_empty += (s->flags & DS_F_EMPTY) != 0;
        ds->n_refusal += (s->flags & DS_F_REFUSAL) != 0;
        ds->per_format[s->format]++;
    }
    for (size_t k = 0; k < sl->nbad && ds->n_bad_msgs < MAX_BAD_MSGS; k++) {
        if (ds->n_bad_msgs == ds->cap_bad_msgs) {
            ds->cap_bad_msgs = ds->cap_bad_msgs ? ds->cap_bad_msgs * 2 : 16;
            ds->bad_msgs = bz_realloc(ds->bad_msgs, ds->cap_bad_msgs * sizeof(char *));
        }
        ds->bad_msgs[ds->n_bad_msgs++] = bz_strdup(sl->bad[k]);
    }
    atomic_store_explicit(&ds->n_sum, b1, memory_order_release);
    pthread_mutex_unlock(&ds->mu);
}

static int analyse(struct ds_dataset *ds)
{
    size_t n = atomic_load_explicit(&ds->n_ent, memory_order_acquire);
    size_t cap = pow2_at_least(n + n / 2 + 1);
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *mult = calloc(cap, sizeof *mult);
    struct dupset dups = {calloc(cap, sizeof(uint64_t)), cap, 0};
    struct par pa = {.ds = ds, .n = n, .nb = (n + BATCH - 1) / BATCH};
    pa.slots = calloc(RING, sizeof *pa.slots);
    int rc = 0;
    for (size_t c = 0; c < (n + DS__CHUNK - 1) / DS__CHUNK && rc == 0; c++)
        if (!ds->sum[c] && !(ds->sum[c] = ds__chunk_alloc(DS__CHUNK * sizeof(struct ds__sum))))
            rc = BZ_ENOMEM;
    if (!keys || !mult || !dups.k || !pa.slots || rc < 0) {
        free(keys);
        free(mult);
        free(dups.k);
        free(pa.slots);
        return bz_errf(&ds->index_err, BZ_ENOMEM, "%s: out of memory for the analysis pass",
                       ds->path);
    }
    pthread_mutex_lock(&ds->mu);
    ds->idt_key = keys;
    ds->idt_mult = mult;
    ds->idt_cap = cap;
    pthread_mutex_unlock(&ds->mu);

    pthread_mutex_init(&pa.m, NULL);
    pthread_cond_init(&pa.cv, NULL);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nw = cpus > 1 ? (size_t)BZ_MIN(cpus - 1, MAX_WORKERS) : 0;
    if (pa.nb < 4)
        nw = 0; /* a small file: not worth a thread */
    pthread_t th[MAX_WORKERS];
    size_t started = 0;
    for (; started < nw; started++)
        if (pthread_create(&th[started], NULL, analyse_worker, &pa) != 0)
            break;
    size_t released = 0;
    for (size_t b = 0; b < pa.nb; b++) {
        if (atomic_load_explicit(&ds->stop, memory_order_relaxed)) {
            rc = BZ_ECANCELED;
            break;
        }
        if (started == 0) {
            /* no workers: parse here */
            pa.next = b + 1;
            analyse_batch(&pa, b);
        } else {
            pthread_mutex_lock(&pa.m);
            while (!pa.slots[b % RING].done)
                pthread_cond_wait(&pa.cv, &pa.m);
            pthread_mutex_unlock(&pa.m);
        }
        commit_batch(&pa, b, &dups);
        pthread_mutex_lock(&pa.m);
        pa.slots[b % RING].done = 0;
        pa.committed = b + 1;
        pthread_cond_broadcast(&pa.cv);
        pthread_mutex_unlock(&pa.m);
        ds__release(ds, &released, ds__ent_at(ds, b * BATCH)->off, 0);
    }
    pthread_mutex_lock(&pa.m);
    pa.next = pa.nb; /* no more claims; waiting workers wake and leave */
    pa.committed = pa.nb;
    pthread_cond_broadcast(&pa.cv);
    pthread_mutex_unlock(&pa.m);
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    pthread_cond_destroy(&pa.cv);
    pthread_mutex_destroy(&pa.m);
    free(pa.slots);
    /* kept for ds_refresh (JSON lines only): the records it appends are checked
     * against these */
    if (ds->layout == DS__JSONL) {
        ds->dup_k = dups.k;
        ds->dup_cap = dups.cap;
        ds->dup_n = dups.n;
    } else {
        free(dups.k);
    }
    ds__release(ds, &released, ds->size, 1);
    return rc;
}

/* ---------------------------------------------------------------- driver */

static int index_fingerprint(struct ds_dataset *ds);

int ds__index_run(struct ds_dataset *ds)
{
    int rc = ds->layout == DS__JSONL ? index_jsonl(ds) : index_values(ds);
    atomic_store_explicit(&ds->bytes_done, ds->size, memory_order_relaxed);
    atomic_store_explicit(&ds->indexed, 1, memory_order_release);
    if (rc == 0)
        rc = analyse(ds);
    if (rc == 0 && index_fingerprint(ds) < 0)
        rc = bz_errf(&ds->index_err, BZ_EIO, "%s: cannot read back what was indexed", ds->path);
    ds->index_rc = rc;
    atomic_store_explicit(&ds->finished, 1, memory_order_release);
    return rc;
}

void *ds__index_thread(void *arg)
{
    ds__index_run(arg);
    return NULL;
}

/* ---------------------------------------------------------------- refresh */

#define FP_BLOCK 512
#define FP_BLOCKS 16

/* pread exactly n bytes at off into buf; 0 or a negative code. */
static int read_at(int fd, char *buf, size_t n, size_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : BZ_ECORRUPT;
        buf += r;
        n -= (size_t)r;
        off += (size_t)r;
    }
    return 0;
}

/* A hash of a sample of the file's bytes below upto, read from the file itself: the
 * first and last 4 KiB and FP_BLOCKS blocks between. */
static int fingerprint(struct ds_dataset *ds, size_t upto, uint64_t *out)
{
    char *buf = bz_malloc(2 * 4096 + FP_BLOCKS * FP_BLOCK);
    size_t n = 0, lo = ds->start;
    int rc = 0;
    if (upto > lo) {
        size_t span = upto - lo, head = BZ_MIN(span, (size_t)4096);
        rc = read_at(ds->fd, buf, head, lo);
        n += head;
        for (size_t k = 1; rc == 0 && span > 2 * 4096 + FP_BLOCK && k <= FP_BLOCKS; k++) {
            size_t at = lo + span / (FP_BLOCKS + 1) * k;
            rc = read_at(ds->fd, buf + n, FP_BLOCK, at);
            n += FP_BLOCK;
        }
        size_t tail = BZ_MIN(span, (size_t)4096);
        if (rc == 0)
            rc = read_at(ds->fd, buf + n, tail, upto - tail);
        n += tail;
    }
    uint64_t h = bz_hash64(buf, n);
    *out = h ^ (uint64_t)upto * 0x9E3779B97F4A7C15ull;
    free(buf);
    return rc;
}

static int index_fingerprint(struct ds_dataset *ds)
{
    if (ds->layout != DS__JSONL)
        return 0;
    return fingerprint(ds, ds->ref_off, &ds->ref_fp);
}

/* Make the map cover the file's first size bytes. In place when the address range
 * after it is free; else a new mapping, the old one retired (readers in other threads
 * may hold pointers into it) and unmapped by ds__refresh_cleanup. */
static int grow_map(struct ds_dataset *ds, size_t size, struct bz_err *err)
{
    void *p = mremap((void *)ds->map, ds->size, size, 0);
    if (p == MAP_FAILED) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, ds->fd, 0);
        if (p == MAP_FAILED)
            return bz_errf(err, -errno, "%s: cannot map the grown file: %s", ds->path,
                           strerror(errno));
        ds->old_maps = bz_realloc(ds->old_maps, (ds->n_old_maps + 1) * sizeof *ds->old_maps);
        ds->old_sizes = bz_realloc(ds->old_sizes, (ds->n_old_maps + 1) * sizeof *ds->old_sizes);
        ds->old_maps[ds->n_old_maps] = (void *)ds->map;
        ds->old_sizes[ds->n_old_maps++] = ds->size;
    }
    /* published before the new entries (release store of n_ent), so a reader that
     * sees an entry also sees a map that holds it */
    __atomic_store_n(&ds->map, (const char *)p, __ATOMIC_RELEASE);
    ds->size = size;
    return 0;
}

/* Grow an open-addressing table of hashes (keys, and mult when not NULL) so that it
 * holds need keys at most 2/3 full. */
static void table_grow(uint64_t **keys, uint32_t **mult, size_t *cap, size_t need)
{
    size_t want = pow2_at_least(need + need / 2 + 1);
    if (want <= *cap)
        return;
    uint64_t *nk = bz_calloc(want, sizeof *nk);
    uint32_t *nm = mult ? bz_calloc(want, sizeof *nm) : NULL;
    for (size_t j = 0; j < *cap; j++) {
        if (!(*keys)[j])
            continue;
        size_t k = (size_t)(*keys)[j] & (want - 1);
        while (nk[k])
            k = (k + 1) & (want - 1);
        nk[k] = (*keys)[j];
        if (mult)
            nm[k] = (*mult)[j];
    }
    free(*keys);
    *keys = nk;
    if (mult) {
        free(*mult);
        *mult = nm;
    }
    *cap = want;
}

/* Summarise entries [from, to) and commit them as the analysis pass does. */
static int refresh_analyse(struct ds_dataset *ds, size_t from, size_t to, struct bz_err *err)
{
    for (size_t c = from >> DS__CHUNK_BITS; c <= (to - 1) >> DS__CHUNK_BITS; c++)
        if (!ds->sum[c] && !(ds->sum[c] = ds__chunk_alloc(DS__CHUNK * sizeof(struct ds__sum))))
            return bz_errf(err, BZ_ENOMEM, "%s: out of memory for the analysis summaries",
                           ds->path);
    uint64_t *dup = bz_malloc((to - from) * sizeof *dup);
    char(*bad)[256] = bz_malloc(256 * BZ_MIN(to - from, (size_t)MAX_BAD_MSGS));
    size_t nbad = 0;
    for (size_t i = from; i < to; i++) {
        char msg[256];
        if (summarise(ds, i, &dup[i - from], msg) && nbad < MAX_BAD_MSGS)
            memcpy(bad[nbad++], msg, sizeof msg);
    }
    /* the duplicate set is the owner's: only the indexer (finished) and refresh use it */
    struct dupset d = {ds->dup_k, ds->dup_cap, ds->dup_n};
    table_grow(&d.k, NULL, &d.cap, d.n + (to - from));
    for (size_t i = from; i < to; i++) {
        struct ds__sum *s = ds__sum_at(ds, i);
        if (!(s->flags & DS_F_BAD) && dupset_seen(&d, dup[i - from]))
            s->flags |= DS_F_DUP;
    }
    ds->dup_k = d.k;
    ds->dup_cap = d.cap;
    ds->dup_n = d.n;
    pthread_mutex_lock(&ds->mu);
    table_grow(&ds->idt_key, &ds->idt_mult, &ds->idt_cap, to);
    for (size_t i = from; i < to; i++) {
        struct ds__sum *s = ds__sum_at(ds, i);
        if (s->flags & DS_F_BAD) {
            ds->n_bad++;
            continue;
        }
        idt_insert(ds, s->id_hash);
        struct ds__jent *je = ds__jt_find(ds, s->id_hash, NULL);
        ds->st_count[je ? je->status : DS_PENDING]++;
        ds->n_dup += (s->flags & DS_F_DUP) != 0;
        ds->n_empty += (s->flags & DS_F_EMPTY) != 0;
        ds->n_refusal += (s->flags & DS_F_REFUSAL) != 0;
        ds->per_format[s->format]++;
    }
    for (size_t k = 0; k < nbad && ds->n_bad_msgs < MAX_BAD_MSGS; k++) {
        if (ds->n_bad_msgs == ds->cap_bad_msgs) {
            ds->cap_bad_msgs = ds->cap_bad_msgs ? ds->cap_bad_msgs * 2 : 16;
            ds->bad_msgs = bz_realloc(ds->bad_msgs, ds->cap_bad_msgs * sizeof(char *));
        }
        ds->bad_msgs[ds->n_bad_msgs++] = bz_strdup(bad[k]);
    }
    atomic_store_explicit(&ds->n_sum, to, memory_order_release);
    pthread_mutex_unlock(&ds->mu);
    free(bad);
    free(dup);
    return 0;
}

/* Contract: see dataset.h. */
int ds_refresh(struct ds_dataset *ds, struct bz_err *err)
{
    if (!atomic_load_explicit(&ds->finished, memory_order_acquire))
        return bz_errf(err, BZ_EINVAL, "%s: still indexing; refresh when it has finished",
                       ds->path);
    if (ds->thread_live) {
        pthread_join(ds->thread, NULL);
        ds->thread_live = 0;
    }
    if (ds->index_rc < 0)
        return bz_errf(err, ds->index_rc, "%s: indexing failed, nothing to refresh: %s", ds->path,
                       ds->index_err.msg);
    unsigned char magic[2] = {0};
    int pfd = open(ds->path, O_RDONLY | O_CLOEXEC);
    if (pfd < 0)
        return bz_errf(err, -errno, "%s: cannot refresh: %s", ds->path, strerror(errno));
    struct stat pst, fst;
    int same = fstat(pfd, &pst) == 0 && fstat(ds->fd, &fst) == 0 && pst.st_ino == fst.st_ino &&
               pst.st_dev == fst.st_dev;
    ssize_t got = pread(pfd, magic, 2, 0);
    close(pfd);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return bz_errf(err, BZ_EUNSUPPORTED,
                       "%s: a compressed file cannot grow; nothing "
                       "is refreshed (decompress it to follow appended records)",
                       ds->path);
    if (ds->layout != DS__JSONL)
        return bz_errf(err, BZ_EUNSUPPORTED,
                       "%s: only JSON lines files are refreshed (this "
                       "one is a %s)",
                       ds->path, ds->layout == DS__ARRAY ? "JSON array" : "stream of objects");
    if (!same)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: the file was replaced since it was opened; "
                       "reopen it",
                       ds->path);
    size_t size = (size_t)fst.st_size;
    if (size < ds->size)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: the file shrank from %zu to %zu bytes since it "
                       "was indexed; reopen it",
                       ds->path, ds->size, size);
    uint64_t fp;
    int rc = fingerprint(ds, ds->ref_off, &fp);
    if (rc < 0 || fp != ds->ref_fp)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: the indexed part of the file changed (only "
                       "appending is followed); reopen it",
                       ds->path);
    if (size == ds->size)
        return 0;
    /* the whole lines appended after ref_off */
    size_t from = ds->ref_off, n_new = size - from;
    char *buf = malloc(n_new);
    if (!buf)
        return bz_errf(err, BZ_ENOMEM, "%s: out of memory reading %zu appended bytes", ds->path,
                       n_new);
    if ((rc = read_at(ds->fd, buf, n_new, from)) < 0) {
        free(buf);
        return bz_errf(err, rc, "%s: cannot read the appended bytes", ds->path);
    }
    size_t skip = 0;
    if (ds->ref_open_tail) {
        /* the last line indexed had no newline: it was whole only if one follows */
        if (buf[0] == '\n' || (buf[0] == '\r' && n_new >= 2 && buf[1] == '\n')) {
            skip = buf[0] == '\n' ? 1 : 2;
        } else if (!(buf[0] == '\r' && n_new == 1)) {
            free(buf);
            return bz_errf(err, BZ_ECORRUPT,
                           "%s:%zu: this last line had no newline when it "
                           "was indexed and has grown since; reopen the file",
                           ds->path, ds->ref_line - 1);
        }
    }
    const char *last_nl = memrchr(buf + skip, '\n', n_new - skip);
    if (!last_nl) {
        free(buf);
        return 0; /* a torn line: it waits for its newline */
    }
    size_t end = from + (size_t)(last_nl - buf) + 1; /* indexed after this refresh */
    if ((rc = grow_map(ds, size, err)) < 0) {
        free(buf);
        return rc;
    }
    size_t n0 = atomic_load_explicit(&ds->n_ent, memory_order_relaxed);
    size_t line = ds->ref_line, ls = from + skip;
    for (const char *p = buf + skip; p <= last_nl && rc == 0;) {
        const char *q = memchr(p, '\n', (size_t)(last_nl - p) + 1);
        size_t len = (size_t)(q - p);
        int nonblank = 0;
        for (const char *c = p; !nonblank && c < q; c++)
            nonblank = !is_ws(*c);
        if (len && p[len - 1] == '\r')
            len--;
        if (nonblank)
            rc = push_record(ds, ds->map + ls, len, line);
        line++;
        ls += (size_t)(q - p) + 1;
        p = q + 1;
    }
    free(buf);
    if (rc < 0) {
        if (err && !err->code)
            *err = ds->index_err;
        return rc;
    }
    size_t n1 = atomic_load_explicit(&ds->n_ent, memory_order_relaxed);
    if (n1 > n0 && (rc = refresh_analyse(ds, n0, n1, err)) < 0)
        return rc;
    ds->ref_open_tail = 0;
    ds->ref_off = end;
    ds->ref_line = line;
    atomic_store_explicit(&ds->bytes_done, (uint64_t)size, memory_order_relaxed);
    if ((rc = fingerprint(ds, end, &ds->ref_fp)) < 0)
        return bz_errf(err, rc, "%s: cannot read back what was indexed", ds->path);
    return (int)BZ_MIN(n1 - n0, (size_t)INT32_MAX);
}

/* Unmap the retired mappings, free the duplicate set (ds_close). */
void ds__refresh_cleanup(struct ds_dataset *ds)
{
    for (size_t i = 0; i < ds->n_old_maps; i++)
        munmap(ds->old_maps[i], ds->old_sizes[i]);
    free(ds->old_maps);
    free(ds->old_sizes);
    free(ds->dup_k);
    ds->old_maps = NULL;
    ds->old_sizes = NULL;
    ds->dup_k = NULL;
    ds->n_old_maps = 0;
}
