/*
 * bz.h: the basics every module shares: error codes and messages, checked
 * allocation, a growable byte buffer, logging, time, and durable file writes.
 *
 * Fallible functions return int: 0 ok, a negative code otherwise. System errors
 * are -errno; Bezoar's own codes sit below -1000. Details go in an optional
 * caller-owned struct bz_err, first error wins, nothing is allocated. Only the
 * outermost layer (CLI, TUI) prints messages.
 */
#ifndef BZ_H
#define BZ_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* X(name, value, message): one table makes the enum and bz_strerror. */
#define BZ_ERRNO_MAP(X)                                                  \
    X(BZ_ENOMEM, -ENOMEM, "out of memory")                               \
    X(BZ_EINVAL, -EINVAL, "invalid argument")                            \
    X(BZ_ENOENT, -ENOENT, "no such file or directory")                   \
    X(BZ_EIO, -EIO, "input/output error")                                \
    X(BZ_EISDIR, -EISDIR, "is a directory")                              \
    X(BZ_ERANGE, -ERANGE, "value out of range")                          \
    X(BZ_ECANCELED, -ECANCELED, "canceled")                              \
    X(BZ_EFORMAT, -1001, "bad file format")                              \
    X(BZ_EPARSE, -1002, "parse error")                                   \
    X(BZ_EUNSUPPORTED, -1003, "not supported")                           \
    X(BZ_ECORRUPT, -1004, "corrupt or truncated data")                   \
    X(BZ_EUSAGE, -1005, "usage error")                                   \
    X(BZ_EEMPTY, -1006, "empty input")                                   \
    X(BZ_ENOTFOUND, -1007, "not found")                                  \
    X(BZ_ENUMERIC, -1008, "numeric error (NaN or Inf)")                  \
    X(BZ_EPROTO, -1009, "protocol error")                                \
    X(BZ_ETIMEDOUT, -ETIMEDOUT, "timed out")

enum bz_errcode {
#define BZ__ENUM(name, value, msg) name = (value),
    BZ_ERRNO_MAP(BZ__ENUM)
#undef BZ__ENUM
};

struct bz_err {
    int code;      /* 0 while no error was recorded */
    char msg[256]; /* "file:line:col: what", no trailing newline */
};

/* Record an error (only if none is recorded yet) and return code. err may be NULL. */
int bz_errf(struct bz_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int bz_verrf(struct bz_err *err, int code, const char *fmt, va_list ap);
void bz_err_clear(struct bz_err *err);
const char *bz_strerror(int code);
/* The message of err, or bz_strerror(code) when err holds none. */
const char *bz_err_msg(const struct bz_err *err, int code);

/* Bugs assert, also in release builds. */
#define bz_assert(cond)                                                  \
    ((cond) ? (void)0 : bz__assert_fail(#cond, __FILE__, __LINE__, __func__))
_Noreturn void bz__assert_fail(const char *expr, const char *file, int line, const char *fn);

/* Checked allocation for small, bounded objects: aborts with a message on failure.
 * Allocations whose size comes from input use malloc and report BZ_ENOMEM instead. */
void *bz_malloc(size_t n);
void *bz_calloc(size_t n, size_t size);
void *bz_realloc(void *p, size_t n);
char *bz_strdup(const char *s);
char *bz_strndup(const char *s, size_t n);
char *bz_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer, always NUL-terminated when p != NULL. */
struct bz_buf {
    char *p;
    size_t len, cap;
};
void bz_buf_init(struct bz_buf *b);
void bz_buf_cleanup(struct bz_buf *b);
void bz_buf_reserve(struct bz_buf *b, size_t extra);
void bz_buf_append(struct bz_buf *b, const void *data, size_t n);
void bz_buf_puts(struct bz_buf *b, const char *s);
void bz_buf_putc(struct bz_buf *b, char c);
void bz_buf_printf(struct bz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with quotes), escaping as RFC 8259 requires. */
void bz_buf_json_str(struct bz_buf *b, const char *s, size_t n);
/* Take ownership of the bytes; the buffer is empty afterwards. */
char *bz_buf_steal(struct bz_buf *b);

/* Logging to stderr. BZ_LOG_QUIET silences info; BZ_LOG_DEBUG shows debug. */
enum bz_log_level { BZ_LOG_ERROR, BZ_LOG_WARN, BZ_LOG_INFO, BZ_LOG_DEBUG };
extern int bz_log_level;
void bz_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds on a monotonic clock; wall clock seconds since the epoch. */
double bz_now(void);
double bz_wall(void);

/* Files. bz_write_atomic writes path through path.tmp + fsync + rename + directory
 * fsync, so a crash leaves either the old or the new file. */
int bz_write_atomic(const char *path, const void *data, size_t n, struct bz_err *err);
/* The same in two halves, for writers that stream: bz_atomic_begin creates
 * path.tmp.PID and returns its fd (>= 0; *tmp gets its name, owned) or a negative code;
 * bz_atomic_end, given the writer's result rc, fsyncs and closes fd, then renames tmp
 * over path and fsyncs the directory when all went well, else removes tmp; it frees
 * tmp and returns rc or the first error of its own. */
int bz_atomic_begin(const char *path, char **tmp, struct bz_err *err);
int bz_atomic_end(int fd, char *tmp, const char *path, int rc, struct bz_err *err);
/* write(2) all of p, across EINTR and short writes; errors name `name`. */
int bz_write_all(int fd, const void *p, size_t n, const char *name, struct bz_err *err);
int bz_fsync_dir(const char *path);
int bz_mkdir_p(const char *path, struct bz_err *err);
/* Read a whole file into memory (NUL-terminated). Caller frees *out. */
int bz_read_file(const char *path, char **out, size_t *len, struct bz_err *err);
/* Path helpers: the directory part of path (caller frees), and "dir/name" joined. */
char *bz_path_dir(const char *path);
char *bz_path_join(const char *dir, const char *name);

/* UTF-8: length of the valid sequence at s (1..4), or 0 when invalid/truncated. */
int bz_utf8_seq_len(const unsigned char *s, size_t avail);
/* Offset of the first invalid UTF-8 byte, or n when all valid. */
size_t bz_utf8_check(const char *s, size_t n);

/* A stable 64-bit hash (XXH3) and its 16-hex-digit form. */
uint64_t bz_hash64(const void *data, size_t n);

/* A set of 64-bit keys (open addressing, grows by doubling). Zeroed storage is an
 * empty set; bz_set64_add returns 1 when key was not in it yet, 0 when it was. */
struct bz_set64 {
    uint64_t *k;
    size_t cap, n;
    int has_zero;
};
int bz_set64_add(struct bz_set64 *s, uint64_t key);
void bz_set64_cleanup(struct bz_set64 *s);
void bz_hash_hex(uint64_t h, char out[17]);

#define BZ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BZ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define BZ_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
