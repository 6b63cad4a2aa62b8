/*
 * cmd-compare.c: `bezoar compare` opens the workbench straight into the Compare
 * view for a model and an adapter (side A the base, side B base + adapter).
 */
#include <string.h>
#include <unistd.h>

#include "tui/tui.h"

BZ_CMD("compare", tui_cmd_compare, "compare base and fine-tuned answers side by side (TUI)");

static const char usage[] =
    "usage: bezoar compare -m MODEL [--lora ADAPTER] [--template T] [--questions Q]\n"
    "                      [--judge SPEC] [DATASET]\n"
    "Open the workbench in the Compare view: side A answers with MODEL, side B with MODEL\n"
    "plus ADAPTER (a PEFT directory or adapter .gguf; one copy of the base weights serves\n"
    "both). Prompts come from the question set Q (MT-Bench JSON lines) or from DATASET\n"
    "(default: the demo), whose journal directory also keeps the votes (votes.jsonl).\n"
    "  --template T   chatml, llama2, llama3, zephyr, phi3, alpaca (default: the model's)\n"
    "  --judge SPEC   the judge 'g' asks (openai:URL#MODEL or local:MODEL; default\n"
    "                 $BEZOAR_JUDGE)\n";

int tui_cmd_compare(int argc, char **argv)
{
    struct tui_app_opts o = {.view = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            dst = &o.model;
        } else if (!strcmp(a, "--lora")) {
            dst = &o.lora;
        } else if (!strcmp(a, "--template")) {
            dst = &o.tmpl;
        } else if (!strcmp(a, "--questions")) {
            dst = &o.questions;
        } else if (!strcmp(a, "--judge")) {
            dst = &o.judge;
        } else if (a[0] == '-') {
            return tui_cmd_fail(TUI_EXIT_USAGE, "compare: unknown option %s (see -h)", a);
        } else if (!o.dataset) {
            o.dataset = a;
            continue;
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "compare: one dataset at most (got %s)", a);
        }
        if (i + 1 >= argc)
            return tui_cmd_fail(TUI_EXIT_USAGE, "compare: %s needs a value", a);
        *dst = argv[++i];
    }
    if (!o.model)
        return tui_cmd_fail(TUI_EXIT_USAGE, "compare: -m MODEL is required (see -h)");
    if (access(o.model, R_OK) != 0)
        return tui_cmd_fail(TUI_EXIT_ERROR, "%s: %s", o.model, strerror(errno));
    if (o.lora && access(o.lora, R_OK) != 0)
        return tui_cmd_fail(TUI_EXIT_ERROR, "%s: %s", o.lora, strerror(errno));
    return tui_app_run(&o);
}
