/*
 * checkpoint.c: training checkpoints (see checkpoint.h).
 *
 * Key idea: one binary file, state.bin: magic, sizes, the loop state, then params,
 * m and v as raw floats; a small state.json beside it for people and tools.
 *
 * Left out: compression, partial (params-only) checkpoints.
 */
#include "core/checkpoint.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'B', 'Z', 'C', 'K', '0', '0', '0', '1'};

struct ck_header {
    char magic[8];
    uint64_t n;
    int64_t step, micro, tokens, opt_step;
    uint64_t seed;
    int64_t bad_in_row;
    double elapsed_s;
};

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = bz_path_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    return rmdir(dir) ? -errno : 0;
}

/* Step numbers of the complete checkpoints, ascending. Caller frees *steps. */
static int list_steps(const char *ckdir, int64_t **steps, size_t *n)
{
    *steps = NULL, *n = 0;
    DIR *d = opendir(ckdir);
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long long s;
        int used = 0;
        if (sscanf(e->d_name, "step-%lld%n", &s, &used) != 1 || e->d_name[used])
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *steps = bz_realloc(*steps, cap * sizeof **steps);
        }
        (*steps)[(*n)++] = s;
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++) /* insertion sort: a handful of entries */
        for (size_t j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            int64_t t = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1], (*steps)[j - 1] = t;
        }
    return 0;
}

int core_checkpoint_save(const char *run_dir, const float *params, size_t n,
                         const struct core_optim *opt, const struct core_checkpoint_state *st,
                         int keep, char **path_out, struct bz_err *err)
{
    char *ckdir = bz_path_join(run_dir, "checkpoints");
    char *tmp = bz_asprintf("%s/step-%lld.tmp", ckdir, (long long)st->step);
    char *dst = bz_asprintf("%s/step-%lld", ckdir, (long long)st->step);
    int rc = bz_mkdir_p(tmp, err);
    struct bz_buf b;
    bz_buf_init(&b);
    if (rc)
        goto out;
    struct ck_header h = {.n = n, .step = st->step, .micro = st->micro, .tokens = st->tokens,
                          .opt_step = opt->step, .seed = st->seed,
                          .bad_in_row = opt->bad_in_row, .elapsed_s = st->elapsed_s};
    memcpy(h.magic, magic, 8);
    bz_buf_append(&b, &h, sizeof h);
    bz_buf_append(&b, params, n * sizeof(float));
    bz_buf_append(&b, opt->m, n * sizeof(float));
    bz_buf_append(&b, opt->v, n * sizeof(float));
    char *p = bz_path_join(tmp, "state.bin");
    rc = bz_write_atomic(p, b.p, b.len, err);
    free(p);
    if (rc)
        goto out;
    bz_buf_cleanup(&b);
    bz_buf_printf(&b, "{\"step\":%lld,\"micro\":%lld,\"seed\":%llu,\"tokens\":%lld,"
                      "\"elapsed_s\":%.3f,\"n_params\":%zu,\"optimizer_step\":%lld}\n",
                  (long long)st->step, (long long)st->micro, (unsigned long long)st->seed,
                  (long long)st->tokens, st->elapsed_s, n, (long long)opt->step);
    p = bz_path_join(tmp, "state.json");
    rc = bz_write_atomic(p, b.p, b.len, err);
    free(p);
    if (rc)
        goto out;
    struct stat sb;
    if (!stat(dst, &sb))
        rm_tree(dst); /* a re-save of the same step (SAVE_NOW right after a save) */
    if (rename(tmp, dst)) {
        rc = bz_errf(err, -errno, "%s: rename: %s", dst, strerror(errno));
        goto out;
    }
    bz_fsync_dir(ckdir);
    if (keep > 0) {
        int64_t *steps;
        size_t ns;
        if (!list_steps(ckdir, &steps, &ns)) {
            for (size_t i = 0; i + (size_t)keep < ns; i++) {
                char *old = bz_asprintf("%s/step-%lld", ckdir, (long long)steps[i]);
                rm_tree(old);
                free(old);
            }
            free(steps);
        }
    }
    if (path_out)
        *path_out = bz_strdup(dst);
out:
    bz_buf_cleanup(&b);
    free(ckdir), free(tmp), free(dst);
    return rc;
}

int core_checkpoint_latest(const char *run_dir, char **path_out, struct bz_err *err)
{
    char *ckdir = bz_path_join(run_dir, "checkpoints");
    int64_t *steps;
    size_t n;
    int rc = list_steps(ckdir, &steps, &n);
    if (rc || n == 0) {
        rc = bz_errf(err, BZ_ENOTFOUND, "%s: no checkpoint to resume from", ckdir);
    } else {
        *path_out = bz_asprintf("%s/step-%lld", ckdir, (long long)steps[n - 1]);
    }
    free(steps);
    free(ckdir);
    return rc;
}

int core_checkpoint_load(const char *dir, float *params, size_t n, struct core_optim *opt,
                         struct core_checkpoint_state *st, struct bz_err *err)
{
    char *p = bz_path_join(dir, "state.bin"), *data = NULL;
    size_t len;
    int rc = bz_read_file(p, &data, &len, err);
    if (rc)
        goto out;
    struct ck_header h;
    if (len < sizeof h || memcmp(data, magic, 8)) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: not a Bezoar checkpoint", p);
        goto out;
    }
    memcpy(&h, data, sizeof h);
    if (h.n != n || len != sizeof h + 3 * n * sizeof(float)) {
        rc = bz_errf(err, BZ_EFORMAT, "%s: holds %llu parameters (%zu bytes), this run has %zu",
                     p, (unsigned long long)h.n, len, n);
        goto out;
    }
    const char *f = data + sizeof h;
    memcpy(params, f, n * sizeof(float));
    memcpy(opt->m, f + n * sizeof(float), n * sizeof(float));
    memcpy(opt->v, f + 2 * n * sizeof(float), n * sizeof(float));
    opt->step = h.opt_step, opt->bad_in_row = (int)h.bad_in_row;
    *st = (struct core_checkpoint_state){.step = h.step, .micro = h.micro, .seed = h.seed,
                                         .tokens = h.tokens, .elapsed_s = h.elapsed_s};
out:
    free(p);
    free(data);
    return rc;
}
