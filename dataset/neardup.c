/*
 * neardup.c: near-duplicate detection: MinHash signatures over shingles, LSH bands
 * for candidate pairs, each candidate verified on its whole signature, groups by
 * union-find.
 *
 * Key ideas: a text becomes tokens (ASCII words lowercased; in character mode every
 * letter; CJK characters are always single tokens, as Japanese and Chinese have no
 * spaces) and shingles of DS_NEARDUP_K consecutive tokens. Word mode or character
 * mode is chosen per text (auto: characters when CJK makes 30% or more of it). The
 * signature keeps the top 16 bits of the minimum of DS_NEARDUP_PERM 32-bit
 * multiply-add hashes of each shingle's hash (128 bytes per text, so a million texts
 * fit in 128 MiB); equal positions
 * estimate the Jaccard similarity of the shingle sets. LSH: b bands of r rows (b*r =
 * 64) chosen so that the S-curve's midpoint (1/b)^(1/r) lies well below the
 * threshold (recall first); each band's keys are sorted and a run of equal keys is
 * compared against at most 16 representatives, so a huge bucket costs linear time.
 *
 * Left out: exact Jaccard verification on the shingle sets (the signature estimate
 * decides, standard error about 0.05 at 0.8), incremental grouping.
 */
#include "dataset/filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define A_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define A_PUNCT(c) (((c) >= '!' && (c) <= '/') || ((c) >= ':' && (c) <= '@') || \
                    ((c) >= '[' && (c) <= '`') || ((c) >= '{' && (c) <= '~'))
#define A_LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))

#define NP DS_NEARDUP_PERM
#define MAX_REPS 16

struct ds_neardup {
    double threshold;
    int shingle;
    uint32_t a[NP], b[NP];
    uint16_t *sig;      /* NP per item */
    uint8_t *has;       /* the item has shingles */
    size_t n, cap;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

void ds_neardup_bands(double t, int *bands, int *rows)
{
    /* rows 8, 4, 2: the midpoint (1/b)^(1/r) by repeated square roots */
    static const int opts[][2] = {{8, 8}, {16, 4}, {32, 2}};
    for (size_t i = 0; i < 3; i++) {
        double mid = 1.0 / opts[i][0];
        for (int r = opts[i][1]; r > 1; r /= 2)
            mid = sqrt(mid);
        if (mid <= t - 0.1 || i == 2) {
            *bands = opts[i][0];
            *rows = opts[i][1];
            return;
        }
    }
}

int ds_neardup_new(struct ds_neardup **out, const struct ds_neardup_opts *o,
                   struct bz_err *err)
{
    *out = NULL;
    if (!(o->threshold > 0 && o->threshold <= 1))
        return bz_errf(err, BZ_EINVAL, "near duplicates: threshold must be above 0, at most 1 "
                       "(got %g)", o->threshold);
    if (o->shingle < DS_SHINGLE_AUTO || o->shingle > DS_SHINGLE_CHAR)
        return bz_errf(err, BZ_EINVAL, "near duplicates: unknown shingle mode %d", o->shingle);
    struct ds_neardup *nd = bz_calloc(1, sizeof *nd);
    nd->threshold = o->threshold;
    nd->shingle = o->shingle;
    uint64_t s = 0x5EED0F0DD5ull;
    for (int i = 0; i < NP; i++) {
        nd->a[i] = (uint32_t)mix64(s += 0x9E3779B97F4A7C15ull) | 1;
        nd->b[i] = (uint32_t)mix64(s += 0x9E3779B97F4A7C15ull);
    }
    *out = nd;
    return 0;
}

void ds_neardup_free(struct ds_neardup *nd)
{
    if (!nd)
        return;
    free(nd->sig);
    free(nd->has);
    free(nd);
}

size_t ds_neardup_count(const struct ds_neardup *nd)
{
    return nd->n;
}

/* Code point at p (n bytes left) and its length; a bad byte is one code point. */
static inline uint32_t cp_at(const unsigned char *p, size_t n, size_t *len)
{
    if (p[0] < 0x80) {
        *len = 1;
        return p[0];
    }
    int l = bz_utf8_seq_len(p, n);
    if (l <= 1) {
        *len = 1;
        return p[0];
    }
    *len = (size_t)l;
    if (l == 2)
        return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    if (l == 3)
        return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
           (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
}

/* CJK and full-width punctuation and spaces: never a token. */
static int wide_punct(uint32_t c)
{
    return (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
           (c >= 0xFF5B && c <= 0xFF65) || (c >= 0x2000 && c <= 0x206F) || c == 0x30FB;
}

static int cjk(uint32_t c)
{
    return c >= 0x3040 && !wide_punct(c) && !(c >= 0xFF01 && c <= 0xFF5E);
}

int ds_neardup_char_mode(const char *text, size_t len, int shingle)
{
    if (shingle != DS_SHINGLE_AUTO)
        return shingle == DS_SHINGLE_CHAR;
    const unsigned char *p = (const unsigned char *)text;
    size_t wide = 0, all = 0;
    for (size_t i = 0; i < len;) {
        size_t l;
        uint32_t c = cp_at(p + i, len - i, &l);
        i += l;
        if (c < 0x80 ? (A_SPACE(c) || A_PUNCT(c)) : wide_punct(c))
            continue;
        all++;
        wide += cjk(c);
    }
    return all > 0 && wide * 10 >= all * 3;
}

/* Token hashes of text: words (or, in char mode, single letters); CJK characters one
 * each. Returns the count; *tok grows as needed. */
static size_t tokenize(const char *text, size_t len, int chars, uint64_t **tok, size_t *cap)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t l;
        uint32_t c = cp_at(p + i, len - i, &l);
        if (c < 0x80 ? (A_SPACE(c) || A_PUNCT(c)) : wide_punct(c)) {
            i += l;
            continue;
        }
        size_t j = i + l;
        if (!chars && !cjk(c)) { /* a word: up to a space, punctuation or CJK */
            while (j < len) {
                size_t l2;
                uint32_t c2 = cp_at(p + j, len - j, &l2);
                if (c2 < 0x80 ? (A_SPACE(c2) || A_PUNCT(c2)) : (wide_punct(c2) || cjk(c2)))
                    break;
                j += l2;
            }
        }
        uint64_t h = 1469598103934665603ull;
        for (size_t k = i; k < j; k++)
            h = (h ^ (uint64_t)A_LOWER(p[k])) * 1099511628211ull;
        if (n == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *tok = bz_realloc(*tok, *cap * sizeof **tok);
        }
        (*tok)[n++] = h;
        i = j;
    }
    return n;
}

void ds_neardup_add(struct ds_neardup *nd, const char *text, size_t len)
{
    static _Thread_local uint64_t *tok;
    static _Thread_local size_t tcap;
    if (nd->n == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 1024;
        nd->sig = bz_realloc(nd->sig, nd->cap * NP * sizeof *nd->sig);
        nd->has = bz_realloc(nd->has, nd->cap);
    }
    uint16_t *sig = nd->sig + nd->n * NP;
    int chars = ds_neardup_char_mode(text, len, nd->shingle);
    size_t n = tokenize(text, len, chars, &tok, &tcap);
    uint32_t mins[NP];
    for (int j = 0; j < NP; j++)
        mins[j] = UINT32_MAX;
    size_t shingles = n == 0 ? 0 : n < DS_NEARDUP_K ? 1 : n - DS_NEARDUP_K + 1;
    for (size_t i = 0; i < shingles; i++) {
        uint64_t x = (uint64_t)chars;
        for (size_t k = i; k < i + DS_NEARDUP_K && k < n; k++)
            x = mix64(x ^ tok[k]);
        uint32_t x32 = (uint32_t)(x ^ (x >> 32));
        for (int j = 0; j < NP; j++) { /* 32-bit lanes: this loop vectorises */
            uint32_t v = nd->a[j] * x32 + nd->b[j];
            mins[j] = v < mins[j] ? v : mins[j];
        }
    }
    for (int j = 0; j < NP; j++)
        sig[j] = (uint16_t)(mins[j] >> 16);
    nd->has[nd->n] = shingles > 0;
    nd->n++;
}

static int agree(const uint16_t *a, const uint16_t *b)
{
    int same = 0;
    for (int j = 0; j < NP; j++)
        same += a[j] == b[j];
    return same;
}

double ds_neardup_similarity(const struct ds_neardup *nd, size_t a, size_t b)
{
    if (a >= nd->n || b >= nd->n || !nd->has[a] || !nd->has[b])
        return 0;
    return agree(nd->sig + a * NP, nd->sig + b * NP) / (double)NP;
}

/* ---------------------------------------------------------------- grouping */

struct bkey {
    uint64_t key;
    uint32_t idx;
};

/* Sort v[0..n) by key, stably (LSD radix, 16-bit digits; tmp holds n more), so equal
 * keys stay in item order. */
static void radix_sort(struct bkey *v, struct bkey *tmp, size_t n)
{
    static _Thread_local size_t count[65536];
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(v[i].key >> shift) & 0xFFFF]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(v[i].key >> shift) & 0xFFFF]++] = v[i];
        struct bkey *t = v;
        v = tmp;
        tmp = t;
    }
    /* four passes: the sorted keys are back in the first array */
}

static uint32_t uf_find(uint32_t *par, uint32_t x)
{
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static void uf_join(uint32_t *par, uint32_t a, uint32_t b)
{
    a = uf_find(par, a);
    b = uf_find(par, b);
    if (a == b)
        return;
    if (a < b)
        par[b] = a; /* the smallest index is the root */
    else
        par[a] = b;
}

int ds_neardup_groups(struct ds_neardup *nd, uint32_t *group, size_t *n_groups,
                      size_t *candidates, struct bz_err *err)
{
    if (nd->n > UINT32_MAX)
        return bz_errf(err, BZ_ERANGE, "near duplicates: more than 4G texts");
    int bands, rows;
    ds_neardup_bands(nd->threshold, &bands, &rows);
    int need = (int)(nd->threshold * NP + 0.999999);
    size_t n = nd->n, m = 0, cand = 0;
    for (size_t i = 0; i < n; i++) {
        group[i] = (uint32_t)i;
        m += nd->has[i];
    }
    struct bkey *keys = bz_malloc((m ? m : 1) * sizeof *keys);
    struct bkey *tmp = bz_malloc((m ? m : 1) * sizeof *tmp);
    for (int band = 0; band < bands; band++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!nd->has[i])
                continue;
            keys[k].key = XXH3_64bits(nd->sig + i * NP + band * rows, (size_t)rows * 2);
            keys[k].idx = (uint32_t)i;
            k++;
        }
        radix_sort(keys, tmp, k);
        for (size_t s = 0; s < k;) {
            size_t e = s + 1;
            while (e < k && keys[e].key == keys[s].key)
                e++;
            uint32_t reps[MAX_REPS];
            int nreps = 0;
            for (size_t i = s; i < e && e - s > 1; i++) {
                uint32_t x = keys[i].idx;
                int joined = 0;
                for (int r = 0; r < nreps && !joined; r++) {
                    if (uf_find(group, reps[r]) == uf_find(group, x)) {
                        joined = 1;
                        break;
                    }
                    cand++;
                    if (agree(nd->sig + (size_t)x * NP, nd->sig + (size_t)reps[r] * NP) >= need) {
                        uf_join(group, x, reps[r]);
                        joined = 1;
                    }
                }
                if (!joined && nreps < MAX_REPS)
                    reps[nreps++] = x;
            }
            s = e;
        }
    }
    free(keys);
    free(tmp);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        group[i] = uf_find(group, (uint32_t)i);
    /* a group counts once: at its root, when some other member points to it */
    uint8_t *multi = bz_calloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++)
        if (group[i] != i && !multi[group[i]]) {
            multi[group[i]] = 1;
            groups++;
        }
    free(multi);
    *n_groups = groups;
    if (candidates)
        *candidates = cand;
    return 0;
}
