/*
 * text.h: display-width aware text for the terminal: UTF-8 decoding that never
 * trusts its input, column widths from utf8proc (wide CJK = 2, combining = 0,
 * control and invalid bytes shown as one replacement column), clipping and
 * word wrapping by columns. No curses here: callers draw the byte ranges.
 */
#ifndef TUI_TEXT_H
#define TUI_TEXT_H

#include <stddef.h>

/* Decode one character at s (n bytes available). Returns its byte length (>= 1) and
 * stores the codepoint, or U+FFFD for an invalid byte (length 1). */
int tui_text_next(const char *s, size_t n, int *cp);
/* Columns a codepoint takes: 0, 1 or 2. Control characters take 1 (drawn as '?'). */
int tui_text_cpwidth(int cp);
/* Columns of the first n bytes of s. */
int tui_text_width(const char *s, size_t n);
/* Bytes of s (n available) that fit in cols columns; *used gets the columns used. */
size_t tui_text_fit(const char *s, size_t n, int cols, int *used);

/* One wrapped line: a byte range of the source text. */
struct tui_line {
    size_t off, len;
};
/* Wrap text into lines of at most cols columns, breaking at spaces when a word fits,
 * else anywhere (CJK text has no spaces). Newlines end lines. Returns the number of
 * lines; fills at most max entries of out (out may be NULL to count). */
size_t tui_text_wrap(const char *s, size_t n, int cols, struct tui_line *out, size_t max);

#endif
