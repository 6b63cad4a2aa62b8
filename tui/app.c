/*
 * app.c: placeholder until the Data view lands (this commit only lays the build).
 */
#include "tui/tui.h"

int tui_app_main(const char *dataset)
{
    return tui_cmd_fail(TUI_EXIT_ERROR, "the workbench is not built yet (dataset %s)",
                        dataset ? dataset : "demo");
}
