/*
 * bench_dataset.c: the dataset store on a generated 1,000,000-pair JSON lines file
 * (deterministic, written once to /tmp and reused): time to the first record,
 * index pass time and rate, analysis pass time, peak RSS, decision latency
 * (1000 decisions, each including its fsync), export of everything, and ratios
 * against the goals (first record < 0.3 s, index >= 1 GB/s, decision p99 < 10 ms).
 *
 * The file is read from a warm page cache (it was just written or read), which is
 * what a second open of a big file sees; a cold disk adds its own read time.
 * Set BEZOAR_BENCH_PAIRS to change the size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/dataset.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static const char *const words[] = {
    "the", "model", "answer", "data", "question", "explain", "simple", "write", "list",
    "three", "reasons", "why", "water", "boils", "at", "sea", "level", "function", "returns",
    "value", "because", "energy", "people", "city", "history", "number", "prime", "sort",
    "array", "quickly", "and", "of", "to", "in", "is", "a", "for", "with", "on", "that",
};

static void put_words(FILE *f, int n)
{
    for (int i = 0; i < n; i++) {
        fputs(words[rnd() % (sizeof words / sizeof words[0])], f);
        if (i + 1 < n)
            fputc(rnd() % 9 == 0 ? ',' : ' ', f);
    }
}

/* One pair per line; every 50th repeats an earlier one, a few are empty or refusals. */
static int generate(const char *path, size_t pairs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    for (size_t i = 0; i < pairs; i++) {
        fprintf(f, "{\"id\":\"b%07zu\",\"instruction\":\"", i);
        uint64_t keep = rng_state;
        if (i % 50 == 49)
            rng_state = 0x1234567ull + i % 7; /* duplicate content */
        put_words(f, 6 + (int)(rnd() % 20));
        fputs("\",\"input\":\"\",\"output\":\"", f);
        if (i % 997 == 5)
            fputs("As an AI language model, I cannot do that.", f);
        else if (i % 1999 != 7)
            put_words(f, 20 + (int)(rnd() % 90));
        fputs("\"}\n", f);
        if (i % 50 == 49)
            rng_state = keep ^ i;
    }
    return fclose(f);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* CPU seconds of the process (user + system): on a shared machine, the part of the
 * wall time that was ours. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = strtol(line + strlen(key) + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

int main(void)
{
    size_t pairs = 1000000;
    const char *env = getenv("BEZOAR_BENCH_PAIRS");
    if (env && atol(env) > 0)
        pairs = (size_t)atol(env);
    char path[256], out[300], jdir[300];
    snprintf(path, sizeof path, "/tmp/bezoar-bench-%zu.jsonl", pairs);
    snprintf(out, sizeof out, "%s.export.jsonl", path);
    snprintf(jdir, sizeof jdir, "%s.bezoar", path);
    struct stat st;
    double t = bz_now();
    if (stat(path, &st) != 0 || st.st_size == 0) {
        if (generate(path, pairs) != 0) {
            fprintf(stderr, "bench: cannot write %s\n", path);
            return 1;
        }
        stat(path, &st);
        printf("generated %s: %zu pairs, %.1f MB in %.2f s\n", path, pairs,
               (double)st.st_size / 1e6, bz_now() - t);
    } else {
        printf("reusing %s: %zu pairs, %.1f MB\n", path, pairs, (double)st.st_size / 1e6);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", jdir);
    if (system(cmd) != 0)
        return 1;
    /* warm the page cache the way a second open sees it */
    FILE *w = fopen(path, "r");
    static char wb[1 << 20];
    while (w && fread(wb, 1, sizeof wb, w) > 0)
        ;
    if (w)
        fclose(w);

    struct ds_dataset *ds;
    struct bz_err err = {0};
    /* the index pass alone, three times (read-only opens closed once indexed): the best
     * and the worst, as the machine may be shared */
    double best_first = 1e9, best_index = 1e9, worst_index = 0, best_cpu = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        struct ds_open_opts ro = {.background = 1, .read_only = 1};
        double s0 = bz_now(), c0 = cpu_s();
        if (ds_open(&ds, path, &ro, &err) < 0) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        struct ds_record r0;
        for (;;) {
            if (ds_count(ds) == 0) {
                usleep(50);
                continue;
            }
            int ok = ds_get(ds, 0, &r0, NULL) == 0;
            ds_record_cleanup(&r0);
            if (ok)
                break;
        }
        best_first = BZ_MIN(best_first, bz_now() - s0);
        struct ds_progress pr;
        for (ds_progress(ds, &pr); !pr.indexed; ds_progress(ds, &pr))
            usleep(100);
        double ti = bz_now() - s0;
        best_cpu = BZ_MIN(best_cpu, cpu_s() - c0);
        best_index = BZ_MIN(best_index, ti);
        worst_index = BZ_MAX(worst_index, ti);
        ds_close(ds);
    }
    struct ds_open_opts o = {.background = 1};
    double t0 = bz_now(), c_start = cpu_s();
    int rc = ds_open(&ds, path, &o, &err);
    if (rc < 0) {
        fprintf(stderr, "bench: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    double t_open = bz_now() - t0, t_first = 0, t_index = 0;
    struct ds_record r;
    for (;;) {
        if (ds_count(ds) == 0) {
            usleep(50);
            continue;
        }
        int ok = ds_get(ds, 0, &r, NULL) == 0;
        ds_record_cleanup(&r);
        if (ok) {
            t_first = bz_now() - t0;
            break;
        }
    }
    struct ds_progress p;
    for (;;) {
        ds_progress(ds, &p);
        if (p.indexed) {
            t_index = bz_now() - t0;
            break;
        }
        usleep(200);
    }
    if (ds_wait(ds, &err) < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    double t_all = bz_now() - t0, cpu_all = cpu_s();
    struct ds_counts c;
    ds_counts(ds, &c);
    long rss_anon = status_kb("RssAnon:"), hwm_index = status_kb("VmHWM:");

    /* 1000 decisions, one step each (write + fsync), on consecutive records as a person
     * works through a list */
    enum { ND = 1000 };
    static double lat[ND];
    for (int i = 0; i < ND; i++) {
        size_t k = (size_t)i % pairs;
        if (ds_get(ds, k, &r, NULL) < 0)
            return 1;
        const char *ids[1] = {r.id};
        double a = bz_now();
        if (ds_decide(ds, ids, 1, i % 3, &err) < 0) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        lat[i] = bz_now() - a;
        ds_record_cleanup(&r);
    }
    qsort(lat, ND, sizeof lat[0], cmp_d);
    double a = bz_now();
    const char *one = "b0000001";
    ds_decide(ds, &one, 1, DS_OP_ACCEPT, &err);
    const char **bulk = malloc(10000 * sizeof *bulk);
    char(*names)[16] = malloc(10000 * sizeof *names);
    for (int i = 0; i < 10000; i++) {
        snprintf(names[i], sizeof names[i], "b%07d", i);
        bulk[i] = names[i];
    }
    a = bz_now();
    ds_decide(ds, bulk, 10000, DS_OP_FLAG, &err);
    double t_bulk = bz_now() - a;
    free(bulk);
    free(names);

    size_t written = 0;
    a = bz_now();
    if (ds_export(ds, out, DS_ALL_STATUSES, DS_OUT_OPENAI, 1, &written, &err) < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    double t_export = bz_now() - a;
    long hwm_export = status_kb("VmHWM:");
    struct stat so;
    stat(out, &so);
    unlink(out);
    struct ds_stats sts;
    a = bz_now();
    ds_stats(ds, &sts, &err);
    double t_stats = bz_now() - a;
    ds_close(ds);
    system(cmd);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double gbps = (double)st.st_size / 1e9 / t_index;
    printf("records %zu (bad %zu, duplicates %zu, empty %zu)\n", c.records, c.bad, c.duplicates,
           c.empty);
    printf("ds_open returned            %8.2f ms\n", t_open * 1e3);
    printf("first record available      %8.2f ms   goal < 300 ms   ratio %.3f  (best of 4: "
           "%.2f ms)\n",
           t_first * 1e3, t_first / 0.3, BZ_MIN(best_first, t_first) * 1e3);
    printf("index pass                  %8.3f s    %.2f GB/s  goal >= 1 GB/s  ratio %.2f\n",
           t_index, gbps, gbps / 1.0);
    double bi = BZ_MIN(best_index, t_index), wi = BZ_MAX(worst_index, t_index);
    printf("index pass, best/worst of 4 %8.3f s    %.2f GB/s / %.3f s %.2f GB/s\n", bi,
           (double)st.st_size / 1e9 / bi, wi, (double)st.st_size / 1e9 / wi);
    printf("index pass CPU time (best)  %8.3f s    %.2f GB/s per core busy\n", best_cpu,
           (double)st.st_size / 1e9 / best_cpu);
    printf("analysis pass               %8.3f s    (%.0f records/s; index + analysis took %.1f "
           "CPU s, %ld CPUs online)\n",
           t_all - t_index, (double)c.records / (t_all - t_index), cpu_all - c_start,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("index memory (anon RSS)     %8.1f MB   (%.1f bytes/record incl. summaries)\n",
           (double)rss_anon / 1024.0, (double)rss_anon * 1024.0 / (double)c.records);
    printf("peak RSS                    %8.1f MB   (file %.1f MB; after indexing %.1f MB, "
           "after export %.1f MB)\n",
           (double)ru.ru_maxrss / 1024.0, (double)st.st_size / 1e6, (double)hwm_index / 1024.0,
           (double)hwm_export / 1024.0);
    printf("decision latency (fsync)    p50 %.2f ms  p99 %.2f ms  max %.2f ms  goal p99 < 10 ms  "
           "ratio %.2f\n",
           lat[ND / 2] * 1e3, lat[ND * 99 / 100] * 1e3, lat[ND - 1] * 1e3,
           lat[ND * 99 / 100] / 0.010);
    printf("bulk decision (10000 ids)   %8.2f ms   (one write, one fsync)\n", t_bulk * 1e3);
    printf("export all (openai jsonl)   %8.2f s    %zu records, %.1f MB, %.0f records/s\n",
           t_export, written, (double)so.st_size / 1e6, (double)written / t_export);
    printf("stats (percentiles)         %8.2f ms\n", t_stats * 1e3);
    return 0;
}
