/*
 * test_filter.c: the filter pass over a dataset: counts per flag, exact and near
 * duplicate groups with their kept member (first or longest), suggestions written
 * once (a second run writes nothing, a clean record's old filter suggestion is
 * cleared, decided records are left alone, shared content ids lose the dup reason),
 * --decide as one undoable step; and the real files of ../shared/data/instruct
 * (the duplicates and "As an AI" answers their README documents).
 */
#include <stdlib.h>

#include "dataset/filter.h"
#include "tests/test.h"

static const char *lines[] = {
    /* 0 */ "{\"id\":\"ok-1\",\"instruction\":\"Name a primary color.\",\"output\":\"Red.\"}",
    /* 1 */ "{\"id\":\"ref-1\",\"instruction\":\"Write a poem about the sea.\",\"output\":"
            "\"As an AI language model, I cannot write poems about the sea.\"}",
    /* 2 */ "{\"id\":\"emp-1\",\"instruction\":\"Say something nice.\",\"output\":\"  \"}",
    /* 3 */ "{\"id\":\"near-a\",\"instruction\":\"Explain photosynthesis.\",\"output\":"
            "\"Photosynthesis is the process by which green plants use sunlight, water and "
            "carbon dioxide to make glucose and oxygen. It takes place mainly in the leaves, "
            "inside chloroplasts that hold the pigment chlorophyll, which absorbs red and blue "
            "light and reflects green light, which is why leaves look green to us. Plants "
            "store the glucose as starch and use it for energy and growth at night.\"}",
    /* 4 */ "{\"id\":\"near-b\",\"instruction\":\"Explain photosynthesis.\",\"output\":"
            "\"Photosynthesis is the process by which green plants use sunlight, water and "
            "carbon dioxide to make glucose and oxygen. It takes place mostly in the leaves, "
            "inside chloroplasts that hold the pigment chlorophyll, which absorbs red and blue "
            "light and reflects green light, which is why leaves look green to us. Plants "
            "store the glucose as starch and use it for energy and growth at night, too.\"}",
    /* 5 */ "{\"id\":\"ja-a\",\"instruction\":\"光合成を説明してください。\",\"output\":"
            "\"光合成とは、植物が太陽の光を使って、水と二酸化炭素からブドウ糖と酸素を作り出す働き"
            "のことです。主に葉の中にある葉緑体で行われます。作られたブドウ糖はでんぷんとして"
            "蓄えられ、夜の間や冬の成長に使われます。\"}",
    /* 6 */ "{\"id\":\"dup-own\",\"instruction\":\"name a primary color.\",\"output\":\"red.\"}",
    /* 7 */ "{\"instruction\":\"What is 2 + 2?\",\"output\":\"4\"}",
    /* 8 */ "{\"id\":\"ja-b\",\"instruction\":\"光合成を説明してください。\",\"output\":"
            "\"光合成とは、植物が太陽の光を利用して、水と二酸化炭素からブドウ糖と酸素を作り出す働き"
            "のことです。主に葉の中にある葉緑体で行われます。作られたブドウ糖はでんぷんとして"
            "蓄えられ、夜の間や冬の成長に使われます。\"}",
    /* 9 */ "{\"instruction\":\"What is 2 + 2?\",\"output\":\"4\"}",
    /* 10 */ "{\"id\":\"lang-1\",\"instruction\":\"日本の首都はどこですか？\",\"output\":"
             "\"The capital of Japan is Tokyo, a very large city.\"}",
    /* 11 */ "not json",
};
#define NL (sizeof lines / sizeof lines[0])

static const char *make_ds(void)
{
    static char path[4096];
    struct bz_buf b;
    bz_buf_init(&b);
    for (size_t i = 0; i < NL; i++)
        bz_buf_printf(&b, "%s\n", lines[i]);
    snprintf(path, sizeof path, "%s", test_write("f.jsonl", b.p, b.len));
    bz_buf_cleanup(&b);
    return path;
}

static struct ds_dataset *open_rw(const char *p)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {0};
    ASSERT_OK(ds_open(&ds, p, &o, &err), &err);
    return ds;
}

static void run(struct ds_dataset *ds, const struct ds_rules *r, struct ds_filter_result *res)
{
    struct bz_err err = {0};
    ASSERT_OK(ds_filter_run(ds, r ? r : ds_rules_default(), -1, -1, res, &err), &err);
}

static const char *why_of(struct ds_dataset *ds, const char *id)
{
    int op = -1;
    const char *why = NULL;
    if (!ds_suggestion(ds, id, &op, &why))
        return "(none)";
    ASSERT_EQ_INT(op, DS_OP_REJECT);
    return why;
}

TEST(ds_filter_counts_groups_and_suggestions)
{
    const char *p = make_ds();
    struct ds_dataset *ds = open_rw(p);
    struct ds_filter_result res;
    run(ds, NULL, &res);
    ASSERT_EQ_INT(res.records, NL);
    ASSERT_EQ_INT(res.bad, 1);
    ASSERT_EQ_INT(res.per_flag[3], 1);  /* refusal */
    ASSERT_EQ_INT(res.per_flag[2], 1);  /* empty */
    ASSERT_EQ_INT(res.per_flag[10], 1); /* lang */
    ASSERT_EQ_INT(res.per_flag[1], 2);  /* dup: 6 (of 0) and 9 (of 7) */
    ASSERT_EQ_INT(res.per_flag[12], 2); /* neardup: 4 (of 3) and 8 (of 5) */
    ASSERT_EQ_INT(res.n_exact_groups, 2);
    ASSERT_EQ_INT(res.n_groups, 4);
    ASSERT_EQ_INT(res.flagged, 7);
    ASSERT(res.flags[6] & DS_F_DUP);
    ASSERT(!(res.flags[0] & DS_F_DUP));
    ASSERT(res.flags[4] & DS_F_NEARDUP);
    ASSERT(res.flags[8] & DS_F_NEARDUP);
    ASSERT(!(res.flags[3] & DS_F_NEARDUP));
    for (size_t g = 0; g < res.n_groups; g++) {
        ASSERT_EQ_INT(res.groups[g].n, 2);
        ASSERT_EQ_INT(res.groups[g].keep, res.groups[g].idx[0]); /* keep: first */
        ASSERT_EQ_INT(res.groups[g].near, g >= res.n_exact_groups);
    }

    struct ds_filter_applied ap;
    struct bz_err err = {0};
    ASSERT_OK(ds_filter_apply(ds, &res, 0, &ap, &err), &err);
    /* 7 and 9 share their content id: 9's dup reason would reject 7, so no entry */
    ASSERT_EQ_INT(ap.shared, 1);
    ASSERT_EQ_INT(ap.ids, 6);
    ASSERT_EQ_INT(ap.steps, 5); /* refusal, empty, lang, dup, neardup */
    ASSERT_EQ_STR(why_of(ds, "ref-1"), "refusal");
    ASSERT_EQ_STR(why_of(ds, "near-b"), "neardup");
    ASSERT_EQ_STR(why_of(ds, "dup-own"), "dup");
    ASSERT_EQ_STR(why_of(ds, "near-a"), "(none)");
    ASSERT_EQ_STR(why_of(ds, "ok-1"), "(none)");
    ASSERT_EQ_INT(ds_suggestion_count(ds), 6);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.rejected, 0); /* suggestions are never decisions */
    ASSERT_EQ_INT(ds_undo_depth(ds), 0);

    /* a second run writes nothing */
    ASSERT_OK(ds_filter_apply(ds, &res, 0, &ap, &err), &err);
    ASSERT_EQ_INT(ap.steps, 0);
    ASSERT_EQ_INT(ap.unchanged, 6);
    ds_filter_result_free(&res);
    ds_close(ds);

    /* after a reopen: a person decides one, the rules change; decided ones are left
     * alone, clean ones lose their old filter suggestion, others keep theirs */
    ds = open_rw(p);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 6);
    const char *id = "ref-1";
    ASSERT_OK(ds_decide(ds, &id, 1, DS_OP_ACCEPT, &err), &err);
    const char *score_id = "ok-1"; /* a suggestion from elsewhere is not the filter's */
    ASSERT_OK(ds_suggest(ds, &score_id, 1, DS_OP_REJECT, "score<4", &err), &err);
    struct ds_rules *r = NULL;
    const char *js = "{\"flags\": [\"refusal\", \"empty\", \"dup\"]}";
    ASSERT_OK(ds_rules_parse(&r, js, strlen(js), "r", &err), &err);
    run(ds, r, &res);
    ASSERT_EQ_INT(res.n_groups, 2);
    ASSERT_OK(ds_filter_apply(ds, &res, 0, &ap, &err), &err);
    ASSERT_EQ_INT(ap.decided, 1);
    ASSERT_EQ_INT(ap.cleared, 3); /* near-b, ja-b, lang-1 */
    ASSERT_EQ_STR(why_of(ds, "near-b"), "(none)");
    ASSERT_EQ_STR(why_of(ds, "ok-1"), "score<4");
    ASSERT_EQ_STR(why_of(ds, "dup-own"), "dup");
    ASSERT_EQ_INT(ds_status(ds, "ref-1"), DS_ACCEPTED);
    ds_filter_result_free(&res);
    ds_rules_free(r);
    ds_close(ds);
}

TEST(ds_filter_decide_is_one_undoable_step)
{
    const char *p = make_ds();
    struct ds_dataset *ds = open_rw(p);
    struct ds_filter_result res;
    run(ds, NULL, &res);
    struct ds_filter_applied ap;
    struct bz_err err = {0};
    ASSERT_OK(ds_filter_apply(ds, &res, 1, &ap, &err), &err);
    ASSERT_EQ_INT(ap.ids, 6);
    ASSERT_EQ_INT(ap.steps, 1);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    ASSERT_EQ_INT(ds_status(ds, "ref-1"), DS_REJECTED);
    ASSERT_EQ_INT(ds_status(ds, "near-a"), DS_PENDING);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 0);
    const char *first = NULL;
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);
    ASSERT_EQ_INT(ds_status(ds, "ref-1"), DS_PENDING);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.rejected, 0);
    ds_filter_result_free(&res);
    ds_close(ds);
}

TEST(ds_filter_keep_longest)
{
    const char *p = make_ds();
    struct ds_dataset *ds = open_rw(p);
    struct ds_rules *r = NULL;
    struct bz_err err = {0};
    const char *js = "{\"keep\": \"longest\"}";
    ASSERT_OK(ds_rules_parse(&r, js, strlen(js), "r", &err), &err);
    struct ds_filter_result res;
    run(ds, r, &res);
    /* near-b (4) has the longer response: it stays, near-a (3) is flagged */
    ASSERT(res.flags[3] & DS_F_NEARDUP);
    ASSERT(!(res.flags[4] & DS_F_NEARDUP));
    ASSERT(res.flags[8] & DS_F_NEARDUP || res.flags[5] & DS_F_NEARDUP);
    ds_filter_result_free(&res);
    ds_rules_free(r);
    ds_close(ds);
}

static struct ds_dataset *open_ro(const char *p)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.read_only = 1};
    ASSERT_OK(ds_open(&ds, p, &o, &err), &err);
    return ds;
}

TEST(ds_filter_real_alpaca_en_documented_oddities)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/llamafactory_alpaca_en_demo.json"));
    struct ds_filter_result res;
    run(ds, NULL, &res);
    ASSERT_EQ_INT(res.records, 999);
    ASSERT_EQ_INT(res.per_flag[1], 14); /* README: 14 exact duplicates */
    /* README: 8 "As an AI"-style answers: every response saying "AI language model" is
     * flagged (the lists are broader: "As an AI, ..." counts too) */
    size_t lm = 0, lm_flagged = 0;
    for (size_t i = 0; i < res.records; i++) {
        struct ds_record rec;
        ASSERT_OK(ds_get(ds, i, &rec, NULL), NULL);
        if (strstr(ds_record_response(&rec), "AI language model")) {
            lm++;
            lm_flagged += (res.flags[i] & DS_F_REFUSAL) != 0;
        }
        ds_record_cleanup(&rec);
    }
    ASSERT_EQ_INT(lm, 8);
    ASSERT_EQ_INT(lm_flagged, 8);
    ASSERT(res.per_flag[3] >= 8 && res.per_flag[3] <= 40);
    ASSERT(res.per_flag[10] <= 2); /* English both sides: no language mismatch */
    ASSERT(res.per_flag[9] == 0);
    printf("alpaca_en: refusal %zu, dup %zu (%zu groups), neardup %zu (%zu groups), short %zu\n",
           res.per_flag[3], res.per_flag[1], res.n_exact_groups, res.per_flag[12],
           res.n_groups - res.n_exact_groups, res.per_flag[8]);
    ds_filter_result_free(&res);
    ds_close(ds);
}

TEST(ds_filter_real_japanese_and_hh)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/ja_alpaca_seed_tasks_jp_cleaned.jsonl"));
    struct ds_filter_result res;
    run(ds, NULL, &res);
    ASSERT(res.records >= 175);
    ASSERT(res.per_flag[10] <= 3); /* Japanese both sides; code and translations are traps */
    ASSERT_EQ_INT(res.per_flag[1], 0);
    ds_filter_result_free(&res);
    ds_close(ds);
    ds = open_ro(test_data("instruct/hh-rlhf_harmless-base_test.jsonl.gz"));
    run(ds, NULL, &res);
    ASSERT_EQ_INT(res.per_flag[2], 4); /* README: 4 empty final replies */
    ds_filter_result_free(&res);
    ds_close(ds);
}
