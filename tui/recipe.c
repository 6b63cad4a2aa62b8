/*
 * recipe.c: multi-stage training recipes (`bezoar train --recipe`). Being written;
 * until then the flag is refused with a message.
 */
#include "tui/tui.h"

int tui_recipe_run(int argc, char **argv)
{
    (void)argc, (void)argv;
    return tui_cmd_fail(TUI_EXIT_USAGE, "train --recipe: recipes are not built yet");
}
