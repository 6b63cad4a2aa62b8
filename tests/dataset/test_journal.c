/*
 * test_journal.c: the decision journal: replay, torn tails, undo/redo at any depth
 * (also across a reopen), edits and their revert, bulk decisions, and the crash
 * test (a child deciding as fast as it can, killed with SIGKILL at random moments;
 * every decision it reported as done must be there after replay).
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "tests/test.h"

/* A small dataset: records with ids r0..r{n-1}. The path is static storage of its
 * own (test_tmp's buffer is reused by the next call). */
static const char *make_dataset(const char *name, size_t n)
{
    static char path[4096];
    struct bz_buf b;
    bz_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        bz_buf_printf(&b, "{\"id\":\"r%zu\",\"instruction\":\"q%zu\",\"output\":\"a%zu\"}\n", i, i,
                      i);
    snprintf(path, sizeof path, "%s", test_write(name, b.p, b.len));
    bz_buf_cleanup(&b);
    return path;
}

static struct ds_dataset *open_rw(const char *path)
{
    struct ds_dataset *ds = NULL;
    struct bz_err err = {0};
    struct ds_open_opts o = {0};
    ASSERT_OK(ds_open(&ds, path, &o, &err), &err);
    return ds;
}

static void decide1(struct ds_dataset *ds, const char *id, int op)
{
    struct bz_err err = {0};
    ASSERT_OK(ds_decide(ds, &id, 1, op, &err), &err);
}

static void counts(struct ds_dataset *ds, size_t acc, size_t rej, size_t flag, size_t pend)
{
    struct ds_counts c;
    ds_counts(ds, &c);
    ASSERT_EQ_INT(c.accepted, acc);
    ASSERT_EQ_INT(c.rejected, rej);
    ASSERT_EQ_INT(c.flagged, flag);
    ASSERT_EQ_INT(c.pending, pend);
}

static char *journal_path(const char *ds)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s.bezoar/journal", ds);
    return p;
}

static char *slurp(const char *path, size_t *n)
{
    char *t = NULL;
    ASSERT_OK(bz_read_file(path, &t, n, NULL), NULL);
    return t;
}

TEST(ds_journal_decide_replay)
{
    const char *p = make_dataset("d.jsonl", 10);
    struct ds_dataset *ds = open_rw(p);
    decide1(ds, "r1", DS_OP_ACCEPT);
    decide1(ds, "r2", DS_OP_REJECT);
    decide1(ds, "r3", DS_OP_FLAG);
    decide1(ds, "r4", DS_OP_ACCEPT);
    decide1(ds, "r4", DS_OP_RESET);
    counts(ds, 1, 1, 1, 7);
    ASSERT_EQ_INT(ds_status(ds, "r2"), DS_REJECTED);
    ds_close(ds);
    /* the journal holds one line per decision, and the source is untouched */
    size_t n;
    char *j = slurp(journal_path(p), &n);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += j[i] == '\n';
    ASSERT_EQ_INT(lines, 5);
    ASSERT(strstr(j, "\"id\":\"r3\",\"op\":\"flag\""));
    free(j);
    ds = open_rw(p);
    counts(ds, 1, 1, 1, 7);
    ASSERT_EQ_INT(ds_status(ds, "r1"), DS_ACCEPTED);
    ASSERT_EQ_INT(ds_status(ds, "r4"), DS_PENDING);
    ASSERT_EQ_INT(ds_journal_torn(ds), 0);
    struct ds_record r;
    ASSERT_OK(ds_get(ds, 3, &r, NULL), NULL);
    ASSERT_EQ_INT(r.status, DS_FLAGGED);
    ds_record_cleanup(&r);
    struct ds_summary s;
    ASSERT(ds_summary(ds, 2, &s));
    ASSERT_EQ_INT(s.status, DS_REJECTED);
    ds_close(ds);
}

TEST(ds_journal_bulk_is_one_step)
{
    const char *p = make_dataset("d.jsonl", 50);
    struct ds_dataset *ds = open_rw(p);
    const char *ids[20];
    char names[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "r%d", i);
        ids[i] = names[i];
    }
    struct bz_err err = {0};
    ASSERT_OK(ds_decide(ds, ids, 20, DS_OP_REJECT, &err), &err);
    counts(ds, 0, 20, 0, 30);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    const char *first = NULL;
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);
    ASSERT_EQ_STR(first, "r0");
    counts(ds, 0, 0, 0, 50);
    ASSERT_EQ_INT(ds_redo(ds, &first, &err), 1);
    counts(ds, 0, 20, 0, 30);
    ds_close(ds);
}

TEST(ds_journal_torn_line_ignored_and_counted)
{
    const char *p = make_dataset("d.jsonl", 5);
    struct ds_dataset *ds = open_rw(p);
    decide1(ds, "r0", DS_OP_ACCEPT);
    decide1(ds, "r1", DS_OP_ACCEPT);
    ds_close(ds);
    /* a crash in the middle of writing the third line */
    FILE *f = fopen(journal_path(p), "a");
    fputs("{\"t\":1.0,\"g\":3,\"n\":1,\"id\":\"r2\",\"op\":\"acc", f);
    fclose(f);
    ds = open_rw(p);
    ASSERT_EQ_INT(ds_journal_torn(ds), 1);
    counts(ds, 2, 0, 0, 3);
    /* the torn tail was cut: the next decision starts on a clean line */
    decide1(ds, "r2", DS_OP_REJECT);
    ds_close(ds);
    ds = open_rw(p);
    ASSERT_EQ_INT(ds_journal_torn(ds), 0);
    counts(ds, 2, 1, 0, 2);
    ds_close(ds);
}

TEST(ds_journal_torn_bulk_step_dropped_whole)
{
    const char *p = make_dataset("d.jsonl", 5);
    struct ds_dataset *ds = open_rw(p);
    decide1(ds, "r0", DS_OP_FLAG);
    ds_close(ds);
    /* two of a three-line step made it, the third is torn */
    FILE *f = fopen(journal_path(p), "a");
    fputs("{\"t\":1.0,\"g\":2,\"n\":3,\"id\":\"r1\",\"op\":\"accept\"}\n"
          "{\"t\":1.0,\"g\":2,\"n\":3,\"id\":\"r2\",\"op\":\"accept\"}\n"
          "{\"t\":1.0,\"g\":2,\"n\":3,\"id\":\"r3\",\"o",
          f);
    fclose(f);
    struct ds_dataset *ro = NULL;
    struct ds_open_opts o = {.read_only = 1};
    ASSERT_OK(ds_open(&ro, p, &o, NULL), NULL);
    ASSERT_EQ_INT(ds_journal_torn(ro), 3);
    counts(ro, 0, 0, 1, 4);
    ds_close(ro);
    /* read-only did not cut it; a writable open does */
    size_t n1, n2;
    free(slurp(journal_path(p), &n1));
    ds = open_rw(p);
    ds_close(ds);
    free(slurp(journal_path(p), &n2));
    ASSERT(n2 < n1);
}

TEST(ds_journal_hand_written_lines)
{
    /* lines without g/n (written by a script) each count as one step */
    const char *p = make_dataset("d.jsonl", 5);
    mkdir(test_tmp("d.jsonl.bezoar"), 0755);
    const char j[] = "{\"id\":\"r0\",\"op\":\"accept\"}\n{\"id\":\"r1\",\"op\":\"flag\"}\n"
                     "garbage line\n{\"id\":\"r2\",\"op\":\"bogus\"}\n";
    test_write("d.jsonl.bezoar/journal", j, sizeof j - 1);
    struct ds_dataset *ds = open_rw(p);
    counts(ds, 1, 0, 1, 3);
    ASSERT_EQ_INT(ds_journal_torn(ds), 2);
    ASSERT_EQ_INT(ds_undo_depth(ds), 2);
    ds_close(ds);
}

TEST(ds_journal_undo_redo_any_depth_and_reopen)
{
    const char *p = make_dataset("d.jsonl", 10);
    struct ds_dataset *ds = open_rw(p);
    struct bz_err err = {0};
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        decide1(ds, id, i % 2 ? DS_OP_REJECT : DS_OP_ACCEPT);
    }
    decide1(ds, "r0", DS_OP_FLAG); /* r0: accepted -> flagged */
    counts(ds, 3, 4, 1, 2);
    const char *first;
    for (int k = 0; k < 6; k++)
        ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);
    /* left: r0 accepted, r1 rejected, r2 accepted */
    counts(ds, 2, 1, 0, 7);
    ASSERT_EQ_INT(ds_status(ds, "r0"), DS_ACCEPTED);
    ASSERT_EQ_INT(ds_redo(ds, &first, &err), 1);
    ASSERT_EQ_STR(first, "r3");
    counts(ds, 2, 2, 0, 6);
    ASSERT_EQ_INT(ds_undo_depth(ds), 4);
    ASSERT_EQ_INT(ds_redo_depth(ds), 5);
    ds_close(ds);

    /* replay rebuilds the state and both stacks */
    ds = open_rw(p);
    counts(ds, 2, 2, 0, 6);
    ASSERT_EQ_INT(ds_undo_depth(ds), 4);
    ASSERT_EQ_INT(ds_redo_depth(ds), 5);
    ASSERT_EQ_INT(ds_redo(ds, &first, &err), 1);
    ASSERT_EQ_STR(first, "r4");
    counts(ds, 3, 2, 0, 5);
    for (int k = 0; k < 5; k++)
        ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 0); /* nothing left */
    ASSERT(first == NULL);
    counts(ds, 0, 0, 0, 10);
    /* a new decision clears redo */
    decide1(ds, "r9", DS_OP_ACCEPT);
    ASSERT_EQ_INT(ds_redo_depth(ds), 0);
    ASSERT_EQ_INT(ds_redo(ds, &first, &err), 0);
    ds_close(ds);
    ds = open_rw(p);
    counts(ds, 1, 0, 0, 9);
    ASSERT_EQ_INT(ds_redo_depth(ds), 0);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    ds_close(ds);
}

TEST(ds_journal_edit_keeps_original_and_reverts)
{
    const char *p = make_dataset("d.jsonl", 3);
    struct ds_dataset *ds = open_rw(p);
    struct bz_err err = {0};
    decide1(ds, "r1", DS_OP_ACCEPT);
    struct ds_msg m[2] = {{DS_ROLE_USER, "q1 (edited)"}, {DS_ROLE_ASSISTANT, "better \"answer\"\n"}};
    ASSERT_OK(ds_edit(ds, "r1", m, 2, &err), &err);
    struct ds_record r;
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT(r.flags & DS_F_EDITED);
    ASSERT_EQ_STR(r.msgs[0].content, "q1 (edited)");
    ASSERT_EQ_STR(ds_record_response(&r), "better \"answer\"\n");
    ASSERT_EQ_INT(r.n_orig_msgs, 2);
    ASSERT_EQ_STR(r.orig_msgs[1].content, "a1");
    ASSERT_EQ_STR(r.id, "r1");
    ASSERT_EQ_INT(r.status, DS_ACCEPTED); /* an edit keeps the status */
    ds_record_cleanup(&r);
    struct ds_summary s;
    ASSERT(ds_summary(ds, 1, &s));
    ASSERT(s.flags & DS_F_EDITED);
    ds_close(ds);

    ds = open_rw(p);
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT(r.flags & DS_F_EDITED);
    ASSERT_EQ_STR(r.msgs[0].content, "q1 (edited)");
    ds_record_cleanup(&r);
    ASSERT_OK(ds_revert_edit(ds, "r1", &err), &err);
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT(!(r.flags & DS_F_EDITED));
    ASSERT(r.orig_msgs == NULL);
    ASSERT_EQ_STR(ds_record_response(&r), "a1");
    ds_record_cleanup(&r);
    /* undo the revert: the edit is back; undo again: the edit is gone */
    ASSERT_EQ_INT(ds_undo(ds, NULL, &err), 1);
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT_EQ_STR(ds_record_response(&r), "better \"answer\"\n");
    ds_record_cleanup(&r);
    ASSERT_EQ_INT(ds_undo(ds, NULL, &err), 1);
    ASSERT_OK(ds_get(ds, 1, &r, &err), &err);
    ASSERT(!(r.flags & DS_F_EDITED));
    ASSERT_EQ_INT(r.status, DS_ACCEPTED);
    ds_record_cleanup(&r);
    /* bad edits are refused */
    struct ds_msg bad[1] = {{7, "x"}};
    ASSERT_EQ_INT(ds_edit(ds, "r1", bad, 1, NULL), BZ_EINVAL);
    ASSERT_EQ_INT(ds_edit(ds, "r1", m, 0, NULL), BZ_EINVAL);
    ds_close(ds);
}

TEST(ds_journal_read_only_refuses_decisions)
{
    const char *p = make_dataset("d.jsonl", 3);
    struct ds_dataset *ds = NULL;
    struct ds_open_opts o = {.read_only = 1};
    ASSERT_OK(ds_open(&ds, p, &o, NULL), NULL);
    const char *id = "r0";
    struct bz_err err = {0};
    ASSERT_EQ_INT(ds_decide(ds, &id, 1, DS_OP_ACCEPT, &err), BZ_EUNSUPPORTED);
    ASSERT(strstr(err.msg, "read-only"));
    ASSERT_EQ_INT(ds_decide(ds, &id, 1, DS_OP_EDIT, NULL), BZ_EINVAL);
    ds_close(ds);
    struct stat st;
    ASSERT(stat(test_tmp("d.jsonl.bezoar"), &st) != 0);
}

TEST(ds_journal_duplicate_ids_count_every_record)
{
    /* two records share an id (exact duplicates without own ids do): deciding it
     * decides both, and the counts say so */
    const char t[] = "{\"instruction\":\"q\",\"output\":\"a\"}\n{\"instruction\":\"q\",\"output\":\"a\"}\n"
                     "{\"instruction\":\"other\",\"output\":\"b\"}\n";
    const char *p = test_write("dup.jsonl", t, sizeof t - 1);
    struct ds_dataset *ds = open_rw(p);
    struct ds_record r;
    ASSERT_OK(ds_get(ds, 1, &r, NULL), NULL);
    ASSERT(r.flags & DS_F_DUP);
    decide1(ds, r.id, DS_OP_REJECT);
    ds_record_cleanup(&r);
    counts(ds, 0, 2, 0, 1);
    ds_close(ds);
}

/* ---------------------------------------------------------------- crash test */

/* The child: decide as fast as it can, each time a fresh id ("c<round>-<k>"; ids
 * need not exist in the dataset for the journal), and report each id on the pipe
 * once ds_decide returned (the decision is durable then). Never returns. */
static void crash_child(const char *path, int wfd, int round)
{
    struct ds_dataset *ds = NULL;
    struct ds_open_opts o = {0};
    if (ds_open(&ds, path, &o, NULL) < 0)
        _exit(3);
    for (unsigned k = 0;; k++) {
        char id[32];
        snprintf(id, sizeof id, "c%d-%u", round, k);
        int op = (int)((unsigned)round + k) % 3; /* accept, reject, flag */
        const char *ids[1] = {id};
        if (ds_decide(ds, ids, 1, op, NULL) < 0)
            _exit(4);
        char line[48];
        int n = snprintf(line, sizeof line, "%s %d\n", id, op);
        if (write(wfd, line, (size_t)n) != n)
            _exit(5);
    }
}

TEST(ds_journal_crash_sigkill_keeps_every_reported_decision)
{
    const char *p = make_dataset("crash.jsonl", 20);
    unsigned rng = 12345;
    struct bz_buf all; /* every reported "id op" line so far, over all rounds */
    bz_buf_init(&all);
    size_t total = 0;
    for (int round = 0; round < 30; round++) {
        int fds[2];
        ASSERT(pipe(fds) == 0);
        fflush(NULL);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(p, fds[1], round);
        }
        close(fds[1]);
        /* wait for the first report, then kill at a seeded random moment after it */
        char buf[4096];
        ssize_t r;
        while ((r = read(fds[0], buf, sizeof buf)) > 0) {
            bz_buf_append(&all, buf, (size_t)r);
            if (memchr(buf, '\n', (size_t)r))
                break;
        }
        rng = rng * 1103515245u + 12345u;
        usleep((rng >> 16) % 60000); /* 0..60 ms, the same every run */
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        while ((r = read(fds[0], buf, sizeof buf)) > 0)
            bz_buf_append(&all, buf, (size_t)r);
        close(fds[0]);
        /* a report cut mid-line by the kill is not a report */
        size_t keep = all.len;
        while (keep > 0 && all.p[keep - 1] != '\n')
            keep--;
        all.len = keep;
        if (all.p)
            all.p[keep] = '\0';
        struct ds_dataset *ds = open_rw(p); /* replays (and cuts any torn tail) */
        total = 0;
        for (char *line = all.p, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
            char id[32];
            int op;
            ASSERT(sscanf(line, "%31s %d", id, &op) == 2);
            int want = op == DS_OP_ACCEPT ? DS_ACCEPTED : op == DS_OP_REJECT ? DS_REJECTED
                                                                             : DS_FLAGGED;
            int got = ds_status(ds, id);
            if (got != want)
                test__fail(__FILE__, __LINE__, "round %d: %s reported %s, replay says %s",
                           round, id, ds_status_name(want), ds_status_name(got));
            total++;
        }
        ds_close(ds);
    }
    bz_buf_cleanup(&all);
    printf("    %zu reported decisions checked over 30 kills\n", total);
    ASSERT(total >= 30); /* every child got at least one decision through */
}

/* ---------------------------------------------------------------- suggestions */

static void suggest(struct ds_dataset *ds, const char *const *ids, size_t n, int op,
                    const char *why)
{
    struct bz_err err = {0};
    ASSERT_OK(ds_suggest(ds, ids, n, op, why, &err), &err);
}

TEST(ds_journal_suggest_replay_not_a_decision)
{
    const char *p = make_dataset("d.jsonl", 6);
    struct ds_dataset *ds = open_rw(p);
    decide1(ds, "r0", DS_OP_ACCEPT);
    const char *ids[] = {"r1", "r2", "r3"};
    suggest(ds, ids, 3, DS_OP_REJECT, "refusal,dup");
    suggest(ds, ids + 2, 1, DS_OP_FLAG, "long");
    int op = -1;
    const char *why = NULL;
    ASSERT_EQ_INT(ds_suggestion(ds, "r1", &op, &why), 1);
    ASSERT_EQ_INT(op, DS_OP_REJECT);
    ASSERT_EQ_STR(why, "refusal,dup");
    ASSERT_EQ_INT(ds_suggestion(ds, "r3", &op, &why), 1); /* the last one wins */
    ASSERT_EQ_INT(op, DS_OP_FLAG);
    ASSERT_EQ_STR(why, "long");
    ASSERT_EQ_INT(ds_suggestion(ds, "r4", &op, &why), 0);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 3);
    /* statuses and the undo stack are untouched: undo takes back the decision */
    counts(ds, 1, 0, 0, 5);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    ds_close(ds);

    ds = open_rw(p);
    ASSERT_EQ_INT(ds_journal_torn(ds), 0);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 3);
    ASSERT_EQ_INT(ds_suggestion(ds, "r2", &op, &why), 1);
    ASSERT_EQ_STR(why, "refusal,dup");
    counts(ds, 1, 0, 0, 5);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    struct bz_err err = {0};
    const char *first = NULL;
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);
    ASSERT_EQ_STR(first, "r0");
    counts(ds, 0, 0, 0, 6);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 3); /* undo does not drop suggestions */
    /* clearing one; a decision next to suggestions keeps both */
    suggest(ds, ids, 1, DS_OP_RESET, NULL);
    decide1(ds, "r2", DS_OP_REJECT);
    ASSERT_EQ_INT(ds_suggestion(ds, "r1", &op, &why), 0);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 2);
    ds_close(ds);

    ds = open_rw(p);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 2);
    ASSERT_EQ_INT(ds_suggestion(ds, "r1", &op, &why), 0);
    ASSERT_EQ_INT(ds_status(ds, "r2"), DS_REJECTED);
    ASSERT_EQ_INT(ds_suggestion(ds, "r2", &op, &why), 1); /* still suggested, and decided */
    ASSERT_EQ_INT(ds_redo_depth(ds), 0);
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 1);          /* undoes r2's reject */
    ASSERT_EQ_INT(ds_status(ds, "r2"), DS_PENDING);
    ASSERT_EQ_INT(ds_undo(ds, &first, &err), 0);          /* r0 was undone before */
    ds_close(ds);
}

TEST(ds_journal_suggest_torn_step_dropped_whole)
{
    const char *p = make_dataset("d.jsonl", 4);
    struct ds_dataset *ds = open_rw(p);
    const char *ids[] = {"r0", "r1"};
    suggest(ds, ids, 1, DS_OP_REJECT, "empty");
    decide1(ds, "r3", DS_OP_ACCEPT);
    ds_close(ds);
    /* a two-line suggestion step cut after its first line, and a torn half line */
    FILE *f = fopen(journal_path(p), "a");
    ASSERT(f);
    fputs("{\"t\":1,\"g\":9,\"n\":2,\"id\":\"r1\",\"op\":\"suggest\",\"suggest\":\"reject\","
          "\"why\":\"dup\"}\n{\"t\":1,\"g\":10,\"n\":1,\"id\":\"r2\",\"op\":\"sugg", f);
    fclose(f);
    ds = open_rw(p);
    ASSERT_EQ_INT(ds_journal_torn(ds), 2);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 1);
    int op;
    const char *why;
    ASSERT_EQ_INT(ds_suggestion(ds, "r0", &op, &why), 1);
    ASSERT_EQ_STR(why, "empty");
    ASSERT_EQ_INT(ds_suggestion(ds, "r1", &op, &why), 0);
    ASSERT_EQ_INT(ds_status(ds, "r3"), DS_ACCEPTED);
    /* the torn tail was cut: new steps replay cleanly */
    suggest(ds, ids + 1, 1, DS_OP_REJECT, "short");
    ds_close(ds);
    ds = open_rw(p);
    ASSERT_EQ_INT(ds_journal_torn(ds), 0);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 2);
    ASSERT_EQ_INT(ds_undo_depth(ds), 1);
    ds_close(ds);
}

TEST(ds_journal_suggest_bad_lines_and_read_only)
{
    const char *p = make_dataset("d.jsonl", 3);
    struct ds_dataset *ds = open_rw(p);
    ds_close(ds);
    FILE *f = fopen(journal_path(p), "a");
    ASSERT(f);
    /* a suggestion of an edit and a non-string reason are not valid lines */
    fputs("{\"g\":1,\"n\":1,\"id\":\"r0\",\"op\":\"suggest\",\"suggest\":\"edit\"}\n"
          "{\"g\":2,\"n\":1,\"id\":\"r1\",\"op\":\"suggest\",\"suggest\":\"reject\",\"why\":3}\n"
          "{\"g\":3,\"n\":1,\"id\":\"r2\",\"op\":\"suggest\",\"suggest\":\"flag\"}\n", f);
    fclose(f);
    struct ds_open_opts o = {.read_only = 1};
    struct bz_err err = {0};
    ASSERT_OK(ds_open(&ds, p, &o, &err), &err);
    ASSERT_EQ_INT(ds_journal_torn(ds), 2);
    ASSERT_EQ_INT(ds_suggestion_count(ds), 1);
    int op;
    const char *why = "x";
    ASSERT_EQ_INT(ds_suggestion(ds, "r2", &op, &why), 1);
    ASSERT_EQ_INT(op, DS_OP_FLAG);
    ASSERT(why == NULL);
    const char *id = "r0";
    ASSERT_EQ_INT(ds_suggest(ds, &id, 1, DS_OP_REJECT, "x", &err), BZ_EUNSUPPORTED);
    ASSERT_EQ_INT(ds_suggest(ds, &id, 1, DS_OP_EDIT, "x", NULL), BZ_EINVAL);
    ds_close(ds);
}
