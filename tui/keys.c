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
#define C TUI_V_COMPARE
#define JV TUI_V_JUDGE
#define ALL TUI_V_ALL

const struct tui_binding tui_bindings[] = {
    {ALL, '1', TUI_A_VIEW_DATA, "1", "Data view: curate pairs"},
    {ALL, '2', TUI_A_VIEW_TRAIN, "2", "Train view: runs, live loss"},
    {ALL, '3', TUI_A_VIEW_COMPARE, "3", "Compare view: base vs fine-tuned answers"},
    {ALL, '4', TUI_A_VIEW_JUDGE, "4", "Judge view: scores per category, radar, judgments"},
    {ALL, '\t', TUI_A_NEXT_VIEW, "Tab", "next view"},
    {D | T | JV, 'j', TUI_A_DOWN, "j / Down", "next record (Train: run; Judge: row)"},
    {D | T | JV, KEY_DOWN, TUI_A_DOWN, NULL, NULL},
    {D | T | JV, 'k', TUI_A_UP, "k / Up", "previous record (Train: run; Judge: row)"},
    {D | T | JV, KEY_UP, TUI_A_UP, NULL, NULL},
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
    {D, 'o', TUI_A_SORT_SCORE, "o", "order: file, score low first, score high first"},
    {D, 'p', TUI_A_PREMARK, "p", "pre-mark pending rows scored below T or suggested rejects"},
    {D, '+', TUI_A_GENERATE, "+", "generate pairs into this dataset (scheme, seeds, backend, N)"},
    {D, 's', TUI_A_GEN_STOP, "s", "stop the generation job"},
    {D, '!', TUI_A_RUN_FILTER, "!", "job: the automatic filters (bezoar data filter): suggested rejects"},
    {D, '*', TUI_A_RUN_SCORE, "*", "job: the judge ($BEZOAR_JUDGE) scores the pending pairs 1-10"},
    {D | C, 'J', TUI_A_DETAIL_DOWN, "J / Shift-Down", "scroll the detail pane (answers) down"},
    {D | C, KEY_SF, TUI_A_DETAIL_DOWN, NULL, NULL},
    {D | C, 'K', TUI_A_DETAIL_UP, "K / Shift-Up", "scroll the detail pane (answers) up"},
    {D | C, KEY_SR, TUI_A_DETAIL_UP, NULL, NULL},
    {C, '\r', TUI_A_CMP_RUN, "Enter", "compare the current prompt"},
    {C, '\n', TUI_A_CMP_RUN, NULL, NULL},
    {C, KEY_ENTER, TUI_A_CMP_RUN, NULL, NULL},
    {C, '[', TUI_A_CMP_PREV, "[ / ]", "previous / next prompt (record or question), compared"},
    {C, ']', TUI_A_CMP_NEXT, NULL, NULL},
    {C, 'p', TUI_A_CMP_TYPE, "p", "type a prompt"},
    {C, 'a', TUI_A_VOTE_A, "a / b", "vote: A better / B better"},
    {C, 'b', TUI_A_VOTE_B, NULL, NULL},
    {C, 't', TUI_A_VOTE_TIE, "t / z", "vote: tie / both bad"},
    {C, 'z', TUI_A_VOTE_BAD, NULL, NULL},
    {C, 'v', TUI_A_CMP_BLIND, "v", "blind mode: sides shuffled, labels hidden until the vote"},
    {C, 'y', TUI_A_CMP_SYNC, "y", "scroll the two answers together or apart"},
    {C, 'h', TUI_A_CMP_FOCUS_A, "h / l", "the side J/K scroll when apart"},
    {C, 'l', TUI_A_CMP_FOCUS_B, NULL, NULL},
    {C, 's', TUI_A_CMP_SIMILAR, "s", "accepted training pairs most like the prompt"},
    {C, 'g', TUI_A_CMP_JUDGE, "g", "ask the judge which answer is better (both orders)"},
    {T, 'n', TUI_A_NEW_RUN, "n", "new run: a form prefilled for the model and data"},
    {T, 's', TUI_A_STOP_RUN, "s", "stop the run (the worker checkpoints first)"},
    {T, 'S', TUI_A_SAVE_NOW, "S", "save a checkpoint now"},
    {T, 'R', TUI_A_RESUME_RUN, "R", "resume a stopped run from its newest checkpoint"},
    {T, '+', TUI_A_SMOOTH_MORE, "+ / -", "more / less smoothing of the loss line"},
    {T, '-', TUI_A_SMOOTH_LESS, NULL, NULL},
    {T, '[', TUI_A_STAGE_PREV, "[ / ]", "recipe run: show the stage before / after"},
    {T, ']', TUI_A_STAGE_NEXT, NULL, NULL},
    {JV, ' ', TUI_A_JUDGE_TOGGLE, "space", "show / hide the model on the radar"},
    {JV, '\r', TUI_A_JUDGE_OPEN, "Enter", "drill down: category -> its rows -> the judgment"},
    {JV, '\n', TUI_A_JUDGE_OPEN, NULL, NULL},
    {JV, KEY_ENTER, TUI_A_JUDGE_OPEN, NULL, NULL},
    {JV, KEY_BACKSPACE, TUI_A_JUDGE_BACK, "Backspace / Esc", "back up one level"},
    {JV, 127, TUI_A_JUDGE_BACK, NULL, NULL},
    {JV, 'h', TUI_A_JUDGE_CAT_PREV, "h / l", "previous / next category to drill into"},
    {JV, 'l', TUI_A_JUDGE_CAT_NEXT, NULL, NULL},
    {JV, 'r', TUI_A_JUDGE_RELOAD, "r", "reload the judgment files"},
    {JV, 'a', TUI_A_JUDGE_ANSWER, "a", "job: answer the questions, base and fine-tuned"},
    {JV, 'G', TUI_A_JUDGE_GRADE, "G", "job: grade every answers/*.jsonl ($BEZOAR_JUDGE)"},
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
