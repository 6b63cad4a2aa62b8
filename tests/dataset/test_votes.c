/* test_votes.c: votes are appended durably and exported as chosen/rejected pairs. */
#include "dataset/dataset.h"
#include "tests/test.h"

TEST(ds_votes_append_and_export)
{
    struct bz_err err = {0};
    char *path = bz_strdup(test_tmp("d.jsonl.bezoar/votes.jsonl"));
    struct ds_vote v = {"r1", "Name a colour.", "m.gguf", {"base", "base + ad"}, {NULL, "ad"},
                        {"Blue.", "The sky is green."}, DS_VOTE_A, 1};
    ASSERT_OK(ds_vote_append(path, &v, &err), &err);
    v.vote = DS_VOTE_B;
    v.prompt = "Say \"hi\".";
    ASSERT_OK(ds_vote_append(path, &v, &err), &err);
    v.vote = DS_VOTE_TIE;
    ASSERT_OK(ds_vote_append(path, &v, &err), &err);
    /* a torn line from a crash at the end */
    FILE *f = fopen(path, "a");
    fputs("{\"vote\":\"a\",\"prompt\":\"tor", f);
    fclose(f);
    size_t w = 0, sk = 0;
    char *out = bz_strdup(test_tmp("prefs.jsonl"));
    ASSERT_OK(ds_votes_export(path, out, &w, &sk, &err), &err);
    ASSERT_EQ_INT(w, 2);
    ASSERT_EQ_INT(sk, 2); /* the tie and the torn line */
    char *text = NULL;
    ASSERT_OK(bz_read_file(out, &text, NULL, &err), &err);
    ASSERT(strstr(text, "\"prompt\":\"Name a colour.\",\"chosen\":\"Blue.\",\"rejected\":\"The sky "
                        "is green.\"") != NULL);
    ASSERT(strstr(text, "\"prompt\":\"Say \\\"hi\\\".\",\"chosen\":\"The sky is green.\","
                        "\"rejected\":\"Blue.\"") != NULL);
    free(text);
    free(path);
    free(out);
}
