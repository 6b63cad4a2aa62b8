/*
 * radar.c: the geometry of a radar (spider) chart on a text screen: where the dot
 * canvas sits among the labels, where value v lies on axis k, where labels go.
 *
 * Key idea: work in "column units" (one cell is 1 wide and 2 tall), so a chart of
 * radius R columns is round on a terminal whatever the dot mode; convert to dots
 * only at the end (braille 2x4 dots per cell, block 1x2, ASCII 1x1). Labels need
 * room on the left and right (the widest label) and one row above and below.
 * Left out: drawing (tui/canvas.c draws; this file makes no terminal calls).
 */
#include "judge/internal.h"

#include <math.h>

int judge_radar_layout(struct judge_radar *r, int n_axes, int label_w, int cols, int rows,
                       int cdx, int cdy, struct bz_err *err)
{
    if (n_axes < 1 || cdx < 1 || cdy < 1 || label_w < 0)
        return bz_errf(err, BZ_EINVAL, "radar: bad arguments (axes %d, dots %dx%d)", n_axes,
                       cdx, cdy);
    int side = label_w + 1; /* label plus one space, on each side */
    double rmax_x = (cols - 2 * side - 1) / 2.0;   /* in columns */
    /* a label row above and below; radius in rows rr needs 2 rr + 1 rows; a row is 2
     * columns tall */
    double rmax_y = 2.0 * ((rows - 3) / 2);
    double R = floor(fmin(rmax_x, rmax_y));
    if (R < 3)
        return bz_errf(err, BZ_ERANGE,
                       "radar: %dx%d cells is too small for %d labels %d wide (needs a radius "
                       "of 3, got %.0f)",
                       cols, rows, n_axes, label_w, R);
    r->n_axes = n_axes;
    r->cols = cols;
    r->rows = rows;
    r->cdx = cdx;
    r->cdy = cdy;
    r->label_w = label_w;
    int rr = (int)ceil(R / 2.0); /* radius in rows */
    r->canvas_w = 2 * (int)R + 1;
    r->canvas_h = 2 * rr + 1;
    r->canvas_x = (cols - r->canvas_w) / 2;
    r->canvas_y = (rows - r->canvas_h) / 2;
    /* centre of the middle cell, in dots; radius in dots along each axis */
    r->cx = (r->canvas_w / 2) * cdx + (cdx - 1) / 2.0;
    r->cy = (r->canvas_h / 2) * cdy + (cdy - 1) / 2.0;
    r->rx = R * cdx;
    r->ry = R / 2.0 * cdy;
    return 0;
}

void judge_radar_point(const struct judge_radar *r, int k, double v, int *x, int *y)
{
    if (!isfinite(v) || v < 0)
        v = 0;
    if (v > 10)
        v = 10;
    double a = 2.0 * M_PI * k / r->n_axes;
    double f = v / 10.0;
    *x = (int)lround(r->cx + f * r->rx * sin(a));
    *y = (int)lround(r->cy - f * r->ry * cos(a));
}

void judge_radar_label_at(const struct judge_radar *r, int k, int len,
                          struct judge_radar_label *out)
{
    double a = 2.0 * M_PI * k / r->n_axes;
    double s = sin(a), c = cos(a);
    /* the tip of the axis in cells of the whole area */
    double tx = r->canvas_x + (r->cx + r->rx * s) / r->cdx;
    double ty = r->canvas_y + (r->cy - r->ry * c) / r->cdy;
    int col, row = (int)lround(ty);
    /* a side label clears the chart's circle over the whole height of its row */
    double R = r->rx / r->cdx;
    double cxc = r->canvas_x + r->cx / r->cdx;
    double dy = fabs(row - (r->canvas_y + r->cy / r->cdy)) * 2.0;
    double dmin = dy > 1 ? dy - 1 : 0;
    double ext = dmin < R ? sqrt(R * R - dmin * dmin) : 0;
    if (fabs(s) < 0.2) {           /* near vertical: centred above or below */
        out->align = 0;
        row += c > 0 ? -1 : 1;
        col = (int)lround(tx) - len / 2;
    } else if (s > 0) {            /* right side: text starts after the chart */
        out->align = 1;
        col = (int)lround(fmax(tx, cxc + ext)) + 2;
    } else {                       /* left side: text ends before the chart */
        out->align = -1;
        col = (int)lround(fmin(tx, cxc - ext)) - 2 - len;
    }
    if (col < 0)
        col = 0;
    if (col + len > r->cols)
        col = r->cols - len > 0 ? r->cols - len : 0;
    if (row < 0)
        row = 0;
    if (row >= r->rows)
        row = r->rows - 1;
    out->col = col;
    out->row = row;
}
