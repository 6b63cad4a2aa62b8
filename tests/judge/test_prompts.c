/* test_prompts.c: the shipped judge prompts cover every case and fill; templates
 * expand placeholders and braces, and refuse unknown or unset ones. */
#include "tests/test.h"

#include "judge/judge.h"

TEST(judge_prompts_shipped_cover_all)
{
    struct judge_prompts ps;
    struct bz_err err = {0};
    judge_prompts_init(&ps);
    ASSERT_OK(judge_prompts_load(&ps, "assets/judge-prompts.jsonl", &err), &err);
    ASSERT_EQ_INT(ps.bad.count, 0);
    ASSERT_EQ_INT(ps.n, 8);
    struct judge_fill f = {
        .question = {"Q1", "Q2"},
        .answer = {"A1", "A2"},
        .answer_a = {"AA1", "AA2"},
        .answer_b = {"BB1", "BB2"},
        .ref = {"R1", "R2"},
    };
    for (int type = 0; type < 2; type++)
        for (int ref = 0; ref < 2; ref++)
            for (int multi = 0; multi < 2; multi++) {
                const struct judge_prompt *p = judge_prompts_pick(&ps, type, ref, multi);
                ASSERT(p != NULL);
                struct bz_buf b;
                bz_buf_init(&b);
                ASSERT_OK(judge_prompt_fill(p->tmpl, &f, &b, &err), &err);
                ASSERT(!strchr(b.p, '{'));
                ASSERT(strstr(b.p, multi ? "Q2" : "Q1"));
                ASSERT(!ref == !strstr(b.p, "R1"));
                if (type == JUDGE_PROMPT_SINGLE)
                    ASSERT(strstr(b.p, multi ? "A2" : "A1") && !strstr(b.p, "AA1"));
                else
                    ASSERT(strstr(b.p, multi ? "AA2" : "AA1") && strstr(b.p, "BB1"));
                ASSERT(p->system[0]);
                ASSERT(strstr(p->system, type == JUDGE_PROMPT_SINGLE ? "[[" : "[[C]]"));
                bz_buf_cleanup(&b);
            }
    judge_prompts_cleanup(&ps);
}

TEST(judge_prompts_fill_rules)
{
    struct judge_fill f = {.question = {"what {x}?", NULL}, .answer = {"42", NULL}};
    struct bz_buf b;
    struct bz_err err = {0};
    bz_buf_init(&b);
    ASSERT_OK(judge_prompt_fill("{{literal}} Q={question} A={answer}}}", &f, &b, &err), &err);
    ASSERT_EQ_STR(b.p, "{literal} Q=what {x}? A=42}");
    bz_buf_cleanup(&b);
    ASSERT_EQ_INT(judge_prompt_fill("{nope}", &f, &b, &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "unknown placeholder {nope}"));
    bz_buf_cleanup(&b);
    bz_err_clear(&err);
    ASSERT_EQ_INT(judge_prompt_fill("{answer_2}", &f, &b, &err), BZ_EINVAL);
    bz_buf_cleanup(&b);
    ASSERT(judge_prompt_fill("open { here", &f, &b, &err) < 0);
    bz_buf_cleanup(&b);
    ASSERT(judge_prompt_fill("a } b", &f, &b, &err) < 0);
    bz_buf_cleanup(&b);
    ASSERT_OK(judge_prompt_fill("", &f, &b, &err), &err);
    ASSERT_EQ_STR(b.p, "");
    bz_buf_cleanup(&b);
}

TEST(judge_prompts_fastchat_layout)
{
    /* FastChat's layout: the kind is read from the placeholders; bad rows counted */
    const char text[] =
        "{\"name\":\"single-v1\",\"type\":\"single\",\"system_prompt\":\"S\","
        "\"prompt_template\":\"[Q]{question}[A]{answer}\",\"description\":\"d\","
        "\"category\":\"general\",\"output_format\":\"[[rating]]\"}\n"
        "{\"name\":\"single-math-v1-multi-turn\",\"type\":\"single\",\"system_prompt\":\"S\","
        "\"prompt_template\":\"{ref_answer_1}{question_1}{answer_1}{answer_2}\","
        "\"output_format\":\"[[rating]]\"}\n"
        "{\"name\":\"pair-v2\",\"type\":\"pairwise\",\"system_prompt\":\"S\","
        "\"prompt_template\":\"{question}{answer_a}{answer_b}\",\"output_format\":\"[[A]]\"}\n"
        "{\"name\":\"two\",\"type\":\"pairwise\",\"prompt_template\":\"x\","
        "\"output_format\":\"[[rating_a,rating_b]]\"}\n"
        "{\"name\":\"t\",\"type\":\"other\",\"prompt_template\":\"x\"}\n";
    const char *path = test_write("p.jsonl", text, sizeof text - 1);
    struct judge_prompts ps;
    struct bz_err err = {0};
    judge_prompts_init(&ps);
    ASSERT_OK(judge_prompts_load(&ps, path, &err), &err);
    ASSERT_EQ_INT(ps.n, 3);
    ASSERT_EQ_INT(ps.bad.count, 2);
    ASSERT(strstr(ps.bad.msg[0], ":4: output_format"));
    ASSERT_EQ_STR(judge_prompts_pick(&ps, JUDGE_PROMPT_SINGLE, 0, 0)->name, "single-v1");
    ASSERT_EQ_STR(judge_prompts_pick(&ps, JUDGE_PROMPT_SINGLE, 1, 1)->name,
                  "single-math-v1-multi-turn");
    ASSERT_EQ_STR(judge_prompts_pick(&ps, JUDGE_PROMPT_PAIR, 0, 0)->name, "pair-v2");
    ASSERT(judge_prompts_pick(&ps, JUDGE_PROMPT_PAIR, 1, 0) == NULL);
    judge_prompts_cleanup(&ps);
}
