/*
 * sample.c: the sampler. Candidates are (id, logit) pairs; top-k uses a partial
 * selection (quickselect) before the sort so that small k stays cheap on big vocabs.
 * Penalties count the tokens of the last `penalty_last_n` accepted ids.
 * Left out: anything that needs the tokenizer (that is core/generate.c's part).
 */
#include "core/sample.h"

#include <math.h>
#include <string.h>

struct cand {
    float logit;
    int id;
};

struct core_sample {
    struct core_sample_params p;
    int V;
    struct core_sample_rng rng;
    int *hist;            /* ring of recent ids */
    int hist_cap, hist_n, hist_pos;
    int *count;           /* (V) occurrences in the window */
    struct cand *c;       /* (V) */
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* core_sample_rng_seed: see sample.h. */
void core_sample_rng_seed(struct core_sample_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* core_sample_rng_u64: see sample.h. */
uint64_t core_sample_rng_u64(struct core_sample_rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* core_sample_rng_uniform: see sample.h. */
double core_sample_rng_uniform(struct core_sample_rng *r)
{
    return (double)(core_sample_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* core_sample_defaults: see sample.h. */
void core_sample_defaults(struct core_sample_params *p)
{
    *p = (struct core_sample_params){.temp = 0, .top_k = 0, .top_p = 1, .min_p = 0,
                                     .repeat_penalty = 1, .freq_penalty = 0,
                                     .presence_penalty = 0, .penalty_last_n = 64, .seed = 0};
}

/* core_sample_check: see sample.h. */
int core_sample_check(const struct core_sample_params *p, struct bz_err *err)
{
    if (!(p->temp >= 0) || !isfinite(p->temp))
        return bz_errf(err, BZ_EINVAL, "temperature must be >= 0 (got %g)", p->temp);
    if (!(p->top_p > 0) || p->top_p > 1)
        return bz_errf(err, BZ_EINVAL, "top-p must be in (0, 1] (got %g)", p->top_p);
    if (!(p->min_p >= 0) || p->min_p > 1)
        return bz_errf(err, BZ_EINVAL, "min-p must be in [0, 1] (got %g)", p->min_p);
    if (!(p->repeat_penalty > 0) || !isfinite(p->repeat_penalty))
        return bz_errf(err, BZ_EINVAL, "repeat penalty must be > 0 (got %g)", p->repeat_penalty);
    if (!isfinite(p->freq_penalty) || !isfinite(p->presence_penalty))
        return bz_errf(err, BZ_EINVAL, "penalties must be finite");
    return 0;
}

/* core_sample_new: see sample.h. */
int core_sample_new(struct core_sample **out, const struct core_sample_params *p, int V,
                    struct bz_err *err)
{
    *out = NULL;
    int rc = core_sample_check(p, err);
    if (rc)
        return rc;
    if (V <= 0)
        return bz_errf(err, BZ_EINVAL, "vocabulary size must be > 0 (got %d)", V);
    struct core_sample *s = bz_calloc(1, sizeof *s);
    s->p = *p;
    s->V = V;
    s->hist_cap = p->penalty_last_n < 0 ? 1 << 16 : BZ_MAX(1, p->penalty_last_n);
    s->hist = bz_calloc((size_t)s->hist_cap, sizeof *s->hist);
    s->count = calloc((size_t)V, sizeof *s->count);
    s->c = malloc((size_t)V * sizeof *s->c);
    if (!s->count || !s->c) {
        core_sample_free(s);
        return bz_errf(err, BZ_ENOMEM, "no memory for a sampler over %d tokens", V);
    }
    core_sample_reset(s);
    *out = s;
    return 0;
}

/* core_sample_free: see sample.h. */
void core_sample_free(struct core_sample *s)
{
    if (!s)
        return;
    free(s->hist);
    free(s->count);
    free(s->c);
    free(s);
}

/* core_sample_reset: see sample.h. */
void core_sample_reset(struct core_sample *s)
{
    s->hist_n = s->hist_pos = 0;
    memset(s->count, 0, (size_t)s->V * sizeof *s->count);
    core_sample_rng_seed(&s->rng, s->p.seed);
}

/* core_sample_accept: see sample.h. */
void core_sample_accept(struct core_sample *s, int token)
{
    if (token < 0 || token >= s->V || s->p.penalty_last_n == 0)
        return;
    if (s->hist_n == s->hist_cap) {
        int old = s->hist[s->hist_pos];
        s->count[old]--;
    } else {
        s->hist_n++;
    }
    s->hist[s->hist_pos] = token;
    s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
    s->count[token]++;
}

static void apply_penalties(struct core_sample *s, float *logits)
{
    const struct core_sample_params *p = &s->p;
    if (p->repeat_penalty == 1 && p->freq_penalty == 0 && p->presence_penalty == 0)
        return;
    /* each distinct token of the window once */
    for (int i = 0; i < s->hist_n; i++) {
        int id = s->hist[i], n = s->count[id];
        if (n <= 0)
            continue;
        float *l = &logits[id];
        if (p->repeat_penalty != 1)
            *l = *l > 0 ? *l / p->repeat_penalty : *l * p->repeat_penalty;
        *l -= (float)n * p->freq_penalty + p->presence_penalty;
        s->count[id] = -n; /* mark as done; restored below */
    }
    for (int i = 0; i < s->hist_n; i++) {
        int id = s->hist[i];
        if (s->count[id] < 0)
            s->count[id] = -s->count[id];
    }
}

static int cand_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id - y->id;
}

static int cand_before(const struct cand *x, const struct cand *y)
{
    return x->logit > y->logit || (x->logit == y->logit && x->id < y->id);
}

/* Move the k best candidates to the front (unordered). */
static void select_top(struct cand *c, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        struct cand piv = c[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (cand_before(&c[i], &piv))
                i++;
            while (cand_before(&piv, &c[j]))
                j--;
            if (i <= j) {
                struct cand t = c[i];
                c[i] = c[j];
                c[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

/* core_sample_next: see sample.h. */
int core_sample_next(struct core_sample *s, float *logits)
{
    apply_penalties(s, logits);
    int V = s->V;
    if (s->p.temp <= 0) {
        int best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best])
                best = i;
        return best;
    }
    struct cand *c = s->c;
    int n = 0;
    for (int i = 0; i < V; i++)
        if (!isnan(logits[i]) && logits[i] != -INFINITY)
            c[n++] = (struct cand){logits[i], i};
    if (n == 0)
        return 0;
    if (s->p.top_k > 0 && s->p.top_k < n) {
        select_top(c, n, s->p.top_k);
        n = s->p.top_k;
    }
    qsort(c, (size_t)n, sizeof *c, cand_desc);
    /* probabilities at temperature, in place of the logits */
    double mx = c[0].logit, sum = 0;
    for (int i = 0; i < n; i++) {
        double e = exp(((double)c[i].logit - mx) / s->p.temp);
        c[i].logit = (float)e;
        sum += e;
    }
    int keep = n;
    if (s->p.top_p < 1) {
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += c[i].logit / sum;
            if (cum >= s->p.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0) {
        double lim = s->p.min_p * c[0].logit;
        int i = 1;
        while (i < keep && c[i].logit >= lim)
            i++;
        keep = i;
    }
    double tot = 0;
    for (int i = 0; i < keep; i++)
        tot += c[i].logit;
    double r = core_sample_rng_uniform(&s->rng) * tot, acc = 0;
    for (int i = 0; i < keep; i++) {
        acc += c[i].logit;
        if (r < acc)
            return c[i].id;
    }
    return c[keep - 1].id;
}
