/*
 * test_refresh.c: ds_refresh on a JSON-lines file that grows while open: appends in
 * pieces (a torn last line waits), many refreshes (ids, lines, counts, duplicates
 * against records indexed at open), decisions made before and after, and what is
 * refused (a shrunk, rewritten, replaced or gzip source, a JSON array).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset/dataset.h"
#include "tests/test.h"

static void append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    ASSERT(fd >= 0);
    ASSERT_EQ_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
}

static struct ds_dataset *open_rw(const char *path, int background)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {.background = background};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    ASSERT_OK(ds_wait(ds, &err), &err);
    return ds;
}

static int refresh(struct ds_dataset *ds)
{
    struct bz_err err = {0};
    int rc = ds_refresh(ds, &err);
    if (rc < 0)
        test__fail(__FILE__, __LINE__, "ds_refresh: %s", bz_err_msg(&err, rc));
    return rc;
}

static char *line_for(int i, const char *answer)
{
    return bz_asprintf("{\"id\":\"r%d\",\"instruction\":\"Question %d?\",\"output\":\"%s\"}\n", i,
                       i, answer);
}

TEST(ds_refresh_torn_line_waits)
{
    const char *first = "{\"id\":\"a\",\"instruction\":\"Hi\",\"output\":\"Hello there.\"}\n";
    const char *path = test_write("d.jsonl", first, strlen(first));
    struct ds_dataset *ds = open_rw(path, 1);
    ASSERT_EQ_INT(ds_count(ds), 1);
    ASSERT_EQ_INT(refresh(ds), 0); /* nothing appended */
    char *l = line_for(2, "Two.");
    size_t n = strlen(l);
    /* the line arrives in three pieces: nothing until its newline is there */
    char part[256];
    snprintf(part, sizeof part, "%.*s", (int)(n / 3), l);
    append(path, part);
    ASSERT_EQ_INT(refresh(ds), 0);
    ASSERT_EQ_INT(ds_count(ds), 1);
    snprintf(part, sizeof part, "%.*s", (int)(n - 1 - n / 3), l + n / 3);
    append(path, part);
    ASSERT_EQ_INT(refresh(ds), 0);
    ASSERT_EQ_INT(ds_count(ds), 1);
    append(path, "\n");
    ASSERT_EQ_INT(refresh(ds), 1);
    ASSERT_EQ_INT(ds_count(ds), 2);
    struct ds_record r;
    struct bz_err err = {0};
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT_EQ_STR(r.id, "r2");
    ASSERT_EQ_INT(r.line, 2);
    ASSERT_EQ_STR(ds_record_response(&r), "Two.");
    ds_record_cleanup(&r);
    struct ds_summary s;
    ASSERT(ds_summary(ds, 1, &s));
    ASSERT_EQ_INT(s.status, DS_PENDING);
    free(l);
    ds_close(ds);
}

TEST(ds_refresh_many_counts_ids_dups)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < 5; i++) {
        char *l = line_for(i, "Some answer.");
        bz_buf_puts(&b, l);
        free(l);
    }
    bz_buf_puts(&b, "{\"instruction\":\"Same?\",\"output\":\"Same.\"}\n");
    const char *path = test_write("d.jsonl", b.p, b.len);
    bz_buf_cleanup(&b);
    struct ds_dataset *ds = open_rw(path, 0);
    ASSERT_EQ_INT(ds_count(ds), 6);
    size_t expect = 6, lines = 6, dups = 0, bad = 0, empty = 0;
    /* 300 refreshes of a few lines each: the map grows many times, the id table and
     * the duplicate set are rebuilt larger along the way */
    for (int k = 0; k < 300; k++) {
        struct bz_buf a;
        bz_buf_init(&a);
        int add = 1 + k % 4;
        for (int j = 0; j < add; j++) {
            int i = 1000 + k * 4 + j;
            char *l = line_for(i, j == 3 ? "" : "An answer that differs per line.");
            if (j == 2) { /* an exact duplicate of the open-time record */
                free(l);
                l = bz_strdup("{\"instruction\":\"Same?\",\"output\":\"Same.\"}\n");
                dups++;
            }
            empty += j == 3;
            bz_buf_puts(&a, l);
            free(l);
        }
        if (k % 50 == 7) {
            bz_buf_puts(&a, "\n{\"instruction\": \"broken\n"); /* blank, then a bad line */
            lines += 2;
            expect++;
            bad++;
        }
        append(path, a.p);
        bz_buf_cleanup(&a);
        int got = refresh(ds);
        ASSERT_EQ_INT(got, add + (k % 50 == 7));
        expect += (size_t)add;
        lines += (size_t)add;
        ASSERT_EQ_INT(ds_count(ds), expect);
    }
    /* the records that differ only by position got one line number each */
    struct ds_record r;
    struct bz_err err = {0};
    ASSERT_OK(ds_get(ds, ds_count(ds) - 1, &r, &err), &err);
    ASSERT_EQ_INT(r.line, lines);
    ASSERT_EQ_STR(r.id, "r2199");
    ds_record_cleanup(&r);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, expect);
    ASSERT_EQ_INT(c.bad, bad);
    ASSERT_EQ_INT(c.duplicates, dups);
    ASSERT_EQ_INT(c.empty, empty);
    ASSERT_EQ_INT(c.pending, expect - bad);
    ASSERT_EQ_INT(ds_bad_count(ds), bad);
    ASSERT(strstr(ds_bad_message(ds, 0), "d.jsonl:"));
    ds_close(ds);

    /* a fresh open of the grown file sees exactly the same */
    ds = open_rw(path, 0);
    struct ds_counts c2;
    ds_counts(ds, &c2);
    ASSERT_EQ_INT(c2.records, c.records);
    ASSERT_EQ_INT(c2.duplicates, c.duplicates);
    ASSERT_EQ_INT(c2.bad, c.bad);
    ASSERT_EQ_INT(c2.empty, c.empty);
    ds_close(ds);
}

TEST(ds_refresh_decisions_apply)
{
    char *l0 = line_for(0, "Zero."), *l1 = line_for(1, "One.");
    char *text = bz_asprintf("%s%s", l0, l1);
    const char *path = test_write("d.jsonl", text, strlen(text));
    struct ds_dataset *ds = open_rw(path, 1);
    struct bz_err err = {0};
    const char *ids[] = {"r0", "r5"}; /* r5 does not exist yet */
    ASSERT_OK(ds_decide(ds, ids, 2, DS_OP_ACCEPT, &err), &err);
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.accepted, 1);
    char *l5 = line_for(5, "Five."), *l6 = line_for(6, "Six.");
    append(path, l5);
    append(path, l6);
    ASSERT_EQ_INT(refresh(ds), 2);
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.accepted, 2); /* the decision taken before the record came */
    ASSERT_EQ_INT(c.pending, 2);
    struct ds_summary s;
    ASSERT(ds_summary(ds, 2, &s));
    ASSERT_EQ_INT(s.status, DS_ACCEPTED);
    const char *rej[] = {"r6"};
    ASSERT_OK(ds_decide(ds, rej, 1, DS_OP_REJECT, &err), &err);
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.rejected, 1);
    ASSERT_EQ_INT(c.pending, 1);
    ASSERT_EQ_INT(ds_undo(ds, NULL, &err), 1);
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.rejected, 0);
    ds_close(ds);
    /* reopened: the journal still applies to the appended records */
    ds = open_rw(path, 0);
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.records, 4);
    ASSERT_EQ_INT(c.accepted, 2);
    ASSERT_EQ_INT(c.pending, 2);
    ds_close(ds);
    free(l0);
    free(l1);
    free(l5);
    free(l6);
    free(text);
}

TEST(ds_refresh_last_line_without_newline)
{
    /* indexed at open without its newline: a newline that follows makes it whole */
    const char *path = test_write("d.jsonl", "{\"instruction\":\"A\",\"output\":\"a\"}", 32);
    struct ds_dataset *ds = open_rw(path, 0);
    ASSERT_EQ_INT(ds_count(ds), 1);
    append(path, "\n{\"instruction\":\"B\",\"output\":\"b\"}\n");
    ASSERT_EQ_INT(refresh(ds), 1);
    ASSERT_EQ_INT(ds_count(ds), 2);
    ds_close(ds);
    /* ... anything else means the line was torn when indexed: refused */
    path = test_write("e.jsonl", "{\"instruction\":\"A\",\"output\":\"a", 30);
    ds = open_rw(path, 0);
    append(path, "nd more\"}\n");
    struct bz_err err = {0};
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_ECORRUPT);
    ASSERT(strstr(err.msg, "e.jsonl:1: this last line had no newline"));
    ds_close(ds);
}

TEST(ds_refresh_refuses_shrunk_changed_replaced)
{
    const char *text = "{\"instruction\":\"A\",\"output\":\"a\"}\n"
                       "{\"instruction\":\"B\",\"output\":\"b\"}\n";
    const char *path = test_write("d.jsonl", text, strlen(text));
    struct ds_dataset *ds = open_rw(path, 0);
    struct bz_err err = {0};
    ASSERT_EQ_INT(truncate(path, 20), 0);
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_ECORRUPT);
    ASSERT(strstr(err.msg, "shrank from 66 to 20 bytes"));
    ds_close(ds);

    path = test_write("d.jsonl", text, strlen(text));
    ds = open_rw(path, 0);
    int fd = open(path, O_WRONLY);
    ASSERT_EQ_INT(pwrite(fd, "X", 1, 30), 1); /* a changed byte, then an append */
    close(fd);
    append(path, "{\"instruction\":\"C\",\"output\":\"c\"}\n");
    bz_err_clear(&err);
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_ECORRUPT);
    ASSERT(strstr(err.msg, "the indexed part of the file changed"));
    ASSERT_EQ_INT(ds_count(ds), 2);
    ds_close(ds);

    path = test_write("d.jsonl", text, strlen(text));
    ds = open_rw(path, 0);
    char *tmp = bz_asprintf("%s.new", path);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%s{\"instruction\":\"C\",\"output\":\"c\"}\n", text);
    fclose(f);
    ASSERT_EQ_INT(rename(tmp, path), 0);
    bz_err_clear(&err);
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_ECORRUPT);
    ASSERT(strstr(err.msg, "replaced"));
    free(tmp);
    ds_close(ds);
}

TEST(ds_refresh_refuses_gzip_and_array)
{
    const char *text = "{\"instruction\":\"A\",\"output\":\"a\"}\n";
    const char *gz = test_tmp("d.jsonl.gz");
    gzFile g = gzopen(gz, "wb");
    gzwrite(g, text, (unsigned)strlen(text));
    gzclose(g);
    struct ds_dataset *ds = open_rw(gz, 0);
    struct bz_err err = {0};
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_EUNSUPPORTED);
    ASSERT(strstr(err.msg, "compressed"));
    ds_close(ds);

    const char *arr = "[{\"instruction\":\"A\",\"output\":\"a\"}]\n";
    const char *path = test_write("a.json", arr, strlen(arr));
    ds = open_rw(path, 0);
    bz_err_clear(&err);
    ASSERT_EQ_INT(ds_refresh(ds, &err), BZ_EUNSUPPORTED);
    ASSERT(strstr(err.msg, "JSON array"));
    ds_close(ds);
}

/* A big open-time file and a reader thread while refresh grows the map: the records
 * read through the old mapping stay readable. */
static void *reader(void *arg)
{
    struct ds_dataset *ds = arg;
    for (int k = 0; k < 2000; k++) {
        struct ds_record r;
        size_t n = ds_count(ds);
        if (ds_get(ds, (size_t)k % n, &r, NULL) != 0 || !r.id) {
            ds_record_cleanup(&r);
            return (void *)1;
        }
        ds_record_cleanup(&r);
    }
    return NULL;
}

TEST(ds_refresh_while_another_thread_reads)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (int i = 0; i < 3000; i++) {
        char *l = line_for(i, "A fairly ordinary answer to the question.");
        bz_buf_puts(&b, l);
        free(l);
    }
    const char *path = test_write("d.jsonl", b.p, b.len);
    bz_buf_cleanup(&b);
    struct ds_dataset *ds = open_rw(path, 1);
    pthread_t th;
    ASSERT_EQ_INT(pthread_create(&th, NULL, reader, ds), 0);
    for (int k = 0; k < 100; k++) {
        char *l = line_for(5000 + k, "Appended.");
        append(path, l);
        free(l);
        ASSERT_EQ_INT(refresh(ds), 1);
    }
    void *res;
    pthread_join(th, &res);
    ASSERT(res == NULL);
    ASSERT_EQ_INT(ds_count(ds), 3100);
    ds_close(ds);
}
