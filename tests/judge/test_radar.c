/* test_radar.c: radar geometry for known inputs: round in column units, axes in
 * clockwise order from the top, values clamped, labels outside the chart. */
#include "tests/test.h"

#include "judge/judge.h"

TEST(judge_radar_layout_80x24_braille)
{
    struct judge_radar r;
    struct bz_err err = {0};
    ASSERT_OK(judge_radar_layout(&r, 8, 10, 80, 20, 2, 4, &err), &err);
    /* rows 20: radius 2 * ((20 - 3) / 2) = 16 columns, 8 rows */
    ASSERT_EQ_INT(r.canvas_w, 33);
    ASSERT_EQ_INT(r.canvas_h, 17);
    ASSERT_EQ_INT(r.canvas_x, 23);
    ASSERT_EQ_INT(r.canvas_y, 1);
    ASSERT_NEAR(r.cx, 16 * 2 + 0.5, 0);
    ASSERT_NEAR(r.cy, 8 * 4 + 1.5, 0);
    ASSERT_NEAR(r.rx, 32, 0);
    ASSERT_NEAR(r.ry, 32, 0);
    int x, y;
    judge_radar_point(&r, 0, 10, &x, &y); /* top */
    ASSERT_EQ_INT(x, 33);
    ASSERT_EQ_INT(y, 2);
    judge_radar_point(&r, 2, 10, &x, &y); /* right (8 axes: 90 degrees) */
    ASSERT_EQ_INT(x, 65);
    ASSERT_EQ_INT(y, 34);
    judge_radar_point(&r, 4, 5, &x, &y);  /* bottom, half way */
    ASSERT_EQ_INT(x, 33);
    ASSERT_EQ_INT(y, 50);
    judge_radar_point(&r, 6, 20, &x, &y); /* left, clamped to 10 */
    ASSERT_EQ_INT(x, 1);
    ASSERT_EQ_INT(y, 34);
    judge_radar_point(&r, 1, NAN, &x, &y); /* no value: the centre */
    ASSERT_EQ_INT(x, 33);
    ASSERT_EQ_INT(y, 34);
    judge_radar_point(&r, 1, 10, &x, &y); /* 45 degrees */
    ASSERT_EQ_INT(x, 55); /* 32.5 + 32 sin 45 = 55.13 */
    ASSERT_EQ_INT(y, 11); /* 33.5 - 32 cos 45 = 10.87 */
    /* every point stays on the canvas */
    for (int k = 0; k < 8; k++) {
        judge_radar_point(&r, k, 10, &x, &y);
        ASSERT(x >= 0 && x < r.canvas_w * 2 && y >= 0 && y < r.canvas_h * 4);
    }
    struct judge_radar_label l;
    judge_radar_label_at(&r, 0, 7, &l);
    ASSERT_EQ_INT(l.align, 0);
    ASSERT_EQ_INT(l.row, 0);
    ASSERT_EQ_INT(l.col, 39 - 3);
    judge_radar_label_at(&r, 2, 9, &l);
    ASSERT_EQ_INT(l.align, 1);
    ASSERT_EQ_INT(l.row, 9);
    ASSERT(l.col > r.canvas_x + r.canvas_w - 1);
    ASSERT(l.col + 9 <= 80);
    judge_radar_label_at(&r, 6, 10, &l);
    ASSERT_EQ_INT(l.align, -1);
    ASSERT(l.col + 10 < r.canvas_x + 1);
    judge_radar_label_at(&r, 4, 4, &l);
    ASSERT_EQ_INT(l.row, 18);
}

TEST(judge_radar_layout_ascii_any_axes)
{
    struct judge_radar r;
    struct bz_err err = {0};
    /* ASCII: one dot per cell; a round chart has ry = rx / 2 in dots */
    ASSERT_OK(judge_radar_layout(&r, 3, 5, 40, 30, 1, 1, &err), &err);
    ASSERT_NEAR(r.rx, 13, 0); /* (40 - 12 - 1) / 2 = 13.5 -> 13 */
    ASSERT_NEAR(r.ry, 6.5, 0);
    int x, y;
    judge_radar_point(&r, 1, 10, &x, &y); /* 120 degrees: right and below */
    ASSERT(x > r.cx && y > r.cy);
    judge_radar_point(&r, 2, 10, &x, &y);
    ASSERT(x < r.cx && y > r.cy);
    ASSERT_OK(judge_radar_layout(&r, 1, 0, 20, 10, 2, 4, &err), &err);
    ASSERT_EQ_INT(judge_radar_layout(&r, 8, 10, 28, 24, 2, 4, &err), BZ_ERANGE);
    ASSERT(strstr(err.msg, "too small"));
    ASSERT_EQ_INT(judge_radar_layout(&r, 0, 10, 80, 24, 2, 4, NULL), BZ_EINVAL);
}

/* For 3 to 12 axes, in braille and ASCII cells, no label covers a cell that the
 * rings or axes pass through (sampled along every ring edge and axis). */
TEST(judge_radar_labels_clear_chart)
{
    static const int dots[2][2] = {{2, 4}, {1, 1}};
    for (int d = 0; d < 2; d++)
        for (int n = 3; n <= 12; n++) {
            struct judge_radar r;
            struct bz_err err = {0};
            ASSERT_OK(judge_radar_layout(&r, n, 12, 80, 20, dots[d][0], dots[d][1], &err), &err);
            static unsigned char used[20][80];
            memset(used, 0, sizeof used);
            for (int k = 0; k < n; k++)
                for (int step = 0; step <= 100; step++) {
                    double f = step / 100.0;
                    int x0, y0, x1, y1;
                    for (int ring = 2; ring <= 10; ring += 2) {
                        judge_radar_point(&r, k, ring, &x0, &y0);
                        judge_radar_point(&r, (k + 1) % n, ring, &x1, &y1);
                        int x = (int)lround(x0 + f * (x1 - x0)), y = (int)lround(y0 + f * (y1 - y0));
                        used[r.canvas_y + y / r.cdy][r.canvas_x + x / r.cdx] = 1;
                    }
                    judge_radar_point(&r, k, 10 * f, &x0, &y0);
                    used[r.canvas_y + y0 / r.cdy][r.canvas_x + x0 / r.cdx] = 1;
                }
            for (int k = 0; k < n; k++) {
                struct judge_radar_label l;
                judge_radar_label_at(&r, k, 12, &l);
                ASSERT(l.row >= 0 && l.row < 20 && l.col >= 0 && l.col + 12 <= 80);
                for (int c = l.col; c < l.col + 12; c++)
                    if (used[l.row][c])
                        test__fail(__FILE__, __LINE__, "%d axes, dots %dx%d: label %d at %d,%d "
                                   "covers the chart at column %d", n, dots[d][0], dots[d][1], k,
                                   l.row, l.col, c);
            }
        }
}
