/*
 * scores.c: judge-as-proxy ratings of records (DATASET.bezoar/scores.jsonl), the
 * rubric prompt that asks a judge for them, and the strict parsing of its verdict.
 *
 * Line format (one JSON object per line, appended with one write() + fsync):
 *   {"t":1764135688.123,"id":"abc","judge":"openai:http://h/v1#m","score":7,
 *    "rationale":"..."}
 * Key ideas: the file is read once, on the first call that needs it, into a table by
 * id (the last line of an id wins); a torn or bad line is skipped and counted. Before
 * appending after a torn tail a newline is written, so the new line stays whole. A
 * verdict counts only when it holds a rating "[[N]]" (N from 1 to 10) and every such
 * rating in it agrees: anything else is unparseable and never stored.
 *
 * Left out: several scores per id (one per judge): the latest one is kept; locking
 * between two processes appending at once (each line is one O_APPEND write).
 */
#include "dataset/filter.h"
#include "dataset/internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ds__score {
    uint64_t h;
    char *id, *judge, *rationale;
    double score;
};

struct ds__scores {
    struct ds__score **v; /* open addressing by h */
    size_t cap, n, torn;
    char *path;
};

/* id NULL: by the hash alone. */
static struct ds__score *sc_find(const struct ds__scores *t, uint64_t h, const char *id)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1, j = (size_t)h & mask;
    while (t->v[j]) {
        if (t->v[j]->h == h && (!id || strcmp(t->v[j]->id, id) == 0))
            return t->v[j];
        j = (j + 1) & mask;
    }
    return NULL;
}

static void sc_put(struct ds__scores *t, struct ds__score *e)
{
    size_t mask = t->cap - 1, j = (size_t)e->h & mask;
    while (t->v[j])
        j = (j + 1) & mask;
    t->v[j] = e;
}

static void sc_set(struct ds__scores *t, const char *id, const char *judge, double score,
                   const char *rationale)
{
    uint64_t h = bz_hash64(id, strlen(id));
    struct ds__score *e = sc_find(t, h, id);
    if (!e) {
        if ((t->n + 1) * 2 > t->cap) {
            struct ds__score **old = t->v;
            size_t oldcap = t->cap;
            t->cap = oldcap ? oldcap * 2 : 64;
            t->v = bz_calloc(t->cap, sizeof *t->v);
            for (size_t i = 0; i < oldcap; i++)
                if (old[i])
                    sc_put(t, old[i]);
            free(old);
        }
        e = bz_calloc(1, sizeof *e);
        e->h = h;
        e->id = bz_strdup(id);
        sc_put(t, e);
        t->n++;
    }
    free(e->judge);
    free(e->rationale);
    e->judge = bz_strdup(judge);
    e->rationale = bz_strdup(rationale ? rationale : "");
    e->score = score;
}

void ds__scores_free(struct ds_dataset *ds)
{
    struct ds__scores *t = ds->scores;
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->v[i]) {
            free(t->v[i]->id);
            free(t->v[i]->judge);
            free(t->v[i]->rationale);
            free(t->v[i]);
        }
    }
    free(t->v);
    free(t->path);
    free(t);
    ds->scores = NULL;
}

static int parse_score_line(struct ds__scores *t, const char *p, size_t n)
{
    cJSON *o = cJSON_ParseWithLength(p, n);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *judge = cJSON_GetObjectItemCaseSensitive(o, "judge");
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(o, "score");
    const cJSON *rat = cJSON_GetObjectItemCaseSensitive(o, "rationale");
    int ok = cJSON_IsObject(o) && cJSON_IsString(id) && id->valuestring[0] &&
             cJSON_IsString(judge) && cJSON_IsNumber(score) && isfinite(score->valuedouble) &&
             (!rat || cJSON_IsString(rat));
    if (ok)
        sc_set(t, id->valuestring, judge->valuestring, score->valuedouble,
               rat ? rat->valuestring : "");
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

/* Under mu: the table, read from the file on first use. */
static struct ds__scores *scores(struct ds_dataset *ds)
{
    if (ds->scores)
        return ds->scores;
    struct ds__scores *t = bz_calloc(1, sizeof *t);
    t->path = bz_path_join(ds->jdir, "scores.jsonl");
    char *text = NULL;
    size_t len = 0;
    if (access(t->path, F_OK) == 0 && bz_read_file(t->path, &text, &len, NULL) == 0) {
        for (size_t pos = 0; pos < len;) {
            const char *nl = memchr(text + pos, '\n', len - pos);
            size_t end = nl ? (size_t)(nl - text) : len;
            int blank = 1;
            for (size_t i = pos; i < end; i++)
                blank &= text[i] == ' ' || text[i] == '\t' || text[i] == '\r';
            if (!blank && (!nl || parse_score_line(t, text + pos, end - pos) < 0))
                t->torn++;
            pos = nl ? end + 1 : len;
        }
    }
    free(text);
    ds->scores = t;
    return t;
}

/* Contract: see dataset.h. Owner thread (the table is guarded by mu for readers). */
int ds_score_set(struct ds_dataset *ds, const char *id, const char *judge, double score,
                 const char *rationale, struct bz_err *err)
{
    if (!id || !id[0] || !judge || !judge[0])
        return bz_errf(err, BZ_EINVAL, "score: empty id or judge");
    if (!isfinite(score))
        return bz_errf(err, BZ_EINVAL, "score: not a finite number");
    if (!rationale)
        rationale = "";
    if (bz_utf8_check(rationale, strlen(rationale)) < strlen(rationale) ||
        bz_utf8_check(judge, strlen(judge)) < strlen(judge))
        return bz_errf(err, BZ_EINVAL, "score: judge or rationale is not valid UTF-8");
    if (ds->read_only)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: opened read-only, scores are not saved",
                       ds->path);
    pthread_mutex_lock(&ds->mu);
    const char *path = scores(ds)->path;
    pthread_mutex_unlock(&ds->mu);
    struct bz_buf b;
    bz_buf_init(&b);
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
        last != '\n')
        bz_buf_putc(&b, '\n'); /* end a torn line, so this one stays whole */
    bz_buf_printf(&b, "{\"t\":%.3f,\"id\":", bz_wall());
    bz_buf_json_str(&b, id, strlen(id));
    bz_buf_puts(&b, ",\"judge\":");
    bz_buf_json_str(&b, judge, strlen(judge));
    bz_buf_printf(&b, ",\"score\":%.10g,\"rationale\":", score);
    bz_buf_json_str(&b, rationale, strlen(rationale));
    bz_buf_puts(&b, "}\n");
    int rc = bz_write_all(fd, b.p, b.len, path, err);
    if (rc == 0 && fsync(fd) < 0)
        rc = bz_errf(err, -errno, "%s: fsync: %s", path, strerror(errno));
    close(fd);
    bz_buf_cleanup(&b);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&ds->mu);
    sc_set(ds->scores, id, judge, score, rationale);
    pthread_mutex_unlock(&ds->mu);
    return 0;
}

/* Contract: see dataset.h. */
int ds_score_get_hash(struct ds_dataset *ds, uint64_t id_hash, double *score)
{
    pthread_mutex_lock(&ds->mu);
    const struct ds__score *e = sc_find(scores(ds), id_hash, NULL);
    if (e && score)
        *score = e->score;
    pthread_mutex_unlock(&ds->mu);
    return e != NULL;
}

/* Contract: see dataset.h. */
int ds_score_get(struct ds_dataset *ds, const char *id, double *score, const char **judge,
                 const char **rationale)
{
    if (!id)
        return 0;
    pthread_mutex_lock(&ds->mu);
    const struct ds__score *e = sc_find(scores(ds), bz_hash64(id, strlen(id)), id);
    if (e) {
        if (score)
            *score = e->score;
        if (judge)
            *judge = e->judge;
        if (rationale)
            *rationale = e->rationale;
    }
    pthread_mutex_unlock(&ds->mu);
    return e != NULL;
}

size_t ds_score_count(struct ds_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    size_t n = scores(ds)->n;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

size_t ds_score_torn(struct ds_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    size_t n = scores(ds)->torn;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

/* ---------------------------------------------------------------- rubric and verdict */

static void put_replaced(struct bz_buf *b, const char *tpl, const char *instruction,
                         const char *response)
{
    for (const char *p = tpl; *p;) {
        if (!strncmp(p, "{instruction}", 13)) {
            bz_buf_puts(b, instruction);
            p += 13;
        } else if (!strncmp(p, "{response}", 10)) {
            bz_buf_puts(b, response);
            p += 10;
        } else {
            bz_buf_putc(b, *p++);
        }
    }
}

/* Contract: see filter.h. */
char *ds_score_prompt(const char *rubric, const struct ds_record *r)
{
    struct bz_buf ins, out;
    bz_buf_init(&ins);
    bz_buf_init(&out);
    int end = r->n_msgs, users = 0;
    if (!r->chosen) /* the turns before the response */
        while (end > 0 && r->msgs[end - 1].role != DS_ROLE_ASSISTANT)
            end--;
    if (!r->chosen && end > 0)
        end--;
    for (int i = 0; i < end; i++)
        users += r->msgs[i].role == DS_ROLE_USER;
    for (int i = 0; i < end; i++) {
        const struct ds_msg *m = &r->msgs[i];
        if (m->role == DS_ROLE_USER && users == 1) {
            if (ins.len)
                bz_buf_puts(&ins, "\n\n");
            bz_buf_puts(&ins, m->content);
            continue;
        }
        bz_buf_printf(&ins, "%s[%s]\n%s", ins.len ? "\n\n" : "",
                      m->role == DS_ROLE_SYSTEM ? "System" : m->role == DS_ROLE_USER ? "User"
                                                                                      : "Assistant",
                      m->content);
    }
    put_replaced(&out, rubric, ins.len ? ins.p : "", ds_record_response(r));
    bz_buf_cleanup(&ins);
    return bz_buf_steal(&out);
}

/* A number at p up to "]]": digits with an optional fraction, spaces around. */
static int rating_at(const char *p, double *v, const char **end)
{
    while (*p == ' ')
        p++;
    const char *s = p;
    while (isdigit((unsigned char)*p))
        p++;
    if (p == s)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    const char *numend = p;
    while (*p == ' ')
        p++;
    if (p[0] != ']' || p[1] != ']')
        return -1;
    char tmp[32];
    size_t n = (size_t)(numend - s);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *v = strtod(tmp, NULL);
    *end = p + 2;
    return 0;
}

/* Contract: see filter.h. */
int ds_score_parse(const char *text, double *score, char **rationale, struct bz_err *err)
{
    *rationale = NULL;
    const char *first = NULL, *first_end = NULL;
    double v0 = 0;
    for (const char *p = strstr(text, "[["); p; p = strstr(p + 2, "[[")) {
        double v;
        const char *e;
        if (rating_at(p + 2, &v, &e) < 0)
            continue;
        if (!first) {
            first = p;
            first_end = e;
            v0 = v;
        } else if (v != v0) {
            return bz_errf(err, BZ_EPARSE, "verdict: two different ratings ([[%g]] and "
                           "[[%g]])", v0, v);
        }
    }
    if (!first)
        return bz_errf(err, BZ_EPARSE, "verdict: no rating written [[N]]");
    if (!(v0 >= 1 && v0 <= 10))
        return bz_errf(err, BZ_EPARSE, "verdict: rating %g is not from 1 to 10", v0);
    *score = v0;
    /* the rationale: the text without the rating's line when that line is only the
     * rating ("Rating: [[7]]"), else without the [[N]] itself */
    const char *ls = first, *le = first_end;
    while (ls > text && ls[-1] != '\n')
        ls--;
    while (*le && *le != '\n')
        le++;
    int only = 1;
    for (const char *c = ls; c < first && only; c++)
        only = isspace((unsigned char)*c) || isalpha((unsigned char)*c) || *c == ':' ||
               *c == '*' || *c == '#';
    for (const char *c = first_end; c < le && only; c++)
        only = isspace((unsigned char)*c) || *c == '.' || *c == '*';
    if (!only) {
        ls = first;
        le = first_end;
    }
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_append(&b, text, (size_t)(ls - text));
    bz_buf_puts(&b, le);
    char *s = bz_buf_steal(&b);
    size_t a = 0, n = strlen(s);
    while (a < n && isspace((unsigned char)s[a]))
        a++;
    while (n > a && isspace((unsigned char)s[n - 1]))
        n--;
    *rationale = bz_strndup(s + a, n - a);
    free(s);
    return 0;
}
