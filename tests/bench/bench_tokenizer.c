/*
 * bench_tokenizer.c: tokenizer throughput (MB/s of input) for 10 MB of generated
 * English and 10 MB of generated Japanese text, with one SentencePiece vocab
 * (llama-spm) and one byte-level BPE vocab (gpt-2) from ../shared/data/vocab, plus
 * decode throughput. Text is tokenized paragraph by paragraph (about 1 KB each), as
 * training data is. Times are CPU time of this process (the machine may be shared,
 * which would make wall time say little); wall time is printed beside. Prints
 * figures; never fails on speed. Skips loudly when the vocabs are absent.
 */
#include <string.h>
#include <time.h>

#include "core/core.h"

#define TARGET (10u << 20)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}

static void gen_text(struct bz_buf *b, const char *const *words, size_t nw, const char *sep,
                     const char *const *punct, size_t np)
{
    size_t para = 0;
    while (b->len < TARGET) {
        bz_buf_puts(b, words[next() % nw]);
        unsigned r = next() % 16;
        if (r == 0)
            bz_buf_puts(b, punct[next() % np]);
        para++;
        if (next() % 180 == 0 || para > 400) {
            bz_buf_puts(b, "\n\n");
            para = 0;
        } else {
            bz_buf_puts(b, sep);
        }
    }
}

struct run {
    double enc_s, dec_s, enc_wall;
    size_t tokens;
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int bench(const struct core_vocab *v, const struct bz_buf *text, struct run *r)
{
    struct core_ids ids;
    core_ids_init(&ids);
    struct bz_err err = {0};
    double t0 = cpu_now(), w0 = bz_now();
    const char *p = text->p, *end = text->p + text->len;
    while (p < end) {
        const char *q = memmem(p, (size_t)(end - p), "\n\n", 2);
        q = q ? q + 2 : end;
        int rc = core_tokenizer_encode(v, p, (size_t)(q - p), 0, &ids, &err);
        if (rc) {
            fprintf(stderr, "bench_tokenizer: %s\n", bz_err_msg(&err, rc));
            return 1;
        }
        p = q;
    }
    r->enc_s = cpu_now() - t0;
    r->enc_wall = bz_now() - w0;
    r->tokens = ids.n;
    struct bz_buf out;
    bz_buf_init(&out);
    t0 = cpu_now();
    core_tokenizer_decode(v, ids.p, ids.n, 0, &out, &err);
    r->dec_s = cpu_now() - t0;
    bz_buf_cleanup(&out);
    core_ids_cleanup(&ids);
    return 0;
}

int main(void)
{
    static const char *const vocabs[] = {"../shared/data/vocab/ggml-vocab-llama-spm.gguf",
                                         "../shared/data/vocab/ggml-vocab-gpt-2.gguf"};
    static const char *const en[] = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
        "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
        "but", "have", "an", "they", "you", "were", "their", "one", "all", "we", "can", "her",
        "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no",
        "model", "training", "instruction", "response", "dataset", "language", "small",
        "weights", "question", "answer", "because", "example", "between", "tokenizer",
        "through", "important", "different", "following", "information", "understanding"};
    static const char *const en_p[] = {",", ".", "!", "?", ";", ":", " (1984)", " 42%", "'s"};
    static const char *const ja[] = {
        "私", "は", "日本語", "の", "文章", "を", "書き", "ます", "東京", "京都", "大阪",
        "学生", "先生", "言語", "モデル", "学習", "データ", "質問", "答え", "です", "でした",
        "とても", "大切", "な", "こと", "が", "あり", "ません", "今日", "明日", "天気",
        "いい", "ですね", "コンピュータ", "プログラム", "人工知能", "自然", "処理", "速い",
        "新しい", "古い", "本", "読む", "見る", "行く", "来る", "食べる", "飲む", "🙂"};
    static const char *const ja_p[] = {"。", "、", "！", "？", "「", "」", "（例）"};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(vocabs); i++) {
        FILE *f = fopen(vocabs[i], "rb");
        if (!f) {
            printf("bench_tokenizer: SKIP: %s not found (needs ../shared/data)\n", vocabs[i]);
            return 0;
        }
        fclose(f);
    }
    struct bz_buf text_en, text_ja;
    bz_buf_init(&text_en);
    bz_buf_init(&text_ja);
    gen_text(&text_en, en, BZ_ARRAY_SIZE(en), " ", en_p, BZ_ARRAY_SIZE(en_p));
    gen_text(&text_ja, ja, BZ_ARRAY_SIZE(ja), "", ja_p, BZ_ARRAY_SIZE(ja_p));
    printf("tokenizer throughput, %.1f MB English / %.1f MB Japanese generated text, "
           "paragraphs of ~1 KB\n",
           text_en.len / 1048576.0, text_ja.len / 1048576.0);
    printf("%-10s %-9s %11s %10s %9s %11s %11s\n", "vocab", "text", "encode MB/s", "(wall)",
           "tokens", "bytes/token", "decode MB/s");
    for (size_t i = 0; i < BZ_ARRAY_SIZE(vocabs); i++) {
        struct core_vocab *v;
        struct bz_err err = {0};
        int rc = core_vocab_open(&v, vocabs[i], &err);
        if (rc) {
            fprintf(stderr, "bench_tokenizer: %s\n", bz_err_msg(&err, rc));
            return 1;
        }
        const struct bz_buf *texts[] = {&text_en, &text_ja};
        const char *names[] = {"english", "japanese"};
        for (int t = 0; t < 2; t++) {
            struct run r;
            if (bench(v, texts[t], &r))
                return 1;
            double mb = texts[t]->len / 1048576.0;
            printf("%-10s %-9s %11.2f %10.2f %9zu %11.2f %11.1f\n",
                   v->kind == CORE_VOCAB_SPM ? "llama-spm" : "gpt-2", names[t], mb / r.enc_s,
                   mb / r.enc_wall, r.tokens, (double)texts[t]->len / (double)r.tokens,
                   mb / r.dec_s);
        }
        core_vocab_free(v);
    }
    bz_buf_cleanup(&text_en);
    bz_buf_cleanup(&text_ja);
    return 0;
}
