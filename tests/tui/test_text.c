/* test_text.c: display widths, clipping and wrapping, including CJK and bad bytes. */
#include "tests/test.h"
#include "tui/text.h"

TEST(text_width_cjk)
{
    ASSERT_EQ_INT(tui_text_width("abc", 3), 3);
    ASSERT_EQ_INT(tui_text_width("日本語", 9), 6);
    ASSERT_EQ_INT(tui_text_width("e\xcc\x81", 3), 1);     /* e + combining acute */
    ASSERT_EQ_INT(tui_text_width("a\xff" "b", 3), 3);     /* invalid byte = 1 column */
    ASSERT_EQ_INT(tui_text_width("\x1b[31m", 5), 5);      /* ESC shown as '?' */
}

TEST(text_fit_never_splits_a_character)
{
    int used = 0;
    /* 3 columns hold "日" (2) but not half of "本" */
    ASSERT_EQ_INT(tui_text_fit("日本語", 9, 3, &used), 3);
    ASSERT_EQ_INT(used, 2);
    ASSERT_EQ_INT(tui_text_fit("abc\ndef", 7, 10, &used), 3);
}

TEST(text_wrap_words_and_newlines)
{
    struct tui_line l[8];
    const char *s = "the quick brown fox\njumps";
    size_t n = tui_text_wrap(s, strlen(s), 10, l, 8);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(l[0].len, 9); /* "the quick" */
    ASSERT(l[1].len == 9 && strncmp(s + l[1].off, "brown fox", 9) == 0);
    ASSERT(l[2].len == 5 && strncmp(s + l[2].off, "jumps", 5) == 0);
    /* a word longer than the line is cut, never lost */
    n = tui_text_wrap("abcdefghijkl", 12, 5, l, 8);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(l[2].len, 2);
}

TEST(text_wrap_cjk_by_columns)
{
    struct tui_line l[8];
    const char *s = "日本語のテキストは空白がない";  /* 14 wide characters */
    size_t n = tui_text_wrap(s, strlen(s), 10, l, 8);
    ASSERT_EQ_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        ASSERT(tui_text_width(s + l[i].off, l[i].len) <= 10);
        ASSERT_EQ_INT(l[i].len % 3, 0);
    }
    ASSERT_EQ_INT(tui_text_width(s + l[0].off, l[0].len), 10);
}

TEST(text_wrap_empty_and_blank_lines)
{
    struct tui_line l[8];
    ASSERT_EQ_INT(tui_text_wrap("", 0, 10, l, 8), 1);
    ASSERT_EQ_INT(l[0].len, 0);
    ASSERT_EQ_INT(tui_text_wrap("a\n\nb", 4, 10, l, 8), 3);
    ASSERT_EQ_INT(l[1].len, 0);
    ASSERT_EQ_INT(tui_text_wrap("a\n", 2, 10, l, 8), 1);
}
