/*
 * tok-internal.h: private declarations shared by the tokenizer files (vocab.c,
 * tokenizer.c, tok-spm.c, tok-bpe.c, tok-pretok.c). Not part of core.h.
 *
 * Lookup tables are open-addressing hash tables of uint32 slots holding index + 1
 * (0 = empty), keyed by bytes hashed with XXH3; they never shrink.
 */
#ifndef CORE_TOK_INTERNAL_H
#define CORE_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"
#include "core/tokenizer.h"

/* A merge "L R" stored as the concatenation LR and the length of L, so that a lookup
 * is a hash of the contiguous bytes of two adjacent symbols. */
struct core__tok_merge {
    char *text;
    uint32_t len;
    uint32_t left_len;
};

struct core__tok_pretok;

struct core_vocab__priv {
    int cap_tokens;
    uint32_t *tok_slots;           /* token text -> id */
    size_t tok_mask;
    struct core__tok_merge *merges; /* [n_merges], rank = index */
    int n_merges, cap_merges;
    uint32_t *merge_slots;         /* (LR, |L|) -> rank */
    size_t merge_mask;
    int byte_tok[256];             /* SPM: <0xXX>; BPE: the byte-level char; -1 */
    int *special;                  /* tokens split out of text, longest first */
    int n_special;
    struct core__tok_pretok *pretok;
    size_t max_token_len;          /* bytes of the longest token text */
    int spm_word_split;            /* SPM: no piece has U+2581 after another character
                                    * (but U+2581), so words merge independently */
    int finished;
};

/* A span of the input: [off, off + len). */
struct core__tok_span {
    size_t off, len;
};
struct core__tok_spans {
    struct core__tok_span *p;
    size_t n, cap;
};
void core__tok_spans_push(struct core__tok_spans *s, size_t off, size_t len);

/* Rank of the merge of left (ln bytes) immediately followed by right (rn bytes) in
 * memory; -1 when there is none. */
int core__vocab_merge_rank(const struct core_vocab *v, const char *left, size_t ln, size_t rn);

/* core_tokenizer_encode with two extras for chat templates: with ranges
 * ([start, end) pairs), control tokens are recognised only wholly inside them; with
 * prev_special (SPM), the space prefix state carries across calls (in: whether the
 * text follows a special token or the start; out: the state after the text). */
int core__tokenizer_encode_ex(const struct core_vocab *v, const char *text, size_t n, int flags,
                              const size_t *ranges, size_t n_ranges, int *prev_special,
                              struct core_ids *out, struct bz_err *err);

/* SPM on one text run (already prefixed and with spaces escaped to U+2581). */
int core__tok_spm_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err);
/* WordPiece on one text run. */
int core__tok_wpm_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err);
/* Byte-level BPE on one text run: pre-tokenize, byte-encode, merge. */
int core__tok_bpe_encode(const struct core_vocab *v, const char *text, size_t n,
                         struct core_ids *out, struct bz_err *err);
/* The byte-level (GPT-2 bytes_to_unicode) form of byte b: 1 or 2 UTF-8 bytes. */
int core__tok_bpe_byte_char(unsigned b, char out[2]);
/* The byte a byte-level code point stands for, or -1. */
int core__tok_bpe_char_byte(uint32_t cp);

/* Pre-tokenizer: compiled regexes of a named pre-tokenizer. */
int core__tok_pretok_new(struct core__tok_pretok **out, const char *name, int *ignore_merges,
                         struct bz_err *err);
void core__tok_pretok_free(struct core__tok_pretok *p);
/* Split valid UTF-8 text into pre-tokens (spans appended to *out, covering all of
 * the text in order). */
int core__tok_pretok_split(const struct core__tok_pretok *p, const char *text, size_t n,
                           struct core__tok_spans *out, struct bz_err *err);
/* Whether a pre-tokenizer name is known. */
int core__tok_pretok_known(const char *name);

#endif
