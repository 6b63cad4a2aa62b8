/*
 * fuzz_tokenizer.c: libFuzzer harness for the tokenizers, vocab loaders and chat
 * templates. The first input byte picks a mode, the rest is the payload:
 *   0 SPM encode + decode round trip (in-memory vocab; must give the bytes back)
 *   1 byte-level BPE encode + round trip, pre-tokenizer picked by the next byte
 *   2 the payload as a llama2.c tokenizer.bin (then encode a fixed text with it)
 *   3 the payload as ids for the streaming decoder (output must be valid UTF-8)
 *   4 the payload as a conversation (NUL-separated turns) for every template
 *   5 the payload as text for $BEZOAR_FUZZ_VOCAB (any vocab path), when set
 *   6 the payload as a GGUF file whose tokenizer.ggml.* metadata makes a vocab
 * Built-in vocabs need nothing outside this file, so replays work without
 * ../shared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/tok-internal.h"

static struct core_vocab *spm, *bpe[4], *ext;
static const char *const pres[4] = {"gpt-2", "llama3", "deepseek-coder", "falcon"};

static struct core_vocab *make_spm(void)
{
    struct core_vocab *v = core_vocab_new(CORE_VOCAB_SPM);
    core_vocab_add(v, "<unk>", 5, 0, CORE_TOKEN_UNKNOWN);
    core_vocab_add(v, "<s>", 3, 0, CORE_TOKEN_CONTROL);
    core_vocab_add(v, "</s>", 4, 0, CORE_TOKEN_CONTROL);
    for (int b = 0; b < 256; b++) {
        char buf[8];
        snprintf(buf, sizeof(buf), "<0x%02X>", b);
        core_vocab_add(v, buf, 6, 0, CORE_TOKEN_BYTE);
    }
    const char *p[] = {"\xe2\x96\x81", "e", "t", "th", "the", "\xe2\x96\x81t", "\xe2\x96\x81the",
                       "\xe6\x97\xa5", "\xe6\x97\xa5\xe6\x9c\xac", "\xe2\x96\x81\xe2\x96\x81",
                       "<|im_start|>", "<|im_end|>"};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
        core_vocab_add(v, p[i], strlen(p[i]), -(float)i,
                       i >= 10 ? CORE_TOKEN_CONTROL : CORE_TOKEN_NORMAL);
    v->bos = 1;
    v->eos = 2;
    v->unk = 0;
    if (core_vocab_finish(v, NULL) != 0)
        abort();
    return v;
}

static struct core_vocab *make_bpe(const char *pre)
{
    struct core_vocab *v = core_vocab_new(CORE_VOCAB_BPE);
    for (unsigned b = 0; b < 256; b++) {
        char c[2];
        int n = core__tok_bpe_byte_char(b, c);
        core_vocab_add(v, c, (size_t)n, 0, CORE_TOKEN_NORMAL);
    }
    const char *m[] = {"\xc4\xa0 t", "t h", "\xc4\xa0t h", "e r", "\xc4\xa0 \xc4\xa0"};
    const char *t[] = {"\xc4\xa0t", "th", "\xc4\xa0th", "er", "\xc4\xa0\xc4\xa0"};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        core_vocab_add(v, t[i], strlen(t[i]), 0, CORE_TOKEN_NORMAL);
        if (core_vocab_add_merge(v, m[i], strlen(m[i]), NULL) != 0)
            abort();
    }
    core_vocab_add(v, "<|endoftext|>", 13, 0, CORE_TOKEN_CONTROL);
    core_vocab_add(v, "\xc3\xbc", 2, 0, CORE_TOKEN_USER); /* a user-defined "ü" */
    if (core_vocab_set_pre(v, pre, NULL) != 0 || core_vocab_finish(v, NULL) != 0)
        abort();
    v->eos = v->n_tokens - 2;
    return v;
}

static void init(void)
{
    if (spm)
        return;
    spm = make_spm();
    for (int i = 0; i < 4; i++)
        bpe[i] = make_bpe(pres[i]);
    const char *path = getenv("BEZOAR_FUZZ_VOCAB");
    if (path && *path && core_vocab_open(&ext, path, NULL) != 0)
        ext = NULL;
}

/* Encode, check ids, decode; with exact, the bytes must come back (vocabs with every
 * byte as a token, no special parsing). */
static void round_trip(const struct core_vocab *v, const uint8_t *d, size_t n, int flags,
                       int exact)
{
    struct core_ids ids;
    core_ids_init(&ids);
    if (core_tokenizer_encode(v, (const char *)d, n, flags, &ids, NULL) == 0) {
        for (size_t i = 0; i < ids.n; i++)
            if (ids.p[i] < 0 || ids.p[i] >= v->n_tokens)
                abort();
        struct bz_buf out;
        bz_buf_init(&out);
        if (core_tokenizer_decode(v, ids.p, ids.n, CORE_DETOK_STRIP_PREFIX, &out, NULL) != 0)
            abort();
        /* without special parsing every byte must come back; user-defined tokens
         * decode to their text, so this holds for them too */
        /* SentencePiece writes spaces as U+2581, so a U+2581 in the text comes back as
         * a space: no exact round trip for such text */
        if (v->kind == CORE_VOCAB_SPM && memmem(d, n, "\xe2\x96\x81", 3))
            exact = 0;
        if (exact && !(flags & CORE_TOK_SPECIAL) &&
            (out.len != n || (n && memcmp(out.p, d, n) != 0)))
            abort();
        bz_buf_cleanup(&out);
    }
    core_ids_cleanup(&ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    int mode = data[0] % 7;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch (mode) {
    case 0:
        round_trip(spm, d, n, 0, 1);
        round_trip(spm, d, n, CORE_TOK_SPECIAL | CORE_TOK_ADD_BOS, 1);
        break;
    case 1:
        if (n < 1)
            break;
        round_trip(bpe[d[0] % 4], d + 1, n - 1, d[0] & 4 ? CORE_TOK_SPECIAL : 0, 1);
        break;
    case 2: {
        struct core_vocab *v;
        if (core_vocab_from_llama2c_mem(&v, d, n, "fuzz", NULL) == 0) {
            static const char t[] = "Once upon a time \xe6\x97\xa5\xff";
            round_trip(v, (const uint8_t *)t, sizeof(t) - 1, 0, 0);
            core_vocab_free(v);
        }
        break;
    }
    case 3: {
        struct core_tokenizer_stream st;
        core_tokenizer_stream_init(&st, n && d[0] & 1 ? spm : bpe[0], CORE_DETOK_SPECIAL);
        struct bz_buf out;
        bz_buf_init(&out);
        for (size_t i = 1; i + 1 < n; i += 2) {
            int id = (d[i] | d[i + 1] << 8) % st.v->n_tokens;
            if (core_tokenizer_stream_push(&st, id, &out, NULL) != 0)
                abort();
        }
        core_tokenizer_stream_flush(&st, &out);
        if (bz_utf8_check(out.p ? out.p : "", out.len) != out.len)
            abort();
        bz_buf_cleanup(&out);
        break;
    }
    case 4: {
        struct core_chat_msg m[8];
        size_t nm = 0, start = 0;
        for (size_t i = 0; i <= n && nm < 8; i++) {
            if (i == n || d[i] == 0) {
                m[nm].role = nm == 0 && n && d[0] == 'S' ? CORE_ROLE_SYSTEM
                                                         : (int)(nm % 2 ? CORE_ROLE_ASSISTANT
                                                                        : CORE_ROLE_USER);
                m[nm].content = (const char *)d + start;
                m[nm].len = i - start;
                nm++;
                start = i + 1;
            }
        }
        for (int t = 0; t < CORE_TEMPLATE_COUNT; t++) {
            for (int gen = 0; gen < 2; gen++) {
                struct core_template_out o;
                core_template_out_init(&o);
                const struct core_vocab *v = t % 2 ? spm : bpe[t % 4];
                if (core_template_render(v, t, m, nm, gen ? CORE_TEMPLATE_GENERATION : 0, &o,
                                         NULL) == 0) {
                    for (size_t i = 0; i < o.ids.n; i++)
                        if (o.mask[i] > 1 || o.ids.p[i] < 0 || o.ids.p[i] >= v->n_tokens)
                            abort();
                }
                core_template_out_cleanup(&o);
            }
        }
        break;
    }
    case 5:
        if (ext)
            round_trip(ext, d, n, 0, 0);
        break;
    default: {
        struct core_gguf *g;
        if (core_gguf_open_mem(&g, d, n, "fuzz.gguf", NULL) == 0) {
            struct core_vocab *v;
            if (core_vocab_from_gguf(&v, g, NULL) == 0) {
                static const char t1[] = "Hello w\xc3\xb6rld <s> \xe6\x97\xa5\xff";
                static const char t2[] = "Hello <|im_start|>";
                round_trip(v, (const uint8_t *)t1, sizeof(t1) - 1, 0, 0);
                round_trip(v, (const uint8_t *)t2, sizeof(t2) - 1, CORE_TOK_SPECIAL, 0);
                core_vocab_free(v);
            }
            core_gguf_close(g);
        }
        break;
    }
    }
    return 0;
}
