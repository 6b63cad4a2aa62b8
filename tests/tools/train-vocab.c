/*
 * train-vocab.c: learns a small SentencePiece-style BPE vocabulary from a text corpus
 * (the demo model's, from gen-corpus) and writes it as a vocab-only GGUF
 * (tokenizer.ggml.model "llama": pieces, scores, token types, an Alpaca chat template)
 * that init-model turns into a model and core/tokenizer.c encodes with as it does any
 * Llama SPM vocab.
 *
 * Key idea: classic BPE training over words. Spaces become U+2581 and stay attached to
 * the start of the following word; words are runs of letters, of punctuation, single
 * digits or single newlines, so no piece spans a word boundary (digits stay single, as
 * in Llama's vocab, which keeps sums learnable). Each round merges the most frequent
 * adjacent pair (ties: the lower pair of symbol ids, so the result is deterministic)
 * and the merged piece gets score -rank; single characters come after all merges with
 * lower scores. The SPM encoder, which merges the best-scoring adjacent pair present in
 * the vocab, then reproduces the training segmentation.
 *
 * Layout of the ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 the byte tokens <0x00>..<0xFF>
 * (byte fallback for anything outside the corpus), then merged pieces by rank, then
 * the corpus's single characters.
 *
 * Left out: no Unigram model, no normalisation beyond spaces, no Unicode beyond what
 * the corpus holds (gen-corpus is ASCII; other bytes still round-trip through the byte
 * tokens).
 *
 *   train-vocab -i CORPUS.txt -o VOCAB.gguf [-n SIZE] [--name NAME]
 *     -n  total vocabulary size including the 259 fixed tokens (default 1024)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define MAX_SYMS 8192
#define SPACE "\xe2\x96\x81" /* U+2581 */

/* The Jinja text of the Alpaca / OpenBezoar template; core_template_detect
 * recognises it by "### Instruction:". */
static const char chat_template[] =
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ '### System:\\n' + message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}"
    "{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:\\n' }}"
    "{% else %}{{ message['content'] + eos_token + '\\n\\n' }}{% endif %}{% endfor %}";

/* ---------------------------------------------------------------- symbols */

static char *sym_text[MAX_SYMS];
static int n_syms;

static int sym_add(const char *s, size_t n)
{
    if (n_syms >= MAX_SYMS) {
        fprintf(stderr, "train-vocab: more than %d symbols\n", MAX_SYMS);
        exit(1);
    }
    sym_text[n_syms] = bz_malloc(n + 1);
    memcpy(sym_text[n_syms], s, n);
    sym_text[n_syms][n] = 0;
    return n_syms++;
}

static int sym_find(const char *s, size_t n)
{
    for (int i = 0; i < n_syms; i++)
        if (strlen(sym_text[i]) == n && memcmp(sym_text[i], s, n) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- words */

struct word {
    char *text; /* with U+2581 for the leading space; NUL-terminated */
    long long count;
    int *sym;   /* [n] current segmentation */
    int n;
};

static struct word *words;
static size_t n_words, cap_words;
static size_t *slots; /* open addressing: index + 1 into words, 0 empty */
static size_t n_slots;

static void word_count(const char *s, size_t n)
{
    if ((n_words + 1) * 2 > n_slots) {
        size_t ns = n_slots ? n_slots * 2 : 4096;
        size_t *nt = bz_calloc(ns, sizeof *nt);
        for (size_t i = 0; i < n_words; i++) {
            size_t h = bz_hash64(words[i].text, strlen(words[i].text)) & (ns - 1);
            while (nt[h])
                h = (h + 1) & (ns - 1);
            nt[h] = i + 1;
        }
        free(slots);
        slots = nt;
        n_slots = ns;
    }
    size_t h = bz_hash64(s, n) & (n_slots - 1);
    while (slots[h]) {
        struct word *w = &words[slots[h] - 1];
        if (strlen(w->text) == n && memcmp(w->text, s, n) == 0) {
            w->count++;
            return;
        }
        h = (h + 1) & (n_slots - 1);
    }
    if (n_words == cap_words) {
        cap_words = cap_words ? cap_words * 2 : 1024;
        words = bz_realloc(words, cap_words * sizeof *words);
    }
    struct word *w = &words[n_words];
    w->text = bz_malloc(n + 1);
    memcpy(w->text, s, n);
    w->text[n] = 0;
    w->count = 1;
    w->sym = NULL;
    w->n = 0;
    slots[h] = ++n_words;
}

static int cls(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    if (c >= '0' && c <= '9')
        return 2;
    if (c == '\n')
        return 3;
    if (c == ' ')
        return 4;
    return 5;
}

/* Split the corpus into words; separator lines "<|endoftext|>" are not text. */
static void split(const char *p, size_t n)
{
    char w[512];
    size_t i = 0;
    while (i < n) {
        static const char sep[] = "<|endoftext|>\n";
        if ((i == 0 || p[i - 1] == '\n') && n - i >= sizeof sep - 1 &&
            memcmp(p + i, sep, sizeof sep - 1) == 0) {
            i += sizeof sep - 1;
            continue;
        }
        size_t len = 0;
        if (p[i] == ' ') {
            memcpy(w, SPACE, 3);
            len = 3;
            i++;
        }
        if (i < n && p[i] != ' ') {
            int c = cls((unsigned char)p[i]);
            w[len++] = p[i++];
            if (c == 1 || c == 5)
                while (i < n && cls((unsigned char)p[i]) == c && len < sizeof w - 1)
                    w[len++] = p[i++];
        }
        word_count(w, len);
    }
}

/* ---------------------------------------------------------------- pairs */

/* Pair counts keyed by a * MAX_SYMS + b + 1 (0: empty slot). */
static uint64_t *pkey;
static long long *pval;
static size_t p_slots = 1 << 20;

static void pair_add(int a, int b, long long c)
{
    uint64_t k = (uint64_t)a * MAX_SYMS + (uint64_t)b + 1;
    size_t h = (size_t)((k * 0x9e3779b97f4a7c15ull) >> 44) & (p_slots - 1);
    while (pkey[h] && pkey[h] != k)
        h = (h + 1) & (p_slots - 1);
    pkey[h] = k;
    pval[h] += c;
}

static int usage(void)
{
    fprintf(stderr, "usage: train-vocab -i CORPUS.txt -o VOCAB.gguf [-n SIZE] [--name NAME]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *name = "bezoar-demo";
    int size = 1024;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "-i"))
            in = v;
        else if (!strcmp(a, "-o"))
            out = v;
        else if (!strcmp(a, "-n"))
            size = atoi(v);
        else if (!strcmp(a, "--name"))
            name = v;
        else
            return usage();
    }
    if (!in || !out || size < 300 || size > MAX_SYMS)
        return usage();
    struct bz_err err = {0};
    char *text = NULL;
    size_t tn = 0;
    int rc = bz_read_file(in, &text, &tn, &err);
    if (rc) {
        fprintf(stderr, "train-vocab: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    split(text, tn);

    /* Initial symbols: every character of every word (ASCII, and U+2581 whole). */
    for (size_t i = 0; i < n_words; i++) {
        struct word *w = &words[i];
        size_t len = strlen(w->text);
        w->sym = bz_malloc((len + 1) * sizeof *w->sym);
        for (size_t k = 0; k < len;) {
            size_t cl = memcmp(w->text + k, SPACE, 3) == 0 && len - k >= 3 ? 3 : 1;
            int s = sym_find(w->text + k, cl);
            w->sym[w->n++] = s >= 0 ? s : sym_add(w->text + k, cl);
            k += cl;
        }
    }
    int n_chars = n_syms;
    int n_merges = size - 259 - n_chars;
    if (n_merges < 1) {
        fprintf(stderr, "train-vocab: -n %d leaves no room for merges (%d characters)\n", size,
                n_chars);
        return 2;
    }
    int *merged = bz_malloc((size_t)n_merges * sizeof *merged);
    pkey = bz_calloc(p_slots, sizeof *pkey);
    pval = bz_calloc(p_slots, sizeof *pval);
    int done = 0;
    for (; done < n_merges; done++) {
        memset(pkey, 0, p_slots * sizeof *pkey);
        memset(pval, 0, p_slots * sizeof *pval);
        for (size_t i = 0; i < n_words; i++)
            for (int k = 0; k + 1 < words[i].n; k++)
                pair_add(words[i].sym[k], words[i].sym[k + 1], words[i].count);
        uint64_t best = 0;
        long long bc = 0;
        for (size_t h = 0; h < p_slots; h++)
            if (pkey[h] && (pval[h] > bc || (pval[h] == bc && pkey[h] < best))) {
                best = pkey[h];
                bc = pval[h];
            }
        if (bc < 2)
            break;
        int a = (int)((best - 1) / MAX_SYMS), b = (int)((best - 1) % MAX_SYMS);
        char buf[1024];
        int bl = snprintf(buf, sizeof buf, "%s%s", sym_text[a], sym_text[b]);
        int s = sym_add(buf, (size_t)bl);
        merged[done] = s;
        for (size_t i = 0; i < n_words; i++) {
            struct word *w = &words[i];
            int o = 0;
            for (int k = 0; k < w->n; k++) {
                if (k + 1 < w->n && w->sym[k] == a && w->sym[k + 1] == b) {
                    w->sym[o++] = s;
                    k++;
                } else {
                    w->sym[o++] = w->sym[k];
                }
            }
            w->n = o;
        }
    }
    if (done < n_merges) {
        fprintf(stderr, "train-vocab: only %d merges possible (asked %d): use a smaller -n\n",
                done, n_merges);
        return 1;
    }

    /* The vocab in id order. */
    int nv = 259 + n_merges + n_chars;
    const char **toks = bz_malloc((size_t)nv * sizeof *toks);
    float *scores = bz_malloc((size_t)nv * sizeof *scores);
    int32_t *types = bz_malloc((size_t)nv * sizeof *types);
    char (*bytes)[8] = bz_malloc(256 * sizeof *bytes);
    toks[0] = "<unk>";
    toks[1] = "<s>";
    toks[2] = "</s>";
    types[0] = CORE_TOKEN_UNKNOWN;
    types[1] = types[2] = CORE_TOKEN_CONTROL;
    scores[0] = scores[1] = scores[2] = 0;
    for (int i = 0; i < 256; i++) {
        snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
        toks[3 + i] = bytes[i];
        types[3 + i] = CORE_TOKEN_BYTE;
        scores[3 + i] = 0;
    }
    for (int i = 0; i < n_merges; i++) {
        toks[259 + i] = sym_text[merged[i]];
        types[259 + i] = CORE_TOKEN_NORMAL;
        scores[259 + i] = (float)-i;
    }
    /* Characters in byte order, so that the file does not depend on corpus order. */
    int *order = bz_malloc((size_t)n_chars * sizeof *order);
    for (int i = 0; i < n_chars; i++)
        order[i] = i;
    for (int i = 1; i < n_chars; i++)
        for (int j = i; j > 0 && strcmp(sym_text[order[j - 1]], sym_text[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < n_chars; i++) {
        toks[259 + n_merges + i] = sym_text[order[i]];
        types[259 + n_merges + i] = CORE_TOKEN_NORMAL;
        scores[259 + n_merges + i] = (float)-(n_merges + i);
    }

    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.name", name);
    core_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    core_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, (uint64_t)nv);
    core_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CORE_GGUF_FLOAT32, scores,
                             (uint64_t)nv);
    core_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CORE_GGUF_INT32, types,
                             (uint64_t)nv);
    core_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    core_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    core_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    core_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", 1);
    core_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", 0);
    core_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", 1);
    core_gguf_writer_set_str(w, "tokenizer.chat_template", chat_template);
    rc = core_gguf_writer_write(w, out, &err);
    core_gguf_writer_free(w);
    if (rc) {
        fprintf(stderr, "train-vocab: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    long long ntok = 0;
    for (size_t i = 0; i < n_words; i++)
        ntok += words[i].count * words[i].n;
    fprintf(stderr, "train-vocab: %d tokens (%d merges, %d characters), %zu distinct words, "
                    "%.2f bytes/token on the corpus\n",
            nv, n_merges, n_chars, n_words, ntok ? (double)tn / (double)ntok : 0.0);
    for (size_t i = 0; i < n_words; i++) {
        free(words[i].text);
        free(words[i].sym);
    }
    for (int i = 0; i < n_syms; i++)
        free(sym_text[i]);
    free(words);
    free(slots);
    free(pkey);
    free(pval);
    free(merged);
    free(toks);
    free(scores);
    free(types);
    free(bytes);
    free(order);
    free(text);
    return 0;
}
