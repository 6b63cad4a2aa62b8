/*
 * gguf.c: the GGUF reader (mmap + full header validation) and writer (streamed,
 * tmp + fsync + rename).
 *
 * Key idea of the reader: one bounds-checked cursor walks the header; every read
 * says what it reads, so a short or hostile file fails with the field's name and
 * offset. Counts are checked against the bytes left before anything is allocated
 * for them (each element needs at least a few bytes), so a 2^60 count costs nothing.
 * After open, kvs and tensor infos are plain structs pointing into the mapping.
 *
 * Left out: big-endian files and GGUF v1 (refused), nested arrays (refused, as
 * llama.cpp does).
 */
#include "core/gguf.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model.h"

/* ---------------------------------------------------------------- value types */

static const char *const vtype_names[] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
};

/* Size of a fixed-size metadata value type; 0 for strings, arrays, unknown ids. */
size_t core_gguf_vtype_size(int type)
{
    switch (type) {
    case CORE_GGUF_UINT8: case CORE_GGUF_INT8: case CORE_GGUF_BOOL: return 1;
    case CORE_GGUF_UINT16: case CORE_GGUF_INT16: return 2;
    case CORE_GGUF_UINT32: case CORE_GGUF_INT32: case CORE_GGUF_FLOAT32: return 4;
    case CORE_GGUF_UINT64: case CORE_GGUF_INT64: case CORE_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Short name of a metadata value type ("u32", "str"); "?" for unknown ids. */
const char *core_gguf_vtype_name(int type)
{
    if (type >= 0 && type < (int)BZ_ARRAY_SIZE(vtype_names))
        return vtype_names[type];
    return "?";
}

static int vtype_is_int(int t)
{
    return t == CORE_GGUF_UINT8 || t == CORE_GGUF_INT8 || t == CORE_GGUF_UINT16 ||
           t == CORE_GGUF_INT16 || t == CORE_GGUF_UINT32 || t == CORE_GGUF_INT32 ||
           t == CORE_GGUF_UINT64 || t == CORE_GGUF_INT64 || t == CORE_GGUF_BOOL;
}

static int vtype_is_float(int t)
{
    return t == CORE_GGUF_FLOAT32 || t == CORE_GGUF_FLOAT64;
}

/* Read one integer element as a sign-aware pair: *neg set for negative values. */
static void read_int(int t, const uint8_t *p, uint64_t *mag, int *neg)
{
    int64_t s = 0;
    uint64_t u = 0;
    int is_signed = 1;
    switch (t) {
    case CORE_GGUF_UINT8: case CORE_GGUF_BOOL: u = p[0]; is_signed = 0; break;
    case CORE_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); u = v; is_signed = 0; break; }
    case CORE_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); u = v; is_signed = 0; break; }
    case CORE_GGUF_UINT64: memcpy(&u, p, 8); is_signed = 0; break;
    case CORE_GGUF_INT8: { int8_t v; memcpy(&v, p, 1); s = v; break; }
    case CORE_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); s = v; break; }
    case CORE_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); s = v; break; }
    case CORE_GGUF_INT64: memcpy(&s, p, 8); break;
    default: is_signed = 0; break;
    }
    *neg = is_signed && s < 0;
    *mag = !is_signed ? u : s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
}

static double read_num(int t, const uint8_t *p)
{
    if (t == CORE_GGUF_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    if (t == CORE_GGUF_FLOAT64) {
        double d;
        memcpy(&d, p, 8);
        return d;
    }
    if (!vtype_is_int(t))
        return 0;
    uint64_t mag;
    int neg;
    read_int(t, p, &mag, &neg);
    return neg ? -(double)mag : (double)mag;
}

/* Element i of a numeric kv as a double; 0 for non-numeric kvs or i out of range. */
double core_gguf_kv_num(const struct core_gguf_kv *kv, uint64_t i)
{
    int t = kv->type == CORE_GGUF_ARRAY ? kv->arr_type : kv->type;
    size_t sz = core_gguf_vtype_size(t);
    if (sz == 0 || i >= kv->n)
        return 0;
    return read_num(t, (const uint8_t *)kv->data + i * sz);
}

/* ---------------------------------------------------------------- lookup tables */

struct gguf_priv {
    void *map;              /* mmap base, or NULL for open_mem */
    size_t map_len;
    int64_t *kv_slots;      /* open addressing, index + 1, 0 empty */
    int64_t *t_slots;
    size_t kv_cap, t_cap;
};

static size_t table_cap(int64_t n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap <<= 1;
    return cap;
}

static const struct core_gguf_kv *kv_lookup(const struct core_gguf *g, const char *key, size_t n)
{
    const struct gguf_priv *pv = g->priv;
    if (!pv || !pv->kv_slots)
        return NULL;
    size_t mask = pv->kv_cap - 1;
    for (size_t i = bz_hash64(key, n) & mask;; i = (i + 1) & mask) {
        int64_t s = pv->kv_slots[i];
        if (s == 0)
            return NULL;
        const struct core_gguf_kv *kv = &g->kvs[s - 1];
        if (kv->key.n == n && memcmp(kv->key.p, key, n) == 0)
            return kv;
    }
}

static const struct core_gguf_tensor *t_lookup(const struct core_gguf *g, const char *name)
{
    const struct gguf_priv *pv = g->priv;
    if (!pv || !pv->t_slots)
        return NULL;
    size_t n = strlen(name), mask = pv->t_cap - 1;
    for (size_t i = bz_hash64(name, n) & mask;; i = (i + 1) & mask) {
        int64_t s = pv->t_slots[i];
        if (s == 0)
            return NULL;
        if (strcmp(g->tensors[s - 1].name, name) == 0)
            return &g->tensors[s - 1];
    }
}

/* A kv by key (hash lookup); borrowed from g, NULL when absent. */
const struct core_gguf_kv *core_gguf_find(const struct core_gguf *g, const char *key)
{
    return kv_lookup(g, key, strlen(key));
}

/* A tensor info by name (hash lookup); borrowed from g, NULL when absent. */
const struct core_gguf_tensor *core_gguf_tensor(const struct core_gguf *g, const char *name)
{
    return t_lookup(g, name);
}

/* ---------------------------------------------------------------- the cursor */

struct rd {
    const uint8_t *p;
    size_t pos, size;
    const char *name;
    struct bz_err *err;
};

static int rd_need(struct rd *r, size_t n, const char *what)
{
    if (n > r->size - r->pos)
        return bz_errf(r->err, BZ_ECORRUPT,
                       "%s: truncated: %s needs %zu bytes at offset %zu (file is %zu bytes)",
                       r->name, what, n, r->pos, r->size);
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what)
{
    int rc = rd_need(r, 4, what);
    if (rc)
        return rc;
    memcpy(v, r->p + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(struct rd *r, uint64_t *v, const char *what)
{
    int rc = rd_need(r, 8, what);
    if (rc)
        return rc;
    memcpy(v, r->p + r->pos, 8);
    r->pos += 8;
    return 0;
}

static int rd_str(struct rd *r, struct core_gguf_str *s, const char *what)
{
    uint64_t n;
    size_t at = r->pos;
    int rc = rd_u64(r, &n, what);
    if (rc)
        return rc;
    if (n > r->size - r->pos)
        return bz_errf(r->err, BZ_ECORRUPT,
                       "%s: %s at offset %zu has length %llu, past the end of the file (%zu bytes)",
                       r->name, what, at, (unsigned long long)n, r->size);
    s->p = (const char *)r->p + r->pos;
    s->n = (size_t)n;
    r->pos += (size_t)n;
    return 0;
}

/* ---------------------------------------------------------------- open */

static int parse_value(struct rd *r, struct core_gguf_kv *kv, char *keyz)
{
    size_t start = r->pos;
    if (kv->type == CORE_GGUF_STRING) {
        int rc = rd_str(r, &kv->str, keyz);
        if (rc)
            return rc;
        kv->data = kv->str.p;
        kv->n = 1;
    } else if (kv->type == CORE_GGUF_ARRAY) {
        uint32_t at;
        uint64_t n;
        int rc = rd_u32(r, &at, "array element type");
        if (!rc)
            rc = rd_u64(r, &n, "array length");
        if (rc)
            return rc;
        kv->arr_type = (int)at;
        kv->n = n;
        kv->data = r->p + r->pos;
        if (at == CORE_GGUF_STRING) {
            if (n > (r->size - r->pos) / 8)
                return bz_errf(r->err, BZ_ECORRUPT,
                               "%s: key '%s': array of %llu strings cannot fit in the %zu bytes "
                               "left at offset %zu",
                               r->name, keyz, (unsigned long long)n, r->size - r->pos, r->pos);
            kv->strs = malloc((size_t)(n ? n : 1) * sizeof *kv->strs);
            if (!kv->strs)
                return bz_errf(r->err, BZ_ENOMEM, "%s: key '%s': no memory for %llu strings",
                               r->name, keyz, (unsigned long long)n);
            for (uint64_t i = 0; i < n; i++)
                if ((rc = rd_str(r, &kv->strs[i], keyz)))
                    return rc;
        } else {
            size_t sz = core_gguf_vtype_size((int)at);
            if (sz == 0)
                return bz_errf(r->err, BZ_EFORMAT,
                               "%s: key '%s': unsupported array element type %u at offset %zu",
                               r->name, keyz, at, r->pos - 12);
            if (n > (r->size - r->pos) / sz)
                return bz_errf(r->err, BZ_ECORRUPT,
                               "%s: key '%s': array of %llu %s runs past the end of the file "
                               "(offset %zu, %zu bytes)",
                               r->name, keyz, (unsigned long long)n, core_gguf_vtype_name((int)at),
                               r->pos, r->size);
            r->pos += (size_t)n * sz;
        }
    } else {
        size_t sz = core_gguf_vtype_size(kv->type);
        if (sz == 0)
            return bz_errf(r->err, BZ_EFORMAT, "%s: key '%s': unknown value type %d at offset %zu",
                           r->name, keyz, kv->type, r->pos - 4);
        int rc = rd_need(r, sz, keyz);
        if (rc)
            return rc;
        kv->data = r->p + r->pos;
        kv->n = 1;
        r->pos += sz;
    }
    kv->nbytes = r->pos - start;
    return 0;
}

static int64_t *build_slots(size_t cap)
{
    return calloc(cap, sizeof(int64_t));
}

static int parse_tensor(struct rd *r, struct core_gguf_tensor *t)
{
    struct core_gguf_str name;
    size_t at = r->pos;
    int rc = rd_str(r, &name, "tensor name");
    if (rc)
        return rc;
    if (name.n >= CORE_GGUF_MAX_NAME || memchr(name.p, 0, name.n))
        return bz_errf(r->err, BZ_EFORMAT,
                       "%s: tensor name at offset %zu is %zu bytes or holds a NUL (limit %d)",
                       r->name, at, name.n, CORE_GGUF_MAX_NAME - 1);
    memcpy(t->name, name.p, name.n);
    t->name[name.n] = '\0';
    uint32_t nd;
    if ((rc = rd_u32(r, &nd, "tensor n_dims")))
        return rc;
    if (nd < 1 || nd > CORE_GGUF_MAX_DIMS)
        return bz_errf(r->err, BZ_EFORMAT, "%s: tensor '%s': n_dims %u (expected 1..%d)",
                       r->name, t->name, nd, CORE_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    int64_t total = 1;
    for (int d = 0; d < CORE_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= (int)nd)
            continue;
        uint64_t v;
        if ((rc = rd_u64(r, &v, "tensor dimension")))
            return rc;
        if (v > (uint64_t)INT64_MAX || (total > 0 && (int64_t)v > INT64_MAX / total))
            return bz_errf(r->err, BZ_EFORMAT,
                           "%s: tensor '%s': dimension %d (%llu) overflows the element count",
                           r->name, t->name, d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
        total *= (int64_t)v;
    }
    uint32_t type;
    if ((rc = rd_u32(r, &type, "tensor type")))
        return rc;
    size_t bb = core_type_block_bytes((int)type);
    int be = core_type_block_elems((int)type);
    if (bb == 0 || be <= 0)
        return bz_errf(r->err, BZ_EUNSUPPORTED, "%s: tensor '%s': unsupported tensor type %u",
                       r->name, t->name, type);
    t->type = (int)type;
    if (t->ne[0] % be != 0)
        return bz_errf(r->err, BZ_EFORMAT,
                       "%s: tensor '%s': row of %lld elements is not a multiple of the %s "
                       "block (%d)",
                       r->name, t->name, (long long)t->ne[0], core_type_name(t->type), be);
    uint64_t blocks = (uint64_t)total / (uint64_t)be;
    if (blocks > SIZE_MAX / bb)
        return bz_errf(r->err, BZ_EFORMAT, "%s: tensor '%s': size overflows", r->name, t->name);
    t->nbytes = (size_t)blocks * bb;
    if ((rc = rd_u64(r, &t->offset, "tensor offset")))
        return rc;
    return 0;
}

static int parse(struct core_gguf *g, struct bz_err *err)
{
    struct rd r = {g->base, 0, g->size, g->path, err};
    struct gguf_priv *pv = g->priv;
    int rc;
    uint32_t magic;
    if ((rc = rd_u32(&r, &magic, "magic")))
        return rc;
    if (memcmp(g->base, "GGUF", 4) != 0)
        return bz_errf(err, BZ_EFORMAT, "%s: not a GGUF file (magic %02x %02x %02x %02x)",
                       g->path, g->base[0], g->base[1], g->base[2], g->base[3]);
    if ((rc = rd_u32(&r, &g->version, "version")))
        return rc;
    if (g->version == 1)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: GGUF v1 is not supported (v2 and v3 are)",
                       g->path);
    if (g->version != 2 && g->version != 3) {
        if ((g->version & 0xffff) == 0 && (g->version >> 24) >= 1 && (g->version >> 24) <= 3)
            return bz_errf(err, BZ_EUNSUPPORTED, "%s: big-endian GGUF is not supported",
                           g->path);
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: GGUF version %u (expected 2 or 3)", g->path,
                       g->version);
    }
    uint64_t n_tensors, n_kv;
    if ((rc = rd_u64(&r, &n_tensors, "tensor count")) || (rc = rd_u64(&r, &n_kv, "kv count")))
        return rc;
    /* A kv takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at
     * least 8 (name length) + 4 + 8 + 4 + 8. */
    size_t left = r.size - r.pos;
    if (n_kv > left / 13)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: kv count %llu cannot fit in the %zu bytes after the header "
                       "(truncated or corrupt)", g->path,
                       (unsigned long long)n_kv, left);
    if (n_tensors > left / 32)
        return bz_errf(err, BZ_ECORRUPT,
                       "%s: tensor count %llu cannot fit in the %zu bytes after the header "
                       "(truncated or corrupt)",
                       g->path, (unsigned long long)n_tensors, left);
    g->kvs = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kvs);
    g->tensors = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *g->tensors);
    pv->kv_cap = table_cap((int64_t)n_kv);
    pv->t_cap = table_cap((int64_t)n_tensors);
    pv->kv_slots = build_slots(pv->kv_cap);
    pv->t_slots = build_slots(pv->t_cap);
    if (!g->kvs || !g->tensors || !pv->kv_slots || !pv->t_slots)
        return bz_errf(err, BZ_ENOMEM, "%s: no memory for %llu kvs and %llu tensors", g->path,
                       (unsigned long long)n_kv, (unsigned long long)n_tensors);

    g->alignment = CORE_GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        struct core_gguf_kv *kv = &g->kvs[i];
        size_t at = r.pos;
        g->n_kv = (int64_t)i + 1; /* counted before parsing so close frees its strs */
        if ((rc = rd_str(&r, &kv->key, "metadata key")))
            return rc;
        char keyz[80];
        snprintf(keyz, sizeof keyz, "%.*s", (int)BZ_MIN(kv->key.n, 79), kv->key.p);
        for (size_t j = 0; j < kv->key.n && j < 79; j++)
            if ((unsigned char)keyz[j] < 0x20)
                keyz[j] = '?';
        if (kv_lookup(g, kv->key.p, kv->key.n))
            return bz_errf(err, BZ_EFORMAT, "%s: duplicate key '%s' at offset %zu", g->path,
                           keyz, at);
        uint32_t type;
        if ((rc = rd_u32(&r, &type, "metadata value type")))
            return rc;
        kv->type = (int)type;
        if ((rc = parse_value(&r, kv, keyz)))
            return rc;
        size_t mask = pv->kv_cap - 1, s = bz_hash64(kv->key.p, kv->key.n) & mask;
        while (pv->kv_slots[s])
            s = (s + 1) & mask;
        pv->kv_slots[s] = (int64_t)i + 1;
        if (kv->key.n == 17 && memcmp(kv->key.p, "general.alignment", 17) == 0) {
            double a = vtype_is_int(kv->type) ? read_num(kv->type, kv->data) : 0;
            if (a < 1 || a > (1u << 30) || ((uint32_t)a & ((uint32_t)a - 1)) != 0)
                return bz_errf(err, BZ_EFORMAT,
                               "%s: general.alignment must be a power of two integer (got %s %g)",
                               g->path, core_gguf_vtype_name(kv->type), a);
            g->alignment = (uint32_t)a;
        }
    }

    for (uint64_t i = 0; i < n_tensors; i++) {
        struct core_gguf_tensor *t = &g->tensors[i];
        if ((rc = parse_tensor(&r, t)))
            return rc;
        g->n_tensors = (int64_t)i + 1;
        if (t_lookup(g, t->name))
            return bz_errf(err, BZ_EFORMAT, "%s: duplicate tensor '%s'", g->path, t->name);
        size_t mask = pv->t_cap - 1, s = bz_hash64(t->name, strlen(t->name)) & mask;
        while (pv->t_slots[s])
            s = (s + 1) & mask;
        pv->t_slots[s] = (int64_t)i + 1;
    }

    size_t a = g->alignment;
    size_t data_off = r.pos + (a - r.pos % a) % a;
    g->data_offset = data_off;
    if (n_tensors == 0)
        return 0;
    if (data_off > g->size)
        return bz_errf(err, BZ_ECORRUPT, "%s: truncated: tensor data would start at %zu, file is "
                       "%zu bytes", g->path, data_off, g->size);
    size_t avail = g->size - data_off;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct core_gguf_tensor *t = &g->tensors[i];
        if (t->offset % a != 0)
            return bz_errf(err, BZ_EFORMAT,
                           "%s: tensor '%s': data offset %llu is not a multiple of the "
                           "alignment %zu",
                           g->path, t->name, (unsigned long long)t->offset, a);
        if (t->offset > avail || t->nbytes > avail - t->offset)
            return bz_errf(err, BZ_ECORRUPT,
                           "%s: truncated: tensor '%s' needs bytes %llu..%llu of the data "
                           "section, which has %zu",
                           g->path, t->name, (unsigned long long)t->offset,
                           (unsigned long long)(t->offset + t->nbytes), avail);
        t->data = g->base + data_off + t->offset;
    }
    return 0;
}

static int open_common(struct core_gguf *g, struct core_gguf **out, struct bz_err *err)
{
    int rc = parse(g, err);
    if (rc) {
        core_gguf_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Validate a GGUF image in caller memory (borrowed); see gguf.h. */
int core_gguf_open_mem(struct core_gguf **out, const void *data, size_t n, const char *name,
                       struct bz_err *err)
{
    *out = NULL;
    struct core_gguf *g = bz_calloc(1, sizeof *g);
    g->priv = bz_calloc(1, sizeof(struct gguf_priv));
    g->path = bz_strdup(name ? name : "(memory)");
    g->base = data;
    g->size = n;
    return open_common(g, out, err);
}

/* Map and validate a GGUF file; the reader owns the mapping until close. */
int core_gguf_open(struct core_gguf **out, const char *path, struct bz_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return bz_errf(err, rc, "%s: %s", path, strerror(-rc));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return bz_errf(err, S_ISDIR(st.st_mode) ? BZ_EISDIR : BZ_EINVAL,
                       "%s: not a regular file, so not a GGUF file", path);
    }
    if (st.st_size < 24) {
        close(fd);
        return bz_errf(err, BZ_ECORRUPT, "%s: truncated: %lld bytes, a GGUF header needs 24",
                       path, (long long)st.st_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int mrc = map == MAP_FAILED ? -errno : 0;
    close(fd);
    if (mrc)
        return bz_errf(err, mrc, "%s: mmap failed: %s", path, strerror(-mrc));
    struct core_gguf *g = bz_calloc(1, sizeof *g);
    struct gguf_priv *pv = bz_calloc(1, sizeof *pv);
    pv->map = map;
    pv->map_len = (size_t)st.st_size;
    g->priv = pv;
    g->path = bz_strdup(path);
    g->base = map;
    g->size = (size_t)st.st_size;
    return open_common(g, out, err);
}

/* Unmap and free everything the reader owns; takes NULL. */
void core_gguf_close(struct core_gguf *g)
{
    if (!g)
        return;
    struct gguf_priv *pv = g->priv;
    if (g->kvs) {
        for (int64_t i = 0; i < g->n_kv; i++)
            free(g->kvs[i].strs);
    }
    free(g->kvs);
    free(g->tensors);
    if (pv) {
        if (pv->map)
            munmap(pv->map, pv->map_len);
        free(pv->kv_slots);
        free(pv->t_slots);
        free(pv);
    }
    free(g->path);
    free(g);
}

/* ---------------------------------------------------------------- getters */

static int get_kv(const struct core_gguf *g, const char *key, const struct core_gguf_kv **kv,
                  struct bz_err *err)
{
    *kv = core_gguf_find(g, key);
    if (!*kv)
        return bz_errf(err, BZ_ENOTFOUND, "%s: missing key '%s'", g->path, key);
    return 0;
}

static int type_err(const struct core_gguf *g, const char *key, const struct core_gguf_kv *kv,
                    const char *want, struct bz_err *err)
{
    return bz_errf(err, BZ_EFORMAT, "%s: key '%s' is %s%s%s, expected %s", g->path, key,
                   core_gguf_vtype_name(kv->type), kv->type == CORE_GGUF_ARRAY ? " of " : "",
                   kv->type == CORE_GGUF_ARRAY ? core_gguf_vtype_name(kv->arr_type) : "", want);
}

/* An integer kv that fits u32; BZ_ENOTFOUND / BZ_EFORMAT / BZ_ERANGE otherwise. */
int core_gguf_get_u32(const struct core_gguf *g, const char *key, uint32_t *out,
                      struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (!vtype_is_int(kv->type))
        return type_err(g, key, kv, "an integer", err);
    uint64_t mag;
    int neg;
    read_int(kv->type, kv->data, &mag, &neg);
    if (neg || mag > UINT32_MAX)
        return bz_errf(err, BZ_ERANGE, "%s: key '%s' = %s%llu does not fit in u32", g->path,
                       key, neg ? "-" : "", (unsigned long long)mag);
    *out = (uint32_t)mag;
    return 0;
}

/* An integer kv that fits i64; BZ_ENOTFOUND / BZ_EFORMAT / BZ_ERANGE otherwise. */
int core_gguf_get_i64(const struct core_gguf *g, const char *key, int64_t *out,
                      struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (!vtype_is_int(kv->type))
        return type_err(g, key, kv, "an integer", err);
    uint64_t mag;
    int neg;
    read_int(kv->type, kv->data, &mag, &neg);
    if (!neg && mag > (uint64_t)INT64_MAX)
        return bz_errf(err, BZ_ERANGE, "%s: key '%s' = %llu does not fit in i64", g->path, key,
                       (unsigned long long)mag);
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

/* A numeric kv (float or integer) as a double. */
int core_gguf_get_f64(const struct core_gguf *g, const char *key, double *out,
                      struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (!vtype_is_int(kv->type) && !vtype_is_float(kv->type))
        return type_err(g, key, kv, "a number", err);
    *out = read_num(kv->type, kv->data);
    return 0;
}

/* A numeric kv (float or integer) as a float. */
int core_gguf_get_f32(const struct core_gguf *g, const char *key, float *out,
                      struct bz_err *err)
{
    double d;
    int rc = core_gguf_get_f64(g, key, &d, err);
    if (rc == 0)
        *out = (float)d;
    return rc;
}

/* A bool (or integer) kv as 0/1. */
int core_gguf_get_bool(const struct core_gguf *g, const char *key, int *out,
                       struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (!vtype_is_int(kv->type))
        return type_err(g, key, kv, "a bool", err);
    *out = read_num(kv->type, kv->data) != 0;
    return 0;
}

/* A string kv, borrowed from the mapping (not NUL-terminated). */
int core_gguf_get_str(const struct core_gguf *g, const char *key, struct core_gguf_str *out,
                      struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (kv->type != CORE_GGUF_STRING)
        return type_err(g, key, kv, "a string", err);
    *out = kv->str;
    return 0;
}

/* A string kv copied and NUL-terminated (caller frees); refuses embedded NULs. */
int core_gguf_get_strdup(const struct core_gguf *g, const char *key, char **out,
                         struct bz_err *err)
{
    struct core_gguf_str s;
    int rc = core_gguf_get_str(g, key, &s, err);
    if (rc)
        return rc;
    if (memchr(s.p, 0, s.n))
        return bz_errf(err, BZ_EFORMAT, "%s: key '%s' holds a NUL byte", g->path, key);
    char *p = malloc(s.n + 1);
    if (!p)
        return bz_errf(err, BZ_ENOMEM, "%s: key '%s': no memory for %zu bytes", g->path, key,
                       s.n);
    memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    *out = p;
    return 0;
}

/* An array-of-strings kv; the (pointer, length) table is borrowed from g. */
int core_gguf_get_arr_str(const struct core_gguf *g, const char *key,
                          const struct core_gguf_str **out, uint64_t *n, struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_kv(g, key, &kv, err);
    if (rc)
        return rc;
    if (kv->type != CORE_GGUF_ARRAY || kv->arr_type != CORE_GGUF_STRING)
        return type_err(g, key, kv, "an array of strings", err);
    *out = kv->strs;
    *n = kv->n;
    return 0;
}

static int get_num_arr(const struct core_gguf *g, const char *key,
                       const struct core_gguf_kv **kvp, struct bz_err *err, int ints_only)
{
    int rc = get_kv(g, key, kvp, err);
    if (rc)
        return rc;
    const struct core_gguf_kv *kv = *kvp;
    if (kv->type != CORE_GGUF_ARRAY || !(vtype_is_int(kv->arr_type) ||
                                         (!ints_only && vtype_is_float(kv->arr_type))))
        return type_err(g, key, kv, ints_only ? "an array of integers" : "an array of numbers",
                        err);
    return 0;
}

/* A numeric array kv converted to a new float array (caller frees). */
int core_gguf_get_arr_f32(const struct core_gguf *g, const char *key, float **out,
                          uint64_t *n, struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_num_arr(g, key, &kv, err, 0);
    if (rc)
        return rc;
    float *v = malloc((size_t)(kv->n ? kv->n : 1) * sizeof *v);
    if (!v)
        return bz_errf(err, BZ_ENOMEM, "%s: key '%s': no memory", g->path, key);
    for (uint64_t i = 0; i < kv->n; i++)
        v[i] = (float)core_gguf_kv_num(kv, i);
    *out = v;
    *n = kv->n;
    return 0;
}

/* An integer array kv converted to a new int32 array (caller frees). */
int core_gguf_get_arr_i32(const struct core_gguf *g, const char *key, int32_t **out,
                          uint64_t *n, struct bz_err *err)
{
    const struct core_gguf_kv *kv;
    int rc = get_num_arr(g, key, &kv, err, 1);
    if (rc)
        return rc;
    int32_t *v = malloc((size_t)(kv->n ? kv->n : 1) * sizeof *v);
    if (!v)
        return bz_errf(err, BZ_ENOMEM, "%s: key '%s': no memory", g->path, key);
    size_t sz = core_gguf_vtype_size(kv->arr_type);
    for (uint64_t i = 0; i < kv->n; i++) {
        uint64_t mag;
        int neg;
        read_int(kv->arr_type, (const uint8_t *)kv->data + i * sz, &mag, &neg);
        if (mag > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX)) {
            free(v);
            return bz_errf(err, BZ_ERANGE, "%s: key '%s'[%llu] does not fit in i32", g->path,
                           key, (unsigned long long)i);
        }
        v[i] = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
    }
    *out = v;
    *n = kv->n;
    return 0;
}

/* ---------------------------------------------------------------- writer */

struct wtensor {
    char name[CORE_GGUF_MAX_NAME];
    int type, n_dims;
    int64_t ne[CORE_GGUF_MAX_DIMS];
    size_t nbytes;
    const void *data;
    core_gguf_fill_fn fill;
    void *ctx;
};

struct core_gguf_writer {
    struct bz_buf kv;           /* serialized kvs, file order */
    char **keys;
    size_t n_keys, cap_keys;
    int has_alignment_key;
    uint32_t alignment;
    struct wtensor *t;
    size_t n_t, cap_t;
    core_gguf_progress_fn progress;
    void *progress_ctx;
};

/* Call fn after each tensor written; nonzero from fn cancels. */
void core_gguf_writer_set_progress(struct core_gguf_writer *w, core_gguf_progress_fn fn,
                                   void *ctx)
{
    w->progress = fn;
    w->progress_ctx = ctx;
}

/* An empty writer: no metadata, no tensors, alignment 32. Caller frees. */
struct core_gguf_writer *core_gguf_writer_new(void)
{
    struct core_gguf_writer *w = bz_calloc(1, sizeof *w);
    bz_buf_init(&w->kv);
    w->alignment = CORE_GGUF_DEFAULT_ALIGNMENT;
    return w;
}

/* Free the writer and its copies; borrowed tensor data is untouched. Takes NULL. */
void core_gguf_writer_free(struct core_gguf_writer *w)
{
    if (!w)
        return;
    bz_buf_cleanup(&w->kv);
    for (size_t i = 0; i < w->n_keys; i++)
        free(w->keys[i]);
    free(w->keys);
    free(w->t);
    free(w);
}

static void put_u32(struct bz_buf *b, uint32_t v) { bz_buf_append(b, &v, 4); }
static void put_u64(struct bz_buf *b, uint64_t v) { bz_buf_append(b, &v, 8); }
static void put_str(struct bz_buf *b, const char *s, size_t n)
{
    put_u64(b, n);
    bz_buf_append(b, s, n);
}

/* Start a kv: check the key is new, write key and type. */
static int kv_begin(struct core_gguf_writer *w, const char *key, size_t klen, int type)
{
    for (size_t i = 0; i < w->n_keys; i++)
        if (strlen(w->keys[i]) == klen && memcmp(w->keys[i], key, klen) == 0)
            return BZ_EINVAL;
    if (w->n_keys == w->cap_keys) {
        w->cap_keys = w->cap_keys ? w->cap_keys * 2 : 32;
        w->keys = bz_realloc(w->keys, w->cap_keys * sizeof *w->keys);
    }
    w->keys[w->n_keys++] = bz_strndup(key, klen);
    put_str(&w->kv, key, klen);
    put_u32(&w->kv, (uint32_t)type);
    return 0;
}

static int set_scalar(struct core_gguf_writer *w, const char *key, int type, const void *v)
{
    size_t klen = strlen(key);
    int is_align = klen == 17 && memcmp(key, "general.alignment", 17) == 0;
    if (is_align) {
        double a = read_num(type, v);
        if (!vtype_is_int(type) || a < 1 || a > (1u << 30) ||
            ((uint32_t)a & ((uint32_t)a - 1)) != 0)
            return BZ_EINVAL;
    }
    int rc = kv_begin(w, key, klen, type);
    if (rc)
        return rc;
    bz_buf_append(&w->kv, v, core_gguf_vtype_size(type));
    if (is_align) {
        w->alignment = (uint32_t)read_num(type, v);
        w->has_alignment_key = 1;
    }
    return 0;
}

/* Scalar setters: one kv of the named type; BZ_EINVAL for a repeated key. */
int core_gguf_writer_set_u8(struct core_gguf_writer *w, const char *key, uint8_t v)
{ return set_scalar(w, key, CORE_GGUF_UINT8, &v); }
int core_gguf_writer_set_i8(struct core_gguf_writer *w, const char *key, int8_t v)
{ return set_scalar(w, key, CORE_GGUF_INT8, &v); }
int core_gguf_writer_set_u16(struct core_gguf_writer *w, const char *key, uint16_t v)
{ return set_scalar(w, key, CORE_GGUF_UINT16, &v); }
int core_gguf_writer_set_i16(struct core_gguf_writer *w, const char *key, int16_t v)
{ return set_scalar(w, key, CORE_GGUF_INT16, &v); }
int core_gguf_writer_set_u32(struct core_gguf_writer *w, const char *key, uint32_t v)
{ return set_scalar(w, key, CORE_GGUF_UINT32, &v); }
int core_gguf_writer_set_i32(struct core_gguf_writer *w, const char *key, int32_t v)
{ return set_scalar(w, key, CORE_GGUF_INT32, &v); }
int core_gguf_writer_set_f32(struct core_gguf_writer *w, const char *key, float v)
{ return set_scalar(w, key, CORE_GGUF_FLOAT32, &v); }
int core_gguf_writer_set_u64(struct core_gguf_writer *w, const char *key, uint64_t v)
{ return set_scalar(w, key, CORE_GGUF_UINT64, &v); }
int core_gguf_writer_set_i64(struct core_gguf_writer *w, const char *key, int64_t v)
{ return set_scalar(w, key, CORE_GGUF_INT64, &v); }
int core_gguf_writer_set_f64(struct core_gguf_writer *w, const char *key, double v)
{ return set_scalar(w, key, CORE_GGUF_FLOAT64, &v); }

/* A bool kv (stored as one byte, 0 or 1). */
int core_gguf_writer_set_bool(struct core_gguf_writer *w, const char *key, int v)
{
    uint8_t b = v != 0;
    return set_scalar(w, key, CORE_GGUF_BOOL, &b);
}

/* A string kv of n bytes (copied; may hold any bytes). */
int core_gguf_writer_set_strn(struct core_gguf_writer *w, const char *key, const char *s,
                              size_t n)
{
    int rc = kv_begin(w, key, strlen(key), CORE_GGUF_STRING);
    if (rc)
        return rc;
    put_str(&w->kv, s, n);
    return 0;
}

/* A NUL-terminated string kv (copied). */
int core_gguf_writer_set_str(struct core_gguf_writer *w, const char *key, const char *s)
{
    return core_gguf_writer_set_strn(w, key, s, strlen(s));
}

/* A numeric array kv of n elements of elem_type (copied). */
int core_gguf_writer_set_arr(struct core_gguf_writer *w, const char *key, int elem_type,
                             const void *data, uint64_t n)
{
    size_t sz = core_gguf_vtype_size(elem_type);
    if (sz == 0 || n > SIZE_MAX / sz)
        return BZ_EINVAL;
    int rc = kv_begin(w, key, strlen(key), CORE_GGUF_ARRAY);
    if (rc)
        return rc;
    put_u32(&w->kv, (uint32_t)elem_type);
    put_u64(&w->kv, n);
    bz_buf_append(&w->kv, data, (size_t)n * sz);
    return 0;
}

/* An array-of-strings kv (copied); lens NULL means NUL-terminated strings. */
int core_gguf_writer_set_arr_str(struct core_gguf_writer *w, const char *key,
                                 const char *const *strs, const size_t *lens, uint64_t n)
{
    int rc = kv_begin(w, key, strlen(key), CORE_GGUF_ARRAY);
    if (rc)
        return rc;
    put_u32(&w->kv, CORE_GGUF_STRING);
    put_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++)
        put_str(&w->kv, strs[i], lens ? lens[i] : strlen(strs[i]));
    return 0;
}

/* Copy a reader kv as is (any type); general.alignment also sets the alignment. */
int core_gguf_writer_copy_kv(struct core_gguf_writer *w, const struct core_gguf_kv *kv)
{
    int is_align = kv->key.n == 17 && memcmp(kv->key.p, "general.alignment", 17) == 0;
    if (is_align)
        return set_scalar(w, "general.alignment", kv->type, kv->data);
    int rc = kv_begin(w, kv->key.p, kv->key.n, kv->type);
    if (rc)
        return rc;
    if (kv->type == CORE_GGUF_STRING) {
        put_str(&w->kv, kv->str.p, kv->str.n);
    } else if (kv->type == CORE_GGUF_ARRAY) {
        put_u32(&w->kv, (uint32_t)kv->arr_type);
        put_u64(&w->kv, kv->n);
        if (kv->arr_type == CORE_GGUF_STRING)
            for (uint64_t i = 0; i < kv->n; i++)
                put_str(&w->kv, kv->strs[i].p, kv->strs[i].n);
        else
            bz_buf_append(&w->kv, kv->data, (size_t)kv->n * core_gguf_vtype_size(kv->arr_type));
    } else {
        bz_buf_append(&w->kv, kv->data, core_gguf_vtype_size(kv->type));
    }
    return 0;
}

/* Tensor data alignment, a power of two; BZ_EINVAL after general.alignment. */
int core_gguf_writer_set_alignment(struct core_gguf_writer *w, uint32_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || w->has_alignment_key)
        return BZ_EINVAL;
    w->alignment = alignment;
    return 0;
}

static int add_tensor(struct core_gguf_writer *w, const char *name, int type, int n_dims,
                      const int64_t *ne, struct wtensor **out, struct bz_err *err)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl >= CORE_GGUF_MAX_NAME)
        return bz_errf(err, BZ_EINVAL, "gguf writer: tensor name '%s' is empty or too long",
                       name);
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return bz_errf(err, BZ_EINVAL, "gguf writer: duplicate tensor '%s'", name);
    if (n_dims < 1 || n_dims > CORE_GGUF_MAX_DIMS)
        return bz_errf(err, BZ_EINVAL, "gguf writer: tensor '%s': n_dims %d", name, n_dims);
    size_t bb = core_type_block_bytes(type);
    int be = core_type_block_elems(type);
    if (bb == 0)
        return bz_errf(err, BZ_EINVAL, "gguf writer: tensor '%s': unknown type %d", name, type);
    uint64_t total = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0 || (ne[d] > 0 && total > (uint64_t)INT64_MAX / (uint64_t)ne[d]))
            return bz_errf(err, BZ_EINVAL, "gguf writer: tensor '%s': bad dimension", name);
        total *= (uint64_t)ne[d];
    }
    if (ne[0] % be != 0)
        return bz_errf(err, BZ_EINVAL,
                       "gguf writer: tensor '%s': row of %lld is not a multiple of the %s "
                       "block (%d)", name, (long long)ne[0], core_type_name(type), be);
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t ? w->cap_t * 2 : 64;
        w->t = bz_realloc(w->t, w->cap_t * sizeof *w->t);
    }
    struct wtensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, nl + 1);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < CORE_GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = (size_t)(total / (uint64_t)be) * bb;
    *out = t;
    return 0;
}

/* A tensor whose bytes are borrowed until the write returns. */
int core_gguf_writer_add_tensor(struct core_gguf_writer *w, const char *name, int type,
                                int n_dims, const int64_t *ne, const void *data,
                                struct bz_err *err)
{
    struct wtensor *t;
    int rc = add_tensor(w, name, type, n_dims, ne, &t, err);
    if (rc == 0)
        t->data = data;
    return rc;
}

/* A tensor whose bytes fill() produces at write time (one at a time). */
int core_gguf_writer_add_tensor_fn(struct core_gguf_writer *w, const char *name, int type,
                                   int n_dims, const int64_t *ne, core_gguf_fill_fn fill,
                                   void *ctx, struct bz_err *err)
{
    struct wtensor *t;
    int rc = add_tensor(w, name, type, n_dims, ne, &t, err);
    if (rc == 0) {
        t->fill = fill;
        t->ctx = ctx;
    }
    return rc;
}

/* Where a written file goes: a file descriptor or a memory buffer. */
struct sink {
    int fd;
    struct bz_buf *buf;
    const char *path;
};

static int sink_write(struct sink *k, const void *p, size_t n, struct bz_err *err)
{
    if (k->buf) {
        bz_buf_append(k->buf, p, n);
        return 0;
    }
    return bz_write_all(k->fd, p, n, k->path, err);
}

static const uint8_t zeros[256];

static size_t pad_to(size_t pos, size_t a)
{
    return (a - pos % a) % a;
}

static int sink_zeros(struct sink *k, size_t n, struct bz_err *err)
{
    int rc = 0;
    while (rc == 0 && n > 0) {
        size_t c = BZ_MIN(n, sizeof zeros);
        rc = sink_write(k, zeros, c, err);
        n -= c;
    }
    return rc;
}

static int emit(struct core_gguf_writer *w, struct sink *k, struct bz_err *err)
{
    struct bz_buf h;
    bz_buf_init(&h);
    size_t a = w->alignment;
    int extra_align = a != CORE_GGUF_DEFAULT_ALIGNMENT && !w->has_alignment_key;
    bz_buf_append(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, w->n_t);
    put_u64(&h, w->n_keys + (size_t)extra_align);
    if (w->kv.len)
        bz_buf_append(&h, w->kv.p, w->kv.len);
    if (extra_align) {
        put_str(&h, "general.alignment", 17);
        put_u32(&h, CORE_GGUF_UINT32);
        put_u32(&h, (uint32_t)a);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        struct wtensor *t = &w->t[i];
        put_str(&h, t->name, strlen(t->name));
        put_u32(&h, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            put_u64(&h, (uint64_t)t->ne[d]);
        put_u32(&h, (uint32_t)t->type);
        put_u64(&h, off);
        off += t->nbytes + pad_to(t->nbytes, a);
    }
    int rc = sink_write(k, h.p, h.len, err);
    if (rc == 0 && w->n_t > 0)
        rc = sink_zeros(k, pad_to(h.len, a), err);
    bz_buf_cleanup(&h);
    void *scratch = NULL;
    size_t scratch_n = 0;
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < w->n_t; i++)
        total += w->t[i].nbytes;
    for (size_t i = 0; rc == 0 && i < w->n_t; i++) {
        struct wtensor *t = &w->t[i];
        const void *src = t->data;
        if (t->fill) {
            if (t->nbytes > scratch_n) {
                free(scratch);
                scratch = malloc(t->nbytes);
                scratch_n = scratch ? t->nbytes : 0;
                if (!scratch) {
                    rc = bz_errf(err, BZ_ENOMEM, "%s: no memory for tensor '%s' (%zu bytes)",
                                 k->path, t->name, t->nbytes);
                    break;
                }
            }
            if ((rc = t->fill(t->ctx, scratch, t->nbytes, err)))
                break;
            src = scratch;
        }
        if (!src && t->nbytes) {
            rc = bz_errf(err, BZ_EINVAL, "%s: tensor '%s' has no data", k->path, t->name);
            break;
        }
        rc = sink_write(k, src, t->nbytes, err);
        if (rc == 0 && i + 1 < w->n_t)
            rc = sink_zeros(k, pad_to(t->nbytes, a), err);
        done += t->nbytes;
        if (rc == 0 && w->progress && w->progress(w->progress_ctx, done, total) != 0)
            rc = bz_errf(err, BZ_ECANCELED, "%s: canceled", k->path);
    }
    free(scratch);
    return rc;
}

/* The whole file image appended to out (tests, in-memory metadata). */
int core_gguf_writer_to_buf(struct core_gguf_writer *w, struct bz_buf *out, struct bz_err *err)
{
    struct sink k = {-1, out, "(memory)"};
    return emit(w, &k, err);
}

/* Stream the file to path.tmp.PID, fsync, rename over path, fsync the directory. */
int core_gguf_writer_write(struct core_gguf_writer *w, const char *path, struct bz_err *err)
{
    char *tmp;
    int fd = bz_atomic_begin(path, &tmp, err);
    if (fd < 0)
        return fd;
    struct sink k = {fd, NULL, tmp};
    return bz_atomic_end(fd, tmp, path, emit(w, &k, err), err);
}
