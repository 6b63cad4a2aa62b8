/*
 * test_record.c: ds_parse_record on every input shape (synthetic texts written
 * here), ids, errors with their places, and the rule flags.
 */
#include "dataset/dataset.h"
#include "dataset/filter.h"
#include "tests/test.h"

static int parse(const char *json, int fmt, int sub, struct ds_record *r, struct bz_err *err)
{
    return ds_parse_record(json, strlen(json), fmt, sub, "x.jsonl", 7, r, err);
}

TEST(ds_record_alpaca_with_input_system_history)
{
    struct ds_record r;
    struct bz_err err = {0};
    int n = parse("{\"instruction\":\"Add\",\"input\":\"2 and 3\",\"output\":\"5\","
                  "\"system\":\"Be brief\",\"history\":[[\"hi\",\"hello\"]],\"extra\":1}",
                  0, 0, &r, &err);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(r.format, DS_FMT_ALPACA);
    ASSERT_EQ_INT(r.n_msgs, 5);
    ASSERT_EQ_INT(r.msgs[0].role, DS_ROLE_SYSTEM);
    ASSERT_EQ_STR(r.msgs[1].content, "hi");
    ASSERT_EQ_INT(r.msgs[2].role, DS_ROLE_ASSISTANT);
    ASSERT_EQ_STR(r.msgs[3].content, "Add\n\n2 and 3");
    ASSERT_EQ_STR(ds_record_response(&r), "5");
    ASSERT_EQ_STR(ds_record_prompt(&r), "hi");
    ASSERT_EQ_STR(r.meta_json, "{\"extra\":1}");
    ASSERT_EQ_INT(strlen(r.id), 16); /* no own id: content hash */
    ASSERT_EQ_INT(r.line, 7);
    ds_record_cleanup(&r);
}

TEST(ds_record_id_stable_and_own)
{
    struct ds_record a, b, c, d;
    const char *t = "{\"instruction\":\"Q\",\"output\":\"A\"}";
    ASSERT_EQ_INT(parse(t, 0, 0, &a, NULL), 1);
    ASSERT_EQ_INT(parse("{\"output\":\"A\",\"instruction\":\"Q\",\"input\":\"\"}", 0, 0, &b, NULL),
                  1);
    ASSERT_EQ_STR(a.id, b.id); /* same content, key order and empty input do not matter */
    ASSERT_EQ_INT(parse("{\"instruction\":\"Q\",\"output\":\"B\"}", 0, 0, &c, NULL), 1);
    ASSERT(strcmp(a.id, c.id) != 0);
    ASSERT_EQ_INT(parse("{\"id\":42,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 0, 0,
                        &d, NULL), 1);
    ASSERT_EQ_STR(d.id, "42");
    ds_record_cleanup(&a);
    ds_record_cleanup(&b);
    ds_record_cleanup(&c);
    ds_record_cleanup(&d);
}

TEST(ds_record_sharegpt_and_openai_parts)
{
    struct ds_record r;
    struct bz_err err = {0};
    ASSERT_EQ_INT(parse("{\"id\":\"s1\",\"system\":\"sys\",\"conversations\":[{\"from\":\"human\","
                        "\"value\":\"q\"},{\"from\":\"gpt\",\"value\":\"a\"}]}",
                        0, 0, &r, &err),
                  1);
    ASSERT_EQ_INT(r.format, DS_FMT_SHAREGPT);
    ASSERT_EQ_INT(r.n_msgs, 3);
    ASSERT_EQ_INT(r.msgs[0].role, DS_ROLE_SYSTEM);
    ASSERT_EQ_STR(r.id, "s1");
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                        "\"text\":\"a\"},{\"type\":\"image_url\"},{\"type\":\"text\",\"text\":\"b\"}]},"
                        "{\"role\":\"assistant\",\"content\":null}]}",
                        0, 0, &r, &err),
                  1);
    ASSERT_EQ_INT(r.format, DS_FMT_OPENAI);
    ASSERT_EQ_STR(r.msgs[0].content, "ab");
    ASSERT_EQ_STR(r.msgs[1].content, "");
    ASSERT(ds_record_flags(&r) & DS_F_EMPTY);
    ds_record_cleanup(&r);
}

TEST(ds_record_selfinstruct_instances)
{
    const char *t = "{\"id\":\"t9\",\"instruction\":\"Sort\",\"instances\":[{\"input\":\"b a\","
                    "\"output\":\"a b\"},{\"input\":\"\",\"output\":\"none\"},{\"input\":\"z y\","
                    "\"output\":\"y z\"}],\"is_classification\":false}";
    struct ds_record r;
    ASSERT_EQ_INT(parse(t, 0, 2, &r, NULL), 3);
    ASSERT_EQ_INT(r.format, DS_FMT_SELFINSTRUCT);
    ASSERT_EQ_STR(r.id, "t9#2");
    ASSERT_EQ_STR(r.msgs[0].content, "Sort\n\nz y");
    ASSERT_EQ_STR(ds_record_response(&r), "y z");
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse(t, DS_FMT_SELFINSTRUCT, 1, &r, NULL), 3);
    ASSERT_EQ_STR(r.msgs[0].content, "Sort");
    ds_record_cleanup(&r);
    struct bz_err err = {0};
    ASSERT_EQ_INT(parse(t, 0, 3, &r, &err), BZ_EPARSE);
    ds_record_cleanup(&r);
}

TEST(ds_record_preference_shapes)
{
    struct ds_record r;
    struct bz_err err = {0};
    /* TRL with a string prompt */
    ASSERT_EQ_INT(parse("{\"prompt\":\"p\",\"chosen\":\"good\",\"rejected\":\"bad\"}", 0, 0, &r,
                        &err), 1);
    ASSERT_EQ_INT(r.format, DS_FMT_PREF_TRL);
    ASSERT_EQ_INT(r.n_msgs, 1);
    ASSERT_EQ_STR(r.chosen, "good");
    ASSERT_EQ_STR(r.rejected, "bad");
    ASSERT(r.flags & DS_F_PREF);
    ds_record_cleanup(&r);
    /* TRL conversational, implicit prompt */
    ASSERT_EQ_INT(parse("{\"chosen\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\","
                        "\"content\":\"g\"}],\"rejected\":[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":\"b\"}]}", 0, 0, &r, &err), 1);
    ASSERT_EQ_INT(r.format, DS_FMT_PREF_TRL);
    ASSERT_EQ_INT(r.n_msgs, 1);
    ASSERT_EQ_STR(r.msgs[0].content, "q");
    ASSERT_EQ_STR(r.chosen, "g");
    ASSERT_EQ_STR(r.rejected, "b");
    ds_record_cleanup(&r);
    /* HH-RLHF transcript */
    ASSERT_EQ_INT(parse("{\"chosen\":\"\\n\\nHuman: hi\\n\\nAssistant: hey\\n\\nHuman: joke?"
                        "\\n\\nAssistant: sure\",\"rejected\":\"\\n\\nHuman: hi\\n\\nAssistant: hey"
                        "\\n\\nHuman: joke?\\n\\nAssistant: no\"}", 0, 0, &r, &err), 1);
    ASSERT_EQ_INT(r.format, DS_FMT_PREF_HH);
    ASSERT_EQ_INT(r.n_msgs, 3);
    ASSERT_EQ_STR(r.msgs[2].content, "joke?");
    ASSERT_EQ_STR(r.chosen, "sure");
    ASSERT_EQ_STR(r.rejected, "no");
    ds_record_cleanup(&r);
    /* Alpaca-style preference (what the alpaca export writes for pairs) */
    ASSERT_EQ_INT(parse("{\"instruction\":\"i\",\"input\":\"\",\"chosen\":\"c\",\"rejected\":\"r\"}",
                        0, 0, &r, &err), 1);
    ASSERT_EQ_INT(r.format, DS_FMT_ALPACA);
    ASSERT_EQ_STR(r.chosen, "c");
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(err.code, 0);
}

TEST(ds_record_errors_name_the_place)
{
    struct ds_record r;
    struct bz_err err = {0};
    ASSERT_EQ_INT(parse("{\"instruction\":\"a\",\"output\":", 0, 0, &r, &err), BZ_EPARSE);
    ASSERT(r.flags & DS_F_BAD);
    ASSERT(strstr(err.msg, "x.jsonl:7:") == err.msg);
    ASSERT(strstr(err.msg, "truncated"));
    ds_record_cleanup(&r);

    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("{\"instruction\":\"a\xff\",\"output\":\"b\"}", 0, 0, &r, &err), BZ_EPARSE);
    ASSERT_EQ_STR(err.msg, "x.jsonl:7:18: invalid UTF-8 (byte 0xff)");
    ds_record_cleanup(&r);

    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("{\"foo\":1,\"bar\":2}", 0, 0, &r, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "unknown record shape (keys: foo, bar)"));
    ds_record_cleanup(&r);

    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("{\"a\":1} x", 0, 0, &r, &err), BZ_EPARSE);
    ASSERT_EQ_STR(err.msg, "x.jsonl:7:9: unexpected text after the JSON value");
    ds_record_cleanup(&r);

    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("[1,2]", 0, 0, &r, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "expected a JSON object"));
    ds_record_cleanup(&r);

    /* an explicit format that does not fit */
    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("{\"messages\":[]}", DS_FMT_ALPACA, 0, &r, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "(as alpaca)"));
    ds_record_cleanup(&r);

    bz_err_clear(&err);
    ASSERT_EQ_INT(parse("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", 0, 0, &r, &err),
                  BZ_EPARSE);
    ASSERT(strstr(err.msg, "unknown role"));
    ds_record_cleanup(&r);
}

TEST(ds_record_error_column_on_later_line)
{
    struct ds_record r;
    struct bz_err err = {0};
    const char *t = "{\n  \"instruction\": \"a\",\n  \"output\": tru\n}";
    ASSERT_EQ_INT(parse(t, 0, 0, &r, &err), BZ_EPARSE);
    ASSERT_EQ_STR(err.msg, "x.jsonl:9:13: invalid JSON near 't'");
    ds_record_cleanup(&r);
}

TEST(ds_record_rule_flags)
{
    struct ds_record r;
    ASSERT_EQ_INT(parse("{\"instruction\":\"q\",\"output\":\"I'm sorry, but as an AI language "
                        "model, I cannot browse.\"}", 0, 0, &r, NULL), 1);
    ASSERT_EQ_INT(ds_record_flags(&r), DS_F_REFUSAL);
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse("{\"instruction\":\"q\",\"output\":\"申し訳ありませんが、AI言語モデルとして"
                        "お答えできません。\"}", 0, 0, &r, NULL), 1);
    ASSERT_EQ_INT(ds_record_flags(&r), DS_F_REFUSAL);
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse("{\"instruction\":\"q\",\"output\":\" \\n\\t \"}", 0, 0, &r, NULL), 1);
    ASSERT_EQ_INT(ds_record_flags(&r), DS_F_EMPTY);
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse("{\"instruction\":\"q\",\"output\":\"The answer is yes. The cat sat on the "
                        "mat. The cat sat on the mat. The cat sat on the mat. The cat sat on the "
                        "mat. The cat sat on the mat.\"}", 0, 0, &r, NULL), 1);
    ASSERT_EQ_INT(ds_record_flags(&r), DS_F_REPEAT);
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(parse("{\"instruction\":\"q\",\"output\":\"A normal answer with several distinct "
                        "words in it, none of which loop around again.\"}", 0, 0, &r, NULL), 1);
    ASSERT_EQ_INT(ds_record_flags(&r), 0);
    ds_record_cleanup(&r);
    /* long: a response over the default long_chars code points (multi-byte ones count
     * once) */
    size_t n = ds_rules_default()->long_chars + 1;
    char *big = malloc(n * 3 + 64);
    char *p = big + sprintf(big, "{\"instruction\":\"q\",\"output\":\"");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s", i % 7 == 0 ? " " : "語");
    strcpy(p, "\"}");
    ASSERT_EQ_INT(parse(big, 0, 0, &r, NULL), 1);
    ASSERT(ds_record_flags(&r) & DS_F_LONG);
    ds_record_cleanup(&r);
    free(big);
}
