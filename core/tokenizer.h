/*
 * tokenizer.h: vocabularies and the two tokenizers Llama-family models use, exact to
 * llama.cpp: SentencePiece-style BPE by piece scores with byte fallback (<0xXX>), and
 * byte-level BPE by merge ranks after a pre-tokenizer regex named by the vocab
 * (tokenizer.ggml.pre), run by PCRE2 with Unicode properties.
 *
 * Key idea: one in-memory vocab (token text, score, type; merges) filled from GGUF
 * metadata, a llama2.c tokenizer.bin or a Hugging Face tokenizer.json, and one
 * encode path as llama.cpp's llama_tokenize_impl: special tokens are split out of the
 * text first (user-defined ones always, control ones only with CORE_TOK_SPECIAL),
 * each remaining text run goes through the vocab's algorithm.
 *
 * Invalid UTF-8 (documented behaviour, differs from llama.cpp where noted):
 * - SPM: each byte that does not form a vocab piece becomes its <0xXX> token (as
 *   llama.cpp), so decode gives the bytes back exactly; without byte tokens, unk.
 * - byte-level BPE: each invalid byte is a pre-token of its own, encoded as that byte
 *   (llama.cpp would turn it into U+FFFD); decode gives the bytes back exactly.
 * - SPM writes spaces as U+2581, so a U+2581 in the text decodes as a space (as
 *   SentencePiece does); every other text decodes back exactly.
 * - decode returns raw bytes; the streaming decoder never emits half a character and
 *   replaces bytes that cannot form a valid character by U+FFFD.
 *
 * WordPiece (BERT) vocabs work as llama.cpp's (uncased, accents dropped).
 *
 * Left out: Unigram (T5) and RWKV vocabs, which are refused by name.
 */
#ifndef CORE_TOKENIZER_H
#define CORE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

struct core_gguf; /* core/gguf.h */

enum core_vocab_kind {
    CORE_VOCAB_SPM = 1, /* tokenizer.ggml.model "llama": scores, byte fallback */
    CORE_VOCAB_BPE = 2, /* tokenizer.ggml.model "gpt2": byte-level, merges */
    CORE_VOCAB_WPM = 3, /* tokenizer.ggml.model "bert": WordPiece, U+2581 word starts */
};

/* Token types as GGUF stores them (tokenizer.ggml.token_type). */
enum core_token_type {
    CORE_TOKEN_NORMAL = 1,
    CORE_TOKEN_UNKNOWN = 2,
    CORE_TOKEN_CONTROL = 3,
    CORE_TOKEN_USER = 4,   /* user-defined: split out of text even without SPECIAL */
    CORE_TOKEN_UNUSED = 5,
    CORE_TOKEN_BYTE = 6,   /* <0xXX> */
};

/* Token attributes beyond the type: strip spaces around a special token when it is
 * split out of text (llama.cpp sets these for Phi-3 by model name). */
enum { CORE_TOKEN_LSTRIP = 1, CORE_TOKEN_RSTRIP = 2 };

struct core_token {
    char *text;      /* as stored in the vocab (byte-level form for BPE); NUL-terminated */
    uint32_t len;
    float score;
    uint8_t type;    /* enum core_token_type */
    uint8_t attr;    /* CORE_TOKEN_LSTRIP | CORE_TOKEN_RSTRIP */
};

struct core_vocab__priv;

/* A vocabulary. Fields are read-only after core_vocab_finish; ids are -1 when the
 * vocab has no such token. Safe to share between threads once finished. */
struct core_vocab {
    int kind;                    /* enum core_vocab_kind */
    int n_tokens;
    struct core_token *tokens;   /* [n_tokens] */
    int bos, eos, unk, pad, eot;
    int add_bos, add_eos;        /* the vocab's default for CORE_TOK_ADD_BOS */
    int add_space_prefix;        /* SPM: a space is put before the text */
    /* WPM: BOS is [CLS] and EOS is [SEP]; add_bos and add_eos are both set */
    int ignore_merges;           /* BPE: a pre-token that is a whole token skips merges */
    char pre[32];                /* pre-tokenizer name (BPE), "" for SPM */
    char *chat_template;         /* the model's Jinja template text, or NULL */
    char *name;                  /* general.name or file name, or NULL */
    struct core_vocab__priv *priv;
};

/* Flags for core_tokenizer_encode. */
enum {
    CORE_TOK_ADD_BOS = 1,  /* put BOS first (when the vocab has one) */
    CORE_TOK_ADD_EOS = 2,  /* put EOS last */
    CORE_TOK_SPECIAL = 4,  /* parse control tokens ("<|im_start|>") in the text */
};

/* Flags for decoding. */
enum {
    CORE_DETOK_SPECIAL = 1,      /* render control tokens as their text (else nothing) */
    CORE_DETOK_STRIP_PREFIX = 2, /* drop the space the SPM prefix added (first piece) */
};

/* A growable array of token ids. */
struct core_ids {
    int32_t *p;
    size_t n, cap;
};
void core_ids_init(struct core_ids *ids);
void core_ids_cleanup(struct core_ids *ids);
void core_ids_push(struct core_ids *ids, int32_t id);

/* ---------------------------------------------------------------- vocab (vocab.c) */

/* An empty vocab of a kind, to fill with core_vocab_add / core_vocab_add_merge and
 * seal with core_vocab_finish. Caller frees with core_vocab_free. */
struct core_vocab *core_vocab_new(int kind);
/* Takes NULL. */
void core_vocab_free(struct core_vocab *v);
/* Append a token (text copied); returns its id. */
int core_vocab_add(struct core_vocab *v, const char *text, size_t len, float score, int type);
/* Append a BPE merge "LEFT RIGHT" (split at the first space after the first byte);
 * its rank is its order. BZ_EFORMAT when there is no such space. */
int core_vocab_add_merge(struct core_vocab *v, const char *merge, size_t len, struct bz_err *err);
/* Set the pre-tokenizer by name (BPE); an unknown name is BZ_EUNSUPPORTED, named. */
int core_vocab_set_pre(struct core_vocab *v, const char *pre, struct bz_err *err);
/* Build lookup tables, find byte tokens, compile the pre-tokenizer. Must be called
 * once after the last add and before any encode. */
int core_vocab_finish(struct core_vocab *v, struct bz_err *err);
/* The id of the token with exactly this text, or -1. */
int core_vocab_find(const struct core_vocab *v, const char *text, size_t len);
/* "spm", "bpe" or "wpm". */
const char *core_vocab_kind_name(int kind);

/* From GGUF metadata (tokenizer.ggml.*); works on vocab-only files. An unknown model
 * or pre-tokenizer is refused by name. */
int core_vocab_from_gguf(struct core_vocab **out, const struct core_gguf *g, struct bz_err *err);
/* From a llama2.c tokenizer.bin (max_token_length, then score, len, bytes per token
 * until the end of the file); ids 0/1/2 are <unk>/<s>/</s>, <0xXX> are byte tokens. */
int core_vocab_from_llama2c(struct core_vocab **out, const char *path, struct bz_err *err);
/* The same from memory (name is used in messages). */
int core_vocab_from_llama2c_mem(struct core_vocab **out, const void *data, size_t n,
                                const char *name, struct bz_err *err);
/* From a Hugging Face tokenizer.json (model BPE with byte_fallback, or byte-level BPE
 * whose pre-tokenizer regex is one we know), plus tokenizer_config.json beside it for
 * the chat template, BOS/EOS and add_bos_token. path is the file or its directory. */
int core_vocab_from_hf(struct core_vocab **out, const char *path, struct bz_err *err);
/* Any of the above by path: *.gguf (or GGUF magic), *.json or a directory with
 * tokenizer.json (Hugging Face), else a llama2.c tokenizer.bin; a llama2.c model .bin
 * finds its tokenizer as core_model_open does ($BEZOAR_TOKENIZER, tokenizer.bin or
 * tok<V>.bin beside it). For a model already open as GGUF, core_vocab_from_gguf on its
 * reader avoids a second open. */
int core_vocab_open(struct core_vocab **out, const char *path, struct bz_err *err);

/* ------------------------------------------------------- encode/decode (tokenizer.c) */

/* Encode n bytes of text, appending ids to *out. flags: CORE_TOK_*. */
int core_tokenizer_encode(const struct core_vocab *v, const char *text, size_t n, int flags,
                          struct core_ids *out, struct bz_err *err);
/* Append the bytes of one token to *out (flags: CORE_DETOK_*; STRIP_PREFIX drops one
 * leading space). Unknown ids are BZ_ERANGE. */
int core_tokenizer_piece(const struct core_vocab *v, int32_t id, int flags, struct bz_buf *out,
                         struct bz_err *err);
/* Decode ids to bytes appended to *out. With CORE_DETOK_STRIP_PREFIX on an SPM vocab
 * that adds a space prefix, the first piece loses one leading space, so that
 * decode(encode(x)) == x. */
int core_tokenizer_decode(const struct core_vocab *v, const int32_t *ids, size_t n, int flags,
                          struct bz_buf *out, struct bz_err *err);

/* Streaming decoder: feed ids one at a time, get only whole UTF-8 characters out.
 * Bytes that cannot start or continue a valid character come out as U+FFFD. */
struct core_tokenizer_stream {
    const struct core_vocab *v;
    int flags;
    int first;
    unsigned char pend[4];
    int npend;
};
void core_tokenizer_stream_init(struct core_tokenizer_stream *s, const struct core_vocab *v,
                                int flags);
/* Append the complete characters that id finishes to *out. */
int core_tokenizer_stream_push(struct core_tokenizer_stream *s, int32_t id, struct bz_buf *out,
                               struct bz_err *err);
/* End of stream: a dangling incomplete character comes out as U+FFFD. */
void core_tokenizer_stream_flush(struct core_tokenizer_stream *s, struct bz_buf *out);

#endif
