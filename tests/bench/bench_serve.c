/*
 * bench_serve.c: `bezoar serve`'s server (in this process, on its own loop thread)
 * driven by the OpenAI client over loopback HTTP: requests/s and generated tokens/s
 * for 1, 4 and 16 concurrent clients (streamed answers, seeded sampling so answers
 * differ), latency per request, and the client's own cost per request (CPU time of the
 * thread running the libcurl multi loop, which does nothing else). A last row asks
 * for one token per request, so HTTP + queueing + prompt dominate.
 *
 *   bench_serve [--model PATH] [--slots N] [--threads N] [--tokens N] [--per-client K]
 *
 * Default model: ../shared/data/models/stories260K.gguf (or $BEZOAR_BENCH_SERVE_MODEL).
 * A 135M-shape model: build/tools/gen-model -o /tmp/s.gguf --shape smollm2 --type q8_0
 * --vocab-from ../shared/data/vocab/ggml-vocab-gpt-2.gguf, then --model /tmp/s.gguf.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "judge/backend.h"
#include "tui/serve.h"

struct srv {
    uv_loop_t loop;
    uv_async_t stop;
    struct tui_serve *s;
    pthread_t th;
};

static void srv_stopped(void *ctx)
{
    struct srv *v = ctx;
    uv_close((uv_handle_t *)&v->stop, NULL);
}

static void srv_stop_cb(uv_async_t *a)
{
    struct srv *v = a->data;
    tui_serve_stop(v->s, 1, srv_stopped, v);
}

static void *srv_main(void *arg)
{
    struct srv *v = arg;
    uv_run(&v->loop, UV_RUN_DEFAULT);
    return NULL;
}

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void run(const char *url, const char *model, int clients, int n, int tokens)
{
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.parallel = clients;
    cfg.stream = 1;
    cfg.read_timeout_s = 600;
    cfg.max_retries = 0;
    char spec[256];
    snprintf(spec, sizeof spec, "openai:%s#%s", url, model);
    struct judge_backend *b;
    struct bz_err err = {0};
    if (judge_backend_open(&b, spec, &cfg, &err)) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        exit(1);
    }
    struct judge_request *rq = calloc((size_t)n, sizeof *rq);
    struct judge_result *res = calloc((size_t)n, sizeof *res);
    static const char *const prompts[] = {"Once upon a time", "The little dog", "Lily and Ben",
                                          "One day, a bird"};
    for (int i = 0; i < n; i++) {
        judge_sampling_defaults(&rq[i].s);
        rq[i].prompt = prompts[i % 4];
        rq[i].s.max_tokens = tokens;
        rq[i].s.temperature = 0.8f;
        rq[i].s.has_seed = 1;
        rq[i].s.seed = (uint64_t)i + 1;
        judge_result_init(&res[i]);
    }
    double c0 = thread_cpu(), t0 = bz_now();
    judge_backend_run(b, rq, (size_t)n, res, NULL, NULL, NULL);
    double wall = bz_now() - t0, cpu = thread_cpu() - c0;
    long long toks = 0;
    double lat = 0, first = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (res[i].rc) {
            bad++;
            fprintf(stderr, "  request %d: %s\n", i, res[i].error);
        }
        toks += res[i].completion_tokens > 0 ? res[i].completion_tokens : 0;
        lat += res[i].total_s;
        first += res[i].first_s > 0 ? res[i].first_s : 0;
        judge_result_cleanup(&res[i]);
    }
    printf("%7d %8d %7d %8.2f %9.1f %9.1f %10.1f %10.1f %12.3f%s\n", clients, n, tokens, wall,
           n / wall, toks / wall, 1000 * lat / n, 1000 * first / n, 1000 * cpu / n,
           bad ? "  (errors!)" : "");
    free(rq);
    free(res);
    judge_backend_free(b);
}

int main(int argc, char **argv)
{
    const char *model = getenv("BEZOAR_BENCH_SERVE_MODEL");
    if (!model)
        model = "../shared/data/models/stories260K.gguf";
    int slots = 2, threads = 2, tokens = 32, per = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--slots"))
            slots = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tokens"))
            tokens = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--per-client"))
            per = atoi(argv[i + 1]);
    }
    setenv("no_proxy", "127.0.0.1", 1);
    FILE *f = fopen(model, "rb");
    if (!f) {
        printf("bench_serve: %s is absent: skipped\n", model);
        return 0;
    }
    fclose(f);
    struct bz_err err = {0};
    struct judge_local *l;
    if (judge_local_open(&l, model, NULL, &err)) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        return 1;
    }
    struct srv v;
    memset(&v, 0, sizeof v);
    uv_loop_init(&v.loop);
    struct tui_serve_cfg cfg;
    tui_serve_cfg_defaults(&cfg);
    cfg.port = 0;
    cfg.parallel = slots;
    cfg.threads = threads;
    if (tui_serve_start(&v.s, &v.loop, l, &cfg, &err)) {
        fprintf(stderr, "bench_serve: %s\n", err.msg);
        return 1;
    }
    uv_async_init(&v.loop, &v.stop, srv_stop_cb);
    v.stop.data = &v;
    pthread_create(&v.th, NULL, srv_main, &v);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", tui_serve_port(v.s));
    const char *name = judge_local_name(l);
    printf("bench_serve: %s, %d slots, %d threads in all, streamed answers of up to %d tokens\n",
           model, slots, threads, tokens);
    printf("%7s %8s %7s %8s %9s %9s %10s %10s %12s\n", "clients", "requests", "max_tok",
           "wall_s", "req/s", "tok/s", "lat_ms", "first_ms", "client_cpu_ms");
    run(url, name, 1, 1, 4); /* warm-up, connection and pages */
    int sizes[] = {1, 4, 16};
    for (int k = 0; k < 3; k++) {
        int n = per > 0 ? sizes[k] * per : BZ_MAX(8, sizes[k] * 2);
        run(url, name, sizes[k], n, tokens);
    }
    run(url, name, 16, per > 0 ? 16 * per : 64, 1);
    uv_async_send(&v.stop);
    pthread_join(v.th, NULL);
    tui_serve_free(v.s);
    uv_loop_close(&v.loop);
    judge_local_free(l);
    return 0;
}
