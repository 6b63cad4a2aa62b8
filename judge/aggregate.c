/*
 * aggregate.c: judgment files (single and pairwise rows, FastChat's layout plus
 * "category") and what they add up to: per-model means overall, per turn and per
 * category, failed counts, standard error and a bootstrap interval; pairwise win,
 * loss and tie counts per model pair.
 *
 * Key ideas: a row with score < 0 (unparsable verdict) is counted as failed and left
 * out of every mean, as FastChat does. A pairwise row counts as a win only when both
 * orders name the same model; any disagreement or a tie in the first order is a tie;
 * a row with "error" in either order is left out and counted. A later row with the
 * same key replaces an earlier one, so re-graded rows win and files can be merged.
 * The bootstrap resamples a model's kept rows with a fixed seed (splitmix64), so the
 * same files always print the same interval.
 * Left out: Elo, per-judge breakdowns (all judges of a file are pooled).
 */
#include "judge/internal.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- rows */

const char *judge_gwin_name(int g)
{
    switch (g) {
    case JUDGE_G_MODEL_1: return "model_1";
    case JUDGE_G_MODEL_2: return "model_2";
    case JUDGE_G_TIE: return "tie";
    default: return "error";
    }
}

static int gwin_parse(const char *s)
{
    if (!s)
        return -2;
    if (strcmp(s, "model_1") == 0)
        return JUDGE_G_MODEL_1;
    if (strcmp(s, "model_2") == 0)
        return JUDGE_G_MODEL_2;
    if (strcmp(s, "tie") == 0)
        return JUDGE_G_TIE;
    if (strcmp(s, "error") == 0)
        return JUDGE_G_ERROR;
    return -2;
}

void judge_single_cleanup(struct judge_single *s)
{
    if (!s)
        return;
    free(s->model);
    free(s->judge);
    free(s->prompt_name);
    free(s->category);
    free(s->user_prompt);
    free(s->judgment);
    memset(s, 0, sizeof *s);
}

void judge_pair_cleanup(struct judge_pair *p)
{
    if (!p)
        return;
    free(p->model_1);
    free(p->model_2);
    free(p->judge);
    free(p->prompt_name);
    free(p->category);
    free(p->g1_user_prompt);
    free(p->g1_judgment);
    free(p->g2_user_prompt);
    free(p->g2_judgment);
    memset(p, 0, sizeof *p);
}

static char *dup_or_empty(const char *s)
{
    return bz_strdup(s ? s : "");
}

/* judge: a string, or FastChat's ["judge-model", "prompt-name"]. */
static void read_judge(const cJSON *o, char **judge, char **prompt)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "judge");
    const char *a = NULL, *b = NULL;
    if (cJSON_IsString(j)) {
        a = j->valuestring;
    } else if (cJSON_IsArray(j)) {
        const cJSON *j0 = cJSON_GetArrayItem(j, 0), *j1 = cJSON_GetArrayItem(j, 1);
        a = cJSON_IsString(j0) ? j0->valuestring : NULL;
        b = cJSON_IsString(j1) ? j1->valuestring : NULL;
    }
    *judge = dup_or_empty(a);
    *prompt = dup_or_empty(b);
}

int judge_judgment_parse(const char *line, size_t n, const char *where, struct judge_single *s,
                         struct judge_pair *p, struct bz_err *err)
{
    cJSON *o = judge__json_object(line, n, where, err);
    if (!o)
        return BZ_EPARSE;
    int rc, qid, turn = 1;
    const cJSON *tu = cJSON_GetObjectItemCaseSensitive(o, "turn");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "tstamp");
    const char *cat = judge__str(o, "category");
    if (judge__int(o, "question_id", &qid)) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"question_id\" missing or not an integer", where);
        goto out;
    }
    if (tu && (judge__int(o, "turn", &turn) || turn < 1)) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"turn\" must be an integer >= 1", where);
        goto out;
    }
    if (!tu) {
        rc = bz_errf(err, BZ_EPARSE, "%s: \"turn\" missing", where);
        goto out;
    }
    const char *model = judge__str(o, "model");
    const char *m1 = judge__str(o, "model_1"), *m2 = judge__str(o, "model_2");
    if (model) {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "score");
        if (!model[0]) {
            rc = bz_errf(err, BZ_EPARSE, "%s: \"model\" is empty", where);
            goto out;
        }
        if (!cJSON_IsNumber(sc) || !isfinite(sc->valuedouble)) {
            rc = bz_errf(err, BZ_EPARSE, "%s: \"score\" missing or not a number", where);
            goto out;
        }
        memset(s, 0, sizeof *s);
        s->question_id = qid;
        s->turn = turn;
        s->score = sc->valuedouble < 0 ? -1 : sc->valuedouble;
        s->model = bz_strdup(model);
        read_judge(o, &s->judge, &s->prompt_name);
        s->category = dup_or_empty(cat);
        s->user_prompt = dup_or_empty(judge__str(o, "user_prompt"));
        s->judgment = dup_or_empty(judge__str(o, "judgment"));
        s->tstamp = cJSON_IsNumber(ts) ? ts->valuedouble : 0;
        rc = 1;
    } else if (m1 && m2) {
        int g1 = gwin_parse(judge__str(o, "g1_winner"));
        int g2 = gwin_parse(judge__str(o, "g2_winner"));
        if (!m1[0] || !m2[0]) {
            rc = bz_errf(err, BZ_EPARSE, "%s: \"model_1\" or \"model_2\" is empty", where);
            goto out;
        }
        if (g1 == -2 || g2 == -2) {
            rc = bz_errf(err, BZ_EPARSE,
                         "%s: \"g1_winner\"/\"g2_winner\" must be model_1, model_2, tie or error",
                         where);
            goto out;
        }
        memset(p, 0, sizeof *p);
        p->question_id = qid;
        p->turn = turn;
        p->g1_winner = g1;
        p->g2_winner = g2;
        p->model_1 = bz_strdup(m1);
        p->model_2 = bz_strdup(m2);
        read_judge(o, &p->judge, &p->prompt_name);
        p->category = dup_or_empty(cat);
        p->g1_user_prompt = dup_or_empty(judge__str(o, "g1_user_prompt"));
        p->g1_judgment = dup_or_empty(judge__str(o, "g1_judgment"));
        p->g2_user_prompt = dup_or_empty(judge__str(o, "g2_user_prompt"));
        p->g2_judgment = dup_or_empty(judge__str(o, "g2_judgment"));
        p->tstamp = cJSON_IsNumber(ts) ? ts->valuedouble : 0;
        rc = 2;
    } else {
        rc = bz_errf(err, BZ_EPARSE,
                     "%s: neither a single row (\"model\") nor a pairwise row (\"model_1\", "
                     "\"model_2\")",
                     where);
    }
out:
    cJSON_Delete(o);
    return rc;
}

void judge_judgments_init(struct judge_judgments *j)
{
    memset(j, 0, sizeof *j);
}

void judge_judgments_cleanup(struct judge_judgments *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->ns; i++)
        judge_single_cleanup(&j->s[i]);
    for (size_t i = 0; i < j->np; i++)
        judge_pair_cleanup(&j->p[i]);
    free(j->s);
    free(j->p);
    judge_problems_cleanup(&j->bad);
    memset(j, 0, sizeof *j);
}

static int same_single(const struct judge_single *a, const struct judge_single *b)
{
    return a->question_id == b->question_id && a->turn == b->turn &&
           strcmp(a->model, b->model) == 0 && strcmp(a->judge, b->judge) == 0;
}

static int same_pair(const struct judge_pair *a, const struct judge_pair *b)
{
    return a->question_id == b->question_id && a->turn == b->turn &&
           strcmp(a->model_1, b->model_1) == 0 && strcmp(a->model_2, b->model_2) == 0 &&
           strcmp(a->judge, b->judge) == 0;
}

static int judgment_line(void *ctx, const char *line, size_t n, const char *where)
{
    struct judge_judgments *j = ctx;
    struct judge_single s;
    struct judge_pair p;
    struct bz_err e = {0};
    int kind = judge_judgment_parse(line, n, where, &s, &p, &e);
    if (kind < 0) {
        judge__problem(&j->bad, e.msg);
        return 0;
    }
    if (kind == 1) {
        for (size_t i = 0; i < j->ns; i++)
            if (same_single(&j->s[i], &s)) {
                judge_single_cleanup(&j->s[i]);
                j->s[i] = s;
                j->replaced++;
                return 0;
            }
        j->s = bz_realloc(j->s, (j->ns + 1) * sizeof *j->s);
        j->s[j->ns++] = s;
    } else {
        for (size_t i = 0; i < j->np; i++)
            if (same_pair(&j->p[i], &p)) {
                judge_pair_cleanup(&j->p[i]);
                j->p[i] = p;
                j->replaced++;
                return 0;
            }
        j->p = bz_realloc(j->p, (j->np + 1) * sizeof *j->p);
        j->p[j->np++] = p;
    }
    return 0;
}

int judge_judgments_load(struct judge_judgments *j, const char *path, struct bz_err *err)
{
    return judge__lines(path, judgment_line, j, err);
}

void judge_judgments_categorize(struct judge_judgments *j, const struct judge_questions *qs)
{
    for (size_t i = 0; i < j->ns; i++) {
        const struct judge_question *q;
        if (!j->s[i].category[0] && (q = judge_questions_find(qs, j->s[i].question_id))) {
            free(j->s[i].category);
            j->s[i].category = bz_strdup(q->category);
        }
    }
    for (size_t i = 0; i < j->np; i++) {
        const struct judge_question *q;
        if (!j->p[i].category[0] && (q = judge_questions_find(qs, j->p[i].question_id))) {
            free(j->p[i].category);
            j->p[i].category = bz_strdup(q->category);
        }
    }
}

static void json_kv(struct bz_buf *b, const char *key, const char *val)
{
    bz_buf_printf(b, ",\"%s\":", key);
    bz_buf_json_str(b, val, strlen(val));
}

static void json_judge(struct bz_buf *b, const char *judge, const char *prompt)
{
    bz_buf_puts(b, ",\"judge\":[");
    bz_buf_json_str(b, judge, strlen(judge));
    bz_buf_putc(b, ',');
    bz_buf_json_str(b, prompt, strlen(prompt));
    bz_buf_putc(b, ']');
}

void judge_single_to_json(struct bz_buf *b, const struct judge_single *s)
{
    bz_buf_printf(b, "{\"question_id\":%d", s->question_id);
    json_kv(b, "model", s->model);
    json_judge(b, s->judge, s->prompt_name);
    json_kv(b, "user_prompt", s->user_prompt);
    json_kv(b, "judgment", s->judgment);
    bz_buf_printf(b, ",\"score\":%.17g,\"turn\":%d,\"tstamp\":%.17g", s->score, s->turn,
                  s->tstamp);
    json_kv(b, "category", s->category);
    bz_buf_puts(b, "}\n");
}

void judge_pair_to_json(struct bz_buf *b, const struct judge_pair *p)
{
    bz_buf_printf(b, "{\"question_id\":%d", p->question_id);
    json_kv(b, "model_1", p->model_1);
    json_kv(b, "model_2", p->model_2);
    json_kv(b, "g1_winner", judge_gwin_name(p->g1_winner));
    json_kv(b, "g2_winner", judge_gwin_name(p->g2_winner));
    json_judge(b, p->judge, p->prompt_name);
    json_kv(b, "g1_user_prompt", p->g1_user_prompt);
    json_kv(b, "g1_judgment", p->g1_judgment);
    json_kv(b, "g2_user_prompt", p->g2_user_prompt);
    json_kv(b, "g2_judgment", p->g2_judgment);
    bz_buf_printf(b, ",\"turn\":%d,\"tstamp\":%.17g", p->turn, p->tstamp);
    json_kv(b, "category", p->category);
    bz_buf_puts(b, "}\n");
}

/* ---------------------------------------------------------------- summary */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile q (0..1) of sorted v[0..n) by linear interpolation (numpy's default). */
static double percentile(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

int judge_summary_cat(const struct judge_summary *sum, const char *cat)
{
    for (size_t i = 0; i < sum->n_cats; i++)
        if (strcmp(sum->cats[i], cat) == 0)
            return (int)i;
    return -1;
}

static void add_cat(struct judge_summary *sum, const char *cat)
{
    if (!cat[0] || judge_summary_cat(sum, cat) >= 0)
        return;
    sum->cats = bz_realloc(sum->cats, (sum->n_cats + 1) * sizeof *sum->cats);
    sum->cats[sum->n_cats++] = bz_strdup(cat);
}

static int model_index(struct judge_summary *sum, const char *model)
{
    for (size_t i = 0; i < sum->n_models; i++)
        if (strcmp(sum->m[i].model, model) == 0)
            return (int)i;
    sum->m = bz_realloc(sum->m, (sum->n_models + 1) * sizeof *sum->m);
    struct judge_model_stats *m = &sum->m[sum->n_models];
    memset(m, 0, sizeof *m);
    m->model = bz_strdup(model);
    return (int)sum->n_models++;
}

static void model_stats(struct judge_model_stats *m, const struct judge_judgments *j,
                        const struct judge_summary *sum, int resamples, uint64_t seed)
{
    double total = 0, t1 = 0, t2 = 0;
    double *cs = bz_calloc(sum->n_cats + 1, sizeof *cs);
    m->cat = bz_calloc(sum->n_cats + 1, sizeof *m->cat);
    m->cat_n = bz_calloc(sum->n_cats + 1, sizeof *m->cat_n);
    double *vals = bz_calloc(j->ns + 1, sizeof *vals);
    for (size_t i = 0; i < j->ns; i++) {
        const struct judge_single *s = &j->s[i];
        if (strcmp(s->model, m->model) != 0)
            continue;
        if (s->score < 0) {
            m->failed++;
            continue;
        }
        vals[m->n++] = s->score;
        total += s->score;
        if (s->turn == 1)
            t1 += s->score, m->n_turn1++;
        else if (s->turn == 2)
            t2 += s->score, m->n_turn2++;
        int c = s->category[0] ? judge_summary_cat(sum, s->category) : -1;
        if (c >= 0)
            cs[c] += s->score, m->cat_n[c]++;
    }
    m->score = m->n ? total / m->n : NAN;
    m->turn1 = m->n_turn1 ? t1 / m->n_turn1 : NAN;
    m->turn2 = m->n_turn2 ? t2 / m->n_turn2 : NAN;
    for (size_t c = 0; c < sum->n_cats; c++)
        m->cat[c] = m->cat_n[c] ? cs[c] / m->cat_n[c] : NAN;
    m->se = NAN;
    if (m->n >= 2) {
        double ss = 0;
        for (int i = 0; i < m->n; i++)
            ss += (vals[i] - m->score) * (vals[i] - m->score);
        m->se = sqrt(ss / (m->n - 1)) / sqrt((double)m->n);
    }
    m->ci_lo = m->ci_hi = NAN;
    if (m->n > 0 && resamples > 0) {
        double *means = bz_calloc((size_t)resamples, sizeof *means);
        uint64_t st = seed;
        for (int r = 0; r < resamples; r++) {
            double acc = 0;
            for (int i = 0; i < m->n; i++)
                acc += vals[splitmix64(&st) % (uint64_t)m->n];
            means[r] = acc / m->n;
        }
        qsort(means, (size_t)resamples, sizeof *means, cmp_double);
        m->ci_lo = percentile(means, resamples, 0.025);
        m->ci_hi = percentile(means, resamples, 0.975);
        free(means);
    }
    free(vals);
    free(cs);
}

static struct judge_pair_stats *pair_entry(struct judge_summary *sum, const char *a,
                                           const char *b, int *flip)
{
    for (size_t i = 0; i < sum->n_pairs; i++) {
        struct judge_pair_stats *ps = &sum->pairs[i];
        if (strcmp(ps->model_a, a) == 0 && strcmp(ps->model_b, b) == 0) {
            *flip = 0;
            return ps;
        }
        if (strcmp(ps->model_a, b) == 0 && strcmp(ps->model_b, a) == 0) {
            *flip = 1;
            return ps;
        }
    }
    sum->pairs = bz_realloc(sum->pairs, (sum->n_pairs + 1) * sizeof *sum->pairs);
    struct judge_pair_stats *ps = &sum->pairs[sum->n_pairs++];
    memset(ps, 0, sizeof *ps);
    ps->model_a = bz_strdup(a);
    ps->model_b = bz_strdup(b);
    *flip = 0;
    return ps;
}

void judge_summary_build(struct judge_summary *sum, const struct judge_judgments *j,
                         int resamples, unsigned long long seed)
{
    memset(sum, 0, sizeof *sum);
    for (size_t c = 0; c < BZ_ARRAY_SIZE(judge_mtbench_categories); c++)
        for (size_t i = 0; i < j->ns; i++)
            if (strcmp(j->s[i].category, judge_mtbench_categories[c]) == 0) {
                add_cat(sum, judge_mtbench_categories[c]);
                break;
            }
    for (size_t i = 0; i < j->ns; i++)
        add_cat(sum, j->s[i].category);
    for (size_t i = 0; i < j->ns; i++)
        model_index(sum, j->s[i].model);
    for (size_t i = 0; i < sum->n_models; i++)
        model_stats(&sum->m[i], j, sum, resamples, (uint64_t)seed + i);

    for (size_t i = 0; i < j->np; i++) {
        const struct judge_pair *p = &j->p[i];
        int flip;
        struct judge_pair_stats *ps = pair_entry(sum, p->model_1, p->model_2, &flip);
        if (p->g1_winner == JUDGE_G_ERROR || p->g2_winner == JUDGE_G_ERROR) {
            ps->failed++;
            continue;
        }
        if (p->g1_winner == JUDGE_G_TIE || p->g1_winner != p->g2_winner) {
            ps->tie++;
            continue;
        }
        int a_won = (p->g1_winner == JUDGE_G_MODEL_1) != flip;
        if (a_won)
            ps->win++;
        else
            ps->loss++;
    }
    for (size_t i = 0; i < sum->n_pairs; i++) {
        struct judge_pair_stats *ps = &sum->pairs[i];
        int t = ps->win + ps->loss + ps->tie;
        ps->win_rate = t ? (double)ps->win / t : NAN;
        ps->win_rate_adj = t ? (ps->win + 0.5 * ps->tie) / t : NAN;
    }
}

void judge_summary_cleanup(struct judge_summary *sum)
{
    if (!sum)
        return;
    for (size_t i = 0; i < sum->n_models; i++) {
        free(sum->m[i].model);
        free(sum->m[i].cat);
        free(sum->m[i].cat_n);
    }
    for (size_t i = 0; i < sum->n_pairs; i++) {
        free(sum->pairs[i].model_a);
        free(sum->pairs[i].model_b);
    }
    for (size_t i = 0; i < sum->n_cats; i++)
        free(sum->cats[i]);
    free(sum->m);
    free(sum->pairs);
    free(sum->cats);
    memset(sum, 0, sizeof *sum);
}

static void json_num(struct bz_buf *b, double v)
{
    if (isfinite(v))
        bz_buf_printf(b, "%.17g", v);
    else
        bz_buf_puts(b, "null");
}

void judge_summary_to_json(struct bz_buf *b, const struct judge_summary *sum)
{
    bz_buf_puts(b, "{\"models\":[");
    for (size_t i = 0; i < sum->n_models; i++) {
        const struct judge_model_stats *m = &sum->m[i];
        bz_buf_puts(b, i ? ",{\"model\":" : "{\"model\":");
        bz_buf_json_str(b, m->model, strlen(m->model));
        bz_buf_puts(b, ",\"score\":");
        json_num(b, m->score);
        bz_buf_puts(b, ",\"turn1\":");
        json_num(b, m->turn1);
        bz_buf_puts(b, ",\"turn2\":");
        json_num(b, m->turn2);
        bz_buf_printf(b, ",\"n\":%d,\"failed\":%d,\"categories\":{", m->n, m->failed);
        for (size_t c = 0; c < sum->n_cats; c++) {
            if (c)
                bz_buf_putc(b, ',');
            bz_buf_json_str(b, sum->cats[c], strlen(sum->cats[c]));
            bz_buf_putc(b, ':');
            json_num(b, m->cat[c]);
        }
        bz_buf_puts(b, "},\"se\":");
        json_num(b, m->se);
        bz_buf_puts(b, ",\"ci95\":[");
        json_num(b, m->ci_lo);
        bz_buf_putc(b, ',');
        json_num(b, m->ci_hi);
        bz_buf_puts(b, "]}");
    }
    bz_buf_puts(b, "],\"pairs\":[");
    for (size_t i = 0; i < sum->n_pairs; i++) {
        const struct judge_pair_stats *p = &sum->pairs[i];
        bz_buf_puts(b, i ? ",{\"model_a\":" : "{\"model_a\":");
        bz_buf_json_str(b, p->model_a, strlen(p->model_a));
        bz_buf_puts(b, ",\"model_b\":");
        bz_buf_json_str(b, p->model_b, strlen(p->model_b));
        bz_buf_printf(b, ",\"win\":%d,\"loss\":%d,\"tie\":%d,\"failed\":%d,\"win_rate\":", p->win,
                      p->loss, p->tie, p->failed);
        json_num(b, p->win_rate);
        bz_buf_puts(b, ",\"win_rate_adjusted\":");
        json_num(b, p->win_rate_adj);
        bz_buf_putc(b, '}');
    }
    bz_buf_puts(b, "]}\n");
}
