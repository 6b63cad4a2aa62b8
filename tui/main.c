/*
 * main.c: `bezoar [DATASET]` opens the TUI; `bezoar VERB ...` runs a headless verb.
 */
#include "tui/tui.h"

#include <locale.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: bezoar [DATASET]          open the workbench (the demo without DATASET)\n"
                 "       bezoar VERB [ARGS...]     run a headless verb (VERB -h for its help)\n"
                 "\nverbs:\n");
    tui_cmd_list(out);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && tui_cmd_find(argv[1]))
        return tui_cmd_run(argc - 1, argv + 1);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        usage(stderr);
        return TUI_EXIT_USAGE;
    }
    return tui_app_main(argc == 2 ? argv[1] : NULL);
}
