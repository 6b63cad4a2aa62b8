/* fuzz_safetensors.c: libFuzzer harness for the safetensors header parser. Accepted
 * inputs must have every tensor range inside the input; refusals must say why. */
#include <stdint.h>
#include <string.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct core_safetensors *st = NULL;
    struct bz_err err = {0};
    if (core_safetensors_open_mem(&st, data, size, "fuzz.safetensors", &err) != 0) {
        if (err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    volatile unsigned sink = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const struct core_safetensors_tensor *t = &st->tensors[i];
        if ((const uint8_t *)t->data < data || (const uint8_t *)t->data + t->nbytes > data + size)
            __builtin_trap();
        if (t->nbytes)
            sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        if (core_safetensors_find(st, t->name) == NULL)
            __builtin_trap();
    }
    for (int i = 0; i < st->n_meta; i++)
        sink += (unsigned)strlen(st->meta_vals[i]);
    (void)sink;
    core_safetensors_close(st);
    return 0;
}
