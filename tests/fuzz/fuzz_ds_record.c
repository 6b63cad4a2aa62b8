/*
 * fuzz_ds_record.c: ds_parse_record on arbitrary bytes. The first byte picks the
 * format (detect or one of the explicit ones) and the instance number; the rest is
 * the record text. Whatever happens, the record must clean up, an error must carry
 * a "file:line:col: " place, and a parsed record must have an id and valid roles.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fmt = data[0] % DS_FMT_COUNT, sub = (data[0] >> 4) & 3;
    struct ds_record r;
    struct bz_err err = {0};
    int n = ds_parse_record((const char *)data + 1, size - 1, fmt, sub, "f.jsonl", 3, &r, &err);
    if (n < 0) {
        if (strncmp(err.msg, "f.jsonl:", 8) != 0 || !(r.flags & DS_F_BAD))
            abort();
    } else {
        if (!r.id || !r.id[0] || n < 1 || r.n_msgs < 0)
            abort();
        for (int i = 0; i < r.n_msgs; i++)
            if (r.msgs[i].role < DS_ROLE_SYSTEM || r.msgs[i].role > DS_ROLE_ASSISTANT ||
                !r.msgs[i].content)
                abort();
        (void)ds_record_flags(&r);
        (void)ds_record_prompt(&r);
        (void)ds_record_response(&r);
    }
    ds_record_cleanup(&r);
    return 0;
}
