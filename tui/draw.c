/*
 * draw.c: curses helpers shared by the views (see draw.h).
 */
#include "tui/draw.h"

#include <string.h>

#include "tui/internal.h"

attr_t tui_color(const struct tui_app *app, int pair, attr_t fallback)
{
    return app->color ? COLOR_PAIR(pair) : fallback;
}

void tui_put(int y, int x, int cols, const char *s, attr_t a)
{
    if (cols <= 0)
        return;
    size_t n = tui_text_fit(s, strlen(s), cols, NULL);
    attrset(a);
    mvaddnstr(y, x, s, (int)n);
    attrset(A_NORMAL);
}
