/*
 * canvas.c: dot canvases and line charts (see canvas.h). Braille cells give 2x4
 * dots; block and ASCII modes trade resolution for terminals without braille.
 */
#include "tui/canvas.h"

#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bz.h"

static void dots_per_cell(int mode, int *dx, int *dy)
{
    switch (mode) {
    case TUI_CANVAS_BRAILLE: *dx = 2; *dy = 4; break;
    case TUI_CANVAS_BLOCK: *dx = 1; *dy = 2; break;
    default: *dx = 1; *dy = 1; break;
    }
}

void tui_canvas_init(struct tui_canvas *c, int mode, int w, int h)
{
    int dx, dy;
    c->mode = mode;
    c->w = w > 0 ? w : 1;
    c->h = h > 0 ? h : 1;
    dots_per_cell(mode, &dx, &dy);
    c->dw = c->w * dx;
    c->dh = c->h * dy;
    c->bits = bz_calloc((size_t)c->w * (size_t)c->h, 1);
    c->col = bz_calloc((size_t)c->w * (size_t)c->h, 1);
}

void tui_canvas_cleanup(struct tui_canvas *c)
{
    if (!c)
        return;
    free(c->bits);
    free(c->col);
    memset(c, 0, sizeof *c);
}

void tui_canvas_clear(struct tui_canvas *c)
{
    memset(c->bits, 0, (size_t)c->w * (size_t)c->h);
    memset(c->col, 0, (size_t)c->w * (size_t)c->h);
}

void tui_canvas_dot(struct tui_canvas *c, int x, int y, int color)
{
    if (x < 0 || y < 0 || x >= c->dw || y >= c->dh)
        return;
    int dx, dy;
    dots_per_cell(c->mode, &dx, &dy);
    int cx = x / dx, cy = y / dy, sx = x % dx, sy = y % dy;
    unsigned bit;
    if (c->mode == TUI_CANVAS_BRAILLE) {
        static const unsigned char map[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20},
                                                {0x40, 0x80}};
        bit = map[sy][sx];
    } else {
        bit = 1u << sy;
    }
    size_t i = (size_t)cy * (size_t)c->w + (size_t)cx;
    c->bits[i] |= (unsigned char)bit;
    if (color)
        c->col[i] = (unsigned char)color;
}

void tui_canvas_line(struct tui_canvas *c, int x0, int y0, int x1, int y1, int color)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (int guard = 0; guard < 1 << 20; guard++) {
        tui_canvas_dot(c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

static int put_utf8(unsigned cp, char out[5])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    out[3] = 0;
    return 3;
}

int tui_canvas_cell(const struct tui_canvas *c, int cx, int cy, char out[5])
{
    size_t i = (size_t)cy * (size_t)c->w + (size_t)cx;
    unsigned b = c->bits[i];
    if (!b) {
        out[0] = ' ';
        out[1] = 0;
        return 0;
    }
    switch (c->mode) {
    case TUI_CANVAS_BRAILLE:
        put_utf8(0x2800 + b, out);
        break;
    case TUI_CANVAS_BLOCK:
        put_utf8(b == 1 ? 0x2580 : b == 2 ? 0x2584 : 0x2588, out);
        break;
    default:
        out[0] = '*';
        out[1] = 0;
        break;
    }
    return c->col[i];
}

int tui_canvas_default_mode(void)
{
    const char *s = getenv("BEZOAR_CHART");
    if (s && strcmp(s, "block") == 0)
        return TUI_CANVAS_BLOCK;
    if (s && strcmp(s, "ascii") == 0)
        return TUI_CANVAS_ASCII;
    if (s && strcmp(s, "braille") == 0)
        return TUI_CANVAS_BRAILLE;
    const char *cs = nl_langinfo(CODESET);
    return cs && strcmp(cs, "UTF-8") == 0 ? TUI_CANVAS_BRAILLE : TUI_CANVAS_ASCII;
}

/* ---------------------------------------------------------------- line charts */

void tui_chart_fit(const struct tui_series *s, size_t ns, struct tui_axes *ax)
{
    int any = 0;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double x = s[k].pts[i].x, y = s[k].pts[i].y;
            if (!isfinite(x) || !isfinite(y))
                continue;
            if (!any) {
                ax->xmin = ax->xmax = x;
                ax->ymin = ax->ymax = y;
                any = 1;
            }
            ax->xmin = fmin(ax->xmin, x);
            ax->xmax = fmax(ax->xmax, x);
            ax->ymin = fmin(ax->ymin, y);
            ax->ymax = fmax(ax->ymax, y);
        }
    if (!any) {
        ax->xmin = 0, ax->xmax = 1, ax->ymin = 0, ax->ymax = 1;
        return;
    }
    double pad = (ax->ymax - ax->ymin) * 0.05;
    if (pad <= 0)
        pad = fabs(ax->ymax) * 0.05 + 1e-6;
    ax->ymin -= pad;
    ax->ymax += pad;
    if (ax->xmax <= ax->xmin)
        ax->xmax = ax->xmin + 1;
}

static int to_dx(const struct tui_canvas *c, const struct tui_axes *ax, double x)
{
    return (int)lround((x - ax->xmin) / (ax->xmax - ax->xmin) * (c->dw - 1));
}

static int to_dy(const struct tui_canvas *c, const struct tui_axes *ax, double y)
{
    return (int)lround((ax->ymax - y) / (ax->ymax - ax->ymin) * (c->dh - 1));
}

void tui_chart_plot(struct tui_canvas *c, const struct tui_series *s, size_t ns,
                    const struct tui_axes *ax)
{
    for (size_t k = 0; k < ns; k++) {
        int have = 0, px = 0, py = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            double x = s[k].pts[i].x, y = s[k].pts[i].y;
            if (!isfinite(x) || !isfinite(y))
                continue;
            int dx = to_dx(c, ax, x), dy = to_dy(c, ax, y);
            if (s[k].dots || !have)
                tui_canvas_dot(c, dx, dy, s[k].color);
            else
                tui_canvas_line(c, px, py, dx, dy, s[k].color);
            have = 1;
            px = dx;
            py = dy;
        }
    }
}
