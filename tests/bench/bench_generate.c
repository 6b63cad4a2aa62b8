/*
 * bench_generate.c: the generation library's own costs, without a model: (1) the
 * resume scan (ds_generate_done_open) over an output file of generated pairs, in pairs/s
 * and MB/s; (2) list parsing of LaMini answers; (3) whole runs against an instant
 * complete function, so that the figure is the library's overhead per pair including
 * its one write + fsync, with 1 and 4 threads. A real backend takes 0.1-10 s per
 * request, so the goal is only that none of these is the bottleneck (resume of 100,000
 * pairs < 2 s, overhead per pair < 10 ms).
 * Set BEZOAR_BENCH_PAIRS for the resume file size (default 100000). Files go to /tmp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/generate.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static const char *const words[] = {
    "the",    "model",  "answer", "data",     "question", "explain", "simple",
    "write",  "list",   "three",  "reasons",  "why",      "water",   "boils",
    "at",     "sea",    "level",  "function", "returns",  "value",   "because",
    "energy", "people", "city",   "history",  "number",   "prime",   "sort",
};

static void put_words(FILE *f, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", words[rnd() % (sizeof words / sizeof words[0])]);
}

/* An output file as `bezoar generate --scheme evol` writes it. */
static int write_pairs(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "{\"id\":\"%016zx\",\"messages\":[{\"role\":\"user\",\"content\":\"", i);
        put_words(f, 12 + (int)(rnd() % 20));
        fputs("\"},{\"role\":\"assistant\",\"content\":\"", f);
        put_words(f, 40 + (int)(rnd() % 120));
        fprintf(f,
                "\"}],\"meta\":{\"scheme\":\"evol\",\"strategy\":\"deepen\",\"generation\":%zu,"
                "\"seed_id\":\"seed-%zu\",\"backend\":\"openai:http://127.0.0.1:8080/v1#m\","
                "\"model\":\"m\",\"sampling\":{\"temperature\":0.7,\"top_p\":0.95,"
                "\"max_tokens\":512,\"seed\":1},\"time\":\"2026-11-26T08:00:00Z\","
                "\"key\":\"evol/seed-%zu/deepen/%zu\"}}\n",
                i / 1000 + 1, i % 1000, i % 1000, i / 1000);
    }
    return fclose(f);
}

static int instant(void *ctx, const struct ds_generate_req *q, struct bz_buf *text,
                   struct bz_err *err)
{
    (void)ctx;
    (void)err;
    if (q->stage == DS_GENERATE_STAGE_RESPONSE)
        bz_buf_printf(text, "An answer of a few words to: %s", q->user);
    else
        bz_buf_printf(text,
                      "1. Describe the number %llu in words.\n2. Name a city with %llu "
                      "people in it.\n3. Write a line about item %llu.\n",
                      (unsigned long long)q->seed, (unsigned long long)(q->seed / 3),
                      (unsigned long long)(q->seed / 7));
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *env = getenv("BEZOAR_BENCH_PAIRS");
    size_t n = env ? strtoull(env, NULL, 10) : 100000;
    char path[256];
    snprintf(path, sizeof path, "/tmp/bezoar-bench-generate-%d.jsonl", (int)getpid());
    struct bz_err err = {0};

    /* 1. the resume scan */
    if (write_pairs(path, n) != 0) {
        fprintf(stderr, "bench_generate: cannot write %s\n", path);
        return 1;
    }
    struct stat st;
    stat(path, &st);
    struct ds_generate_done *d;
    size_t torn, bad;
    double t0 = bz_now();
    int rc = ds_generate_done_open(&d, path, &torn, &bad, &err);
    double dt = bz_now() - t0;
    if (rc) {
        fprintf(stderr, "bench_generate: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    printf("resume scan: %zu pairs (%.1f MB) in %.3f s: %.0f pairs/s, %.0f MB/s; counted %zu "
           "(goal < 2 s per 100000: %.2fx)\n",
           n, (double)st.st_size / 1e6, dt, (double)n / dt, (double)st.st_size / 1e6 / dt,
           ds_generate_done_count(d, DS_GENERATE_EVOL), 2.0 * (double)n / 100000 / dt);
    ds_generate_done_free(d);
    unlink(path);

    /* 2. list parsing */
    const char *answer = "Here are five new instructions:\n1. Write a poem about the rain.\n"
                         "2) Explain how bees make honey\n   and why they need so much.\n"
                         "3. List three colours of a rainbow.\n- Describe a quiet walk.\n"
                         "5. Instruction: Name two large cities.\n";
    int reps = 200000;
    char *items[8];
    size_t total = 0;
    t0 = bz_now();
    for (int i = 0; i < reps; i++) {
        size_t k = ds_generate_parse_list(answer, items, 8);
        total += k;
        for (size_t j = 0; j < k; j++)
            free(items[j]);
    }
    dt = bz_now() - t0;
    printf("list parsing: %d answers (%zu items) in %.3f s: %.0f answers/s, %.1f MB/s\n", reps,
           total, dt, reps / dt, (double)reps * (double)strlen(answer) / 1e6 / dt);

    /* 3. whole runs, instant backend: the library's overhead and the fsync per pair */
    struct ds_generate_seeds seeds;
    struct ds_generate_prompts p;
    char spath[256];
    snprintf(spath, sizeof spath, "/tmp/bezoar-bench-generate-%d.seeds", (int)getpid());
    FILE *f = fopen(spath, "w");
    for (int i = 0; i < 200; i++)
        fprintf(f, "{\"id\":\"s%d\",\"instruction\":\"Tell me about thing number %d, please.\"}\n",
                i, i);
    fclose(f);
    const char *root = getenv("BEZOAR_ASSETS");
    char pdir[4096];
    snprintf(pdir, sizeof pdir, "%s/prompts", root ? root : "assets");
    if ((rc = ds_generate_seeds_load(&seeds, spath, &err)) ||
        (rc = ds_generate_prompts_load(&p, pdir, &err))) {
        fprintf(stderr, "bench_generate: %s (run from the project root)\n", bz_err_msg(&err, rc));
        return 1;
    }
    static const int schemes[] = {DS_GENERATE_LAMINI, DS_GENERATE_EVOL, DS_GENERATE_ORCA};
    for (int par = 1; par <= 4; par *= 4) {
        for (int s = 0; s < 3; s++) {
            unlink(path);
            struct ds_generate_opts o;
            memset(&o, 0, sizeof o);
            o.scheme = schemes[s];
            o.out = path;
            o.n = 600;
            o.parallel = par;
            o.s = (struct ds_generate_sampling){0.7, 0.95, 512, 1};
            o.backend = "bench";
            o.model = "instant";
            struct ds_generate_stats gs;
            t0 = bz_now();
            rc = ds_generate_run(&o, &seeds, NULL, 0, &p, instant, NULL, NULL, NULL, NULL, &gs,
                                 &err);
            dt = bz_now() - t0;
            if (rc) {
                fprintf(stderr, "bench_generate: %s\n", bz_err_msg(&err, rc));
                return 1;
            }
            printf("run %-6s parallel %d: %zu pairs in %.3f s: %.0f pairs/s, %.2f ms per pair "
                   "(goal < 10 ms: %.1fx)\n",
                   ds_generate_scheme_name(schemes[s]), par, gs.written, dt,
                   (double)gs.written / dt, dt * 1e3 / (double)gs.written,
                   10.0 / (dt * 1e3 / (double)gs.written));
        }
    }
    unlink(path);
    unlink(spath);
    ds_generate_seeds_cleanup(&seeds);
    ds_generate_prompts_cleanup(&p);
    return 0;
}
