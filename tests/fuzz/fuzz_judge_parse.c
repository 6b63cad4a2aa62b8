/*
 * fuzz_judge_parse.c: the judge's parsers on arbitrary bytes. The first byte picks
 * the parser: a question line, an answer line, a judgment line (single or
 * pairwise), a verdict text (rating and pairwise), or a prompt template to fill.
 * Errors must carry the "where" place; parsed rows must hold their invariants and
 * write back to JSON that parses to the same row.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "judge/judge.h"

static void check_judgment(const char *s, size_t n)
{
    struct judge_single a, a2;
    struct judge_pair p, p2;
    struct bz_err err = {0};
    int kind = judge_judgment_parse(s, n, "w:1", &a, &p, &err);
    if (kind < 0) {
        if (strncmp(err.msg, "w:1", 3) != 0)
            abort();
        return;
    }
    struct bz_buf b;
    bz_buf_init(&b);
    if (kind == 1) {
        if (!a.model[0] || a.turn < 1 || !isfinite(a.score) || (a.score < 0 && a.score != -1))
            abort();
        judge_single_to_json(&b, &a);
        if (judge_judgment_parse(b.p, b.len - 1, "back", &a2, &p2, NULL) != 1 ||
            a2.question_id != a.question_id || a2.turn != a.turn || a2.score != a.score ||
            strcmp(a2.model, a.model) || strcmp(a2.judgment, a.judgment))
            abort();
        judge_single_cleanup(&a2);
        judge_single_cleanup(&a);
    } else {
        judge_pair_to_json(&b, &p);
        if (judge_judgment_parse(b.p, b.len - 1, "back", &a2, &p2, NULL) != 2 ||
            p2.g1_winner != p.g1_winner || p2.g2_winner != p.g2_winner ||
            strcmp(p2.model_1, p.model_1) || strcmp(p2.model_2, p.model_2))
            abort();
        judge_pair_cleanup(&p2);
        judge_pair_cleanup(&p);
    }
    bz_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    struct bz_err err = {0};
    switch (data[0] % 5) {
    case 0: {
        struct judge_question q;
        if (judge_question_parse(&q, s, n, "w:1", &err) == 0) {
            if (q.n_turns < 1 || !q.category || (q.ref && q.n_ref < 0))
                abort();
            judge_question_cleanup(&q);
        } else if (strncmp(err.msg, "w:1", 3) != 0) {
            abort();
        }
        break;
    }
    case 1: {
        struct judge_answer a, a2;
        if (judge_answer_parse(&a, s, n, "w:1", &err) == 0) {
            struct bz_buf b;
            bz_buf_init(&b);
            judge_answer_to_json(&b, &a);
            if (judge_answer_parse(&a2, b.p, b.len - 1, "back", NULL) != 0 ||
                a2.n_turns != a.n_turns || strcmp(a2.turns[0], a.turns[0]))
                abort();
            judge_answer_cleanup(&a2);
            judge_answer_cleanup(&a);
            bz_buf_cleanup(&b);
        } else if (strncmp(err.msg, "w:1", 3) != 0) {
            abort();
        }
        break;
    }
    case 2:
        check_judgment(s, n);
        break;
    case 3: {
        char *t = bz_strndup(s, n);
        double r = judge_verdict_rating(t);
        if (!(r == -1 || (r >= 0 && r <= 10)))
            abort();
        int w = judge_verdict_pair(t);
        if (w < JUDGE_WIN_ERROR || w > JUDGE_WIN_TIE)
            abort();
        free(t);
        break;
    }
    default: {
        char *t = bz_strndup(s, n);
        struct judge_fill f = {{"q1", "q2"}, {"a1", "a2"}, {"x1", "x2"}, {"y1", "y2"},
                               {"r1", NULL}};
        struct bz_buf b;
        bz_buf_init(&b);
        if (judge_prompt_fill(t, &f, &b, &err) == 0 && !b.p)
            abort();
        bz_buf_cleanup(&b);
        free(t);
        break;
    }
    }
    return 0;
}
