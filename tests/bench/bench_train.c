/*
 * bench_train.c: LoRA training throughput (tokens/s), model FLOPs utilisation against
 * the measured single-precision sgemm peak of this machine, peak RSS, and the time by
 * layer type, for the SmolLM2-135M shape and stories15M's shape with random F32
 * weights in memory. B=4, T=256, LoRA r=16 on all seven linears, every token in the
 * loss. Figures only, never pass/fail.
 *
 * FLOPs counted per step (the work a LoRA step must do): forward 2*N*P for the frozen
 * linears and the output head (P their weights), backward 2*N*P for the input
 * gradients (no weight gradients for frozen weights), attention 2*2*N*T*HS*NH per
 * layer forward and twice that backward at full T*T (causal masking not subtracted),
 * and LoRA 6*N*R*(C_in + C_out) per adapted linear.
 *
 * DPO: the same micro-batch as two preference pairs (rows chosen, rejected), timed as
 * core_dpo_step (one forward, per-row weights, one backward); printed as pairs/s and
 * as a ratio to the SFT step (about 1: the head chunk is recomputed, nothing else).
 *
 * Usage: bench_train [steps] [threads]   (defaults 3, all CPUs)
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/core.h"

static uint64_t rs = 1;
static float frand(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rs >> 40) * (2.0 / 16777216.0) - 1.0);
}

struct shape {
    const char *name;
    int C, L, NH, NKV, FF, V;
};

static struct core_tensor *mk(struct core_tensor *t, int64_t ne0, int64_t ne1, float s, float b)
{
    t->type = CORE_TYPE_F32, t->n_dims = 2, t->ne[0] = ne0, t->ne[1] = ne1;
    t->nbytes = sizeof(float) * (size_t)(ne0 * ne1);
    float *d = malloc(t->nbytes);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = b + s * frand();
    t->data = d;
    return t;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sgemm_peak(void)
{
    int M = 1024, N = 1536, K = 576;
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)N * K, 4), *c = calloc((size_t)M * N, 4);
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = frand();
    for (size_t i = 0; i < (size_t)N * K; i++)
        b[i] = frand();
    double best = 0;
    for (int r = 0; r < 8; r++) {
        double t0 = bz_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
        double dt = bz_now() - t0;
        double f = 2.0 * M * N * K / dt;
        best = f > best ? f : best;
    }
    free(a), free(b), free(c);
    return best;
}

static void bench(const struct shape *s, int steps, double peak, struct core_pool *pool)
{
    int HS = s->C / s->NH, B = 4, T = 256, R = 16, N = B * T;
    struct core_model m = {0};
    m.cfg = (struct core_model_config){.dim = s->C, .n_layers = s->L, .n_heads = s->NH,
                                       .n_kv_heads = s->NKV, .head_dim = HS, .ffn_dim = s->FF,
                                       .vocab_size = s->V, .ctx_len = 2048,
                                       .rope_theta = 10000, .rope_scale = 1, .norm_eps = 1e-5f,
                                       .tied_output = 1};
    struct core_tensor *ts = calloc((size_t)s->L * 9 + 3, sizeof *ts);
    struct core_layer *ly = calloc((size_t)s->L, sizeof *ly);
    int nt = 0;
    m.tok_embd = mk(&ts[nt++], s->C, s->V, 0.05f, 0);
    m.output = m.tok_embd;
    m.out_norm = mk(&ts[nt++], s->C, 1, 0.1f, 1);
    for (int l = 0; l < s->L; l++) {
        float ws = 1.0f / sqrtf((float)s->C);
        ly[l].attn_norm = mk(&ts[nt++], s->C, 1, 0.1f, 1);
        ly[l].ffn_norm = mk(&ts[nt++], s->C, 1, 0.1f, 1);
        ly[l].wq = mk(&ts[nt++], s->C, s->NH * HS, ws, 0);
        ly[l].wk = mk(&ts[nt++], s->C, s->NKV * HS, ws, 0);
        ly[l].wv = mk(&ts[nt++], s->C, s->NKV * HS, ws, 0);
        ly[l].wo = mk(&ts[nt++], s->NH * HS, s->C, ws, 0);
        ly[l].w_gate = mk(&ts[nt++], s->C, s->FF, ws, 0);
        ly[l].w_up = mk(&ts[nt++], s->C, s->FF, ws, 0);
        ly[l].w_down = mk(&ts[nt++], s->FF, s->C, 1.0f / sqrtf((float)s->FF), 0);
    }
    m.layers = ly, m.tensors = ts, m.n_tensors = nt;

    struct core_train_opts o = {.targets = 0x7f, .rank = R, .alpha = 32, .dropout = getenv("DROPOUT") ? (float)atof(getenv("DROPOUT")) : 0.05f,
                                .B = B, .T = T};
    struct core_train *t;
    struct bz_err err = {0};
    if (core_train_new(&t, &m, &o, pool, &err)) {
        printf("%s: %s\n", s->name, err.msg);
        exit(1);
    }
    core_train_init_params(t, 1);
    int *tok = malloc(sizeof(int) * N), *tgt = malloc(sizeof(int) * N),
        *pos = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++)
        tok[i] = (int)((i * 2654435761u) % (unsigned)s->V), pos[i] = i % T;
    for (int i = 0; i < N; i++)
        tgt[i] = (i + 1) % T ? tok[(i + 1) % N] : -1; /* all tokens but each row's last */
    struct core_train_batch b = {.tokens = tok, .targets = tgt, .pos = pos};

    double plin = 0;
    for (int k = 0; k < 7; k++) {
        int cin = k == 3 ? s->NH * HS : k == 6 ? s->FF : s->C;
        int cout = k == 0 ? s->NH * HS : (k == 1 || k == 2) ? s->NKV * HS
                   : (k == 3 || k == 6) ? s->C : s->FF;
        plin += (double)cin * cout + 0 * R;
    }
    double lora = 0;
    for (int k = 0; k < 7; k++) {
        int cin = k == 3 ? s->NH * HS : k == 6 ? s->FF : s->C;
        int cout = k == 0 ? s->NH * HS : (k == 1 || k == 2) ? s->NKV * HS
                   : (k == 3 || k == 6) ? s->C : s->FF;
        lora += 6.0 * N * R * (cin + cout);
    }
    double flops = 4.0 * N * (plin * s->L + (double)s->V * s->C) +
                   3.0 * 4.0 * N * T * HS * s->NH * s->L + lora * s->L;

    double sum, best = 1e30, best_cpu = 0, tm[CORE_TRAIN_T_COUNT] = {0}, tb[CORE_TRAIN_T_COUNT];
    int cnt;
    for (int i = 0; i <= steps; i++) {
        core_train_zero_grad(t);
        double t0 = bz_now(), c0 = cpu_now();
        if (core_train_step(t, &b, 1, 1.0f / (N - B), (uint64_t)i, &sum, &cnt, &err)) {
            printf("%s: %s\n", s->name, err.msg);
            exit(1);
        }
        double dt = bz_now() - t0, dc = cpu_now() - c0;
        if (i > 0 && dt < best) { /* step 0 warms up */
            best = dt, best_cpu = dc;
            core_train_timers(t, tb);
            memcpy(tm, tb, sizeof tm);
        }
    }
    printf("%-14s B=%d T=%d r=%d: %.3f s/step, %.1f tokens/s, %.2f GFLOP/step, "
           "%.1f GFLOP/s, MFU %.1f%% of sgemm peak (loss %.3f over %d tokens)\n",
           s->name, B, T, R, best, N / best, flops / 1e9, flops / best / 1e9,
           100.0 * flops / best / peak, sum / cnt, cnt);
    printf("    CPU time %.3f s/step (all threads): %.1f tokens per CPU-second\n", best_cpu,
           N / best_cpu);
    printf("    breakdown:");
    for (int i = 0; i < CORE_TRAIN_T_COUNT; i++)
        printf(" %s %.0f%%", core_train_timer_name(i), 100.0 * tm[i] / best);
    printf("\n");

    /* DPO: the same B rows as B/2 pairs (chosen, rejected), reference from a forward */
    double row[4], ref[4], dbest = 1e30, dbest_cpu = 0;
    if (core_train_forward(t, &b, 0, 0, row, &sum, &cnt, &err)) {
        printf("%s: %s\n", s->name, err.msg);
        exit(1);
    }
    for (int i = 0; i < B; i++)
        ref[i] = -row[i] + 0.1 * (i % 2 ? -1 : 1);
    for (int i = 0; i <= steps; i++) {
        struct core_dpo_stats st = {0};
        core_train_zero_grad(t);
        double t0 = bz_now(), c0 = cpu_now();
        if (core_dpo_step(t, &b, B / 2, ref, 0.1f, 0.0f, 1, 1.0f / (B / 2), (uint64_t)i, NULL,
                          &st, NULL, &err)) {
            printf("%s: %s\n", s->name, err.msg);
            exit(1);
        }
        double dt = bz_now() - t0, dc = cpu_now() - c0;
        if (i > 0 && dt < dbest)
            dbest = dt, dbest_cpu = dc;
    }
    printf("    DPO step (%d pairs of T=%d, one forward + one backward): %.3f s/step, %.2f "
           "pairs/s; %.2fx the SFT step's wall time, %.2fx its CPU time\n", B / 2, T, dbest,
           (B / 2) / dbest, dbest / best, dbest_cpu / best_cpu);
    core_train_free(t);
    for (int i = 0; i < nt; i++)
        free(ts[i].data);
    free(ts), free(ly), free(tok), free(tgt), free(pos);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    struct core_pool *pool = NULL;
    struct bz_err err = {0};
    if (core_pool_new(&pool, threads, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    core_ops_set_pool(pool);
    double load[3] = {0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        fclose(la);
    }
    printf("load average %.2f (other processes share the CPUs: wall figures are pessimistic "
           "when it exceeds the thread count)\n", load[0]);
    double peak1 = sgemm_peak();
    printf("threads %d; sgemm peak (1024x1536x576): %.1f GFLOP/s per thread", core_pool_threads(pool),
           peak1 / 1e9);
    double peak = peak1 * core_pool_threads(pool);
    printf(", %.1f GFLOP/s all threads (assumed linear)\n", peak / 1e9);
    static const struct shape shapes[] = {
        {"SmolLM2-135M", 576, 30, 9, 3, 1536, 49152},
        {"stories15M", 288, 6, 6, 6, 768, 32000},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        bench(&shapes[i], steps, peak, pool);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
    core_pool_free(pool);
    return 0;
}
