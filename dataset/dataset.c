/*
 * dataset.c: opening a dataset file (checks, gzip, mmap, layout and format
 * detection), starting its indexer, and the read side: records, summaries, counts
 * and progress, safe to call while the indexer runs.
 *
 * Key idea: ds_open refuses only what is not a dataset at all (missing, directory,
 * empty, binary); anything else opens, and a record that cannot be read becomes a
 * bad row with its place and reason. A .gz is inflated once into an unlinked temp
 * file, so the rest of the code only ever sees one mapped text.
 *
 * Left out: writing the source (never), and watching it for changes.
 */
#include "dataset/internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------------------------------------------------------- names */

static const char *const fmt_names[DS_FMT_COUNT] = {
    "unknown", "alpaca", "sharegpt", "openai", "selfinstruct",
    "pref-llamafactory", "pref-hh", "pref-openai", "pref-trl",
};

const char *ds_format_name(int fmt)
{
    return fmt >= 0 && fmt < DS_FMT_COUNT ? fmt_names[fmt] : "?";
}

int ds_format_parse(const char *name)
{
    static const struct {
        const char *alias;
        int fmt;
    } aliases[] = {
        {"auto", DS_FMT_UNKNOWN}, {"self-instruct", DS_FMT_SELFINSTRUCT},
        {"llamafactory", DS_FMT_PREF_LF}, {"dpo", DS_FMT_PREF_LF},
        {"hh-rlhf", DS_FMT_PREF_HH}, {"hh", DS_FMT_PREF_HH},
        {"trl", DS_FMT_PREF_TRL}, {"openai-preference", DS_FMT_PREF_OPENAI},
    };
    if (!name)
        return -1;
    for (int i = 0; i < DS_FMT_COUNT; i++)
        if (strcmp(name, fmt_names[i]) == 0)
            return i;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(aliases); i++)
        if (strcmp(name, aliases[i].alias) == 0)
            return aliases[i].fmt;
    return -1;
}

const char *ds_role_name(int role)
{
    static const char *const names[] = {"system", "user", "assistant"};
    return role >= 0 && role < 3 ? names[role] : "?";
}

const char *ds_status_name(int st)
{
    static const char *const names[] = {"pending", "accepted", "rejected", "flagged"};
    return st >= 0 && st < 4 ? names[st] : "?";
}

int ds_status_mask_parse(const char *s, unsigned *mask, struct bz_err *err)
{
    *mask = 0;
    char *copy = bz_strdup(s), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int st = 0; st < 4; st++)
            if (strcmp(t, ds_status_name(st)) == 0)
                k = st;
        if (strcmp(t, "all") == 0)
            *mask |= DS_ALL_STATUSES;
        else if (k >= 0)
            *mask |= 1u << k;
        else
            rc = bz_errf(err, BZ_EUSAGE, "unknown status '%s' (expected all, pending, accepted, "
                         "rejected, flagged or a comma list)", t);
    }
    free(copy);
    if (rc == 0 && *mask == 0)
        rc = bz_errf(err, BZ_EUSAGE, "empty status list");
    return rc;
}

int ds_out_format_parse(const char *name)
{
    static const char *const names[] = {"alpaca", "sharegpt", "openai"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- opening */

/* Inflate the gzip file fd into an unlinked temp file; returns its fd. */
static int gunzip_to_temp(const char *path, int fd, struct bz_err *err)
{
    const char *tmpdir = getenv("TMPDIR");
    char *tpl = bz_asprintf("%s/bezoar-gz-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    int out = mkstemp(tpl);
    if (out < 0) {
        int e = errno;
        free(tpl);
        return bz_errf(err, -e, "%s: cannot create a temp file to inflate into: %s", path,
                       strerror(e));
    }
    unlink(tpl);
    free(tpl);
    int dfd = dup(fd);
    gzFile gz = dfd >= 0 ? gzdopen(dfd, "rb") : NULL;
    if (!gz) {
        if (dfd >= 0)
            close(dfd);
        close(out);
        return bz_errf(err, BZ_ENOMEM, "%s: cannot start gzip", path);
    }
    gzbuffer(gz, 1 << 17);
    char *buf = bz_malloc(1 << 20);
    int rc = 0;
    for (;;) {
        int n = gzread(gz, buf, 1 << 20);
        if (n < 0) {
            int zerr;
            const char *m = gzerror(gz, &zerr);
            rc = bz_errf(err, BZ_ECORRUPT, "%s: gzip: %s", path, m);
            break;
        }
        if (n == 0) {
            int zerr;
            const char *m = gzerror(gz, &zerr);
            if (zerr != Z_OK)
                rc = bz_errf(err, BZ_ECORRUPT, "%s: gzip: %s", path, m);
            break;
        }
        for (char *p = buf; n > 0;) {
            ssize_t w = write(out, p, (size_t)n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = bz_errf(err, -errno, "%s: writing the inflated text: %s", path,
                             strerror(errno));
                break;
            }
            p += w;
            n -= (int)w;
        }
        if (rc < 0)
            break;
    }
    free(buf);
    gzclose(gz);
    if (rc < 0) {
        close(out);
        return rc;
    }
    return out;
}

/* A quick look at the first 64 KiB: NUL bytes or mostly invalid UTF-8/control bytes
 * mean a binary file. Returns 0 or an error naming the file. */
static int check_text(const char *path, const char *p, size_t n, struct bz_err *err)
{
    size_t lim = BZ_MIN(n, (size_t)65536), bad = 0;
    const char *nul = memchr(p, '\0', lim);
    if (nul)
        return bz_errf(err, BZ_EFORMAT, "%s: binary file (NUL byte at offset %zu), not JSON",
                       path, (size_t)(nul - p));
    const unsigned char *u = (const unsigned char *)p;
    for (size_t i = 0; i < lim;) {
        if (u[i] < 0x80) {
            bad += u[i] < 0x20 && u[i] != '\n' && u[i] != '\r' && u[i] != '\t' && u[i] != '\f';
            i++;
            continue;
        }
        int k = bz_utf8_seq_len(u + i, lim - i);
        if (k == 0) {
            if (lim - i < 4 && lim < n) /* a sequence cut by the 64 KiB window */
                break;
            bad++;
            k = 1;
        }
        i += (size_t)k;
    }
    if (bad > 8 && bad * 20 > lim)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: binary file (%zu of the first %zu bytes are not text), not JSON",
                       path, bad, lim);
    return 0;
}

/* The format of the first records that parse (up to 16 tried). */
static int detect_format(struct ds_dataset *ds)
{
    const char *p = ds->map + ds->start, *end = ds->map + ds->size;
    int tries = 0;
    if (ds->layout == DS__JSONL) {
        while (p < end && tries < 16) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            struct ds_record r;
            if (e > p) {
                tries++;
                int rc = ds__parse_at(p, (size_t)(e - p), DS_FMT_UNKNOWN, 0, NULL, 1, 1, 0, &r,
                                      NULL);
                int f = r.format;
                ds_record_cleanup(&r);
                if (rc > 0)
                    return f;
            }
            p = e + 1;
        }
        return DS_FMT_UNKNOWN;
    }
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    if (ds->layout == DS__ARRAY)
        p++;
    while (p < end && tries < 16) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ','))
            p++;
        if (p >= end || *p == ']')
            break;
        const char *e = ds__scan_value(p, end);
        if (!e || e == p)
            break;
        tries++;
        struct ds_record r;
        int rc = ds__parse_at(p, (size_t)(e - p), DS_FMT_UNKNOWN, 0, NULL, 1, 1, 0, &r, NULL);
        int f = r.format;
        ds_record_cleanup(&r);
        if (rc > 0)
            return f;
        p = e;
    }
    return DS_FMT_UNKNOWN;
}

/* Contract: see dataset.h. On success *out owns the file mapping and (unless
 * read_only) the open journal; ds_close releases them. */
int ds_open(struct ds_dataset **out, const char *path, const struct ds_open_opts *opts,
            struct bz_err *err)
{
    *out = NULL;
    struct ds_open_opts def = {0};
    if (!opts)
        opts = &def;
    if (opts->format < 0 || opts->format >= DS_FMT_COUNT)
        return bz_errf(err, BZ_EINVAL, "%s: unknown format %d", path, opts->format);
    struct stat st;
    if (stat(path, &st) < 0)
        return bz_errf(err, -errno, "%s: %s", path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(st.st_mode))
        return bz_errf(err, BZ_EISDIR, "%s: is a directory, not a dataset file", path);
    if (!S_ISREG(st.st_mode))
        return bz_errf(err, BZ_EFORMAT, "%s: not a regular file", path);
    if (st.st_size == 0)
        return bz_errf(err, BZ_EEMPTY, "%s: empty file (no records)", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    unsigned char magic[2] = {0};
    if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        int t = gunzip_to_temp(path, fd, err);
        close(fd);
        if (t < 0)
            return t;
        fd = t;
        if (fstat(fd, &st) < 0 || st.st_size == 0) {
            close(fd);
            return bz_errf(err, BZ_EEMPTY, "%s: empty file (inflates to nothing)", path);
        }
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        int e = errno;
        close(fd);
        return bz_errf(err, -e, "%s: cannot map: %s", path, strerror(e));
    }

    struct ds_dataset *ds = bz_calloc(1, sizeof *ds);
    pthread_mutex_init(&ds->mu, NULL);
    ds->path = bz_strdup(path);
    ds->jfd = -1;
    ds->fd = fd;
    ds->map = map;
    ds->size = (size_t)st.st_size;
    ds->read_only = opts->read_only;
    ds->fmt_override = opts->format;
    if (ds->size >= 3 && memcmp(map, "\xEF\xBB\xBF", 3) == 0)
        ds->start = 3;
    int rc = check_text(path, ds->map + ds->start, ds->size - ds->start, err);
    size_t k = ds->start;
    while (rc == 0 && k < ds->size && strchr(" \t\r\n", ds->map[k]))
        k++;
    if (rc == 0 && k == ds->size)
        rc = bz_errf(err, BZ_EEMPTY, "%s: empty file (only whitespace)", path);
    if (rc < 0) {
        ds_close(ds);
        return rc;
    }
    ds->layout = ds__detect_layout(ds->map + ds->start, ds->size - ds->start);
    ds->fmt_detected = ds->fmt_override ? ds->fmt_override : detect_format(ds);
    ds->expand_instances = ds->fmt_detected == DS_FMT_SELFINSTRUCT;
    ds->ent = bz_calloc(DS__MAX_CHUNKS, sizeof *ds->ent);
    ds->sum = bz_calloc(DS__MAX_CHUNKS, sizeof *ds->sum);
    rc = ds__journal_open(ds, err);
    if (rc < 0) {
        ds_close(ds);
        return rc;
    }
    if (opts->background) {
        int e = pthread_create(&ds->thread, NULL, ds__index_thread, ds);
        if (e != 0) {
            ds_close(ds);
            return bz_errf(err, -e, "%s: cannot start the indexer: %s", path, strerror(e));
        }
        ds->thread_live = 1;
    } else {
        rc = ds__index_run(ds);
        if (rc < 0) {
            if (err && !err->code)
                *err = ds->index_err;
            ds_close(ds);
            return rc;
        }
    }
    *out = ds;
    return 0;
}

/* Contract: see dataset.h. Stops and joins the indexer first. Takes NULL. */
void ds_close(struct ds_dataset *ds)
{
    if (!ds)
        return;
    if (ds->thread_live) {
        atomic_store(&ds->stop, 1);
        pthread_join(ds->thread, NULL);
        ds->thread_live = 0;
    }
    if (ds->map)
        munmap((void *)ds->map, ds->size);
    ds__refresh_cleanup(ds);
    if (ds->fd >= 0)
        close(ds->fd);
    for (size_t c = 0; ds->ent && c < DS__MAX_CHUNKS && ds->ent[c]; c++)
        ds__chunk_free(ds->ent[c], DS__CHUNK * sizeof(struct ds__ent));
    for (size_t c = 0; ds->sum && c < DS__MAX_CHUNKS && ds->sum[c]; c++)
        ds__chunk_free(ds->sum[c], DS__CHUNK * sizeof(struct ds__sum));
    free(ds->ent);
    free(ds->sum);
    ds__journal_close(ds);
    for (size_t i = 0; i < ds->n_bad_msgs; i++)
        free(ds->bad_msgs[i]);
    free(ds->bad_msgs);
    free(ds->idt_key);
    free(ds->idt_mult);
    pthread_mutex_destroy(&ds->mu);
    free(ds->path);
    free(ds);
}

const char *ds_path(const struct ds_dataset *ds)
{
    return ds->path;
}

int ds_detected_format(const struct ds_dataset *ds)
{
    return ds->fmt_detected;
}

/* ---------------------------------------------------------------- progress */

void ds_progress(struct ds_dataset *ds, struct ds_progress *p)
{
    p->indexed = atomic_load_explicit(&ds->indexed, memory_order_acquire);
    p->finished = atomic_load_explicit(&ds->finished, memory_order_acquire);
    p->bytes_done = atomic_load_explicit(&ds->bytes_done, memory_order_relaxed);
    p->bytes_total = ds->size;
    p->records = atomic_load_explicit(&ds->n_ent, memory_order_acquire);
    p->analysed = atomic_load_explicit(&ds->n_sum, memory_order_acquire);
}

/* Contract: see dataset.h. Owner thread only. */
int ds_wait(struct ds_dataset *ds, struct bz_err *err)
{
    if (ds->thread_live) {
        pthread_join(ds->thread, NULL);
        ds->thread_live = 0;
    }
    if (ds->index_rc < 0 && err && !err->code)
        *err = ds->index_err;
    return ds->index_rc;
}

size_t ds_count(struct ds_dataset *ds)
{
    return atomic_load_explicit(&ds->n_ent, memory_order_acquire);
}

/* ---------------------------------------------------------------- reading */

/* Contract: see dataset.h. Any thread; rec is caller storage, ds_record_cleanup frees. */
int ds_get(struct ds_dataset *ds, size_t i, struct ds_record *rec, struct bz_err *err)
{
    memset(rec, 0, sizeof *rec);
    if (i >= ds_count(ds))
        return bz_errf(err, BZ_ERANGE, "%s: record %zu out of range (have %zu)", ds->path, i,
                       ds_count(ds));
    int rc = ds__parse_ent(ds, i, 1, rec, err);
    if (rc < 0) {
        rec->id = bz_asprintf("bad:%zu", rec->line);
        return rc;
    }
    char *edit = NULL;
    int edit_applied = 0;
    pthread_mutex_lock(&ds->mu);
    struct ds__jent *je = ds__jt_find(ds, bz_hash64(rec->id, strlen(rec->id)), rec->id);
    rec->status = je ? je->status : DS_PENDING;
    if (je && je->edit)
        edit = bz_strdup(je->edit);
    pthread_mutex_unlock(&ds->mu);
    if (edit) {
        struct ds_msg *m;
        int n;
        if (ds__msgs_from_json(edit, &m, &n, NULL) == 0) {
            rec->orig_msgs = rec->msgs;
            rec->n_orig_msgs = rec->n_msgs;
            rec->msgs = m;
            rec->n_msgs = n;
            rec->flags |= DS_F_EDITED;
            edit_applied = 1;
        }
        free(edit);
    }
    /* the analysis pass has the flags already, unless an edit changed the text */
    if (i < atomic_load_explicit(&ds->n_sum, memory_order_acquire) && !edit_applied)
        rec->flags |= ds__sum_at(ds, i)->flags;
    else
        rec->flags |= ds__rules_flags(rec);
    if (i < atomic_load_explicit(&ds->n_sum, memory_order_acquire))
        rec->flags |= ds__sum_at(ds, i)->flags & DS_F_DUP;
    return 0;
}

/* Contract: see dataset.h. Any thread. Returns 1 with *out filled when record i has
 * been analysed, 0 when not yet. */
int ds_summary(struct ds_dataset *ds, size_t i, struct ds_summary *out)
{
    if (i >= atomic_load_explicit(&ds->n_sum, memory_order_acquire))
        return 0;
    const struct ds__sum *s = ds__sum_at(ds, i);
    out->id_hash = s->id_hash;
    out->prompt_chars = s->prompt_chars;
    out->response_chars = s->response_chars;
    out->flags = s->flags;
    out->status = DS_PENDING;
    if (!(s->flags & DS_F_BAD)) {
        pthread_mutex_lock(&ds->mu);
        struct ds__jent *je = ds__jt_find(ds, s->id_hash, NULL);
        if (je) {
            out->status = je->status;
            if (je->edit)
                out->flags |= DS_F_EDITED;
        }
        pthread_mutex_unlock(&ds->mu);
    }
    return 1;
}

/* Contract: see dataset.h. Any thread. Records not analysed yet count as pending. */
void ds_counts(struct ds_dataset *ds, struct ds_counts *c)
{
    memset(c, 0, sizeof *c);
    c->records = ds_count(ds);
    pthread_mutex_lock(&ds->mu);
    c->bad = ds->n_bad;
    c->accepted = ds->st_count[DS_ACCEPTED];
    c->rejected = ds->st_count[DS_REJECTED];
    c->flagged = ds->st_count[DS_FLAGGED];
    c->duplicates = ds->n_dup;
    c->empty = ds->n_empty;
    pthread_mutex_unlock(&ds->mu);
    size_t decided = c->bad + c->accepted + c->rejected + c->flagged;
    c->pending = c->records > decided ? c->records - decided : 0;
}

size_t ds_bad_count(struct ds_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    size_t n = ds->n_bad;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

/* Contract: see dataset.h. Only the first 1000 messages are kept (the count is
 * exact); NULL beyond them. Borrowed until ds_close. */
const char *ds_bad_message(struct ds_dataset *ds, size_t i)
{
    pthread_mutex_lock(&ds->mu);
    const char *m = i < ds->n_bad_msgs ? ds->bad_msgs[i] : NULL;
    pthread_mutex_unlock(&ds->mu);
    return m;
}
