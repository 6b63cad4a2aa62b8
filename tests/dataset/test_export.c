/*
 * test_export.c: export round trips (export, re-open the export: same ids, same
 * contents) in every output format, as JSON arrays and JSON lines; status filters;
 * edits applied; import with source/meta; stats percentiles.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "tests/test.h"

static struct ds_dataset *open_opts(const char *path, int read_only)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.read_only = read_only};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    return ds;
}

static void same_msgs(const struct ds_msg *a, int na, const struct ds_msg *b, int nb)
{
    ASSERT_EQ_INT(na, nb);
    for (int i = 0; i < na; i++) {
        ASSERT_EQ_INT(a[i].role, b[i].role);
        ASSERT_EQ_STR(a[i].content, b[i].content);
    }
}

/* Export everything of src (exact copies too) as fmt/jsonl, re-open, compare record by
 * record. */
static void round_trip(struct ds_dataset *src, int fmt, int jsonl)
{
    const char *out = test_tmp(jsonl ? "rt.jsonl" : "rt.json");
    char path[4096];
    snprintf(path, sizeof path, "%s", out);
    size_t written = 0;
    struct bz_err err = {0};
    struct ds_export_opts eo = {.status_mask = DS_ALL_STATUSES, .out_format = fmt,
                                .jsonl = jsonl, .keep_copies = 1};
    ASSERT_OK(ds_export_ex(src, path, &eo, &written, &err), &err);
    struct ds_dataset *back = open_opts(path, 1);
    size_t good = ds_count(src) - ds_bad_count(src);
    ASSERT_EQ_INT(written, good);
    ASSERT_EQ_INT(ds_count(back), good);
    ASSERT_EQ_INT(ds_bad_count(back), 0);
    size_t j = 0;
    for (size_t i = 0; i < ds_count(src); i++) {
        struct ds_record a, b;
        if (ds_get(src, i, &a, NULL) < 0) {
            ds_record_cleanup(&a);
            continue;
        }
        ASSERT_OK(ds_get(back, j++, &b, &err), &err);
        ASSERT_EQ_STR(a.id, b.id);
        same_msgs(a.msgs, a.n_msgs, b.msgs, b.n_msgs);
        ASSERT_EQ_INT(a.chosen != NULL, b.chosen != NULL);
        if (a.chosen) {
            ASSERT_EQ_STR(a.chosen, b.chosen);
            ASSERT_EQ_STR(a.rejected, b.rejected);
        }
        ds_record_cleanup(&a);
        ds_record_cleanup(&b);
    }
    ds_close(back);
    unlink(path);
}

static const char mixed[] =
    "{\"instruction\":\"Add\",\"input\":\"2 and 3\",\"output\":\"5\",\"system\":\"Be brief\","
    "\"history\":[[\"hi\",\"hello\"]]}\n"
    "{\"id\":\"conv-1\",\"conversations\":[{\"from\":\"system\",\"value\":\"s\"},{\"from\":\"human\","
    "\"value\":\"q1\"},{\"from\":\"gpt\",\"value\":\"a1\"},{\"from\":\"human\",\"value\":\"q2 \\\"x\\\""
    "\"},{\"from\":\"gpt\",\"value\":\"a2\\n\\tend\"}]}\n"
    "{\"id\":7,\"messages\":[{\"role\":\"user\",\"content\":\"日本語の質問\"},{\"role\":\"assistant\","
    "\"content\":\"答え\"}]}\n"
    "{\"prompt\":\"p\",\"chosen\":\"good\",\"rejected\":\"bad\"}\n"
    "{\"conversations\":[{\"from\":\"human\",\"value\":\"pick\"}],\"chosen\":{\"from\":\"gpt\","
    "\"value\":\"c\"},\"rejected\":{\"from\":\"gpt\",\"value\":\"r\"}}\n"
    "{\"broken\":\n";

TEST(ds_export_round_trip_every_format)
{
    struct ds_dataset *src = open_opts(test_write("mixed.jsonl", mixed, sizeof mixed - 1), 1);
    ASSERT_EQ_INT(ds_count(src), 6);
    ASSERT_EQ_INT(ds_bad_count(src), 1);
    for (int fmt = DS_OUT_ALPACA; fmt <= DS_OUT_OPENAI; fmt++)
        for (int jsonl = 0; jsonl <= 1; jsonl++)
            round_trip(src, fmt, jsonl);
    ds_close(src);
}

TEST(ds_export_round_trip_real_files)
{
    static const char *files[] = {
        "instruct/llamafactory_alpaca_en_demo.json", "instruct/llamafactory_dpo_en_demo.json",
        "instruct/hh-rlhf_harmless-base_test.jsonl.gz", "instruct/fastchat_dummy_conversation.json",
        "instruct/selfinstruct_seed_tasks.jsonl",
    };
    for (size_t f = 0; f < BZ_ARRAY_SIZE(files); f++) {
        struct ds_dataset *src = open_opts(test_data(files[f]), 1);
        round_trip(src, (int)(f % 3), (int)(f % 2));
        ds_close(src);
    }
}

TEST(ds_export_status_filter_and_edits)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < 10; i++)
        bz_buf_printf(&b, "{\"id\":\"r%d\",\"instruction\":\"q%d\",\"output\":\"a%d\"}\n", i, i, i);
    const char *p = test_write("d.jsonl", b.p, b.len);
    char path[4096];
    snprintf(path, sizeof path, "%s", p);
    bz_buf_cleanup(&b);
    struct ds_dataset *ds = open_opts(path, 0);
    struct bz_err err = {0};
    const char *acc[] = {"r1", "r3", "r5"}, *rej[] = {"r2"};
    ASSERT_OK(ds_decide(ds, acc, 3, DS_OP_ACCEPT, &err), &err);
    ASSERT_OK(ds_decide(ds, rej, 1, DS_OP_REJECT, &err), &err);
    struct ds_msg m[2] = {{DS_ROLE_USER, "q3 edited"}, {DS_ROLE_ASSISTANT, "a3 edited"}};
    ASSERT_OK(ds_edit(ds, "r3", m, 2, &err), &err);
    char out[4096];
    snprintf(out, sizeof out, "%s", test_tmp("acc.json"));
    size_t n = 0;
    ASSERT_OK(ds_export(ds, out, 1u << DS_ACCEPTED, DS_OUT_ALPACA, 0, &n, &err), &err);
    ASSERT_EQ_INT(n, 3);
    char *text = NULL;
    size_t len;
    ASSERT_OK(bz_read_file(out, &text, &len, NULL), NULL);
    ASSERT(text[0] == '[');
    ASSERT(strstr(text, "{\"id\":\"r3\",\"instruction\":\"q3 edited\",\"input\":\"\","
                        "\"output\":\"a3 edited\"}"));
    ASSERT(!strstr(text, "\"r2\""));
    free(text);
    ASSERT_OK(ds_export(ds, out, (1u << DS_PENDING) | (1u << DS_REJECTED), DS_OUT_OPENAI, 1, &n,
                        &err), &err);
    ASSERT_EQ_INT(n, 7);
    /* no temp file is left beside the output */
    DIR *d = opendir(test_tmpdir());
    struct dirent *e;
    while ((e = readdir(d)))
        ASSERT(!strstr(e->d_name, ".tmp."));
    closedir(d);
    /* a target that cannot be written: an error naming it, nothing left behind */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.json", test_tmpdir());
    bz_err_clear(&err);
    ASSERT(ds_export(ds, bad, DS_ALL_STATUSES, DS_OUT_OPENAI, 0, &n, &err) < 0);
    ASSERT(strstr(err.msg, "no/such/dir"));
    ds_close(ds);
}

TEST(ds_export_import_source_and_meta)
{
    const char t[] = "{\"id\":\"a\",\"instruction\":\"I\",\"instances\":[{\"input\":\"\",\"output\":\"x\"}],"
                     "\"name\":\"task\",\"is_classification\":false}\n";
    struct ds_dataset *ds = open_opts(test_write("si.jsonl", t, sizeof t - 1), 1);
    char out[4096];
    snprintf(out, sizeof out, "%s", test_tmp("imp.jsonl"));
    struct ds_export_opts eo = {.status_mask = DS_ALL_STATUSES, .out_format = DS_OUT_OPENAI,
                                .jsonl = 1, .with_source = 1, .keep_copies = 1};
    size_t n = 0;
    struct bz_err err = {0};
    ASSERT_OK(ds_export_ex(ds, out, &eo, &n, &err), &err);
    ASSERT_EQ_INT(n, 1);
    char *text = NULL;
    size_t len;
    ASSERT_OK(bz_read_file(out, &text, &len, NULL), NULL);
    ASSERT(strstr(text, "{\"id\":\"a#0\",\"messages\":[{\"role\":\"user\",\"content\":\"I\"},"
                        "{\"role\":\"assistant\",\"content\":\"x\"}],\"source\":{\"file\":"));
    ASSERT(strstr(text, "si.jsonl\",\"line\":1,\"format\":\"selfinstruct\"},\"meta\":{\"name\":"
                        "\"task\",\"is_classification\":false}}\n"));
    free(text);
    ds_close(ds);
    /* the import reads back as OpenAI messages with the same id */
    ds = open_opts(out, 1);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_OPENAI);
    struct ds_record r;
    ASSERT_OK(ds_get(ds, 0, &r, &err), &err);
    ASSERT_EQ_STR(r.id, "a#0");
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_stats_percentiles_and_counts)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 1; i <= 100; i++) {
        bz_buf_printf(&b, "{\"instruction\":\"p%03d\",\"output\":\"", i);
        for (int k = 0; k < i; k++)
            bz_buf_putc(&b, (char)('a' + (k * 7 + i) % 26));
        bz_buf_puts(&b, "\"}\n");
    }
    bz_buf_puts(&b, "{\"instruction\":\"p001\",\"output\":\"");
    for (int k = 0; k < 1; k++)
        bz_buf_putc(&b, (char)('a' + (k * 7 + 1) % 26));
    bz_buf_puts(&b, "\"}\n{\"instruction\":\"empty\",\"output\":\"\"}\nnot json\n");
    struct ds_dataset *ds = open_opts(test_write("s.jsonl", b.p, b.len), 1);
    bz_buf_cleanup(&b);
    struct ds_stats st;
    struct bz_err err = {0};
    ASSERT_OK(ds_stats(ds, &st, &err), &err);
    ASSERT_EQ_INT(st.counts.records, 103);
    ASSERT_EQ_INT(st.counts.bad, 1);
    ASSERT_EQ_INT(st.counts.pending, 102);
    ASSERT_EQ_INT(st.exact_duplicates, 1);
    ASSERT_EQ_INT(st.empty_responses, 1);
    ASSERT_EQ_INT(st.per_format[DS_FMT_ALPACA], 102);
    /* responses: 0, 1, 1, 2, ..., 100 (102 values), nearest rank */
    ASSERT_EQ_INT(st.resp_p50, 49);
    ASSERT_EQ_INT(st.resp_p90, 90);
    ASSERT_EQ_INT(st.resp_p99, 99);
    ASSERT_EQ_INT(st.resp_max, 100);
    ASSERT_EQ_INT(st.prompt_max, 5);
    ds_close(ds);
}

TEST(ds_export_writes_each_id_once)
{
    /* three byte-identical records share their content id (one decision decides all
     * three): export writes one of them unless asked for every copy */
    static const char t[] = "{\"instruction\":\"Add 2 and 3\",\"output\":\"5\"}\n"
                            "{\"instruction\":\"Name a colour\",\"output\":\"Red\"}\n"
                            "{\"instruction\":\"Add 2 and 3\",\"output\":\"5\"}\n"
                            "{\"instruction\":\"Add 2 and 3\",\"output\":\"5\"}\n";
    const char *in = test_write("copies.jsonl", t, sizeof t - 1);
    struct ds_dataset *ds = open_opts(in, 1);
    struct bz_err err = {0};
    size_t n = 0, copies = 99;
    struct ds_export_opts eo = {.status_mask = DS_ALL_STATUSES, .out_format = DS_OUT_OPENAI,
                                .jsonl = 1, .copies = &copies};
    ASSERT_OK(ds_export_ex(ds, test_tmp("one.jsonl"), &eo, &n, &err), &err);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_INT(copies, 2);
    eo.keep_copies = 1;
    ASSERT_OK(ds_export_ex(ds, test_tmp("all.jsonl"), &eo, &n, &err), &err);
    ASSERT_EQ_INT(n, 4);
    ASSERT_EQ_INT(copies, 0);
    ds_close(ds);
}
