/*
 * text.c: display widths and wrapping (see text.h). Widths come from utf8proc's
 * tables, so CJK wide characters align; invalid bytes count as one column.
 */
#include "tui/text.h"

#include <utf8proc.h>

#include "core/bz.h"

int tui_text_next(const char *s, size_t n, int *cp)
{
    int k = bz_utf8_seq_len((const unsigned char *)s, n);
    if (k == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    utf8proc_int32_t c;
    utf8proc_iterate((const utf8proc_uint8_t *)s, k, &c);
    *cp = c;
    return k;
}

int tui_text_cpwidth(int cp)
{
    if (cp < 0x20 || cp == 0x7F)
        return 1;
    int w = utf8proc_charwidth(cp);
    if (w < 0)
        return 1;
    return w > 2 ? 2 : w;
}

int tui_text_width(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n;) {
        int cp;
        i += (size_t)tui_text_next(s + i, n - i, &cp);
        w += tui_text_cpwidth(cp);
    }
    return w;
}

size_t tui_text_fit(const char *s, size_t n, int cols, int *used)
{
    int w = 0;
    size_t i = 0;
    while (i < n) {
        int cp;
        int k = tui_text_next(s + i, n - i, &cp);
        int cw = tui_text_cpwidth(cp);
        if (cp == '\n' || w + cw > cols)
            break;
        w += cw;
        i += (size_t)k;
    }
    if (used)
        *used = w;
    return i;
}

size_t tui_text_wrap(const char *s, size_t n, int cols, struct tui_line *out, size_t max)
{
    size_t count = 0;
    size_t i = 0;
    if (cols < 1)
        cols = 1;
    for (;;) {
        size_t start = i, brk = 0, brk_next = 0;
        int w = 0;
        int ended = 0;
        while (i < n) {
            int cp;
            int k = tui_text_next(s + i, n - i, &cp);
            if (cp == '\n') {
                ended = 1;
                break;
            }
            int cw = tui_text_cpwidth(cp);
            if (w + cw > cols)
                break;
            if (cp == ' ' || cp == '\t') {
                brk = i;
                brk_next = i + (size_t)k;
            }
            w += cw;
            i += (size_t)k;
        }
        size_t end = i, next = i;
        if (!ended && i < n && brk > start) {
            end = brk;
            next = brk_next;
        } else if (ended) {
            next = i + 1;
        } else if (i == start && i < n) {
            /* A character wider than the line: take it alone. */
            int cp;
            next = end = i + (size_t)tui_text_next(s + i, n - i, &cp);
        }
        if (out && count < max) {
            out[count].off = start;
            out[count].len = end - start;
        }
        count++;
        i = next;
        if (i >= n)
            break;
    }
    return count;
}
