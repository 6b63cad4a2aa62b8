/*
 * gguf.h: GGUF files (v2 and v3, little-endian), read by mmap and written by streaming.
 *
 * Reader: core_gguf_open maps the file and validates the whole header before
 * returning: every count, string length, array length, tensor shape, type and data
 * range is checked against the file size, so a truncated or hostile file is refused
 * with "FILE: what (at offset N)" and nothing past that point is ever read. After a
 * successful open every pointer the reader hands out is in bounds. Strings in the
 * file are not NUL-terminated: they come back as (pointer, length) pairs that borrow
 * the mapping. Metadata values may be unaligned in the file: numeric getters copy.
 *
 * Writer: metadata (any type, including arrays of strings) and tensors are gathered,
 * then core_gguf_writer_write streams header, tensor infos and data (each tensor at
 * a multiple of the alignment, 32 unless general.alignment says otherwise) to
 * PATH.tmp, fsyncs it and renames it over PATH. Tensor data is borrowed from the
 * caller or produced by a callback at write time, so a conversion never holds the
 * whole output in memory.
 *
 * Left out: big-endian files (refused by name), GGUF v1 (refused), editing in place.
 */
#ifndef CORE_GGUF_H
#define CORE_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

/* Metadata value types, as stored in the file. */
enum core_gguf_vtype {
    CORE_GGUF_UINT8 = 0,
    CORE_GGUF_INT8 = 1,
    CORE_GGUF_UINT16 = 2,
    CORE_GGUF_INT16 = 3,
    CORE_GGUF_UINT32 = 4,
    CORE_GGUF_INT32 = 5,
    CORE_GGUF_FLOAT32 = 6,
    CORE_GGUF_BOOL = 7,
    CORE_GGUF_STRING = 8,
    CORE_GGUF_ARRAY = 9,
    CORE_GGUF_UINT64 = 10,
    CORE_GGUF_INT64 = 11,
    CORE_GGUF_FLOAT64 = 12,
};

#define CORE_GGUF_DEFAULT_ALIGNMENT 32
#define CORE_GGUF_MAX_DIMS 4
#define CORE_GGUF_MAX_NAME 96 /* tensor names longer than 95 bytes are refused */

/* A string in the file: not NUL-terminated, borrowed from the mapping. */
struct core_gguf_str {
    const char *p;
    size_t n;
};

/* One metadata key/value. For scalars `data` points at the value in the file
 * (possibly unaligned; read with memcpy or the getters). For a string, `str` holds
 * it. For an array, arr_type is the element type, n the element count and `data`
 * the first element; an array of strings also has `strs[n]`. */
struct core_gguf_kv {
    struct core_gguf_str key;
    int type;                       /* enum core_gguf_vtype */
    int arr_type;                   /* element type when type == CORE_GGUF_ARRAY */
    uint64_t n;                     /* array length; 1 for scalars */
    const void *data;               /* value bytes in the file */
    size_t nbytes;                  /* bytes of the value as stored (after the type field) */
    struct core_gguf_str str;       /* type == STRING */
    struct core_gguf_str *strs;     /* array of strings: [n], owned by the reader */
};

/* One tensor info, validated: type known, shape sane, data inside the file. */
struct core_gguf_tensor {
    char name[CORE_GGUF_MAX_NAME];
    int type;                       /* enum core_type (core/model.h) */
    int n_dims;
    int64_t ne[CORE_GGUF_MAX_DIMS]; /* ne[0] contiguous; unused dims are 1 */
    uint64_t offset;                /* from the start of the data section */
    size_t nbytes;
    const void *data;               /* in the mapping, aligned to the file's alignment */
};

struct core_gguf {
    char *path;                     /* file name used in messages */
    uint32_t version;               /* 2 or 3 */
    uint32_t alignment;
    const uint8_t *base;            /* the whole file */
    size_t size;
    size_t data_offset;             /* start of the tensor data section */
    struct core_gguf_kv *kvs;       /* [n_kv], file order */
    int64_t n_kv;
    struct core_gguf_tensor *tensors; /* [n_tensors], file order */
    int64_t n_tensors;
    void *priv;                     /* mapping and lookup tables */
};

/* Open and validate a GGUF file by mmap. *out is valid until core_gguf_close. */
int core_gguf_open(struct core_gguf **out, const char *path, struct bz_err *err);
/* The same over caller memory (borrowed; must outlive the reader). name is used in
 * messages. Used by the fuzz harness and by tests. */
int core_gguf_open_mem(struct core_gguf **out, const void *data, size_t n, const char *name,
                       struct bz_err *err);
/* Unmap and free. Takes NULL. */
void core_gguf_close(struct core_gguf *g);

/* Look up a key or a tensor by name (hash table); NULL when absent. */
const struct core_gguf_kv *core_gguf_find(const struct core_gguf *g, const char *key);
const struct core_gguf_tensor *core_gguf_tensor(const struct core_gguf *g, const char *name);

/* Typed getters. BZ_ENOTFOUND when the key is absent (message names it), BZ_EFORMAT
 * when the stored type does not convert: integer getters accept any integer type
 * (and bool) whose value fits, float getters any float or integer type. */
int core_gguf_get_u32(const struct core_gguf *g, const char *key, uint32_t *out,
                      struct bz_err *err);
int core_gguf_get_i64(const struct core_gguf *g, const char *key, int64_t *out,
                      struct bz_err *err);
int core_gguf_get_f32(const struct core_gguf *g, const char *key, float *out,
                      struct bz_err *err);
int core_gguf_get_f64(const struct core_gguf *g, const char *key, double *out,
                      struct bz_err *err);
int core_gguf_get_bool(const struct core_gguf *g, const char *key, int *out,
                       struct bz_err *err);
/* A string value, borrowed from the mapping (not NUL-terminated). */
int core_gguf_get_str(const struct core_gguf *g, const char *key, struct core_gguf_str *out,
                      struct bz_err *err);
/* A string value as a new NUL-terminated string (caller frees); BZ_EFORMAT when it
 * holds a NUL byte. */
int core_gguf_get_strdup(const struct core_gguf *g, const char *key, char **out,
                         struct bz_err *err);
/* An array of strings: *out borrowed from the reader ([*n]). */
int core_gguf_get_arr_str(const struct core_gguf *g, const char *key,
                          const struct core_gguf_str **out, uint64_t *n, struct bz_err *err);
/* A numeric array copied and converted into a new array (caller frees). f32 accepts
 * any numeric element type; i32 any integer type whose values fit in int32. */
int core_gguf_get_arr_f32(const struct core_gguf *g, const char *key, float **out,
                          uint64_t *n, struct bz_err *err);
int core_gguf_get_arr_i32(const struct core_gguf *g, const char *key, int32_t **out,
                          uint64_t *n, struct bz_err *err);

/* Element i of a scalar (i = 0) or numeric array kv, converted; 0 for non-numeric. */
double core_gguf_kv_num(const struct core_gguf_kv *kv, uint64_t i);
/* Size in bytes of a fixed-size value type; 0 for STRING, ARRAY and unknown ids. */
size_t core_gguf_vtype_size(int type);
const char *core_gguf_vtype_name(int type);

/* ---------------------------------------------------------------- writer */

struct core_gguf_writer;

/* Produce the nbytes of a tensor's data into dst at write time. */
typedef int (*core_gguf_fill_fn)(void *ctx, void *dst, size_t nbytes, struct bz_err *err);

struct core_gguf_writer *core_gguf_writer_new(void);
/* Takes NULL. Does not touch borrowed tensor data. */
void core_gguf_writer_free(struct core_gguf_writer *w);

/* Metadata, written in the order added. Adding a key twice is BZ_EINVAL. Strings
 * are copied; value types follow the setter's name. */
int core_gguf_writer_set_u8(struct core_gguf_writer *w, const char *key, uint8_t v);
int core_gguf_writer_set_i8(struct core_gguf_writer *w, const char *key, int8_t v);
int core_gguf_writer_set_u16(struct core_gguf_writer *w, const char *key, uint16_t v);
int core_gguf_writer_set_i16(struct core_gguf_writer *w, const char *key, int16_t v);
int core_gguf_writer_set_u32(struct core_gguf_writer *w, const char *key, uint32_t v);
int core_gguf_writer_set_i32(struct core_gguf_writer *w, const char *key, int32_t v);
int core_gguf_writer_set_f32(struct core_gguf_writer *w, const char *key, float v);
int core_gguf_writer_set_bool(struct core_gguf_writer *w, const char *key, int v);
int core_gguf_writer_set_u64(struct core_gguf_writer *w, const char *key, uint64_t v);
int core_gguf_writer_set_i64(struct core_gguf_writer *w, const char *key, int64_t v);
int core_gguf_writer_set_f64(struct core_gguf_writer *w, const char *key, double v);
int core_gguf_writer_set_str(struct core_gguf_writer *w, const char *key, const char *s);
int core_gguf_writer_set_strn(struct core_gguf_writer *w, const char *key, const char *s,
                              size_t n);
/* A numeric (or bool) array of n elements of elem_type, little-endian host values. */
int core_gguf_writer_set_arr(struct core_gguf_writer *w, const char *key, int elem_type,
                             const void *data, uint64_t n);
/* An array of n NUL-terminated strings; lens may be NULL (else strs[i] has lens[i] bytes). */
int core_gguf_writer_set_arr_str(struct core_gguf_writer *w, const char *key,
                                 const char *const *strs, const size_t *lens, uint64_t n);
/* Copy one kv from an open reader as is (any type). */
int core_gguf_writer_copy_kv(struct core_gguf_writer *w, const struct core_gguf_kv *kv);
/* Tensor data alignment (a power of two; also written as general.alignment when not
 * 32). Default 32. */
int core_gguf_writer_set_alignment(struct core_gguf_writer *w, uint32_t alignment);

/* A tensor whose data (core_type row bytes for the shape) is borrowed until
 * core_gguf_writer_write returns. ne[0] must be a multiple of the type's block. */
int core_gguf_writer_add_tensor(struct core_gguf_writer *w, const char *name, int type,
                                int n_dims, const int64_t *ne, const void *data,
                                struct bz_err *err);
/* A tensor whose data a callback produces at write time. */
int core_gguf_writer_add_tensor_fn(struct core_gguf_writer *w, const char *name, int type,
                                   int n_dims, const int64_t *ne, core_gguf_fill_fn fill,
                                   void *ctx, struct bz_err *err);
/* Called after each tensor's data is written: bytes of tensor data done and total.
 * A nonzero return cancels the write (BZ_ECANCELED; the tmp file is removed). */
typedef int (*core_gguf_progress_fn)(void *ctx, uint64_t done, uint64_t total);
void core_gguf_writer_set_progress(struct core_gguf_writer *w, core_gguf_progress_fn fn,
                                   void *ctx);
/* Write everything to path (PATH.tmp, fsync, rename, directory fsync). The writer
 * may be written again or freed afterwards. */
int core_gguf_writer_write(struct core_gguf_writer *w, const char *path, struct bz_err *err);
/* The same file image appended to a memory buffer (for in-memory readers and tests). */
int core_gguf_writer_to_buf(struct core_gguf_writer *w, struct bz_buf *out, struct bz_err *err);

#endif
