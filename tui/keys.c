/*
 * keys.c: the one key table. Dispatch and the `?` help overlay both read it, so
 * the help can never disagree with what a key does. A binding applies in the
 * views its mask names; entries without help text are alternative keys.
 */
#include <curses.h>

#include "tui/internal.h"

#define CTRL(c) ((c)&0x1f)
#define D TUI_V_DATA
#define T TUI_V_TRAIN
#define ALL TUI_V_ALL

const struct tui_binding tui_bindings[] = {
    {ALL, '1', TUI_A_VIEW_DATA, "1", "Data view: curate pairs"},
    {ALL, '2', TUI_A_VIEW_TRAIN, "2", "Train view: runs, live loss"},
    {ALL, '\t', TUI_A_NEXT_VIEW, "Tab", "next view"},
    {D | T, 'j', TUI_A_DOWN, "j / Down", "next record (Train: next run)"},
    {D | T, KEY_DOWN, TUI_A_DOWN, NULL, NULL},
    {D | T, 'k', TUI_A_UP, "k / Up", "previous record (Train: previous run)"},
    {D | T, KEY_UP, TUI_A_UP, NULL, NULL},
    {D, KEY_NPAGE, TUI_A_PGDN, "PgDn / Ctrl-d", "page down"},
    {D, CTRL('d'), TUI_A_PGDN, NULL, NULL},
    {D, KEY_PPAGE, TUI_A_PGUP, "PgUp / Ctrl-u", "page up"},
    {D, CTRL('u'), TUI_A_PGUP, NULL, NULL},
    {D, 'g', TUI_A_TOP, "g / Home", "first record"},
    {D, KEY_HOME, TUI_A_TOP, NULL, NULL},
    {D, 'G', TUI_A_BOTTOM, "G / End", "last record"},
    {D, KEY_END, TUI_A_BOTTOM, NULL, NULL},
    {D, 'a', TUI_A_ACCEPT, "a", "accept, go to the next pending"},
    {D, 'x', TUI_A_REJECT, "x", "reject, go to the next pending"},
    {D, 'f', TUI_A_FLAG, "f", "flag for later, go to the next pending"},
    {D, 'r', TUI_A_RESET, "r", "reset to pending"},
    {D, ' ', TUI_A_SKIP, "space", "skip to the next pending"},
    {D, 'u', TUI_A_UNDO, "u", "undo the last decision (any depth)"},
    {D, CTRL('r'), TUI_A_REDO, "Ctrl-r", "redo"},
    {D, 'e', TUI_A_EDIT, "e", "edit the conversation in $EDITOR"},
    {D, 'D', TUI_A_SHOW_ORIG, "D", "show the original of an edited record"},
    {D, 'R', TUI_A_REVERT, "R", "revert an edit to the original"},
    {D, '/', TUI_A_SEARCH, "/", "search (regex; caseless unless it has capitals)"},
    {D, 'n', TUI_A_NEXT_MATCH, "n", "next match"},
    {D, 'N', TUI_A_PREV_MATCH, "N", "previous match"},
    {D, 'F', TUI_A_FILTER, "F", "filter menu: status, rule flags, length"},
    {D, 'm', TUI_A_MARK, "m", "mark / unmark the record"},
    {D, 'M', TUI_A_MARK_ALL, "M", "mark every record the list shows"},
    {D, 'c', TUI_A_UNMARK_ALL, "c", "clear marks"},
    {D, 'B', TUI_A_BULK, "B", "bulk decision on the marked rows (else all shown)"},
    {D, 'J', TUI_A_DETAIL_DOWN, "J / Shift-Down", "scroll the detail pane down"},
    {D, KEY_SF, TUI_A_DETAIL_DOWN, NULL, NULL},
    {D, 'K', TUI_A_DETAIL_UP, "K / Shift-Up", "scroll the detail pane up"},
    {D, KEY_SR, TUI_A_DETAIL_UP, NULL, NULL},
    {T, 'n', TUI_A_NEW_RUN, "n", "new run: a form prefilled for the model and data"},
    {T, 's', TUI_A_STOP_RUN, "s", "stop the run (the worker checkpoints first)"},
    {T, 'S', TUI_A_SAVE_NOW, "S", "save a checkpoint now"},
    {T, 'R', TUI_A_RESUME_RUN, "R", "resume a stopped run from its newest checkpoint"},
    {T, '+', TUI_A_SMOOTH_MORE, "+ / -", "more / less smoothing of the loss line"},
    {T, '-', TUI_A_SMOOTH_LESS, NULL, NULL},
    {ALL, CTRL('l'), TUI_A_REDRAW, "Ctrl-l", "redraw the screen"},
    {ALL, '?', TUI_A_HELP, "?", "this help"},
    {ALL, 'q', TUI_A_QUIT, "q", "quit (running jobs may keep running)"},
};
const size_t tui_n_bindings = sizeof tui_bindings / sizeof tui_bindings[0];

int tui_keys_action(int view, int key)
{
    for (size_t i = 0; i < tui_n_bindings; i++)
        if (tui_bindings[i].key == key && (tui_bindings[i].views & (1u << view)))
            return tui_bindings[i].action;
    return TUI_A_NONE;
}
