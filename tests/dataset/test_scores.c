/*
 * test_scores.c: judge scores (DATASET.bezoar/scores.jsonl): set, replay on open (the
 * last line of an id wins), torn and bad lines skipped and counted, appending after a
 * torn tail, read-only refusal; the rubric prompt and the strict verdict parser.
 */
#include <stdlib.h>

#include "dataset/filter.h"
#include "tests/test.h"

static const char *make_dataset(void)
{
    static char path[4096];
    const char *t = "{\"id\":\"a\",\"instruction\":\"Name a color.\",\"output\":\"Blue.\"}\n"
                    "{\"id\":\"b\",\"instruction\":\"Add 2 and 3.\",\"output\":\"5\"}\n";
    snprintf(path, sizeof path, "%s", test_write("d.jsonl", t, strlen(t)));
    return path;
}

static struct ds_dataset *open_ds(const char *p, int ro)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.read_only = ro};
    ASSERT_OK(ds_open(&ds, p, &o, &err), &err);
    return ds;
}

TEST(ds_scores_set_replay_last_wins)
{
    const char *p = make_dataset();
    struct ds_dataset *ds = open_ds(p, 0);
    struct bz_err err = {0};
    ASSERT_EQ_INT(ds_score_count(ds), 0);
    ASSERT_OK(ds_score_set(ds, "a", "openai:http://x/v1#m", 7, "Clear and correct.", &err),
              &err);
    ASSERT_OK(ds_score_set(ds, "b", "openai:http://x/v1#m", 3.5, "Terse \"5\".", &err), &err);
    ASSERT_OK(ds_score_set(ds, "a", "local:j.gguf", 9, "", &err), &err);
    double s;
    const char *judge, *why;
    ASSERT_EQ_INT(ds_score_get(ds, "a", &s, &judge, &why), 1);
    ASSERT_NEAR(s, 9, 0);
    ASSERT_EQ_STR(judge, "local:j.gguf");
    ASSERT_EQ_INT(ds_score_count(ds), 2);
    ds_close(ds);

    ds = open_ds(p, 1); /* read-only opens read scores too */
    ASSERT_EQ_INT(ds_score_count(ds), 2);
    ASSERT_EQ_INT(ds_score_torn(ds), 0);
    ASSERT_EQ_INT(ds_score_get(ds, "b", &s, &judge, &why), 1);
    ASSERT_NEAR(s, 3.5, 0);
    ASSERT_EQ_STR(why, "Terse \"5\".");
    ASSERT_EQ_INT(ds_score_get(ds, "a", &s, NULL, NULL), 1);
    ASSERT_NEAR(s, 9, 0);
    ASSERT_EQ_INT(ds_score_get(ds, "zz", &s, NULL, NULL), 0);
    ASSERT_EQ_INT(ds_score_set(ds, "a", "j", 1, "", &err), BZ_EUNSUPPORTED);
    ds_close(ds);
}

TEST(ds_scores_torn_and_bad_lines_skipped)
{
    const char *p = make_dataset();
    struct ds_dataset *ds = open_ds(p, 0);
    struct bz_err err = {0};
    ASSERT_OK(ds_score_set(ds, "a", "j", 6, "ok", &err), &err);
    ds_close(ds);
    char sp[4200];
    snprintf(sp, sizeof sp, "%s.bezoar/scores.jsonl", p);
    FILE *f = fopen(sp, "a");
    ASSERT(f);
    fputs("{\"id\":\"b\",\"judge\":\"j\",\"score\":\"high\"}\n"  /* score not a number */
          "not json\n"
          "{\"id\":\"b\",\"judge\":\"j\",\"score\":2,\"rationale\":\"to", f); /* torn */
    fclose(f);
    ds = open_ds(p, 0);
    ASSERT_EQ_INT(ds_score_torn(ds), 3);
    ASSERT_EQ_INT(ds_score_count(ds), 1);
    /* appending after the torn tail keeps the new line whole */
    ASSERT_OK(ds_score_set(ds, "b", "j", 8, "fine", &err), &err);
    ds_close(ds);
    ds = open_ds(p, 1);
    ASSERT_EQ_INT(ds_score_torn(ds), 3);
    ASSERT_EQ_INT(ds_score_count(ds), 2);
    double s;
    ASSERT_EQ_INT(ds_score_get(ds, "b", &s, NULL, NULL), 1);
    ASSERT_NEAR(s, 8, 0);
    ds_close(ds);
}

TEST(ds_scores_verdict_strict)
{
    double s = 0;
    char *why = NULL;
    struct bz_err err = {0};
    ASSERT_OK(ds_score_parse("The answer is correct and brief.\nRating: [[7]]", &s, &why, &err),
              &err);
    ASSERT_NEAR(s, 7, 0);
    ASSERT_EQ_STR(why, "The answer is correct and brief.");
    free(why);
    ASSERT_OK(ds_score_parse("**Rating:** [[ 8.5 ]]\n\nGood detail, one slip.", &s, &why, &err),
              &err);
    ASSERT_NEAR(s, 8.5, 0);
    ASSERT_EQ_STR(why, "Good detail, one slip.");
    free(why);
    ASSERT_OK(ds_score_parse("I rate it [[10]] because it is perfect; again [[10]].", &s, &why,
                             &err), &err);
    ASSERT_NEAR(s, 10, 0);
    ASSERT_EQ_STR(why, "I rate it  because it is perfect; again [[10]].");
    free(why);
    /* unparseable: none, the [N] fallback, two ratings, out of range, not a number */
    const char *bad[] = {"Great answer!", "Rating: [7]", "Rating: [[3]] or maybe [[4]]",
                         "Rating: [[0]]", "Rating: [[11]]", "Rating: [[seven]]",
                         "Rating: [[7.]]", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        ASSERT_EQ_INT(ds_score_parse(bad[i], &s, &why, NULL), BZ_EPARSE);
        ASSERT(why == NULL);
    }
}

TEST(ds_scores_rubric_prompt)
{
    struct ds_record r = {0};
    struct bz_err err = {0};
    const char *j = "{\"instruction\":\"Summarize.\",\"input\":\"Long text.\",\"output\":\"Short.\","
                    "\"system\":\"Be brief.\"}";
    ASSERT_EQ_INT(ds_parse_record(j, strlen(j), DS_FMT_UNKNOWN, 0, "x", 1, &r, &err), 1);
    char *p = ds_score_prompt("Q: {instruction}\nA: {response}\n{unknown}", &r);
    ASSERT_EQ_STR(p, "Q: [System]\nBe brief.\n\nSummarize.\n\nLong text.\nA: Short.\n{unknown}");
    free(p);
    ds_record_cleanup(&r);
    /* several turns: a transcript with roles, the last answer is the response */
    j = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\","
        "\"content\":\"Hello\"},{\"role\":\"user\",\"content\":\"2+2?\"},{\"role\":"
        "\"assistant\",\"content\":\"4\"}]}";
    ASSERT_EQ_INT(ds_parse_record(j, strlen(j), DS_FMT_UNKNOWN, 0, "x", 1, &r, &err), 1);
    p = ds_score_prompt("{instruction}|{response}", &r);
    ASSERT_EQ_STR(p, "[User]\nHi\n\n[Assistant]\nHello\n\n[User]\n2+2?|4");
    free(p);
    ds_record_cleanup(&r);
}

TEST(ds_scores_and_suggestions_by_id_hash)
{
    /* the Data view sorts by score through the analysis pass's id hashes: the lookups by
     * hash agree with the lookups by id, and an id without either has neither */
    const char *p = make_dataset();
    struct ds_dataset *ds = open_ds(p, 0);
    struct bz_err err = {0};
    ASSERT_OK(ds_score_set(ds, "a", "local:j.gguf", 4, "meh", &err), &err);
    const char *ids[] = {"b"};
    ASSERT_OK(ds_suggest(ds, ids, 1, DS_OP_REJECT, "refusal", &err), &err);
    double s = 0;
    int op = -1;
    ASSERT_EQ_INT(ds_score_get_hash(ds, bz_hash64("a", 1), &s), 1);
    ASSERT_NEAR(s, 4, 0);
    ASSERT_EQ_INT(ds_score_get_hash(ds, bz_hash64("b", 1), &s), 0);
    ASSERT_EQ_INT(ds_suggestion_hash(ds, bz_hash64("b", 1), &op), 1);
    ASSERT_EQ_INT(op, DS_OP_REJECT);
    ASSERT_EQ_INT(ds_suggestion_hash(ds, bz_hash64("a", 1), &op), 0);
    /* the summaries' hashes are these: record 0 is "a" in make_dataset's file */
    ASSERT_OK(ds_wait(ds, &err), &err);
    struct ds_summary sm;
    ASSERT_EQ_INT(ds_summary(ds, 0, &sm), 1);
    ASSERT(sm.id_hash == bz_hash64("a", 1));
    ds_close(ds);
}
