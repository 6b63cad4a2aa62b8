/*
 * draw.h: small curses helpers the views share: a colour pair with a fallback
 * attribute for terminals without colours (or NO_COLOR), and clipped UTF-8 text.
 */
#ifndef TUI_DRAW_H
#define TUI_DRAW_H

#include <curses.h>

struct tui_app;

/* COLOR_PAIR(pair) when colours are on, else fallback. */
attr_t tui_color(const struct tui_app *app, int pair, attr_t fallback);
/* Draw s at (y, x) with attribute a, clipped to cols display columns (never half a
 * character). */
void tui_put(int y, int x, int cols, const char *s, attr_t a);

#endif
