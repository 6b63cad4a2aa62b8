/*
 * radar.h: a radar chart of per-category judge scores as a grid of terminal cells:
 * rings at 2..10, one axis per category, one closed polygon per shown model, the
 * category labels around it. Geometry from judge/radar.c, dots from tui/canvas.c.
 * The grid is printed by `bezoar judge show --radar` (ANSI) and drawn by the
 * Judge view (curses), so both show the same chart.
 */
#ifndef TUI_RADAR_H
#define TUI_RADAR_H

#include "judge/judge.h"

#define TUI_RADAR_GRID_COLOR 99 /* colour index of rings and axes */

struct tui_cell {
    char s[8];   /* UTF-8 text of the cell, NUL-terminated (" " when empty) */
    int color;   /* 0 plain, TUI_RADAR_GRID_COLOR grid, 1.. the model (1-based) */
};

/* Draw the models whose show[m] is nonzero (show NULL: all) into a cols x rows grid
 * (caller frees *out). mode is a TUI_CANVAS_* mode; without colour (color == 0)
 * each model's vertices carry its number. Fails (BZ_ERANGE / BZ_EINVAL) when the area
 * is too small or there are fewer than 3 categories. */
int tui_radar_grid(const struct judge_summary *sum, const unsigned char *show, int cols,
                   int rows, int mode, int color, struct tui_cell **out, struct bz_err *err);

#endif
