/* test_canvas.c: braille/block/ASCII dots, lines and chart scaling. */
#include "tests/test.h"
#include "tui/canvas.h"

TEST(canvas_braille_dots)
{
    struct tui_canvas c;
    char s[5];
    tui_canvas_init(&c, TUI_CANVAS_BRAILLE, 2, 1);
    ASSERT_EQ_INT(c.dw, 4);
    ASSERT_EQ_INT(c.dh, 4);
    tui_canvas_dot(&c, 0, 0, 1);           /* dot 1 */
    tui_canvas_dot(&c, 1, 3, 2);           /* dot 8 */
    ASSERT_EQ_INT(tui_canvas_cell(&c, 0, 0, s), 2);
    ASSERT_EQ_STR(s, "\xe2\xa2\x81");      /* U+2881 */
    ASSERT_EQ_INT(tui_canvas_cell(&c, 1, 0, s), 0);
    ASSERT_EQ_STR(s, " ");
    tui_canvas_dot(&c, 99, 99, 1);         /* outside: ignored */
    tui_canvas_cleanup(&c);
}

TEST(canvas_block_and_ascii)
{
    struct tui_canvas c;
    char s[5];
    tui_canvas_init(&c, TUI_CANVAS_BLOCK, 1, 1);
    tui_canvas_dot(&c, 0, 1, 1);
    tui_canvas_cell(&c, 0, 0, s);
    ASSERT_EQ_STR(s, "▄");
    tui_canvas_dot(&c, 0, 0, 1);
    tui_canvas_cell(&c, 0, 0, s);
    ASSERT_EQ_STR(s, "█");
    tui_canvas_cleanup(&c);
    tui_canvas_init(&c, TUI_CANVAS_ASCII, 3, 3);
    tui_canvas_line(&c, 0, 0, 2, 2, 1);
    for (int i = 0; i < 3; i++) {
        tui_canvas_cell(&c, i, i, s);
        ASSERT_EQ_STR(s, "*");
    }
    tui_canvas_cell(&c, 2, 0, s);
    ASSERT_EQ_STR(s, " ");
    tui_canvas_cleanup(&c);
}

TEST(canvas_chart_fit_and_plot)
{
    struct tui_point p[3] = {{0, 4.0}, {5, NAN}, {10, 2.0}};
    struct tui_series s = {p, 3, 1, 0};
    struct tui_axes ax;
    tui_chart_fit(&s, 1, &ax);
    ASSERT_NEAR(ax.xmin, 0, 0);
    ASSERT_NEAR(ax.xmax, 10, 0);
    ASSERT(ax.ymin < 2.0 && ax.ymax > 4.0);
    struct tui_canvas c;
    char ch[5];
    tui_canvas_init(&c, TUI_CANVAS_ASCII, 11, 5);
    tui_chart_plot(&c, &s, 1, &ax);
    /* first point top-left area, last point bottom-right area, connected */
    ASSERT_EQ_INT(tui_canvas_cell(&c, 0, 0, ch) + tui_canvas_cell(&c, 0, 1, ch) > 0, 1);
    ASSERT_EQ_INT(tui_canvas_cell(&c, 10, 4, ch) + tui_canvas_cell(&c, 10, 3, ch) > 0, 1);
    int lit = 0;
    for (int x = 0; x < 11; x++)
        for (int y = 0; y < 5; y++)
            lit += tui_canvas_cell(&c, x, y, ch) != 0;
    ASSERT(lit >= 11);
    tui_canvas_cleanup(&c);
}
