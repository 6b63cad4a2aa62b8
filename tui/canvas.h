/*
 * canvas.h: a dot canvas for text charts. A cell of the terminal holds 2x4 dots
 * in braille mode, 1x2 in block mode (▀ ▄ █) and 1x1 in ASCII mode, so one drawing
 * serves all three. Lines are drawn in dot space; each cell remembers the colour
 * of the last series that touched it. No curses: the caller prints the cells.
 */
#ifndef TUI_CANVAS_H
#define TUI_CANVAS_H

#include <stddef.h>

enum tui_canvas_mode { TUI_CANVAS_BRAILLE, TUI_CANVAS_BLOCK, TUI_CANVAS_ASCII };

struct tui_canvas {
    int mode;
    int w, h;           /* cells */
    int dw, dh;         /* dots */
    unsigned char *bits;/* per cell: dot bits */
    unsigned char *col; /* per cell: colour index (0 = none) */
};

void tui_canvas_init(struct tui_canvas *c, int mode, int w, int h);
void tui_canvas_cleanup(struct tui_canvas *c);
void tui_canvas_clear(struct tui_canvas *c);
void tui_canvas_dot(struct tui_canvas *c, int x, int y, int color);
void tui_canvas_line(struct tui_canvas *c, int x0, int y0, int x1, int y1, int color);
/* The cell's character as UTF-8 (NUL-terminated, at most 4 bytes + NUL); " " when
 * empty. Returns the colour index. */
int tui_canvas_cell(const struct tui_canvas *c, int cx, int cy, char out[5]);
/* The mode chosen by BEZOAR_CHART (braille|block|ascii), else braille when the
 * locale's charset is UTF-8, else ascii. */
int tui_canvas_default_mode(void);

/* A line chart of several series over shared axes. */
struct tui_point {
    double x, y;
};
struct tui_series {
    const struct tui_point *pts;
    size_t n;
    int color;      /* 1.. */
    int dots;       /* 1: points only, 0: connected line */
};
struct tui_axes {
    double xmin, xmax, ymin, ymax;
};
/* Fit axes to the series (with a small margin on y); NaN/Inf points are ignored. */
void tui_chart_fit(const struct tui_series *s, size_t ns, struct tui_axes *ax);
void tui_chart_plot(struct tui_canvas *c, const struct tui_series *s, size_t ns,
                    const struct tui_axes *ax);

#endif
