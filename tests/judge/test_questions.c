/* test_questions.c: question sets, reference answers and answer files: the shipped
 * set, MT-Bench's own file, bad lines reported with FILE:LINE, answers round trip. */
#include "tests/test.h"

#include <stdlib.h>

#include "judge/judge.h"

TEST(judge_questions_shipped)
{
    struct judge_questions qs;
    struct bz_err err = {0};
    judge_questions_init(&qs);
    ASSERT_OK(judge_questions_load(&qs, "assets/questions.jsonl", &err), &err);
    ASSERT_EQ_INT(qs.n, 24);
    ASSERT_EQ_INT(qs.bad.count, 0);
    int per_cat[8] = {0}, with_ref = 0;
    for (size_t i = 0; i < qs.n; i++) {
        ASSERT_EQ_INT(qs.q[i].n_turns, 2);
        int c = -1;
        for (int k = 0; k < 8; k++)
            if (strcmp(qs.q[i].category, judge_mtbench_categories[k]) == 0)
                c = k;
        ASSERT(c >= 0);
        per_cat[c]++;
        if (qs.q[i].ref) {
            with_ref++;
            ASSERT(judge_category_needs_ref(qs.q[i].category));
        }
    }
    for (int k = 0; k < 8; k++)
        ASSERT_EQ_INT(per_cat[k], 3);
    ASSERT_EQ_INT(with_ref, 9);
    /* the reference file replaces the inline references with the same text */
    const struct judge_question *q7 = judge_questions_find(&qs, 7);
    ASSERT(q7 && q7->n_ref == 2);
    char *inline_ref = bz_strdup(q7->ref[1]);
    ASSERT_OK(judge_questions_load_ref(&qs, "assets/questions-reference.jsonl", &err), &err);
    ASSERT_EQ_INT(qs.bad.count, 0);
    q7 = judge_questions_find(&qs, 7);
    ASSERT_EQ_STR(q7->ref[1], inline_ref);
    free(inline_ref);
    ASSERT(judge_questions_find(&qs, 25) == NULL);
    judge_questions_cleanup(&qs);
}

TEST(judge_questions_mtbench)
{
    /* test_data returns static storage: keep copies */
    char *qpath = bz_strdup(test_data("eval/mtbench_question.jsonl"));
    char *rpath = bz_strdup(test_data("eval/mtbench_reference_answer_gpt-4.jsonl"));
    struct judge_questions qs;
    struct bz_err err = {0};
    judge_questions_init(&qs);
    ASSERT_OK(judge_questions_load(&qs, qpath, &err), &err);
    ASSERT_EQ_INT(qs.n, 80);
    ASSERT_EQ_INT(qs.bad.count, 0);
    ASSERT_EQ_INT(qs.q[0].id, 81);
    ASSERT_EQ_STR(qs.q[0].category, "writing");
    ASSERT_EQ_INT(qs.q[79].id, 160);
    ASSERT_EQ_STR(qs.q[79].category, "humanities");
    ASSERT_OK(judge_questions_load_ref(&qs, rpath, &err), &err);
    int refs = 0;
    for (size_t i = 0; i < qs.n; i++)
        if (judge_category_needs_ref(qs.q[i].category)) {
            ASSERT(qs.q[i].ref != NULL);
            ASSERT(qs.q[i].n_ref >= 1);
            refs++;
        }
    ASSERT_EQ_INT(refs, 30);
    ASSERT_EQ_INT(qs.bad.count, 0);
    judge_questions_cleanup(&qs);
    free(qpath);
    free(rpath);
}

TEST(judge_questions_bad_lines)
{
    const char text[] =
        "{\"question_id\":1,\"category\":\"math\",\"turns\":[\"a\",\"b\"]}\n"
        "\n"
        "{\"question_id\":2,\"category\":\"math\",\"turns\":[\"a\"\n"
        "{\"category\":\"math\",\"turns\":[\"a\"]}\n"
        "{\"question_id\":3,\"turns\":[]}\n"
        "{\"question_id\":4,\"turns\":[1,2]}\n"
        "[1,2,3]\n"
        "{\"question_id\":1,\"category\":\"x\",\"turns\":[\"dup\"]}\n"
        "{\"question_id\":\"5\",\"category\":\"stem\",\"turns\":[\"ok\"],\"reference\":[\"r\"]}\r\n"
        "{\"question_id\":6,\"turns\":[\"no category\"],\"reference\":7}\n";
    const char *path = test_write("q.jsonl", text, sizeof text - 1);
    struct judge_questions qs;
    struct bz_err err = {0};
    judge_questions_init(&qs);
    ASSERT_OK(judge_questions_load(&qs, path, &err), &err);
    ASSERT_EQ_INT(qs.n, 2);
    ASSERT_EQ_INT(qs.q[1].id, 5);
    ASSERT_EQ_STR(qs.q[1].ref[0], "r");
    ASSERT_EQ_INT(qs.bad.count, 7);
    char want[600];
    snprintf(want, sizeof want, "%s:3:", path);
    ASSERT(strncmp(qs.bad.msg[0], want, strlen(want)) == 0);
    ASSERT(strstr(qs.bad.msg[0], "invalid JSON"));
    snprintf(want, sizeof want, "%s:4: \"question_id\" missing", path);
    ASSERT(strncmp(qs.bad.msg[1], want, strlen(want)) == 0);
    ASSERT(strstr(qs.bad.msg[2], "\"turns\" must be"));
    ASSERT(strstr(qs.bad.msg[4], "expected a JSON object"));
    ASSERT(strstr(qs.bad.msg[5], "repeats an earlier question"));
    ASSERT(strstr(qs.bad.msg[6], ":10: \"reference\""));
    judge_questions_cleanup(&qs);
    ASSERT_EQ_INT(judge_questions_load(&qs, test_tmp("missing.jsonl"), &err), -ENOENT);
    judge_questions_cleanup(&qs);
}

TEST(judge_questions_temperature)
{
    ASSERT_NEAR(judge_category_temperature("writing"), 0.7, 0);
    ASSERT_NEAR(judge_category_temperature("roleplay"), 0.7, 0);
    ASSERT_NEAR(judge_category_temperature("stem"), 0.1, 0);
    ASSERT_NEAR(judge_category_temperature("humanities"), 0.1, 0);
    ASSERT_NEAR(judge_category_temperature("math"), 0.0, 0);
    ASSERT_NEAR(judge_category_temperature("extraction"), 0.0, 0);
    ASSERT_NEAR(judge_category_temperature("unknown"), 0.0, 0);
    ASSERT(judge_category_needs_ref("coding") && !judge_category_needs_ref("stem"));
}

TEST(judge_answers_round_trip)
{
    struct judge_answer a = {0};
    char *turns[2] = {"first \"answer\"\nline", "zweite Antwort \xe2\x9c\x93"};
    a.question_id = 12;
    a.answer_id = "abc";
    a.model_id = "m+lora";
    a.turns = turns;
    a.n_turns = 2;
    a.tstamp = 1700000000.25;
    struct bz_buf b;
    bz_buf_init(&b);
    judge_answer_to_json(&b, &a);
    /* a later answer to the same question by the same model replaces the first */
    bz_buf_puts(&b, "{\"question_id\":13,\"model_id\":\"m+lora\",\"choices\":[{\"index\":0,"
                    "\"turns\":[\"x\",\"y\"]}],\"tstamp\":1}\n");
    bz_buf_puts(&b, "{\"question_id\":13,\"model_id\":\"m+lora\",\"choices\":[{\"index\":0,"
                    "\"turns\":[\"x2\",\"y2\"]}],\"tstamp\":2}\n");
    bz_buf_puts(&b, "{\"question_id\":13,\"model_id\":\"other\",\"choices\":[]}\n");
    bz_buf_puts(&b, "{\"question_id\":14,\"choices\":[{\"turns\":[\"x\"]}]}\n");
    const char *path = test_write("a.jsonl", b.p, b.len);
    struct judge_answers as;
    struct bz_err err = {0};
    judge_answers_init(&as);
    ASSERT_OK(judge_answers_load(&as, path, &err), &err);
    ASSERT_EQ_INT(as.n, 2);
    ASSERT_EQ_INT(as.bad.count, 2);
    ASSERT(strstr(as.bad.msg[0], ":4: \"choices\"[0]"));
    ASSERT(strstr(as.bad.msg[1], ":5: \"model_id\" missing"));
    const struct judge_answer *g = judge_answers_find(&as, "m+lora", 12);
    ASSERT(g);
    ASSERT_EQ_STR(g->answer_id, "abc");
    ASSERT_EQ_STR(g->turns[0], turns[0]);
    ASSERT_EQ_STR(g->turns[1], turns[1]);
    ASSERT_NEAR(g->tstamp, a.tstamp, 0);
    g = judge_answers_find(&as, NULL, 13);
    ASSERT(g && strcmp(g->turns[0], "x2") == 0);
    ASSERT(judge_answers_find(&as, "other", 12) == NULL);
    judge_answers_cleanup(&as);
    bz_buf_cleanup(&b);
}
