/*
 * export.c: writing records out (Alpaca, ShareGPT, OpenAI; JSON array or JSON
 * lines) and the dataset statistics.
 *
 * Key ideas: an export streams through a temp file beside the target in 1 MiB
 * writes, then fsync + rename + directory fsync, so a crash leaves the old file or
 * the new one and memory stays flat for any size. Edits are applied (ds_get does
 * that) and every record carries its stable "id", so re-opening an export gives the
 * same ids. Preference pairs keep both answers, in the preference flavour of each
 * format (Alpaca instruction/chosen/rejected, LLaMA-Factory conversations +
 * chosen/rejected, OpenAI preferred_output/non_preferred_output), all of which read
 * back in.
 *
 * Left out: Alpaca's instruction/input split is not recovered (the user turn goes to
 * "instruction", "input" is empty).
 */
#include "dataset/internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- streaming file */

struct out {
    int fd;
    char *tmp;
    struct bz_buf b;
    int rc;
    struct bz_err *err;
};

static int out_flush(struct out *o)
{
    if (o->rc == 0)
        o->rc = bz_write_all(o->fd, o->b.p, o->b.len, o->tmp, o->err);
    o->b.len = 0;
    return o->rc;
}

static void put_str(struct bz_buf *b, const char *s)
{
    s = s ? s : "";
    bz_buf_json_str(b, s, strlen(s));
}

/* ---------------------------------------------------------------- one record */

static const char *sharegpt_from(int role)
{
    return role == DS_ROLE_SYSTEM ? "system" : role == DS_ROLE_USER ? "human" : "gpt";
}

static void put_msgs(struct bz_buf *b, const struct ds_msg *m, int n, int sharegpt)
{
    bz_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            bz_buf_putc(b, ',');
        if (sharegpt) {
            bz_buf_printf(b, "{\"from\":\"%s\",\"value\":", sharegpt_from(m[i].role));
        } else {
            bz_buf_printf(b, "{\"role\":\"%s\",\"content\":", ds_role_name(m[i].role));
        }
        put_str(b, m[i].content);
        bz_buf_putc(b, '}');
    }
    bz_buf_putc(b, ']');
}

static void put_alpaca(struct bz_buf *b, const struct ds_record *r)
{
    int pref = r->chosen != NULL;
    int last_a = -1, last_u = -1;
    for (int i = 0; i < r->n_msgs; i++)
        if (r->msgs[i].role == DS_ROLE_ASSISTANT)
            last_a = i;
    int upto = pref ? r->n_msgs : last_a;
    if (upto < 0)
        upto = r->n_msgs;
    for (int i = 0; i < upto; i++)
        if (r->msgs[i].role == DS_ROLE_USER)
            last_u = i;
    bz_buf_puts(b, ",\"instruction\":");
    put_str(b, last_u >= 0 ? r->msgs[last_u].content : "");
    bz_buf_puts(b, ",\"input\":\"\"");
    if (pref) {
        bz_buf_puts(b, ",\"chosen\":");
        put_str(b, r->chosen);
        bz_buf_puts(b, ",\"rejected\":");
        put_str(b, r->rejected);
    } else {
        bz_buf_puts(b, ",\"output\":");
        put_str(b, last_a >= 0 && last_a > last_u ? r->msgs[last_a].content : "");
    }
    /* system and earlier turns */
    int sys_done = 0, hist = 0;
    const char *pend_user = NULL;
    for (int i = 0; i < last_u; i++) {
        const struct ds_msg *m = &r->msgs[i];
        if (m->role == DS_ROLE_SYSTEM) {
            if (!sys_done) {
                bz_buf_puts(b, ",\"system\":");
                put_str(b, m->content);
                sys_done = 1;
            }
            continue;
        }
        if (m->role == DS_ROLE_USER) {
            if (pend_user) {
                bz_buf_puts(b, hist++ ? ",[" : ",\"history\":[[");
                put_str(b, pend_user);
                bz_buf_puts(b, ",\"\"]");
            }
            pend_user = m->content;
            continue;
        }
        bz_buf_puts(b, hist++ ? ",[" : ",\"history\":[[");
        put_str(b, pend_user ? pend_user : "");
        bz_buf_putc(b, ',');
        put_str(b, m->content);
        bz_buf_putc(b, ']');
        pend_user = NULL;
    }
    if (pend_user) {
        bz_buf_puts(b, hist++ ? ",[" : ",\"history\":[[");
        put_str(b, pend_user);
        bz_buf_puts(b, ",\"\"]");
    }
    if (hist)
        bz_buf_putc(b, ']');
}

static void put_record(struct bz_buf *b, const struct ds_record *r, int fmt, int with_source,
                       const char *file)
{
    bz_buf_puts(b, "{\"id\":");
    put_str(b, r->id);
    int pref = r->chosen != NULL;
    switch (fmt) {
    case DS_OUT_ALPACA:
        put_alpaca(b, r);
        break;
    case DS_OUT_SHAREGPT:
        bz_buf_puts(b, ",\"conversations\":");
        put_msgs(b, r->msgs, r->n_msgs, 1);
        if (pref) {
            bz_buf_puts(b, ",\"chosen\":{\"from\":\"gpt\",\"value\":");
            put_str(b, r->chosen);
            bz_buf_puts(b, "},\"rejected\":{\"from\":\"gpt\",\"value\":");
            put_str(b, r->rejected);
            bz_buf_putc(b, '}');
        }
        break;
    default:
        if (pref) {
            bz_buf_puts(b, ",\"input\":{\"messages\":");
            put_msgs(b, r->msgs, r->n_msgs, 0);
            bz_buf_puts(b, "},\"preferred_output\":[{\"role\":\"assistant\",\"content\":");
            put_str(b, r->chosen);
            bz_buf_puts(b, "}],\"non_preferred_output\":[{\"role\":\"assistant\",\"content\":");
            put_str(b, r->rejected);
            bz_buf_puts(b, "}]");
        } else {
            bz_buf_puts(b, ",\"messages\":");
            put_msgs(b, r->msgs, r->n_msgs, 0);
        }
        break;
    }
    if (with_source) {
        bz_buf_puts(b, ",\"source\":{\"file\":");
        put_str(b, file);
        bz_buf_printf(b, ",\"line\":%zu,\"format\":\"%s\"}", r->line, ds_format_name(r->format));
        if (r->meta_json) {
            bz_buf_puts(b, ",\"meta\":");
            bz_buf_puts(b, r->meta_json);
        }
    }
    bz_buf_putc(b, '}');
}

/* ---------------------------------------------------------------- export */

/* Contract: see dataset.h. Owner thread; waits for indexing to finish. */
int ds_export_ex(struct ds_dataset *ds, const char *path, const struct ds_export_opts *eo,
                 size_t *written, struct bz_err *err)
{
    if (written)
        *written = 0;
    if (eo->out_format < DS_OUT_ALPACA || eo->out_format > DS_OUT_OPENAI)
        return bz_errf(err, BZ_EINVAL, "export: unknown output format %d", eo->out_format);
    int rc = ds_wait(ds, err);
    if (rc < 0)
        return rc;
    struct out o = {.fd = -1, .err = err};
    o.fd = bz_atomic_begin(path, &o.tmp, err);
    if (o.fd < 0)
        return o.fd;
    bz_buf_init(&o.b);
    size_t n = ds_count(ds), count = 0, released = 0, copies = 0;
    struct bz_set64 seen = {0};
    if (!eo->jsonl)
        bz_buf_putc(&o.b, '[');
    for (size_t i = 0; i < n && o.rc == 0; i++) {
        struct ds_record r;
        if (ds_get(ds, i, &r, NULL) < 0 || !(eo->status_mask & (1u << r.status))) {
            ds_record_cleanup(&r);
            continue;
        }
        if (!eo->keep_copies && !bz_set64_add(&seen, bz_hash64(r.id, strlen(r.id)))) {
            copies++;
            ds_record_cleanup(&r);
            continue;
        }
        if (!eo->jsonl)
            bz_buf_puts(&o.b, count ? ",\n" : "\n");
        put_record(&o.b, &r, eo->out_format, eo->with_source, ds->path);
        if (eo->jsonl)
            bz_buf_putc(&o.b, '\n');
        count++;
        ds_record_cleanup(&r);
        if (o.b.len >= (1u << 20))
            out_flush(&o);
        ds__release(ds, &released, ds__ent_at(ds, i)->off, 0);
    }
    ds__release(ds, &released, ds->size, 1);
    if (!eo->jsonl)
        bz_buf_puts(&o.b, count ? "\n]\n" : "]\n");
    out_flush(&o);
    bz_buf_cleanup(&o.b);
    bz_set64_cleanup(&seen);
    o.rc = bz_atomic_end(o.fd, o.tmp, path, o.rc, err);
    if (eo->copies)
        *eo->copies = copies;
    if (o.rc == 0 && written)
        *written = count;
    return o.rc;
}

/* Contract: see dataset.h. */
int ds_export(struct ds_dataset *ds, const char *path, unsigned status_mask, int out_format,
              int jsonl, size_t *written, struct bz_err *err)
{
    struct ds_export_opts eo = {.status_mask = status_mask, .out_format = out_format,
                                .jsonl = jsonl};
    return ds_export_ex(ds, path, &eo, written, err);
}

/* ---------------------------------------------------------------- stats */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static size_t pct(const uint32_t *v, size_t n, int p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(((double)p / 100.0) * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    return v[BZ_MIN(k, n) - 1];
}

/* Contract: see dataset.h. Owner thread; waits for indexing to finish. */
int ds_stats(struct ds_dataset *ds, struct ds_stats *st, struct bz_err *err)
{
    memset(st, 0, sizeof *st);
    int rc = ds_wait(ds, err);
    if (rc < 0)
        return rc;
    ds_counts(ds, &st->counts);
    size_t n = atomic_load_explicit(&ds->n_sum, memory_order_acquire), k = 0;
    uint32_t *pl = malloc((n ? n : 1) * sizeof *pl), *rl = malloc((n ? n : 1) * sizeof *rl);
    if (!pl || !rl) {
        free(pl);
        free(rl);
        return bz_errf(err, BZ_ENOMEM, "%s: out of memory for stats", ds->path);
    }
    for (size_t i = 0; i < n; i++) {
        const struct ds__sum *s = ds__sum_at(ds, i);
        if (s->flags & DS_F_BAD)
            continue;
        pl[k] = s->prompt_chars;
        rl[k] = s->response_chars;
        k++;
    }
    qsort(pl, k, sizeof *pl, cmp_u32);
    qsort(rl, k, sizeof *rl, cmp_u32);
    st->prompt_p50 = pct(pl, k, 50);
    st->prompt_p90 = pct(pl, k, 90);
    st->prompt_p99 = pct(pl, k, 99);
    st->prompt_max = k ? pl[k - 1] : 0;
    st->resp_p50 = pct(rl, k, 50);
    st->resp_p90 = pct(rl, k, 90);
    st->resp_p99 = pct(rl, k, 99);
    st->resp_max = k ? rl[k - 1] : 0;
    free(pl);
    free(rl);
    pthread_mutex_lock(&ds->mu);
    memcpy(st->per_format, ds->per_format, sizeof st->per_format);
    st->exact_duplicates = ds->n_dup;
    st->empty_responses = ds->n_empty;
    st->refusals = ds->n_refusal;
    pthread_mutex_unlock(&ds->mu);
    return 0;
}
