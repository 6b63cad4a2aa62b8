/*
 * tok-bpe.c: byte-level BPE (GPT-2 style), as llama.cpp's llm_tokenizer_bpe: the
 * pre-tokenizer cuts the text into words, each word's bytes are mapped to GPT-2's
 * printable byte characters (bytes_to_unicode), and adjacent symbols are merged by
 * merge rank (lowest first, ties leftmost) until no pair has a rank.
 *
 * Key idea: symbols stay contiguous in the encoded word, so a pair is looked up by
 * the bytes of the two symbols plus the length of the left one, with no copying.
 *
 * Invalid UTF-8: each invalid byte is a word of its own (llama.cpp would replace it
 * by U+FFFD first), so every byte survives a round trip. A symbol that is not a
 * token falls back to its single-byte tokens, else unk, else it is dropped (as
 * llama.cpp drops it); real byte-level vocabs have every byte character.
 */
#include <string.h>

#include "core/tok-internal.h"

/* Index of b among the bytes GPT-2 does not print as themselves, or -1. */
static int nonprint_index(unsigned b)
{
    if (b <= 32)
        return (int)b;
    if (b >= 127 && b <= 160)
        return 33 + (int)(b - 127);
    if (b == 173)
        return 67;
    return -1;
}

int core__tok_bpe_byte_char(unsigned b, char out[2])
{
    int k = nonprint_index(b);
    uint32_t cp = k < 0 ? b : 256 + (uint32_t)k;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

int core__tok_bpe_char_byte(uint32_t cp)
{
    if (cp < 256)
        return nonprint_index(cp) < 0 ? (int)cp : -1;
    if (cp < 256 + 68) {
        int k = (int)(cp - 256);
        if (k <= 32)
            return k;
        if (k <= 66)
            return 127 + (k - 33);
        return 173;
    }
    return -1;
}

struct bpe_sym {
    int prev, next;
    uint32_t off, n;
};

struct bpe_bigram {
    int rank, left, right;
    uint32_t ln, rn;
};

static int bigram_before(const struct bpe_bigram *a, const struct bpe_bigram *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

struct bpe_state {
    struct bz_buf word;
    struct bpe_sym *syms;
    size_t cap_syms;
    struct bpe_bigram *heap;
    size_t nheap, cap_heap;
};

static void heap_push(struct bpe_state *st, struct bpe_bigram b)
{
    if (st->nheap == st->cap_heap) {
        st->cap_heap = st->cap_heap ? st->cap_heap * 2 : 64;
        st->heap = bz_realloc(st->heap, st->cap_heap * sizeof(*st->heap));
    }
    size_t i = st->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&b, &st->heap[parent]))
            break;
        st->heap[i] = st->heap[parent];
        i = parent;
    }
    st->heap[i] = b;
}

static struct bpe_bigram heap_pop(struct bpe_state *st)
{
    struct bpe_bigram top = st->heap[0], last = st->heap[--st->nheap];
    size_t i = 0, n = st->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && bigram_before(&st->heap[c + 1], &st->heap[c]))
            c++;
        if (!bigram_before(&st->heap[c], &last))
            break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    if (n)
        st->heap[i] = last;
    return top;
}

static void add_bigram(const struct core_vocab *v, struct bpe_state *st, int left, int right)
{
    if (left < 0 || right < 0)
        return;
    const struct bpe_sym *l = &st->syms[left], *r = &st->syms[right];
    int rank = core__vocab_merge_rank(v, st->word.p + l->off, l->n, r->n);
    if (rank < 0)
        return;
    struct bpe_bigram b = {rank, left, right, l->n, r->n};
    heap_push(st, b);
}

static void emit_symbol(const struct core_vocab *v, const char *s, size_t n, struct core_ids *out)
{
    int id = core_vocab_find(v, s, n);
    if (id >= 0) {
        core_ids_push(out, id);
        return;
    }
    for (size_t j = 0; j < n; j++) {
        int b = core_vocab_find(v, s + j, 1);
        if (b < 0)
            b = v->unk;
        if (b >= 0)
            core_ids_push(out, b);
    }
}

/* Merge one byte-encoded word (in st->word) and emit its tokens. */
static void bpe_word(const struct core_vocab *v, struct bpe_state *st, struct core_ids *out)
{
    const char *w = st->word.p;
    size_t n = st->word.len;
    if (v->ignore_merges) {
        int id = core_vocab_find(v, w, n);
        if (id >= 0) {
            core_ids_push(out, id);
            return;
        }
    }
    if (n > st->cap_syms) {
        st->cap_syms = n;
        st->syms = bz_realloc(st->syms, n * sizeof(*st->syms));
    }
    int ns = 0;
    for (size_t off = 0; off < n;) {
        unsigned char c = (unsigned char)w[off];
        size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        len = BZ_MIN(len, n - off);
        st->syms[ns] = (struct bpe_sym){ns - 1, off + len == n ? -1 : ns + 1, (uint32_t)off,
                                        (uint32_t)len};
        off += len;
        ns++;
    }
    st->nheap = 0;
    for (int i = 1; i < ns; i++)
        add_bigram(v, st, i - 1, i);
    while (st->nheap) {
        struct bpe_bigram b = heap_pop(st);
        struct bpe_sym *l = &st->syms[b.left], *r = &st->syms[b.right];
        if (l->n == 0 || r->n == 0 || l->n != b.ln || r->n != b.rn)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            st->syms[r->next].prev = b.left;
        add_bigram(v, st, l->prev, b.left);
        add_bigram(v, st, b.left, l->next);
    }
    for (int i = 0; i != -1; i = st->syms[i].next)
        emit_symbol(v, w + st->syms[i].off, st->syms[i].n, out);
}

static void encode_word(const struct core_vocab *v, struct bpe_state *st, const char *s,
                        size_t n, struct core_ids *out)
{
    st->word.len = 0;
    bz_buf_reserve(&st->word, n * 2 + 1);
    char *d = st->word.p;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char two[2];
        int m = core__tok_bpe_byte_char((unsigned char)s[i], two);
        d[k++] = two[0];
        if (m == 2)
            d[k++] = two[1];
    }
    d[k] = 0;
    st->word.len = k;
    if (k)
        bpe_word(v, st, out);
}

int core__tok_bpe_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err)
{
    struct bpe_state st;
    memset(&st, 0, sizeof(st));
    bz_buf_init(&st.word);
    struct core__tok_spans spans = {0};
    int rc = 0;
    size_t i = 0;
    while (i < n && rc == 0) {
        /* the longest valid UTF-8 run from i goes through the pre-tokenizer */
        size_t ok = bz_utf8_check(text + i, n - i);
        if (ok > 0) {
            spans.n = 0;
            rc = core__tok_pretok_split(v->priv->pretok, text + i, ok, &spans, err);
            for (size_t k = 0; rc == 0 && k < spans.n; k++)
                encode_word(v, &st, text + i + spans.p[k].off, spans.p[k].len, out);
            i += ok;
        } else {
            /* an invalid byte: a word of its own, its byte's token */
            int id = v->priv->byte_tok[(unsigned char)text[i]];
            if (id < 0)
                id = v->unk;
            if (id >= 0)
                core_ids_push(out, id);
            i++;
        }
    }
    free(spans.p);
    free(st.syms);
    free(st.heap);
    bz_buf_cleanup(&st.word);
    return rc;
}
