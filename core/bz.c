/*
 * bz.c: shared basics (see bz.h). Small and dependency-free apart from xxhash,
 * which gives the stable content hash that record ids are made of.
 */
#include "core/bz.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

int bz_log_level = BZ_LOG_INFO;

int bz_verrf(struct bz_err *err, int code, const char *fmt, va_list ap)
{
    if (err && err->code == 0) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int bz_errf(struct bz_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bz_verrf(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void bz_err_clear(struct bz_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *bz_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
#define BZ__CASE(name, value, msg) \
    case name:                     \
        return msg;
        BZ_ERRNO_MAP(BZ__CASE)
#undef BZ__CASE
    }
    if (code < 0 && code > -1000)
        return strerror(-code);
    return "unknown error";
}

const char *bz_err_msg(const struct bz_err *err, int code)
{
    if (err && err->code && err->msg[0])
        return err->msg;
    return bz_strerror(code);
}

void bz__assert_fail(const char *expr, const char *file, int line, const char *fn)
{
    fprintf(stderr, "bezoar: assertion failed: %s (%s:%d, %s)\n", expr, file, line, fn);
    abort();
}

static void bz__oom(size_t n)
{
    fprintf(stderr, "bezoar: out of memory allocating %zu bytes\n", n);
    abort();
}

void *bz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        bz__oom(n);
    return p;
}

void *bz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        bz__oom(n * size);
    return p;
}

void *bz_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        bz__oom(n);
    return q;
}

char *bz_strdup(const char *s)
{
    return bz_strndup(s, strlen(s));
}

char *bz_strndup(const char *s, size_t n)
{
    char *p = bz_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *bz_asprintf(const char *fmt, ...)
{
    struct bz_buf b;
    va_list ap;
    int n;

    bz_buf_init(&b);
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    bz_buf_reserve(&b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b.p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b.len = (size_t)n;
    return bz_buf_steal(&b);
}

/* ---------------------------------------------------------------- buffers */

void bz_buf_init(struct bz_buf *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void bz_buf_cleanup(struct bz_buf *b)
{
    if (!b)
        return;
    free(b->p);
    bz_buf_init(b);
}

void bz_buf_reserve(struct bz_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->p = bz_realloc(b->p, cap);
    b->cap = cap;
}

void bz_buf_append(struct bz_buf *b, const void *data, size_t n)
{
    bz_buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void bz_buf_puts(struct bz_buf *b, const char *s)
{
    bz_buf_append(b, s, strlen(s));
}

void bz_buf_putc(struct bz_buf *b, char c)
{
    bz_buf_append(b, &c, 1);
}

void bz_buf_printf(struct bz_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    bz_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void bz_buf_json_str(struct bz_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    bz_buf_reserve(b, n + 2);
    bz_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        bz_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': bz_buf_puts(b, "\\\""); break;
        case '\\': bz_buf_puts(b, "\\\\"); break;
        case '\n': bz_buf_puts(b, "\\n"); break;
        case '\r': bz_buf_puts(b, "\\r"); break;
        case '\t': bz_buf_puts(b, "\\t"); break;
        case '\b': bz_buf_puts(b, "\\b"); break;
        case '\f': bz_buf_puts(b, "\\f"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            bz_buf_append(b, u, 6);
        }
        }
    }
    bz_buf_append(b, s + run, n - run);
    bz_buf_putc(b, '"');
}

char *bz_buf_steal(struct bz_buf *b)
{
    char *p = b->p ? b->p : bz_strdup("");
    bz_buf_init(b);
    return p;
}

/* ---------------------------------------------------------------- logging, time */

void bz_log(int level, const char *fmt, ...)
{
    if (level > bz_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bezoar: ", stderr);
    if (level == BZ_LOG_WARN)
        fputs("warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double bz_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bz_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- files */

int bz_fsync_dir(const char *path)
{
    char *dir = bz_path_dir(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int bz_write_all(int fd, const void *p, size_t n, const char *name, struct bz_err *err)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return bz_errf(err, -errno, "%s: write failed: %s", name, strerror(errno));
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int bz_atomic_begin(const char *path, char **tmp, struct bz_err *err)
{
    *tmp = bz_asprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = bz_errf(err, -errno, "%s: cannot create: %s", *tmp, strerror(errno));
        free(*tmp);
        *tmp = NULL;
        return rc;
    }
    return fd;
}

int bz_atomic_end(int fd, char *tmp, const char *path, int rc, struct bz_err *err)
{
    if (rc == 0 && fsync(fd) < 0)
        rc = bz_errf(err, -errno, "%s: fsync failed: %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = bz_errf(err, -errno, "%s: rename failed: %s", path, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    else
        bz_fsync_dir(path);
    free(tmp);
    return rc;
}

int bz_write_atomic(const char *path, const void *data, size_t n, struct bz_err *err)
{
    char *tmp;
    int fd = bz_atomic_begin(path, &tmp, err);
    if (fd < 0)
        return fd;
    return bz_atomic_end(fd, tmp, path, bz_write_all(fd, data, n, tmp, err), err);
}

int bz_mkdir_p(const char *path, struct bz_err *err)
{
    char *p = bz_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int rc = bz_errf(err, -errno, "%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return rc;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        rc = bz_errf(err, -errno, "%s: cannot create directory: %s", p, strerror(errno));
    free(p);
    return rc;
}

int bz_read_file(const char *path, char **out, size_t *len, struct bz_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int rc = S_ISDIR(st.st_mode) ? BZ_EISDIR : -errno;
        close(fd);
        return bz_errf(err, rc, "%s: %s", path, bz_strerror(rc));
    }
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_reserve(&b, st.st_size > 0 ? (size_t)st.st_size : 4096);
    for (;;) {
        bz_buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.p + b.len, b.cap - b.len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = bz_errf(err, -errno, "%s: read failed: %s", path, strerror(errno));
            close(fd);
            bz_buf_cleanup(&b);
            return rc;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
        b.p[b.len] = '\0';
    }
    close(fd);
    if (len)
        *len = b.len;
    *out = bz_buf_steal(&b);
    return 0;
}

char *bz_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return bz_strdup(".");
    if (slash == path)
        return bz_strdup("/");
    return bz_strndup(path, (size_t)(slash - path));
}

char *bz_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if (n && dir[n - 1] == '/')
        return bz_asprintf("%s%s", dir, name);
    return bz_asprintf("%s/%s", dir, name);
}

/* ---------------------------------------------------------------- utf-8, hashing */

int bz_utf8_seq_len(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if ((size_t)n > avail)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return n;
}

size_t bz_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int k = bz_utf8_seq_len(u + i, n - i);
        if (k == 0)
            return i;
        i += (size_t)k;
    }
    return n;
}

uint64_t bz_hash64(const void *data, size_t n)
{
    return XXH3_64bits(data, n);
}

void bz_hash_hex(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int bz_set64_add(struct bz_set64 *s, uint64_t key)
{
    if (key == 0) { /* 0 marks an empty slot */
        int added = !s->has_zero;
        s->has_zero = 1;
        return added;
    }
    if ((s->n + 1) * 4 > s->cap * 3) {
        struct bz_set64 g = {.cap = s->cap ? s->cap * 2 : 64, .has_zero = s->has_zero};
        g.k = bz_calloc(g.cap, sizeof *g.k);
        for (size_t i = 0; i < s->cap; i++)
            if (s->k[i])
                bz_set64_add(&g, s->k[i]);
        free(s->k);
        *s = g;
    }
    size_t m = s->cap - 1, i = (size_t)(key ^ (key >> 29)) & m;
    for (; s->k[i]; i = (i + 1) & m)
        if (s->k[i] == key)
            return 0;
    s->k[i] = key;
    s->n++;
    return 1;
}

void bz_set64_cleanup(struct bz_set64 *s)
{
    free(s->k);
    memset(s, 0, sizeof *s);
}
