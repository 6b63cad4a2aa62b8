/*
 * keys.c: the one key table. Dispatch and the `?` help overlay both read it, so
 * the help can never disagree with what a key does.
 */
#include <curses.h>

#include "tui/internal.h"

#define CTRL(c) ((c)&0x1f)

const struct tui_binding tui_bindings[] = {
    {'j', TUI_A_DOWN, "j / Down", "next record"},
    {KEY_DOWN, TUI_A_DOWN, NULL, NULL},
    {'k', TUI_A_UP, "k / Up", "previous record"},
    {KEY_UP, TUI_A_UP, NULL, NULL},
    {KEY_NPAGE, TUI_A_PGDN, "PgDn / Ctrl-d", "page down"},
    {CTRL('d'), TUI_A_PGDN, NULL, NULL},
    {KEY_PPAGE, TUI_A_PGUP, "PgUp / Ctrl-u", "page up"},
    {CTRL('u'), TUI_A_PGUP, NULL, NULL},
    {'g', TUI_A_TOP, "g / Home", "first record"},
    {KEY_HOME, TUI_A_TOP, NULL, NULL},
    {'G', TUI_A_BOTTOM, "G / End", "last record"},
    {KEY_END, TUI_A_BOTTOM, NULL, NULL},
    {'a', TUI_A_ACCEPT, "a", "accept, go to the next pending"},
    {'x', TUI_A_REJECT, "x", "reject, go to the next pending"},
    {'f', TUI_A_FLAG, "f", "flag for later, go to the next pending"},
    {'r', TUI_A_RESET, "r", "reset to pending"},
    {' ', TUI_A_SKIP, "space", "skip to the next pending"},
    {'u', TUI_A_UNDO, "u", "undo the last decision (any depth)"},
    {CTRL('r'), TUI_A_REDO, "Ctrl-r", "redo"},
    {'e', TUI_A_EDIT, "e", "edit the conversation in $EDITOR"},
    {'D', TUI_A_SHOW_ORIG, "D", "show the original of an edited record"},
    {'R', TUI_A_REVERT, "R", "revert an edit to the original"},
    {'/', TUI_A_SEARCH, "/", "search (regex; caseless unless it has capitals)"},
    {'n', TUI_A_NEXT_MATCH, "n", "next match"},
    {'N', TUI_A_PREV_MATCH, "N", "previous match"},
    {'F', TUI_A_FILTER, "F", "filter menu: status, rule flags, length"},
    {'m', TUI_A_MARK, "m", "mark / unmark the record"},
    {'M', TUI_A_MARK_ALL, "M", "mark every record the list shows"},
    {'c', TUI_A_UNMARK_ALL, "c", "clear marks"},
    {'B', TUI_A_BULK, "B", "bulk decision on the marked rows (else all shown)"},
    {'J', TUI_A_DETAIL_DOWN, "J / Shift-Down", "scroll the detail pane down"},
    {KEY_SF, TUI_A_DETAIL_DOWN, NULL, NULL},
    {'K', TUI_A_DETAIL_UP, "K / Shift-Up", "scroll the detail pane up"},
    {KEY_SR, TUI_A_DETAIL_UP, NULL, NULL},
    {CTRL('l'), TUI_A_REDRAW, "Ctrl-l", "redraw the screen"},
    {'?', TUI_A_HELP, "?", "this help"},
    {'q', TUI_A_QUIT, "q", "quit"},
};
const size_t tui_n_bindings = sizeof tui_bindings / sizeof tui_bindings[0];

int tui_keys_action(int key)
{
    for (size_t i = 0; i < tui_n_bindings; i++)
        if (tui_bindings[i].key == key)
            return tui_bindings[i].action;
    return TUI_A_NONE;
}
