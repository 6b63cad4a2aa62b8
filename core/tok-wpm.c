/*
 * tok-wpm.c: WordPiece (BERT) as llama.cpp's llm_tokenizer_wpm, for embedding-style
 * vocabs whose GGUF pieces carry a U+2581 "phantom space" at word starts (converted
 * from BERT's ## continuation notation).
 *
 * Key idea: preprocess to words, then longest match first. Each code point is mapped
 * to the first code point of its canonical decomposition (llama.cpp's per-code-point
 * "NFD", which drops accents: "Führer" -> "fuhrer") and lowercased (utf8proc);
 * whitespace ends a word, control characters vanish, punctuation, ASCII symbols and
 * CJK ideographs are words of their own. A word that cannot be covered by pieces
 * becomes unk.
 *
 * Left out: BERT's cased variants (this is the uncased behaviour llama.cpp has).
 */
#include <string.h>
#include <utf8proc.h>

#include "core/tok-internal.h"

static int is_ws(uint32_t c)
{
    return (c >= 0x9 && c <= 0xd) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

static int is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static uint32_t nfd_first(uint32_t c)
{
    utf8proc_int32_t buf[8];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 8, UTF8PROC_DECOMPOSE,
                                                 &last);
    return n >= 1 ? (uint32_t)buf[0] : c;
}

static void put_cp(struct bz_buf *b, uint32_t c)
{
    utf8proc_uint8_t u[4];
    utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)c, u);
    bz_buf_append(b, u, (size_t)n);
}

/* Greedy longest match over "▁" + word; unk when some position has no piece. */
static void wpm_word(const struct core_vocab *v, const char *w, size_t n, size_t max_len,
                     struct bz_buf *tmp, struct core_ids *out)
{
    tmp->len = 0;
    bz_buf_append(tmp, "\xe2\x96\x81", 3);
    bz_buf_append(tmp, w, n);
    const char *s = tmp->p;
    size_t len = tmp->len, before = out->n;
    for (size_t i = 0; i < len;) {
        size_t j = BZ_MIN(len, i + max_len + 1);
        int id = -1;
        for (; j > i; j--) {
            id = core_vocab_find(v, s + i, j - i);
            if (id >= 0)
                break;
        }
        if (id < 0) {
            out->n = before;
            break;
        }
        core_ids_push(out, id);
        i = j;
    }
    if (out->n == before && v->unk >= 0)
        core_ids_push(out, v->unk);
}

int core__tok_wpm_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err)
{
    size_t max_len = v->priv->max_token_len;
    struct bz_buf word, tmp;
    bz_buf_init(&word);
    bz_buf_init(&tmp);
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        int l = bz_utf8_seq_len(u + i, n - i);
        if (l == 0) { /* invalid byte: U+FFFD in llama.cpp, which drops it */
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_iterate(u + i, l, &cp);
        i += (size_t)l;
        uint32_t c = nfd_first((uint32_t)cp);
        int cat = utf8proc_category((utf8proc_int32_t)c);
        if (is_ws(c)) {
            if (word.len)
                wpm_word(v, word.p, word.len, max_len, &tmp, out);
            word.len = 0;
            continue;
        }
        if (c == 0 || c == 0xFFFD || cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
            cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO)
            continue;
        uint32_t lc = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        int punct = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
        int sym = cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
        if (punct || (c < 0x7f && sym) || is_chinese(c)) {
            if (word.len)
                wpm_word(v, word.p, word.len, max_len, &tmp, out);
            word.len = 0;
            put_cp(&word, lc);
            wpm_word(v, word.p, word.len, max_len, &tmp, out);
            word.len = 0;
        } else {
            put_cp(&word, lc);
        }
    }
    if (word.len)
        wpm_word(v, word.p, word.len, max_len, &tmp, out);
    bz_buf_cleanup(&word);
    bz_buf_cleanup(&tmp);
    (void)err;
    return 0;
}
