/* test_compare.c: word diff, two sides streaming from one model, blind votes un-shuffled. */
#include <unistd.h>

#include "tests/test.h"
#include "tui/compare.h"

TEST(compare_word_diff)
{
    const char *a = "the cat sat on the mat";
    const char *b = "the dog sat on a mat today";
    unsigned char ma[64], mb[64];
    tui_compare_diff(a, strlen(a), b, strlen(b), ma, mb);
    /* "cat" and the second "the" differ in a; "dog", "a", "today" in b */
    ASSERT_EQ_INT(ma[0], 0);
    ASSERT_EQ_INT(ma[4], 1);  /* c of cat */
    ASSERT_EQ_INT(ma[8], 0);  /* s of sat */
    ASSERT_EQ_INT(ma[15], 1); /* t of the second "the" */
    ASSERT_EQ_INT(ma[19], 0); /* m of mat */
    ASSERT_EQ_INT(mb[4], 1);  /* d of dog */
    ASSERT_EQ_INT(mb[15], 1); /* a */
    ASSERT_EQ_INT(mb[17], 0); /* m of mat */
    ASSERT_EQ_INT(mb[21], 1); /* t of today */
    ASSERT_EQ_INT(mb[20], 0); /* the space before today */
}

static void wait_done(struct tui_compare *c)
{
    for (int i = 0; i < 3000; i++) {
        struct tui_cmp_view v0, v1;
        tui_compare_snapshot(c, 0, &v0);
        tui_compare_snapshot(c, 1, &v1);
        free(v0.text);
        free(v1.text);
        if (v0.done && v1.done)
            return;
        usleep(10000);
    }
    ASSERT(!"timed out waiting for both answers");
}

TEST(compare_two_sides_one_model)
{
    const char *model = test_data("models/stories260K.gguf");
    struct tui_compare c;
    struct bz_err err = {0};
    const char *votes = test_tmp("d.jsonl.bezoar/votes.jsonl");
    ASSERT_OK(tui_compare_open(&c, model, NULL, NULL, "alpaca", votes, &err), &err);
    c.max_tokens = 24;
    ASSERT_OK(tui_compare_start(&c, "Tell me a story about a cat.", "r1", 1, &err), &err);
    wait_done(&c);
    struct tui_cmp_view a, b;
    tui_compare_snapshot(&c, 0, &a);
    tui_compare_snapshot(&c, 1, &b);
    ASSERT(strlen(a.text) > 0);
    ASSERT_EQ_STR(a.text, b.text); /* same weights, greedy: the same answer */
    ASSERT(strstr(a.label, "hidden") != NULL);
    ASSERT_EQ_INT(a.n_tokens, b.n_tokens);
    free(a.text);
    free(b.text);
    /* a blind vote for the shown A is recorded for the real side behind it */
    int shown_a_is = c.swapped ? 1 : 0;
    ASSERT_OK(tui_compare_vote(&c, TUI_VOTE_A, &err), &err);
    char *j = NULL;
    ASSERT_OK(bz_read_file(votes, &j, NULL, &err), &err);
    ASSERT(strstr(j, shown_a_is ? "\"vote\":\"b\"" : "\"vote\":\"a\"") != NULL);
    ASSERT(strstr(j, "\"prompt_id\":\"r1\"") != NULL);
    ASSERT(strstr(j, "\"blind\":true") != NULL);
    free(j);
    tui_compare_snapshot(&c, 0, &a);
    ASSERT(strstr(a.label, "hidden") == NULL); /* revealed after the vote */
    free(a.text);
    tui_compare_close(&c);
}

TEST(compare_refuses_model_without_template)
{
    const char *model = test_data("models/stories260K.gguf");
    struct tui_compare c;
    struct bz_err err = {0};
    int rc = tui_compare_open(&c, model, NULL, NULL, NULL, NULL, &err);
    ASSERT(rc != 0);
    ASSERT(strstr(err.msg, "--template") != NULL);
}
