/* fuzz_gguf.c: libFuzzer harness for the GGUF reader. Any input must be refused
 * with a message or accepted with every kv, string and tensor pointer inside the
 * input; accepted files are also touched end to end (getters, tensor bytes) so
 * ASan sees any pointer that escaped the bounds checks. */
#include <stdint.h>
#include <string.h>

#include "core/gguf.h"
#include "core/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct core_gguf *g = NULL;
    struct bz_err err = {0};
    if (core_gguf_open_mem(&g, data, size, "fuzz.gguf", &err) != 0) {
        if (err.msg[0] == '\0')
            __builtin_trap(); /* every refusal says why */
        return 0;
    }
    volatile unsigned sink = 0;
    for (int64_t i = 0; i < g->n_kv; i++) {
        const struct core_gguf_kv *kv = &g->kvs[i];
        const uint8_t *p = (const uint8_t *)kv->key.p;
        for (size_t k = 0; k < kv->key.n; k++)
            sink += p[k];
        if (kv->type == CORE_GGUF_ARRAY && kv->arr_type == CORE_GGUF_STRING)
            for (uint64_t j = 0; j < kv->n; j++)
                for (size_t k = 0; k < kv->strs[j].n; k++)
                    sink += (uint8_t)kv->strs[j].p[k];
        else
            for (uint64_t j = 0; j < kv->n && kv->type != CORE_GGUF_STRING; j++)
                sink += (unsigned)core_gguf_kv_num(kv, j);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key.n < 127 ? kv->key.n : 127), kv->key.p);
        float *f = NULL;
        int32_t *iv = NULL;
        uint64_t n;
        if (core_gguf_get_arr_f32(g, key, &f, &n, NULL) == 0)
            free(f);
        if (core_gguf_get_arr_i32(g, key, &iv, &n, NULL) == 0)
            free(iv);
        char *s = NULL;
        if (core_gguf_get_strdup(g, key, &s, NULL) == 0)
            free(s);
    }
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct core_gguf_tensor *t = &g->tensors[i];
        if ((const uint8_t *)t->data < data || (const uint8_t *)t->data + t->nbytes > data + size)
            __builtin_trap();
        if (t->nbytes)
            sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        if (core_gguf_tensor(g, t->name) != t)
            __builtin_trap();
    }
    (void)sink;
    core_gguf_close(g);
    return 0;
}
