/*
 * vocab.c: the in-memory vocabulary: tokens (text, score, type), BPE merges, the
 * lookup tables the tokenizers use, and its loaders (GGUF metadata, llama2.c
 * tokenizer.bin; Hugging Face tokenizer.json lives in vocab-hf.c).
 *
 * Key idea: loaders only add tokens and merges and set a few fields; everything
 * derived (text -> id, merge ranks, byte tokens, the special-token list, the
 * pre-tokenizer) is built once by core_vocab_finish, so every source behaves the
 * same. Lookups follow llama.cpp: for duplicate token texts the last id wins, for
 * duplicate merges the first rank wins.
 *
 * Left out: WordPiece/Unigram vocabs (refused by name), vocab editing after finish.
 */
#include "core/tokenizer.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/gguf.h"
#include "core/tok-internal.h"

void core_ids_init(struct core_ids *ids)
{
    ids->p = NULL;
    ids->n = ids->cap = 0;
}

void core_ids_cleanup(struct core_ids *ids)
{
    if (!ids)
        return;
    free(ids->p);
    core_ids_init(ids);
}

void core_ids_push(struct core_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->p = bz_realloc(ids->p, ids->cap * sizeof(*ids->p));
    }
    ids->p[ids->n++] = id;
}

void core__tok_spans_push(struct core__tok_spans *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->p = bz_realloc(s->p, s->cap * sizeof(*s->p));
    }
    s->p[s->n].off = off;
    s->p[s->n].len = len;
    s->n++;
}

/* Create a vocab of a kind; see tokenizer.h. */
struct core_vocab *core_vocab_new(int kind)
{
    struct core_vocab *v = bz_calloc(1, sizeof(*v));
    v->kind = kind;
    v->bos = v->eos = v->unk = v->pad = v->eot = -1;
    v->add_space_prefix = kind == CORE_VOCAB_SPM;
    v->add_bos = kind == CORE_VOCAB_SPM;
    v->priv = bz_calloc(1, sizeof(*v->priv));
    return v;
}

/* Free a vocab and everything it owns; takes NULL. */
void core_vocab_free(struct core_vocab *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n_tokens; i++)
        free(v->tokens[i].text);
    free(v->tokens);
    free(v->chat_template);
    free(v->name);
    struct core_vocab__priv *p = v->priv;
    if (p) {
        for (int i = 0; i < p->n_merges; i++)
            free(p->merges[i].text);
        free(p->merges);
        free(p->tok_slots);
        free(p->merge_slots);
        free(p->special);
        core__tok_pretok_free(p->pretok);
        free(p);
    }
    free(v);
}

const char *core_vocab_kind_name(int kind)
{
    return kind == CORE_VOCAB_SPM ? "spm" : kind == CORE_VOCAB_BPE ? "bpe"
                                          : kind == CORE_VOCAB_WPM ? "wpm" : "unknown";
}

/* Append a token; returns its id. */
int core_vocab_add(struct core_vocab *v, const char *text, size_t len, float score, int type)
{
    struct core_vocab__priv *p = v->priv;
    bz_assert(!p->finished);
    if (v->n_tokens == p->cap_tokens) {
        p->cap_tokens = p->cap_tokens ? p->cap_tokens * 2 : 256;
        v->tokens = bz_realloc(v->tokens, (size_t)p->cap_tokens * sizeof(*v->tokens));
    }
    struct core_token *t = &v->tokens[v->n_tokens];
    t->text = bz_strndup(text, len); /* copies len bytes, NULs included */
    t->len = (uint32_t)len;
    t->score = score;
    t->type = (uint8_t)(type >= CORE_TOKEN_NORMAL && type <= CORE_TOKEN_BYTE ? type
                                                                              : CORE_TOKEN_NORMAL);
    t->attr = 0;
    return v->n_tokens++;
}

/* Append a merge "LEFT RIGHT"; see tokenizer.h. */
int core_vocab_add_merge(struct core_vocab *v, const char *merge, size_t len, struct bz_err *err)
{
    struct core_vocab__priv *p = v->priv;
    bz_assert(!p->finished);
    const char *sp = len > 1 ? memchr(merge + 1, ' ', len - 1) : NULL;
    if (!sp)
        return bz_errf(err, BZ_EFORMAT, "merge %d has no space: \"%.*s\"", p->n_merges,
                       (int)BZ_MIN(len, 40), merge);
    if (p->n_merges == p->cap_merges) {
        p->cap_merges = p->cap_merges ? p->cap_merges * 2 : 1024;
        p->merges = bz_realloc(p->merges, (size_t)p->cap_merges * sizeof(*p->merges));
    }
    size_t ln = (size_t)(sp - merge), rn = len - ln - 1;
    struct core__tok_merge *m = &p->merges[p->n_merges++];
    m->text = bz_malloc(ln + rn + 1);
    memcpy(m->text, merge, ln);
    memcpy(m->text + ln, sp + 1, rn);
    m->text[ln + rn] = 0;
    m->len = (uint32_t)(ln + rn);
    m->left_len = (uint32_t)ln;
    return 0;
}

/* Set the pre-tokenizer name; the regexes are compiled by core_vocab_finish. */
int core_vocab_set_pre(struct core_vocab *v, const char *pre, struct bz_err *err)
{
    if (!core__tok_pretok_known(pre))
        return bz_errf(err, BZ_EUNSUPPORTED, "unknown pre-tokenizer '%s'", pre);
    snprintf(v->pre, sizeof(v->pre), "%s", pre);
    return 0;
}

static size_t slots_for(size_t n)
{
    size_t cap = 16;
    while (cap < n * 2 + 1)
        cap *= 2;
    return cap;
}

/* The id for text, or -1. */
int core_vocab_find(const struct core_vocab *v, const char *text, size_t len)
{
    const struct core_vocab__priv *p = v->priv;
    if (!p->tok_slots)
        return -1;
    size_t i = (size_t)bz_hash64(text, len) & p->tok_mask;
    for (;;) {
        uint32_t s = p->tok_slots[i];
        if (!s)
            return -1;
        const struct core_token *t = &v->tokens[s - 1];
        if (t->len == len && memcmp(t->text, text, len) == 0)
            return (int)(s - 1);
        i = (i + 1) & p->tok_mask;
    }
}

int core__vocab_merge_rank(const struct core_vocab *v, const char *left, size_t ln, size_t rn)
{
    const struct core_vocab__priv *p = v->priv;
    if (!p->merge_slots)
        return -1;
    size_t n = ln + rn;
    size_t i = (size_t)bz_hash64(left, n) & p->merge_mask;
    for (;;) {
        uint32_t s = p->merge_slots[i];
        if (!s)
            return -1;
        const struct core__tok_merge *m = &p->merges[s - 1];
        if (m->len == n && m->left_len == ln && memcmp(m->text, left, n) == 0)
            return (int)(s - 1);
        i = (i + 1) & p->merge_mask;
    }
}

static int special_cmp_vocab_len(const struct core_vocab *v, int a, int b)
{
    uint32_t la = v->tokens[a].len, lb = v->tokens[b].len;
    if (la != lb)
        return la > lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Insertion sort would be quadratic for large special lists; a merge sort keeps
 * it stable and simple. */
static void special_sort(const struct core_vocab *v, int *a, int *tmp, int n)
{
    if (n < 2)
        return;
    int h = n / 2;
    special_sort(v, a, tmp, h);
    special_sort(v, a + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = special_cmp_vocab_len(v, a[i], a[j]) <= 0 ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof(*a));
}

/* Build the lookup tables; see tokenizer.h. */
int core_vocab_finish(struct core_vocab *v, struct bz_err *err)
{
    struct core_vocab__priv *p = v->priv;
    bz_assert(!p->finished);
    if (v->n_tokens <= 0)
        return bz_errf(err, BZ_EFORMAT, "vocab has no tokens");
    if (v->kind != CORE_VOCAB_SPM && v->kind != CORE_VOCAB_BPE && v->kind != CORE_VOCAB_WPM)
        return bz_errf(err, BZ_EUNSUPPORTED, "vocab kind %d not supported", v->kind);

    size_t cap = slots_for((size_t)v->n_tokens);
    p->tok_slots = calloc(cap, sizeof(*p->tok_slots));
    if (!p->tok_slots)
        return bz_errf(err, BZ_ENOMEM, "vocab of %d tokens: out of memory", v->n_tokens);
    p->tok_mask = cap - 1;
    for (int id = 0; id < v->n_tokens; id++) {
        const struct core_token *t = &v->tokens[id];
        size_t i = (size_t)bz_hash64(t->text, t->len) & p->tok_mask;
        for (;;) {
            uint32_t s = p->tok_slots[i];
            if (!s) {
                p->tok_slots[i] = (uint32_t)id + 1;
                break;
            }
            const struct core_token *o = &v->tokens[s - 1];
            if (o->len == t->len && memcmp(o->text, t->text, t->len) == 0) {
                p->tok_slots[i] = (uint32_t)id + 1; /* last one wins, as llama.cpp */
                break;
            }
            i = (i + 1) & p->tok_mask;
        }
    }

    if (p->n_merges > 0) {
        cap = slots_for((size_t)p->n_merges);
        p->merge_slots = calloc(cap, sizeof(*p->merge_slots));
        if (!p->merge_slots)
            return bz_errf(err, BZ_ENOMEM, "%d merges: out of memory", p->n_merges);
        p->merge_mask = cap - 1;
        for (int r = 0; r < p->n_merges; r++) {
            const struct core__tok_merge *m = &p->merges[r];
            size_t i = (size_t)bz_hash64(m->text, m->len) & p->merge_mask;
            for (;;) {
                uint32_t s = p->merge_slots[i];
                if (!s) {
                    p->merge_slots[i] = (uint32_t)r + 1;
                    break;
                }
                const struct core__tok_merge *o = &p->merges[s - 1];
                if (o->len == m->len && o->left_len == m->left_len &&
                    memcmp(o->text, m->text, m->len) == 0)
                    break; /* first one wins */
                i = (i + 1) & p->merge_mask;
            }
        }
    }

    p->spm_word_split = v->kind == CORE_VOCAB_SPM;
    for (int id = 0; id < v->n_tokens; id++) {
        const struct core_token *t = &v->tokens[id];
        p->max_token_len = BZ_MAX(p->max_token_len, t->len);
        for (uint32_t j = 1; p->spm_word_split && j + 3 <= t->len; j++)
            if (memcmp(t->text + j, "\xe2\x96\x81", 3) == 0 &&
                (j < 3 || memcmp(t->text + j - 3, "\xe2\x96\x81", 3) != 0))
                p->spm_word_split = 0;
    }
    for (int b = 0; b < 256; b++) {
        char buf[8];
        int id;
        if (v->kind != CORE_VOCAB_BPE) {
            snprintf(buf, sizeof(buf), "<0x%02X>", b);
            id = core_vocab_find(v, buf, 6);
            if (id < 0) {
                buf[0] = (char)b;
                id = core_vocab_find(v, buf, 1);
            }
        } else {
            /* the normal token of the byte's character, not a user-defined token that
             * happens to share its text (DeepSeek Coder adds such for unused bytes) */
            int n = core__tok_bpe_byte_char((unsigned)b, buf);
            id = core_vocab_find(v, buf, (size_t)n);
            if (id >= 0 && v->tokens[id].type != CORE_TOKEN_NORMAL)
                for (int i = 0; i < v->n_tokens; i++)
                    if (v->tokens[i].type == CORE_TOKEN_NORMAL && v->tokens[i].len == (size_t)n &&
                        memcmp(v->tokens[i].text, buf, (size_t)n) == 0) {
                        id = i;
                        break;
                    }
        }
        p->byte_tok[b] = id;
    }

    int n_special = 0;
    for (int id = 0; id < v->n_tokens; id++) {
        int ty = v->tokens[id].type;
        if (v->tokens[id].len > 0 &&
            (ty == CORE_TOKEN_CONTROL || ty == CORE_TOKEN_USER || ty == CORE_TOKEN_UNKNOWN))
            n_special++;
    }
    if (n_special) {
        p->special = bz_malloc((size_t)n_special * sizeof(int));
        int *tmp = bz_malloc((size_t)n_special * sizeof(int));
        int k = 0;
        for (int id = 0; id < v->n_tokens; id++) {
            int ty = v->tokens[id].type;
            if (v->tokens[id].len > 0 &&
                (ty == CORE_TOKEN_CONTROL || ty == CORE_TOKEN_USER || ty == CORE_TOKEN_UNKNOWN))
                p->special[k++] = id;
        }
        special_sort(v, p->special, tmp, n_special);
        free(tmp);
        p->n_special = n_special;
    }

    if (v->kind == CORE_VOCAB_BPE) {
        if (!v->pre[0])
            snprintf(v->pre, sizeof(v->pre), "default");
        int rc = core__tok_pretok_new(&p->pretok, v->pre, &v->ignore_merges, err);
        if (rc)
            return rc;
    }
    int *ids[] = {&v->bos, &v->eos, &v->unk, &v->pad, &v->eot};
    for (size_t j = 0; j < BZ_ARRAY_SIZE(ids); j++)
        if (*ids[j] >= v->n_tokens || *ids[j] < -1)
            *ids[j] = -1;
    p->finished = 1;
    return 0;
}

/* ---------------------------------------------------------------- GGUF */

static int gguf_id(const struct core_gguf *g, const char *key, int n_tokens, int *out)
{
    const struct core_gguf_kv *kv = core_gguf_find(g, key);
    if (!kv || kv->type == CORE_GGUF_STRING || kv->type == CORE_GGUF_ARRAY)
        return 0;
    double d = core_gguf_kv_num(kv, 0);
    *out = d >= 0 && d < n_tokens ? (int)d : -1;
    return 1;
}

static void gguf_flag(const struct core_gguf *g, const char *key, int *out)
{
    int b;
    if (core_gguf_find(g, key) && core_gguf_get_bool(g, key, &b, NULL) == 0)
        *out = b != 0;
}

static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
    "<|EOT|>", "<｜end▁of▁sentence｜>",
};

/* llama.cpp's name-based attributes: Phi-3 strips spaces after its special tokens. */
static void set_name_attrs(struct core_vocab *v)
{
    if (!v->name)
        return;
    char low[128];
    size_t n = strlen(v->name);
    if (n >= sizeof(low))
        n = sizeof(low) - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)v->name[i]);
    low[n] = 0;
    if (!strstr(low, "phi-3") && !strstr(low, "phi3"))
        return;
    for (int id = 0; id < v->n_tokens; id++) {
        int ty = v->tokens[id].type;
        if (ty == CORE_TOKEN_CONTROL || ty == CORE_TOKEN_USER || ty == CORE_TOKEN_UNKNOWN)
            v->tokens[id].attr |= CORE_TOKEN_RSTRIP;
    }
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (int id = 0; id < v->n_tokens; id++) {
        if (strcmp(v->tokens[id].text, "</s>") == 0)
            v->tokens[id].attr |= CORE_TOKEN_RSTRIP;
        for (size_t k = 0; k < BZ_ARRAY_SIZE(keep); k++)
            if (strcmp(v->tokens[id].text, keep[k]) == 0)
                v->tokens[id].attr &= (uint8_t)~CORE_TOKEN_RSTRIP;
    }
}

static void guess_eot(struct core_vocab *v)
{
    if (v->eot >= 0)
        return;
    for (size_t k = 0; k < BZ_ARRAY_SIZE(eot_texts); k++) {
        int id = -1;
        for (int i = 0; i < v->n_tokens; i++)
            if (strcmp(v->tokens[i].text, eot_texts[k]) == 0 &&
                v->tokens[i].type != CORE_TOKEN_NORMAL) {
                id = i;
                break;
            }
        if (id >= 0) {
            v->eot = id;
            return;
        }
    }
}

/* Load a vocab from GGUF metadata; see tokenizer.h. */
int core_vocab_from_gguf(struct core_vocab **out, const struct core_gguf *g, struct bz_err *err)
{
    *out = NULL;
    const char *file = g->path ? g->path : "gguf";
    struct core_gguf_str model;
    if (core_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL) != 0)
        return bz_errf(err, BZ_ENOTFOUND, "%s: no tokenizer (tokenizer.ggml.model missing)",
                       file);
    int kind;
    if (model.n == 5 && memcmp(model.p, "llama", 5) == 0)
        kind = CORE_VOCAB_SPM;
    else if (model.n == 4 && memcmp(model.p, "gpt2", 4) == 0)
        kind = CORE_VOCAB_BPE;
    else if (model.n == 4 && memcmp(model.p, "bert", 4) == 0)
        kind = CORE_VOCAB_WPM;
    else
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: tokenizer model '%.*s' not supported", file,
                       (int)BZ_MIN(model.n, 40), model.p);

    const struct core_gguf_str *toks;
    uint64_t n;
    int rc = core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n, err);
    if (rc)
        return rc;
    if (n == 0 || n > INT32_MAX / 2)
        return bz_errf(err, BZ_EFORMAT, "%s: tokenizer.ggml.tokens has %llu entries", file,
                       (unsigned long long)n);
    float *scores = NULL;
    int32_t *types = NULL;
    uint64_t ns = 0, nt = 0;
    if (core_gguf_find(g, "tokenizer.ggml.scores")) {
        rc = core_gguf_get_arr_f32(g, "tokenizer.ggml.scores", &scores, &ns, err);
        if (rc)
            return rc;
        if (ns != n) {
            free(scores);
            return bz_errf(err, BZ_EFORMAT, "%s: %llu scores for %llu tokens", file,
                           (unsigned long long)ns, (unsigned long long)n);
        }
    }
    if (core_gguf_find(g, "tokenizer.ggml.token_type")) {
        rc = core_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", &types, &nt, err);
        if (rc) {
            free(scores);
            return rc;
        }
        if (nt != n) {
            free(scores);
            free(types);
            return bz_errf(err, BZ_EFORMAT, "%s: %llu token types for %llu tokens", file,
                           (unsigned long long)nt, (unsigned long long)n);
        }
    }
    struct core_vocab *v = core_vocab_new(kind);
    for (uint64_t i = 0; i < n; i++)
        core_vocab_add(v, toks[i].p, toks[i].n, scores ? scores[i] : 0.0f,
                       types ? types[i] : CORE_TOKEN_NORMAL);
    free(scores);
    free(types);

    if (kind == CORE_VOCAB_BPE) {
        const struct core_gguf_str *merges;
        uint64_t nm;
        rc = core_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &nm, err);
        for (uint64_t i = 0; rc == 0 && i < nm; i++)
            rc = core_vocab_add_merge(v, merges[i].p, merges[i].n, err);
        if (rc)
            goto fail;
        struct core_gguf_str pre;
        if (core_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL) == 0 && pre.n > 0) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)BZ_MIN(pre.n, 63), pre.p);
            rc = core_vocab_set_pre(v, name, err);
            if (rc)
                goto fail;
        } else {
            bz_log(BZ_LOG_WARN, "%s: no tokenizer.ggml.pre, using the default pre-tokenizer",
                   file);
            snprintf(v->pre, sizeof(v->pre), "default");
        }
        static const char *const bos_pres[] = {"llama3",       "llama-v3",     "llama-bpe",
                                               "falcon3",      "deepseek-llm", "deepseek-coder",
                                               "dbrx",         "smaug-bpe"};
        for (size_t k = 0; k < BZ_ARRAY_SIZE(bos_pres); k++)
            if (strcmp(v->pre, bos_pres[k]) == 0)
                v->add_bos = 1;
    } else if (kind == CORE_VOCAB_SPM) {
        v->bos = 1;
        v->eos = 2;
        v->unk = 0;
    } else {
        /* WordPiece: [CLS] text [SEP], as llama.cpp's BERT defaults */
        v->bos = 101;
        v->eos = 102;
        v->unk = 100;
        v->pad = 0;
        v->add_bos = v->add_eos = 1;
        v->add_space_prefix = 0;
    }
    int nt_i = v->n_tokens;
    gguf_id(g, "tokenizer.ggml.bos_token_id", nt_i, &v->bos);
    gguf_id(g, "tokenizer.ggml.eos_token_id", nt_i, &v->eos);
    gguf_id(g, "tokenizer.ggml.unknown_token_id", nt_i, &v->unk);
    gguf_id(g, "tokenizer.ggml.padding_token_id", nt_i, &v->pad);
    gguf_id(g, "tokenizer.ggml.eot_token_id", nt_i, &v->eot);
    if (kind == CORE_VOCAB_WPM) {
        gguf_id(g, "tokenizer.ggml.cls_token_id", nt_i, &v->bos);
        gguf_id(g, "tokenizer.ggml.seperator_token_id", nt_i, &v->eos);
    }
    gguf_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    gguf_flag(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    gguf_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);
    char *s = NULL;
    if (core_gguf_find(g, "tokenizer.chat_template") &&
        core_gguf_get_strdup(g, "tokenizer.chat_template", &s, NULL) == 0)
        v->chat_template = s;
    s = NULL;
    if (core_gguf_find(g, "general.name") && core_gguf_get_strdup(g, "general.name", &s, NULL) == 0)
        v->name = s;
    set_name_attrs(v);
    guess_eot(v);
    rc = core_vocab_finish(v, err);
    if (rc)
        goto fail;
    *out = v;
    return 0;
fail:
    core_vocab_free(v);
    return rc;
}

/* ---------------------------------------------------------------- llama2.c */

static int rd_le32(const unsigned char *p)
{
    return (int)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24);
}

static int is_byte_piece(const char *s, size_t n)
{
    return n == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && isxdigit((unsigned char)s[3]) &&
           isxdigit((unsigned char)s[4]) && s[5] == '>';
}

/* Load a llama2.c tokenizer.bin from memory; see tokenizer.h. */
int core_vocab_from_llama2c_mem(struct core_vocab **out, const void *mem, size_t size,
                                const char *path, struct bz_err *err)
{
    *out = NULL;
    const char *data = mem;
    const unsigned char *p = (const unsigned char *)data;
    int rc;
    if (size < 4)
        return bz_errf(err, BZ_ECORRUPT, "%s: too short for a llama2.c tokenizer (%zu bytes)",
                       path, size);
    int max_len = rd_le32(p);
    if (max_len <= 0 || max_len > 1 << 16)
        return bz_errf(err, BZ_EFORMAT, "%s: bad max_token_length (got %d)", path, max_len);
    struct core_vocab *v = core_vocab_new(CORE_VOCAB_SPM);
    struct bz_buf piece;
    bz_buf_init(&piece);
    size_t off = 4;
    while (off < size) {
        if (size - off < 8) {
            rc = bz_errf(err, BZ_ECORRUPT, "%s: truncated token %d at offset %zu", path,
                         v->n_tokens, off);
            goto fail;
        }
        float score;
        memcpy(&score, p + off, 4);
        int len = rd_le32(p + off + 4);
        off += 8;
        if (len < 0 || len > max_len || (size_t)len > size - off) {
            rc = bz_errf(err, BZ_ECORRUPT, "%s: token %d length %d out of range at offset %zu",
                         path, v->n_tokens, len, off - 4);
            goto fail;
        }
        const char *s = data + off;
        off += (size_t)len;
        int id = v->n_tokens, type = CORE_TOKEN_NORMAL;
        piece.len = 0;
        if (id == 0 && len == 5 && memcmp(s, "<unk>", 5) == 0) {
            type = CORE_TOKEN_UNKNOWN;
            bz_buf_append(&piece, s, 5);
        } else if ((id == 1 || id == 2) && len >= 3 && memchr(s, '<', (size_t)len)) {
            /* export.py writes BOS/EOS as "\n<s>\n" and "\n</s>\n" */
            type = CORE_TOKEN_CONTROL;
            bz_buf_puts(&piece, id == 1 ? "<s>" : "</s>");
        } else if (is_byte_piece(s, (size_t)len)) {
            type = CORE_TOKEN_BYTE;
            bz_buf_append(&piece, s, 6);
        } else {
            /* export.py turned U+2581 into spaces; turn them back */
            for (int i = 0; i < len; i++) {
                if (s[i] == ' ')
                    bz_buf_puts(&piece, "\xe2\x96\x81");
                else
                    bz_buf_putc(&piece, s[i]);
            }
        }
        core_vocab_add(v, piece.p ? piece.p : "", piece.len, score, type);
    }
    bz_buf_cleanup(&piece);
    if (v->n_tokens < 3) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: %d tokens, need <unk>, <s>, </s> at least", path,
                     v->n_tokens);
        core_vocab_free(v);
        return rc;
    }
    v->bos = 1;
    v->eos = 2;
    v->unk = 0;
    v->name = bz_strdup(path);
    rc = core_vocab_finish(v, err);
    if (rc) {
        core_vocab_free(v);
        return rc;
    }
    *out = v;
    return 0;
fail:
    bz_buf_cleanup(&piece);
    core_vocab_free(v);
    return rc;
}

/* Load a llama2.c tokenizer.bin; see tokenizer.h. */
int core_vocab_from_llama2c(struct core_vocab **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    char *data;
    size_t size;
    int rc = bz_read_file(path, &data, &size, err);
    if (rc)
        return rc;
    rc = core_vocab_from_llama2c_mem(out, data, size, path, err);
    free(data);
    return rc;
}

/* ---------------------------------------------------------------- by path */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

/* Open a vocab by path; see tokenizer.h. */
int core_vocab_open(struct core_vocab **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    int open_errno = errno;
    if (f) {
        size_t got = fread(magic, 1, 4, f);
        (void)got;
        fclose(f);
    }
    if (memcmp(magic, "GGUF", 4) == 0 || ends_with(path, ".gguf")) {
        struct core_gguf *g;
        int rc = core_gguf_open(&g, path, err);
        if (rc)
            return rc;
        rc = core_vocab_from_gguf(out, g, err);
        core_gguf_close(g);
        return rc;
    }
    if (ends_with(path, ".json"))
        return core_vocab_from_hf(out, path, err);
    char *dir_json = bz_path_join(path, "tokenizer.json");
    int is_hf_dir = access(dir_json, R_OK) == 0;
    free(dir_json);
    if (is_hf_dir)
        return core_vocab_from_hf(out, path, err);
    if (!f)
        return bz_errf(err, -open_errno, "%s: %s", path, strerror(open_errno));
    struct bz_err err1 = {0};
    int rc = core_vocab_from_llama2c(out, path, &err1);
    if (rc == 0)
        return 0;
    /* not a tokenizer.bin: a llama2.c checkpoint, whose tokenizer is $BEZOAR_TOKENIZER,
     * tokenizer.bin beside it, or tok<V>.bin beside it (V from its header), as
     * core_model_open finds it */
    const char *env = getenv("BEZOAR_TOKENIZER");
    char *dir = bz_path_dir(path);
    char *beside = bz_path_join(dir, "tokenizer.bin");
    if (access(beside, R_OK) != 0) {
        int32_t hdr[7] = {0};
        FILE *cf = fopen(path, "rb");
        if (cf) {
            if (fread(hdr, sizeof(hdr), 1, cf) != 1)
                hdr[5] = 0;
            fclose(cf);
        }
        char name[32];
        snprintf(name, sizeof(name), "tok%ld.bin", labs((long)hdr[5]));
        free(beside);
        beside = bz_path_join(dir, name);
    }
    free(dir);
    const char *tok = env && *env ? env : beside;
    if (strcmp(tok, path) != 0 && access(tok, R_OK) == 0)
        rc = core_vocab_from_llama2c(out, tok, err);
    else
        rc = bz_errf(err, err1.code ? err1.code : rc, "%s (and no tokenizer.bin or tok<V>.bin "
                     "beside it, nor $BEZOAR_TOKENIZER)", bz_err_msg(&err1, rc));
    free(beside);
    return rc;
}
