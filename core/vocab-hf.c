/*
 * vocab-hf.c: vocabularies from Hugging Face tokenizer.json (+ tokenizer_config.json
 * beside it for BOS/EOS, add_bos_token and the chat template).
 *
 * Key idea: two shapes of tokenizer.json cover Llama-family models. A BPE model with
 * byte_fallback and U+2581 pieces (Llama 2, TinyLlama, Mistral) becomes an SPM vocab
 * whose piece scores are minus the rank of the merge that makes each piece (so the
 * best-scoring pair is the first merge, as SentencePiece's own scores order them).
 * A byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM) keeps its merges, and its
 * pre-tokenizer is named by recognising the Split regex (or plain ByteLevel = GPT-2,
 * Digits + ByteLevel = SmolLM/StarCoder); any other pre-tokenizer is refused.
 *
 * Left out: WordPiece, Unigram and WordLevel models, normalizers beyond the
 * SentencePiece prefix and space replacement (refused or ignored by name).
 */
#include "core/tokenizer.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tok-internal.h"

/* tokenizer.json Split regexes and the llama.cpp pre-tokenizer each one means. */
static const struct {
    const char *regex;
    const char *pre;
} known_splits[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "llama3"},
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
     "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "qwen2"},
};

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* A special token field of tokenizer_config.json: a string or {"content": ...}. */
static const char *token_field(const cJSON *cfg, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(x))
        return x->valuestring;
    if (cJSON_IsObject(x))
        return jstr(x, "content");
    return NULL;
}

/* Name the byte-level pre-tokenizer of a tokenizer.json, or NULL. byte_level is set
 * when a ByteLevel pre-tokenizer is present. */
static const char *hf_pre_name(const cJSON *pt, int *byte_level, int *metaspace)
{
    *byte_level = *metaspace = 0;
    if (!cJSON_IsObject(pt))
        return NULL;
    const char *type = jstr(pt, "type");
    if (!type)
        return NULL;
    if (strcmp(type, "ByteLevel") == 0) {
        *byte_level = 1;
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(pt, "use_regex");
        return cJSON_IsFalse(ur) ? NULL : "gpt-2";
    }
    if (strcmp(type, "Metaspace") == 0) {
        *metaspace = 1;
        return NULL;
    }
    if (strcmp(type, "Sequence") != 0)
        return NULL;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    const char *split = NULL;
    int digits = 0, bl_regex = 0, n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, seq)
    {
        const char *t = jstr(it, "type");
        n++;
        if (!t)
            return NULL;
        if (strcmp(t, "Split") == 0) {
            const cJSON *pat = cJSON_GetObjectItemCaseSensitive(it, "pattern");
            split = pat ? jstr(pat, "Regex") : NULL;
        } else if (strcmp(t, "Digits") == 0) {
            digits = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "individual_digits"));
        } else if (strcmp(t, "ByteLevel") == 0) {
            *byte_level = 1;
            bl_regex = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "use_regex"));
        } else if (strcmp(t, "Metaspace") == 0) {
            *metaspace = 1;
        }
    }
    if (split && !digits && !bl_regex && n == 2) {
        for (size_t i = 0; i < BZ_ARRAY_SIZE(known_splits); i++)
            if (strcmp(split, known_splits[i].regex) == 0)
                return known_splits[i].pre;
        return NULL;
    }
    if (!split && digits && bl_regex && n == 2)
        return "smollm";
    return NULL;
}

/* The id of a token by text before the lookup tables exist (-1 when absent). */
static int find_linear(const struct core_vocab *v, const char *text)
{
    size_t n = strlen(text);
    for (int i = v->n_tokens - 1; i >= 0; i--)
        if (v->tokens[i].len == n && memcmp(v->tokens[i].text, text, n) == 0)
            return i;
    return -1;
}

static int read_json(const char *path, cJSON **out, struct bz_err *err)
{
    char *text;
    size_t n;
    int rc = bz_read_file(path, &text, &n, err);
    if (rc)
        return rc;
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!*out) {
        size_t at = end ? (size_t)(end - text) : 0;
        free(text);
        return bz_errf(err, BZ_EPARSE, "%s: JSON parse error at byte %zu", path, at);
    }
    free(text);
    return 0;
}

/* Load a vocab from tokenizer.json (+ tokenizer_config.json); see tokenizer.h. */
int core_vocab_from_hf(struct core_vocab **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    struct stat st;
    char *file, *dir;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        file = bz_path_join(path, "tokenizer.json");
        dir = bz_strdup(path);
    } else {
        file = bz_strdup(path);
        dir = bz_path_dir(path);
    }
    cJSON *root = NULL, *cfg = NULL;
    struct core_vocab *v = NULL;
    char **texts = NULL;
    int *types = NULL;
    float *scores = NULL;
    int n = 0, rc = read_json(file, &root, err);
    if (rc)
        goto done;
    char *cfg_path = bz_path_join(dir, "tokenizer_config.json");
    if (access(cfg_path, R_OK) == 0)
        rc = read_json(cfg_path, &cfg, err);
    free(cfg_path);
    if (rc)
        goto done;

    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *mtype = jstr(model, "type");
    if (!mtype || strcmp(mtype, "BPE") != 0) {
        rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: tokenizer model '%s' not supported (BPE only)",
                     file, mtype ? mtype : "(none)");
        goto done;
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: model.vocab or model.merges missing", file);
        goto done;
    }
    int byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    int byte_level = 0, metaspace = 0;
    const char *pre = hf_pre_name(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"),
                                  &byte_level, &metaspace);
    int kind = byte_level ? CORE_VOCAB_BPE : CORE_VOCAB_SPM;
    if (kind == CORE_VOCAB_BPE && !pre) {
        rc = bz_errf(err, BZ_EUNSUPPORTED,
                     "%s: byte-level pre-tokenizer not recognised (known: GPT-2 ByteLevel, "
                     "Llama 3 and Qwen2 Split regexes, Digits + ByteLevel)", file);
        goto done;
    }
    if (kind == CORE_VOCAB_SPM && !byte_fallback && !metaspace) {
        const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
        if (!norm || cJSON_IsNull(norm)) {
            rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: neither byte-level nor SentencePiece-style "
                                               "BPE", file);
            goto done;
        }
    }

    /* ids: vocab entries and added tokens; holes become unused pieces */
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e7) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: bad id for \"%s\"", file, it->string);
            goto done;
        }
        n = BZ_MAX(n, (int)it->valuedouble + 1);
    }
    cJSON_ArrayForEach(it, added)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e7 ||
            !jstr(it, "content")) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: bad added_tokens entry", file);
            goto done;
        }
        n = BZ_MAX(n, (int)id->valuedouble + 1);
    }
    texts = bz_calloc((size_t)n, sizeof(*texts));
    types = bz_calloc((size_t)n, sizeof(*types));
    scores = bz_calloc((size_t)n, sizeof(*scores));
    uint8_t *attrs = bz_calloc((size_t)n, 1);
    cJSON_ArrayForEach(it, vocab)
    {
        int id = (int)it->valuedouble;
        texts[id] = it->string;
        types[id] = CORE_TOKEN_NORMAL;
        scores[id] = kind == CORE_VOCAB_SPM ? -1e9f : 0.0f;
    }
    const char *unk = jstr(model, "unk_token");
    cJSON_ArrayForEach(it, added)
    {
        int id = (int)cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble;
        texts[id] = (char *)jstr(it, "content");
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"));
        types[id] = special ? CORE_TOKEN_CONTROL : CORE_TOKEN_USER;
        if (unk && strcmp(texts[id], unk) == 0)
            types[id] = CORE_TOKEN_UNKNOWN;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "lstrip")))
            attrs[id] |= CORE_TOKEN_LSTRIP;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "rstrip")))
            attrs[id] |= CORE_TOKEN_RSTRIP;
    }
    v = core_vocab_new(kind);
    /* merges: "a b" strings or ["a", "b"] pairs */
    struct bz_buf mb;
    bz_buf_init(&mb);
    int rank = 0;
    cJSON_ArrayForEach(it, merges)
    {
        mb.len = 0;
        if (cJSON_IsString(it)) {
            bz_buf_puts(&mb, it->valuestring);
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            bz_buf_puts(&mb, cJSON_GetArrayItem(it, 0)->valuestring);
            bz_buf_putc(&mb, ' ');
            bz_buf_puts(&mb, cJSON_GetArrayItem(it, 1)->valuestring);
        } else {
            rc = bz_errf(err, BZ_EFORMAT, "%s: merge %d is neither \"a b\" nor [a, b]", file,
                         rank);
            break;
        }
        if (kind == CORE_VOCAB_BPE) {
            rc = core_vocab_add_merge(v, mb.p, mb.len, err);
        } else {
            /* the piece this merge makes scores minus its rank */
            char *sp = mb.len > 1 ? memchr(mb.p + 1, ' ', mb.len - 1) : NULL;
            if (sp) {
                memmove(sp, sp + 1, (size_t)(mb.p + mb.len - sp - 1));
                mb.len--;
                mb.p[mb.len] = 0;
                const cJSON *idj = cJSON_GetObjectItemCaseSensitive(vocab, mb.p);
                if (cJSON_IsNumber(idj) && scores[(int)idj->valuedouble] < -1e8f)
                    scores[(int)idj->valuedouble] = -(float)rank;
            }
        }
        if (rc)
            break;
        rank++;
    }
    bz_buf_cleanup(&mb);
    if (rc) {
        free(attrs);
        goto done;
    }
    for (int id = 0; id < n; id++) {
        char pad[32];
        const char *t = texts[id];
        int type = types[id];
        if (!t) {
            snprintf(pad, sizeof(pad), "[PAD%d]", id);
            t = pad;
            type = CORE_TOKEN_UNUSED;
        } else if (kind == CORE_VOCAB_SPM && type == CORE_TOKEN_NORMAL && strlen(t) == 6 &&
                   strncmp(t, "<0x", 3) == 0 && t[5] == '>') {
            type = CORE_TOKEN_BYTE;
        } else if (type == CORE_TOKEN_NORMAL && unk && strcmp(t, unk) == 0) {
            type = CORE_TOKEN_UNKNOWN;
        }
        core_vocab_add(v, t, strlen(t), scores[id] < -1e8f ? 0.0f : scores[id], type);
        v->tokens[id].attr = attrs[id];
    }
    free(attrs);
    if (kind == CORE_VOCAB_BPE) {
        rc = core_vocab_set_pre(v, pre, err);
        if (rc)
            goto done;
        v->add_bos = 0;
        v->add_space_prefix = 0;
    } else {
        /* SentencePiece conventions, as llama.cpp defaults SPM vocabs */
        v->add_bos = 1;
        v->add_space_prefix = 1;
        v->bos = find_linear(v, "<s>");
        v->eos = find_linear(v, "</s>");
    }
    /* a post-processor that starts every sequence with a special token names BOS */
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    const char *pptype = jstr(pp, "type");
    if (pptype && strcmp(pptype, "TemplateProcessing") == 0) {
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pp, "single"), 0);
        const cJSON *st0 = cJSON_GetObjectItemCaseSensitive(first, "SpecialToken");
        const char *bos = st0 ? jstr(st0, "id") : NULL;
        v->add_bos = bos != NULL;
        if (bos)
            v->bos = find_linear(v, bos);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges")))
        v->ignore_merges = 1;
    if (unk)
        v->unk = find_linear(v, unk);
    if (cfg) {
        const char *bos = token_field(cfg, "bos_token"), *eos = token_field(cfg, "eos_token");
        const char *padt = token_field(cfg, "pad_token");
        if (bos)
            v->bos = find_linear(v, bos);
        if (eos)
            v->eos = find_linear(v, eos);
        if (padt)
            v->pad = find_linear(v, padt);
        const cJSON *ab = cJSON_GetObjectItemCaseSensitive(cfg, "add_bos_token");
        if (cJSON_IsBool(ab))
            v->add_bos = cJSON_IsTrue(ab);
        const cJSON *ab2 = cJSON_GetObjectItemCaseSensitive(cfg, "add_eos_token");
        if (cJSON_IsBool(ab2))
            v->add_eos = cJSON_IsTrue(ab2);
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
        if (cJSON_IsString(ct)) {
            v->chat_template = bz_strdup(ct->valuestring);
        } else if (cJSON_IsArray(ct)) {
            const cJSON *e;
            cJSON_ArrayForEach(e, ct)
            {
                const char *nm = jstr(e, "name"), *tp = jstr(e, "template");
                if (nm && tp && strcmp(nm, "default") == 0)
                    v->chat_template = bz_strdup(tp);
            }
        }
    }
    v->name = bz_strdup(dir);
    rc = core_vocab_finish(v, err);
done:
    free(texts);
    free(types);
    free(scores);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    free(file);
    free(dir);
    if (rc) {
        core_vocab_free(v);
        return rc;
    }
    *out = v;
    return 0;
}
