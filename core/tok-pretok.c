/*
 * tok-pretok.c: the pre-tokenizers of byte-level BPE vocabs, named by
 * tokenizer.ggml.pre, as regex lists run by PCRE2 (UTF, UCP, JIT).
 *
 * Key idea: llama.cpp's unicode_regex_split semantics. The regexes apply in order;
 * each one splits every piece the previous ones made, and the text between two
 * matches stays a piece of its own. Each piece is matched as a whole subject, so
 * lookaheads and `$` see the piece's end. The regexes are llama.cpp's (which adapts
 * the tokenizer.json ones), with one change: \s is widened to [\s\x{85}] because
 * llama.cpp counts U+0085 as whitespace and PCRE2's \s does not.
 *
 * Left out: pre-tokenizers llama.cpp itself lacks; names not in the table are
 * refused, never guessed.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "core/tok-internal.h"

#define WS "\\s\\x{85}" /* whitespace as llama.cpp counts it, inside a class */

#define RE_GPT2                                                                          \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS \
    "])"
#define RE_LLAMA3_HEAD                                                                   \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
#define RE_LLAMA3_TAIL                                                                   \
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"
#define RE_LLAMA3 RE_LLAMA3_HEAD "\\p{N}{1,3}" RE_LLAMA3_TAIL
#define RE_QWEN2 RE_LLAMA3_HEAD "\\p{N}" RE_LLAMA3_TAIL
#define RE_CJK "[一-龥ࠀ-一가-퟿]+"
#define RE_BLOOM " ?[^(" WS "|.,!?…。，、।۔،)]+"

static const char *const re_default[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const re_gpt2[] = {RE_GPT2, NULL};
static const char *const re_llama3[] = {RE_LLAMA3, NULL};
static const char *const re_qwen2[] = {RE_QWEN2, NULL};
static const char *const re_starcoder[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const re_falcon[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]",
                                        NULL};
static const char *const re_deepseek_coder[] = {"[\\r\\n]", "[" WS "]?\\p{L}+",
                                                "[" WS "]?\\p{P}+", RE_CJK, "\\p{N}", NULL};
static const char *const re_deepseek_llm[] = {
    "[\\r\\n]",
    "[" WS "]?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚ"
    "Ḁ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳ"
    "Ꙁ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "[" WS "]?[!-/:-~！-／：-～‘-‟　-。]+",
    "[" WS "]+$",
    RE_CJK,
    "\\p{N}+",
    NULL};
static const char *const re_bloom[] = {RE_BLOOM, NULL};
static const char *const re_viking[] = {RE_BLOOM, "\\p{N}", NULL};
static const char *const re_tekken[] = {
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?"
    "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" WS
    "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+",
    NULL};

struct pretok_def {
    const char *name;
    const char *const *re;
    int ignore_merges;
};

/* Names as llama.cpp's llama_vocab::load maps tokenizer.ggml.pre. */
static const struct pretok_def defs[] = {
    {"default", re_default, 0},
    {"llama3", re_llama3, 1},
    {"llama-v3", re_llama3, 1},
    {"llama-bpe", re_llama3, 1},
    {"falcon3", re_llama3, 1},
    {"dbrx", re_llama3, 0},
    {"smaug-bpe", re_llama3, 0},
    {"chatglm-bpe", re_llama3, 0},
    {"deepseek-llm", re_deepseek_llm, 0},
    {"deepseek-coder", re_deepseek_coder, 0},
    {"falcon", re_falcon, 0},
    {"gpt-2", re_gpt2, 0},
    {"phi-2", re_gpt2, 0},
    {"mpt", re_gpt2, 0},
    {"olmo", re_gpt2, 0},
    {"jais", re_gpt2, 0},
    {"roberta-bpe", re_gpt2, 0},
    {"jina-es", re_gpt2, 0},
    {"jina-de", re_gpt2, 0},
    {"jina-v1-en", re_gpt2, 0},
    {"jina-v2-es", re_gpt2, 0},
    {"jina-v2-de", re_gpt2, 0},
    {"jina-v2-code", re_gpt2, 0},
    {"gigachat", re_gpt2, 0},
    {"starcoder", re_starcoder, 0},
    {"refact", re_starcoder, 0},
    {"command-r", re_starcoder, 0},
    {"smollm", re_starcoder, 0},
    {"codeshell", re_starcoder, 0},
    {"exaone", re_starcoder, 0},
    {"minerva-7b", re_starcoder, 0},
    {"qwen2", re_qwen2, 0},
    {"stablelm2", re_qwen2, 0},
    {"poro-chat", re_bloom, 0},
    {"bloom", re_bloom, 0},
    {"gpt3-finnish", re_bloom, 0},
    {"viking", re_viking, 0},
    {"tekken", re_tekken, 1},
};

struct core__tok_pretok {
    const struct pretok_def *def;
    int n;
    pcre2_code *code[8];
};

int core__tok_pretok_known(const char *name)
{
    for (size_t i = 0; i < BZ_ARRAY_SIZE(defs); i++)
        if (strcmp(defs[i].name, name) == 0)
            return 1;
    return 0;
}

void core__tok_pretok_free(struct core__tok_pretok *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        pcre2_code_free(p->code[i]);
    free(p);
}

int core__tok_pretok_new(struct core__tok_pretok **out, const char *name, int *ignore_merges,
                         struct bz_err *err)
{
    *out = NULL;
    const struct pretok_def *def = NULL;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(defs); i++)
        if (strcmp(defs[i].name, name) == 0)
            def = &defs[i];
    if (!def)
        return bz_errf(err, BZ_EUNSUPPORTED, "unknown pre-tokenizer '%s'", name);
    struct core__tok_pretok *p = bz_calloc(1, sizeof(*p));
    p->def = def;
    for (int i = 0; def->re[i]; i++) {
        int ecode;
        PCRE2_SIZE eoff;
        bz_assert(i < (int)BZ_ARRAY_SIZE(p->code));
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)def->re[i], PCRE2_ZERO_TERMINATED,
                                      PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY |
                                          PCRE2_NO_UTF_CHECK,
                                      &ecode, &eoff, NULL);
        if (!c) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ecode, msg, sizeof(msg));
            core__tok_pretok_free(p);
            return bz_errf(err, BZ_EINVAL, "pre-tokenizer '%s' regex %d at %zu: %s", name, i,
                           (size_t)eoff, (const char *)msg);
        }
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* without JIT it still works, slower */
        p->code[p->n++] = c;
    }
    if (ignore_merges)
        *ignore_merges = def->ignore_merges;
    *out = p;
    return 0;
}

/* One regex over one piece [off, off+len) of text: matches and the gaps between
 * them become pieces, in order. */
static int split_one(pcre2_code *code, pcre2_match_data *md, pcre2_match_context *mctx,
                     const char *text, size_t off, size_t len, struct core__tok_spans *out,
                     struct bz_err *err)
{
    PCRE2_SPTR subj = (PCRE2_SPTR)(text + off);
    size_t start = 0, pos = 0;
    while (pos < len) {
        int rc = pcre2_match(code, subj, len, pos, PCRE2_NO_UTF_CHECK, md, mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(code, subj, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return bz_errf(err, BZ_EINVAL, "pre-tokenizer match: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) {
            /* empty match: step one character on (none of the tables produce one) */
            pos = ms + 1;
            while (pos < len && ((unsigned char)subj[pos] & 0xc0) == 0x80)
                pos++;
            continue;
        }
        if (ms > start)
            core__tok_spans_push(out, off + start, ms - start);
        core__tok_spans_push(out, off + ms, me - ms);
        start = pos = me;
    }
    if (start < len)
        core__tok_spans_push(out, off + start, len - start);
    return 0;
}

int core__tok_pretok_split(const struct core__tok_pretok *p, const char *text, size_t n,
                           struct core__tok_spans *out, struct bz_err *err)
{
    if (n == 0)
        return 0;
    /* the default 32 KB JIT stack is plenty for these regexes; a match that needs
     * more falls back to the interpreter (split_one) */
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    if (!md || !mctx) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mctx);
        return bz_errf(err, BZ_ENOMEM, "pre-tokenizer: out of memory");
    }
    struct core__tok_spans a = {0}, b = {0};
    core__tok_spans_push(&a, 0, n);
    int rc = 0;
    for (int r = 0; r < p->n && rc == 0; r++) {
        b.n = 0;
        for (size_t i = 0; i < a.n && rc == 0; i++)
            rc = split_one(p->code[r], md, mctx, text, a.p[i].off, a.p[i].len, &b, err);
        struct core__tok_spans t = a;
        a = b;
        b = t;
    }
    if (rc == 0)
        for (size_t i = 0; i < a.n; i++)
            core__tok_spans_push(out, a.p[i].off, a.p[i].len);
    free(a.p);
    free(b.p);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    return rc;
}
