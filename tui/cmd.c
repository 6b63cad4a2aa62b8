/*
 * cmd.c: the verb table and dispatch, and the flag parsers verbs share. The table is generated from the BZ_CMD
 * lines in tui/cmd-*.c (build/gen/cmds.h), so verbs live in their own files.
 */
#include "tui/tui.h"

#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "core/sample.h"

#undef BZ_CMD
#define BZ_CMD(verb, fn, summary) int fn(int argc, char **argv);
#include "cmds.h"
#undef BZ_CMD

static const struct tui_cmd cmd_table[] = {
#define BZ_CMD(verb, fn, summary) {verb, fn, summary},
#include "cmds.h"
#undef BZ_CMD
    {NULL, NULL, NULL},
};

const struct tui_cmd *tui_cmd_find(const char *verb)
{
    for (const struct tui_cmd *c = cmd_table; c->verb; c++)
        if (strcmp(c->verb, verb) == 0)
            return c;
    return NULL;
}

void tui_cmd_list(FILE *out)
{
    for (const struct tui_cmd *c = cmd_table; c->verb; c++)
        fprintf(out, "  %-12s %s\n", c->verb, c->summary);
}

int tui_cmd_run(int argc, char **argv)
{
    const struct tui_cmd *c = tui_cmd_find(argv[0]);
    if (!c)
        return tui_cmd_fail(TUI_EXIT_USAGE, "unknown verb '%s' (see bezoar -h)", argv[0]);
    return c->fn(argc, argv);
}

int tui_cmd_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bezoar: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int tui_cmd_fail_err(const struct bz_err *err, int rc)
{
    return tui_cmd_fail(TUI_EXIT_ERROR, "%s", bz_err_msg(err, rc));
}

const char *tui_assets_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("BEZOAR_ASSETS");
    if (env && *env)
        return env;
    if (dir[0])
        return dir;
    /* The binary lives in build/ (or BUILD/san/) of the source tree. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 5; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash)
                break;
            *slash = '\0';
            /* the source tree's assets/ (a build dir may also be named assets) */
            char mark[PATH_MAX + 32];
            snprintf(dir, sizeof dir, "%s/assets", exe);
            snprintf(mark, sizeof mark, "%s/make-assets.sh", dir);
            if (access(mark, R_OK) == 0)
                return dir;
        }
    }
    snprintf(dir, sizeof dir, "assets");
    return dir;
}

int tui_cmd_usage_fail(const char *verb, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bezoar: %s: ", verb);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return TUI_EXIT_USAGE;
}

int tui_arg_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int tui_arg_sample(const char *flag, const char *val, struct core_sample_params *p, int *bad)
{
    double v = 0;
    if (!strcmp(flag, "--temp"))
        *bad = tui_arg_num(val, 0, 100, &v), p->temp = (float)v;
    else if (!strcmp(flag, "--top-k"))
        *bad = tui_arg_num(val, 0, 1e9, &v), p->top_k = (int)v;
    else if (!strcmp(flag, "--top-p"))
        *bad = tui_arg_num(val, 1e-9, 1, &v), p->top_p = (float)v;
    else if (!strcmp(flag, "--min-p"))
        *bad = tui_arg_num(val, 0, 1, &v), p->min_p = (float)v;
    else if (!strcmp(flag, "--repeat-penalty"))
        *bad = tui_arg_num(val, 1e-3, 100, &v), p->repeat_penalty = (float)v;
    else if (!strcmp(flag, "--freq-penalty"))
        *bad = tui_arg_num(val, -100, 100, &v), p->freq_penalty = (float)v;
    else if (!strcmp(flag, "--seed"))
        *bad = tui_arg_num(val, 0, 1.8e19, &v), p->seed = (uint64_t)v;
    else
        return 0;
    return 1;
}
