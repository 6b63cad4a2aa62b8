/*
 * rules.c: the rule flags of one record (empty, short, long, refusal, repetition
 * loop, echo of the instruction, language mismatch, control characters), the rule
 * configuration they read (assets/filters/rules.json and refusals-*.txt, compiled in
 * by the Makefile as gen/filters.h, so the files are the one copy), the flag names
 * and explanations, and the normalized content hash that finds exact duplicates.
 *
 * Key ideas: each rule is one pass over the text, so the analysis pass of a big file
 * stays fast. Refusal phrases are found with a bitmap of their first two (lowercased)
 * bytes, then compared; a phrase does not count inside quotes, glued to a word, or
 * when the instruction itself contains it. A repetition loop is a run of tokens with
 * period p that repeats repeat_min_count times and covers repeat_min_tokens tokens
 * (words, or single CJK characters). Languages are told apart by script (Latin,
 * kana+kanji, Han only, Hangul, Cyrillic, ...) with code blocks left out; short texts
 * and translation instructions are never flagged. Duplicates compare every role and
 * content with ASCII case folded and whitespace collapsed.
 *
 * Left out: near duplicates (neardup.c), model-based scores (scores.c), real language
 * identification (two Latin-script languages look the same here).
 */
#include "dataset/filter.h"
#include "dataset/internal.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "filters.h" /* generated: ds__refusal_lists, ds__rules_json */

/* ASCII-only classes: the result must not depend on the locale. */
#define A_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define A_PUNCT(c) (((c) >= '!' && (c) <= '/') || ((c) >= ':' && (c) <= '@') || \
                    ((c) >= '[' && (c) <= '`') || ((c) >= '{' && (c) <= '~'))
#define A_LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define A_ALNUM(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || \
                    ((c) >= 'A' && (c) <= 'Z'))

/* ---------------------------------------------------------------- flag names */

static const struct {
    const char *name, *explain;
} flag_info[DS_F_NBITS] = {
    {"bad", "the record could not be parsed"},
    {"dup", "exact duplicate of an earlier record (case and spacing ignored)"},
    {"empty", "the response is empty or only whitespace"},
    {"refusal", "the response refuses or speaks \"as an AI language model\" "
                "(assets/filters/refusals-*.txt)"},
    {"repeat", "the response loops: a run of words repeats over and over"},
    {"long", "the response (or the instruction) is longer than the limit"},
    {"edited", "edited by hand: the journal holds the new text"},
    {"pref", "a preference pair (chosen and rejected answers)"},
    {"short", "the response is shorter than the limit or has no letter or digit"},
    {"echo", "the response repeats the instruction"},
    {"lang", "the response is in another script than the instruction"},
    {"ctrl", "invalid UTF-8 or control characters in the text"},
    {"neardup", "near duplicate of another record (MinHash, similar wording)"},
};

const char *ds_flag_name(unsigned f)
{
    for (int i = 0; i < DS_F_NBITS; i++)
        if (f == 1u << i)
            return flag_info[i].name;
    return NULL;
}

const char *ds_flag_explain(unsigned f)
{
    for (int i = 0; i < DS_F_NBITS; i++)
        if (f == 1u << i)
            return flag_info[i].explain;
    return NULL;
}

unsigned ds_flag_parse(const char *name)
{
    for (int i = 0; name && i < DS_F_NBITS; i++)
        if (strcmp(name, flag_info[i].name) == 0)
            return 1u << i;
    return 0;
}

/* The flags a rules file may switch. */
#define CONFIGURABLE (DS_F_EMPTY | DS_F_SHORT | DS_F_LONG | DS_F_REFUSAL | DS_F_REPEAT | \
                      DS_F_ECHO | DS_F_LANG | DS_F_CTRL | DS_F_DUP | DS_F_NEARDUP)

/* ---------------------------------------------------------------- phrases */

struct ds__phrases {
    char **p;          /* lowercased (ASCII) */
    size_t *len;
    uint16_t *pair;    /* first two bytes */
    size_t n, cap;
    uint8_t first[65536 / 8];
};

static uint16_t pair_of(const unsigned char *s)
{
    return (uint16_t)(A_LOWER(s[0]) << 8 | A_LOWER(s[1]));
}

static void phrases_free(struct ds__phrases *ph)
{
    if (!ph)
        return;
    for (size_t i = 0; i < ph->n; i++)
        free(ph->p[i]);
    free(ph->p);
    free(ph->len);
    free(ph->pair);
    free(ph);
}

static int phrases_add(struct ds__phrases *ph, const char *s, const char *name,
                       struct bz_err *err)
{
    size_t n = strlen(s);
    if (n < 2 || n > 256)
        return bz_errf(err, BZ_EINVAL, "%s: refusals: phrase \"%s\" must have 2 to 256 bytes",
                       name, s);
    if (bz_utf8_check(s, n) < n)
        return bz_errf(err, BZ_EINVAL, "%s: refusals: phrase \"%s\" is not valid UTF-8", name,
                       s);
    if (ph->n == ph->cap) {
        ph->cap = ph->cap ? ph->cap * 2 : 64;
        ph->p = bz_realloc(ph->p, ph->cap * sizeof *ph->p);
        ph->len = bz_realloc(ph->len, ph->cap * sizeof *ph->len);
        ph->pair = bz_realloc(ph->pair, ph->cap * sizeof *ph->pair);
    }
    char *low = bz_strdup(s);
    for (char *c = low; *c; c++)
        *c = (char)A_LOWER((unsigned char)*c);
    ph->p[ph->n] = low;
    ph->len[ph->n] = n;
    ph->pair[ph->n] = pair_of((const unsigned char *)low);
    ph->first[ph->pair[ph->n] >> 3] |= (uint8_t)(1u << (ph->pair[ph->n] & 7));
    ph->n++;
    return 0;
}

/* Case-insensitive (ASCII) search of the lowercase needle in hay. */
static int ci_contains(const char *hay, const char *needle, size_t nlen)
{
    size_t hlen = strlen(hay);
    for (size_t i = 0; i + nlen <= hlen; i++) {
        size_t k = 0;
        while (k < nlen && A_LOWER((unsigned char)hay[i + k]) == (unsigned char)needle[k])
            k++;
        if (k == nlen)
            return 1;
    }
    return 0;
}

/* Is byte i inside a quotation: right after an opening quote (after spaces), or
 * after an unclosed quote earlier in its line (up to 300 bytes back)? Double quotes
 * toggle; 「『“« open and 」』”» close; a lone ' only counts right before. */
static int quoted_before(const unsigned char *s, size_t i)
{
    size_t j = i;
    while (j > 0 && s[j - 1] == ' ')
        j--;
    if (j > 0 && (s[j - 1] == '\'' || s[j - 1] == '`'))
        return 1;
    size_t from = i > 300 ? i - 300 : 0;
    for (size_t k = i; k > from; k--)
        if (s[k - 1] == '\n') {
            from = k;
            break;
        }
    int depth = 0, dq = 0;
    for (size_t k = from; k < i; k++) {
        if (s[k] == '"') {
            dq = !dq;
        } else if (s[k] == 0xE3 && s[k + 1] == 0x80) {
            depth += s[k + 2] == 0x8C || s[k + 2] == 0x8E; /* 「 『 */
            depth -= depth > 0 && (s[k + 2] == 0x8D || s[k + 2] == 0x8F);
        } else if (s[k] == 0xE2 && s[k + 1] == 0x80) {
            depth += s[k + 2] == 0x9C;                     /* “ */
            depth -= depth > 0 && s[k + 2] == 0x9D;        /* ” */
        } else if (s[k] == 0xC2) {
            depth += s[k + 1] == 0xAB;                     /* « */
            depth -= depth > 0 && s[k + 1] == 0xBB;        /* » */
        }
    }
    return dq || depth > 0;
}

static int refusal(const struct ds__phrases *ph, const char *resp, size_t window,
                   const char *prompt)
{
    if (!ph || ph->n == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)resp;
    size_t total = strlen(resp), n = BZ_MIN(total, window);
    for (size_t i = 0; i + 1 < n; i++) {
        uint16_t key = pair_of(s + i);
        if (!(ph->first[key >> 3] & (1u << (key & 7))))
            continue;
        for (size_t k = 0; k < ph->n; k++) {
            if (ph->pair[k] != key || i + ph->len[k] > total)
                continue;
            const unsigned char *q = (const unsigned char *)ph->p[k];
            size_t j = 2;
            while (j < ph->len[k] && A_LOWER(s[i + j]) == q[j])
                j++;
            if (j < ph->len[k])
                continue;
            if (A_ALNUM(q[0]) && i > 0 && A_ALNUM(s[i - 1]))
                continue; /* "has an ai" is not "as an ai" */
            size_t e = i + ph->len[k];
            if (A_ALNUM(q[ph->len[k] - 1]) && A_ALNUM(s[e]))
                continue; /* "i'm an airline pilot" is not "i'm an ai" */
            if (quoted_before(s, i) || ci_contains(prompt, ph->p[k], ph->len[k]))
                continue;
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- configuration */

static void rules_clear_skip(struct ds_rules *r)
{
    for (size_t i = 0; i < r->n_lang_skip; i++)
        free(r->lang_skip[i]);
    free(r->lang_skip);
    r->lang_skip = NULL;
    r->n_lang_skip = 0;
}

void ds_rules_free(struct ds_rules *r)
{
    if (!r)
        return;
    rules_clear_skip(r);
    phrases_free(r->refusals);
    free(r);
}

size_t ds_rules_refusal_count(const struct ds_rules *r)
{
    return r->refusals ? r->refusals->n : 0;
}

static int get_size(const cJSON *v, const char *name, const char *key, double lo, double hi,
                    size_t *out, struct bz_err *err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
        v->valuedouble < lo || v->valuedouble > hi)
        return bz_errf(err, BZ_EINVAL, "%s: %s: expected a whole number from %.0f to %.0f",
                       name, key, lo, hi);
    *out = (size_t)v->valuedouble;
    return 0;
}

static int get_int(const cJSON *v, const char *name, const char *key, double lo, double hi,
                   int *out, struct bz_err *err)
{
    size_t s;
    int rc = get_size(v, name, key, lo, hi, &s, err);
    if (rc == 0)
        *out = (int)s;
    return rc;
}

static int get_strings(const cJSON *v, const char *name, const char *key, struct bz_err *err)
{
    if (!cJSON_IsArray(v))
        return bz_errf(err, BZ_EINVAL, "%s: %s: expected an array of strings", name, key);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e))
            return bz_errf(err, BZ_EINVAL, "%s: %s: expected an array of strings", name, key);
    }
    return 0;
}

static int set_refusals(struct ds_rules *r, const cJSON *v, const char *name,
                        struct bz_err *err)
{
    int rc = get_strings(v, name, "refusals", err);
    if (rc < 0)
        return rc;
    struct ds__phrases *ph = bz_calloc(1, sizeof *ph);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        const char *s = e->valuestring;
        if (s[0] != '@') {
            rc = phrases_add(ph, s, name, err);
        } else {
            size_t k = 0;
            while (k < BZ_ARRAY_SIZE(ds__refusal_lists) && strcmp(ds__refusal_lists[k].name,
                                                                  s + 1) != 0)
                k++;
            if (k == BZ_ARRAY_SIZE(ds__refusal_lists)) {
                rc = bz_errf(err, BZ_EINVAL, "%s: refusals: no built-in list \"%s\" (the "
                             "lists are assets/filters/refusals-NAME.txt)", name, s);
            } else {
                for (const char *const *p = ds__refusal_lists[k].list; *p && rc == 0; p++)
                    rc = phrases_add(ph, *p, name, err);
            }
        }
        if (rc < 0) {
            phrases_free(ph);
            return rc;
        }
    }
    phrases_free(r->refusals);
    r->refusals = ph;
    return 0;
}

static int apply_key(struct ds_rules *r, const cJSON *v, const char *name, struct bz_err *err)
{
    const char *k = v->string;
    if (k[0] == '_')
        return 0; /* a comment */
    if (!strcmp(k, "flags")) {
        int rc = get_strings(v, name, k, err);
        if (rc < 0)
            return rc;
        unsigned en = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            unsigned f = ds_flag_parse(e->valuestring);
            if (!(f & CONFIGURABLE))
                return bz_errf(err, BZ_EINVAL, "%s: flags: \"%s\" is not a filter flag "
                               "(empty, short, long, refusal, repeat, echo, lang, ctrl, dup, "
                               "neardup)", name, e->valuestring);
            en |= f;
        }
        r->enabled = en;
        return 0;
    }
    if (!strcmp(k, "short_chars"))
        return get_size(v, name, k, 0, 1e6, &r->short_chars, err);
    if (!strcmp(k, "long_chars"))
        return get_size(v, name, k, 1, 1e9, &r->long_chars, err);
    if (!strcmp(k, "long_prompt_chars"))
        return get_size(v, name, k, 0, 1e9, &r->long_prompt_chars, err);
    if (!strcmp(k, "refusal_window"))
        return get_size(v, name, k, 16, 1 << 20, &r->refusal_window, err);
    if (!strcmp(k, "repeat_min_tokens"))
        return get_int(v, name, k, 2, 8192, &r->repeat_min_tokens, err);
    if (!strcmp(k, "repeat_min_count"))
        return get_int(v, name, k, 2, 1000, &r->repeat_min_count, err);
    if (!strcmp(k, "repeat_max_period"))
        return get_int(v, name, k, 1, 1024, &r->repeat_max_period, err);
    if (!strcmp(k, "echo_min_chars"))
        return get_size(v, name, k, 1, 1e6, &r->echo_min_chars, err);
    if (!strcmp(k, "lang_min_letters"))
        return get_size(v, name, k, 1, 1e6, &r->lang_min_letters, err);
    if (!strcmp(k, "echo_share") || !strcmp(k, "near_threshold")) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble <= 1))
            return bz_errf(err, BZ_EINVAL, "%s: %s: expected a number above 0, at most 1",
                           name, k);
        *(k[0] == 'e' ? &r->echo_share : &r->near_threshold) = v->valuedouble;
        return 0;
    }
    if (!strcmp(k, "refusals"))
        return set_refusals(r, v, name, err);
    if (!strcmp(k, "lang_skip_words")) {
        int rc = get_strings(v, name, k, err);
        if (rc < 0)
            return rc;
        rules_clear_skip(r);
        r->lang_skip = bz_calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *r->lang_skip);
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            char *w = bz_strdup(e->valuestring);
            for (char *c = w; *c; c++)
                *c = (char)A_LOWER((unsigned char)*c);
            if (!w[0]) {
                free(w);
                return bz_errf(err, BZ_EINVAL, "%s: lang_skip_words: empty word", name);
            }
            r->lang_skip[r->n_lang_skip++] = w;
        }
        return 0;
    }
    if (!strcmp(k, "shingle") || !strcmp(k, "keep")) {
        int shingle = k[0] == 's';
        const char *s = cJSON_IsString(v) ? v->valuestring : "";
        if (shingle && (!strcmp(s, "auto") || !strcmp(s, "word") || !strcmp(s, "char"))) {
            r->shingle = !strcmp(s, "auto") ? DS_SHINGLE_AUTO
                         : !strcmp(s, "word") ? DS_SHINGLE_WORD : DS_SHINGLE_CHAR;
            return 0;
        }
        if (!shingle && (!strcmp(s, "first") || !strcmp(s, "longest"))) {
            r->keep = !strcmp(s, "first") ? DS_KEEP_FIRST : DS_KEEP_LONGEST;
            return 0;
        }
        return bz_errf(err, BZ_EINVAL, "%s: %s: expected %s", name, k,
                       shingle ? "\"auto\", \"word\" or \"char\"" : "\"first\" or \"longest\"");
    }
    return bz_errf(err, BZ_EINVAL, "%s: unknown key \"%s\" (see assets/filters/rules.json)",
                   name, k);
}

static int apply_json(struct ds_rules *r, const char *json, size_t len, const char *name,
                      struct bz_err *err)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return bz_errf(err, BZ_EPARSE, "%s: not a JSON object", name);
    }
    int rc = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        if ((rc = apply_key(r, v, name, err)) < 0)
            break;
    }
    cJSON_Delete(o);
    return rc;
}

static struct ds_rules *default_rules;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    struct ds_rules *r = bz_calloc(1, sizeof *r);
    struct bz_err err = {0};
    int rc = apply_json(r, ds__rules_json, sizeof ds__rules_json - 1, "assets/filters/rules.json",
                        &err);
    if (rc < 0) { /* the compiled-in asset is broken: a build error, tested */
        fprintf(stderr, "bezoar: %s\n", bz_err_msg(&err, rc));
        abort();
    }
    default_rules = r;
}

const struct ds_rules *ds_rules_default(void)
{
    pthread_once(&default_once, default_init);
    return default_rules;
}

int ds_rules_parse(struct ds_rules **out, const char *json, size_t len, const char *name,
                   struct bz_err *err)
{
    *out = NULL;
    struct ds_rules *r = bz_calloc(1, sizeof *r);
    int rc = apply_json(r, ds__rules_json, sizeof ds__rules_json - 1, "defaults", err);
    if (rc == 0)
        rc = apply_json(r, json, len, name, err);
    if (rc < 0) {
        ds_rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ds_rules_load(struct ds_rules **out, const char *path, struct bz_err *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = bz_read_file(path, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = ds_rules_parse(out, text, len, path, err);
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- text helpers */

size_t ds__utf8_chars(const char *s)
{
    size_t len = strlen(s), n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) /* a counted loop, so that it vectorises */
        n += (p[i] & 0xC0) != 0x80;
    return n;
}

/* Decode the code point at s (n bytes left); *k gets its length (1 for a bad byte,
 * which decodes as U+FFFD). */
static uint32_t decode(const unsigned char *s, size_t n, int *k)
{
    if (s[0] < 0x80) {
        *k = 1;
        return s[0];
    }
    int l = bz_utf8_seq_len(s, n);
    if (l == 0) {
        *k = 1;
        return 0xFFFD;
    }
    *k = l;
    if (l == 2)
        return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    if (l == 3)
        return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
           (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

static int uspace(uint32_t c)
{
    return c == 0xA0 || c == 0x3000 || c == 0xFEFF || (c >= 0x2000 && c <= 0x200B) ||
           c == 0x202F || c == 0x205F;
}

static int blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        if (A_SPACE(p[i])) {
            i++;
            continue;
        }
        int k;
        if (!uspace(decode(p + i, n - i, &k)))
            return 0;
        i += (size_t)k;
    }
    return 1;
}

static int alnum_cp(uint32_t c)
{
    if (c < 0x80)
        return A_ALNUM(c);
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* SHORT: fewer than min code points once trimmed, or no letter or digit at all. */
static int too_short(const char *s, size_t min)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), cps = 0, trail_space = 0;
    int alnum = 0, started = 0;
    for (size_t i = 0; i < n;) {
        int k;
        uint32_t c = decode(p + i, n - i, &k);
        i += (size_t)k;
        int sp = c < 0x80 ? A_SPACE(c) : uspace(c);
        if (sp && !started)
            continue;
        started = 1;
        cps++;
        trail_space = sp ? trail_space + 1 : 0;
        alnum |= alnum_cp(c);
        if (alnum && cps >= min + trail_space)
            return 0;
    }
    return !alnum || cps - trail_space < min;
}

/* Scan s 8 bytes at a time: *ascii gets whether every byte is below 0x80; returns 1
 * when an ASCII control byte (C0 but tab and newlines, or DEL) occurs in the ASCII
 * prefix scanned. Stops at the first non-ASCII word (the caller then checks UTF-8). */
static int ascii_scan(const unsigned char *p, size_t n, int *ascii, size_t *stop)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    size_t i = 0;
    *ascii = 1;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & high) {
            *ascii = 0;
            break;
        }
        uint64_t lt = (w - 0x20 * ones) & ~w & high;  /* a byte below 0x20 (or a borrow) */
        uint64_t x = w ^ (0x7F * ones);
        uint64_t del = (x - ones) & ~x & high;        /* a byte equal to 0x7F */
        if (lt | del) {
            for (size_t k = i; k < i + 8; k++)
                if ((p[k] < 0x20 && p[k] != '\t' && p[k] != '\n' && p[k] != '\r') || p[k] == 0x7F)
                    return 1;
        }
    }
    for (; i < n && *ascii; i++) {
        if (p[i] >= 0x80) {
            *ascii = 0;
            break;
        }
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7F)
            return 1;
    }
    *stop = i;
    return 0;
}

/* CTRL: invalid UTF-8, C0 controls but tab and newlines, DEL, C1 controls, U+FFFD.
 * *ascii (may be NULL) gets whether s is plain ASCII. */
static int bad_chars(const char *s, int *ascii)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    int plain;
    if (ascii_scan(p, n, &plain, &i)) {
        if (ascii)
            *ascii = 0; /* unknown: the scan stopped early */
        return 1;
    }
    if (ascii)
        *ascii = plain;
    if (plain)
        return 0;
    for (; i < n;) { /* from the first word with a high byte: every byte before is ASCII */
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7F) {
            i++;
            continue;
        }
        if (c < 0x20) {
            if (c != '\t' && c != '\n' && c != '\r')
                return 1;
            i++;
            continue;
        }
        if (c == 0x7F)
            return 1;
        int k = bz_utf8_seq_len(p + i, n - i);
        if (k == 0)
            return 1;
        if (c == 0xC2 && p[i + 1] < 0xA0)
            return 1;
        if (c == 0xEF && p[i + 1] == 0xBF && p[i + 2] == 0xBD)
            return 1;
        i += (size_t)k;
    }
    return 0;
}

/* CTRL over every text of the record; *ap and *ar get whether the prompt and the
 * response are plain ASCII (-1 when not known). */
static int record_bad_chars(const struct ds_record *r, const char *prompt, const char *resp,
                            int *ap, int *ar)
{
    int bad = 0, a;
    for (int i = 0; i < r->n_msgs && !bad; i++) {
        const char *c = r->msgs[i].content;
        if (!c)
            continue;
        bad = bad_chars(c, &a);
        *ap = c == prompt ? a : *ap;
        *ar = c == resp ? a : *ar;
    }
    if (!bad && r->chosen) {
        bad = bad_chars(r->chosen, &a);
        *ar = r->chosen == resp ? a : *ar;
    }
    if (!bad && r->rejected)
        bad = bad_chars(r->rejected, &a);
    return bad;
}

/* ---------------------------------------------------------------- repetition */

/* Tokens: words between ASCII whitespace/punctuation, and each code point from U+3000
 * up (CJK text has no spaces) as its own token. */
#define MAX_TOK 8192
static size_t tokens(const char *s, uint64_t *tok)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n < MAX_TOK) {
        if (A_SPACE(*p) || A_PUNCT(*p)) {
            p++;
            continue;
        }
        const unsigned char *q = p;
        if (*p >= 0xE3) { /* U+3000 and up: one code point */
            q++;
            while ((*q & 0xC0) == 0x80)
                q++;
        } else {
            while (*q && !A_SPACE(*q) && !A_PUNCT(*q) && *q < 0xE3)
                q++;
        }
        uint64_t h = 1469598103934665603ull;
        for (const unsigned char *c = p; c < q; c++)
            h = (h ^ (uint64_t)A_LOWER(*c)) * 1099511628211ull;
        tok[n++] = h;
        p = q;
    }
    return n;
}

static int repetition(const struct ds_rules *r, const char *resp)
{
    static _Thread_local uint64_t tok[MAX_TOK];
    size_t n = tokens(resp, tok);
    size_t count = (size_t)r->repeat_min_count, min_tok = (size_t)r->repeat_min_tokens;
    size_t maxp = BZ_MIN((size_t)r->repeat_max_period, n / count);
    for (size_t p = 1; p <= maxp; p++) {
        size_t run = 0;
        for (size_t i = 0; i + p < n; i++) {
            if (tok[i] == tok[i + p]) {
                run++;
                if (run + p >= min_tok && run + p >= count * p)
                    return 1;
            } else {
                run = 0;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- echo */

/* The user message the response answers: the last user turn before it. */
static const char *answered_prompt(const struct ds_record *r)
{
    int end = r->n_msgs;
    if (!r->chosen)
        while (end > 0 && r->msgs[end - 1].role != DS_ROLE_ASSISTANT)
            end--;
    for (int i = end - 1; i >= 0; i--)
        if (r->msgs[i].role == DS_ROLE_USER)
            return r->msgs[i].content;
    return "";
}

#define NORM_CAP 16384
/* s lowercased (ASCII), whitespace runs as one space, trimmed, trailing sentence
 * punctuation dropped, at most n bytes of s. Returns the length, or SIZE_MAX when it
 * does not fit in cap (<= NORM_CAP) bytes. */
static size_t norm(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (A_SPACE(c)) {
            space = o > 0;
            continue;
        }
        if (o + 2 >= cap)
            return SIZE_MAX;
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)A_LOWER(c);
    }
    for (;;) { /* . ? ! 。 ？ ！ at the end */
        if (o > 0 && (out[o - 1] == '.' || out[o - 1] == '?' || out[o - 1] == '!' ||
                      out[o - 1] == ' ')) {
            o--;
        } else if (o >= 3 && ((!memcmp(out + o - 3, "\xE3\x80\x82", 3)) ||
                              !memcmp(out + o - 3, "\xEF\xBC\x9F", 3) ||
                              !memcmp(out + o - 3, "\xEF\xBC\x81", 3))) {
            o -= 3;
        } else {
            break;
        }
    }
    out[o] = '\0';
    return o;
}

static int echo(const struct ds_rules *r, const char *prompt, const char *resp)
{
    static _Thread_local char np[NORM_CAP], nr[NORM_CAP], ni[NORM_CAP];
    /* quick reject: an echo starts with the prompt's first character */
    while (A_SPACE((unsigned char)*resp))
        resp++;
    while (A_SPACE((unsigned char)*prompt))
        prompt++;
    if (A_LOWER((unsigned char)*resp) != A_LOWER((unsigned char)*prompt))
        return 0;
    size_t lp = norm(prompt, SIZE_MAX, np, NORM_CAP);
    if (lp == 0 || lp == SIZE_MAX)
        return 0;
    /* the response can be at most lp / echo_share long to be an echo */
    double lim = (double)lp / r->echo_share + 8;
    size_t lr = norm(resp, SIZE_MAX, nr, lim < NORM_CAP ? (size_t)lim : NORM_CAP);
    if (lr == 0 || lr == SIZE_MAX)
        return 0;
    if (lr == lp && memcmp(nr, np, lr) == 0)
        return 1;
    /* the whole prompt, or its first paragraph (the instruction without its input) */
    const char *para = strstr(prompt, "\n\n");
    size_t li = para ? norm(prompt, (size_t)(para - prompt), ni, NORM_CAP) : 0;
    const char *cand[2] = {np, ni};
    size_t clen[2] = {lp, li == SIZE_MAX ? 0 : li};
    for (int c = 0; c < 2; c++) {
        size_t l = clen[c];
        if (l >= r->echo_min_chars && l <= lr && (double)l >= r->echo_share * (double)lr &&
            memcmp(nr, cand[c], l) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- language */

enum script { SC_NONE, SC_LATIN, SC_KANA, SC_HAN, SC_HANGUL, SC_CYRILLIC, SC_GREEK,
              SC_ARABIC, SC_HEBREW, SC_THAI, SC_DEVANAGARI, SC_OTHER, SC_COUNT };

static int script_of(uint32_t c)
{
    if (c < 0x80)
        return ((c | 32) >= 'a' && (c | 32) <= 'z') ? SC_LATIN : SC_NONE;
    if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF) ||
        (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A))
        return SC_LATIN;
    if ((c >= 0x3041 && c <= 0x30FF && c != 0x30FB && c != 0x30FC) ||
        (c >= 0x31F0 && c <= 0x31FF) || (c >= 0xFF66 && c <= 0xFF9D))
        return SC_KANA;
    if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF))
        return SC_HAN;
    if ((c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) ||
        (c >= 0x3130 && c <= 0x318F))
        return SC_HANGUL;
    if (c >= 0x400 && c <= 0x52F)
        return SC_CYRILLIC;
    if (c >= 0x370 && c <= 0x3FF)
        return SC_GREEK;
    if (c >= 0x600 && c <= 0x6FF)
        return SC_ARABIC;
    if (c >= 0x590 && c <= 0x5FF)
        return SC_HEBREW;
    if (c >= 0xE00 && c <= 0xE7F)
        return SC_THAI;
    if (c >= 0x900 && c <= 0x97F)
        return SC_DEVANAGARI;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO ? SC_OTHER : SC_NONE;
}

enum lang { LANG_UNKNOWN, LANG_JA, LANG_ZH };  /* else SC_* + 100 */

struct langinfo {
    int lang;
    size_t letters, kana;
    int code_like;
    size_t cnt[SC_COUNT]; /* weighted letters per script */
};

/* The language class of s[0..n) by script, code blocks and `code` left out. Letters
 * are weighted: a CJK or Hangul character counts 3. */
static void lang_of(const char *s, size_t n, size_t min_letters, struct langinfo *li)
{
    size_t cnt[SC_COUNT] = {0}, sym = 0, nonspace = 0;
    const unsigned char *p = (const unsigned char *)s;
    int fence = 0, inl = 0;
    for (size_t i = 0; i < n;) {
        if (p[i] == '`') {
            if (i + 2 < n && p[i + 1] == '`' && p[i + 2] == '`') {
                fence = !fence;
                inl = 0;
                i += 3;
            } else {
                inl = fence ? 0 : !inl;
                i++;
            }
            continue;
        }
        if (p[i] == '\n')
            inl = 0;
        int k;
        uint32_t c = decode(p + i, n - i, &k);
        i += (size_t)k;
        if (fence || inl)
            continue;
        if (c < 0x80) {
            if (A_SPACE(c))
                continue;
            nonspace++;
            sym += c == '{' || c == '}' || c == '[' || c == ']' || c == ';' || c == '=' ||
                   c == '<' || c == '>' || c == '(' || c == ')' || c == '_';
        }
        cnt[script_of(c)]++;
    }
    memset(li, 0, sizeof *li);
    /* one CJK character carries about as much as a three-letter word */
    cnt[SC_KANA] *= 3;
    cnt[SC_HAN] *= 3;
    cnt[SC_HANGUL] *= 3;
    size_t letters = 0;
    for (int sc = 1; sc < SC_COUNT; sc++)
        letters += cnt[sc];
    li->letters = letters;
    li->kana = cnt[SC_KANA];
    li->code_like = sym >= 3 && sym * 25 >= nonspace;
    memcpy(li->cnt, cnt, sizeof cnt);
    if (letters < min_letters)
        return;
    size_t cjk = cnt[SC_KANA] + cnt[SC_HAN];
    if (cjk * 2 >= letters) {
        if (cnt[SC_KANA] * 10 >= cjk)
            li->lang = LANG_JA;
        else if (cnt[SC_KANA] == 0)
            li->lang = LANG_ZH;
        return; /* a trace of kana: Japanese or Chinese, cannot say */
    }
    int best = SC_LATIN;
    for (int sc = 1; sc < SC_COUNT; sc++)
        if (sc != SC_KANA && sc != SC_HAN && cnt[sc] > cnt[best])
            best = sc;
    if (cnt[best] * 2 >= letters)
        li->lang = 100 + best;
}

static int all_ascii(const char *s)
{
    unsigned char any = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) /* a counted loop, so that it vectorises */
        any |= (unsigned char)s[i];
    return any < 0x80;
}

static int skip_word(const struct ds_rules *r, const char *prompt)
{
    for (size_t i = 0; i < r->n_lang_skip; i++)
        if (ci_contains(prompt, r->lang_skip[i], strlen(r->lang_skip[i])))
            return 1;
    return 0;
}

static int lang_mismatch(const struct ds_rules *r, const char *prompt, const char *resp,
                         int ascii_prompt, int ascii_resp)
{
    if ((ascii_prompt < 0 ? all_ascii(prompt) : ascii_prompt) &&
        (ascii_resp < 0 ? all_ascii(resp) : ascii_resp))
        return 0; /* both Latin (or neither has letters enough to tell) */
    struct langinfo lp, lr;
    const char *para = strstr(prompt, "\n\n");
    lang_of(prompt, para ? (size_t)(para - prompt) : strlen(prompt), r->lang_min_letters, &lp);
    if (para && lp.letters < r->lang_min_letters)
        lang_of(prompt, strlen(prompt), r->lang_min_letters, &lp);
    if (lp.lang == LANG_UNKNOWN)
        return 0;
    lang_of(resp, strlen(resp), r->lang_min_letters, &lr);
    if (lr.lang == LANG_UNKNOWN || lr.lang == lp.lang)
        return 0;
    if ((lr.code_like && lr.lang == 100 + SC_LATIN) || skip_word(r, prompt))
        return 0; /* code without a fence; a translation or programming task */
    if ((lp.lang == LANG_JA && lr.lang == LANG_ZH) || (lp.lang == LANG_ZH && lr.lang == LANG_JA)) {
        /* kanji-only Japanese is common in short answers: only long Han text counts */
        const struct langinfo *zh = lp.lang == LANG_ZH ? &lp : &lr;
        return zh->letters >= 6 * r->lang_min_letters;
    }
    /* a response that mixes in the instruction's script (terms glossed in English) is
     * not a mismatch: that script must be under a fifth of its letters */
    size_t own = lp.lang == LANG_JA || lp.lang == LANG_ZH
                     ? lr.cnt[SC_KANA] + lr.cnt[SC_HAN] : lr.cnt[lp.lang - 100];
    return own * 5 < lr.letters;
}

/* ---------------------------------------------------------------- the rules */

unsigned ds_rules_flags(const struct ds_rules *r, const struct ds_record *rec)
{
    const char *resp = ds_record_response(rec);
    unsigned en = r->enabled, f = 0;
    if (rec->chosen)
        f |= DS_F_PREF;
    const char *prompt = answered_prompt(rec);
    int ap = -1, ar = -1; /* prompt and response plain ASCII? (-1: not known) */
    if ((en & DS_F_CTRL) && record_bad_chars(rec, prompt, resp, &ap, &ar))
        f |= DS_F_CTRL;
    if (blank(resp)) {
        if (en & DS_F_EMPTY)
            f |= DS_F_EMPTY;
        return f;
    }
    if ((en & DS_F_SHORT) && too_short(resp, r->short_chars))
        f |= DS_F_SHORT;
    if ((en & DS_F_LONG) && (ds__utf8_chars(resp) > r->long_chars ||
                             (r->long_prompt_chars &&
                              ds__utf8_chars(ds_record_prompt(rec)) > r->long_prompt_chars)))
        f |= DS_F_LONG;
    if ((en & DS_F_REFUSAL) && refusal(r->refusals, resp, r->refusal_window, prompt))
        f |= DS_F_REFUSAL;
    if ((en & DS_F_REPEAT) && repetition(r, resp))
        f |= DS_F_REPEAT;
    if ((en & DS_F_ECHO) && echo(r, prompt, resp))
        f |= DS_F_ECHO;
    if ((en & DS_F_LANG) && lang_mismatch(r, prompt, resp, ap, ar))
        f |= DS_F_LANG;
    return f;
}

unsigned ds__rules_flags(const struct ds_record *r)
{
    return ds_rules_flags(ds_rules_default(), r);
}

/* ---------------------------------------------------------------- exact duplicates */

/* Normalized text goes through a small buffer into a streaming XXH3 state. */
struct normh {
    XXH3_state_t st;
    char buf[4096];
    size_t n;
};

static void nh_put(struct normh *h, char c)
{
    if (h->n == sizeof h->buf) {
        XXH3_64bits_update(&h->st, h->buf, h->n);
        h->n = 0;
    }
    h->buf[h->n++] = c;
}

static void norm_append(struct normh *h, const char *s)
{
    int space = 0;
    while (A_SPACE((unsigned char)*s))
        s++;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (A_SPACE(c)) {
            space = 1;
            continue;
        }
        if (space)
            nh_put(h, ' ');
        space = 0;
        nh_put(h, (char)A_LOWER(c));
    }
    nh_put(h, '\0');
}

uint64_t ds__rules_dup_hash(const struct ds_record *r)
{
    static _Thread_local struct normh h;
    XXH3_64bits_reset(&h.st);
    h.n = 0;
    for (int i = 0; i < r->n_msgs; i++) {
        nh_put(&h, (char)('0' + r->msgs[i].role));
        norm_append(&h, r->msgs[i].content);
    }
    if (r->chosen) {
        nh_put(&h, 'c');
        norm_append(&h, r->chosen);
    }
    if (r->rejected) {
        nh_put(&h, 'r');
        norm_append(&h, r->rejected);
    }
    XXH3_64bits_update(&h.st, h.buf, h.n);
    return XXH3_64bits_digest(&h.st);
}

/* Contract: see dataset.h. Flags of a parsed record (no DUP: that needs the dataset). */
unsigned ds_record_flags(const struct ds_record *r)
{
    return ds__rules_flags(r) | (r->flags & (DS_F_BAD | DS_F_EDITED));
}
