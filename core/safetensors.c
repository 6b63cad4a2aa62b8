/*
 * safetensors.c: the safetensors reader (mmap, validated JSON header) and writer.
 *
 * Key idea: the JSON header is parsed once with cJSON and converted at the
 * boundary into plain structs pointing into the mapping; the cJSON tree never
 * leaves core_safetensors_open. Integers in the header must be exact (< 2^53),
 * sizes are computed with overflow checks, and tensor ranges are sorted to prove
 * they do not overlap.
 * Left out: big-endian hosts; dtypes beyond the enum (refused by name).
 */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [CORE_ST_BOOL] = {"BOOL", 1}, [CORE_ST_U8] = {"U8", 1},     [CORE_ST_I8] = {"I8", 1},
    [CORE_ST_I16] = {"I16", 2},   [CORE_ST_U16] = {"U16", 2},   [CORE_ST_F16] = {"F16", 2},
    [CORE_ST_BF16] = {"BF16", 2}, [CORE_ST_I32] = {"I32", 4},   [CORE_ST_U32] = {"U32", 4},
    [CORE_ST_F32] = {"F32", 4},   [CORE_ST_I64] = {"I64", 8},   [CORE_ST_U64] = {"U64", 8},
    [CORE_ST_F64] = {"F64", 8},   [CORE_ST_F8_E4M3] = {"F8_E4M3", 1},
    [CORE_ST_F8_E5M2] = {"F8_E5M2", 1},
};

/* Bytes per element of a safetensors dtype; 0 when unknown. */
size_t core_safetensors_dtype_size(int dtype)
{
    return dtype >= 0 && dtype < (int)BZ_ARRAY_SIZE(dtypes) ? dtypes[dtype].size : 0;
}

/* Name of a safetensors dtype ("BF16"); "?" when unknown. */
const char *core_safetensors_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < (int)BZ_ARRAY_SIZE(dtypes) ? dtypes[dtype].name : "?";
}

/* A safetensors dtype from its name; -1 when unknown. */
int core_safetensors_dtype_from_name(const char *name)
{
    for (size_t i = 0; i < BZ_ARRAY_SIZE(dtypes); i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int core_type_of(int dtype)
{
    switch (dtype) {
    case CORE_ST_F32: return CORE_TYPE_F32;
    case CORE_ST_F16: return CORE_TYPE_F16;
    case CORE_ST_BF16: return CORE_TYPE_BF16;
    default: return -1;
    }
}

/* ---------------------------------------------------------------- reader */

struct st_priv {
    void *map;
    size_t map_len;
};

/* Unmap and free everything the reader owns; takes NULL. */
void core_safetensors_close(struct core_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n_tensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    struct st_priv *pv = st->priv;
    if (pv && pv->map)
        munmap(pv->map, pv->map_len);
    free(pv);
    free(st->path);
    free(st);
}

/* An exact non-negative integer from a JSON number. */
static int json_u53(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return -1;
    double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const struct core_safetensors_tensor *x = *(const struct core_safetensors_tensor *const *)a;
    const struct core_safetensors_tensor *y = *(const struct core_safetensors_tensor *const *)b;
    uintptr_t p = (uintptr_t)x->data, q = (uintptr_t)y->data;
    return p < q ? -1 : p > q ? 1 : 0;
}

static int cmp_name(const void *a, const void *b)
{
    const struct core_safetensors_tensor *x = *(const struct core_safetensors_tensor *const *)a;
    const struct core_safetensors_tensor *y = *(const struct core_safetensors_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int parse_entry(struct core_safetensors *st, const cJSON *e,
                       struct core_safetensors_tensor *t, const uint8_t *data, uint64_t dsize,
                       struct bz_err *err)
{
    const char *nm = t->name;
    if (!cJSON_IsObject(e))
        return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s': header entry is not an object",
                       st->path, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
        cJSON_GetArraySize(of) != 2)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: tensor '%s': needs dtype (string), shape (array) and data_offsets "
                       "([begin, end])", st->path, nm);
    t->dtype = core_safetensors_dtype_from_name(dt->valuestring);
    if (t->dtype < 0)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: tensor '%s': unsupported dtype '%.32s'",
                       st->path, nm, dt->valuestring);
    t->type = core_type_of(t->dtype);
    int nd = cJSON_GetArraySize(sh);
    if (nd > CORE_ST_MAX_DIMS)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: tensor '%s': %d dimensions (at most %d)",
                       st->path, nm, nd, CORE_ST_MAX_DIMS);
    t->n_dims = nd;
    uint64_t nel = 1;
    for (int d = 0; d < CORE_ST_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (int d = 0; d < nd; d++) {
        uint64_t v;
        if (json_u53(cJSON_GetArrayItem(sh, d), &v) != 0)
            return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative "
                           "integer", st->path, nm, d);
        if (v != 0 && nel > (UINT64_C(1) << 53) / v)
            return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s': element count overflows",
                           st->path, nm);
        nel *= v;
        t->shape[d] = (int64_t)v;
        t->ne[nd - 1 - d] = (int64_t)v;
    }
    uint64_t b, en;
    if (json_u53(cJSON_GetArrayItem(of, 0), &b) || json_u53(cJSON_GetArrayItem(of, 1), &en))
        return bz_errf(err, BZ_EFORMAT, "%s: tensor '%s': data_offsets are not integers",
                       st->path, nm);
    if (b > en || en > dsize)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] outside the %llu data bytes",
                       st->path, nm, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)dsize);
    uint64_t want = nel * core_safetensors_dtype_size(t->dtype);
    if (en - b != want)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: tensor '%s': %llu data bytes for %llu elements of %s (expected %llu)",
                       st->path, nm, (unsigned long long)(en - b), (unsigned long long)nel,
                       dt->valuestring, (unsigned long long)want);
    t->data = data + b;
    t->nbytes = (size_t)(en - b);
    return 0;
}

static int parse(struct core_safetensors *st, struct bz_err *err)
{
    if (st->size < 8)
        return bz_errf(err, BZ_ECORRUPT, "%s: truncated: %zu bytes, the header length needs 8",
                       st->path, st->size);
    uint64_t hlen;
    memcpy(&hlen, st->base, 8);
    if (hlen > st->size - 8)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: header length %llu runs past the end of the file (%zu bytes)",
                       st->path, (unsigned long long)hlen, st->size);
    if (hlen > 100u << 20)
        return bz_errf(err, BZ_EFORMAT, "%s: header of %llu bytes (limit 100 MB)", st->path,
                       (unsigned long long)hlen);
    const char *h = (const char *)st->base + 8;
    if (hlen == 0 || h[0] != '{')
        return bz_errf(err, BZ_EFORMAT, "%s: not a safetensors file (header does not start "
                       "with '{')", st->path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(h, (size_t)hlen, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= h && at <= h + hlen ? (size_t)(at - h) : 0;
        return bz_errf(err, BZ_EPARSE, "%s: header JSON does not parse (near header byte %zu)",
                       st->path, off);
    }
    int rc = 0;
    for (const char *p = end; p && p < h + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            rc = bz_errf(err, BZ_EPARSE, "%s: bytes after the header JSON", st->path);
            break;
        }
    if (rc == 0 && !cJSON_IsObject(root))
        rc = bz_errf(err, BZ_EFORMAT, "%s: header is not a JSON object", st->path);
    const uint8_t *data = st->base + 8 + hlen;
    uint64_t dsize = st->size - 8 - hlen;
    int n = rc ? 0 : cJSON_GetArraySize(root);
    st->tensors = bz_calloc((size_t)BZ_MAX(n, 1), sizeof *st->tensors);
    const cJSON *e;
    if (rc == 0)
        cJSON_ArrayForEach(e, root)
        {
            if (!e->string) {
                rc = bz_errf(err, BZ_EFORMAT, "%s: header entry without a name", st->path);
                break;
            }
            if (strcmp(e->string, "__metadata__") == 0) {
                if (!cJSON_IsObject(e) || st->meta_keys) {
                    rc = bz_errf(err, BZ_EFORMAT, "%s: __metadata__ is not an object or "
                                 "appears twice", st->path);
                    break;
                }
                int nm = cJSON_GetArraySize(e);
                st->meta_keys = bz_calloc((size_t)BZ_MAX(nm, 1), sizeof(char *));
                st->meta_vals = bz_calloc((size_t)BZ_MAX(nm, 1), sizeof(char *));
                const cJSON *kv;
                cJSON_ArrayForEach(kv, e)
                {
                    if (!cJSON_IsString(kv) || !kv->string) {
                        rc = bz_errf(err, BZ_EFORMAT,
                                     "%s: __metadata__ values must be strings", st->path);
                        break;
                    }
                    st->meta_keys[st->n_meta] = bz_strdup(kv->string);
                    st->meta_vals[st->n_meta++] = bz_strdup(kv->valuestring);
                }
                if (rc)
                    break;
                continue;
            }
            struct core_safetensors_tensor *t = &st->tensors[st->n_tensors++];
            t->name = bz_strdup(e->string);
            if ((rc = parse_entry(st, e, t, data, dsize, err)))
                break;
        }
    cJSON_Delete(root);
    if (rc)
        return rc;
    /* duplicates (cJSON keeps them) and overlaps */
    struct core_safetensors_tensor **by = bz_calloc((size_t)BZ_MAX(st->n_tensors, 1),
                                                    sizeof *by);
    for (int i = 0; i < st->n_tensors; i++)
        by[i] = &st->tensors[i];
    qsort(by, (size_t)st->n_tensors, sizeof *by, cmp_range);
    for (int i = 1; i < st->n_tensors && rc == 0; i++)
        if ((const uint8_t *)by[i - 1]->data + by[i - 1]->nbytes > (const uint8_t *)by[i]->data)
            rc = bz_errf(err, BZ_EFORMAT, "%s: tensors '%s' and '%s' overlap", st->path,
                         by[i - 1]->name, by[i]->name);
    qsort(by, (size_t)st->n_tensors, sizeof *by, cmp_name);
    for (int i = 1; i < st->n_tensors && rc == 0; i++)
        if (strcmp(by[i - 1]->name, by[i]->name) == 0)
            rc = bz_errf(err, BZ_EFORMAT, "%s: duplicate tensor '%s'", st->path, by[i]->name);
    free(by);
    return rc;
}

static int finish_open(struct core_safetensors *st, struct core_safetensors **out,
                       struct bz_err *err)
{
    int rc = parse(st, err);
    if (rc) {
        core_safetensors_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* Validate a safetensors image in caller memory (borrowed). */
int core_safetensors_open_mem(struct core_safetensors **out, const void *data, size_t n,
                              const char *name, struct bz_err *err)
{
    *out = NULL;
    struct core_safetensors *st = bz_calloc(1, sizeof *st);
    st->path = bz_strdup(name ? name : "(memory)");
    st->base = data;
    st->size = n;
    return finish_open(st, out, err);
}

/* Map and validate a safetensors file; the reader owns the mapping. */
int core_safetensors_open(struct core_safetensors **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st_;
    if (fstat(fd, &st_) < 0 || !S_ISREG(st_.st_mode) || st_.st_size < 8) {
        close(fd);
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: not a safetensors file (too short or not a regular file)",
                       path);
    }
    void *map = mmap(NULL, (size_t)st_.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int mrc = map == MAP_FAILED ? -errno : 0;
    close(fd);
    if (mrc)
        return bz_errf(err, mrc, "%s: mmap failed: %s", path, strerror(-mrc));
    struct core_safetensors *st = bz_calloc(1, sizeof *st);
    struct st_priv *pv = bz_calloc(1, sizeof *pv);
    pv->map = map;
    pv->map_len = (size_t)st_.st_size;
    st->priv = pv;
    st->path = bz_strdup(path);
    st->base = map;
    st->size = (size_t)st_.st_size;
    return finish_open(st, out, err);
}

/* A tensor by name (linear search); borrowed, NULL when absent. */
const struct core_safetensors_tensor *core_safetensors_find(const struct core_safetensors *st,
                                                            const char *name)
{
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

/* A __metadata__ value by key; borrowed, NULL when absent. */
const char *core_safetensors_meta(const struct core_safetensors *st, const char *key)
{
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_vals[i];
    return NULL;
}

/* ---------------------------------------------------------------- writer */

struct wtensor {
    char *name;
    int dtype, n_dims;
    int64_t shape[CORE_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
};

struct core_safetensors_writer {
    struct wtensor *t;
    size_t n, cap;
    char **mk, **mv;
    size_t nm;
};

/* An empty safetensors writer. Caller frees. */
struct core_safetensors_writer *core_safetensors_writer_new(void)
{
    return bz_calloc(1, sizeof(struct core_safetensors_writer));
}

/* Free the writer and its copies (not the borrowed data); takes NULL. */
void core_safetensors_writer_free(struct core_safetensors_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    for (size_t i = 0; i < w->nm; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->mk);
    free(w->mv);
    free(w);
}

/* A tensor (row-major shape) whose bytes are borrowed until the write. */
int core_safetensors_writer_add(struct core_safetensors_writer *w, const char *name, int dtype,
                                int n_dims, const int64_t *shape, const void *data,
                                struct bz_err *err)
{
    size_t es = core_safetensors_dtype_size(dtype);
    if (es == 0 || n_dims < 0 || n_dims > CORE_ST_MAX_DIMS || !*name ||
        strcmp(name, "__metadata__") == 0)
        return bz_errf(err, BZ_EINVAL, "safetensors writer: tensor '%s': bad dtype, rank or "
                       "name", name);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return bz_errf(err, BZ_EINVAL, "safetensors writer: duplicate tensor '%s'", name);
    uint64_t nel = 1;
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && nel > (UINT64_C(1) << 53) / (uint64_t)shape[d]))
            return bz_errf(err, BZ_EINVAL, "safetensors writer: tensor '%s': bad shape", name);
        nel *= (uint64_t)shape[d];
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 32;
        w->t = bz_realloc(w->t, w->cap * sizeof *w->t);
    }
    struct wtensor *t = &w->t[w->n++];
    memset(t, 0, sizeof *t);
    t->name = bz_strdup(name);
    t->dtype = dtype;
    t->n_dims = n_dims;
    if (n_dims > 0)
        memcpy(t->shape, shape, (size_t)n_dims * sizeof *shape);
    t->data = data;
    t->nbytes = (size_t)nel * es;
    return 0;
}

/* A __metadata__ string pair (copied); BZ_EINVAL for a repeated key. */
int core_safetensors_writer_set_meta(struct core_safetensors_writer *w, const char *key,
                                     const char *value)
{
    for (size_t i = 0; i < w->nm; i++)
        if (strcmp(w->mk[i], key) == 0)
            return BZ_EINVAL;
    w->mk = bz_realloc(w->mk, (w->nm + 1) * sizeof *w->mk);
    w->mv = bz_realloc(w->mv, (w->nm + 1) * sizeof *w->mv);
    w->mk[w->nm] = bz_strdup(key);
    w->mv[w->nm++] = bz_strdup(value);
    return 0;
}

/* Header (padded to 8) and data to path.tmp.PID, fsync, rename. */
int core_safetensors_writer_write(struct core_safetensors_writer *w, const char *path,
                                  struct bz_err *err)
{
    struct bz_buf h;
    bz_buf_init(&h);
    bz_buf_putc(&h, '{');
    int first = 1;
    if (w->nm) {
        bz_buf_puts(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nm; i++) {
            if (i)
                bz_buf_putc(&h, ',');
            bz_buf_json_str(&h, w->mk[i], strlen(w->mk[i]));
            bz_buf_putc(&h, ':');
            bz_buf_json_str(&h, w->mv[i], strlen(w->mv[i]));
        }
        bz_buf_putc(&h, '}');
        first = 0;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct wtensor *t = &w->t[i];
        if (!first)
            bz_buf_putc(&h, ',');
        first = 0;
        bz_buf_json_str(&h, t->name, strlen(t->name));
        bz_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", core_safetensors_dtype_name(t->dtype));
        for (int d = 0; d < t->n_dims; d++)
            bz_buf_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        bz_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                      (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    bz_buf_putc(&h, '}');
    while ((8 + h.len) % 8 != 0)
        bz_buf_putc(&h, ' ');
    uint64_t hlen = h.len;

    char *tmp;
    int fd = bz_atomic_begin(path, &tmp, err);
    if (fd < 0) {
        bz_buf_cleanup(&h);
        return fd;
    }
    int rc = bz_write_all(fd, &hlen, 8, tmp, err);
    if (rc == 0)
        rc = bz_write_all(fd, h.p, h.len, tmp, err);
    for (size_t i = 0; rc == 0 && i < w->n; i++)
        rc = bz_write_all(fd, w->t[i].data, w->t[i].nbytes, tmp, err);
    bz_buf_cleanup(&h);
    return bz_atomic_end(fd, tmp, path, rc, err);
}
