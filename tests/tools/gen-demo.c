/*
 * gen-demo.c: writes the shipped demo files (assets/demo/pairs.jsonl, chat.jsonl, the
 * oddity manifest, assets/questions.jsonl and questions-reference.jsonl) from the
 * hand-written sources in assets/src/ plus pairs made from templates whose answers are
 * computed here.
 *
 * Key idea: everything is deterministic (a fixed-seed splitmix64, no clock, no locale),
 * so `make assets` reproduces the committed bytes and a test can compare them. The
 * deliberate oddities of pairs.jsonl (duplicates, empty answers, refusals, a repetition
 * loop, long answers, long instructions, one truncated line) are placed here and their
 * line numbers written to pairs-manifest.json for end-to-end tests.
 *
 * Source format (assets/src/NAME.txt): a line "@@ KIND ARGS..." starts a record or a
 * section; text lines up to the next "@@ " line belong to the open section, trailing
 * blank lines trimmed. Lines before the first record are comments.
 *   @@ pair ID [FLAG...]      sections: system, instruction, input, output
 *   @@ chat ID                sections: system, user, assistant (repeated, in order)
 *   @@ question N CATEGORY    sections: turn (x2), reference (x0 or x2)
 * Pair flags: ja, refusal, empty, loop, long-output, long-instruction.
 *
 * Left out: no randomness from outside, no network, no other output formats (the
 * dataset module converts).
 *
 *   gen-demo SRC_DIR OUT_DIR     (writes OUT_DIR/demo/... and OUT_DIR/questions*.jsonl)
 */
#include "core/bz.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* ---------------------------------------------------------------- records */

enum {
    F_JA = 1 << 0,
    F_REFUSAL = 1 << 1,
    F_EMPTY = 1 << 2,
    F_LOOP = 1 << 3,
    F_LONG_OUT = 1 << 4,
    F_LONG_INSTR = 1 << 5,
    F_DUP = 1 << 6,
    F_INVALID = 1 << 7,
};

struct pair {
    char *id, *system, *instruction, *input, *output;
    unsigned flags;
    int dup_of; /* index into the final order of the original, for F_DUP */
};

struct section {
    char *name, *text;
};

struct srec {
    char *head; /* the "@@ ..." line without the marker */
    struct section *sec;
    int nsec;
};

struct pairs {
    struct pair *v;
    int n, cap;
};

static struct pair *pairs_add(struct pairs *ps)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->v = bz_realloc(ps->v, (size_t)ps->cap * sizeof(*ps->v));
    }
    struct pair *p = &ps->v[ps->n++];
    memset(p, 0, sizeof(*p));
    p->dup_of = -1;
    return p;
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gen-demo: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---------------------------------------------------------------- source parsing */

/* Parse a source file into records. Returns the count; *out is caller-owned. */
static int src_parse(const char *path, struct srec **out)
{
    char *text;
    size_t len;
    struct bz_err err = {0};
    if (bz_read_file(path, &text, &len, &err) < 0)
        die("%s", bz_err_msg(&err, err.code));
    if (bz_utf8_check(text, len) != len)
        die("%s: invalid UTF-8 at byte %zu", path, bz_utf8_check(text, len));
    struct srec *v = NULL;
    int n = 0;
    struct bz_buf cur;
    bz_buf_init(&cur);
    struct section *open = NULL;
    int lineno = 0;
    char *p = text, *end = text + len;
    for (;;) {
        char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        char *le = nl ? nl : end;
        int at_end = p >= end;
        lineno++;
        int marker = !at_end && le - p >= 3 && memcmp(p, "@@ ", 3) == 0;
        if (marker || at_end) {
            if (open) {
                while (cur.len > 0 && cur.p[cur.len - 1] == '\n')
                    cur.len--;
                if (cur.p)
                    cur.p[cur.len] = 0;
                open->text = cur.len ? bz_buf_steal(&cur) : bz_strdup("");
                bz_buf_init(&cur);
                open = NULL;
            }
            if (at_end)
                break;
            char *word = bz_strndup(p + 3, (size_t)(le - p - 3));
            if (!strncmp(word, "pair ", 5) || !strncmp(word, "chat ", 5) ||
                !strncmp(word, "question ", 9)) {
                v = bz_realloc(v, (size_t)(n + 1) * sizeof(*v));
                v[n].head = word;
                v[n].sec = NULL;
                v[n].nsec = 0;
                n++;
            } else {
                if (n == 0)
                    die("%s:%d: section \"%s\" before any record", path, lineno, word);
                struct srec *r = &v[n - 1];
                r->sec = bz_realloc(r->sec, (size_t)(r->nsec + 1) * sizeof(*r->sec));
                open = &r->sec[r->nsec++];
                open->name = word;
                open->text = NULL;
            }
        } else if (open) {
            if (cur.len > 0 || le > p)
                bz_buf_append(&cur, p, (size_t)(le - p));
            if (cur.len > 0)
                bz_buf_putc(&cur, '\n');
        }
        if (!nl)
            p = end;
        else
            p = nl + 1;
    }
    bz_buf_cleanup(&cur);
    free(text);
    *out = v;
    return n;
}

static void src_free(struct srec *v, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < v[i].nsec; k++) {
            free(v[i].sec[k].name);
            free(v[i].sec[k].text);
        }
        free(v[i].sec);
        free(v[i].head);
    }
    free(v);
}

/* ---------------------------------------------------------------- rng, helpers */

static uint64_t rng_state = 0x42657a6f61722121ull; /* "Bezoar!!" */

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int rng_int(int lo, int hi)
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

#define PICK(arr) ((arr)[rng_next() % BZ_ARRAY_SIZE(arr)])

/* Normalised key of a pair for the duplicate check: ASCII lower case, runs of white
 * space collapsed, fields separated by a byte that cannot occur in text. */
static char *pair_key(const struct pair *p)
{
    struct bz_buf b;
    bz_buf_init(&b);
    const char *f[3] = {p->instruction, p->input ? p->input : "", p->output};
    for (int i = 0; i < 3; i++) {
        int sp = 1;
        for (const char *s = f[i]; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if (isspace(c)) {
                sp = 1;
                continue;
            }
            if (sp && b.len > 0 && b.p[b.len - 1] != 1)
                bz_buf_putc(&b, ' ');
            sp = 0;
            bz_buf_putc(&b, (char)tolower(c));
        }
        bz_buf_putc(&b, 1);
    }
    return bz_buf_steal(&b);
}

/* A tiny string set for uniqueness checks (linear; a few hundred entries). */
struct strset {
    char **v;
    int n;
};

static int strset_add(struct strset *s, char *key)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], key)) {
            free(key);
            return 0;
        }
    s->v = bz_realloc(s->v, (size_t)(s->n + 1) * sizeof(*s->v));
    s->v[s->n++] = key;
    return 1;
}

static struct strset seen;

/* Add a templated pair unless an equal one exists; returns 1 when added. */
static int add_unique(struct pairs *ps, const char *idpfx, int *counter, char *instr, char *input,
                      char *output, unsigned flags)
{
    struct pair tmp = {.instruction = instr, .input = input, .output = output};
    if (!strset_add(&seen, pair_key(&tmp))) {
        free(instr);
        free(input);
        free(output);
        return 0;
    }
    struct pair *p = pairs_add(ps);
    ++*counter;
    p->id = bz_asprintf("%s-%03d", idpfx, *counter);
    p->instruction = instr;
    p->input = input ? input : bz_strdup("");
    p->output = output;
    p->flags = flags;
    return 1;
}

static char *join_ints(const int *v, int n, const char *sep)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < n; i++)
        bz_buf_printf(&b, "%s%d", i ? sep : "", v[i]);
    return bz_buf_steal(&b);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_prime(int n)
{
    if (n < 2)
        return 0;
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* English words for 0 <= n < 1000000. */
static void words_of(struct bz_buf *b, int n)
{
    static const char *ones[] = {"zero",    "one",     "two",       "three",    "four",
                                 "five",    "six",     "seven",     "eight",    "nine",
                                 "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                 "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char *tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                 "fifty", "sixty", "seventy", "eighty", "ninety"};
    if (n >= 1000) {
        words_of(b, n / 1000);
        bz_buf_puts(b, " thousand");
        if (n % 1000) {
            bz_buf_puts(b, n % 1000 < 100 ? " and " : " ");
            words_of(b, n % 1000);
        }
    } else if (n >= 100) {
        bz_buf_printf(b, "%s hundred", ones[n / 100]);
        if (n % 100) {
            bz_buf_puts(b, " and ");
            words_of(b, n % 100);
        }
    } else if (n >= 20) {
        bz_buf_puts(b, tens[n / 10]);
        if (n % 10)
            bz_buf_printf(b, "-%s", ones[n % 10]);
    } else {
        bz_buf_puts(b, ones[n]);
    }
}

/* ---------------------------------------------------------------- templated pairs */

/* Decimal answers use integer arithmetic only, so that no compiler, flag (FMA
 * contraction) or libc can change a rounded digit: values are integers scaled by
 * 10^places, rounded half away from zero. */
static long long div_round(long long a, long long b)
{
    if (a < 0)
        return -div_round(-a, b);
    return (2 * a + b) / (2 * b);
}

/* v / 10^places as a decimal string without trailing zeros ("12.5", not "12.50"). */
static char *dec_str(long long v, int places)
{
    long long scale = 1;
    for (int i = 0; i < places; i++)
        scale *= 10;
    long long a = v < 0 ? -v : v;
    char *s = bz_asprintf("%s%lld.%0*lld", v < 0 ? "-" : "", a / scale, places, a % scale);
    size_t n = strlen(s);
    while (s[n - 1] == '0')
        s[--n] = 0;
    if (s[n - 1] == '.')
        s[--n] = 0;
    return s;
}

/* round(10 * sqrt(n)), exactly. */
static long long sqrt_tenths(long long n)
{
    long long m = 100 * n, r = 0;
    while ((r + 1) * (r + 1) <= m)
        r++;
    return m > r * r + r ? r + 1 : r;
}

static void gen_arithmetic(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int kind = c % 5;
        char *q = NULL, *a = NULL;
        if (kind == 0) {
            int x = rng_int(12, 899), y = rng_int(12, 899);
            int f = rng_int(0, 2);
            q = f == 0   ? bz_asprintf("What is %d + %d?", x, y)
                : f == 1 ? bz_asprintf("Add %d and %d.", x, y)
                         : bz_asprintf("Calculate the sum of %d and %d.", x, y);
            if (x < 100 && y < 100)
                a = bz_asprintf(
                    "%d + %d = %d. Add the tens (%d + %d = %d) and the ones (%d + %d = %d), "
                    "then %d + %d = %d.",
                    x, y, x + y, x / 10 * 10, y / 10 * 10, x / 10 * 10 + y / 10 * 10, x % 10,
                    y % 10, x % 10 + y % 10, x / 10 * 10 + y / 10 * 10, x % 10 + y % 10, x + y);
            else
                a = bz_asprintf("%d + %d = %d.", x, y, x + y);
        } else if (kind == 1) {
            int x = rng_int(20, 999), y = rng_int(5, 999);
            int f = rng_int(0, 2);
            q = f == 0   ? bz_asprintf("What is %d - %d?", x, y)
                : f == 1 ? bz_asprintf("Subtract %d from %d.", y, x)
                         : bz_asprintf("Compute %d minus %d.", x, y);
            if (x >= y)
                a = bz_asprintf("%d - %d = %d.", x, y, x - y);
            else
                a = bz_asprintf(
                    "%d - %d = %d. The result is negative because %d is larger than %d.", x, y,
                    x - y, y, x);
        } else if (kind == 2) {
            int x = rng_int(12, 99), y = rng_int(12, 99);
            int f = rng_int(0, 2);
            q = f == 0   ? bz_asprintf("What is %d times %d?", x, y)
                : f == 1 ? bz_asprintf("Multiply %d by %d.", x, y)
                         : bz_asprintf("Calculate %d × %d.", x, y);
            a = bz_asprintf(
                "%d × %d = %d. Split the second number into tens and ones: %d × %d = %d and "
                "%d × %d = %d, and %d + %d = %d.",
                x, y, x * y, x, y / 10 * 10, x * (y / 10 * 10), x, y % 10, x * (y % 10),
                x * (y / 10 * 10), x * (y % 10), x * y);
        } else if (kind == 3) {
            int d = rng_int(3, 19), qt = rng_int(4, 60), r = rng_int(0, d - 1);
            int n = d * qt + r;
            int f = rng_int(0, 2);
            q = f == 0   ? bz_asprintf("What is %d divided by %d?", n, d)
                : f == 1 ? bz_asprintf("Divide %d by %d.", n, d)
                         : bz_asprintf("How many times does %d go into %d?", d, n);
            if (r == 0)
                a = bz_asprintf("%d ÷ %d = %d exactly, because %d × %d = %d.", n, d, qt, d, qt, n);
            else {
                char *dv = dec_str(div_round(1000LL * n, d), 3);
                a = bz_asprintf(
                    "%d ÷ %d = %d remainder %d, because %d × %d = %d and %d + %d = %d. As a "
                    "decimal that is %s%s.",
                    n, d, qt, r, d, qt, d * qt, d * qt, r, n, (long)n * 1000 % d ? "about " : "",
                    dv);
                free(dv);
            }
        } else {
            static const int pcts[] = {5, 10, 12, 15, 20, 25, 30, 40, 50, 75, 8, 35};
            int pct = PICK(pcts), base = rng_int(2, 60) * 10;
            char *v = dec_str((long long)pct * base, 2);
            int f = rng_int(0, 2);
            q = f == 0 ? bz_asprintf("What is %d%% of %d?", pct, base)
                : f == 1
                    ? bz_asprintf("Calculate %d percent of %d.", pct, base)
                    : bz_asprintf("A shop gives a %d%% discount on an item that costs %d dollars. "
                                  "How much is the discount?",
                                  pct, base);
            if (f < 2)
                a = bz_asprintf("%d%% of %d is %s, because %d × %d ÷ 100 = %s.", pct, base, v, base,
                                pct, v);
            else {
                char *rest = dec_str(100LL * base - (long long)pct * base, 2);
                a = bz_asprintf(
                    "The discount is %s dollars (%d × %d ÷ 100 = %s), so the item then costs "
                    "%d - %s = %s dollars.",
                    v, base, pct, v, base, v, rest);
                free(rest);
            }
            free(v);
        }
        add_unique(ps, "math", &c, q, NULL, a, 0);
    }
}

static void gen_conversions(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int kind = c % 10;
        char *q = NULL, *a = NULL;
        if (kind == 0) {
            int km = rng_int(1, 42) * 5;
            char *mi = dec_str(div_round(100000000LL * km, 1609344), 2);
            q = bz_asprintf("Convert %d kilometers to miles.", km);
            a = bz_asprintf(
                "%d kilometers is about %s miles. One mile is exactly 1.609344 km, so divide "
                "by 1.609344: %d ÷ 1.609344 ≈ %s.",
                km, mi, km, mi);
            free(mi);
        } else if (kind == 1) {
            int mi = rng_int(1, 60);
            char *km = dec_str(div_round(1609344LL * mi, 10000), 2);
            q = bz_asprintf("How many kilometers are in %d %s?", mi, mi == 1 ? "mile" : "miles");
            a = bz_asprintf("%d %s is about %s km (%d × 1.609344).", mi, mi == 1 ? "mile" : "miles",
                            km, mi);
            free(km);
        } else if (kind == 2) {
            int cc = rng_int(-30, 200);
            char *f = dec_str(18LL * cc + 320, 1);
            q = bz_asprintf("Convert %d degrees Celsius to Fahrenheit.", cc);
            a = bz_asprintf("%d °C = %s °F. Use F = C × 9/5 + 32: %d × 1.8 + 32 = %s.", cc, f, cc,
                            f);
            free(f);
        } else if (kind == 3) {
            int ff = rng_int(-20, 450);
            char *cs = dec_str(div_round(50LL * (ff - 32), 9), 1);
            q = bz_asprintf("What is %d °F in Celsius?", ff);
            a = bz_asprintf(
                "%d °F is about %s °C. Use C = (F - 32) × 5/9: (%d - 32) × 5/9 = %d × 5/9 ≈ "
                "%s.",
                ff, cs, ff, ff - 32, cs);
            free(cs);
        } else if (kind == 4) {
            int kg = rng_int(1, 120);
            char *lb = dec_str(div_round(10000000000LL * kg, 45359237), 2);
            q = bz_asprintf("How many pounds is %d kg?", kg);
            a = bz_asprintf("%d kg is about %s pounds. One pound is exactly 0.45359237 kg, so %d ÷ "
                            "0.45359237 ≈ %s.",
                            kg, lb, kg, lb);
            free(lb);
        } else if (kind == 5) {
            int in = rng_int(1, 100);
            char *cm = dec_str(254LL * in, 2);
            q = bz_asprintf("Convert %d %s to centimeters.", in, in == 1 ? "inch" : "inches");
            a = bz_asprintf("%d %s = %s cm, because one inch is exactly 2.54 cm.", in,
                            in == 1 ? "inch" : "inches", cm);
            free(cm);
        } else if (kind == 6) {
            int ft = rng_int(2, 30);
            char *m = dec_str(3048LL * ft, 4);
            q = bz_asprintf("How many meters is %d feet?", ft);
            a = bz_asprintf("%d feet = %s meters, since one foot is exactly 0.3048 m.", ft, m);
            free(m);
        } else if (kind == 7) {
            int h = rng_int(1, 40);
            int half = (int)(rng_next() % 2);
            if (half) {
                q = bz_asprintf("How many minutes are in %d and a half hours?", h);
                a = bz_asprintf("%d.5 hours × 60 = %d minutes.", h, h * 60 + 30);
            } else {
                q = bz_asprintf("How many seconds are in %d %s?", h, h == 1 ? "hour" : "hours");
                a = bz_asprintf("%d × 60 × 60 = %d seconds (an hour has 3,600 seconds).", h,
                                h * 3600);
            }
        } else if (kind == 8) {
            int d = rng_int(2, 90);
            q = bz_asprintf("How many hours are there in %d days?", d);
            a = bz_asprintf("%d days × 24 hours = %d hours.", d, d * 24);
        } else {
            int ml = rng_int(1, 99) * 50;
            char *l = dec_str(ml, 3);
            q = bz_asprintf("Convert %d milliliters to liters.", ml);
            a = bz_asprintf("%d mL = %s L, because 1 liter is 1,000 milliliters.", ml, l);
            free(l);
        }
        add_unique(ps, "convert", &c, q, NULL, a, 0);
    }
}

static void gen_tables(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int n = rng_int(2, 19);
        struct bz_buf b;
        bz_buf_init(&b);
        for (int i = 1; i <= 10; i++)
            bz_buf_printf(&b, "%s%d × %d = %d", i > 1 ? "\n" : "", n, i, n * i);
        char *q = bz_asprintf("Write the multiplication table of %d from 1 to 10.", n);
        add_unique(ps, "table", &c, q, NULL, bz_buf_steal(&b), 0);
    }
}

static const char *phrases[] = {
    "hello world",
    "bezoar",
    "stressed",
    "keyboard",
    "a quiet morning",
    "racecar",
    "open the door",
    "level 42",
    "sunflower",
    "the cat sat",
    "Python",
    "good night",
    "abc123",
    "drawer",
    "lemonade",
    "time flies",
    "never odd or even",
    "spring rain",
    "terminal",
    "OpenAI chat",
};

static void gen_reverse(struct pairs *ps, int want)
{
    int c = 0;
    static const char *forms[] = {"Reverse the following string.",
                                  "Write this text backwards, character by character.",
                                  "Reverse the characters of the input."};
    int used[BZ_ARRAY_SIZE(phrases)] = {0};
    bz_assert(want <= (int)BZ_ARRAY_SIZE(phrases));
    while (c < want) {
        int pi = (int)(rng_next() % BZ_ARRAY_SIZE(phrases));
        if (used[pi])
            continue;
        used[pi] = 1;
        const char *s = phrases[pi];
        size_t n = strlen(s);
        char *r = bz_malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            r[i] = s[n - 1 - i];
        r[n] = 0;
        char *a = strcmp(r, s) ? bz_asprintf("%s", r)
                               : bz_asprintf("%s\n\nIt reads the same in both directions: it is a "
                                             "palindrome.",
                                             r);
        free(r);
        add_unique(ps, "reverse", &c, bz_strdup(PICK(forms)), bz_strdup(s), a, 0);
    }
}

static const char *sort_words[] = {
    "pear",   "apple", "mango", "cherry", "banana", "kiwi",    "grape", "lemon",
    "orange", "plum",  "fig",   "melon",  "peach",  "apricot", "lime",  "date",
};

static void gen_sort(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int kind = c % 3;
        char *q, *in, *a;
        if (kind < 2) {
            int v[8], n = rng_int(5, 8);
            for (int i = 0; i < n; i++)
                v[i] = rng_int(-20, 150);
            in = join_ints(v, n, ", ");
            qsort(v, (size_t)n, sizeof(int), cmp_int);
            if (kind == 1)
                for (int i = 0; i < n / 2; i++) {
                    int t = v[i];
                    v[i] = v[n - 1 - i];
                    v[n - 1 - i] = t;
                }
            q = bz_strdup(kind == 0 ? "Sort these numbers in ascending order."
                                    : "Sort these numbers from largest to smallest.");
            a = join_ints(v, n, ", ");
        } else {
            const char *w[7];
            int n = rng_int(4, 7);
            for (int i = 0; i < n; i++) {
                int again;
                do {
                    w[i] = PICK(sort_words);
                    again = 0;
                    for (int j = 0; j < i; j++)
                        again |= w[j] == w[i];
                } while (again);
            }
            struct bz_buf b;
            bz_buf_init(&b);
            for (int i = 0; i < n; i++)
                bz_buf_printf(&b, "%s%s", i ? ", " : "", w[i]);
            in = bz_buf_steal(&b);
            qsort(w, (size_t)n, sizeof(w[0]), cmp_str);
            for (int i = 0; i < n; i++)
                bz_buf_printf(&b, "%s%s", i ? ", " : "", w[i]);
            a = bz_buf_steal(&b);
            q = bz_strdup("Put these words in alphabetical order.");
        }
        add_unique(ps, "sort", &c, q, in, a, 0);
    }
}

static const char *count_words[] = {
    "strawberry", "banana",     "mississippi", "bookkeeper", "committee",
    "parallel",   "necessary",  "assessment",  "balloon",    "coffee",
    "tomorrow",   "successful", "engineering", "occurrence", "programming",
    "butterfly",  "excellent",  "possession",  "referee",    "hippopotamus",
};

static void gen_count(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        const char *w = PICK(count_words);
        size_t n = strlen(w);
        char *q, *a;
        if (c % 4 == 3) {
            int k = 0;
            struct bz_buf b;
            bz_buf_init(&b);
            for (size_t i = 0; i < n; i++)
                if (strchr("aeiou", w[i])) {
                    bz_buf_printf(&b, "%s%c", k ? ", " : "", w[i]);
                    k++;
                }
            q = bz_asprintf("How many vowels are in the word \"%s\"?", w);
            char *list = bz_buf_steal(&b);
            a = bz_asprintf("\"%s\" has %d vowels (counting a, e, i, o, u): %s.", w, k, list);
            free(list);
        } else {
            /* Pick a letter that occurs at least twice when possible: more interesting. */
            char ch = 0;
            for (int tries = 0; tries < 20 && !ch; tries++) {
                char cand = w[rng_next() % n];
                int k = 0;
                for (size_t i = 0; i < n; i++)
                    k += w[i] == cand;
                if (k >= 2 || tries == 19)
                    ch = cand;
            }
            int k = 0, total = 0;
            for (size_t i = 0; i < n; i++)
                total += w[i] == ch;
            struct bz_buf pos;
            bz_buf_init(&pos);
            for (size_t i = 0; i < n; i++)
                if (w[i] == ch) {
                    k++;
                    bz_buf_printf(&pos, "%s%zu", k == 1 ? "" : k == total ? " and " : ", ", i + 1);
                }
            q = bz_asprintf("How many times does the letter \"%c\" appear in \"%s\"?", ch, w);
            char *p = bz_buf_steal(&pos);
            if (k == 1)
                a = bz_asprintf("The letter \"%c\" appears once in \"%s\", at position %s.", ch, w,
                                p);
            else
                a = bz_asprintf("The letter \"%c\" appears %d times in \"%s\", at positions %s.",
                                ch, k, w, p);
            free(p);
        }
        add_unique(ps, "count", &c, q, NULL, a, 0);
    }
}

static void gen_primes(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int n = rng_int(11, 400) | 1;
        if (n % 5 == 0 && !is_prime(n) && c % 3 != 0)
            continue; /* keep the obvious multiples of 5 rare */
        char *q = bz_asprintf("Is %d a prime number?", n), *a;
        if (is_prime(n)) {
            int lim = 1;
            while ((lim + 1) * (lim + 1) <= n)
                lim++;
            char *root = dec_str(sqrt_tenths(n), 1);
            struct bz_buf b;
            bz_buf_init(&b);
            int k = 0;
            for (int d = 2; d <= lim; d++)
                if (is_prime(d))
                    bz_buf_printf(&b, "%s%d", k++ ? ", " : "", d);
            char *list = bz_buf_steal(&b);
            a = bz_asprintf("Yes, %d is prime. It is enough to test the primes up to √%d ≈ %s, "
                            "that is %s, and none of them divides %d.",
                            n, n, root, list, n);
            free(list);
            free(root);
        } else {
            int d = 2;
            while (n % d)
                d++;
            a = bz_asprintf("No. %d = %d × %d, so it has divisors other than 1 and itself.", n, d,
                            n / d);
        }
        add_unique(ps, "prime", &c, q, NULL, a, 0);
    }
}

static void gen_gcd(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        int g = rng_int(2, 12), x = g * rng_int(2, 15), y = g * rng_int(2, 15);
        if (x == y)
            continue;
        int gg = gcd(x, y);
        long l = (long)x / gg * y;
        char *q, *a;
        if (c % 2 == 0) {
            q = bz_asprintf("What is the greatest common divisor of %d and %d?", x, y);
            a = bz_asprintf(
                "The greatest common divisor of %d and %d is %d: %d = %d × %d and %d = %d × "
                "%d, and %d and %d have no common factor.",
                x, y, gg, x, gg, x / gg, y, gg, y / gg, x / gg, y / gg);
        } else {
            q = bz_asprintf("Find the least common multiple of %d and %d.", x, y);
            a = bz_asprintf(
                "The least common multiple is %ld. Their greatest common divisor is %d, and "
                "%d × %d ÷ %d = %ld.",
                l, gg, x, y, gg, l);
        }
        add_unique(ps, "gcd", &c, q, NULL, a, 0);
    }
}

/* Japanese arithmetic and unit pairs with computed answers. */
static void gen_ja(struct pairs *ps, int want)
{
    int c = 0;
    while (c < want) {
        char *q, *a;
        int kind = c % 3;
        if (kind == 0) {
            int x = rng_int(12, 99), y = rng_int(12, 99);
            q = bz_asprintf("%dと%dを足すといくつになりますか？", x, y);
            a = bz_asprintf("%d + %d = %d です。", x, y, x + y);
        } else if (kind == 1) {
            int x = rng_int(3, 12), y = rng_int(8, 25) * 10;
            q = bz_asprintf("1個%d円のりんごを%d個買うと、合計はいくらですか？", y, x);
            a = bz_asprintf("%d円 × %d個 = %d円 です。", y, x, x * y);
        } else {
            int m = rng_int(70, 250);
            q = bz_asprintf("%d分は何時間何分ですか？", m);
            if (m % 60)
                a = bz_asprintf("%d分は%d時間%d分です（60分 × %d = %d分、残りが%d分）。", m, m / 60,
                                m % 60, m / 60, m / 60 * 60, m % 60);
            else
                a = bz_asprintf("%d分はちょうど%d時間です。", m, m / 60);
        }
        add_unique(ps, "ja-calc", &c, q, NULL, a, F_JA);
    }
}

/* The long generated answers (5-20 KB each), all computed. */
static void gen_long(struct pairs *ps)
{
    int c = 0;
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 1; i <= 20; i++) {
        for (int j = 1; j <= 20; j++)
            bz_buf_printf(&b, "%s%d × %d = %d", j > 1 ? ", " : "", i, j, i * j);
        bz_buf_puts(&b, i < 20 ? "\n" : "");
    }
    add_unique(ps, "long", &c,
               bz_strdup("Write out the complete multiplication tables from 1 × 1 up to 20 × 20, "
                         "one line per table."),
               NULL, bz_buf_steal(&b), F_LONG_OUT);

    int k = 0;
    bz_buf_puts(&b, "Here are all the prime numbers below 10,000:\n\n");
    for (int n = 2; n < 10000; n++)
        if (is_prime(n))
            bz_buf_printf(&b, "%s%d", k++ ? ", " : "", n);
    bz_buf_printf(&b, "\n\nThere are %d of them.", k);
    add_unique(ps, "long", &c, bz_strdup("List every prime number below 10000."), NULL,
               bz_buf_steal(&b), F_LONG_OUT);

    for (int n = 1; n <= 500; n++) {
        bz_buf_printf(&b, "%s%d: ", n > 1 ? "\n" : "", n);
        words_of(&b, n);
    }
    add_unique(ps, "long", &c,
               bz_strdup("Write the numbers from 1 to 500 in English words, one per line."), NULL,
               bz_buf_steal(&b), F_LONG_OUT);

    bz_buf_puts(&b, "| °C | °F | K |\n|---:|---:|---:|");
    for (int cc = -100; cc <= 200; cc++) {
        char *f = dec_str(18LL * cc + 320, 1), *kv = dec_str(100LL * cc + 27315, 2);
        bz_buf_printf(&b, "\n| %d | %s | %s |", cc, f, kv);
        free(f);
        free(kv);
    }
    add_unique(ps, "long", &c,
               bz_strdup("Make a Markdown table converting every whole Celsius temperature from "
                         "-100 to 200 into Fahrenheit and kelvin."),
               NULL, bz_buf_steal(&b), F_LONG_OUT);
}

/* ---------------------------------------------------------------- hand-written sources */

static const char *sec_get(const struct srec *r, const char *name)
{
    for (int i = 0; i < r->nsec; i++)
        if (!strcmp(r->sec[i].name, name))
            return r->sec[i].text;
    return NULL;
}

static void load_pairs(const char *path, struct pairs *ps)
{
    struct srec *v;
    int n = src_parse(path, &v);
    for (int i = 0; i < n; i++) {
        char id[64] = "", kind[16] = "";
        int off = 0;
        if (sscanf(v[i].head, "%15s %63s %n", kind, id, &off) < 2 || strcmp(kind, "pair"))
            die("%s: record %d: expected \"@@ pair ID [FLAGS]\", got \"@@ %s\"", path, i + 1,
                v[i].head);
        unsigned flags = 0;
        for (char *t = strtok(v[i].head + off, " "); t; t = strtok(NULL, " ")) {
            if (!strcmp(t, "ja"))
                flags |= F_JA;
            else if (!strcmp(t, "refusal"))
                flags |= F_REFUSAL;
            else if (!strcmp(t, "empty"))
                flags |= F_EMPTY;
            else if (!strcmp(t, "long-output"))
                flags |= F_LONG_OUT;
            else if (!strcmp(t, "long-instruction"))
                flags |= F_LONG_INSTR;
            else
                die("%s: pair %s: unknown flag \"%s\"", path, id, t);
        }
        const char *ins = sec_get(&v[i], "instruction"), *out = sec_get(&v[i], "output");
        if (!ins || !*ins)
            die("%s: pair %s has no instruction", path, id);
        if (!out)
            die("%s: pair %s has no output section", path, id);
        if (!*out != !!(flags & F_EMPTY))
            die("%s: pair %s: an empty output must be flagged \"empty\" and vice versa", path, id);
        for (int k = 0; k < v[i].nsec; k++)
            if (strcmp(v[i].sec[k].name, "system") && strcmp(v[i].sec[k].name, "instruction") &&
                strcmp(v[i].sec[k].name, "input") && strcmp(v[i].sec[k].name, "output"))
                die("%s: pair %s: unknown section \"%s\"", path, id, v[i].sec[k].name);
        struct pair *p = pairs_add(ps);
        p->id = bz_strdup(id);
        p->system = sec_get(&v[i], "system") ? bz_strdup(sec_get(&v[i], "system")) : NULL;
        p->instruction = bz_strdup(ins);
        p->input = bz_strdup(sec_get(&v[i], "input") ? sec_get(&v[i], "input") : "");
        p->output = bz_strdup(out);
        p->flags = flags;
        if ((flags & F_LONG_INSTR) && strlen(ins) < 1000)
            die("%s: pair %s is flagged long-instruction but has %zu bytes", path, id, strlen(ins));
    }
    src_free(v, n);
}

/* ---------------------------------------------------------------- output */

static void put_pair(struct bz_buf *b, const struct pair *p)
{
    bz_buf_puts(b, "{\"id\":");
    bz_buf_json_str(b, p->id, strlen(p->id));
    if (p->system) {
        bz_buf_puts(b, ",\"system\":");
        bz_buf_json_str(b, p->system, strlen(p->system));
    }
    bz_buf_puts(b, ",\"instruction\":");
    bz_buf_json_str(b, p->instruction, strlen(p->instruction));
    bz_buf_puts(b, ",\"input\":");
    bz_buf_json_str(b, p->input, strlen(p->input));
    bz_buf_puts(b, ",\"output\":");
    bz_buf_json_str(b, p->output, strlen(p->output));
    bz_buf_puts(b, "}\n");
}

static void write_file(const char *dir, const char *name, const struct bz_buf *b)
{
    struct bz_err err = {0};
    char *path = bz_path_join(dir, name);
    if (bz_utf8_check(b->p, b->len) != b->len)
        die("%s: generated invalid UTF-8", path);
    if (b->len > 1024 * 1024)
        die("%s: %zu bytes, over the 1 MiB budget", path, b->len);
    if (bz_write_atomic(path, b->p, b->len, &err) < 0)
        die("%s", bz_err_msg(&err, err.code));
    free(path);
}

static void put_lines(struct bz_buf *m, const char *name, const struct pair *v, int n, unsigned f)
{
    bz_buf_printf(m, "  \"%s\": [", name);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i].flags & f)
            bz_buf_printf(m, "%s%d", k++ ? ", " : "", i + 1);
    bz_buf_puts(m, "],\n");
}

/* Pair counts per template family: together with the hand-written pairs and the
 * oddities they make the ~300 lines of pairs.jsonl. */
enum {
    N_MATH = 50,
    N_CONVERT = 45,
    N_TABLE = 8,
    N_REVERSE = 12,
    N_SORT = 18,
    N_COUNT = 20,
    N_PRIME = 10,
    N_GCD = 8,
    N_JA_CALC = 6,
    N_DUPS = 6,
};

static void make_pairs(const char *src, const char *out)
{
    struct pairs pool = {0};
    char *path = bz_path_join(src, "pairs.txt");
    load_pairs(path, &pool);
    free(path);
    for (int i = 0; i < pool.n; i++)
        if (!strset_add(&seen, pair_key(&pool.v[i])))
            die("hand-written pair %s duplicates an earlier one", pool.v[i].id);
    gen_arithmetic(&pool, N_MATH);
    gen_conversions(&pool, N_CONVERT);
    gen_tables(&pool, N_TABLE);
    gen_reverse(&pool, N_REVERSE);
    gen_sort(&pool, N_SORT);
    gen_count(&pool, N_COUNT);
    gen_primes(&pool, N_PRIME);
    gen_gcd(&pool, N_GCD);
    gen_ja(&pool, N_JA_CALC);
    gen_long(&pool);

    /* The repetition loop: a degenerate answer as a small model produces it. */
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < 30; i++)
        bz_buf_puts(&b, i ? " The sky is blue because of the way sunlight is scattered."
                          : "The sky is blue because of the way sunlight is scattered.");
    int c = 0;
    add_unique(&pool, "loop", &c, bz_strdup("Why is the sky blue? Answer in two sentences."), NULL,
               bz_buf_steal(&b), F_LOOP);

    for (int i = pool.n - 1; i > 0; i--) {
        int j = (int)(rng_next() % (uint64_t)(i + 1));
        struct pair t = pool.v[i];
        pool.v[i] = pool.v[j];
        pool.v[j] = t;
    }

    /* Duplicates: copies of plain pairs from several families, each placed 5-80 rows
     * after its original, with an id of its own (as a generator that ran twice makes). */
    static const char *dup_from[N_DUPS] = {"cook-", "math-", "ja-0", "howto-", "convert-", "code-"};
    struct pairs fin = {0};
    int dup_at[N_DUPS], dup_src[N_DUPS];
    for (int d = 0; d < N_DUPS; d++) {
        dup_src[d] = -1;
        int start = rng_int(0, pool.n - 1);
        for (int j = 0; j < pool.n && dup_src[d] < 0; j++) {
            int i = (start + j) % pool.n;
            int taken = 0;
            for (int e = 0; e < d; e++)
                taken |= dup_src[e] == i;
            if (!taken && !(pool.v[i].flags & ~(unsigned)F_JA) && i < pool.n - 100 &&
                !strncmp(pool.v[i].id, dup_from[d], strlen(dup_from[d])))
                dup_src[d] = i;
        }
        if (dup_src[d] < 0)
            die("no pair with id prefix %s to duplicate", dup_from[d]);
        dup_at[d] = dup_src[d] + rng_int(5, 80);
    }
    int invalid_after = pool.n / 2;
    for (int i = 0; i < pool.n; i++) {
        *pairs_add(&fin) = pool.v[i];
        for (int d = 0; d < N_DUPS; d++)
            if (dup_src[d] >= 0 && dup_at[d] == i) {
                int orig = -1;
                for (int k = 0; k < fin.n; k++)
                    if (fin.v[k].id == pool.v[dup_src[d]].id)
                        orig = k;
                struct pair *p = pairs_add(&fin);
                *p = fin.v[orig];
                p->id = bz_asprintf("%s-2", fin.v[orig].id);
                p->flags = F_DUP;
                p->dup_of = orig;
            }
        if (i == invalid_after) {
            struct pair *p = pairs_add(&fin);
            p->id = bz_strdup("cook-broken");
            p->flags = F_INVALID;
        }
    }

    for (int i = 0; i < fin.n; i++) {
        if (fin.v[i].flags & F_INVALID) {
            /* A record cut off in the middle of a string, as a crashed writer leaves it. */
            bz_buf_puts(&b, "{\"id\":\"cook-broken\",\"instruction\":\"How long should I boil an "
                            "egg for a soft yolk?\",\"input\":\"\",\"output\":\"About six "
                            "minutes in boiling water, then coo\n");
            continue;
        }
        put_pair(&b, &fin.v[i]);
    }
    char *dir = bz_path_join(out, "demo");
    write_file(dir, "pairs.jsonl", &b);
    bz_buf_cleanup(&b);

    int nja = 0, nsys = 0;
    for (int i = 0; i < fin.n; i++) {
        nja += !!(fin.v[i].flags & F_JA);
        nsys += fin.v[i].system != NULL;
    }
    bz_buf_init(&b);
    bz_buf_puts(&b, "{\n  \"file\": \"pairs.jsonl\",\n");
    bz_buf_printf(&b, "  \"lines\": %d,\n  \"valid_records\": %d,\n", fin.n, fin.n - 1);
    bz_buf_puts(&b, "  \"note\": \"line numbers are 1-based; duplicates are [line, line of the "
                    "original]\",\n");
    put_lines(&b, "invalid_lines", fin.v, fin.n, F_INVALID);
    bz_buf_puts(&b, "  \"exact_duplicates\": [");
    int k = 0;
    for (int i = 0; i < fin.n; i++)
        if (fin.v[i].flags & F_DUP)
            bz_buf_printf(&b, "%s[%d, %d]", k++ ? ", " : "", i + 1, fin.v[i].dup_of + 1);
    bz_buf_puts(&b, "],\n");
    put_lines(&b, "empty_responses", fin.v, fin.n, F_EMPTY);
    bz_buf_puts(&b, "  \"refusals_en\": [");
    k = 0;
    for (int i = 0; i < fin.n; i++)
        if ((fin.v[i].flags & F_REFUSAL) && !(fin.v[i].flags & F_JA))
            bz_buf_printf(&b, "%s%d", k++ ? ", " : "", i + 1);
    bz_buf_puts(&b, "],\n  \"refusals_ja\": [");
    k = 0;
    for (int i = 0; i < fin.n; i++)
        if ((fin.v[i].flags & F_REFUSAL) && (fin.v[i].flags & F_JA))
            bz_buf_printf(&b, "%s%d", k++ ? ", " : "", i + 1);
    bz_buf_puts(&b, "],\n");
    put_lines(&b, "repetition_loops", fin.v, fin.n, F_LOOP);
    put_lines(&b, "long_outputs", fin.v, fin.n, F_LONG_OUT);
    put_lines(&b, "long_instructions", fin.v, fin.n, F_LONG_INSTR);
    bz_buf_printf(&b, "  \"japanese_count\": %d,\n", nja);
    put_lines(&b, "japanese", fin.v, fin.n, F_JA);
    bz_buf_printf(&b, "  \"with_system_count\": %d\n}\n", nsys);
    write_file(dir, "pairs-manifest.json", &b);
    bz_buf_cleanup(&b);
    for (int i = 0; i < fin.n; i++)
        if (fin.v[i].flags & F_LONG_OUT) {
            size_t n = strlen(fin.v[i].output);
            if (n < 5000 || n > 20480)
                die("long answer %s has %zu bytes, outside 5-20 KB", fin.v[i].id, n);
        }
    fprintf(stderr, "gen-demo: pairs.jsonl: %d lines (%d Japanese)\n", fin.n, nja);
    free(dir);
    for (int i = 0; i < fin.n; i++)
        if (fin.v[i].flags & (F_DUP | F_INVALID))
            free(fin.v[i].id);
    for (int i = 0; i < pool.n; i++) {
        struct pair *p = &pool.v[i];
        free(p->id);
        free(p->system);
        free(p->instruction);
        free(p->input);
        free(p->output);
    }
    free(pool.v);
    free(fin.v);
    for (int i = 0; i < seen.n; i++)
        free(seen.v[i]);
    free(seen.v);
}

/* ---------------------------------------------------------------- chat.jsonl */

static void put_msg(struct bz_buf *b, int first, const char *role, const char *content)
{
    bz_buf_printf(b, "%s{\"role\":\"%s\",\"content\":", first ? "" : ",", role);
    bz_buf_json_str(b, content, strlen(content));
    bz_buf_putc(b, '}');
}

/* Multi-turn conversations whose answers are computed: a follow-up builds on the
 * previous answer, which is what a chat record adds over a single pair. */
static void gen_chats(struct bz_buf *b, int want)
{
    for (int c = 1; c <= want; c++) {
        bz_buf_printf(b, "{\"id\":\"chat-calc-%03d\",\"messages\":[", c);
        char *t;
        int kind = c % 4;
        if (kind == 0) {
            int x = rng_int(12, 99), y = rng_int(12, 99), z = rng_int(2, 9);
            put_msg(b, 1, "system", "You are a patient math tutor. Keep answers short.");
            put_msg(b, 0, "user", t = bz_asprintf("What is %d + %d?", x, y)), free(t);
            put_msg(b, 0, "assistant", t = bz_asprintf("%d + %d = %d.", x, y, x + y)), free(t);
            put_msg(b, 0, "user", t = bz_asprintf("And if I multiply that by %d?", z)), free(t);
            put_msg(b, 0, "assistant", t = bz_asprintf("%d × %d = %d.", x + y, z, (x + y) * z)),
                free(t);
        } else if (kind == 1) {
            int d = rng_int(2, 30);
            put_msg(b, 1, "user", t = bz_asprintf("How many hours are in %d days?", d)), free(t);
            put_msg(b, 0, "assistant", t = bz_asprintf("%d × 24 = %d hours.", d, d * 24)), free(t);
            put_msg(b, 0, "user", "And how many minutes is that?");
            put_msg(b, 0, "assistant",
                    t = bz_asprintf("%d hours × 60 = %d minutes.", d * 24, d * 1440));
            free(t);
        } else if (kind == 2) {
            const char *s = phrases[rng_next() % BZ_ARRAY_SIZE(phrases)];
            size_t n = strlen(s);
            char *r = bz_malloc(n + 1), *u = bz_malloc(n + 1);
            for (size_t i = 0; i < n; i++) {
                r[i] = s[n - 1 - i];
                u[i] = (char)toupper((unsigned char)r[i]);
            }
            r[n] = u[n] = 0;
            put_msg(b, 1, "user", t = bz_asprintf("Reverse the string \"%s\".", s)), free(t);
            put_msg(b, 0, "assistant", t = bz_asprintf("\"%s\"", r)), free(t);
            put_msg(b, 0, "user", "Now write the result in capital letters.");
            put_msg(b, 0, "assistant", t = bz_asprintf("\"%s\"", u)), free(t);
            free(r);
            free(u);
        } else {
            int cc = rng_int(-10, 40);
            char *f = dec_str(18LL * cc + 320, 1);
            int hot = cc >= 25, cold = cc <= 5;
            put_msg(b, 1, "system", "You are a helpful assistant.");
            put_msg(b, 0, "user",
                    t = bz_asprintf("The forecast says %d °C tomorrow. What is that in "
                                    "Fahrenheit?",
                                    cc)),
                free(t);
            put_msg(b, 0, "assistant",
                    t = bz_asprintf("%d °C is %s °F (%d × 1.8 + 32).", cc, f, cc)),
                free(t);
            put_msg(b, 0, "user", "Do I need a coat?");
            put_msg(b, 0, "assistant",
                    hot ? "Probably not: that is a warm day. Light clothes and water are a better "
                          "idea."
                    : cold ? "Yes, that is cold. Take a warm coat, and maybe gloves and a hat."
                           : "A light jacket or a sweater should be enough; it is mild but can "
                             "feel cool in the morning and evening.");
            free(f);
        }
        bz_buf_puts(b, "]}\n");
    }
}

static void make_chat(const char *src, const char *out)
{
    struct srec *v;
    char *path = bz_path_join(src, "chat.txt");
    int n = src_parse(path, &v);
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < n; i++) {
        char id[64] = "", kind[16] = "";
        if (sscanf(v[i].head, "%15s %63s", kind, id) < 2 || strcmp(kind, "chat"))
            die("%s: record %d: expected \"@@ chat ID\"", path, i + 1);
        if (v[i].nsec < 2)
            die("%s: chat %s has fewer than two messages", path, id);
        bz_buf_puts(&b, "{\"id\":");
        bz_buf_json_str(&b, id, strlen(id));
        bz_buf_puts(&b, ",\"messages\":[");
        const char *prev = NULL;
        for (int k = 0; k < v[i].nsec; k++) {
            const char *role = v[i].sec[k].name;
            int ok = !strcmp(role, "system")      ? k == 0
                     : !strcmp(role, "user")      ? !prev || strcmp(prev, "user")
                     : !strcmp(role, "assistant") ? prev && !strcmp(prev, "user")
                                                  : 0;
            if (!ok || !*v[i].sec[k].text)
                die("%s: chat %s: message %d (%s) is empty or out of order", path, id, k + 1, role);
            put_msg(&b, k == 0, role, v[i].sec[k].text);
            prev = role;
        }
        if (strcmp(prev, "assistant"))
            die("%s: chat %s does not end with an assistant message", path, id);
        bz_buf_puts(&b, "]}\n");
    }
    free(path);
    src_free(v, n);
    gen_chats(&b, 60 - n > 8 ? 60 - n : 8);
    char *dir = bz_path_join(out, "demo");
    write_file(dir, "chat.jsonl", &b);
    bz_buf_cleanup(&b);
    free(dir);
}

/* ---------------------------------------------------------------- questions.jsonl */

/* questions.jsonl keeps the references inside each question (as MT-Bench's own question
 * file does for some); questions-reference.jsonl repeats them in FastChat's
 * reference-answer layout for tools that read that file. */

static void make_questions(const char *src, const char *out)
{
    static const char *cats[] = {"writing", "roleplay",   "reasoning", "math",
                                 "coding",  "extraction", "stem",      "humanities"};
    struct srec *v;
    char *path = bz_path_join(src, "questions.txt");
    int n = src_parse(path, &v);
    struct bz_buf b, ref;
    bz_buf_init(&b);
    bz_buf_init(&ref);
    int per_cat[8] = {0};
    for (int i = 0; i < n; i++) {
        char kind[16] = "", cat[32] = "";
        int qid = 0;
        if (sscanf(v[i].head, "%15s %d %31s", kind, &qid, cat) < 3 || strcmp(kind, "question"))
            die("%s: record %d: expected \"@@ question N CATEGORY\"", path, i + 1);
        if (qid != i + 1)
            die("%s: question ids must run 1, 2, ... (got %d at record %d)", path, qid, i + 1);
        int ci = -1;
        for (int k = 0; k < 8; k++)
            if (!strcmp(cat, cats[k]))
                ci = k;
        if (ci < 0)
            die("%s: question %d: unknown category \"%s\"", path, qid, cat);
        per_cat[ci]++;
        int nt = 0, nr = 0;
        for (int k = 0; k < v[i].nsec; k++) {
            if (!strcmp(v[i].sec[k].name, "turn"))
                nt++;
            else if (!strcmp(v[i].sec[k].name, "reference"))
                nr++;
            else
                die("%s: question %d: unknown section \"%s\"", path, qid, v[i].sec[k].name);
        }
        int needs_ref = ci == 2 || ci == 3 || ci == 4;
        if (nt != 2 || nr != (needs_ref ? 2 : 0))
            die("%s: question %d: %d turns and %d references (want 2 and %d)", path, qid, nt, nr,
                needs_ref ? 2 : 0);
        bz_buf_printf(&b, "{\"question_id\":%d,\"category\":\"%s\",\"turns\":[", qid, cat);
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                if (!nr)
                    break;
                bz_buf_puts(&b, "],\"reference\":[");
            }
            int k2 = 0;
            for (int k = 0; k < v[i].nsec; k++)
                if (!strcmp(v[i].sec[k].name, pass ? "reference" : "turn")) {
                    if (k2++)
                        bz_buf_putc(&b, ',');
                    bz_buf_json_str(&b, v[i].sec[k].text, strlen(v[i].sec[k].text));
                }
        }
        bz_buf_puts(&b, "]}\n");
        if (nr) {
            /* The same references in FastChat's reference-answer file layout. */
            bz_buf_printf(&ref,
                          "{\"question_id\":%d,\"model_id\":\"bezoar-reference\","
                          "\"choices\":[{\"index\":0,\"turns\":[",
                          qid);
            int k2 = 0;
            for (int k = 0; k < v[i].nsec; k++)
                if (!strcmp(v[i].sec[k].name, "reference")) {
                    if (k2++)
                        bz_buf_putc(&ref, ',');
                    bz_buf_json_str(&ref, v[i].sec[k].text, strlen(v[i].sec[k].text));
                }
            bz_buf_puts(&ref, "]}]}\n");
        }
    }
    for (int k = 0; k < 8; k++)
        if (per_cat[k] != 3)
            die("%s: category %s has %d questions (want 3)", path, cats[k], per_cat[k]);
    free(path);
    src_free(v, n);
    write_file(out, "questions.jsonl", &b);
    write_file(out, "questions-reference.jsonl", &ref);
    bz_buf_cleanup(&b);
    bz_buf_cleanup(&ref);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen-demo SRC_DIR OUT_DIR\n"
                        "  reads SRC_DIR/{pairs,chat,questions}.txt, writes OUT_DIR/demo/"
                        "{pairs.jsonl,chat.jsonl,pairs-manifest.json},\n"
                        "  OUT_DIR/questions.jsonl and OUT_DIR/questions-reference.jsonl\n");
        return 2;
    }
    struct bz_err err = {0};
    char *demo = bz_path_join(argv[2], "demo");
    if (bz_mkdir_p(demo, &err) < 0)
        die("%s", bz_err_msg(&err, err.code));
    free(demo);
    make_pairs(argv[1], argv[2]);
    make_chat(argv[1], argv[2]);
    make_questions(argv[1], argv[2]);
    return 0;
}
