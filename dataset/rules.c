/*
 * rules.c: the rule flags of one record: empty response, refusal-style answer,
 * repetition loop, long response; and the normalized content hash that finds
 * exact duplicates.
 *
 * Key ideas: refusals are a fixed list of phrases (English, Japanese, Chinese)
 * matched case-insensitively in the response's first 4 KiB; a repetition loop is a
 * run of tokens with period p (1..64) that repeats at least 4 times and covers at
 * least 24 tokens (words, or single CJK characters); duplicates compare every role
 * and content with ASCII case folded and whitespace collapsed.
 *
 * Left out: near-duplicates (MinHash) and model-based quality scores.
 */
#include "dataset/internal.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ASCII-only classes: the result must not depend on the locale. */
#define A_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define A_PUNCT(c) (((c) >= '!' && (c) <= '/') || ((c) >= ':' && (c) <= '@') || \
                    ((c) >= '[' && (c) <= '`') || ((c) >= '{' && (c) <= '~'))
#define A_LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))

size_t ds__utf8_chars(const char *s)
{
    size_t len = strlen(s), n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) /* a counted loop, so that it vectorises */
        n += (p[i] & 0xC0) != 0x80;
    return n;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!A_SPACE((unsigned char)*s))
            return 0;
    return 1;
}

/* Lowercase phrases, and anchors: every phrase contains one of the anchors, so the
 * phrase list is searched only when an anchor occurs (few responses have one). */
static const char *const refusal_anchors[] = {
    "as an", "as a language", "an ai", "i can", "として", "できません", "私はai", "作为",
};
static const char *const refusal_phrases[] = {
    "as an ai language model", "as a language model", "as an ai assistant", "as an ai,",
    "as an ai model", "as an artificial intelligence", "i'm an ai", "i am an ai",
    "i'm sorry, but i cannot", "i'm sorry, but i can't", "i am sorry, but i cannot",
    "i cannot fulfill", "i can't fulfill", "i can't assist with that", "i cannot assist with that",
    /* Japanese */
    "ai言語モデルとして", "言語モデルとして", "aiアシスタントとして", "私はaiなので",
    "私はaiです", "お答えできません", "お手伝いできません",
    /* Chinese */
    "作为一个人工智能", "作为一个ai", "作为ai语言模型", "作为一个语言模型",
};

static int refusal(const char *resp)
{
    char low[4097];
    size_t n = 0;
    for (; resp[n] && n < sizeof low - 1; n++)
        low[n] = (char)A_LOWER((unsigned char)resp[n]);
    low[n] = '\0';
    int anchored = 0;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(refusal_anchors) && !anchored; i++)
        anchored = strstr(low, refusal_anchors[i]) != NULL;
    if (!anchored)
        return 0;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(refusal_phrases); i++)
        if (strstr(low, refusal_phrases[i]))
            return 1;
    return 0;
}

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

static int repetition(const char *resp)
{
    static _Thread_local uint64_t tok[MAX_TOK];
    size_t n = tokens(resp, tok);
    size_t maxp = BZ_MIN((size_t)64, n / 4);
    for (size_t p = 1; p <= maxp; p++) {
        size_t run = 0;
        for (size_t i = 0; i + p < n; i++) {
            if (tok[i] == tok[i + p]) {
                run++;
                if (run + p >= 24 && run + p >= 4 * p)
                    return 1;
            } else {
                run = 0;
            }
        }
    }
    return 0;
}

unsigned ds__rules_flags(const struct ds_record *r)
{
    const char *resp = ds_record_response(r);
    unsigned f = 0;
    if (r->chosen)
        f |= DS_F_PREF;
    if (blank(resp)) {
        f |= DS_F_EMPTY;
        return f;
    }
    if (refusal(resp))
        f |= DS_F_REFUSAL;
    if (repetition(resp))
        f |= DS_F_REPEAT;
    if (ds__utf8_chars(resp) > DS_LONG_CHARS)
        f |= DS_F_LONG;
    return f;
}

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
