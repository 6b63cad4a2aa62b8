/*
 * bench_model.c: model files. (1) Open time of a ~550 MB GGUF written here with the
 * GGUF writer (a Llama shape: dim 2048, 8 layers, FFN 5632, vocab 32000; Q8_0
 * matrices with random blocks, F32 norms): core_gguf_open (header), core_model_open
 * (header + shape checks), and a first full read of the mapped tensors for scale.
 * The file was just written, so the page cache is warm: open time is the header
 * parse, which is the point of mmap. (2) Reference dequantization throughput per
 * type over 64 MB of output floats, and quantization F32 -> F16/BF16/Q8_0.
 * Prints figures only.
 *
 *   bench_model [--keep] [--dir DIR]    (the GGUF goes to DIR, default /tmp)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random bytes of a tensor of type, with every block scale a sane half float. */
static void fill_random(int type, uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = next();
        memcpy(p + i, &v, 8);
    }
    for (size_t i = n & ~(size_t)7; i < n; i++)
        p[i] = (uint8_t)next();
    size_t bb = core_type_block_bytes(type);
    uint16_t h = core_quant_f32_to_f16(0.01f);
    float f = 0.01f;
    for (size_t b = 0; b + bb <= n; b += bb) {
        switch (type) {
        case CORE_TYPE_F32:
            for (size_t k = 0; k < bb; k += 4) {
                float x = (float)((int)(next() % 2001) - 1000) / 1000.0f;
                memcpy(p + b + k, &x, 4);
            }
            break;
        case CORE_TYPE_F16: case CORE_TYPE_BF16: {
            float x = (float)(next() % 1000) / 999;
            uint16_t v = type == CORE_TYPE_F16 ? core_quant_f32_to_f16(x) : core_quant_f32_to_bf16(x);
            memcpy(p + b, &v, 2);
            break;
        }
        case CORE_TYPE_Q8_0: case CORE_TYPE_Q4_0:
            memcpy(p + b, &h, 2);
            break;
        case CORE_TYPE_Q4_K: case CORE_TYPE_Q5_K:
            memcpy(p + b, &h, 2);
            memcpy(p + b + 2, &h, 2);
            break;
        case CORE_TYPE_Q6_K:
            memcpy(p + b + 208, &h, 2);
            break;
        case CORE_TYPE_Q2_K:
            memcpy(p + b + 80, &h, 2);
            memcpy(p + b + 82, &h, 2);
            break;
        case CORE_TYPE_Q3_K:
            memcpy(p + b + 108, &h, 2);
            break;
        case CORE_TYPE_Q8_K:
            memcpy(p + b, &f, 4);
            break;
        }
    }
}

static int fill_cb(void *ctx, void *dst, size_t nbytes, struct bz_err *err)
{
    (void)err;
    fill_random(*(int *)ctx, dst, nbytes);
    return 0;
}

static const char *write_model(const char *dir)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/bezoar-bench-model-%ld.gguf", dir, (long)getpid());
    const int C = 2048, L = 8, FF = 5632, V = 32000, NH = 16;
    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.architecture", "llama");
    core_gguf_writer_set_str(w, "general.name", "bench-550M");
    core_gguf_writer_set_u32(w, "llama.context_length", 2048);
    core_gguf_writer_set_u32(w, "llama.embedding_length", C);
    core_gguf_writer_set_u32(w, "llama.block_count", L);
    core_gguf_writer_set_u32(w, "llama.feed_forward_length", FF);
    core_gguf_writer_set_u32(w, "llama.attention.head_count", NH);
    core_gguf_writer_set_u32(w, "llama.attention.head_count_kv", NH);
    core_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    /* a 32000-token vocabulary, as metadata a real file carries */
    char **toks = malloc(V * sizeof *toks);
    float *scores = malloc(V * sizeof *scores);
    for (int i = 0; i < V; i++) {
        toks[i] = malloc(16);
        snprintf(toks[i], 16, "tok%d", i);
        scores[i] = -(float)i;
    }
    core_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    core_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, NULL, V);
    core_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CORE_GGUF_FLOAT32, scores, V);
    static int q8 = CORE_TYPE_Q8_0, f32 = CORE_TYPE_F32;
    struct bz_err err = {0};
#define ADD(name, type, a, b)                                                          \
    do {                                                                               \
        int64_t ne_[2] = {a, b};                                                       \
        if (core_gguf_writer_add_tensor_fn(w, name, *type, (b) ? 2 : 1, ne_, fill_cb,   \
                                           type, &err)) {                              \
            fprintf(stderr, "%s\n", err.msg);                                          \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)
    ADD("token_embd.weight", &q8, C, V);
    ADD("output_norm.weight", &f32, C, 0);
    ADD("output.weight", &q8, C, V);
    char nm[96];
    for (int l = 0; l < L; l++) {
#define LADD(suffix, type, a, b)                            \
    do {                                                    \
        snprintf(nm, sizeof nm, "blk.%d." suffix, l);       \
        ADD(nm, type, a, b);                                \
    } while (0)
        LADD("attn_norm.weight", &f32, C, 0);
        LADD("attn_q.weight", &q8, C, C);
        LADD("attn_k.weight", &q8, C, C);
        LADD("attn_v.weight", &q8, C, C);
        LADD("attn_output.weight", &q8, C, C);
        LADD("ffn_norm.weight", &f32, C, 0);
        LADD("ffn_gate.weight", &q8, C, FF);
        LADD("ffn_up.weight", &q8, C, FF);
        LADD("ffn_down.weight", &q8, FF, C);
#undef LADD
    }
#undef ADD
    double t0 = bz_now();
    if (core_gguf_writer_write(w, path, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        exit(1);
    }
    double dt = bz_now() - t0;
    core_gguf_writer_free(w);
    for (int i = 0; i < V; i++)
        free(toks[i]);
    free(toks);
    free(scores);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    printf("wrote %s: %.1f MB in %.2f s (%.0f MB/s, random blocks generated on the fly, "
           "fsync included)\n", path, size / 1e6, dt, size / 1e6 / dt);
    return path;
}

static void bench_open(const char *path)
{
    struct bz_err err = {0};
    const int reps = 20;
    double best_g = 1e9, best_m = 1e9;
    for (int r = 0; r < reps; r++) {
        struct core_gguf *g;
        double t0 = bz_now();
        if (core_gguf_open(&g, path, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        double t1 = bz_now();
        core_gguf_close(g);
        struct core_model *m;
        double t2 = bz_now();
        if (core_model_open(&m, path, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        double t3 = bz_now();
        core_model_free(m);
        best_g = fmin(best_g, t1 - t0);
        best_m = fmin(best_m, t3 - t2);
    }
    printf("open (best of %d): core_gguf_open %.2f ms, core_model_open %.2f ms "
           "(header, 32000-string vocab, 75 tensors, shape checks; no weight read)\n",
           reps, best_g * 1e3, best_m * 1e3);
    struct core_model *m;
    core_model_open(&m, path, &err);
    double t0 = bz_now();
    uint64_t sum = 0, bytes = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const uint8_t *p = m->tensors[i].data;
        for (size_t k = 0; k < m->tensors[i].nbytes; k += 4096)
            sum += p[k];
        bytes += m->tensors[i].nbytes;
    }
    double dt = bz_now() - t0;
    printf("first touch of every page of the %d tensors (%.1f MB): %.1f ms (%.1f GB/s, page "
           "cache warm; checksum %llu)\n", m->n_tensors, bytes / 1e6, dt * 1e3, bytes / 1e9 / dt,
           (unsigned long long)(sum & 0xff));
    core_model_free(m);
}

static void bench_dequant(void)
{
    const int64_t n = 16 << 20; /* 16M floats = 64 MB out */
    float *out = malloc((size_t)n * sizeof *out);
    static const int types[] = {CORE_TYPE_F32, CORE_TYPE_F16, CORE_TYPE_BF16, CORE_TYPE_Q8_0,
                                CORE_TYPE_Q4_0, CORE_TYPE_Q2_K, CORE_TYPE_Q3_K, CORE_TYPE_Q4_K,
                                CORE_TYPE_Q5_K, CORE_TYPE_Q6_K};
    printf("dequant to F32 (reference scalar code, one thread, %lld elements):\n",
           (long long)n);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        int t = types[i];
        size_t in = core_quant_row_bytes(t, n);
        uint8_t *src = malloc(in);
        fill_random(t, src, in);
        core_dequant_row(t, src, out, n); /* warm */
        double best = 1e9;
        for (int r = 0; r < 3; r++) {
            double t0 = bz_now();
            core_dequant_row(t, src, out, n);
            best = fmin(best, bz_now() - t0);
        }
        volatile float s = out[n / 2];
        (void)s;
        printf("  %-5s %7.2f GB/s out (F32), %6.2f GB/s in, %7.1f M elements/s\n",
               core_type_name(t), n * 4 / 1e9 / best, in / 1e9 / best, n / 1e6 / best);
        free(src);
    }
    static const int qtypes[] = {CORE_TYPE_F16, CORE_TYPE_BF16, CORE_TYPE_Q8_0};
    fill_random(CORE_TYPE_F32, (uint8_t *)out, (size_t)n * 4);
    printf("quantize from F32:\n");
    for (size_t i = 0; i < sizeof qtypes / sizeof *qtypes; i++) {
        int t = qtypes[i];
        uint8_t *dst = malloc(core_quant_row_bytes(t, n));
        double best = 1e9;
        for (int r = 0; r < 3; r++) {
            double t0 = bz_now();
            core_quant_row(t, out, dst, n);
            best = fmin(best, bz_now() - t0);
        }
        printf("  %-5s %7.2f GB/s in (F32), %7.1f M elements/s\n", core_type_name(t),
               n * 4 / 1e9 / best, n / 1e6 / best);
        free(dst);
    }
    free(out);
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp";
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_model [--keep] [--dir DIR]\n");
            return 2;
        }
    }
    const char *path = write_model(dir);
    bench_open(path);
    if (!keep)
        unlink(path);
    bench_dequant();
    return 0;
}
