/*
 * harness.c: the unit test runner. Runs each registered test in a forked child
 * with a time limit and its own temp directory, prints one line per test and a
 * closing "N passed, N failed, N skipped" line. Exit status 1 when any failed.
 */
#include "tests/test.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X(name) void test_##name(void);
#include "tests.h"
#undef X

struct test_entry {
    const char *name;
    void (*fn)(void);
};

static const struct test_entry tests[] = {
#define X(name) {#name, test_##name},
#include "tests.h"
#undef X
};

#define EXIT_SKIP 77
static char tmpdir[256];
static char root[PATH_MAX];

void test__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    _exit(1);
}

void test__skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    skip: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    _exit(EXIT_SKIP);
}

const char *test_root(void)
{
    return root;
}

const char *test_data(const char *rel)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/../shared/data/%s", root, rel);
    if (access(path, R_OK) != 0)
        test__skip("%s is absent (../shared/data not available)", path);
    return path;
}

const char *test_tmpdir(void)
{
    return tmpdir;
}

const char *test_tmp(const char *name)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

const char *test_write(const char *name, const void *data, size_t n)
{
    const char *p = test_tmp(name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        test__fail(__FILE__, __LINE__, "cannot write %s", p);
    return p;
}

static int matches(const char *name, int argc, char **argv)
{
    if (argc == 0)
        return 1;
    for (int i = 0; i < argc; i++)
        if (strncmp(name, argv[i], strlen(argv[i])) == 0)
            return 1;
    return 0;
}

static int run_one(const struct test_entry *t, double *ms)
{
    char tmpl[] = "/tmp/bezoar-test-XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s", tmpl);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(300);
        t->fn();
        fflush(NULL);
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "    warning: could not remove %s\n", tmpl);
    if (WIFEXITED(st))
        return WEXITSTATUS(st) == EXIT_SKIP ? 2 : WEXITSTATUS(st) != 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "    killed by signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return 1;
}

int main(int argc, char **argv)
{
    if (!getcwd(root, sizeof root))
        return 2;
    if (argc > 1 && strcmp(argv[1], "-l") == 0) {
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!matches(tests[i].name, argc - 1, argv + 1))
            continue;
        double ms = 0;
        int r = run_one(&tests[i], &ms);
        if (r == 0) {
            passed++;
            printf("ok    %s (%.0f ms)\n", tests[i].name, ms);
        } else if (r == 2) {
            skipped++;
            printf("SKIP  %s\n", tests[i].name);
        } else {
            failed++;
            printf("FAIL  %s (%.0f ms)\n", tests[i].name, ms);
        }
    }
    printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
