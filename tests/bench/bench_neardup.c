/*
 * bench_neardup.c: near-duplicate detection (MinHash + LSH, dataset/neardup.c) on
 * 1,000,000 generated instruction pairs: signature throughput, grouping time, the
 * overall records/s, peak RSS, and the recall on planted near duplicates.
 *
 * The pairs are generated here, deterministically: pair i is drawn from its own seed
 * (instruction of 8-20 words, response of 30-80 words over a 4096-word vocabulary), so
 * nothing is stored; every 20th pair (5%) is a planted near duplicate: an earlier
 * pair's text with one word replaced (word 3-gram Jaccard about 0.9). Recall is the
 * share of planted pairs that end in the same group as their source; "extra" counts
 * the grouped pairs that were not planted (chance near copies, expected ~0).
 * Set BEZOAR_BENCH_PAIRS to change the size, BEZOAR_BENCH_NEAR the threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "dataset/filter.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static const char *const syl[] = {"ka", "to", "ri", "men", "sa", "lo", "qui", "da", "ne", "vo",
                                  "pe", "lan", "shi", "ru", "ba", "te"};

static char vocab[4096][8];
static unsigned char vlen[4096];

/* Word w of the vocabulary: 3 syllables from its number. */
static void make_vocab(void)
{
    for (unsigned w = 0; w < 4096; w++)
        vlen[w] = (unsigned char)snprintf(vocab[w], sizeof vocab[w], "%s%s%s", syl[w & 15],
                                          syl[(w >> 4) & 15], syl[(w >> 8) & 15]);
}

/* The text of pair i (its seed decides everything); planted near copies change word
 * `change` to a word no base text uses. */
static size_t text_of(uint64_t i, char *buf, size_t cap, long change)
{
    uint64_t s = mix(i * 7919 + 17);
    int nin = 8 + (int)(s % 13), nout = 30 + (int)((s >> 8) % 51);
    size_t o = 0;
    for (int k = 0; k < nin + nout && o + 32 < cap; k++) {
        s = mix(s);
        if (k == change) {
            o += (size_t)snprintf(buf + o, cap - o, "zz%u", (unsigned)(i % 100000));
        } else {
            unsigned w = (unsigned)(s % 4096);
            memcpy(buf + o, vocab[w], vlen[w]);
            o += vlen[w];
        }
        if (k == nin - 1)
            buf[o++] = '?';
        buf[o++] = k == nin - 1 ? '\n' : ' ';
    }
    buf[o] = '\0';
    return o;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(void)
{
    const char *e = getenv("BEZOAR_BENCH_PAIRS");
    size_t n = e ? strtoul(e, NULL, 10) : 1000000;
    const char *et = getenv("BEZOAR_BENCH_NEAR");
    double t = et ? atof(et) : 0.8;
    if (n < 100 || n > 100000000 || !(t > 0 && t <= 1)) {
        fprintf(stderr, "bench_neardup: BEZOAR_BENCH_PAIRS 100..1e8, BEZOAR_BENCH_NEAR (0,1]\n");
        return 1;
    }
    struct ds_neardup *nd;
    struct bz_err err = {0};
    struct ds_neardup_opts o = {t, DS_SHINGLE_AUTO};
    if (ds_neardup_new(&nd, &o, &err) < 0) {
        fprintf(stderr, "bench_neardup: %s\n", err.msg);
        return 1;
    }
    make_vocab();
    double rss0 = peak_rss_mb();
    char buf[4096];
    size_t bytes = 0, planted = 0;
    double t_sig = 0;
    uint32_t *src = malloc(n * sizeof *src); /* planted: the source index, else itself */
    double t0 = bz_now();
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (i % 20 == 19) { /* a planted near copy of an earlier pair */
            uint64_t s = (uint64_t)mix(i) % i;
            if (s % 20 == 19)
                s--;
            len = text_of(s, buf, sizeof buf, 9 + (long)(mix(i + 1) % 30));
            src[i] = (uint32_t)s;
            planted++;
        } else {
            len = text_of(i, buf, sizeof buf, -1);
            src[i] = (uint32_t)i;
        }
        bytes += len;
        double ta = bz_now();
        ds_neardup_add(nd, buf, len);
        t_sig += bz_now() - ta;
    }
    double t_gen = bz_now() - t0 - t_sig;
    uint32_t *g = malloc(n * sizeof *g);
    size_t ng = 0, cand = 0;
    double t1 = bz_now();
    if (ds_neardup_groups(nd, g, &ng, &cand, &err) < 0) {
        fprintf(stderr, "bench_neardup: %s\n", err.msg);
        return 1;
    }
    double t_grp = bz_now() - t1, total = t_sig + t_grp;
    size_t found = 0, extra = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] != i)
            found += g[i] == g[src[i]];
    }
    /* extra: members of a group that has no planted link inside it */
    uint8_t *linked = calloc(n, 1);
    for (size_t i = 0; i < n; i++)
        if (src[i] != i && g[i] == g[src[i]])
            linked[g[i]] = 1;
    for (size_t i = 0; i < n; i++)
        extra += g[i] != i && !linked[g[i]];
    int b, r;
    ds_neardup_bands(t, &b, &r);
    printf("near duplicates: %zu pairs, %.1f MB of text, threshold %.2f, %d bands x %d rows, "
           "%d x 16-bit MinHash\n", n, bytes / 1e6, t, b, r, DS_NEARDUP_PERM);
    printf("generating the text   %8.2f s   (not counted below)\n", t_gen);
    printf("signatures            %8.2f s   %9.0f records/s  %6.1f MB/s\n", t_sig, n / t_sig,
           bytes / 1e6 / t_sig);
    printf("LSH + verify + groups %8.2f s   %zu candidate pairs verified, %zu groups\n", t_grp,
           cand, ng);
    printf("near-dup detection    %8.2f s   %9.0f records/s (signatures + groups)\n", total,
           n / total);
    printf("peak RSS              %8.1f MB  (%.1f MB before; signatures %.1f MB, %.0f B/record)\n",
           peak_rss_mb(), rss0, n * DS_NEARDUP_PERM * 2 / 1e6,
           (peak_rss_mb() - rss0) * 1024 * 1024 / n);
    printf("recall on planted     %8.4f    (%zu of %zu planted near copies grouped with their "
           "source)\n", planted ? (double)found / planted : 0, found, planted);
    printf("extra grouped         %8zu    (records in groups without a planted pair)\n", extra);
    free(linked);
    free(g);
    free(src);
    ds_neardup_free(nd);
    return 0;
}
