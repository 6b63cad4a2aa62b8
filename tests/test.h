/*
 * test.h: the unit test harness. A test is `TEST(name) { ... }` at the start of a
 * line in tests/<module>/test_<file>.c; the Makefile collects every such line into
 * the registry, so there is nothing else to register. Each test runs in its own
 * forked process (a crash fails that test only) with a fresh temporary directory.
 * Assertions print both values and stop the test.
 *
 *   build/san/tests/unit                 run all
 *   build/san/tests/unit NAME|PREFIX...  run those whose name starts with an argument
 *   build/san/tests/unit -l              list
 */
#ifndef BZ_TEST_H
#define BZ_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TEST(name) void test_##name(void)

_Noreturn void test__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void test__skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ASSERT(cond) \
    do { if (!(cond)) test__fail(__FILE__, __LINE__, "assertion failed: %s", #cond); } while (0)
#define ASSERT_EQ_INT(a, b)                                                               \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_)                                                                     \
            test__fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);     \
    } while (0)
#define ASSERT_EQ_U64(a, b)                                                               \
    do {                                                                                  \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                  \
        if (a_ != b_)                                                                     \
            test__fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " != %" PRIu64, #a, #b,   \
                       a_, b_);                                                           \
    } while (0)
#define ASSERT_EQ_STR(a, b)                                                               \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                            \
            test__fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,          \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                           \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                            \
    do {                                                                                  \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                    \
        if (!(fabs(a_ - b_) <= t_))                                                       \
            test__fail(__FILE__, __LINE__, "%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, a_, \
                       b_, t_);                                                           \
    } while (0)
/* Assert that a call returned 0; print the bz_err message otherwise. */
#define ASSERT_OK(call, errp)                                                             \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_ != 0)                                                                     \
            test__fail(__FILE__, __LINE__, "%s returned %d: %s", #call, rc_,              \
                       bz_err_msg((errp), rc_));                                          \
    } while (0)
#define SKIP(...) test__skip(__VA_ARGS__)

/* Path of a file under ../shared/data (relative to the project root), or SKIP the
 * test loudly when it is absent. The returned string is static storage. */
const char *test_data(const char *rel);
/* This test's private temporary directory (removed after the test). */
const char *test_tmpdir(void);
/* Path inside test_tmpdir(); static storage, valid until the next call. */
const char *test_tmp(const char *name);
/* Write a file under test_tmpdir(); returns its path (static storage). */
const char *test_write(const char *name, const void *data, size_t n);
/* Project root (the directory the runner was started in). */
const char *test_root(void);

#endif
