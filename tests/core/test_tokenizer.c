/*
 * test_tokenizer.c: tokenizers against small in-memory vocabs (SPM merges, byte
 * fallback, special tokens, byte-level BPE), against llama.cpp's vectors for every
 * vocab in ../shared/data/vocab, and stories260K's tok512 vectors (GGUF and
 * llama2.c tokenizer.bin).
 */
#include <string.h>

#include "core/core.h"
#include "core/tokenizer.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- helpers */

static struct core_vocab *spm_toy(void)
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
    /* ids 259.. */
    const char *pieces[] = {"\xe2\x96\x81", "a", "b", "c", "ab", "bc", "\xe2\x96\x81" "a",
                            "\xe2\x96\x81" "ab", "abc"};
    float scores[] = {-1, -2, -2, -2, -3, -1, -4, -5, -6};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(pieces); i++)
        core_vocab_add(v, pieces[i], strlen(pieces[i]), scores[i], CORE_TOKEN_NORMAL);
    core_vocab_add(v, "<|im_start|>", 12, 0, CORE_TOKEN_CONTROL);
    v->bos = 1;
    v->eos = 2;
    v->unk = 0;
    struct bz_err err = {0};
    int rc = core_vocab_finish(v, &err);
    if (rc)
        test__fail(__FILE__, __LINE__, "finish: %s", bz_err_msg(&err, rc));
    return v;
}

static void ids_str(const struct core_ids *ids, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < ids->n && k + 12 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%d", i ? " " : "", (int)ids->p[i]);
}

static void expect_ids(const struct core_vocab *v, const char *text, int flags, const char *want)
{
    struct core_ids ids;
    core_ids_init(&ids);
    struct bz_err err = {0};
    int rc = core_tokenizer_encode(v, text, strlen(text), flags, &ids, &err);
    if (rc)
        test__fail(__FILE__, __LINE__, "encode \"%s\": %s", text, bz_err_msg(&err, rc));
    char got[4096];
    ids_str(&ids, got, sizeof(got));
    core_ids_cleanup(&ids);
    if (strcmp(got, want) != 0)
        test__fail(__FILE__, __LINE__, "encode \"%s\": got [%s], want [%s]", text, got, want);
}

/* Read a vectors pair: inputs separated by "\n__ggml_vocab_test__\n" (a last input
 * without the separator counts when non-empty), outputs one line of ids each. */
static int run_vectors(const struct core_vocab *v, const char *inp_path, const char *out_path,
                       int flags, int *n_total)
{
    char *inp, *outp;
    size_t ni, no;
    struct bz_err err = {0};
    ASSERT_OK(bz_read_file(inp_path, &inp, &ni, &err), &err);
    ASSERT_OK(bz_read_file(out_path, &outp, &no, &err), &err);
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t seplen = strlen(sep);
    char *s = inp, *o = outp;
    int pass = 0, total = 0;
    for (;;) {
        char *e = strstr(s, sep);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (!e && len == 0)
            break;
        char *nl = strchr(o, '\n');
        if (!nl && !*o)
            test__fail(__FILE__, __LINE__, "%s: more inputs than output lines", out_path);
        size_t ol = nl ? (size_t)(nl - o) : strlen(o);
        while (ol > 0 && *o == ' ') {
            o++;
            ol--;
        }
        char want[65536];
        snprintf(want, sizeof(want), "%.*s", (int)ol, o);
        size_t wl = strlen(want);
        while (wl && (want[wl - 1] == ' ' || want[wl - 1] == '\r'))
            want[--wl] = 0;
        struct core_ids ids;
        core_ids_init(&ids);
        int rc = core_tokenizer_encode(v, s, len, flags, &ids, &err);
        if (rc)
            test__fail(__FILE__, __LINE__, "encode: %s", bz_err_msg(&err, rc));
        char got[65536];
        ids_str(&ids, got, sizeof(got));
        core_ids_cleanup(&ids);
        total++;
        if (strcmp(got, want) == 0)
            pass++;
        else if (total - pass <= 5)
            fprintf(stderr, "  mismatch on \"%.*s\":\n    got  [%s]\n    want [%s]\n",
                    (int)BZ_MIN(len, 80), s, got, want);
        o = nl ? nl + 1 : o + ol;
        if (!e)
            break;
        s = e + seplen;
    }
    free(inp);
    free(outp);
    *n_total = total;
    return pass;
}

static void check_vocab_vectors(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "vocab/ggml-vocab-%s.gguf", name);
    const char *path = test_data(rel);
    char gguf[1024], inp[1024], outp[1024];
    snprintf(gguf, sizeof(gguf), "%s", path);
    snprintf(inp, sizeof(inp), "%s.inp", gguf);
    snprintf(outp, sizeof(outp), "%s.out", gguf);
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_open(&v, gguf, &err), &err);
    int total = 0;
    int pass = run_vectors(v, inp, outp, 0, &total);
    fprintf(stderr, "  vocab %s: %d/%d vectors match\n", name, pass, total);
    core_vocab_free(v);
    ASSERT(total > 0);
    ASSERT_EQ_INT(pass, total);
}

/* ---------------------------------------------------------------- toy SPM */

TEST(tokenizer_spm_merges_by_score)
{
    struct core_vocab *v = spm_toy();
    /* "▁abc": ▁a(-4) vs ab(-3) vs bc(-1): bc first, then ▁+a -> ▁a, then ▁a+bc? no
     * such piece, so [▁a, bc]. */
    expect_ids(v, "abc", 0, "265 264");
    expect_ids(v, "abc", CORE_TOK_ADD_BOS, "1 265 264");
    core_vocab_free(v);
}

TEST(tokenizer_spm_byte_fallback)
{
    struct core_vocab *v = spm_toy();
    /* 'é' = C3 A9 is no piece: its bytes' tokens (3 + byte) */
    expect_ids(v, "a\xc3\xa9", 0, "265 198 172");
    /* an invalid byte alone comes back as its byte token too */
    expect_ids(v, "\xff", 0, "259 258");
    core_vocab_free(v);
}

TEST(tokenizer_spm_empty_and_spaces)
{
    struct core_vocab *v = spm_toy();
    expect_ids(v, "", 0, "");
    expect_ids(v, "", CORE_TOK_ADD_BOS, "1");
    expect_ids(v, " ", 0, "259 259");
    core_vocab_free(v);
}

TEST(tokenizer_special_only_when_asked)
{
    struct core_vocab *v = spm_toy();
    /* without SPECIAL the control token's text is just text (bytes here) */
    struct core_ids ids;
    core_ids_init(&ids);
    struct bz_err err = {0};
    ASSERT_OK(core_tokenizer_encode(v, "<|im_start|>a", 13, 0, &ids, &err), &err);
    for (size_t i = 0; i < ids.n; i++)
        ASSERT(ids.p[i] != 268);
    core_ids_cleanup(&ids);
    expect_ids(v, "<|im_start|>a", CORE_TOK_SPECIAL, "268 265");
    expect_ids(v, "a<|im_start|>", CORE_TOK_SPECIAL, "265 268");
    core_vocab_free(v);
}

TEST(tokenizer_spm_decode_round_trip)
{
    struct core_vocab *v = spm_toy();
    const char *texts[] = {"abc", " a b  c ", "\xe6\x97\xa5\xe6\x9c\xac", "\xff\xfe x",
                           "\xf0\x9f\x98\x80!"};
    for (size_t i = 0; i < BZ_ARRAY_SIZE(texts); i++) {
        struct core_ids ids;
        core_ids_init(&ids);
        struct bz_err err = {0};
        ASSERT_OK(core_tokenizer_encode(v, texts[i], strlen(texts[i]), CORE_TOK_ADD_BOS, &ids,
                                        &err), &err);
        struct bz_buf out;
        bz_buf_init(&out);
        ASSERT_OK(core_tokenizer_decode(v, ids.p, ids.n, CORE_DETOK_STRIP_PREFIX, &out, &err),
                  &err);
        ASSERT_EQ_STR(out.p ? out.p : "", texts[i]);
        bz_buf_cleanup(&out);
        core_ids_cleanup(&ids);
    }
    core_vocab_free(v);
}

TEST(tokenizer_stream_never_splits_a_char)
{
    struct core_vocab *v = spm_toy();
    /* "日" = E6 97 A5 as three byte tokens, then 'a' */
    int32_t ids[] = {3 + 0xe6, 3 + 0x97, 3 + 0xa5, 260};
    struct core_tokenizer_stream s;
    core_tokenizer_stream_init(&s, v, 0);
    struct bz_buf out;
    bz_buf_init(&out);
    struct bz_err err = {0};
    ASSERT_OK(core_tokenizer_stream_push(&s, ids[0], &out, &err), &err);
    ASSERT_EQ_INT(out.len, 0);
    ASSERT_OK(core_tokenizer_stream_push(&s, ids[1], &out, &err), &err);
    ASSERT_EQ_INT(out.len, 0);
    ASSERT_OK(core_tokenizer_stream_push(&s, ids[2], &out, &err), &err);
    ASSERT_EQ_STR(out.p, "\xe6\x97\xa5");
    ASSERT_OK(core_tokenizer_stream_push(&s, ids[3], &out, &err), &err);
    ASSERT_EQ_STR(out.p, "\xe6\x97\xa5" "a");
    /* a lead byte cut short by ASCII, then a dangling lead byte at the end */
    out.len = 0;
    ASSERT_OK(core_tokenizer_stream_push(&s, 3 + 0xe6, &out, &err), &err);
    ASSERT_OK(core_tokenizer_stream_push(&s, 3 + 'x', &out, &err), &err);
    ASSERT_OK(core_tokenizer_stream_push(&s, 3 + 0xf0, &out, &err), &err);
    core_tokenizer_stream_flush(&s, &out);
    ASSERT_EQ_INT(out.len, 7);
    ASSERT(memcmp(out.p, "\xef\xbf\xbdx\xef\xbf\xbd", 7) == 0);
    bz_buf_cleanup(&out);
    core_vocab_free(v);
}

TEST(tokenizer_unknown_pre_is_refused)
{
    struct core_vocab *v = core_vocab_new(CORE_VOCAB_BPE);
    struct bz_err err = {0};
    int rc = core_vocab_set_pre(v, "no-such-pre", &err);
    ASSERT_EQ_INT(rc, BZ_EUNSUPPORTED);
    ASSERT(strstr(err.msg, "no-such-pre") != NULL);
    core_vocab_free(v);
}

/* ---------------------------------------------------------------- real vectors */

TEST(tokenizer_vectors_llama_spm) { check_vocab_vectors("llama-spm"); }
TEST(tokenizer_vectors_phi_3) { check_vocab_vectors("phi-3"); }

static void check_tok512(const char *rel)
{
    const char *path = test_data(rel);
    char vpath[1024];
    snprintf(vpath, sizeof(vpath), "%s", path);
    const char *inp = test_data("models/reference/tok512_llama2c_encode.inp");
    char ipath[1024];
    snprintf(ipath, sizeof(ipath), "%s", inp);
    const char *outp = test_data("models/reference/tok512_llama2c_encode.out");
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_open(&v, vpath, &err), &err);
    ASSERT_EQ_INT(v->n_tokens, 512);
    int total = 0;
    int pass = run_vectors(v, ipath, outp, CORE_TOK_ADD_BOS, &total);
    fprintf(stderr, "  %s: %d/%d tok512 vectors match\n", rel, pass, total);
    core_vocab_free(v);
    ASSERT_EQ_INT(total, 8);
    ASSERT_EQ_INT(pass, total);
}

TEST(tokenizer_vectors_stories_gguf) { check_tok512("models/stories260K.gguf"); }
TEST(tokenizer_vectors_stories_llama2c) { check_tok512("models/llama2c/tok512.bin"); }
TEST(tokenizer_vectors_gpt_2) { check_vocab_vectors("gpt-2"); }
TEST(tokenizer_vectors_falcon) { check_vocab_vectors("falcon"); }
TEST(tokenizer_vectors_starcoder) { check_vocab_vectors("starcoder"); }
TEST(tokenizer_vectors_deepseek_coder) { check_vocab_vectors("deepseek-coder"); }

/* ---------------------------------------------------------------- round trips */

/* Random text from ASCII words, Japanese, emoji, accents, whitespace runs, and (when
 * invalid) stray bytes; deterministic. */
static size_t random_text(uint64_t *s, char *out, size_t cap, int invalid)
{
    static const char *const parts[] = {
        "the ", "Hello", " world", "  ", "\n", "\t", "日本語", "の", "テキスト", "。", "🙂",
        "👨\u200d👩\u200d👧", "é", "Führer", "½", "123", "4567", "'s", "!!", " ", "한국어",
        "Привет", "ស្លាប", "\r\n", "```", "東京"};
    size_t n = 0;
    int k = 1 + (int)(*s % 40);
    for (int i = 0; i < k; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = *s >> 33;
        if (invalid && r % 7 == 0) {
            if (n + 1 < cap)
                out[n++] = (char)(0x80 + (r >> 8) % 128);
            continue;
        }
        const char *p = parts[r % BZ_ARRAY_SIZE(parts)];
        size_t l = strlen(p);
        if (n + l >= cap)
            break;
        memcpy(out + n, p, l);
        n += l;
    }
    out[n] = 0;
    return n;
}

static void round_trips(struct core_vocab *v, int invalid)
{
    uint64_t seed = 42;
    char text[2048];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = random_text(&seed, text, sizeof(text), invalid);
        struct core_ids ids;
        core_ids_init(&ids);
        struct bz_err err = {0};
        ASSERT_OK(core_tokenizer_encode(v, text, n, CORE_TOK_ADD_BOS, &ids, &err), &err);
        struct bz_buf out;
        bz_buf_init(&out);
        ASSERT_OK(core_tokenizer_decode(v, ids.p, ids.n, CORE_DETOK_STRIP_PREFIX, &out, &err),
                  &err);
        if (out.len != n || memcmp(out.p ? out.p : "", text, n) != 0)
            test__fail(__FILE__, __LINE__, "round trip of %zu bytes \"%.60s\" gave %zu bytes",
                       n, text, out.len);
        if (!invalid) {
            /* streaming gives the same text, never half a character per step */
            struct core_tokenizer_stream st;
            core_tokenizer_stream_init(&st, v, CORE_DETOK_STRIP_PREFIX);
            struct bz_buf sb;
            bz_buf_init(&sb);
            for (size_t i = 0; i < ids.n; i++) {
                size_t before = sb.len;
                ASSERT_OK(core_tokenizer_stream_push(&st, ids.p[i], &sb, &err), &err);
                ASSERT_EQ_INT(bz_utf8_check(sb.p + before, sb.len - before), sb.len - before);
            }
            core_tokenizer_stream_flush(&st, &sb);
            ASSERT_EQ_INT(sb.len, n);
            ASSERT(memcmp(sb.p ? sb.p : "", text, n) == 0);
            bz_buf_cleanup(&sb);
        }
        bz_buf_cleanup(&out);
        core_ids_cleanup(&ids);
    }
}

static void round_trip_vocab(const char *rel)
{
    const char *path = test_data(rel);
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_open(&v, path, &err), &err);
    round_trips(v, 0);
    round_trips(v, 1);
    core_vocab_free(v);
}

TEST(tokenizer_round_trip_toy_spm)
{
    struct core_vocab *v = spm_toy();
    round_trips(v, 0);
    round_trips(v, 1);
    core_vocab_free(v);
}
TEST(tokenizer_round_trip_llama_spm) { round_trip_vocab("vocab/ggml-vocab-llama-spm.gguf"); }
TEST(tokenizer_round_trip_gpt_2) { round_trip_vocab("vocab/ggml-vocab-gpt-2.gguf"); }
TEST(tokenizer_round_trip_stories) { round_trip_vocab("models/stories260K.gguf"); }

/* ---------------------------------------------------------------- Hugging Face */

/* Write the gpt-2 GGUF vocab as a tokenizer.json (vocab, merges, ByteLevel) and check
 * that it loads to a tokenizer that passes the same vectors. */
TEST(tokenizer_hf_json_gpt_2_vectors)
{
    const char *path = test_data("vocab/ggml-vocab-gpt-2.gguf");
    char gpath[1024];
    snprintf(gpath, sizeof(gpath), "%s", path);
    struct core_gguf *g;
    struct bz_err err = {0};
    ASSERT_OK(core_gguf_open(&g, gpath, &err), &err);
    const struct core_gguf_str *toks, *merges;
    uint64_t nt, nm;
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &nt, &err), &err);
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &nm, &err), &err);
    struct bz_buf j;
    bz_buf_init(&j);
    bz_buf_puts(&j, "{\"added_tokens\":[{\"id\":50256,\"content\":\"<|endoftext|>\","
                    "\"special\":true}],"
                    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                    "\"use_regex\":true},\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (uint64_t i = 0; i < nt; i++) {
        if (i == 50256)
            continue;
        if (i)
            bz_buf_putc(&j, ',');
        bz_buf_json_str(&j, toks[i].p, toks[i].n);
        bz_buf_printf(&j, ":%llu", (unsigned long long)i);
    }
    bz_buf_puts(&j, "},\"merges\":[");
    for (uint64_t i = 0; i < nm; i++) {
        if (i)
            bz_buf_putc(&j, ',');
        bz_buf_json_str(&j, merges[i].p, merges[i].n);
    }
    bz_buf_puts(&j, "]}}");
    core_gguf_close(g);
    test_write("tokenizer.json", j.p, j.len);
    const char *cfg = "{\"bos_token\":\"<|endoftext|>\",\"eos_token\":{\"content\":"
                      "\"<|endoftext|>\"},\"chat_template\":\"{{ '<|im_start|>' }}\"}";
    test_write("tokenizer_config.json", cfg, strlen(cfg));
    bz_buf_cleanup(&j);
    struct core_vocab *v;
    ASSERT_OK(core_vocab_open(&v, test_tmpdir(), &err), &err);
    ASSERT_EQ_INT(v->kind, CORE_VOCAB_BPE);
    ASSERT_EQ_STR(v->pre, "gpt-2");
    ASSERT_EQ_INT(v->eos, 50256);
    ASSERT_EQ_INT(core_template_pick(v, NULL, &err), CORE_TEMPLATE_CHATML);
    char inp[1024], outp[1024];
    snprintf(inp, sizeof(inp), "%s.inp", gpath);
    snprintf(outp, sizeof(outp), "%s.out", gpath);
    int total = 0;
    int pass = run_vectors(v, inp, outp, 0, &total);
    core_vocab_free(v);
    ASSERT_EQ_INT(pass, total);
}

TEST(tokenizer_hf_json_spm_style)
{
    /* SentencePiece-style BPE: U+2581 pieces, merges give the scores, byte fallback */
    const char *json =
        "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
        "{\"id\":1,\"content\":\"<s>\",\"special\":true},"
        "{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\","
        "\"prepend\":\"\xe2\x96\x81\"},{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},"
        "\"content\":\"\xe2\x96\x81\"}]},\"pre_tokenizer\":null,"
        "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"byte_fallback\":true,"
        "\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2,\"<0x0A>\":3,\"<0xC3>\":4,\"<0xA9>\":5,"
        "\"\xe2\x96\x81\":6,\"a\":7,\"b\":8,\"ab\":9,\"\xe2\x96\x81" "ab\":10},"
        "\"merges\":[[\"a\",\"b\"],\"\xe2\x96\x81 ab\"]}}";
    test_write("tokenizer.json", json, strlen(json));
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_open(&v, test_tmp("tokenizer.json"), &err), &err);
    ASSERT_EQ_INT(v->kind, CORE_VOCAB_SPM);
    ASSERT_EQ_INT(v->tokens[3].type, CORE_TOKEN_BYTE);
    ASSERT_EQ_INT(v->tokens[1].type, CORE_TOKEN_CONTROL);
    ASSERT_EQ_INT(v->unk, 0);
    expect_ids(v, "ab ab\n\xc3\xa9", CORE_TOK_ADD_BOS, "1 10 10 3 4 5");
    core_vocab_free(v);
}

TEST(tokenizer_hf_unknown_pre_refused)
{
    const char *json = "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":"
                       "\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"}},{\"type\":\"ByteLevel\","
                       "\"use_regex\":false}]},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},"
                       "\"merges\":[]}}";
    test_write("tokenizer.json", json, strlen(json));
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_EQ_INT(core_vocab_open(&v, test_tmp("tokenizer.json"), &err), BZ_EUNSUPPORTED);
    ASSERT(strstr(err.msg, "pre-tokenizer not recognised") != NULL);
}

TEST(tokenizer_special_parsing_real_vocab)
{
    const char *path = test_data("vocab/ggml-vocab-llama-spm.gguf");
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_OK(core_vocab_open(&v, path, &err), &err);
    /* "<s>" is text unless asked: then BOS, and the space prefix follows it */
    expect_ids(v, "<s>Hi", CORE_TOK_SPECIAL, "1 6324");
    struct core_ids ids;
    core_ids_init(&ids);
    ASSERT_OK(core_tokenizer_encode(v, "<s>Hi", 5, 0, &ids, &err), &err);
    ASSERT(ids.n > 2);
    for (size_t i = 0; i < ids.n; i++)
        ASSERT(ids.p[i] != 1);
    core_ids_cleanup(&ids);
    core_vocab_free(v);
}

TEST(tokenizer_bad_llama2c_file_refused)
{
    const unsigned char bad[] = {7, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 'a'};
    const char *p = test_write("tok.bin", bad, sizeof(bad));
    struct core_vocab *v;
    struct bz_err err = {0};
    ASSERT_EQ_INT(core_vocab_from_llama2c(&v, p, &err), BZ_ECORRUPT);
    ASSERT(strstr(err.msg, "out of range") != NULL);
}
TEST(tokenizer_vectors_bert_bge) { check_vocab_vectors("bert-bge"); }

TEST(tokenizer_hf_split_regex_named)
{
    /* the Llama 3 and Qwen2 Split regexes, as their tokenizer.json files spell them */
    static const char *const pats[] = {
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
        "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| "
        "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"};
    static const char *const want[] = {"llama3", "qwen2"};
    for (int k = 0; k < 2; k++) {
        struct bz_buf j;
        bz_buf_init(&j);
        bz_buf_printf(&j, "{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
                          "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"%s\"},\"behavior\":"
                          "\"Isolated\"},{\"type\":\"ByteLevel\",\"use_regex\":false}]},"
                          "\"model\":{\"type\":\"BPE\",\"ignore_merges\":%s,\"vocab\":{\"a\":0,"
                          "\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}}",
                      pats[k], k == 0 ? "true" : "false");
        test_write("tokenizer.json", j.p, j.len);
        bz_buf_cleanup(&j);
        struct core_vocab *v;
        struct bz_err err = {0};
        ASSERT_OK(core_vocab_open(&v, test_tmp("tokenizer.json"), &err), &err);
        ASSERT_EQ_STR(v->pre, want[k]);
        ASSERT_EQ_INT(v->ignore_merges, k == 0);
        expect_ids(v, "ab", 0, "2");
        core_vocab_free(v);
    }
}
