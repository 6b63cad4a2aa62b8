/* test_gguf.c: the GGUF reader on the real stories260K file, writer -> reader round
 * trips for every metadata type, and refusal of truncated or corrupted headers. */
#include <string.h>

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
