/*
 * filter.c: the filter pass over a whole dataset: the rule flags of every record
 * under a rule configuration, exact duplicate groups (normalized content hash) and
 * near-duplicate groups (neardup.c over each record's whole text), one kept member
 * per group; and writing the outcome into the journal as suggested rejects (or, when
 * asked, as one undoable reject step).
 *
 * Key ideas: records are parsed once each (ds_get: edits applied); a group keeps its
 * first member in file order, or its longest response (rules "keep"), and every
 * other member is flagged DUP (exact) or NEARDUP (near, when not exact already).
 * The journal gets one suggestion step per distinct reason, only where the
 * suggestion changes, so running the filter twice writes nothing new.
 *
 * Left out: parallel parsing (one thread; the near-duplicate pass dominates on big
 * files), filtering while the dataset is still being indexed (callers ds_wait first).
 */
#include "dataset/filter.h"
#include "dataset/internal.h"

#include <stdlib.h>
#include <string.h>

struct hidx {
    uint64_t h;
    size_t i;
};

static int hidx_cmp(const void *x, const void *y)
{
    const struct hidx *a = x, *b = y;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

void ds_filter_why(unsigned f, char *out, size_t cap)
{
    size_t o = 0;
    if (cap)
        out[0] = '\0';
    for (int b = 0; b < DS_F_NBITS; b++) {
        unsigned bit = 1u << b;
        if (!(f & bit & DS_FILTER_REJECT_MASK))
            continue;
        int w = snprintf(out + o, cap > o ? cap - o : 0, "%s%s", o ? "," : "", ds_flag_name(bit));
        if (w < 0 || o + (size_t)w >= cap)
            break;
        o += (size_t)w;
    }
}

void ds_filter_result_free(struct ds_filter_result *res)
{
    for (size_t g = 0; g < res->n_groups; g++)
        free(res->groups[g].idx);
    free(res->groups);
    for (size_t i = 0; res->ids && i < res->records; i++)
        free(res->ids[i]);
    free(res->ids);
    free(res->flags);
    memset(res, 0, sizeof *res);
}

static void add_group(struct ds_filter_result *res, size_t *cap, size_t *idx, size_t n,
                      int near, const uint32_t *resp_len, int keep_rule)
{
    if (res->n_groups == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        res->groups = bz_realloc(res->groups, *cap * sizeof *res->groups);
    }
    struct ds_group *g = &res->groups[res->n_groups++];
    g->idx = idx;
    g->n = n;
    g->near = near;
    g->keep = idx[0];
    for (size_t k = 0; near && k < n; k++) { /* the first that is not an exact copy */
        if (!(res->flags[idx[k]] & DS_F_DUP)) {
            g->keep = idx[k];
            break;
        }
    }
    if (keep_rule == DS_KEEP_LONGEST) {
        for (size_t k = 1; k < n; k++) {
            size_t i = idx[k];
            if (near && (res->flags[i] & DS_F_DUP))
                continue; /* an exact copy of another member stays flagged */
            if (resp_len[i] > resp_len[g->keep])
                g->keep = i;
        }
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        if (i == g->keep)
            continue;
        if (!near) {
            res->flags[i] |= DS_F_DUP;
            res->exact_members++;
        } else if (!(res->flags[i] & DS_F_DUP)) {
            res->flags[i] |= DS_F_NEARDUP;
            res->near_members++;
        }
    }
    if (!near)
        res->flags[g->keep] &= ~(unsigned)DS_F_DUP;
}

/* The record's whole text for near duplicates: every message, then chosen. */
static void record_text(const struct ds_record *r, struct bz_buf *b)
{
    b->len = 0;
    for (int m = 0; m < r->n_msgs; m++) {
        bz_buf_puts(b, r->msgs[m].content);
        bz_buf_putc(b, '\n');
    }
    if (r->chosen)
        bz_buf_puts(b, r->chosen);
}

/* Contract: see filter.h. */
int ds_filter_run(struct ds_dataset *ds, const struct ds_rules *r, double near_threshold,
                  int shingle, struct ds_filter_result *res, struct bz_err *err)
{
    memset(res, 0, sizeof *res);
    double t0 = bz_now();
    int rc = ds_wait(ds, err);
    if (rc < 0)
        return rc;
    if (near_threshold < 0)
        near_threshold = r->near_threshold;
    if (shingle < 0)
        shingle = r->shingle;
    struct ds_neardup *nd = NULL;
    if (r->enabled & DS_F_NEARDUP) {
        struct ds_neardup_opts no = {near_threshold, shingle};
        if ((rc = ds_neardup_new(&nd, &no, err)) < 0)
            return rc;
    }
    size_t n = ds_count(ds);
    res->records = n;
    res->flags = bz_calloc(n ? n : 1, sizeof *res->flags);
    res->ids = bz_calloc(n ? n : 1, sizeof *res->ids);
    struct hidx *hx = bz_malloc((n ? n : 1) * sizeof *hx);
    uint32_t *resp_len = bz_calloc(n ? n : 1, sizeof *resp_len);
    size_t nh = 0;
    struct bz_buf text;
    bz_buf_init(&text);
    for (size_t i = 0; i < n; i++) {
        struct ds_record rec;
        if (ds_get(ds, i, &rec, NULL) < 0) {
            res->flags[i] = DS_F_BAD;
            res->bad++;
            if (nd)
                ds_neardup_add(nd, "", 0);
            ds_record_cleanup(&rec);
            continue;
        }
        res->flags[i] = ds_rules_flags(r, &rec) | (rec.flags & DS_F_EDITED);
        res->ids[i] = bz_strdup(rec.id);
        size_t rl = strlen(ds_record_response(&rec));
        resp_len[i] = rl > UINT32_MAX ? UINT32_MAX : (uint32_t)rl;
        if (r->enabled & DS_F_DUP) {
            hx[nh].h = ds__rules_dup_hash(&rec);
            hx[nh++].i = i;
        }
        if (nd) {
            record_text(&rec, &text);
            ds_neardup_add(nd, text.p ? text.p : "", text.len);
        }
        ds_record_cleanup(&rec);
    }
    bz_buf_cleanup(&text);

    size_t gcap = 0;
    /* exact groups: runs of one normalized hash */
    qsort(hx, nh, sizeof *hx, hidx_cmp);
    for (size_t s = 0; s < nh;) {
        size_t e = s + 1;
        while (e < nh && hx[e].h == hx[s].h)
            e++;
        if (e - s > 1) {
            size_t *idx = bz_malloc((e - s) * sizeof *idx);
            for (size_t k = s; k < e; k++)
                idx[k - s] = hx[k].i;
            add_group(res, &gcap, idx, e - s, 0, resp_len, r->keep);
        }
        s = e;
    }
    res->n_exact_groups = res->n_groups;
    free(hx);

    /* near groups: union-find components with two or more members that are not all
     * exact copies of one record */
    if (nd) {
        uint32_t *g = bz_malloc((n ? n : 1) * sizeof *g);
        size_t ng = 0;
        rc = ds_neardup_groups(nd, g, &ng, &res->candidates, err);
        if (rc == 0 && ng) {
            size_t *count = bz_calloc(n, sizeof *count), *start = bz_calloc(n + 1, sizeof *start);
            for (size_t i = 0; i < n; i++)
                count[g[i]]++;
            for (size_t i = 0; i < n; i++)
                start[i + 1] = start[i] + count[i];
            size_t *members = bz_malloc((n ? n : 1) * sizeof *members), *fill = count;
            memset(fill, 0, n * sizeof *fill);
            for (size_t i = 0; i < n; i++)
                members[start[g[i]] + fill[g[i]]++] = i;
            for (size_t root = 0; root < n; root++) {
                size_t m = start[root + 1] - start[root];
                if (m < 2)
                    continue;
                size_t *idx = members + start[root], distinct = 0;
                for (size_t k = 0; k < m; k++)
                    distinct += !(res->flags[idx[k]] & DS_F_DUP);
                if (distinct < 2)
                    continue; /* all exact copies of one record: the exact group says it */
                size_t *copy = bz_malloc(m * sizeof *copy);
                memcpy(copy, idx, m * sizeof *copy);
                add_group(res, &gcap, copy, m, 1, resp_len, r->keep);
            }
            free(members);
            free(count);
            free(start);
        }
        free(g);
        ds_neardup_free(nd);
    }
    free(resp_len);
    if (rc < 0) {
        ds_filter_result_free(res);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < DS_F_NBITS; b++)
            res->per_flag[b] += (res->flags[i] >> b) & 1;
        res->flagged += !(res->flags[i] & DS_F_BAD) && (res->flags[i] & DS_FILTER_REJECT_MASK);
    }
    res->seconds = bz_now() - t0;
    return 0;
}

/* ---------------------------------------------------------------- journal */

struct idwhy {
    const char *id;
    unsigned f;
    size_t i;
};

static int idwhy_by_id(const void *x, const void *y)
{
    const struct idwhy *a = x, *b = y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

static int idwhy_by_flags(const void *x, const void *y)
{
    const struct idwhy *a = x, *b = y;
    if (a->f != b->f)
        return a->f < b->f ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* A why made only of flag names: written by a filter, so the filter may clear it. */
static int filter_why(const char *why)
{
    if (!why || !why[0])
        return 0;
    char *copy = bz_strdup(why), *save = NULL;
    int ok = 1;
    for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save))
        ok = ds_flag_parse(t) != 0;
    free(copy);
    return ok;
}

/* Contract: see filter.h. Owner thread. */
int ds_filter_apply(struct ds_dataset *ds, const struct ds_filter_result *res, int decide,
                    struct ds_filter_applied *out, struct bz_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = res->records;
    /* ids of kept group members: their copies named by the same id lose the dup reason */
    struct idwhy *v = bz_malloc((n ? n : 1) * sizeof *v);
    size_t nv = 0;
    char **keep_ids = bz_malloc((res->n_groups ? res->n_groups : 1) * sizeof *keep_ids);
    for (size_t g = 0; g < res->n_groups; g++)
        keep_ids[g] = res->ids[res->groups[g].keep];
    for (size_t i = 0; i < n; i++) {
        if (!res->ids[i])
            continue;
        unsigned f = res->flags[i] & DS_FILTER_REJECT_MASK;
        if (f & (DS_F_DUP | DS_F_NEARDUP)) {
            for (size_t g = 0; g < res->n_groups; g++) {
                if (keep_ids[g] && strcmp(keep_ids[g], res->ids[i]) == 0) {
                    f &= ~(unsigned)(DS_F_DUP | DS_F_NEARDUP);
                    out->shared++;
                    break;
                }
            }
        }
        v[nv++] = (struct idwhy){res->ids[i], f, i};
    }
    free(keep_ids);
    /* one entry per id, reasons merged */
    qsort(v, nv, sizeof *v, idwhy_by_id);
    size_t m = 0;
    for (size_t k = 0; k < nv; k++) {
        if (m && strcmp(v[m - 1].id, v[k].id) == 0)
            v[m - 1].f |= v[k].f;
        else
            v[m++] = v[k];
    }
    qsort(v, m, sizeof *v, idwhy_by_flags);
    const char **ids = bz_malloc((m ? m : 1) * sizeof *ids);
    int rc = 0;
    if (decide) {
        size_t k = 0;
        for (size_t j = 0; j < m; j++) {
            if (!v[j].f)
                continue;
            if (ds_status(ds, v[j].id) != DS_PENDING)
                out->decided++;
            else
                ids[k++] = v[j].id;
        }
        if (k && (rc = ds_decide(ds, ids, k, DS_OP_REJECT, err)) == 0)
            out->steps++;
        out->ids = rc == 0 ? k : 0;
    } else {
        size_t nclear = 0;
        const char **clear = bz_malloc((m ? m : 1) * sizeof *clear);
        for (size_t s = 0; s < m && rc == 0;) {
            size_t e = s;
            while (e < m && v[e].f == v[s].f)
                e++;
            char why[256];
            ds_filter_why(v[s].f, why, sizeof why);
            size_t k = 0;
            for (size_t j = s; j < e; j++) {
                int op;
                const char *old = NULL;
                int has = ds_suggestion(ds, v[j].id, &op, &old);
                if (!v[j].f) {
                    if (has && filter_why(old))
                        clear[nclear++] = v[j].id;
                } else if (ds_status(ds, v[j].id) != DS_PENDING) {
                    out->decided++;
                } else if (has && op == DS_OP_REJECT && old && strcmp(old, why) == 0) {
                    out->unchanged++;
                } else {
                    ids[k++] = v[j].id;
                }
            }
            if (k && (rc = ds_suggest(ds, ids, k, DS_OP_REJECT, why, err)) == 0) {
                out->steps++;
                out->ids += k;
            }
            s = e;
        }
        if (rc == 0 && nclear &&
            (rc = ds_suggest(ds, clear, nclear, DS_OP_RESET, NULL, err)) == 0) {
            out->steps++;
            out->cleared = nclear;
        }
        free(clear);
    }
    free(ids);
    free(v);
    return rc;
}
