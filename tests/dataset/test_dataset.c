/*
 * test_dataset.c: ds_open on the real files of ../shared/data/instruct (counts,
 * roles, duplicates as documented there), on what is refused (missing, directory,
 * empty, binary), and on malformed input (truncated JSON, invalid UTF-8, CRLF, BOM,
 * a 10 MB line), plus the background index seen from another thread.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "dataset/dataset.h"
#include "tests/test.h"

static struct ds_dataset *open_ro(const char *path, int fmt)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.format = fmt, .background = 0, .read_only = 1};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    return ds;
}

static void get_ok(struct ds_dataset *ds, size_t i, struct ds_record *r)
{
    struct bz_err err = {0};
    ASSERT_OK(ds_get(ds, i, r, &err), &err);
}

/* Records carrying flag f (from the analysis summaries). */
static size_t count_flag(struct ds_dataset *ds, unsigned f)
{
    size_t n = 0;
    struct ds_summary s;
    for (size_t i = 0; i < ds_count(ds); i++) {
        ASSERT(ds_summary(ds, i, &s));
        n += (s.flags & f) != 0;
    }
    return n;
}

/* Every record alternates roles sensibly: no message with an invalid role. */
static void check_roles(struct ds_dataset *ds)
{
    for (size_t i = 0; i < ds_count(ds); i++) {
        struct ds_record r;
        get_ok(ds, i, &r);
        ASSERT(r.n_msgs >= 1);
        for (int k = 0; k < r.n_msgs; k++)
            ASSERT(r.msgs[k].role >= DS_ROLE_SYSTEM && r.msgs[k].role <= DS_ROLE_ASSISTANT);
        ds_record_cleanup(&r);
    }
}

/* ---------------------------------------------------------------- real files */

TEST(ds_real_alpaca_en)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/llamafactory_alpaca_en_demo.json"), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 999);
    ASSERT_EQ_INT(c.bad, 0);
    ASSERT_EQ_INT(c.duplicates, 14); /* as the data README documents */
    ASSERT_EQ_INT(c.pending, 999);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_ALPACA);
    /* README: 8 "As an AI"-style answers; our phrase list is broader ("As an AI,",
     * "I am an AI ..."): 28, each of them an AI-identity answer (checked by hand). */
    ASSERT(count_flag(ds, DS_F_REFUSAL) >= 8);
    ASSERT_EQ_INT(count_flag(ds, DS_F_REFUSAL), 28);
    struct ds_record r;
    get_ok(ds, 0, &r);
    ASSERT_EQ_INT(r.n_msgs, 2);
    ASSERT_EQ_INT(r.msgs[0].role, DS_ROLE_USER);
    ASSERT_EQ_INT(r.msgs[1].role, DS_ROLE_ASSISTANT);
    ASSERT_EQ_STR(r.msgs[0].content, "Describe a process of making crepes.");
    ASSERT_EQ_INT(r.line, 2);
    ds_record_cleanup(&r);
    check_roles(ds);
    ds_close(ds);
}

TEST(ds_real_alpaca_zh_wide)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/llamafactory_alpaca_zh_demo.json"), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 1000);
    ASSERT_EQ_INT(c.bad, 0);
    ASSERT_EQ_INT(c.duplicates, 8);
    struct ds_record r;
    struct ds_summary s;
    get_ok(ds, 0, &r);
    ASSERT(ds_summary(ds, 0, &s));
    /* lengths are code points, not bytes */
    ASSERT(s.prompt_chars < strlen(ds_record_prompt(&r)));
    ASSERT_EQ_INT(s.prompt_chars, 27);
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_real_selfinstruct)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/selfinstruct_seed_tasks.jsonl"), 0);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_SELFINSTRUCT);
    /* 175 tasks with one instance each: 175 pairs */
    ASSERT_EQ_INT(ds_count(ds), 175);
    struct ds_record r;
    get_ok(ds, 174, &r);
    ASSERT_EQ_STR(r.id, "seed_task_174#0");
    ASSERT_EQ_INT(r.line, 175);
    ASSERT_EQ_STR(r.meta_json ? strstr(r.meta_json, "\"is_classification\"") ? "ok" : "no" : "no",
                  "ok");
    ds_record_cleanup(&r);
    check_roles(ds);
    ds_close(ds);
    ds = open_ro(test_data("instruct/ja_alpaca_seed_tasks_jp_cleaned.jsonl"), 0);
    ASSERT_EQ_INT(ds_count(ds), 175);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    ds_close(ds);
}

TEST(ds_selfinstruct_expands_instances)
{
    const char *t = "{\"id\":\"a\",\"instruction\":\"I\",\"instances\":[{\"input\":\"1\",\"output\":"
                    "\"x\"},{\"input\":\"2\",\"output\":\"y\"},{\"input\":\"3\",\"output\":\"z\"}]}\n"
                    "{\"id\":\"b\",\"instruction\":\"J\",\"instances\":[{\"input\":\"\",\"output\":"
                    "\"w\"}]}\n";
    struct ds_dataset *ds = open_ro(test_write("si.jsonl", t, strlen(t)), 0);
    ASSERT_EQ_INT(ds_count(ds), 4);
    const char *ids[] = {"a#0", "a#1", "a#2", "b#0"};
    const char *outs[] = {"x", "y", "z", "w"};
    for (size_t i = 0; i < 4; i++) {
        struct ds_record r;
        get_ok(ds, i, &r);
        ASSERT_EQ_STR(r.id, ids[i]);
        ASSERT_EQ_STR(ds_record_response(&r), outs[i]);
        ASSERT_EQ_INT(r.line, i < 3 ? 1 : 2);
        ds_record_cleanup(&r);
    }
    ds_close(ds);
}

TEST(ds_real_dpo_en)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/llamafactory_dpo_en_demo.json"), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 300);
    ASSERT_EQ_INT(c.bad, 0);
    ASSERT_EQ_INT(c.duplicates, 5);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_PREF_LF);
    ASSERT_EQ_INT(count_flag(ds, DS_F_PREF), 300);
    size_t with_system = 0;
    for (size_t i = 0; i < 300; i++) {
        struct ds_record r;
        get_ok(ds, i, &r);
        ASSERT(r.chosen && r.rejected);
        with_system += r.msgs[0].role == DS_ROLE_SYSTEM;
        ds_record_cleanup(&r);
    }
    ASSERT_EQ_INT(with_system, 80);
    ds_close(ds);
}

TEST(ds_real_orca_pairs)
{
    struct ds_dataset *ds =
        open_ro(test_data("instruct/foundry_orca_dpo_pairs_validation.jsonl"), 0);
    ASSERT_EQ_INT(ds_count(ds), 284);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_PREF_OPENAI);
    struct ds_record r;
    get_ok(ds, 0, &r);
    ASSERT_EQ_INT(r.n_msgs, 2);
    ASSERT_EQ_INT(r.msgs[0].role, DS_ROLE_SYSTEM);
    ASSERT_EQ_INT(r.msgs[1].role, DS_ROLE_USER);
    ASSERT(strncmp(r.chosen, "Step 1: Identify the names", 26) == 0);
    ASSERT(r.rejected && r.rejected[0]);
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_real_hh_rlhf_gz)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/hh-rlhf_harmless-base_test.jsonl.gz"), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 2312);
    ASSERT_EQ_INT(c.bad, 0);
    ASSERT_EQ_INT(c.empty, 4); /* the README's 4 empty final replies */
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_PREF_HH);
    struct ds_record r;
    get_ok(ds, 0, &r);
    ASSERT_EQ_INT(r.n_msgs, 5); /* 3 human turns, 2 assistant turns before the answer */
    ASSERT_EQ_STR(r.msgs[0].content, "what are some pranks with a pen i can do?");
    ASSERT_EQ_INT(r.msgs[4].role, DS_ROLE_USER);
    ASSERT(strncmp(r.chosen, "No, sorry!", 10) == 0);
    ds_record_cleanup(&r);
    check_roles(ds);
    ds_close(ds);
}

TEST(ds_real_fastchat_dummy)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/fastchat_dummy_conversation.json"), 0);
    ASSERT_EQ_INT(ds_count(ds), 500);
    ASSERT_EQ_INT(ds_detected_format(ds), DS_FMT_SHAREGPT);
    /* "Heavily duplicated" in its prompts (52 distinct first prompts), while no two
     * whole conversations are the same, so no exact duplicates. */
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.duplicates, 0);
    char **prompts = calloc(500, sizeof *prompts);
    size_t distinct = 0;
    for (size_t i = 0; i < 500; i++) {
        struct ds_record r;
        get_ok(ds, i, &r);
        char want[32];
        snprintf(want, sizeof want, "identity_%zu", i);
        ASSERT_EQ_STR(r.id, want);
        for (int k = 0; k < r.n_msgs; k++)
            ASSERT_EQ_INT(r.msgs[k].role, k % 2 ? DS_ROLE_ASSISTANT : DS_ROLE_USER);
        size_t j = 0;
        while (j < distinct && strcmp(prompts[j], ds_record_prompt(&r)) != 0)
            j++;
        if (j == distinct)
            prompts[distinct++] = strdup(ds_record_prompt(&r));
        ds_record_cleanup(&r);
    }
    ASSERT_EQ_INT(distinct, 52);
    for (size_t j = 0; j < distinct; j++)
        free(prompts[j]);
    free(prompts);
    ds_close(ds);
}

TEST(ds_real_axolotl_single_object)
{
    struct ds_dataset *ds = open_ro(test_data("instruct/axolotl_fixture_conversation.json"), 0);
    ASSERT_EQ_INT(ds_count(ds), 1);
    struct ds_record r;
    get_ok(ds, 0, &r);
    ASSERT_EQ_INT(r.n_msgs, 12);
    ASSERT_EQ_INT(r.format, DS_FMT_SHAREGPT);
    ASSERT_EQ_INT(r.line, 1);
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_format_override)
{
    /* forcing the wrong format turns every record into a bad row, with the reason */
    struct ds_dataset *ds =
        open_ro(test_data("instruct/llamafactory_alpaca_en_demo.json"), DS_FMT_SHAREGPT);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 999);
    ASSERT_EQ_INT(c.bad, 999);
    ASSERT(strstr(ds_bad_message(ds, 0), "llamafactory_alpaca_en_demo.json:2:3: "));
    ASSERT(strstr(ds_bad_message(ds, 0), "(as sharegpt)"));
    ds_close(ds);
    ASSERT_EQ_INT(ds_format_parse("pref-hh"), DS_FMT_PREF_HH);
    ASSERT_EQ_INT(ds_format_parse("nope"), -1);
    ASSERT_EQ_STR(ds_format_name(ds_format_parse("selfinstruct")), "selfinstruct");
}

/* ---------------------------------------------------------------- refused files */

static void refused(const char *path, int code, const char *what)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.read_only = 1};
    int rc = ds_open(&ds, path, &o, &err);
    ASSERT_EQ_INT(rc, code);
    ASSERT(ds == NULL);
    ASSERT(strncmp(err.msg, path, strlen(path)) == 0); /* names the file */
    if (!strstr(err.msg, what))
        test__fail(__FILE__, __LINE__, "'%s' does not say '%s'", err.msg, what);
    ASSERT(!strchr(err.msg, '\n'));
}

TEST(ds_open_refuses_what_is_not_a_dataset)
{
    refused(test_tmp("missing.jsonl"), BZ_ENOENT, "no such file");
    refused(test_tmpdir(), BZ_EISDIR, "is a directory");
    refused(test_write("empty.jsonl", "", 0), BZ_EEMPTY, "empty file");
    refused(test_write("blank.jsonl", " \n\r\n\t\n", 6), BZ_EEMPTY, "empty file");
    unsigned char bin[4096];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 131 + 7);
    refused(test_write("model.bin", bin, sizeof bin), BZ_EFORMAT, "binary file");
    /* no NUL bytes, but mostly not UTF-8 text */
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(0x80 | (i * 37));
    refused(test_write("latin.bin", bin, sizeof bin), BZ_EFORMAT, "binary file");
    /* the read-only open left no journal directory behind */
    struct stat st;
    ASSERT(stat(test_tmp("empty.jsonl.bezoar"), &st) != 0);
}

/* ---------------------------------------------------------------- malformed input */

TEST(ds_bad_lines_are_rows_and_the_rest_loads)
{
    const char t[] = "{\"instruction\":\"a\",\"output\":\"1\"}\n"
                     "{\"instruction\":\"b\",\"output\":\n"      /* truncated */
                     "\n"                                         /* blank: skipped */
                     "{\"instruction\":\"c\xc3\",\"output\":\"3\"}\n" /* invalid UTF-8 */
                     "not json at all\n"
                     "{\"question\":\"?\"}\n"                     /* unknown shape */
                     "{\"instruction\":\"d\",\"output\":\"4\"}";   /* no final newline */
    struct ds_dataset *ds = open_ro(test_write("bad.jsonl", t, sizeof t - 1), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 6);
    ASSERT_EQ_INT(c.bad, 4);
    ASSERT_EQ_INT(c.pending, 2);
    ASSERT_EQ_INT(ds_bad_count(ds), 4);
    const char *file = test_tmp("bad.jsonl");
    char want[512];
    snprintf(want, sizeof want, "%s:2:29: truncated JSON (ends inside a value)", file);
    ASSERT_EQ_STR(ds_bad_message(ds, 0), want);
    snprintf(want, sizeof want, "%s:4:18: invalid UTF-8 (byte 0xc3)", file);
    ASSERT_EQ_STR(ds_bad_message(ds, 1), want);
    snprintf(want, sizeof want, "%s:5:1: invalid JSON near 'n'", file);
    ASSERT_EQ_STR(ds_bad_message(ds, 2), want);
    ASSERT(strstr(ds_bad_message(ds, 3), ":6:1: unknown record shape (keys: question)"));
    struct ds_record r;
    struct bz_err err = {0};
    ASSERT_EQ_INT(ds_get(ds, 1, &r, &err), BZ_EPARSE);
    ASSERT_EQ_INT(r.flags, DS_F_BAD);
    ASSERT_EQ_INT(r.line, 2);
    ASSERT(strstr(err.msg, ":2:29: truncated"));
    ds_record_cleanup(&r);
    get_ok(ds, 5, &r);
    ASSERT_EQ_STR(ds_record_prompt(&r), "d");
    ASSERT_EQ_INT(r.line, 7);
    ds_record_cleanup(&r);
    struct ds_summary s;
    ASSERT(ds_summary(ds, 1, &s));
    ASSERT_EQ_INT(s.flags, DS_F_BAD);
    ds_close(ds);
}

TEST(ds_truncated_json_array)
{
    const char t[] = "[\n  {\"instruction\": \"a\", \"output\": \"1\"},\n"
                     "  {\"instruction\": \"b\", \"output\": \"2\"},\n  {\"instruction\": \"c\", \"out";
    struct ds_dataset *ds = open_ro(test_write("trunc.json", t, sizeof t - 1), 0);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 3);
    ASSERT_EQ_INT(c.bad, 1);
    ASSERT(strstr(ds_bad_message(ds, 0), "trunc.json:4:"));
    ASSERT(strstr(ds_bad_message(ds, 0), "truncated JSON"));
    struct ds_record r;
    get_ok(ds, 1, &r);
    ASSERT_EQ_STR(ds_record_response(&r), "2");
    ASSERT_EQ_INT(r.line, 3);
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_array_scanner_strings_with_brackets)
{
    /* brackets, escaped quotes and backslashes inside strings must not confuse the
     * element scanner; one line holds two elements */
    const char t[] = "[{\"instruction\":\"a ] } [ {\",\"output\":\"say \\\"}\\\" \\\\\"},"
                     "{\"instruction\":\"b\",\"output\":\"\\\\\"}]";
    struct ds_dataset *ds = open_ro(test_write("s.json", t, sizeof t - 1), 0);
    ASSERT_EQ_INT(ds_count(ds), 2);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    struct ds_record r;
    get_ok(ds, 0, &r);
    ASSERT_EQ_STR(ds_record_prompt(&r), "a ] } [ {");
    ASSERT_EQ_STR(ds_record_response(&r), "say \"}\" \\");
    ds_record_cleanup(&r);
    get_ok(ds, 1, &r);
    ASSERT_EQ_STR(ds_record_response(&r), "\\");
    ds_record_cleanup(&r);
    ds_close(ds);
    /* a bad element on a one-line array gets its real column */
    const char u[] = "[{\"instruction\":\"a\",\"output\":\"1\"}, {\"instruction\":2}]";
    ds = open_ro(test_write("u.json", u, sizeof u - 1), 0);
    ASSERT_EQ_INT(ds_bad_count(ds), 1);
    ASSERT(strstr(ds_bad_message(ds, 0), "u.json:1:36: "));
    ds_close(ds);
}

TEST(ds_crlf_and_bom)
{
    const char t[] = "\xEF\xBB\xBF{\"instruction\":\"a\",\"output\":\"1\"}\r\n"
                     "{\"instruction\":\"b\",\"output\":\"2\"}\r\n\r\n";
    struct ds_dataset *ds = open_ro(test_write("crlf.jsonl", t, sizeof t - 1), 0);
    ASSERT_EQ_INT(ds_count(ds), 2);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    struct ds_record r;
    get_ok(ds, 1, &r);
    ASSERT_EQ_STR(ds_record_response(&r), "2");
    ASSERT_EQ_INT(r.line, 2);
    ds_record_cleanup(&r);
    ds_close(ds);
    const char a[] = "\xEF\xBB\xBF[\r\n  {\"instruction\": \"a\",\r\n   \"output\": \"1\"}\r\n]\r\n";
    ds = open_ro(test_write("crlf.json", a, sizeof a - 1), 0);
    ASSERT_EQ_INT(ds_count(ds), 1);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    get_ok(ds, 0, &r);
    ASSERT_EQ_INT(r.line, 2);
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_ten_megabyte_line)
{
    size_t n = 10u << 20;
    char *t = malloc(n + 256);
    size_t k = (size_t)sprintf(t, "{\"instruction\":\"short\",\"output\":\"x\"}\n"
                                  "{\"instruction\":\"big\",\"output\":\"");
    for (size_t i = 0; i < n; i++)
        t[k++] = (char)('a' + (i * 7 + i / 26) % 26);
    k += (size_t)sprintf(t + k, "\"}\n{\"instruction\":\"after\",\"output\":\"y\"}\n");
    struct ds_dataset *ds = open_ro(test_write("big.jsonl", t, k), 0);
    free(t);
    ASSERT_EQ_INT(ds_count(ds), 3);
    ASSERT_EQ_INT(ds_bad_count(ds), 0);
    struct ds_record r;
    get_ok(ds, 1, &r);
    ASSERT_EQ_INT(strlen(ds_record_response(&r)), n);
    ASSERT(r.flags & DS_F_LONG);
    ds_record_cleanup(&r);
    get_ok(ds, 2, &r);
    ASSERT_EQ_STR(ds_record_prompt(&r), "after");
    ds_record_cleanup(&r);
    ds_close(ds);
}

TEST(ds_gzip_inflates_and_bad_gzip_is_reported)
{
    const char *src = test_data("instruct/hh-rlhf_harmless-base_test.jsonl.gz");
    FILE *f = fopen(src, "rb");
    ASSERT(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT(n > 1000);
    /* cut the gzip stream in half: an error naming the file, not a crash */
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.read_only = 1};
    const char *p = test_write("cut.jsonl.gz", buf, n / 2);
    int rc = ds_open(&ds, p, &o, &err);
    ASSERT(rc < 0);
    ASSERT(strstr(err.msg, "gzip"));
    ASSERT(strncmp(err.msg, p, strlen(p)) == 0);
}

/* ---------------------------------------------------------------- background index */

struct reader {
    struct ds_dataset *ds;
    size_t seen, bad;
};

static void *read_while_indexing(void *arg)
{
    struct reader *rd = arg;
    struct ds_progress p;
    do {
        ds_progress(rd->ds, &p);
        size_t n = ds_count(rd->ds);
        if (n) {
            struct ds_record r;
            if (ds_get(rd->ds, n - 1, &r, NULL) < 0)
                rd->bad++;
            ds_record_cleanup(&r);
            struct ds_summary s;
            if (ds_summary(rd->ds, n / 2, &s) && s.id_hash == 0)
                rd->bad++;
            ds_status(rd->ds, "x");
            rd->seen = n;
        }
    } while (!p.finished);
    return NULL;
}

TEST(ds_background_index_readable_from_another_thread)
{
    size_t n = 60000;
    struct bz_buf b;
    bz_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        bz_buf_printf(&b, "{\"id\":\"r%zu\",\"instruction\":\"question %zu\",\"output\":\"answer %zu\"}\n",
                      i, i, i % 1000);
    const char *path = test_write("bg.jsonl", b.p, b.len);
    bz_buf_cleanup(&b);
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.background = 1};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    struct reader rd = {ds, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, read_while_indexing, &rd);
    /* the owner decides while the indexer runs */
    const char *ids[] = {"r5", "r7"};
    ASSERT_OK(ds_decide(ds, ids, 2, DS_OP_ACCEPT, &err), &err);
    ASSERT_OK(ds_wait(ds, &err), &err);
    pthread_join(th, NULL);
    ASSERT_EQ_INT(rd.bad, 0);
    ASSERT_EQ_INT(rd.seen, n);
    struct ds_progress p;
    ds_progress(ds, &p);
    ASSERT(p.finished && p.indexed);
    ASSERT_EQ_INT(p.records, n);
    ASSERT_EQ_INT(p.analysed, n);
    ASSERT_EQ_U64(p.bytes_done, p.bytes_total);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.accepted, 2);
    ASSERT_EQ_INT(c.pending, n - 2);
    ds_close(ds);
}

TEST(ds_close_while_indexing)
{
    size_t n = 200000;
    struct bz_buf b;
    bz_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        bz_buf_printf(&b, "{\"instruction\":\"q%zu\",\"output\":\"a\"}\n", i);
    const char *path = test_write("c.jsonl", b.p, b.len);
    bz_buf_cleanup(&b);
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.background = 1, .read_only = 1};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    ds_close(ds); /* stops and joins the indexer; ASan checks nothing leaks */
}

/* ---------------------------------------------------------------- chunked index pass */

/* The index pass reads in chunks with the scanner state carried over; the reference
 * here is the plain scan over the whole text with ds__scan_value (the scanner that
 * layout detection uses). Every chunk size must give the same records: same start
 * lines and the same parse results (ids, or bad). */
#include "dataset/internal.h"

struct ref {
    size_t n;
    size_t line[4096];
    char *id[4096]; /* NULL for a bad record */
};

static void ref_push(struct ref *rf, const char *p, size_t len, size_t line, int fmt)
{
    ASSERT(rf->n < 4096);
    struct ds_record r;
    int k = ds_parse_record(p, len, fmt, 0, "x", line, &r, NULL);
    rf->line[rf->n] = line;
    rf->id[rf->n] = k > 0 ? strdup(r.id) : NULL;
    rf->n++;
    ds_record_cleanup(&r);
}

static void reference(const char *t, size_t n, int fmt, struct ref *rf)
{
    const char *p = t, *end = t + n;
    rf->n = 0;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    int layout = ds__detect_layout(p, (size_t)(end - p));
    size_t line = 1;
    if (layout == DS__JSONL) {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            size_t len = (size_t)(e - p);
            if (len && e[-1] == '\r')
                len--;
            size_t k = 0;
            while (k < len && strchr(" \t\r\n", p[k]))
                k++;
            if (k < len)
                ref_push(rf, p, len, line, fmt);
            line++;
            p = e + 1;
        }
        return;
    }
    const char *counted = p;
    while (p < end && strchr(" \t\r\n", *p))
        p++;
    if (layout == DS__ARRAY)
        p++;
    for (;;) {
        while (p < end && (strchr(" \t\r\n,", *p)))
            p++;
        if (p >= end || (layout == DS__ARRAY && *p == ']'))
            break;
        for (; counted < p; counted++)
            line += *counted == '\n';
        const char *e = ds__scan_value(p, end);
        if (!e || e == p)
            e = e == p ? p + 1 : end;
        ref_push(rf, p, (size_t)(e - p), line, fmt);
        p = e;
    }
}

static void compare_chunked(const char *name, const char *t, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", test_write(name, t, n));
    static struct ref rf;
    static const size_t chunks[] = {1, 2, 3, 7, 64, 4096, (size_t)4 << 20};
    for (size_t c = 0; c < BZ_ARRAY_SIZE(chunks); c++) {
        ds__read_chunk = chunks[c];
        struct ds_dataset *ds = open_ro(path, 0);
        int fmt = ds_detected_format(ds) == DS_FMT_SELFINSTRUCT ? DS_FMT_UNKNOWN : 0;
        reference(t, n, fmt, &rf);
        if (ds_detected_format(ds) == DS_FMT_SELFINSTRUCT) {
            ds_close(ds);
            continue; /* instances expand; covered by ds_selfinstruct_expands_instances */
        }
        if (ds_count(ds) != rf.n)
            test__fail(__FILE__, __LINE__, "%s, chunk %zu: %zu records, reference %zu", name,
                       chunks[c], ds_count(ds), rf.n);
        for (size_t i = 0; i < rf.n; i++) {
            struct ds_record r;
            int rc = ds_get(ds, i, &r, NULL);
            if (r.line != rf.line[i] || (rc < 0) != (rf.id[i] == NULL) ||
                (rc == 0 && strcmp(r.id, rf.id[i]) != 0))
                test__fail(__FILE__, __LINE__, "%s, chunk %zu, record %zu: line %zu id %s, "
                           "reference line %zu id %s", name, chunks[c], i, r.line,
                           rc < 0 ? "(bad)" : r.id, rf.line[i], rf.id[i] ? rf.id[i] : "(bad)");
            ds_record_cleanup(&r);
        }
        for (size_t i = 0; i < rf.n; i++)
            free(rf.id[i]);
        ds_close(ds);
    }
    ds__read_chunk = (size_t)4 << 20;
}

TEST(ds_chunked_index_matches_reference)
{
    static const char *const texts[] = {
        "[{\"instruction\":\"a ] } [ {\",\"output\":\"say \\\"}\\\" \\\\\"},\n"
        "{\"instruction\":\"b\\\\\",\"output\":\"\\\\\\\"\"} , 3, \"str\\\"ing\", true ,\n"
        "{\"instruction\":\"c\",\"output\":\"d\"}]\ntrailing garbage",
        "\xEF\xBB\xBF[\r\n  {\"instruction\": \"a\",\r\n   \"output\": \"1\"}\r\n]\r\n",
        "{\n  \"conversations\": [\n    {\"from\": \"human\", \"value\": \"q\"}\n  ]\n}\n"
        "{\n  \"messages\": [{\"role\":\"user\",\"content\":\"x\"}]\n}\n] } stray\n{\"open\": [",
        "[{\"instruction\":\"a\",\"output\":\"b\"}, {\"instruction\": \"c\", \"out",
        "{\"instruction\":\"a\",\"output\":\"1\"}\r\n\r\n  \n{\"instruction\":\"b\",\"output\":\"2\"}\r\n"
        "{\"instruction\":\"c\",\"output\":\"3\"}",
        "[\"unterminated \\\" string",
        "{\"instruction\":\"x\",\"output\":\"y\"}\n\n\n   \n",
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(texts); i++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu.json", i);
        compare_chunked(name, texts[i], strlen(texts[i]));
    }
}

TEST(ds_chunked_index_matches_reference_real_files)
{
    static const char *const files[] = {
        "instruct/llamafactory_dpo_en_demo.json", "instruct/fastchat_dummy_conversation.json",
        "instruct/axolotl_fixture_conversation.json", "instruct/foundry_orca_dpo_pairs_validation.jsonl",
    };
    for (size_t f = 0; f < BZ_ARRAY_SIZE(files); f++) {
        char *t = NULL;
        size_t n = 0;
        ASSERT_OK(bz_read_file(test_data(files[f]), &t, &n, NULL), NULL);
        /* the first 30 kB (cut inside a record, on purpose): one-byte reads stay quick */
        compare_chunked(strrchr(files[f], '/') + 1, t, BZ_MIN(n, (size_t)30000));
        free(t);
    }
}
