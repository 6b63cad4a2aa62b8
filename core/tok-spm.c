/*
 * tok-spm.c: SentencePiece-style BPE by piece scores, as llama.cpp's
 * llm_tokenizer_spm: the text (already space-prefixed and with spaces escaped to
 * U+2581) is cut into UTF-8 characters; every adjacent pair whose concatenation is a
 * vocab piece goes into a max-heap by score (ties: leftmost first); the best pair is
 * merged and its new neighbours pushed, stale entries skipped when popped. Symbols
 * left that are not pieces come out as their bytes' <0xXX> tokens (byte fallback),
 * or unk when the vocab has no byte tokens. An invalid UTF-8 byte is a character of
 * its own (llama.cpp would let a stray lead byte swallow the next bytes).
 *
 * Left out: sampling-based (subword regularisation) encoding.
 */
#include <string.h>

#include "core/tok-internal.h"

struct spm_sym {
    int prev, next;
    size_t off, n; /* n == 0: merged away */
};

struct spm_bigram {
    float score;
    int left, right;
    size_t size;
};

/* Heap order: higher score first, then smaller left index. */
static int bigram_before(const struct spm_bigram *a, const struct spm_bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

/* Starts in caller storage (words are short), moves to the heap when it grows. */
struct spm_heap {
    struct spm_bigram *p;
    size_t n, cap;
    int owned;
};

static void heap_push(struct spm_heap *h, struct spm_bigram b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap * 2;
        struct spm_bigram *np = bz_malloc(cap * sizeof(*np));
        memcpy(np, h->p, h->n * sizeof(*np));
        if (h->owned)
            free(h->p);
        h->p = np;
        h->cap = cap;
        h->owned = 1;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&b, &h->p[parent]))
            break;
        h->p[i] = h->p[parent];
        i = parent;
    }
    h->p[i] = b;
}

static struct spm_bigram heap_pop(struct spm_heap *h)
{
    struct spm_bigram top = h->p[0], last = h->p[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && bigram_before(&h->p[c + 1], &h->p[c]))
            c++;
        if (!bigram_before(&h->p[c], &last))
            break;
        h->p[i] = h->p[c];
        i = c;
    }
    if (h->n)
        h->p[i] = last;
    return top;
}

static void try_add(const struct core_vocab *v, const char *text, const struct spm_sym *syms,
                    int left, int right, struct spm_heap *h)
{
    if (left == -1 || right == -1)
        return;
    size_t n = syms[left].n + syms[right].n;
    int id = core_vocab_find(v, text + syms[left].off, n);
    if (id < 0)
        return;
    struct spm_bigram b = {v->tokens[id].score, left, right, n};
    heap_push(h, b);
}

/* Length of the character at s: the valid UTF-8 sequence there (as llama.cpp's
 * unicode_len_utf8 for valid text), else 1, so that an invalid byte never swallows
 * the bytes after it and comes back exactly from its byte token. */
static size_t char_len(const char *s, size_t avail)
{
    int n = bz_utf8_seq_len((const unsigned char *)s, avail);
    return n > 0 ? (size_t)n : 1;
}

int core__tok_spm_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err)
{
    if (n == 0)
        return 0;
    struct spm_sym small[64];
    struct spm_sym *syms = n <= 64 ? small : malloc(n * sizeof(*syms));
    if (!syms)
        return bz_errf(err, BZ_ENOMEM, "tokenize: %zu bytes: out of memory", n);
    int ns = 0;
    for (size_t off = 0; off < n;) {
        size_t len = char_len(text + off, n - off);
        syms[ns].prev = ns - 1;
        syms[ns].next = off + len == n ? -1 : ns + 1;
        syms[ns].off = off;
        syms[ns].n = len;
        off += len;
        ns++;
    }
    struct spm_bigram hbuf[64];
    struct spm_heap h = {hbuf, 0, 64, 0};
    for (int i = 1; i < ns; i++)
        try_add(v, text, syms, i - 1, i, &h);
    while (h.n) {
        struct spm_bigram b = heap_pop(&h);
        struct spm_sym *l = &syms[b.left], *r = &syms[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            syms[r->next].prev = b.left;
        try_add(v, text, syms, l->prev, b.left, &h);
        try_add(v, text, syms, b.left, l->next, &h);
    }
    if (h.owned)
        free(h.p);

    const int *byte_tok = v->priv->byte_tok;
    for (int i = 0; i != -1; i = syms[i].next) {
        const struct spm_sym *s = &syms[i];
        int id = core_vocab_find(v, text + s->off, s->n);
        if (id >= 0) {
            core_ids_push(out, id);
            continue;
        }
        for (size_t j = 0; j < s->n; j++) {
            int b = byte_tok[(unsigned char)text[s->off + j]];
            if (b < 0)
                b = v->unk;
            if (b < 0) {
                unsigned char c = (unsigned char)text[s->off + j];
                if (syms != small)
                    free(syms);
                return bz_errf(err, BZ_EUNSUPPORTED,
                               "tokenize: byte 0x%02X has no token and the vocab has no unk", c);
            }
            core_ids_push(out, b);
        }
    }
    if (syms != small)
        free(syms);
    return 0;
}
