/*
 * tokenizer.c: encode and decode over a finished vocab, as llama.cpp's
 * llama_tokenize_impl / token_to_piece.
 *
 * Key idea: encoding first cuts special tokens out of the text (longest first;
 * user-defined tokens always, control and unknown ones only with CORE_TOK_SPECIAL,
 * so user content cannot smuggle in "<|im_start|>"), then hands each remaining run
 * to SPM (with the space prefix at the start and after each special token, spaces
 * escaped to U+2581) or byte-level BPE. Decoding maps each id to its bytes; the
 * streaming decoder holds back incomplete UTF-8 sequences across tokens.
 *
 * Left out: EOS/BOS doubling warnings, token-to-piece caches.
 */
#include "core/tokenizer.h"

#include <ctype.h>
#include <string.h>

#include "core/tok-internal.h"

struct frag {
    int id;          /* token id, or -1 for raw text */
    size_t off, len; /* raw text span */
};

struct frags {
    struct frag *p;
    size_t n, cap;
};

static void frag_push(struct frags *f, int id, size_t off, size_t len)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->p = bz_realloc(f->p, f->cap * sizeof(*f->p));
    }
    f->p[f->n++] = (struct frag){id, off, len};
}

static int in_ranges(const size_t *ranges, size_t n_ranges, size_t at, size_t len)
{
    for (size_t i = 0; i < n_ranges; i++)
        if (at >= ranges[2 * i] && at + len <= ranges[2 * i + 1])
            return 1;
    return 0;
}

/* Split the special tokens out of text, as llama.cpp's tokenizer_st_partition.
 * Control/unknown tokens only with CORE_TOK_SPECIAL and, when ranges is given, only
 * where they lie wholly inside one of the ranges. */
static void partition(const struct core_vocab *v, const char *text, int flags,
                      const size_t *ranges, size_t n_ranges, struct frags *cur)
{
    const struct core_vocab__priv *p = v->priv;
    struct frags next = {0};
    for (int k = 0; k < p->n_special; k++) {
        const struct core_token *t = &v->tokens[p->special[k]];
        int ctl = t->type == CORE_TOKEN_CONTROL || t->type == CORE_TOKEN_UNKNOWN;
        if (ctl && !(flags & CORE_TOK_SPECIAL))
            continue;
        int hit = 0;
        for (size_t i = 0; i < cur->n && !hit; i++)
            hit = cur->p[i].id < 0 && memmem(text + cur->p[i].off, cur->p[i].len, t->text, t->len);
        if (!hit)
            continue;
        next.n = 0;
        for (size_t i = 0; i < cur->n; i++) {
            struct frag f = cur->p[i];
            if (f.id >= 0) {
                frag_push(&next, f.id, 0, 0);
                continue;
            }
            size_t pos = f.off, seg = f.off, end = f.off + f.len;
            const char *m;
            while (pos < end && (m = memmem(text + pos, end - pos, t->text, t->len))) {
                size_t at = (size_t)(m - text);
                if (ctl && ranges && !in_ranges(ranges, n_ranges, at, t->len)) {
                    pos = at + 1;
                    continue;
                }
                size_t left = at - seg;
                if (t->attr & CORE_TOKEN_LSTRIP)
                    while (left > 0 && isspace((unsigned char)text[seg + left - 1]))
                        left--;
                if (left > 0)
                    frag_push(&next, -1, seg, left);
                frag_push(&next, p->special[k], 0, 0);
                seg = at + t->len;
                if (t->attr & CORE_TOKEN_RSTRIP)
                    while (seg < end && isspace((unsigned char)text[seg]))
                        seg++;
                pos = seg;
            }
            if (seg < end)
                frag_push(&next, -1, seg, end - seg);
        }
        struct frags tmp = *cur;
        *cur = next;
        next = tmp;
    }
    free(next.p);
}

/* SPM over an escaped run. When no piece can span a word start (a U+2581 after some
 * other character), each word merges on its own: the same result, with small heaps. */
static int spm_run(const struct core_vocab *v, const char *s, size_t n, struct core_ids *out,
                   struct bz_err *err)
{
    if (!v->priv->spm_word_split)
        return core__tok_spm_encode(v, s, n, out, err);
    size_t start = 0;
    for (size_t i = 1; i + 3 <= n; i++) {
        if (memcmp(s + i, "\xe2\x96\x81", 3) != 0 ||
            (i >= 3 && memcmp(s + i - 3, "\xe2\x96\x81", 3) == 0))
            continue;
        int rc = core__tok_spm_encode(v, s + start, i - start, out, err);
        if (rc)
            return rc;
        start = i;
        i += 2;
    }
    return core__tok_spm_encode(v, s + start, n - start, out, err);
}

int core__tokenizer_encode_ex(const struct core_vocab *v, const char *text, size_t n, int flags,
                              const size_t *ranges, size_t n_ranges, int *prev_special,
                              struct core_ids *out, struct bz_err *err)
{
    bz_assert(v->priv->finished);
    if ((flags & CORE_TOK_ADD_BOS) && v->bos >= 0)
        core_ids_push(out, v->bos);
    struct frags fr = {0};
    if (n > 0) {
        frag_push(&fr, -1, 0, n);
        if (v->priv->n_special)
            partition(v, text, flags, ranges, n_ranges, &fr);
    }
    int rc = 0;
    if (v->kind == CORE_VOCAB_SPM) {
        struct bz_buf esc;
        bz_buf_init(&esc);
        int prev = prev_special ? *prev_special : 1;
        for (size_t i = 0; i < fr.n && rc == 0; i++) {
            const struct frag *f = &fr.p[i];
            if (f->id >= 0) {
                core_ids_push(out, f->id);
                prev = 1;
                continue;
            }
            esc.len = 0;
            bz_buf_reserve(&esc, f->len * 3 + 4);
            if (v->add_space_prefix && prev)
                bz_buf_append(&esc, "\xe2\x96\x81", 3);
            const char *s = text + f->off;
            size_t start = 0;
            for (size_t j = 0; j < f->len; j++) {
                if (s[j] == ' ') {
                    bz_buf_append(&esc, s + start, j - start);
                    bz_buf_append(&esc, "\xe2\x96\x81", 3);
                    start = j + 1;
                }
            }
            bz_buf_append(&esc, s + start, f->len - start);
            rc = spm_run(v, esc.p, esc.len, out, err);
            prev = 0;
        }
        bz_buf_cleanup(&esc);
        if (prev_special)
            *prev_special = prev;
    } else {
        for (size_t i = 0; i < fr.n && rc == 0; i++) {
            const struct frag *f = &fr.p[i];
            if (f->id >= 0)
                core_ids_push(out, f->id);
            else if (v->kind == CORE_VOCAB_WPM)
                rc = core__tok_wpm_encode(v, text + f->off, f->len, out, err);
            else
                rc = core__tok_bpe_encode(v, text + f->off, f->len, out, err);
        }
    }
    free(fr.p);
    if (rc == 0 && (flags & CORE_TOK_ADD_EOS) && v->eos >= 0)
        core_ids_push(out, v->eos);
    return rc;
}

/* Encode text; see tokenizer.h. */
int core_tokenizer_encode(const struct core_vocab *v, const char *text, size_t n, int flags,
                          struct core_ids *out, struct bz_err *err)
{
    return core__tokenizer_encode_ex(v, text, n, flags, NULL, 0, NULL, out, err);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                 : 0;
}

/* Append one token's bytes; see tokenizer.h. */
int core_tokenizer_piece(const struct core_vocab *v, int32_t id, int flags, struct bz_buf *out,
                         struct bz_err *err)
{
    if (id < 0 || id >= v->n_tokens)
        return bz_errf(err, BZ_ERANGE, "token id %d out of range (vocab has %d)", (int)id,
                       v->n_tokens);
    const struct core_token *t = &v->tokens[id];
    size_t start = out->len;
    switch (t->type) {
    case CORE_TOKEN_CONTROL:
        if (flags & CORE_DETOK_SPECIAL)
            bz_buf_append(out, t->text, t->len);
        return 0;
    case CORE_TOKEN_UNKNOWN:
    case CORE_TOKEN_USER:
        bz_buf_append(out, t->text, t->len);
        break;
    case CORE_TOKEN_UNUSED:
        return 0;
    case CORE_TOKEN_BYTE:
        if (t->len == 6 && t->text[0] == '<') {
            bz_buf_putc(out, (char)(hexval(t->text[3]) * 16 + hexval(t->text[4])));
            break;
        }
        /* a byte token not spelled <0xXX>: as a normal one */
        /* fall through */
    default:
        if (v->kind != CORE_VOCAB_BPE) {
            size_t s = 0;
            for (size_t j = 0; j + 2 < t->len; j++) {
                if (memcmp(t->text + j, "\xe2\x96\x81", 3) == 0) {
                    bz_buf_append(out, t->text + s, j - s);
                    bz_buf_putc(out, ' ');
                    s = j + 3;
                    j += 2;
                }
            }
            bz_buf_append(out, t->text + s, t->len - s);
        } else {
            const unsigned char *s = (const unsigned char *)t->text;
            size_t j = 0;
            while (j < t->len) {
                int l = bz_utf8_seq_len(s + j, t->len - j);
                if (l == 0) {
                    bz_buf_putc(out, (char)s[j]);
                    j++;
                    continue;
                }
                uint32_t cp = 0x110000; /* 3- and 4-byte characters are no byte chars */
                if (l == 1)
                    cp = s[j];
                else if (l == 2)
                    cp = (uint32_t)(s[j] & 0x1f) << 6 | (s[j + 1] & 0x3f);
                int b = core__tok_bpe_char_byte(cp);
                if (b >= 0)
                    bz_buf_putc(out, (char)b);
                else
                    bz_buf_append(out, s + j, (size_t)l); /* not a byte-level char: as is */
                j += (size_t)l;
            }
        }
        break;
    }
    int prefixed =
        (v->kind == CORE_VOCAB_SPM && v->add_space_prefix) || v->kind == CORE_VOCAB_WPM;
    if ((flags & CORE_DETOK_STRIP_PREFIX) && prefixed && out->len > start && out->p[start] == ' ') {
        memmove(out->p + start, out->p + start + 1, out->len - start - 1);
        out->len--;
        out->p[out->len] = 0;
    }
    return 0;
}

/* Decode ids; see tokenizer.h. */
int core_tokenizer_decode(const struct core_vocab *v, const int32_t *ids, size_t n, int flags,
                          struct bz_buf *out, struct bz_err *err)
{
    int strip = flags & CORE_DETOK_STRIP_PREFIX;
    bz_buf_reserve(out, n * 4 + 1);
    for (size_t i = 0; i < n; i++) {
        int rc = core_tokenizer_piece(v, ids[i], (flags & ~CORE_DETOK_STRIP_PREFIX) | strip, out,
                                      err);
        if (rc)
            return rc;
        if (ids[i] >= 0 && v->tokens[ids[i]].type != CORE_TOKEN_CONTROL)
            strip = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------- streaming */

void core_tokenizer_stream_init(struct core_tokenizer_stream *s, const struct core_vocab *v,
                                int flags)
{
    memset(s, 0, sizeof(*s));
    s->v = v;
    s->flags = flags;
    s->first = 1;
}

static void put_fffd(struct bz_buf *out)
{
    bz_buf_append(out, "\xef\xbf\xbd", 3);
}

static int lead_len(unsigned char c)
{
    return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4
                                                                                          : 0;
}

static void stream_byte(struct core_tokenizer_stream *s, unsigned char c, struct bz_buf *out)
{
    if (s->npend > 0) {
        if ((c & 0xc0) == 0x80) {
            s->pend[s->npend++] = c;
            int need = lead_len(s->pend[0]);
            if (s->npend < need) {
                /* reject overlong and surrogate prefixes as soon as they show */
                if (s->npend == 2 && bz_utf8_seq_len(s->pend, 2) == 0 && need > 2) {
                    unsigned char t[4] = {s->pend[0], s->pend[1], 0x80, 0x80};
                    if (bz_utf8_seq_len(t, (size_t)need) == 0) {
                        put_fffd(out);
                        s->npend = 0;
                    }
                }
                return;
            }
            if (bz_utf8_seq_len(s->pend, (size_t)need) == need)
                bz_buf_append(out, s->pend, (size_t)need);
            else
                put_fffd(out);
            s->npend = 0;
            return;
        }
        put_fffd(out); /* the pending sequence was cut short */
        s->npend = 0;
    }
    if (c < 0x80) {
        bz_buf_putc(out, (char)c);
    } else if (lead_len(c)) {
        s->pend[0] = c;
        s->npend = 1;
    } else {
        put_fffd(out);
    }
}

/* Push one id; see tokenizer.h. */
int core_tokenizer_stream_push(struct core_tokenizer_stream *s, int32_t id, struct bz_buf *out,
                               struct bz_err *err)
{
    struct bz_buf piece;
    bz_buf_init(&piece);
    int flags = s->flags & ~CORE_DETOK_STRIP_PREFIX;
    if (s->first && (s->flags & CORE_DETOK_STRIP_PREFIX))
        flags |= CORE_DETOK_STRIP_PREFIX;
    int rc = core_tokenizer_piece(s->v, id, flags, &piece, err);
    if (rc == 0) {
        if (s->v->tokens[id].type != CORE_TOKEN_CONTROL)
            s->first = 0;
        for (size_t i = 0; i < piece.len; i++)
            stream_byte(s, (unsigned char)piece.p[i], out);
    }
    bz_buf_cleanup(&piece);
    return rc;
}

/* End of stream; see tokenizer.h. */
void core_tokenizer_stream_flush(struct core_tokenizer_stream *s, struct bz_buf *out)
{
    if (s->npend > 0)
        put_fffd(out);
    s->npend = 0;
}
