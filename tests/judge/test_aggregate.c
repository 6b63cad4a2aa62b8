/* test_aggregate.c: judgment files with known means: -1 rows, missing turns,
 * score-only rows, FastChat rows, replaced rows, categories from the question file,
 * spread, pairwise swap logic. */
#include "tests/test.h"

#include <stdlib.h>

#include "judge/judge.h"

static void load(struct judge_judgments *j, const char *name, const char *text)
{
    struct bz_err err = {0};
    const char *path = test_write(name, text, strlen(text));
    ASSERT_OK(judge_judgments_load(j, path, &err), &err);
}

TEST(judge_aggregate_single_means)
{
    /* model a: q1 t1=8 t2=6 (writing), q2 t1=4 t2=-1 (math), q3 t1=10 (math, no turn 2)
     * -> kept 8,6,4,10: mean 7, turn1 (8+4+10)/3, turn2 6, writing 7, math 7, failed 1.
     * model b: score-only rows q1 t1=2 t2=3, q2 t1=-1 t2=-1 -> mean 2.5, failed 2. */
    const char text[] =
        "{\"question_id\":1,\"model\":\"a\",\"judge\":[\"j\",\"single-v1\"],\"user_prompt\":\"u\","
        "\"judgment\":\"Rating: [[8]]\",\"score\":8,\"turn\":1,\"tstamp\":1,\"category\":"
        "\"writing\"}\n"
        "{\"question_id\":1,\"model\":\"a\",\"judge\":\"j\",\"score\":6.0,\"turn\":2,"
        "\"category\":\"writing\"}\n"
        "{\"question_id\":2,\"model\":\"a\",\"judge\":\"j\",\"score\":4,\"turn\":1,"
        "\"category\":\"math\"}\n"
        "{\"question_id\":2,\"model\":\"a\",\"judge\":\"j\",\"judgment\":\"no idea\","
        "\"score\":-1,\"turn\":2,\"category\":\"math\"}\n"
        "{\"question_id\":3,\"model\":\"a\",\"judge\":\"j\",\"score\":10,\"turn\":1,"
        "\"category\":\"math\"}\n"
        "{\"question_id\":1,\"model\":\"b\",\"score\":2,\"turn\":1}\n"
        "{\"question_id\":1,\"model\":\"b\",\"score\":3,\"turn\":2}\n"
        "{\"question_id\":2,\"model\":\"b\",\"score\":-1,\"turn\":1}\n"
        "{\"question_id\":2,\"model\":\"b\",\"score\":-1,\"turn\":2}\n"
        "not json\n"
        "{\"question_id\":2,\"model\":\"b\",\"turn\":2}\n"
        "{\"question_id\":2,\"model\":\"b\",\"score\":5}\n";
    struct judge_judgments j;
    judge_judgments_init(&j);
    load(&j, "single.jsonl", text);
    ASSERT_EQ_INT(j.ns, 9);
    ASSERT_EQ_INT(j.bad.count, 3);
    ASSERT(strstr(j.bad.msg[0], "single.jsonl:10:"));
    ASSERT(strstr(j.bad.msg[1], ":11: \"score\" missing"));
    ASSERT(strstr(j.bad.msg[2], ":12: \"turn\" missing"));
    ASSERT_EQ_STR(j.s[0].judge, "j");
    ASSERT_EQ_STR(j.s[0].prompt_name, "single-v1");

    /* b's rows get categories from the question file */
    const char qtext[] = "{\"question_id\":1,\"category\":\"writing\",\"turns\":[\"x\",\"y\"]}\n"
                         "{\"question_id\":2,\"category\":\"stem\",\"turns\":[\"x\",\"y\"]}\n";
    struct judge_questions qs;
    struct bz_err err = {0};
    judge_questions_init(&qs);
    ASSERT_OK(judge_questions_load(&qs, test_write("q.jsonl", qtext, sizeof qtext - 1), &err),
              &err);
    judge_judgments_categorize(&j, &qs);
    ASSERT_EQ_STR(j.s[5].category, "writing");
    ASSERT_EQ_STR(j.s[1].category, "writing");

    struct judge_summary sum;
    judge_summary_build(&sum, &j, 1000, 42);
    ASSERT_EQ_INT(sum.n_models, 2);
    ASSERT_EQ_INT(sum.n_cats, 3); /* writing, math, stem in MT-Bench order */
    ASSERT_EQ_STR(sum.cats[0], "writing");
    ASSERT_EQ_STR(sum.cats[1], "math");
    ASSERT_EQ_STR(sum.cats[2], "stem");
    const struct judge_model_stats *a = &sum.m[0], *b = &sum.m[1];
    ASSERT_EQ_STR(a->model, "a");
    ASSERT_EQ_INT(a->n, 4);
    ASSERT_EQ_INT(a->failed, 1);
    ASSERT_NEAR(a->score, 7.0, 1e-12);
    ASSERT_NEAR(a->turn1, 22.0 / 3, 1e-12);
    ASSERT_NEAR(a->turn2, 6.0, 1e-12);
    ASSERT_EQ_INT(a->n_turn1, 3);
    ASSERT_EQ_INT(a->n_turn2, 1);
    ASSERT_NEAR(a->cat[0], 7.0, 1e-12);
    ASSERT_NEAR(a->cat[1], 7.0, 1e-12);
    ASSERT(isnan(a->cat[2]));
    /* sample sd of 8,6,4,10 = sqrt(20/3); se = that / 2 */
    ASSERT_NEAR(a->se, sqrt(20.0 / 3) / 2, 1e-12);
    ASSERT(a->ci_lo <= a->score && a->score <= a->ci_hi);
    ASSERT(a->ci_lo >= 4 && a->ci_hi <= 10 && a->ci_hi - a->ci_lo > 0.5);
    ASSERT_EQ_INT(b->n, 2);
    ASSERT_EQ_INT(b->failed, 2);
    ASSERT_NEAR(b->score, 2.5, 1e-12);
    ASSERT_NEAR(b->cat[0], 2.5, 1e-12);
    ASSERT(isnan(b->cat[2])); /* stem rows of b all failed */

    /* same seed, same interval; JSON has full precision and nulls */
    struct judge_summary sum2;
    judge_summary_build(&sum2, &j, 1000, 42);
    ASSERT_NEAR(sum2.m[0].ci_lo, a->ci_lo, 0);
    ASSERT_NEAR(sum2.m[0].ci_hi, a->ci_hi, 0);
    judge_summary_cleanup(&sum2);
    struct bz_buf out;
    bz_buf_init(&out);
    judge_summary_to_json(&out, &sum);
    ASSERT(strstr(out.p, "{\"models\":[{\"model\":\"a\",\"score\":7,\"turn1\":7.333333333333333"));
    ASSERT(strstr(out.p, "\"n\":4,\"failed\":1,\"categories\":{\"writing\":7,\"math\":7,"
                         "\"stem\":null}"));
    bz_buf_cleanup(&out);
    judge_summary_cleanup(&sum);
    judge_questions_cleanup(&qs);
    judge_judgments_cleanup(&j);
}

TEST(judge_aggregate_replaced_rows_and_round_trip)
{
    struct judge_judgments j;
    judge_judgments_init(&j);
    load(&j, "one.jsonl",
         "{\"question_id\":1,\"model\":\"a\",\"judge\":[\"j\",\"p\"],\"judgment\":\"??\","
         "\"score\":-1,\"turn\":1,\"category\":\"stem\"}\n"
         "{\"question_id\":1,\"model\":\"a\",\"judge\":[\"j\",\"p\"],\"score\":5,\"turn\":2}\n");
    load(&j, "two.jsonl",
         "{\"question_id\":1,\"model\":\"a\",\"judge\":[\"j\",\"p\"],\"judgment\":\"[[9]]\","
         "\"score\":9,\"turn\":1,\"category\":\"stem\"}\n"
         "{\"question_id\":1,\"model\":\"a\",\"judge\":[\"other\",\"p\"],\"score\":1,\"turn\":2}\n");
    ASSERT_EQ_INT(j.ns, 3);
    ASSERT_EQ_INT(j.replaced, 1);
    ASSERT_NEAR(j.s[0].score, 9, 0);
    struct judge_summary sum;
    judge_summary_build(&sum, &j, 0, 1);
    ASSERT_EQ_INT(sum.m[0].failed, 0);
    ASSERT_NEAR(sum.m[0].score, 5.0, 1e-12);
    ASSERT(isnan(sum.m[0].ci_lo));
    judge_summary_cleanup(&sum);

    /* what we write loads back the same */
    struct bz_buf b;
    bz_buf_init(&b);
    for (size_t i = 0; i < j.ns; i++)
        judge_single_to_json(&b, &j.s[i]);
    struct judge_judgments k;
    judge_judgments_init(&k);
    load(&k, "back.jsonl", b.p);
    ASSERT_EQ_INT(k.ns, 3);
    ASSERT_EQ_INT(k.bad.count, 0);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ_STR(k.s[i].model, j.s[i].model);
        ASSERT_EQ_STR(k.s[i].judge, j.s[i].judge);
        ASSERT_EQ_STR(k.s[i].prompt_name, j.s[i].prompt_name);
        ASSERT_EQ_STR(k.s[i].judgment, j.s[i].judgment);
        ASSERT_EQ_STR(k.s[i].category, j.s[i].category);
        ASSERT_NEAR(k.s[i].score, j.s[i].score, 0);
        ASSERT_EQ_INT(k.s[i].turn, j.s[i].turn);
    }
    bz_buf_cleanup(&b);
    judge_judgments_cleanup(&k);
    judge_judgments_cleanup(&j);
}

TEST(judge_aggregate_pairwise_swap)
{
    /* x vs y, g1 = x as A, g2 = swapped; winners already mapped to model_1/model_2:
     *  q1: both say x -> x wins      q2: both say y -> y wins
     *  q3: disagree -> tie           q4: g1 tie, g2 model_1 -> tie
     *  q5: error in g2 -> failed     q6 (listed as y vs x): both say model_1 (= y) -> y wins
     * x: win 1, loss 2, tie 2 -> win rate 0.2, adjusted (1 + 1) / 5 = 0.4 */
#define ROW "{\"question_id\":%d,\"model_1\":\"%s\",\"model_2\":\"%s\",\"g1_winner\":" \
            "\"%s\",\"g2_winner\":\"%s\",\"judge\":[\"j\",\"pair-v2\"],\"turn\":1}\n"
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_printf(&b, ROW, 1, "x", "y", "model_1", "model_1");
    bz_buf_printf(&b, ROW, 2, "x", "y", "model_2", "model_2");
    bz_buf_printf(&b, ROW, 3, "x", "y", "model_1", "model_2");
    bz_buf_printf(&b, ROW, 4, "x", "y", "tie", "model_1");
    bz_buf_printf(&b, ROW, 5, "x", "y", "model_1", "error");
    bz_buf_printf(&b, ROW, 6, "y", "x", "model_1", "model_1");
    bz_buf_printf(&b, ROW, 7, "y", "x", "winner", "model_1");
    struct judge_judgments j;
    judge_judgments_init(&j);
    load(&j, "pair.jsonl", b.p);
    ASSERT_EQ_INT(j.np, 6);
    ASSERT_EQ_INT(j.bad.count, 1);
    ASSERT(strstr(j.bad.msg[0], "pair.jsonl:7:"));
    struct judge_summary sum;
    judge_summary_build(&sum, &j, 0, 1);
    ASSERT_EQ_INT(sum.n_models, 0);
    ASSERT_EQ_INT(sum.n_pairs, 1);
    const struct judge_pair_stats *p = &sum.pairs[0];
    ASSERT_EQ_STR(p->model_a, "x");
    ASSERT_EQ_STR(p->model_b, "y");
    ASSERT_EQ_INT(p->win, 1);
    ASSERT_EQ_INT(p->loss, 2);
    ASSERT_EQ_INT(p->tie, 2);
    ASSERT_EQ_INT(p->failed, 1);
    ASSERT_NEAR(p->win_rate, 0.2, 1e-12);
    ASSERT_NEAR(p->win_rate_adj, 0.4, 1e-12);

    /* round trip of a pairwise row */
    struct bz_buf o;
    bz_buf_init(&o);
    judge_pair_to_json(&o, &j.p[3]);
    struct judge_single s;
    struct judge_pair q;
    struct bz_err err = {0};
    ASSERT_EQ_INT(judge_judgment_parse(o.p, o.len, "x", &s, &q, &err), 2);
    ASSERT_EQ_INT(q.g1_winner, JUDGE_G_TIE);
    ASSERT_EQ_INT(q.g2_winner, JUDGE_G_MODEL_1);
    ASSERT_EQ_STR(q.prompt_name, "pair-v2");
    judge_pair_cleanup(&q);
    bz_buf_cleanup(&o);
    judge_summary_cleanup(&sum);
    judge_judgments_cleanup(&j);
    bz_buf_cleanup(&b);
}
