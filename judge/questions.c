/*
 * questions.c: MT-Bench question sets, reference answers and model answer files,
 * plus the JSON-lines plumbing the other judge files share (judge/internal.h).
 *
 * Key idea: each file is read whole and walked line by line; a line that does not
 * parse, or lacks a field, is reported as "FILE:LINE: what", counted and skipped,
 * and the rest loads. A cJSON tree never leaves the function that parsed it.
 * Left out: question ids that are not integers (FastChat's MT-Bench uses integers).
 */
#include "judge/internal.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- shared plumbing */

void judge_problems_cleanup(struct judge_problems *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->kept; i++)
        free(p->msg[i]);
    memset(p, 0, sizeof *p);
}

void judge__problem(struct judge_problems *p, const char *msg)
{
    if (p->kept < JUDGE_PROBLEMS_KEPT)
        p->msg[p->kept++] = bz_strdup(msg);
    p->count++;
}

int judge__lines(const char *path, judge__line_fn fn, void *ctx, struct bz_err *err)
{
    char *data;
    size_t len;
    int rc = bz_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    size_t pos = 0;
    int lineno = 0;
    char where[512];
    while (pos < len) {
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n && s[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k == n)
            continue;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        rc = fn(ctx, s, n, where);
        if (rc < 0)
            break;
        rc = 0;
    }
    free(data);
    return rc;
}

cJSON *judge__json_object(const char *line, size_t n, const char *where, struct bz_err *err)
{
    size_t bad = bz_utf8_check(line, n);
    if (bad < n) {
        bz_errf(err, BZ_EPARSE, "%s:%zu: invalid UTF-8", where, bad + 1);
        return NULL;
    }
    if (memchr(line, 0, n)) {
        bz_errf(err, BZ_EPARSE, "%s: NUL byte in line", where);
        return NULL;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, n, &end, 0);
    if (!o) {
        size_t col = end && end >= line ? (size_t)(end - line) + 1 : 1;
        bz_errf(err, BZ_EPARSE, "%s:%zu: invalid JSON", where, col);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        bz_errf(err, BZ_EPARSE, "%s: expected a JSON object", where);
        return NULL;
    }
    return o;
}

int judge__str_array(const cJSON *arr, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr))
        return -1;
    int cnt = cJSON_GetArraySize(arr);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (!cJSON_IsString(it)) return -1;
    char **v = bz_calloc((size_t)cnt + 1, sizeof *v);
    int i = 0;
    cJSON_ArrayForEach(it, arr) v[i++] = bz_strdup(it->valuestring);
    *out = v;
    *n = cnt;
    return 0;
}

void judge__str_array_free(char **v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

const char *judge__str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

int judge__int(const cJSON *o, const char *key, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;
        if (d != floor(d) || d < -2147483647.0 || d > 2147483647.0)
            return -1;
        *out = (int)d;
        return 0;
    }
    if (cJSON_IsString(it) && it->valuestring[0]) {
        char *e;
        long v = strtol(it->valuestring, &e, 10);
        if (*e || v < -2147483647L || v > 2147483647L)
            return -1;
        *out = (int)v;
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- categories */

const char *const judge_mtbench_categories[8] = {"writing", "roleplay", "reasoning", "math",
                                                 "coding",  "extraction", "stem", "humanities"};

int judge_category_needs_ref(const char *c)
{
    return c && (strcmp(c, "math") == 0 || strcmp(c, "reasoning") == 0 ||
                 strcmp(c, "coding") == 0);
}

double judge_category_temperature(const char *c)
{
    if (!c)
        return 0.0;
    if (strcmp(c, "writing") == 0 || strcmp(c, "roleplay") == 0)
        return 0.7;
    if (strcmp(c, "stem") == 0 || strcmp(c, "humanities") == 0)
        return 0.1;
    return 0.0;
}

/* ---------------------------------------------------------------- questions */

void judge_question_cleanup(struct judge_question *q)
{
    if (!q)
        return;
    free(q->category);
    judge__str_array_free(q->turns, q->n_turns);
    judge__str_array_free(q->ref, q->n_ref);
    memset(q, 0, sizeof *q);
}

int judge_question_parse(struct judge_question *q, const char *line, size_t n,
                         const char *where, struct bz_err *err)
{
    memset(q, 0, sizeof *q);
    cJSON *o = judge__json_object(line, n, where, err);
    if (!o)
        return BZ_EPARSE;
    int rc = 0;
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(o, "category");
    if (judge__int(o, "question_id", &q->id)) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"question_id\" missing or not an integer", where);
    } else if (cat && !cJSON_IsString(cat)) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"category\" is not a string", where);
    } else if (judge__str_array(cJSON_GetObjectItemCaseSensitive(o, "turns"), &q->turns,
                                &q->n_turns) ||
               q->n_turns == 0) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"turns\" must be a non-empty array of strings",
                     where);
    } else {
        q->category = bz_strdup(cat ? cat->valuestring : "");
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "reference");
        if (ref && !cJSON_IsNull(ref) && judge__str_array(ref, &q->ref, &q->n_ref))
            rc = bz_errf(err, BZ_EPARSE, "%s: \"reference\" must be an array of strings",
                         where);
    }
    cJSON_Delete(o);
    if (rc)
        judge_question_cleanup(q);
    return rc;
}

void judge_questions_init(struct judge_questions *qs)
{
    memset(qs, 0, sizeof *qs);
}

void judge_questions_cleanup(struct judge_questions *qs)
{
    if (!qs)
        return;
    for (size_t i = 0; i < qs->n; i++)
        judge_question_cleanup(&qs->q[i]);
    free(qs->q);
    judge_problems_cleanup(&qs->bad);
    memset(qs, 0, sizeof *qs);
}

const struct judge_question *judge_questions_find(const struct judge_questions *qs, int id)
{
    for (size_t i = 0; i < qs->n; i++)
        if (qs->q[i].id == id)
            return &qs->q[i];
    return NULL;
}

static int question_line(void *ctx, const char *line, size_t n, const char *where)
{
    struct judge_questions *qs = ctx;
    struct judge_question q;
    struct bz_err e = {0};
    if (judge_question_parse(&q, line, n, where, &e)) {
        judge__problem(&qs->bad, e.msg);
        return 0;
    }
    if (judge_questions_find(qs, q.id)) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: question_id %d repeats an earlier question", where, q.id);
        judge__problem(&qs->bad, msg);
        judge_question_cleanup(&q);
        return 0;
    }
    qs->q = bz_realloc(qs->q, (qs->n + 1) * sizeof *qs->q);
    qs->q[qs->n++] = q;
    return 0;
}

int judge_questions_load(struct judge_questions *qs, const char *path, struct bz_err *err)
{
    return judge__lines(path, question_line, qs, err);
}

static int ref_line(void *ctx, const char *line, size_t n, const char *where)
{
    struct judge_questions *qs = ctx;
    struct bz_err e = {0};
    char msg[600];
    cJSON *o = judge__json_object(line, n, where, &e);
    if (!o) {
        judge__problem(&qs->bad, e.msg);
        return 0;
    }
    int id;
    char **turns = NULL;
    int nt = 0;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *c0 = cJSON_IsArray(ch) ? cJSON_GetArrayItem(ch, 0) : NULL;
    if (judge__int(o, "question_id", &id)) {
        snprintf(msg, sizeof msg, "%s: \"question_id\" missing or not an integer", where);
    } else if (!c0 ||
               judge__str_array(cJSON_GetObjectItemCaseSensitive(c0, "turns"), &turns, &nt)) {
        snprintf(msg, sizeof msg, "%s: \"choices\"[0].\"turns\" must be an array of strings",
                 where);
    } else {
        struct judge_question *q = (struct judge_question *)judge_questions_find(qs, id);
        if (!q) {
            snprintf(msg, sizeof msg, "%s: reference for question_id %d, which is not loaded",
                     where, id);
        } else {
            judge__str_array_free(q->ref, q->n_ref);
            q->ref = turns;
            q->n_ref = nt;
            cJSON_Delete(o);
            return 0;
        }
    }
    judge__str_array_free(turns, nt);
    cJSON_Delete(o);
    judge__problem(&qs->bad, msg);
    return 0;
}

int judge_questions_load_ref(struct judge_questions *qs, const char *path, struct bz_err *err)
{
    return judge__lines(path, ref_line, qs, err);
}

/* ---------------------------------------------------------------- answers */

void judge_answer_cleanup(struct judge_answer *a)
{
    if (!a)
        return;
    free(a->answer_id);
    free(a->model_id);
    judge__str_array_free(a->turns, a->n_turns);
    memset(a, 0, sizeof *a);
}

int judge_answer_parse(struct judge_answer *a, const char *line, size_t n, const char *where,
                       struct bz_err *err)
{
    memset(a, 0, sizeof *a);
    cJSON *o = judge__json_object(line, n, where, err);
    if (!o)
        return BZ_EPARSE;
    int rc = 0;
    const char *model = judge__str(o, "model_id");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const cJSON *c0 = cJSON_IsArray(ch) ? cJSON_GetArrayItem(ch, 0) : NULL;
    if (judge__int(o, "question_id", &a->question_id))
        rc = bz_errf(err, BZ_EPARSE, "%s: \"question_id\" missing or not an integer", where);
    else if (!model || !model[0])
        rc = bz_errf(err, BZ_EPARSE, "%s: \"model_id\" missing or empty", where);
    else if (!c0 ||
             judge__str_array(cJSON_GetObjectItemCaseSensitive(c0, "turns"), &a->turns,
                              &a->n_turns) ||
             a->n_turns == 0)
        rc = bz_errf(err, BZ_EPARSE,
                     "%s: \"choices\"[0].\"turns\" must be a non-empty array of strings", where);
    if (!rc) {
        const char *aid = judge__str(o, "answer_id");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "tstamp");
        a->model_id = bz_strdup(model);
        a->answer_id = bz_strdup(aid ? aid : "");
        a->tstamp = cJSON_IsNumber(ts) ? ts->valuedouble : 0;
    }
    cJSON_Delete(o);
    if (rc)
        judge_answer_cleanup(a);
    return rc;
}

void judge_answers_init(struct judge_answers *as)
{
    memset(as, 0, sizeof *as);
}

void judge_answers_cleanup(struct judge_answers *as)
{
    if (!as)
        return;
    for (size_t i = 0; i < as->n; i++)
        judge_answer_cleanup(&as->a[i]);
    free(as->a);
    judge_problems_cleanup(&as->bad);
    memset(as, 0, sizeof *as);
}

const struct judge_answer *judge_answers_find(const struct judge_answers *as, const char *model,
                                              int id)
{
    for (size_t i = 0; i < as->n; i++)
        if (as->a[i].question_id == id && (!model || strcmp(as->a[i].model_id, model) == 0))
            return &as->a[i];
    return NULL;
}

static int answer_line(void *ctx, const char *line, size_t n, const char *where)
{
    struct judge_answers *as = ctx;
    struct judge_answer a;
    struct bz_err e = {0};
    if (judge_answer_parse(&a, line, n, where, &e)) {
        judge__problem(&as->bad, e.msg);
        return 0;
    }
    struct judge_answer *old =
        (struct judge_answer *)judge_answers_find(as, a.model_id, a.question_id);
    if (old) {
        judge_answer_cleanup(old);
        *old = a;
        return 0;
    }
    as->a = bz_realloc(as->a, (as->n + 1) * sizeof *as->a);
    as->a[as->n++] = a;
    return 0;
}

int judge_answers_load(struct judge_answers *as, const char *path, struct bz_err *err)
{
    return judge__lines(path, answer_line, as, err);
}

void judge_answer_to_json(struct bz_buf *b, const struct judge_answer *a)
{
    bz_buf_printf(b, "{\"question_id\":%d,\"answer_id\":", a->question_id);
    const char *aid = a->answer_id ? a->answer_id : "";
    bz_buf_json_str(b, aid, strlen(aid));
    bz_buf_puts(b, ",\"model_id\":");
    bz_buf_json_str(b, a->model_id, strlen(a->model_id));
    bz_buf_puts(b, ",\"choices\":[{\"index\":0,\"turns\":[");
    for (int i = 0; i < a->n_turns; i++) {
        if (i)
            bz_buf_putc(b, ',');
        bz_buf_json_str(b, a->turns[i], strlen(a->turns[i]));
    }
    bz_buf_printf(b, "]}],\"tstamp\":%.17g}\n", a->tstamp);
}
