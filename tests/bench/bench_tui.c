/*
 * bench_tui.c: the Data view's responsiveness on a generated 1,000,000-pair JSONL:
 * time to first screen (open + first frame with rows), redraw time while
 * scrolling (p50/p99 over a mix of line and page moves), and decide-to-redraw
 * latency including the journal fsync, and key-to-redraw latency while a real
 * training worker keeps both cores busy. Curses draws into /dev/null, so the
 * figures are the program's own work, not the terminal's.
 */
#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tui/internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void busy_stop(void);

static const char *words[] = {"river", "mountain", "recipe", "planet", "number", "letter",
                              "garden", "engine", "poem", "market", "castle", "signal"};

static void generate(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    unsigned long long x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *a = words[x % 12], *b = words[(x >> 8) % 12];
        fprintf(f, "{\"instruction\": \"Write two sentences about the %s and the %s (%zu).\", "
                   "\"input\": \"\", \"output\": \"The %s is near the %s. Record %zu says so, "
                   "and %llu is its number.\"}\n", a, b, i, a, b, i, x % 100000);
    }
    fclose(f);
}

/* ---------------------------------------------------------------- a busy machine */

static pid_t busy_pid;
static char busy_model[512];
static char busy_dir[] = "/tmp/bezoar-bench-tui-run";

/* Start `bezoar train` on a copy of the first pairs of the bench file (all of them
 * accepted through the journal's --status all), on the model in BEZOAR_BENCH_MODEL or
 * the shared stories260K, with two threads and many epochs; return NULL once it has
 * stepped, else why not. */
static const char *busy_start(const char *pairs)
{
    const char *m = getenv("BEZOAR_BENCH_MODEL");
    if (!m || !*m)
        m = "../shared/data/models/stories260K.gguf";
    if (access(m, R_OK) != 0)
        return "no model: set BEZOAR_BENCH_MODEL or provide ../shared/data";
    snprintf(busy_model, sizeof busy_model, "%s", m);
    char exe[4096], bin[4200], cmd[8192];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return "cannot find this program";
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(bin, sizeof bin, "%s/../bezoar", exe);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.pairs.jsonl* && head -n 2000 %s > %s.pairs.jsonl",
             busy_dir, busy_dir, pairs, busy_dir);
    if (system(cmd) != 0)
        return "cannot make the training data";
    fflush(NULL);
    busy_pid = fork();
    if (busy_pid == 0) {
        char data[600];
        snprintf(data, sizeof data, "%s.pairs.jsonl", busy_dir);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        setpriority(PRIO_PROCESS, 0, 10); /* as the workbench starts its jobs */
        execl(bin, bin, "train", "-m", busy_model, "--data", data, "--status", "all",
              "--out", busy_dir, "--template", "alpaca", "--epochs", "1000", "--seq", "128", "--threads", "2",
              "--save-every", "1000000", "--quiet", (char *)NULL);
        _exit(127);
    }
    /* wait for the first step event */
    char events[600];
    snprintf(events, sizeof events, "%s/events.jsonl", busy_dir);
    for (int i = 0; i < 600; i++) {
        char *text = NULL;
        if (bz_read_file(events, &text, NULL, NULL) == 0 && strstr(text, "\"step\"")) {
            free(text);
            return NULL;
        }
        free(text);
        usleep(50000);
    }
    busy_stop();
    return "the training worker did not start stepping within 30 s";
}

static void busy_stop(void)
{
    if (busy_pid > 0) {
        kill(busy_pid, SIGKILL);
        waitpid(busy_pid, NULL, 0);
        busy_pid = 0;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s.pairs.jsonl*", busy_dir, busy_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_tui: could not remove %s\n", busy_dir);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    char path[] = "/tmp/bezoar-bench-tui.jsonl";
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s.bezoar", path);
    if (system(cmd) != 0)
        return 1;
    printf("generating %zu pairs ...\n", n);
    fflush(stdout);
    generate(path, n);

    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr) {
        fprintf(stderr, "bench_tui: cannot start curses\n");
        return 1;
    }
    set_term(scr);
    resizeterm(40, 120);

    double t0 = bz_now();
    struct ds_dataset *ds;
    struct bz_err err = {0};
    struct ds_open_opts o = {.background = 1};
    if (ds_open(&ds, path, &o, &err) != 0) {
        fprintf(stderr, "bench_tui: %s\n", err.msg);
        return 1;
    }
    struct tui_app app;
    memset(&app, 0, sizeof app);
    app.rows = 40;
    app.cols = 120;
    app.dataset_path = path;
    tui_data_init(&app.data, ds);
    while (ds_count(ds) < 40)
        usleep(100);
    tui_view_data_draw(&app);
    refresh();
    double first = bz_now() - t0;
    ds_wait(ds, &err);
    double indexed = bz_now() - t0;

    enum { N = 3000 };
    static double ms[N];
    for (int i = 0; i < N; i++) {
        int act = (i % 10 == 9) ? TUI_A_PGDN : TUI_A_DOWN;
        double a = bz_now();
        tui_view_data_key(&app, act);
        tui_view_data_draw(&app);
        refresh();
        ms[i] = (bz_now() - a) * 1e3;
    }
    double s50 = pct(ms, N, 0.5), s99 = pct(ms, N, 0.99);

    enum { D = 300 };
    static double dm[D];
    for (int i = 0; i < D; i++) {
        double a = bz_now();
        tui_view_data_key(&app, i % 3 == 2 ? TUI_A_REJECT : TUI_A_ACCEPT);
        tui_view_data_draw(&app);
        refresh();
        dm[i] = (bz_now() - a) * 1e3;
    }
    double d50 = pct(dm, D, 0.5), d99 = pct(dm, D, 0.99);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    /* The same key-to-redraw loop while a real training worker keeps both cores busy. */
    double b50 = -1, b99 = -1;
    const char *why = busy_start(path);
    if (!why) {
        for (int i = 0; i < N; i++) {
            int act = (i % 10 == 9) ? TUI_A_PGDN : (i % 7 == 3) ? TUI_A_ACCEPT : TUI_A_DOWN;
            double a = bz_now();
            tui_view_data_key(&app, act);
            tui_view_data_draw(&app);
            refresh();
            ms[i] = (bz_now() - a) * 1e3;
        }
        b50 = pct(ms, N, 0.5);
        b99 = pct(ms, N, 0.99);
        busy_stop();
    }
    endwin();
    delscreen(scr);

    printf("records                      %zu\n", ds_count(ds));
    printf("time to first screen         %.3f s   (goal < 0.3 s: %s)\n", first,
           first < 0.3 ? "met" : "missed");
    printf("open to fully indexed        %.3f s\n", indexed);
    printf("redraw while scrolling p50   %.3f ms\n", s50);
    printf("redraw while scrolling p99   %.3f ms  (goal < 5 ms: %s)\n", s99,
           s99 < 5 ? "met" : "missed");
    printf("decide+fsync+redraw p50      %.3f ms\n", d50);
    printf("decide+fsync+redraw p99      %.3f ms  (goal < 10 ms: %s)\n", d99,
           d99 < 10 ? "met" : "missed");
    printf("peak RSS                     %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
    if (why) {
        printf("key-to-redraw under training: skipped (%s)\n", why);
    } else {
        printf("key-to-redraw, training p50  %.3f ms  (worker: bezoar train, %s)\n", b50,
               busy_model);
        printf("key-to-redraw, training p99  %.3f ms  (goal < 16 ms: %s)\n", b99,
               b99 < 16 ? "met" : "missed");
    }
    tui_data_cleanup(&app.data);
    ds_close(ds);
    unlink(path);
    snprintf(cmd, sizeof cmd, "rm -rf %s.bezoar", path);
    return system(cmd) != 0;
}
