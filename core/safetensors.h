/*
 * safetensors.h: safetensors files, read by mmap and written by streaming.
 *
 * A file is an 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype, shape, data_offsets} (plus an optional "__metadata__" object of
 * strings), then the raw data. The reader validates the whole header before use:
 * header length within the file, every dtype known, every shape non-negative and
 * small enough, every data range inside the data section and exactly
 * elements * dtype size, no two tensors overlapping. Shapes are row-major in the
 * file (`shape`, outermost first); `ne` gives the same in ggml order (ne[0]
 * contiguous) for the model loaders.
 *
 * Left out: big-endian hosts; dtypes other than the ones listed in the enum.
 */
#ifndef CORE_SAFETENSORS_H
#define CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"

enum core_safetensors_dtype {
    CORE_ST_BOOL, CORE_ST_U8, CORE_ST_I8, CORE_ST_I16, CORE_ST_U16, CORE_ST_F16, CORE_ST_BF16,
    CORE_ST_I32, CORE_ST_U32, CORE_ST_F32, CORE_ST_I64, CORE_ST_U64, CORE_ST_F64,
    CORE_ST_F8_E4M3, CORE_ST_F8_E5M2,
};

#define CORE_ST_MAX_DIMS 8

struct core_safetensors_tensor {
    char *name;
    int dtype;                      /* enum core_safetensors_dtype */
    int type;                       /* enum core_type for F32/F16/BF16, else -1 */
    int n_dims;
    int64_t shape[CORE_ST_MAX_DIMS];/* file order: outermost first */
    int64_t ne[CORE_ST_MAX_DIMS];   /* reversed: ne[0] contiguous; unused dims 1 */
    const void *data;               /* in the mapping; may be unaligned */
    size_t nbytes;
};

struct core_safetensors {
    char *path;
    const uint8_t *base;
    size_t size;
    struct core_safetensors_tensor *tensors; /* [n_tensors], header order */
    int n_tensors;
    char **meta_keys, **meta_vals;  /* "__metadata__" strings, [n_meta] */
    int n_meta;
    void *priv;
};

/* Open and validate a safetensors file by mmap. */
int core_safetensors_open(struct core_safetensors **out, const char *path, struct bz_err *err);
/* The same over caller memory (borrowed; must outlive the reader). */
int core_safetensors_open_mem(struct core_safetensors **out, const void *data, size_t n,
                              const char *name, struct bz_err *err);
/* Takes NULL. */
void core_safetensors_close(struct core_safetensors *st);
/* A tensor by name; NULL when absent. */
const struct core_safetensors_tensor *core_safetensors_find(const struct core_safetensors *st,
                                                            const char *name);
/* A "__metadata__" value by key; NULL when absent. */
const char *core_safetensors_meta(const struct core_safetensors *st, const char *key);
/* Bytes per element of a dtype; its name ("F32"); dtype from a name (-1 unknown). */
size_t core_safetensors_dtype_size(int dtype);
const char *core_safetensors_dtype_name(int dtype);
int core_safetensors_dtype_from_name(const char *name);

/* ---------------------------------------------------------------- writer */

struct core_safetensors_writer;

struct core_safetensors_writer *core_safetensors_writer_new(void);
void core_safetensors_writer_free(struct core_safetensors_writer *w);
/* A tensor of dtype with the row-major shape (outermost first); data (the exact
 * bytes) is borrowed until write returns. Duplicate names are BZ_EINVAL. */
int core_safetensors_writer_add(struct core_safetensors_writer *w, const char *name, int dtype,
                                int n_dims, const int64_t *shape, const void *data,
                                struct bz_err *err);
/* A "__metadata__" string pair (copied). */
int core_safetensors_writer_set_meta(struct core_safetensors_writer *w, const char *key,
                                     const char *value);
/* Write path through path.tmp + fsync + rename. The header is padded with spaces
 * to a multiple of 8 so that data starts aligned. */
int core_safetensors_writer_write(struct core_safetensors_writer *w, const char *path,
                                  struct bz_err *err);

#endif
