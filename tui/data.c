/*
 * data.c: the Data view's state: the visible list (all records or a filtered
 * index list), selection, marks, a parsed-row cache, decisions with "advance to
 * the next pending", bulk actions, and an incremental regex search that scans a
 * bounded number of rows per loop turn so the screen never freezes. It follows the
 * file as it grows (ds_refresh), and keeps judge scores and filter suggestions per
 * record for the score sort, the score and suggestion filters and the pre-marking.
 *
 * Scores and suggestions are looked up by id, so filling them parses each record
 * once; that happens only when the dataset has any and a sort, filter or pre-mark
 * needs them (the rows on screen look theirs up directly).
 *
 * No curses here: view-data.c draws this state, tests drive it headless.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "tui/internal.h"

void tui_data_msg(struct tui_data *d, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->msg_error = error;
}

/* ---------------------------------------------------------------- scores, suggestions by id */

int tui_data_score_info(struct tui_data *d, const char *id, double *score, const char **judge,
                        const char **rationale)
{
    return ds_score_get(d->ds, id, score, judge, rationale);
}

int tui_data_suggestion_info(struct tui_data *d, const char *id, int *op, const char **why)
{
    return ds_suggestion(d->ds, id, op, why);
}

static void row_clear(struct tui_row *r)
{
    free(r->id);
    free(r->title);
    free(r->error);
    memset(r, 0, sizeof *r);
    r->index = SIZE_MAX;
}

void tui_data_init(struct tui_data *d, struct ds_dataset *ds)
{
    memset(d, 0, sizeof *d);
    d->ds = ds;
    d->filter.min_chars = d->filter.max_chars = -1;
    d->filter.score_below = -1;
    d->follow_size = -1;
    for (int i = 0; i < TUI_ROW_CACHE; i++)
        d->cache[i].index = SIZE_MAX;
}

void tui_data_cleanup(struct tui_data *d)
{
    for (int i = 0; i < TUI_ROW_CACHE; i++)
        row_clear(&d->cache[i]);
    free(d->view);
    free(d->marks);
    free(d->score);
    free(d->sugg);
    free(d->pattern);
    pcre2_code_free(d->re);
    memset(d, 0, sizeof *d);
}

size_t tui_data_count(struct tui_data *d)
{
    return d->view ? d->n_view : ds_count(d->ds);
}

size_t tui_data_record(struct tui_data *d, size_t pos)
{
    return d->view ? d->view[pos] : pos;
}

void tui_data_invalidate(struct tui_data *d, size_t index)
{
    struct tui_row *r = &d->cache[index % TUI_ROW_CACHE];
    if (r->index == index)
        row_clear(r);
}

static char *first_line(const char *s, size_t max)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strcspn(s, "\r\n");
    if (n > max) {
        /* cut at a character boundary */
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return bz_strndup(s, n);
}

const struct tui_row *tui_data_row(struct tui_data *d, size_t pos)
{
    if (pos >= tui_data_count(d))
        return NULL;
    size_t index = tui_data_record(d, pos);
    struct tui_row *r = &d->cache[index % TUI_ROW_CACHE];
    if (r->index == index)
        return r;
    row_clear(r);
    r->index = index;
    struct ds_record rec;
    struct bz_err err = {0};
    memset(&rec, 0, sizeof rec);
    int rc = ds_get(d->ds, index, &rec, &err);
    r->sugg_op = -1;
    if (rc != 0) {
        r->id = bz_strdup("");
        r->title = bz_strdup("");
        r->error = bz_strdup(bz_err_msg(&err, rc));
        r->flags = DS_F_BAD;
    } else {
        r->has_score = ds_score_get(d->ds, rec.id, &r->score, NULL, NULL);
        int op;
        if (ds_suggestion(d->ds, rec.id, &op, NULL))
            r->sugg_op = op;
        const char *p = ds_record_prompt(&rec);
        const char *a = ds_record_response(&rec);
        r->id = bz_strdup(rec.id ? rec.id : "");
        r->title = first_line(p, 240);
        r->prompt_chars = (size_t)tui_text_width(p, strlen(p));
        r->response_chars = (size_t)tui_text_width(a, strlen(a));
        r->flags = rec.flags;
    }
    struct ds_summary s;
    if (ds_summary(d->ds, index, &s))
        r->flags |= s.flags;
    ds_record_cleanup(&rec);
    return r;
}

/* ---------------------------------------------------------------- movement */

void tui_data_goto(struct tui_data *d, size_t pos, int rows)
{
    size_t n = tui_data_count(d);
    if (n == 0) {
        d->sel = d->top = 0;
        return;
    }
    if (pos >= n)
        pos = n - 1;
    if (pos != d->sel) {
        d->detail_scroll = 0;
        d->show_orig = 0;
    }
    d->sel = pos;
    if (rows < 1)
        rows = 1;
    if (d->sel < d->top)
        d->top = d->sel;
    else if (d->sel >= d->top + (size_t)rows)
        d->top = d->sel - (size_t)rows + 1;
}

void tui_data_move(struct tui_data *d, long delta, int rows)
{
    long pos = (long)d->sel + delta;
    if (pos < 0)
        pos = 0;
    tui_data_goto(d, (size_t)pos, rows);
}

static int row_status(struct tui_data *d, const struct tui_row *r)
{
    if (!r || (r->flags & DS_F_BAD))
        return -1;
    return ds_status(d->ds, r->id);
}

/* Move to the next pending row after the selection (at most a bounded scan). */
static void advance_pending(struct tui_data *d, int rows)
{
    size_t n = tui_data_count(d);
    size_t limit = 20000;
    for (size_t pos = d->sel + 1; pos < n && limit > 0; pos++, limit--) {
        if (row_status(d, tui_data_row(d, pos)) == DS_PENDING) {
            tui_data_goto(d, pos, rows);
            return;
        }
    }
    tui_data_msg(d, 0, "no pending record after this one");
}

int tui_data_decide(struct tui_data *d, int op, int rows)
{
    const struct tui_row *r = tui_data_row(d, d->sel);
    if (!r)
        return 0;
    if (r->flags & DS_F_BAD) {
        tui_data_msg(d, 1, "this line could not be read: %s", r->error);
        return BZ_EINVAL;
    }
    struct bz_err err = {0};
    const char *id = r->id;
    int rc = ds_decide(d->ds, &id, 1, op, &err);
    if (rc != 0) {
        tui_data_msg(d, 1, "%s", bz_err_msg(&err, rc));
        return rc;
    }
    tui_data_msg(d, 0, "%s %s", ds_op_name(op), r->id);
    if (op != DS_OP_RESET)
        advance_pending(d, rows);
    return 0;
}

int tui_data_skip(struct tui_data *d, int rows)
{
    d->msg[0] = '\0';
    advance_pending(d, rows);
    return 0;
}

/* Position of the record with this id in the visible list, or SIZE_MAX. The cache
 * is tried first (undo nearly always concerns a row seen recently). */
static size_t find_id(struct tui_data *d, const char *id)
{
    size_t n = tui_data_count(d);
    size_t lo = d->sel > 2000 ? d->sel - 2000 : 0;
    size_t hi = BZ_MIN(n, d->sel + 2000);
    for (size_t pos = lo; pos < hi; pos++) {
        const struct tui_row *r = tui_data_row(d, pos);
        if (r && r->id && strcmp(r->id, id) == 0)
            return pos;
    }
    return SIZE_MAX;
}

int tui_data_undo(struct tui_data *d, int redo, int rows)
{
    struct bz_err err = {0};
    const char *first = NULL;
    int rc = redo ? ds_redo(d->ds, &first, &err) : ds_undo(d->ds, &first, &err);
    if (rc < 0) {
        tui_data_msg(d, 1, "%s", bz_err_msg(&err, rc));
        return rc;
    }
    if (rc == 0) {
        tui_data_msg(d, 0, "nothing to %s", redo ? "redo" : "undo");
        return 0;
    }
    if (first) {
        char *id = bz_strdup(first);
        size_t pos = find_id(d, id);
        if (pos != SIZE_MAX)
            tui_data_goto(d, pos, rows);
        tui_data_msg(d, 0, "%s %s", redo ? "redid" : "undid", id);
        free(id);
    }
    return 0;
}

/* ---------------------------------------------------------------- marks, bulk */

static void marks_reserve(struct tui_data *d, size_t index)
{
    size_t need = index / 8 + 1;
    if (need <= d->marks_cap)
        return;
    size_t cap = d->marks_cap ? d->marks_cap : 1024;
    while (cap < need)
        cap *= 2;
    d->marks = bz_realloc(d->marks, cap);
    memset(d->marks + d->marks_cap, 0, cap - d->marks_cap);
    d->marks_cap = cap;
}

int tui_data_is_marked(struct tui_data *d, size_t index)
{
    return index / 8 < d->marks_cap && (d->marks[index / 8] >> (index % 8)) & 1;
}

static void set_mark(struct tui_data *d, size_t index, int on)
{
    marks_reserve(d, index);
    int was = tui_data_is_marked(d, index);
    if (on && !was) {
        d->marks[index / 8] |= (uint8_t)(1u << (index % 8));
        d->n_marked++;
    } else if (!on && was) {
        d->marks[index / 8] &= (uint8_t) ~(1u << (index % 8));
        d->n_marked--;
    }
}

void tui_data_toggle_mark(struct tui_data *d)
{
    if (tui_data_count(d) == 0)
        return;
    size_t index = tui_data_record(d, d->sel);
    set_mark(d, index, !tui_data_is_marked(d, index));
}

void tui_data_mark_all(struct tui_data *d, int on)
{
    if (!on) {
        if (d->marks)
            memset(d->marks, 0, d->marks_cap);
        d->n_marked = 0;
        return;
    }
    size_t n = tui_data_count(d);
    for (size_t pos = 0; pos < n; pos++)
        set_mark(d, tui_data_record(d, pos), 1);
}

size_t tui_data_bulk_count(struct tui_data *d)
{
    return d->n_marked ? d->n_marked : tui_data_count(d);
}

int tui_data_bulk(struct tui_data *d, int op)
{
    size_t n = tui_data_count(d);
    size_t cap = tui_data_bulk_count(d), k = 0, bad = 0;
    char **ids = bz_calloc(cap ? cap : 1, sizeof *ids);
    int use_marks = d->n_marked > 0;
    size_t total = use_marks ? ds_count(d->ds) : n;
    for (size_t i = 0; i < total && k < cap; i++) {
        size_t index = use_marks ? i : tui_data_record(d, i);
        if (use_marks && !tui_data_is_marked(d, index))
            continue;
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_get(d->ds, index, &rec, NULL) == 0 && rec.id)
            ids[k++] = bz_strdup(rec.id);
        else
            bad++;
        ds_record_cleanup(&rec);
        tui_data_invalidate(d, index);
    }
    struct bz_err err = {0};
    int rc = k ? ds_decide(d->ds, (const char *const *)ids, k, op, &err) : 0;
    if (rc != 0)
        tui_data_msg(d, 1, "%s", bz_err_msg(&err, rc));
    else
        tui_data_msg(d, 0, "%s: %zu records%s", ds_op_name(op), k,
                     bad ? " (unreadable lines skipped)" : "");
    for (size_t i = 0; i < k; i++)
        free(ids[i]);
    free(ids);
    if (rc == 0 && use_marks)
        tui_data_mark_all(d, 0);
    return rc;
}

/* ---------------------------------------------------------------- filters */

static int filter_is_all(const struct tui_filter *f)
{
    return f->status == TUI_SF_ALL && f->need_flags == 0 && f->min_chars < 0 && f->max_chars < 0 &&
           f->score_below < 0 && !f->suggested;
}

/* ---------------------------------------------------------------- scores, suggestions */

int tui_data_has_scores(struct tui_data *d)
{
    return ds_score_count(d->ds) > 0;
}

/* Fill score[] and sugg[] up to the records indexed now (nothing when the dataset
 * has neither scores nor suggestions). */
static void meta_update(struct tui_data *d)
{
    size_t n = ds_count(d->ds);
    if (d->n_meta >= n || (ds_score_count(d->ds) == 0 && ds_suggestion_count(d->ds) == 0))
        return;
    if (n > d->cap_meta) {
        size_t cap = d->cap_meta ? d->cap_meta : 1024;
        while (cap < n)
            cap *= 2;
        d->score = bz_realloc(d->score, cap * sizeof *d->score);
        d->sugg = bz_realloc(d->sugg, cap * sizeof *d->sugg);
        d->cap_meta = cap;
    }
    for (size_t i = d->n_meta; i < n; i++) {
        d->score[i] = NAN;
        d->sugg[i] = -1;
        double sc;
        int op;
        struct ds_summary sm;
        if (ds_summary(d->ds, i, &sm)) {
            /* by the id hash of the analysis pass: no record parsed */
            if (sm.flags & DS_F_BAD)
                continue;
            if (ds_score_get_hash(d->ds, sm.id_hash, &sc))
                d->score[i] = sc;
            if (ds_suggestion_hash(d->ds, sm.id_hash, &op))
                d->sugg[i] = (signed char)op;
            continue;
        }
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_get(d->ds, i, &rec, NULL) == 0 && rec.id) {
            if (ds_score_get(d->ds, rec.id, &sc, NULL, NULL))
                d->score[i] = sc;
            if (ds_suggestion(d->ds, rec.id, &op, NULL))
                d->sugg[i] = (signed char)op;
        }
        ds_record_cleanup(&rec);
    }
    d->n_meta = n;
}

static double score_of(const struct tui_data *d, size_t i)
{
    return i < d->n_meta ? d->score[i] : NAN;
}

static int sugg_of(const struct tui_data *d, size_t i)
{
    return i < d->n_meta ? d->sugg[i] : -1;
}

static int filter_match(const struct tui_data *d, size_t i, const struct ds_summary *s)
{
    const struct tui_filter *f = &d->filter;
    if (f->score_below >= 0 && !(score_of(d, i) < f->score_below))
        return 0; /* NAN (no score) fails the test too */
    if (f->suggested && sugg_of(d, i) != DS_OP_REJECT)
        return 0;
    switch (f->status) {
    case TUI_SF_PENDING: if (s->status != DS_PENDING || (s->flags & DS_F_BAD)) return 0; break;
    case TUI_SF_ACCEPTED: if (s->status != DS_ACCEPTED) return 0; break;
    case TUI_SF_REJECTED: if (s->status != DS_REJECTED) return 0; break;
    case TUI_SF_FLAGGED: if (s->status != DS_FLAGGED) return 0; break;
    case TUI_SF_BAD: if (!(s->flags & DS_F_BAD)) return 0; break;
    default: break;
    }
    if ((s->flags & f->need_flags) != f->need_flags)
        return 0;
    if (f->min_chars >= 0 && (long)s->response_chars < f->min_chars)
        return 0;
    if (f->max_chars >= 0 && (long)s->response_chars > f->max_chars)
        return 0;
    return 1;
}

static const struct tui_data *sort_data; /* qsort has no context argument */

/* Scored records first (by score, then file order), unscored last in file order. */
static int by_score(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    double x = score_of(sort_data, i), y = score_of(sort_data, j);
    int hx = !isnan(x), hy = !isnan(y);
    if (hx != hy)
        return hy - hx;
    if (hx && x != y)
        return (x < y) == (sort_data->sort == TUI_SORT_SCORE_UP) ? -1 : 1;
    return (i > j) - (i < j);
}

static void rebuild_view(struct tui_data *d)
{
    size_t keep = d->view ? (d->n_view ? d->view[BZ_MIN(d->sel, d->n_view - 1)] : 0) : d->sel;
    size_t old_top_off = d->sel >= d->top ? d->sel - d->top : 0;
    free(d->view);
    d->view = NULL;
    d->n_view = 0;
    struct ds_progress p;
    ds_progress(d->ds, &p);
    d->view_analysed = p.analysed;
    if (!filter_is_all(&d->filter) || d->sort != TUI_SORT_FILE) {
        meta_update(d);
        size_t n = ds_count(d->ds), cap = 1024;
        d->view = bz_malloc(cap * sizeof *d->view);
        for (size_t i = 0; i < n; i++) {
            struct ds_summary s;
            if (!ds_summary(d->ds, i, &s) || !filter_match(d, i, &s))
                continue;
            if (d->n_view == cap) {
                cap *= 2;
                d->view = bz_realloc(d->view, cap * sizeof *d->view);
            }
            d->view[d->n_view++] = i;
        }
        if (d->sort != TUI_SORT_FILE && d->n_view > 1) {
            sort_data = d;
            qsort(d->view, d->n_view, sizeof *d->view, by_score);
            sort_data = NULL;
        }
    }
    /* keep the selection on the same record when it is still visible (else on the
     * next one in file order), at the same place on the screen */
    size_t pos = 0;
    if (d->view) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < d->n_view; i++) {
            if (d->view[i] == keep) {
                pos = i;
                best = 0;
                break;
            }
            if (d->view[i] > keep && d->view[i] - keep < best) {
                best = d->view[i] - keep;
                pos = i;
            }
        }
    } else {
        pos = keep;
    }
    d->sel = pos;
    d->top = pos >= old_top_off ? pos - old_top_off : 0;
}

void tui_data_set_sort(struct tui_data *d, int sort)
{
    d->sort = sort >= 0 && sort < TUI_SORT__COUNT ? sort : TUI_SORT_FILE;
    rebuild_view(d);
}

size_t tui_data_premark(struct tui_data *d, double below, size_t *n_score, size_t *n_sugg)
{
    meta_update(d);
    size_t ns = 0, ng = 0, n = ds_count(d->ds);
    for (size_t i = 0; i < n; i++) {
        struct ds_summary s;
        if (!ds_summary(d->ds, i, &s) || (s.flags & DS_F_BAD) || s.status != DS_PENDING)
            continue;
        double sc = score_of(d, i);
        if (below >= 0 && sc < below) {
            ns += !tui_data_is_marked(d, i);
            set_mark(d, i, 1);
        } else if (sugg_of(d, i) == DS_OP_REJECT) {
            ng += !tui_data_is_marked(d, i);
            set_mark(d, i, 1);
        }
    }
    if (n_score)
        *n_score = ns;
    if (n_sugg)
        *n_sugg = ng;
    return ns + ng;
}

/* ---------------------------------------------------------------- following the file */

int tui_data_follow(struct tui_data *d)
{
    struct stat st;
    if (stat(ds_path(d->ds), &st) != 0 || (long long)st.st_size == d->follow_size)
        return 0;
    struct ds_progress p;
    ds_progress(d->ds, &p);
    if (!p.finished)
        return 0; /* the open-time index is still running; look again later */
    long long size = (long long)st.st_size;
    struct bz_err err = {0};
    int rc = ds_refresh(d->ds, &err);
    d->follow_size = size;
    if (rc < 0) {
        if (!d->follow_failed)
            tui_data_msg(d, 1, "%s", bz_err_msg(&err, rc));
        d->follow_failed = 1;
        return rc;
    }
    d->follow_failed = 0;
    if (rc > 0) {
        d->follow_added += (size_t)rc;
        if (d->n_meta || ds_score_count(d->ds) || ds_suggestion_count(d->ds))
            meta_update(d);
        if (d->view && d->sort == TUI_SORT_FILE) {
            /* in file order the new records come last: only they are filtered */
            size_t n = ds_count(d->ds);
            d->view = bz_realloc(d->view, (d->n_view + (size_t)rc) * sizeof *d->view);
            for (size_t i = n - (size_t)rc; i < n; i++) {
                struct ds_summary s;
                if (ds_summary(d->ds, i, &s) && filter_match(d, i, &s))
                    d->view[d->n_view++] = i;
            }
            ds_progress(d->ds, &p);
            d->view_analysed = p.analysed;
        } else if (d->view) {
            rebuild_view(d);
        }
    }
    return rc;
}

void tui_data_set_filter(struct tui_data *d, const struct tui_filter *f)
{
    d->filter = *f;
    rebuild_view(d);
}

void tui_data_refresh(struct tui_data *d)
{
    if (!d->view)
        return;
    struct ds_progress p;
    ds_progress(d->ds, &p);
    if (p.analysed != d->view_analysed)
        rebuild_view(d);
}

const char *tui_data_filter_desc(const struct tui_data *d, char *buf, size_t n)
{
    static const char *names[] = {"all", "pending", "accepted", "rejected", "flagged", "bad"};
    const struct tui_filter *f = &d->filter;
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_puts(&b, names[f->status]);
    for (unsigned bit = 0; bit < DS_F_NBITS; bit++)
        if ((f->need_flags & (1u << bit)) && ds_flag_name(1u << bit))
            bz_buf_printf(&b, "+%s", ds_flag_name(1u << bit));
    if (f->suggested)
        bz_buf_puts(&b, "+suggested");
    if (f->score_below >= 0)
        bz_buf_printf(&b, " score<%g", f->score_below);
    if (f->min_chars >= 0 || f->max_chars >= 0) {
        bz_buf_puts(&b, " len ");
        if (f->min_chars >= 0)
            bz_buf_printf(&b, "%ld", f->min_chars);
        bz_buf_puts(&b, "..");
        if (f->max_chars >= 0)
            bz_buf_printf(&b, "%ld", f->max_chars);
    }
    if (d->sort != TUI_SORT_FILE)
        bz_buf_puts(&b, d->sort == TUI_SORT_SCORE_UP ? " · by score ↑" : " · by score ↓");
    snprintf(buf, n, "%s", b.p);
    bz_buf_cleanup(&b);
    return buf;
}

/* ---------------------------------------------------------------- search */

int tui_data_search_start(struct tui_data *d, const char *pattern, int dir)
{
    if (pattern) {
        uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
        int upper = 0;
        for (const char *p = pattern; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                upper = 1;
        if (!upper)
            opts |= PCRE2_CASELESS;
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &ec,
                                       &eo, NULL);
        if (!re) {
            PCRE2_UCHAR buf[160];
            pcre2_get_error_message(ec, buf, sizeof buf);
            tui_data_msg(d, 1, "bad pattern at %zu: %s", (size_t)eo, (char *)buf);
            return BZ_EINVAL;
        }
        pcre2_code_free(d->re);
        free(d->pattern);
        d->re = re;
        d->pattern = bz_strdup(pattern);
    }
    if (!d->re) {
        tui_data_msg(d, 1, "no search pattern (press /)");
        return BZ_EINVAL;
    }
    size_t n = tui_data_count(d);
    if (n == 0)
        return 0;
    d->search_dir = dir;
    d->search_origin = d->sel;
    d->search_pos = dir > 0 ? (d->sel + 1) % n : (d->sel + n - 1) % n;
    d->search_left = n;
    tui_data_msg(d, 0, "searching /%s/ ...", d->pattern);
    return 0;
}

static int text_matches(pcre2_code *re, const char *s, pcre2_match_data *md)
{
    return pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
}

int tui_data_search_step(struct tui_data *d, size_t budget, int rows)
{
    if (!d->search_dir)
        return 0;
    size_t n = tui_data_count(d);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(d->re, NULL);
    int found = 0;
    while (budget-- > 0 && d->search_left > 0 && n > 0) {
        size_t pos = d->search_pos % n;
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_get(d->ds, tui_data_record(d, pos), &rec, NULL) == 0) {
            for (int i = 0; i < rec.n_msgs && !found; i++)
                found = text_matches(d->re, rec.msgs[i].content, md);
            if (!found && rec.chosen)
                found = text_matches(d->re, rec.chosen, md);
            if (!found && rec.rejected)
                found = text_matches(d->re, rec.rejected, md);
        }
        ds_record_cleanup(&rec);
        d->search_left--;
        if (found) {
            int wrapped = d->search_dir > 0 ? pos <= d->search_origin : pos >= d->search_origin;
            tui_data_goto(d, pos, rows);
            tui_data_msg(d, 0, "/%s/%s", d->pattern, wrapped ? " (wrapped)" : "");
            d->search_dir = 0;
            break;
        }
        d->search_pos = d->search_dir > 0 ? pos + 1 : pos + n - 1;
    }
    pcre2_match_data_free(md);
    if (!found && d->search_left == 0) {
        tui_data_msg(d, 1, "/%s/: no match", d->pattern);
        d->search_dir = 0;
    }
    return d->search_dir != 0;
}

size_t tui_data_matches(struct tui_data *d, const char *text, size_t n, size_t *offs,
                        size_t *lens, size_t max)
{
    if (!d->re)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(d->re, NULL);
    size_t k = 0, start = 0;
    while (k < max && start <= n) {
        int rc = pcre2_match(d->re, (PCRE2_SPTR)text, n, start, 0, md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        offs[k] = ov[0];
        lens[k] = ov[1] - ov[0];
        k++;
        start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(md);
    return k;
}
