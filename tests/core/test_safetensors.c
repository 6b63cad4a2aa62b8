/* test_safetensors.c: safetensors writer -> reader round trip, header validation,
 * truncation and corruption refused. */
#include <string.h>

#include "core/model.h"
#include "core/safetensors.h"
#include "tests/test.h"

static const char *write_sample(const char *name)
{
    struct bz_err e = {0};
    static float a[6] = {1, 2, 3, 4, 5, 6};
    static uint16_t h[4] = {0x3C00, 0x4000, 0xC000, 0x0000};
    static uint16_t bf[2] = {0x3F80, 0x4040};
    struct core_safetensors_writer *w = core_safetensors_writer_new();
    int64_t sa[2] = {2, 3}, sh[1] = {4}, sb[3] = {1, 1, 2};
    ASSERT_OK(core_safetensors_writer_add(w, "lora_A.weight", CORE_ST_F32, 2, sa, a, &e), &e);
    ASSERT_OK(core_safetensors_writer_add(w, "half", CORE_ST_F16, 1, sh, h, &e), &e);
    ASSERT_OK(core_safetensors_writer_add(w, "b\"f", CORE_ST_BF16, 3, sb, bf, &e), &e);
    ASSERT_OK(core_safetensors_writer_add(w, "scalar", CORE_ST_F32, 0, NULL, a, &e), &e);
    ASSERT_EQ_INT(core_safetensors_writer_add(w, "half", CORE_ST_F16, 1, sh, h, NULL), BZ_EINVAL);
    ASSERT_OK(core_safetensors_writer_set_meta(w, "format", "pt"), NULL);
    const char *p = test_tmp(name);
    ASSERT_OK(core_safetensors_writer_write(w, p, &e), &e);
    core_safetensors_writer_free(w);
    return p;
}

TEST(safetensors_round_trip)
{
    struct bz_err e = {0};
    const char *p = write_sample("a.safetensors");
    struct core_safetensors *st;
    ASSERT_OK(core_safetensors_open(&st, p, &e), &e);
    ASSERT_EQ_INT(st->n_tensors, 4);
    ASSERT_EQ_STR(core_safetensors_meta(st, "format"), "pt");
    uint64_t hlen;
    memcpy(&hlen, st->base, 8);
    ASSERT_EQ_INT(hlen % 8, 0);
    const struct core_safetensors_tensor *t = core_safetensors_find(st, "lora_A.weight");
    ASSERT(t && t->dtype == CORE_ST_F32 && t->type == CORE_TYPE_F32 && t->n_dims == 2);
    ASSERT_EQ_INT(t->shape[0], 2);
    ASSERT_EQ_INT(t->shape[1], 3);
    ASSERT_EQ_INT(t->ne[0], 3); /* ggml order */
    ASSERT_EQ_INT(t->ne[1], 2);
    ASSERT_NEAR(((const float *)t->data)[5], 6, 0);
    t = core_safetensors_find(st, "half");
    ASSERT(t && t->type == CORE_TYPE_F16 && t->nbytes == 8);
    float y[4];
    ASSERT_OK(core_dequant_row(t->type, t->data, y, 4), NULL);
    ASSERT_NEAR(y[2], -2, 0);
    t = core_safetensors_find(st, "b\"f");
    ASSERT(t && t->type == CORE_TYPE_BF16 && t->n_dims == 3 && t->ne[0] == 2);
    t = core_safetensors_find(st, "scalar");
    ASSERT(t && t->n_dims == 0 && t->nbytes == 4);
    ASSERT(core_safetensors_find(st, "nope") == NULL);
    core_safetensors_close(st);
}

static int open_text(const char *json, struct bz_err *e)
{
    size_t n = strlen(json);
    uint8_t *buf = calloc(1, 8 + n + 16);
    uint64_t h = n;
    memcpy(buf, &h, 8);
    memcpy(buf + 8, json, n);
    struct core_safetensors *st = NULL;
    int rc = core_safetensors_open_mem(&st, buf, 8 + n + 16, "x.safetensors", e);
    core_safetensors_close(st);
    free(buf);
    return rc;
}

TEST(safetensors_refuses_bad_headers)
{
    struct bz_err e = {0};
    ASSERT_OK(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", &e),
              &e);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,17]}}",
                            &e), BZ_ECORRUPT);
    ASSERT(strstr(e.msg, "'a'") != NULL);
    bz_err_clear(&e);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}",
                            &e), BZ_EFORMAT);
    bz_err_clear(&e);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"Q9\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                            &e), BZ_EUNSUPPORTED);
    bz_err_clear(&e);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}",
                            NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",
                            NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"U8\",\"shape\":[1e300,1e300],"
                            "\"data_offsets\":[0,4]}}", NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                            &e), BZ_EFORMAT);
    ASSERT(strstr(e.msg, "overlap") != NULL);
    bz_err_clear(&e);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                            &e), BZ_EFORMAT);
    ASSERT(strstr(e.msg, "duplicate") != NULL);
    ASSERT_EQ_INT(open_text("{\"a\":", NULL), BZ_EPARSE);
    ASSERT_EQ_INT(open_text("[1,2]", NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{\"__metadata__\":{\"k\":1}}", NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{\"a\":{\"dtype\":\"F32\"}}", NULL), BZ_EFORMAT);
    ASSERT_EQ_INT(open_text("{} x", NULL), BZ_EPARSE);
    uint8_t big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    struct core_safetensors *st;
    ASSERT_EQ_INT(core_safetensors_open_mem(&st, big, 16, "b", NULL), BZ_ECORRUPT);
}

TEST(safetensors_truncated_and_corrupted_never_crash)
{
    struct bz_err e = {0};
    const char *p = write_sample("c.safetensors");
    char *file;
    size_t n;
    ASSERT_OK(bz_read_file(p, &file, &n, &e), &e);
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, file, len);
        struct core_safetensors *st = NULL;
        ASSERT(core_safetensors_open_mem(&st, copy, len, "t", NULL) != 0);
        free(copy);
    }
    uint64_t hlen;
    memcpy(&hlen, file, 8);
    uint8_t *copy = malloc(n);
    for (size_t i = 0; i < 8 + hlen; i++)
        for (int v = 0; v < 4; v++) {
            static const uint8_t vals[4] = {'9', '"', 0, 0xff};
            memcpy(copy, file, n);
            copy[i] = vals[v];
            struct core_safetensors *st = NULL;
            if (core_safetensors_open_mem(&st, copy, n, "t", NULL) == 0) {
                for (int k = 0; k < st->n_tensors; k++)
                    ASSERT((const uint8_t *)st->tensors[k].data + st->tensors[k].nbytes <=
                           copy + n);
                core_safetensors_close(st);
            }
        }
    free(copy);
    free(file);
}
