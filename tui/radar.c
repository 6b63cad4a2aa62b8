/*
 * radar.c: radar charts as cell grids (see radar.h).
 */
#include "tui/radar.h"

#include <math.h>
#include <string.h>

#include "tui/canvas.h"

static void put_text(struct tui_cell *grid, int cols, int rows, int col, int row,
                     const char *text, int color)
{
    if (row < 0 || row >= rows)
        return;
    for (const char *p = text; *p && col < cols; col++) {
        int n = bz_utf8_seq_len((const unsigned char *)p, strlen(p));
        if (n <= 0)
            n = 1;
        if (col >= 0) {
            struct tui_cell *c = &grid[row * cols + col];
            memcpy(c->s, p, (size_t)n);
            c->s[n] = 0;
            c->color = color;
        }
        p += n;
    }
}

int tui_radar_grid(const struct judge_summary *sum, const unsigned char *show, int cols,
                   int rows, int mode, int color, struct tui_cell **out, struct bz_err *err)
{
    int nm = (int)sum->n_models, ncat = (int)sum->n_cats;
    *out = NULL;
    if (ncat < 3)
        return bz_errf(err, BZ_EINVAL, "%d categor%s; a radar needs at least 3", ncat,
                       ncat == 1 ? "y" : "ies");
    int label_w = 0;
    for (int k = 0; k < ncat; k++)
        label_w = BZ_MAX(label_w, (int)strlen(sum->cats[k]));
    label_w = BZ_MIN(label_w, 14);
    int cdx = mode == TUI_CANVAS_BRAILLE ? 2 : 1;
    int cdy = mode == TUI_CANVAS_BRAILLE ? 4 : mode == TUI_CANVAS_BLOCK ? 2 : 1;
    struct judge_radar r;
    int rc = judge_radar_layout(&r, ncat, label_w, cols, rows, cdx, cdy, err);
    if (rc)
        return rc;
    struct tui_canvas cv;
    tui_canvas_init(&cv, mode, r.canvas_w, r.canvas_h);
    int x0, y0, x1, y1;
    for (int ring = 2; ring <= 10; ring += 2)
        for (int k = 0; k < ncat; k++) {
            judge_radar_point(&r, k, ring, &x0, &y0);
            judge_radar_point(&r, (k + 1) % ncat, ring, &x1, &y1);
            tui_canvas_line(&cv, x0, y0, x1, y1, TUI_RADAR_GRID_COLOR);
        }
    for (int k = 0; k < ncat; k++) {
        judge_radar_point(&r, k, 0, &x0, &y0);
        judge_radar_point(&r, k, 10, &x1, &y1);
        tui_canvas_line(&cv, x0, y0, x1, y1, TUI_RADAR_GRID_COLOR);
    }
    for (int m = 0; m < nm; m++) {
        if (show && !show[m])
            continue;
        for (int k = 0; k < ncat; k++) {
            judge_radar_point(&r, k, sum->m[m].cat[k], &x0, &y0);
            judge_radar_point(&r, (k + 1) % ncat, sum->m[m].cat[(k + 1) % ncat], &x1, &y1);
            tui_canvas_line(&cv, x0, y0, x1, y1, 1 + m);
        }
    }
    struct tui_cell *grid = bz_calloc((size_t)cols * (size_t)rows, sizeof *grid);
    for (int i = 0; i < cols * rows; i++)
        strcpy(grid[i].s, " ");
    for (int cy = 0; cy < r.canvas_h; cy++)
        for (int cx = 0; cx < r.canvas_w; cx++) {
            char ch[5];
            int col = tui_canvas_cell(&cv, cx, cy, ch);
            if (mode == TUI_CANVAS_ASCII && col == TUI_RADAR_GRID_COLOR)
                strcpy(ch, ".");
            put_text(grid, cols, rows, r.canvas_x + cx, r.canvas_y + cy, ch, col);
        }
    tui_canvas_cleanup(&cv);
    /* without colour, each model's vertices carry its number */
    if (!color)
        for (int m = 0; m < nm; m++) {
            if (show && !show[m])
                continue;
            for (int k = 0; k < ncat; k++) {
                if (!isfinite(sum->m[m].cat[k]))
                    continue;
                judge_radar_point(&r, k, sum->m[m].cat[k], &x0, &y0);
                char num[4];
                snprintf(num, sizeof num, "%d", (m + 1) % 10);
                put_text(grid, cols, rows, r.canvas_x + x0 / cdx, r.canvas_y + y0 / cdy, num,
                         1 + m);
            }
        }
    for (int k = 0; k < ncat; k++) {
        char lab[32];
        snprintf(lab, sizeof lab, "%.*s", label_w, sum->cats[k]);
        struct judge_radar_label l;
        judge_radar_label_at(&r, k, (int)strlen(lab), &l);
        put_text(grid, cols, rows, l.col, l.row, lab, 0);
    }
    *out = grid;
    return 0;
}
