/*
 * fuzz_generate.c: what `bezoar generate` reads from models and users: the list
 * parser over a model's answer, the evolution check, normalisation, and the seed file
 * loader (bytes as a temp file). Every item must be valid, bounded and freeable; a
 * refused seed file must name the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/generate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;

    char *items[16];
    size_t n = ds_generate_parse_list(text, items, 16);
    if (n > 16)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!items[i] || strlen(items[i]) > size)
            abort();
        char *norm = ds_generate_norm(items[i]);
        free(norm);
        free(items[i]);
    }
    /* the first line as the original instruction, the rest as the evolved one */
    char *nl = strchr(text, '\n');
    const char *orig = nl ? (*nl = 0, text) : "Name three colours.";
    const char *evolved = nl ? nl + 1 : text;
    char *out = NULL;
    int r = ds_generate_evol_check(evolved, orig, "Rewrite: {instruction}", &out);
    if ((r == DS_GENERATE_OK) != (out != NULL))
        abort();
    free(out);
    free(text);

    char path[] = "/tmp/bezoar-fuzz-seeds-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct ds_generate_seeds s = {0};
    struct bz_err err = {0};
    if (ds_generate_seeds_load(&s, path, &err) == 0)
        ds_generate_seeds_cleanup(&s);
    else if (strncmp(err.msg, path, strlen(path)) != 0)
        abort();
    unlink(path);
    return 0;
}
