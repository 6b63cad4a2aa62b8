/* test_gguf.c: the GGUF reader on the real stories260K file, writer -> reader round
 * trips for every metadata type, and refusal of truncated or corrupted headers. */
#include <string.h>
#include <unistd.h>

#include "core/gguf.h"
#include "core/model.h"
#include "tests/test.h"

TEST(gguf_reads_stories260k)
{
    struct bz_err e = {0};
    struct core_gguf *g;
    ASSERT_OK(core_gguf_open(&g, test_data("models/stories260K.gguf"), &e), &e);
    ASSERT_EQ_INT(g->version, 3);
    ASSERT_EQ_INT(g->n_tensors, 48);
    ASSERT_EQ_INT(g->n_kv, 19);
    ASSERT_EQ_INT(g->alignment, 32);
    struct core_gguf_str s;
    ASSERT_OK(core_gguf_get_str(g, "general.architecture", &s, &e), &e);
    ASSERT(s.n == 5 && memcmp(s.p, "llama", 5) == 0);
    uint32_t v;
    ASSERT_OK(core_gguf_get_u32(g, "llama.embedding_length", &v, &e), &e);
    ASSERT_EQ_INT(v, 64);
    ASSERT_OK(core_gguf_get_u32(g, "llama.feed_forward_length", &v, &e), &e);
    ASSERT_EQ_INT(v, 172);
    float eps;
    ASSERT_OK(core_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps, &e), &e);
    ASSERT_NEAR(eps, 1e-5, 1e-9);
    const struct core_gguf_str *toks;
    uint64_t n;
    ASSERT_OK(core_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n, &e), &e);
    ASSERT_EQ_INT(n, 512);
    ASSERT(toks[1].n == 3 && memcmp(toks[1].p, "<s>", 3) == 0);
    ASSERT(toks[3].n == 6 && memcmp(toks[3].p, "<0x00>", 6) == 0);
    float *scores;
    ASSERT_OK(core_gguf_get_arr_f32(g, "tokenizer.ggml.scores", &scores, &n, &e), &e);
    ASSERT_EQ_INT(n, 512);
    free(scores);
    int32_t *types;
    ASSERT_OK(core_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", &types, &n, &e), &e);
    ASSERT_EQ_INT(types[0], 2);
    ASSERT_EQ_INT(types[1], 3);
    ASSERT_EQ_INT(types[3], 6);
    free(types);
    const struct core_gguf_tensor *t = core_gguf_tensor(g, "blk.0.ffn_down.weight");
    ASSERT(t != NULL);
    ASSERT_EQ_INT(t->type, CORE_TYPE_F32);
    ASSERT_EQ_INT(t->n_dims, 2);
    ASSERT_EQ_INT(t->ne[0], 172);
    ASSERT_EQ_INT(t->ne[1], 64);
    ASSERT_EQ_INT(t->nbytes, 172 * 64 * 4);
    ASSERT_EQ_INT(((uintptr_t)t->data - (uintptr_t)g->base) % 32, 0);
    ASSERT(core_gguf_tensor(g, "blk.9.ffn_down.weight") == NULL);
    /* typed getter errors name the key */
    ASSERT_EQ_INT(core_gguf_get_u32(g, "nope.key", &v, &e), BZ_ENOTFOUND);
    ASSERT(strstr(e.msg, "nope.key") != NULL);
    bz_err_clear(&e);
    ASSERT_EQ_INT(core_gguf_get_u32(g, "general.name", &v, &e), BZ_EFORMAT);
    /* seperator_token_id is u32 0xffffffff: fits u32, is i64 4294967295 */
    int64_t i64;
    ASSERT_OK(core_gguf_get_i64(g, "tokenizer.ggml.seperator_token_id", &i64, NULL), NULL);
    ASSERT_EQ_INT(i64, 4294967295LL);
    core_gguf_close(g);
}

/* A small file with every metadata type, two tensors and the given alignment. */
static void build_all_types(struct core_gguf_writer *w, uint32_t align)
{
    ASSERT_OK(core_gguf_writer_set_u8(w, "t.u8", 200), NULL);
    ASSERT_OK(core_gguf_writer_set_i8(w, "t.i8", -100), NULL);
    ASSERT_OK(core_gguf_writer_set_u16(w, "t.u16", 60000), NULL);
    ASSERT_OK(core_gguf_writer_set_i16(w, "t.i16", -30000), NULL);
    ASSERT_OK(core_gguf_writer_set_u32(w, "t.u32", 4000000000u), NULL);
    ASSERT_OK(core_gguf_writer_set_i32(w, "t.i32", -2000000000), NULL);
    ASSERT_OK(core_gguf_writer_set_f32(w, "t.f32", 0.15625f), NULL);
    ASSERT_OK(core_gguf_writer_set_bool(w, "t.bool", 1), NULL);
    ASSERT_OK(core_gguf_writer_set_str(w, "t.str", "héllo"), NULL);
    ASSERT_OK(core_gguf_writer_set_strn(w, "t.empty", "", 0), NULL);
    ASSERT_OK(core_gguf_writer_set_u64(w, "t.u64", 18000000000000000000ull), NULL);
    ASSERT_OK(core_gguf_writer_set_i64(w, "t.i64", -9000000000000000000ll), NULL);
    ASSERT_OK(core_gguf_writer_set_f64(w, "t.f64", -1.0 / 3), NULL);
    int32_t ai[4] = {1, -2, 3, 2147483647};
    float af[3] = {0.5f, -1.5f, 1e30f};
    uint8_t ab[2] = {1, 0};
    double ad[2] = {1e-300, 2};
    int16_t as[3] = {-5, 0, 5};
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.i32", CORE_GGUF_INT32, ai, 4), NULL);
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.f32", CORE_GGUF_FLOAT32, af, 3), NULL);
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.bool", CORE_GGUF_BOOL, ab, 2), NULL);
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.f64", CORE_GGUF_FLOAT64, ad, 2), NULL);
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.i16", CORE_GGUF_INT16, as, 3), NULL);
    ASSERT_OK(core_gguf_writer_set_arr(w, "a.empty", CORE_GGUF_UINT8, NULL, 0), NULL);
    const char *strs[3] = {"", "▁the", "<0x0A>"};
    ASSERT_OK(core_gguf_writer_set_arr_str(w, "a.str", strs, NULL, 3), NULL);
    const char nul[3] = {'a', 0, 'b'};
    const char *bin[1] = {nul};
    size_t binlen[1] = {3};
    ASSERT_OK(core_gguf_writer_set_arr_str(w, "a.bin", bin, binlen, 1), NULL);
    ASSERT_EQ_INT(core_gguf_writer_set_u8(w, "t.u8", 1), BZ_EINVAL); /* duplicate */
    if (align != 32)
        ASSERT_OK(core_gguf_writer_set_alignment(w, align), NULL);
}

static float tdata[3 * 5];
static uint8_t q8data[2 * 34];

static int fill_q8(void *ctx, void *dst, size_t n, struct bz_err *err)
{
    (void)err;
    memcpy(dst, ctx, n);
    return 0;
}

static void check_all_types(const struct core_gguf *g, uint32_t align)
{
    struct bz_err e = {0};
    ASSERT_EQ_INT(g->version, 3);
    ASSERT_EQ_INT(g->alignment, align);
    const struct core_gguf_kv *kv;
    ASSERT((kv = core_gguf_find(g, "t.u8")) && kv->type == CORE_GGUF_UINT8);
    ASSERT_NEAR(core_gguf_kv_num(kv, 0), 200, 0);
    ASSERT((kv = core_gguf_find(g, "t.i8")) && kv->type == CORE_GGUF_INT8);
    ASSERT_NEAR(core_gguf_kv_num(kv, 0), -100, 0);
    ASSERT((kv = core_gguf_find(g, "t.u16")) && kv->type == CORE_GGUF_UINT16);
    ASSERT_NEAR(core_gguf_kv_num(kv, 0), 60000, 0);
    ASSERT((kv = core_gguf_find(g, "t.i16")) && kv->type == CORE_GGUF_INT16);
    ASSERT_NEAR(core_gguf_kv_num(kv, 0), -30000, 0);
    uint32_t u32;
    ASSERT_OK(core_gguf_get_u32(g, "t.u32", &u32, &e), &e);
    ASSERT_EQ_U64(u32, 4000000000u);
    int64_t i64;
    ASSERT_OK(core_gguf_get_i64(g, "t.i32", &i64, &e), &e);
    ASSERT_EQ_INT(i64, -2000000000);
    ASSERT_EQ_INT(core_gguf_get_u32(g, "t.i32", &u32, NULL), BZ_ERANGE);
    float f;
    ASSERT_OK(core_gguf_get_f32(g, "t.f32", &f, &e), &e);
    ASSERT_NEAR(f, 0.15625, 0);
    int b;
    ASSERT_OK(core_gguf_get_bool(g, "t.bool", &b, &e), &e);
    ASSERT_EQ_INT(b, 1);
    char *s;
    ASSERT_OK(core_gguf_get_strdup(g, "t.str", &s, &e), &e);
    ASSERT_EQ_STR(s, "héllo");
    free(s);
    ASSERT_OK(core_gguf_get_strdup(g, "t.empty", &s, &e), &e);
    ASSERT_EQ_STR(s, "");
    free(s);
    ASSERT((kv = core_gguf_find(g, "t.u64")) && kv->type == CORE_GGUF_UINT64);
    uint64_t u64;
    memcpy(&u64, kv->data, 8);
    ASSERT_EQ_U64(u64, 18000000000000000000ull);
    ASSERT_EQ_INT(core_gguf_get_i64(g, "t.u64", &i64, NULL), BZ_ERANGE);
    ASSERT_OK(core_gguf_get_i64(g, "t.i64", &i64, &e), &e);
    ASSERT(i64 == -9000000000000000000ll);
    double d;
    ASSERT_OK(core_gguf_get_f64(g, "t.f64", &d, &e), &e);
    ASSERT(d == -1.0 / 3);
    int32_t *ai;
    uint64_t n;
    ASSERT_OK(core_gguf_get_arr_i32(g, "a.i32", &ai, &n, &e), &e);
    ASSERT_EQ_INT(n, 4);
    ASSERT_EQ_INT(ai[1], -2);
    ASSERT_EQ_INT(ai[3], 2147483647);
    free(ai);
    float *af;
    ASSERT_OK(core_gguf_get_arr_f32(g, "a.f32", &af, &n, &e), &e);
    ASSERT_EQ_INT(n, 3);
    ASSERT_NEAR(af[1], -1.5, 0);
    ASSERT_NEAR(af[2], 1e30, 1e23);
    free(af);
    ASSERT_OK(core_gguf_get_arr_i32(g, "a.i16", &ai, &n, &e), &e);
    ASSERT_EQ_INT(ai[0], -5);
    free(ai);
    ASSERT_EQ_INT(core_gguf_get_arr_i32(g, "a.f32", &ai, &n, NULL), BZ_EFORMAT);
    ASSERT((kv = core_gguf_find(g, "a.bool")) && kv->arr_type == CORE_GGUF_BOOL && kv->n == 2);
    ASSERT_NEAR(core_gguf_kv_num(kv, 0), 1, 0);
    ASSERT_NEAR(core_gguf_kv_num(kv, 1), 0, 0);
    ASSERT((kv = core_gguf_find(g, "a.f64")) && kv->arr_type == CORE_GGUF_FLOAT64);
    ASSERT(core_gguf_kv_num(kv, 0) == 1e-300);
    ASSERT((kv = core_gguf_find(g, "a.empty")) && kv->n == 0);
    const struct core_gguf_str *strs;
    ASSERT_OK(core_gguf_get_arr_str(g, "a.str", &strs, &n, &e), &e);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(strs[0].n, 0);
    ASSERT(strs[1].n == 6 && memcmp(strs[1].p, "▁the", 6) == 0);
    ASSERT(strs[2].n == 6 && memcmp(strs[2].p, "<0x0A>", 6) == 0);
    ASSERT_OK(core_gguf_get_arr_str(g, "a.bin", &strs, &n, &e), &e);
    ASSERT(strs[0].n == 3 && memcmp(strs[0].p, "a\0b", 3) == 0);
    ASSERT_EQ_INT(g->n_tensors, 2);
    const struct core_gguf_tensor *t = core_gguf_tensor(g, "w");
    ASSERT(t && t->type == CORE_TYPE_F32 && t->ne[0] == 5 && t->ne[1] == 3 && t->n_dims == 2);
    ASSERT(memcmp(t->data, tdata, sizeof tdata) == 0);
    ASSERT_EQ_INT(((uintptr_t)t->data - (uintptr_t)g->base) % align, 0);
    t = core_gguf_tensor(g, "q");
    ASSERT(t && t->type == CORE_TYPE_Q8_0 && t->ne[0] == 64 && t->n_dims == 1);
    ASSERT(memcmp(t->data, q8data, sizeof q8data) == 0);
    ASSERT_EQ_INT(((uintptr_t)t->data - (uintptr_t)g->base) % align, 0);
}

TEST(gguf_round_trip_every_type)
{
    uint32_t aligns[2] = {32, 64};
    for (int k = 0; k < 2; k++) {
        struct bz_err e = {0};
        for (int i = 0; i < 15; i++)
            tdata[i] = (float)i - 7.25f;
        for (int i = 0; i < (int)sizeof q8data; i++)
            q8data[i] = (uint8_t)(i * 31);
        struct core_gguf_writer *w = core_gguf_writer_new();
        build_all_types(w, aligns[k]);
        int64_t ne[2] = {5, 3}, nq[1] = {64};
        ASSERT_OK(core_gguf_writer_add_tensor(w, "w", CORE_TYPE_F32, 2, ne, tdata, &e), &e);
        ASSERT_OK(core_gguf_writer_add_tensor_fn(w, "q", CORE_TYPE_Q8_0, 1, nq, fill_q8, q8data,
                                                 &e), &e);
        ASSERT_EQ_INT(core_gguf_writer_add_tensor(w, "w", CORE_TYPE_F32, 2, ne, tdata, NULL),
                      BZ_EINVAL);
        int64_t bad[1] = {33};
        ASSERT_EQ_INT(core_gguf_writer_add_tensor(w, "b", CORE_TYPE_Q8_0, 1, bad, q8data, NULL),
                      BZ_EINVAL);
        const char *p = test_tmp("all.gguf");
        ASSERT_OK(core_gguf_writer_write(w, p, &e), &e);
        struct core_gguf *g;
        ASSERT_OK(core_gguf_open(&g, p, &e), &e);
        check_all_types(g, aligns[k]);
        /* copy every kv into a new file: identical values */
        struct core_gguf_writer *w2 = core_gguf_writer_new();
        for (int64_t i = 0; i < g->n_kv; i++)
            ASSERT_OK(core_gguf_writer_copy_kv(w2, &g->kvs[i]), NULL);
        for (int64_t i = 0; i < g->n_tensors; i++) {
            const struct core_gguf_tensor *t = &g->tensors[i];
            ASSERT_OK(core_gguf_writer_add_tensor(w2, t->name, t->type, t->n_dims, t->ne,
                                                  t->data, &e), &e);
        }
        struct bz_buf img;
        bz_buf_init(&img);
        ASSERT_OK(core_gguf_writer_to_buf(w2, &img, &e), &e);
        char *file;
        size_t flen;
        ASSERT_OK(bz_read_file(p, &file, &flen, &e), &e);
        ASSERT_EQ_INT(img.len, flen);
        ASSERT(memcmp(img.p, file, flen) == 0); /* byte-identical rewrite */
        struct core_gguf *g2;
        ASSERT_OK(core_gguf_open_mem(&g2, img.p, img.len, "copy", &e), &e);
        check_all_types(g2, aligns[k]);
        core_gguf_close(g2);
        free(file);
        bz_buf_cleanup(&img);
        core_gguf_writer_free(w2);
        core_gguf_close(g);
        core_gguf_writer_free(w);
    }
}

/* Every prefix of a valid file is refused with a message, never read past. The
 * copy is exactly sized so ASan sees any overread. */
static void truncate_range(const uint8_t *data, size_t n, size_t from, size_t upto,
                           size_t step)
{
    for (size_t len = from; len < upto && len < n; len += step) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, data, len);
        struct bz_err e = {0};
        struct core_gguf *g = NULL;
        int rc = core_gguf_open_mem(&g, copy, len, "t.gguf", &e);
        if (rc == 0)
            test__fail(__FILE__, __LINE__, "prefix of %zu of %zu bytes was accepted", len, n);
        ASSERT(g == NULL);
        ASSERT(strncmp(e.msg, "t.gguf: ", 8) == 0);
        free(copy);
    }
}

static void truncate_everywhere(const uint8_t *data, size_t n, size_t upto)
{
    truncate_range(data, n, 0, upto, 1);
}

TEST(gguf_truncated_everywhere_is_refused)
{
    struct bz_err e = {0};
    struct core_gguf_writer *w = core_gguf_writer_new();
    build_all_types(w, 32);
    int64_t ne[2] = {5, 3};
    ASSERT_OK(core_gguf_writer_add_tensor(w, "w", CORE_TYPE_F32, 2, ne, tdata, &e), &e);
    struct bz_buf img;
    bz_buf_init(&img);
    ASSERT_OK(core_gguf_writer_to_buf(w, &img, &e), &e);
    truncate_everywhere((const uint8_t *)img.p, img.len, img.len);
    bz_buf_cleanup(&img);
    core_gguf_writer_free(w);
    ASSERT_EQ_INT(core_gguf_open(&(struct core_gguf *){NULL}, test_write("e.gguf", "", 0), &e),
                  BZ_ECORRUPT);
}

TEST(gguf_stories260k_truncated_is_refused)
{
    struct bz_err e = {0};
    char *file;
    size_t n;
    ASSERT_OK(bz_read_file(test_data("models/stories260K.gguf"), &file, &n, &e), &e);
    struct core_gguf *g;
    ASSERT_OK(core_gguf_open_mem(&g, file, n, "s.gguf", &e), &e);
    size_t hdr = g->data_offset;
    core_gguf_close(g);
    /* every prefix of the fixed header, first kvs and tensor infos; every third
     * through the 512 token strings, scores and types (the cost is quadratic) */
    size_t infos = hdr > 3000 ? hdr - 3000 : 0;
    truncate_range((const uint8_t *)file, n, 0, 1024, 1);
    truncate_range((const uint8_t *)file, n, 1024, infos, 3);
    truncate_range((const uint8_t *)file, n, infos, hdr + 1, 1);
    /* and a cut inside the last tensor */
    truncate_everywhere((const uint8_t *)file, n - 1, 0);
    ASSERT_EQ_INT(core_gguf_open_mem(&g, file, n - 1, "s.gguf", &e), BZ_ECORRUPT);
    ASSERT(strstr(e.msg, "blk.4.ffn_norm.weight") != NULL);
    free(file);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

TEST(gguf_corrupted_headers_never_crash)
{
    struct bz_err e = {0};
    struct core_gguf_writer *w = core_gguf_writer_new();
    build_all_types(w, 32);
    int64_t ne[2] = {5, 3};
    ASSERT_OK(core_gguf_writer_add_tensor(w, "w", CORE_TYPE_F32, 2, ne, tdata, &e), &e);
    struct bz_buf img;
    bz_buf_init(&img);
    ASSERT_OK(core_gguf_writer_to_buf(w, &img, &e), &e);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int refused = 0;
    uint8_t *copy = malloc(img.len);
    /* every byte of the header set to a few hostile values, then random multi-byte damage */
    static const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x09, 0x08};
    size_t hdr = img.len - sizeof tdata;
    for (size_t i = 0; i < hdr; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(copy, img.p, img.len);
            if (copy[i] == vals[v])
                continue;
            copy[i] = vals[v];
            struct core_gguf *g = NULL;
            bz_err_clear(&e);
            if (core_gguf_open_mem(&g, copy, img.len, "c.gguf", &e) != 0) {
                refused++;
                ASSERT(e.msg[0] != '\0');
            } else {
                /* accepted: every pointer handed out must be inside the buffer */
                for (int64_t t = 0; t < g->n_tensors; t++)
                    ASSERT((const uint8_t *)g->tensors[t].data + g->tensors[t].nbytes <=
                           copy + img.len);
                core_gguf_close(g);
            }
        }
    for (int k = 0; k < 3000; k++) {
        memcpy(copy, img.p, img.len);
        int nflip = 1 + (int)(rng_next(&seed) % 4);
        for (int f = 0; f < nflip; f++)
            copy[rng_next(&seed) % hdr] = (uint8_t)rng_next(&seed);
        struct core_gguf *g = NULL;
        if (core_gguf_open_mem(&g, copy, img.len, "c.gguf", NULL) != 0)
            refused++;
        core_gguf_close(g);
    }
    ASSERT(refused > 1000);
    free(copy);
    bz_buf_cleanup(&img);
    core_gguf_writer_free(w);
}

TEST(gguf_refuses_versions_and_bad_fields)
{
    struct bz_err e = {0};
    uint8_t h[24] = {'G', 'G', 'U', 'F', 1, 0, 0, 0};
    struct core_gguf *g;
    ASSERT_EQ_INT(core_gguf_open_mem(&g, h, 24, "v.gguf", &e), BZ_EUNSUPPORTED);
    ASSERT(strstr(e.msg, "v1") != NULL);
    bz_err_clear(&e);
    uint8_t be[24] = {'G', 'G', 'U', 'F', 0, 0, 0, 3};
    ASSERT_EQ_INT(core_gguf_open_mem(&g, be, 24, "v.gguf", &e), BZ_EUNSUPPORTED);
    ASSERT(strstr(e.msg, "big-endian") != NULL);
    bz_err_clear(&e);
    uint8_t v2[24] = {'G', 'G', 'U', 'F', 2, 0, 0, 0};
    ASSERT_OK(core_gguf_open_mem(&g, v2, 24, "v2.gguf", &e), &e); /* empty v2 file */
    ASSERT_EQ_INT(g->version, 2);
    core_gguf_close(g);
    uint8_t huge[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
    ASSERT_EQ_INT(core_gguf_open_mem(&g, huge, 24, "h.gguf", &e), BZ_ECORRUPT);
    ASSERT(strstr(e.msg, "kv count") != NULL);
    bz_err_clear(&e);
    ASSERT_EQ_INT(core_gguf_open_mem(&g, "GGML", 4, "m.gguf", &e), BZ_EFORMAT);
    bz_err_clear(&e);
    ASSERT_EQ_INT(core_gguf_open_mem(&g, "NOPE0000000000000000000000", 24, "m.gguf", &e),
                  BZ_EFORMAT);
    bz_err_clear(&e);
    /* a bad alignment key and a tensor at a misaligned offset */
    struct core_gguf_writer *w = core_gguf_writer_new();
    ASSERT_EQ_INT(core_gguf_writer_set_u32(w, "general.alignment", 48), BZ_EINVAL);
    ASSERT_OK(core_gguf_writer_set_u32(w, "general.alignment", 16), NULL);
    int64_t ne[1] = {4};
    ASSERT_OK(core_gguf_writer_add_tensor(w, "a", CORE_TYPE_F32, 1, ne, tdata, &e), &e);
    ASSERT_OK(core_gguf_writer_add_tensor(w, "b", CORE_TYPE_F32, 1, ne, tdata, &e), &e);
    struct bz_buf img;
    bz_buf_init(&img);
    ASSERT_OK(core_gguf_writer_to_buf(w, &img, &e), &e);
    ASSERT_OK(core_gguf_open_mem(&g, img.p, img.len, "a.gguf", &e), &e);
    ASSERT_EQ_INT(g->alignment, 16);
    ASSERT_EQ_INT(g->tensors[1].offset, 16);
    core_gguf_close(g);
    /* patch tensor b's offset (the last 8 bytes before the padding) to 8 */
    char *p = memmem(img.p, img.len, "\x01\x00\x00\x00\x00\x00\x00\x00" "b", 9);
    ASSERT(p != NULL);
    uint64_t off8 = 8;
    memcpy(p + 9 + 4 + 8 + 4, &off8, 8); /* name, n_dims, ne[0], type, offset */
    ASSERT_EQ_INT(core_gguf_open_mem(&g, img.p, img.len, "a.gguf", &e), BZ_EFORMAT);
    if (!strstr(e.msg, "not a multiple of the alignment"))
        test__fail(__FILE__, __LINE__, "message: %s", e.msg);
    bz_buf_cleanup(&img);
    core_gguf_writer_free(w);
}

static int cancel_at_second(void *ctx, uint64_t done, uint64_t total)
{
    int *calls = ctx;
    (*calls)++;
    ASSERT(done <= total);
    return *calls == 2;
}

TEST(gguf_writer_progress_and_cancel)
{
    struct bz_err e = {0};
    struct core_gguf_writer *w = core_gguf_writer_new();
    int64_t ne[1] = {4};
    for (int i = 0; i < 3; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "t%d", i);
        ASSERT_OK(core_gguf_writer_add_tensor(w, nm, CORE_TYPE_F32, 1, ne, tdata, &e), &e);
    }
    int calls = 0;
    core_gguf_writer_set_progress(w, cancel_at_second, &calls);
    const char *p = test_tmp("c.gguf");
    ASSERT_EQ_INT(core_gguf_writer_write(w, p, &e), BZ_ECANCELED);
    ASSERT_EQ_INT(calls, 2);
    FILE *f = fopen(p, "rb");
    ASSERT(f == NULL); /* nothing left behind, not even the tmp file */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    ASSERT(fopen(tmp, "rb") == NULL);
    core_gguf_writer_free(w);
}
