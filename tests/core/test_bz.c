/* test_bz.c: errors, buffers, JSON escaping, UTF-8 checks, atomic writes. */
#include "core/bz.h"
#include "tests/test.h"

TEST(bz_err_first_wins)
{
    struct bz_err e = {0};
    ASSERT_EQ_INT(bz_errf(&e, BZ_EPARSE, "a.jsonl:%d:%d: bad", 3, 7), BZ_EPARSE);
    bz_errf(&e, BZ_EIO, "second");
    ASSERT_EQ_INT(e.code, BZ_EPARSE);
    ASSERT_EQ_STR(e.msg, "a.jsonl:3:7: bad");
    ASSERT_EQ_STR(bz_strerror(BZ_ENOMEM), "out of memory");
    ASSERT_EQ_STR(bz_err_msg(NULL, BZ_EFORMAT), "bad file format");
}

TEST(bz_buf_json_escape)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_json_str(&b, "a\"b\\c\n\x01", 7);
    ASSERT_EQ_STR(b.p, "\"a\\\"b\\\\c\\n\\u0001\"");
    bz_buf_cleanup(&b);
}

TEST(bz_utf8_check)
{
    ASSERT_EQ_INT(bz_utf8_check("abc", 3), 3);
    ASSERT_EQ_INT(bz_utf8_check("日本", 6), 6);
    ASSERT_EQ_INT(bz_utf8_check("a\xff" "b", 3), 1);
    ASSERT_EQ_INT(bz_utf8_check("\xe6\x97", 2), 0);        /* truncated */
    ASSERT_EQ_INT(bz_utf8_check("\xc0\xaf", 2), 0);        /* overlong */
    ASSERT_EQ_INT(bz_utf8_check("\xed\xa0\x80", 3), 0);    /* surrogate */
}

TEST(bz_write_atomic_replaces)
{
    struct bz_err e = {0};
    const char *p = test_tmp("f.txt");
    ASSERT_OK(bz_write_atomic(p, "one", 3, &e), &e);
    ASSERT_OK(bz_write_atomic(p, "two!", 4, &e), &e);
    char *data;
    size_t n;
    ASSERT_OK(bz_read_file(p, &data, &n, &e), &e);
    ASSERT_EQ_INT(n, 4);
    ASSERT_EQ_STR(data, "two!");
    free(data);
    ASSERT(bz_read_file(test_tmpdir(), &data, &n, &e) == BZ_EISDIR);
}
