/*
 * fuzz_ds_open.c: a whole dataset file from arbitrary bytes: layout detection (JSON
 * lines, array, stream of objects), the index scanners, the analysis pass and
 * ds_get on every record. The bytes go to a temp file (ds_open maps files).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/bezoar-fuzz-open-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct ds_dataset *ds = NULL;
    struct ds_open_opts o = {.read_only = 1};
    struct bz_err err = {0};
    if (ds_open(&ds, path, &o, &err) == 0) {
        size_t n = ds_count(ds), bad = 0;
        for (size_t i = 0; i < n; i++) {
            struct ds_record r;
            struct bz_err e = {0};
            if (ds_get(ds, i, &r, &e) < 0) {
                bad++;
                if (!(r.flags & DS_F_BAD) || strncmp(e.msg, path, strlen(path)) != 0)
                    abort();
            }
            ds_record_cleanup(&r);
        }
        if (bad != ds_bad_count(ds))
            abort();
        ds_close(ds);
    } else if (strncmp(err.msg, path, strlen(path)) != 0) {
        abort();
    }
    unlink(path);
    return 0;
}
