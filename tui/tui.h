/*
 * tui.h: the program: verbs (headless CLI commands), the TUI application, its
 * views, and job control. Only tui/ includes curses.h and uv.h.
 *
 * A verb is registered by one line at the start of a line in tui/cmd-*.c:
 *     BZ_CMD("name", tui_cmd_name, "one-line summary");
 * which declares `int tui_cmd_name(int argc, char **argv)` (argv[0] is the verb)
 * and, through the generated build/gen/cmds.h, puts it in the verb table.
 * Verbs return the process exit code: 0 ok, 1 runtime error, 2 usage error.
 */
#ifndef TUI_H
#define TUI_H

#include "core/bz.h"

#define BZ_CMD(verb, fn, summary) int fn(int argc, char **argv)

enum { TUI_EXIT_OK = 0, TUI_EXIT_ERROR = 1, TUI_EXIT_USAGE = 2 };

struct tui_cmd {
    const char *verb;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* The verb table (generated), and dispatch by argv[0]. */
const struct tui_cmd *tui_cmd_find(const char *verb);
void tui_cmd_list(FILE *out);
int tui_cmd_run(int argc, char **argv);

/* Print "bezoar: <msg>" on stderr; return the given exit code. */
int tui_cmd_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "bezoar: <verb>: <msg>" and then the verb's usage on stderr; return
 * TUI_EXIT_USAGE. */
int tui_cmd_usage_fail(const char *verb, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print the bz_err (or the code's text) as "bezoar: <msg>"; return TUI_EXIT_ERROR. */
int tui_cmd_fail_err(const struct bz_err *err, int rc);

/* A flag's number value in [lo, hi]: 0 and *out set, or -1 when s is not one. */
int tui_arg_num(const char *s, double lo, double hi, double *out);
/* The sampling flags the inference verbs share: --temp, --top-k, --top-p, --min-p,
 * --repeat-penalty, --freq-penalty, --seed. Returns 1 when flag is one of them (val
 * applied to p; *bad set when out of range), 0 when it is not. */
struct core_sample_params;
int tui_arg_sample(const char *flag, const char *val, struct core_sample_params *p, int *bad);

/* The options of `bezoar train` a recipe stage may set: the i-th (from 0) as its
 * config.json key ("max_steps") and kind; 0 past the last. One table (cmd-train.c)
 * serves the flags, config.json and recipes. */
enum { TUI_OPT_STR, TUI_OPT_INT, TUI_OPT_FLOAT, TUI_OPT_FLAG };
int tui_train_stage_option(size_t i, char key[32], int *kind);

/* `bezoar train --recipe FILE --out runs/NAME`: the stages of a recipe in order
 * (tui/recipe.c). argv as given to `bezoar train`. Returns the exit code. */
int tui_recipe_run(int argc, char **argv);

/* The TUI on a dataset path (NULL: the shipped demo). Returns the exit code. */
int tui_app_main(const char *dataset);

/* The TUI with more to say: what `bezoar compare` opens. */
struct tui_app_opts {
    const char *dataset;    /* NULL: the shipped demo */
    const char *model;      /* the Compare view's model, adapter and template */
    const char *lora;
    const char *tmpl;
    const char *questions;  /* a question set to take prompts from */
    const char *judge;      /* the Compare view's judge backend spec */
    int view;               /* the view to open in (0 Data, 1 Train, 2 Compare) */
};
int tui_app_run(const struct tui_app_opts *o);

/* The directory holding the shipped assets (assets/ of the source tree, or
 * $BEZOAR_ASSETS). Static storage. */
const char *tui_assets_dir(void);

#endif
