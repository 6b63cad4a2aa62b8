/*
 * test_data.c: the Data view's state without a terminal: following a growing file
 * (selection, marks, a filtered list), the score sort and filter, the suggestion
 * filter and the pre-marking that feeds the counted bulk action.
 */
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "tests/test.h"
#include "tui/internal.h"

static void append_pair(const char *path, int i)
{
    char *l = bz_asprintf("{\"id\":\"r%d\",\"instruction\":\"Question %d?\",\"output\":"
                          "\"Answer %d.\"}\n",
                          i, i, i);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    ASSERT(fd >= 0);
    ASSERT_EQ_INT(write(fd, l, strlen(l)), (long long)strlen(l));
    close(fd);
    free(l);
}

static struct ds_dataset *open_ds(const char *path)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.background = 1};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    ASSERT_OK(ds_wait(ds, &err), &err);
    return ds;
}

TEST(tui_data_follow_keeps_selection_and_marks)
{
    const char *path = test_tmp("d.jsonl");
    for (int i = 1; i <= 4; i++)
        append_pair(path, i);
    struct ds_dataset *ds = open_ds(path);
    struct tui_data d;
    tui_data_init(&d, ds);
    ASSERT_EQ_INT(tui_data_follow(&d), 0);
    tui_data_goto(&d, 1, 10);
    tui_data_toggle_mark(&d);
    tui_data_goto(&d, 2, 10);
    for (int i = 5; i <= 7; i++)
        append_pair(path, i);
    ASSERT_EQ_INT(tui_data_follow(&d), 3);
    ASSERT_EQ_INT(tui_data_count(&d), 7);
    ASSERT_EQ_INT(d.sel, 2);
    ASSERT(tui_data_is_marked(&d, 1));
    ASSERT_EQ_INT(d.n_marked, 1);
    ASSERT_EQ_STR(tui_data_row(&d, 6)->id, "r7");
    ASSERT_EQ_INT(tui_data_follow(&d), 0); /* same size: nothing to do */

    /* a filtered list (pending) takes the new rows in, the selection stays put */
    struct bz_err err = {0};
    const char *ids[] = {"r1"};
    ASSERT_OK(ds_decide(ds, ids, 1, DS_OP_ACCEPT, &err), &err);
    struct tui_filter f = d.filter;
    f.status = TUI_SF_PENDING;
    tui_data_set_filter(&d, &f);
    ASSERT_EQ_INT(tui_data_count(&d), 6);
    size_t rec = tui_data_record(&d, d.sel);
    append_pair(path, 8);
    ASSERT_EQ_INT(tui_data_follow(&d), 1);
    ASSERT_EQ_INT(tui_data_count(&d), 7);
    ASSERT_EQ_INT(tui_data_record(&d, d.sel), rec);
    ASSERT_EQ_INT(d.follow_added, 4);
    tui_data_cleanup(&d);
    ds_close(ds);
}

TEST(tui_data_follow_reports_a_rewrite_once)
{
    const char *path = test_tmp("d.jsonl");
    for (int i = 1; i <= 3; i++)
        append_pair(path, i);
    struct ds_dataset *ds = open_ds(path);
    struct tui_data d;
    tui_data_init(&d, ds);
    ASSERT_EQ_INT(tui_data_follow(&d), 0);
    ASSERT_EQ_INT(truncate(path, 10), 0);
    ASSERT(tui_data_follow(&d) < 0);
    ASSERT(d.msg_error);
    ASSERT(strstr(d.msg, "shrank"));
    d.msg[0] = '\0';
    append_pair(path, 9);
    ASSERT(tui_data_follow(&d) < 0);
    ASSERT_EQ_STR(d.msg, ""); /* said once */
    ASSERT_EQ_INT(tui_data_count(&d), 3);
    tui_data_cleanup(&d);
    ds_close(ds);
}

TEST(tui_data_scores_sort_filter_premark)
{
    const char *path = test_tmp("d.jsonl");
    for (int i = 1; i <= 6; i++)
        append_pair(path, i);
    struct ds_dataset *ds = open_ds(path);
    struct bz_err err = {0};
    /* r1 9, r2 3, r4 1, r5 7; r3 and r6 unscored; r6 a suggested reject */
    ASSERT_OK(ds_score_set(ds, "r1", "j", 9, "good", &err), &err);
    ASSERT_OK(ds_score_set(ds, "r2", "j", 3, "weak", &err), &err);
    ASSERT_OK(ds_score_set(ds, "r4", "j", 1, "wrong", &err), &err);
    ASSERT_OK(ds_score_set(ds, "r5", "j", 7, "fine", &err), &err);
    const char *sg[] = {"r6"};
    ASSERT_OK(ds_suggest(ds, sg, 1, DS_OP_REJECT, "refusal", &err), &err);
    struct tui_data d;
    tui_data_init(&d, ds);
    ASSERT(tui_data_has_scores(&d));
    const struct tui_row *r = tui_data_row(&d, 0);
    ASSERT(r->has_score);
    ASSERT_NEAR(r->score, 9, 1e-9);
    ASSERT_EQ_INT(tui_data_row(&d, 5)->sugg_op, DS_OP_REJECT);

    tui_data_set_sort(&d, TUI_SORT_SCORE_UP);
    const char *up[] = {"r4", "r2", "r5", "r1", "r3", "r6"};
    for (size_t i = 0; i < 6; i++)
        ASSERT_EQ_STR(tui_data_row(&d, i)->id, up[i]);
    tui_data_set_sort(&d, TUI_SORT_SCORE_DOWN);
    ASSERT_EQ_STR(tui_data_row(&d, 0)->id, "r1");
    ASSERT_EQ_STR(tui_data_row(&d, 4)->id, "r3"); /* unscored last, in file order */
    tui_data_set_sort(&d, TUI_SORT_FILE);
    ASSERT(d.view == NULL);

    struct tui_filter f = d.filter;
    f.score_below = 5;
    tui_data_set_filter(&d, &f);
    ASSERT_EQ_INT(tui_data_count(&d), 2);
    f.score_below = -1;
    f.suggested = 1;
    tui_data_set_filter(&d, &f);
    ASSERT_EQ_INT(tui_data_count(&d), 1);
    ASSERT_EQ_STR(tui_data_row(&d, 0)->id, "r6");
    f.suggested = 0;
    tui_data_set_filter(&d, &f);

    /* r2 decided by the person already: not pre-marked */
    const char *acc[] = {"r2"};
    ASSERT_OK(ds_decide(ds, acc, 1, DS_OP_ACCEPT, &err), &err);
    size_t ns, ng;
    ASSERT_EQ_INT(tui_data_premark(&d, 5, &ns, &ng), 2);
    ASSERT_EQ_INT(ns, 1);
    ASSERT_EQ_INT(ng, 1);
    ASSERT(tui_data_is_marked(&d, 3) && tui_data_is_marked(&d, 5));
    ASSERT_EQ_INT(tui_data_bulk_count(&d), 2);
    ASSERT_OK(tui_data_bulk(&d, DS_OP_REJECT), &err);
    ASSERT_EQ_INT(ds_status(ds, "r4"), DS_REJECTED);
    ASSERT_EQ_INT(ds_status(ds, "r6"), DS_REJECTED);
    ASSERT_EQ_INT(ds_status(ds, "r2"), DS_ACCEPTED);
    /* without a threshold only the suggestions: none pending now */
    ASSERT_EQ_INT(tui_data_premark(&d, -1, NULL, NULL), 0);

    /* appended records get their scores too (a score set before they came) */
    ASSERT_OK(ds_score_set(ds, "r7", "j", 2, "late", &err), &err);
    append_pair(path, 7);
    tui_data_set_sort(&d, TUI_SORT_SCORE_UP);
    ASSERT_EQ_INT(tui_data_follow(&d), 1);
    ASSERT_EQ_STR(tui_data_row(&d, 1)->id, "r7");
    tui_data_cleanup(&d);
    ds_close(ds);
}
