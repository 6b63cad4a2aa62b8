/*
 * prompt.c: judge prompts: loading a prompt file and filling a template.
 *
 * Key idea: the file layout is FastChat's judge_prompts.jsonl ({name, type,
 * system_prompt, prompt_template, output_format}), so the project's prompts in
 * assets/judge-prompts.jsonl and FastChat's own file are interchangeable. What a
 * prompt is for is read from its placeholders, not its name: {ref_answer_1} makes it
 * reference-guided, {answer_2}/{answer_a_2} makes it multi-turn.
 * Left out: few-shot prompts, two-score output formats.
 */
#include "judge/internal.h"

#include <string.h>

void judge_prompts_init(struct judge_prompts *ps)
{
    memset(ps, 0, sizeof *ps);
}

static void prompt_cleanup(struct judge_prompt *p)
{
    free(p->name);
    free(p->system);
    free(p->tmpl);
    free(p->output_format);
    memset(p, 0, sizeof *p);
}

void judge_prompts_cleanup(struct judge_prompts *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++)
        prompt_cleanup(&ps->p[i]);
    free(ps->p);
    judge_problems_cleanup(&ps->bad);
    memset(ps, 0, sizeof *ps);
}

static int prompt_line(void *ctx, const char *line, size_t n, const char *where)
{
    struct judge_prompts *ps = ctx;
    struct bz_err e = {0};
    char msg[600];
    cJSON *o = judge__json_object(line, n, where, &e);
    if (!o) {
        judge__problem(&ps->bad, e.msg);
        return 0;
    }
    const char *name = judge__str(o, "name"), *type = judge__str(o, "type");
    const char *sys = judge__str(o, "system_prompt"), *tmpl = judge__str(o, "prompt_template");
    const char *fmt = judge__str(o, "output_format");
    msg[0] = 0;
    int t = -1;
    if (type && strcmp(type, "single") == 0)
        t = JUDGE_PROMPT_SINGLE;
    else if (type && (strcmp(type, "pairwise") == 0 || strcmp(type, "pair") == 0))
        t = JUDGE_PROMPT_PAIR;
    if (!name || !name[0])
        snprintf(msg, sizeof msg, "%s: \"name\" missing", where);
    else if (t < 0)
        snprintf(msg, sizeof msg, "%s: \"type\" must be \"single\" or \"pairwise\"", where);
    else if (!tmpl || !tmpl[0])
        snprintf(msg, sizeof msg, "%s: \"prompt_template\" missing", where);
    else if (t == JUDGE_PROMPT_SINGLE && fmt && strcmp(fmt, "[[rating]]") != 0)
        snprintf(msg, sizeof msg, "%s: output_format %s is not supported (only [[rating]])",
                 where, fmt);
    else if (t == JUDGE_PROMPT_PAIR && fmt && strcmp(fmt, "[[A]]") != 0)
        snprintf(msg, sizeof msg, "%s: output_format %s is not supported (only [[A]])", where,
                 fmt);
    if (msg[0]) {
        cJSON_Delete(o);
        judge__problem(&ps->bad, msg);
        return 0;
    }
    struct judge_prompt p = {0};
    p.name = bz_strdup(name);
    p.type = t;
    p.system = bz_strdup(sys ? sys : "");
    p.tmpl = bz_strdup(tmpl);
    p.output_format = bz_strdup(fmt ? fmt : t == JUDGE_PROMPT_SINGLE ? "[[rating]]" : "[[A]]");
    p.ref = strstr(tmpl, "{ref_answer_1}") != NULL;
    p.multi_turn = strstr(tmpl, "{answer_2}") || strstr(tmpl, "{answer_a_2}");
    cJSON_Delete(o);
    ps->p = bz_realloc(ps->p, (ps->n + 1) * sizeof *ps->p);
    ps->p[ps->n++] = p;
    return 0;
}

int judge_prompts_load(struct judge_prompts *ps, const char *path, struct bz_err *err)
{
    return judge__lines(path, prompt_line, ps, err);
}

const struct judge_prompt *judge_prompts_pick(const struct judge_prompts *ps, int type, int ref,
                                              int multi_turn)
{
    for (size_t i = 0; i < ps->n; i++) {
        const struct judge_prompt *p = &ps->p[i];
        if (p->type == type && p->ref == !!ref && p->multi_turn == !!multi_turn)
            return p;
    }
    return NULL;
}

/* The value of placeholder name[0..n), or NULL when unknown; *known 0 when the name
 * is not a placeholder at all. */
static const char *lookup(const struct judge_fill *f, const char *name, size_t n, int *known)
{
    static const struct {
        const char *key;
        int field, idx;
    } keys[] = {
        {"question", 0, 0},   {"question_1", 0, 0}, {"question_2", 0, 1},
        {"answer", 1, 0},     {"answer_1", 1, 0},   {"answer_2", 1, 1},
        {"answer_a", 2, 0},   {"answer_a_1", 2, 0}, {"answer_a_2", 2, 1},
        {"answer_b", 3, 0},   {"answer_b_1", 3, 0}, {"answer_b_2", 3, 1},
        {"ref_answer_1", 4, 0}, {"ref_answer_2", 4, 1},
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(keys); i++) {
        if (strlen(keys[i].key) != n || memcmp(keys[i].key, name, n) != 0)
            continue;
        *known = 1;
        switch (keys[i].field) {
        case 0: return f->question[keys[i].idx];
        case 1: return f->answer[keys[i].idx];
        case 2: return f->answer_a[keys[i].idx];
        case 3: return f->answer_b[keys[i].idx];
        default: return f->ref[keys[i].idx];
        }
    }
    *known = 0;
    return NULL;
}

int judge_prompt_fill(const char *tmpl, const struct judge_fill *f, struct bz_buf *out,
                      struct bz_err *err)
{
    for (const char *s = tmpl; *s;) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            bz_buf_putc(out, s[0]);
            s += 2;
            continue;
        }
        if (s[0] == '}')
            return bz_errf(err, BZ_EFORMAT, "prompt template: single '}' at offset %zu",
                           (size_t)(s - tmpl));
        if (s[0] != '{') {
            const char *next = strpbrk(s, "{}");
            size_t n = next ? (size_t)(next - s) : strlen(s);
            bz_buf_append(out, s, n);
            s += n;
            continue;
        }
        const char *close = strchr(s + 1, '}');
        if (!close)
            return bz_errf(err, BZ_EFORMAT, "prompt template: '{' without '}' at offset %zu",
                           (size_t)(s - tmpl));
        int known;
        const char *v = lookup(f, s + 1, (size_t)(close - s - 1), &known);
        if (!known)
            return bz_errf(err, BZ_EFORMAT, "prompt template: unknown placeholder {%.*s}",
                           (int)BZ_MIN(close - s - 1, 40), s + 1);
        if (!v)
            return bz_errf(err, BZ_EINVAL, "prompt template: no value for {%.*s}",
                           (int)(close - s - 1), s + 1);
        bz_buf_puts(out, v);
        s = close + 1;
    }
    if (!out->p)
        bz_buf_puts(out, "");
    return 0;
}
