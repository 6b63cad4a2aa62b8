/*
 * cmd-judge.c: `bezoar judge answer|grade|show`: MT-Bench-style evaluation from the
 * command line: a model answers a question set, a judge model grades the answers
 * (single 1-10 ratings or pairwise with swapped order), and the judgments add up to
 * scores per model and category, printed as a table, JSON, or a radar chart.
 *
 * Key ideas: answers and judgments are appended one line per finished item and
 * fsync'd, so an interrupted run resumes where it stopped and never writes a row
 * twice; a backend failure writes nothing (the item is retried next run), while an
 * unparsable verdict is a row with score -1 (kept, counted, re-gradable alone with
 * --regrade-failed, which rewrites the file with those rows replaced). The radar is
 * drawn on tui/canvas.c's dot canvas from judge_radar_* geometry.
 *
 * Left out: the TUI Judge view (it uses the same library), Elo ratings.
 */
#include "tui/tui.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "judge/judge.h"
#include "tui/canvas.h"
#include "tui/radar.h"

BZ_CMD("judge", tui_cmd_judge, "MT-Bench-style judging: answer, grade, show (table, JSON, radar)");

static const char usage[] =
    "usage: bezoar judge answer --questions Q --model SPEC --name NAME -o ANSWERS [options]\n"
    "       bezoar judge grade --questions Q --answers A.jsonl [B.jsonl ...] --judge SPEC\n"
    "                          --mode single|pairwise [--baseline NAME] [--reference R]\n"
    "                          -o JUDGMENTS [options]\n"
    "       bezoar judge show JUDGMENTS... [--questions Q] [--json] [--radar]\n"
    "SPEC is local:MODEL[+ADAPTER] or openai:URL#MODEL (key from BEZOAR_API_KEY).\n"
    "answer: both turns (turn 2 sees turn 1's answer), temperature per category as\n"
    "MT-Bench (0.7 writing/roleplay, 0.1 stem/humanities, 0 otherwise); resumes.\n"
    "  --max-tokens N     per turn (default 512)     --seed N      sampling seed (1)\n"
    "  --limit N          only the first N questions --template T  local chat template\n"
    "  --parallel N       requests in flight (remote: default 4; local: slots sharing the\n"
    "                     threads, default 1)\n"
    "grade: reference-guided for math, reasoning and coding (references from the question\n"
    "file or --reference), turn 2 judged on the whole conversation, pairwise judged twice\n"
    "with the order swapped; resumes without duplicates.\n"
    "  --prompts FILE     judge prompts (default: assets/judge-prompts.jsonl)\n"
    "  --regrade-failed   grade again only the rows whose verdict could not be read\n"
    "  --max-tokens N     judge answer length (default 1024)\n"
    "  --parallel N, --template T, --models A,B (only these answer models)\n"
    "  --limit N          only the first N questions\n"
    "show: per model the mean of rows with score >= 0 (both turns), turn 1 and 2 means,\n"
    "per-category means, rows, failed verdicts, standard error and a bootstrap 95%\n"
    "interval (1000 resamples, seeded); pairwise files give win/loss/tie per pair.\n"
    "  --json             {\"models\":[...],\"pairs\":[...]} with full precision\n"
    "  --radar            a radar chart of the categories (BEZOAR_CHART=braille|block|ascii,\n"
    "                     colours unless NO_COLOR)   --width W --height H (default: terminal)\n"
    "Common: --json (events on stdout for answer and grade), --quiet.\n";

#define usage_fail(...) tui_cmd_usage_fail("judge", usage, __VA_ARGS__)

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static void report_bad(const struct judge_problems *p, const char *what)
{
    for (int i = 0; i < p->kept; i++)
        fprintf(stderr, "bezoar: %s\n", p->msg[i]);
    if (p->count > p->kept)
        fprintf(stderr, "bezoar: ... %d more bad lines\n", p->count - p->kept);
    if (p->count)
        fprintf(stderr, "bezoar: %s: %d bad line%s skipped\n", what, p->count,
                p->count == 1 ? "" : "s");
}

/* ---------------------------------------------------------------- appending lines */

/* Open path for appending whole lines. A last line without '\n' is what a crash
 * leaves behind: when it is not a complete JSON object it is cut off (the item it
 * held is simply done again), otherwise it gets its '\n'. */
static int append_open(const char *path, struct bz_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    off_t end = lseek(fd, 0, SEEK_END), start = end;
    char c = '\n';
    while (start > 0 && pread(fd, &c, 1, start - 1) == 1 && c != '\n')
        start--;
    if (start < end) {
        size_t n = (size_t)(end - start);
        char *tail = bz_malloc(n + 1);
        int whole = pread(fd, tail, n, start) == (ssize_t)n;
        cJSON *o = whole ? cJSON_ParseWithLength(tail, n) : NULL;
        free(tail);
        int e = 0;
        if (o) {
            cJSON_Delete(o);
            if (write(fd, "\n", 1) != 1)
                e = errno;
        } else if (ftruncate(fd, start) != 0) {
            e = errno;
        } else {
            fprintf(stderr, "bezoar: %s: cut off a torn last line (%zu bytes)\n", path, n);
        }
        if (e) {
            close(fd);
            return bz_errf(err, -e, "%s: %s", path, strerror(e));
        }
    }
    return fd;
}

static int append_line(int fd, const char *path, const struct bz_buf *b, struct bz_err *err)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->p + off, b->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        return bz_errf(err, -errno, "%s: fsync: %s", path, strerror(errno));
    return 0;
}

/* ---------------------------------------------------------------- progress */

struct progress {
    int json, tty, quiet;
    const char *phase;
    int total, done, failed;
    double t0;
};

static void progress_show(struct progress *p)
{
    if (p->quiet)
        return;
    double el = bz_now() - p->t0;
    if (p->json) {
        printf("{\"event\":\"progress\",\"phase\":\"%s\",\"done\":%d,\"total\":%d,"
               "\"failed\":%d,\"elapsed_s\":%.3f}\n",
               p->phase, p->done, p->total, p->failed, el);
        fflush(stdout);
    } else if (p->tty) {
        double rate = el > 0 ? p->done / el : 0;
        double eta = rate > 0 ? (p->total - p->done) / rate : 0;
        fprintf(stderr, "\r%s %d/%d  %.2f/s  ETA %.0f s  ", p->phase, p->done, p->total, rate,
                eta);
        if (p->done == p->total)
            fputc('\n', stderr);
    }
}

static int open_backend(struct judge_backend **b, const char *spec, int parallel,
                        const char *tmpl, struct bz_err *err)
{
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    if (parallel > 0)
        cfg.parallel = parallel, cfg.local_slots = parallel;
    cfg.template_name = tmpl;
    return judge_backend_open(b, spec, &cfg, err);
}

/* ---------------------------------------------------------------- answer */

static int cmd_answer(int argc, char **argv)
{
    const char *qpath = NULL, *spec = NULL, *name = NULL, *out = NULL, *tmpl = NULL;
    int max_tokens = 512, limit = -1, parallel = 0, json = 0, quiet = 0, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        }
        if (!v)
            return usage_fail("%s needs a value (or is unknown)", a);
        i++;
        if (!strcmp(a, "--questions"))
            qpath = v;
        else if (!strcmp(a, "--model"))
            spec = v;
        else if (!strcmp(a, "--name"))
            name = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--template"))
            tmpl = v;
        else if (!strcmp(a, "--max-tokens")) {
            if (parse_int(v, 1, 1 << 20, &max_tokens))
                return usage_fail("--max-tokens: expected 1.. (got %s)", v);
        } else if (!strcmp(a, "--limit")) {
            if (parse_int(v, 0, 1 << 30, &limit))
                return usage_fail("--limit: expected 0.. (got %s)", v);
        } else if (!strcmp(a, "--parallel")) {
            if (parse_int(v, 1, 256, &parallel))
                return usage_fail("--parallel: expected 1..256 (got %s)", v);
        } else if (!strcmp(a, "--seed")) {
            if (parse_int(v, 0, 0x7fffffff, &seed))
                return usage_fail("--seed: expected 0.. (got %s)", v);
        } else
            return usage_fail("unknown option %s", a);
    }
    if (!qpath || !spec || !name || !out)
        return usage_fail("answer needs --questions, --model, --name and -o");

    struct bz_err err = {0};
    struct judge_questions qs;
    struct judge_answers done;
    judge_questions_init(&qs);
    judge_answers_init(&done);
    struct judge_backend *be = NULL;
    int rc = judge_questions_load(&qs, qpath, &err), fd = -1, code = TUI_EXIT_OK;
    if (rc)
        goto fail;
    report_bad(&qs.bad, qpath);
    if (qs.n == 0) {
        rc = bz_errf(&err, BZ_EEMPTY, "%s: no questions", qpath);
        goto fail;
    }
    rc = judge_answers_load(&done, out, &err);
    if (rc == -ENOENT) {
        bz_err_clear(&err);
        rc = 0;
    }
    if (rc)
        goto fail;
    report_bad(&done.bad, out);

    size_t nq = limit >= 0 && (size_t)limit < qs.n ? (size_t)limit : qs.n;
    size_t *pending = bz_calloc(nq + 1, sizeof *pending);
    size_t npending = 0;
    for (size_t i = 0; i < nq; i++) {
        const struct judge_answer *a = judge_answers_find(&done, name, qs.q[i].id);
        if (!a || a->n_turns < qs.q[i].n_turns)
            pending[npending++] = i;
    }
    struct progress pr = {json, isatty(2), quiet, "answer", (int)npending, 0, 0, bz_now()};
    if (json && !quiet)
        printf("{\"event\":\"start\",\"verb\":\"judge answer\",\"model\":\"%s\",\"questions\":%zu,"
               "\"pending\":%zu}\n",
               spec, nq, npending);
    if (npending == 0)
        goto done_ok;
    rc = open_backend(&be, spec, parallel, tmpl, &err);
    if (!rc)
        rc = fd = append_open(out, &err);
    if (rc < 0) {
        free(pending);
        goto fail;
    }
    rc = 0;

    /* a batch of questions at a time; within it turn k runs for all before turn k+1 */
    size_t batch = parallel > 0 ? (size_t)parallel : 4;
    for (size_t b0 = 0; b0 < npending && !rc; b0 += batch) {
        size_t nb = BZ_MIN(batch, npending - b0);
        int max_turns = 0;
        for (size_t k = 0; k < nb; k++)
            max_turns = BZ_MAX(max_turns, qs.q[pending[b0 + k]].n_turns);
        char ***ans = bz_calloc(nb, sizeof *ans);
        int *ok = bz_calloc(nb, sizeof *ok);
        for (size_t k = 0; k < nb; k++) {
            ans[k] = bz_calloc((size_t)max_turns + 1, sizeof **ans);
            ok[k] = 1;
        }
        for (int t = 0; t < max_turns; t++) {
            struct judge_request *reqs = bz_calloc(nb, sizeof *reqs);
            struct judge_msg **msgs = bz_calloc(nb, sizeof *msgs);
            struct judge_result *res = bz_calloc(nb, sizeof *res);
            size_t *map = bz_calloc(nb, sizeof *map), nr = 0;
            for (size_t k = 0; k < nb; k++) {
                const struct judge_question *q = &qs.q[pending[b0 + k]];
                if (!ok[k] || t >= q->n_turns)
                    continue;
                struct judge_msg *m = bz_calloc((size_t)(2 * t + 1), sizeof *m);
                for (int u = 0; u < t; u++) {
                    m[2 * u] = (struct judge_msg){JUDGE_ROLE_USER, q->turns[u]};
                    m[2 * u + 1] = (struct judge_msg){JUDGE_ROLE_ASSISTANT, ans[k][u]};
                }
                m[2 * t] = (struct judge_msg){JUDGE_ROLE_USER, q->turns[t]};
                msgs[nr] = m;
                struct judge_request *r = &reqs[nr];
                r->msgs = m;
                r->n_msgs = (size_t)(2 * t + 1);
                judge_sampling_defaults(&r->s);
                r->s.temperature = (float)judge_category_temperature(q->category);
                r->s.max_tokens = max_tokens;
                r->s.has_seed = 1;
                r->s.seed = (uint64_t)seed * 1000003u + (uint64_t)q->id * 7u + (uint64_t)t;
                judge_result_init(&res[nr]);
                map[nr++] = k;
            }
            rc = nr ? judge_backend_run(be, reqs, nr, res, NULL, NULL, NULL) : 0;
            if (rc)
                bz_errf(&err, rc, "%s: the batch could not start", spec);
            for (size_t r = 0; r < nr; r++) {
                size_t k = map[r];
                if (!rc && res[r].rc == 0) {
                    ans[k][t] = bz_strdup(res[r].text.p ? res[r].text.p : "");
                } else if (!rc) {
                    ok[k] = 0;
                    fprintf(stderr, "bezoar: question %d turn %d: %s\n",
                            qs.q[pending[b0 + k]].id, t + 1,
                            res[r].error[0] ? res[r].error : bz_strerror(res[r].rc));
                }
                judge_result_cleanup(&res[r]);
                free(msgs[r]);
            }
            free(reqs);
            free(msgs);
            free(res);
            free(map);
            if (rc)
                break;
        }
        for (size_t k = 0; k < nb && !rc; k++) {
            const struct judge_question *q = &qs.q[pending[b0 + k]];
            if (!ok[k]) {
                pr.failed++;
                continue;
            }
            struct judge_answer a = {0};
            struct bz_buf line, idb;
            bz_buf_init(&line);
            bz_buf_init(&idb);
            bz_buf_printf(&idb, "%s\n%d", name, q->id);
            for (int t = 0; t < q->n_turns; t++)
                bz_buf_printf(&idb, "\n%s", ans[k][t]);
            char hex[17];
            bz_hash_hex(bz_hash64(idb.p, idb.len), hex);
            a.question_id = q->id;
            a.answer_id = hex;
            a.model_id = (char *)name;
            a.turns = ans[k];
            a.n_turns = q->n_turns;
            a.tstamp = bz_wall();
            judge_answer_to_json(&line, &a);
            rc = append_line(fd, out, &line, &err);
            bz_buf_cleanup(&line);
            bz_buf_cleanup(&idb);
            pr.done++;
        }
        for (size_t k = 0; k < nb; k++) {
            for (int t = 0; t < max_turns; t++)
                free(ans[k][t]);
            free(ans[k]);
        }
        free(ans);
        free(ok);
        progress_show(&pr);
    }
    free(pending);
    if (rc)
        goto fail;
    if (pr.failed) {
        fprintf(stderr, "bezoar: %d question%s not answered (backend errors); run again to retry\n",
                pr.failed, pr.failed == 1 ? "" : "s");
        code = TUI_EXIT_ERROR;
    }
done_ok:
    if (json && !quiet)
        printf("{\"event\":\"done\",\"answered\":%d,\"failed\":%d,\"path\":\"%s\"}\n", pr.done,
               pr.failed, out);
    else if (!quiet)
        fprintf(stderr, "bezoar: %s: %d answered, %d already there, %d failed\n", out, pr.done,
                (int)(nq - npending), pr.failed);
    goto cleanup;
fail:
    code = tui_cmd_fail_err(&err, rc);
cleanup:
    if (fd >= 0)
        close(fd);
    judge_backend_free(be);
    judge_questions_cleanup(&qs);
    judge_answers_cleanup(&done);
    return code;
}

/* ---------------------------------------------------------------- grade */

/* One grading item: a single (model, question, turn) or a pair judged in one order. */
struct item {
    const struct judge_question *q;
    int turn;                       /* 1-based */
    const struct judge_answer *a, *b; /* b NULL: single */
    const struct judge_prompt *prompt;
    char *user;                     /* the filled prompt */
};

static int fill_item(struct item *it, const struct judge_prompts *ps, struct bz_err *err)
{
    const struct judge_question *q = it->q;
    int ref = judge_category_needs_ref(q->category);
    int multi = it->turn >= 2;
    int type = it->b ? JUDGE_PROMPT_PAIR : JUDGE_PROMPT_SINGLE;
    it->prompt = judge_prompts_pick(ps, type, ref, multi);
    if (!it->prompt)
        return bz_errf(err, BZ_ENOTFOUND, "no %s%s%s judge prompt in the prompt file",
                       type ? "pairwise" : "single", ref ? " reference-guided" : "",
                       multi ? " multi-turn" : "");
    struct judge_fill f = {0};
    for (int t = 0; t < 2; t++) {
        f.question[t] = t < q->n_turns ? q->turns[t] : NULL;
        f.ref[t] = q->ref && t < q->n_ref ? q->ref[t] : NULL;
        const char *x = t < it->a->n_turns ? it->a->turns[t] : NULL;
        if (it->b) {
            f.answer_a[t] = x;
            f.answer_b[t] = t < it->b->n_turns ? it->b->turns[t] : NULL;
        } else {
            f.answer[t] = x;
        }
    }
    struct bz_buf b;
    bz_buf_init(&b);
    int rc = judge_prompt_fill(it->prompt->tmpl, &f, &b, err);
    if (rc) {
        bz_buf_cleanup(&b);
        return rc;
    }
    it->user = bz_buf_steal(&b);
    return 0;
}

struct grade {
    const char *out;
    const char *judge_name;
    struct judge_backend *be;
    int max_tokens, regrade;
    struct judge_judgments have;   /* rows already in the output file */
    /* new rows: appended directly, or collected for the rewrite (--regrade-failed) */
    int fd;
    struct bz_buf rewrite_rows;
    struct judge_judgments fresh;
};

static int single_done(const struct grade *g, const char *model, int qid, int turn, int regrade)
{
    for (size_t i = 0; i < g->have.ns; i++) {
        const struct judge_single *s = &g->have.s[i];
        if (s->question_id == qid && s->turn == turn && !strcmp(s->model, model) &&
            !strcmp(s->judge, g->judge_name))
            return regrade ? s->score >= 0 : 1;
    }
    return regrade ? 1 : 0; /* --regrade-failed touches only failed rows */
}

static int pair_done(const struct grade *g, const char *m1, const char *m2, int qid, int turn,
                     int regrade)
{
    for (size_t i = 0; i < g->have.np; i++) {
        const struct judge_pair *p = &g->have.p[i];
        if (p->question_id == qid && p->turn == turn && !strcmp(p->model_1, m1) &&
            !strcmp(p->model_2, m2) && !strcmp(p->judge, g->judge_name))
            return regrade ? p->g1_winner != JUDGE_G_ERROR && p->g2_winner != JUDGE_G_ERROR : 1;
    }
    return regrade ? 1 : 0;
}

static int emit(struct grade *g, struct bz_buf *line, struct bz_err *err)
{
    if (g->regrade) {
        bz_buf_append(&g->rewrite_rows, line->p, line->len);
        return 0;
    }
    return append_line(g->fd, g->out, line, err);
}

static void make_request(struct judge_request *r, struct judge_msg *m, const struct item *it,
                         int max_tokens)
{
    size_t n = 0;
    if (it->prompt->system[0])
        m[n++] = (struct judge_msg){JUDGE_ROLE_SYSTEM, it->prompt->system};
    m[n++] = (struct judge_msg){JUDGE_ROLE_USER, it->user};
    memset(r, 0, sizeof *r);
    r->msgs = m;
    r->n_msgs = n;
    judge_sampling_defaults(&r->s);
    r->s.temperature = 0;
    r->s.max_tokens = max_tokens;
}

/* Grade items[0..n) (pairwise: items come in (g1, g2) twos) in batches; write rows. */
static int grade_items(struct grade *g, struct item *items, size_t n, int pairwise,
                       int parallel, struct progress *pr, struct bz_err *err)
{
    size_t step = (size_t)(parallel > 0 ? parallel : 4) * (pairwise ? 2 : 1);
    for (size_t b0 = 0; b0 < n; b0 += step) {
        size_t nb = BZ_MIN(step, n - b0);
        struct judge_request *reqs = bz_calloc(nb, sizeof *reqs);
        struct judge_msg(*msgs)[2] = bz_calloc(nb, sizeof *msgs);
        struct judge_result *res = bz_calloc(nb, sizeof *res);
        for (size_t k = 0; k < nb; k++) {
            make_request(&reqs[k], msgs[k], &items[b0 + k], g->max_tokens);
            judge_result_init(&res[k]);
        }
        int rc = judge_backend_run(g->be, reqs, nb, res, NULL, NULL, NULL);
        if (rc)
            bz_errf(err, rc, "judge backend: the batch could not start");
        for (size_t k = 0; k < nb && !rc; k += pairwise ? 2 : 1) {
            struct item *it = &items[b0 + k];
            int failed = res[k].rc || (pairwise && res[k + 1].rc);
            if (failed) {
                const struct judge_result *r = res[k].rc ? &res[k] : &res[k + 1];
                fprintf(stderr, "bezoar: question %d turn %d (%s): judge failed: %s\n",
                        it->q->id, it->turn, it->a->model_id,
                        r->error[0] ? r->error : bz_strerror(r->rc));
                pr->failed++;
                continue;
            }
            struct bz_buf line;
            bz_buf_init(&line);
            const char *t1 = res[k].text.p ? res[k].text.p : "";
            if (!pairwise) {
                struct judge_single s = {0};
                s.question_id = it->q->id;
                s.turn = it->turn;
                s.score = judge_verdict_rating(t1);
                s.model = it->a->model_id;
                s.judge = (char *)g->judge_name;
                s.prompt_name = it->prompt->name;
                s.category = it->q->category;
                s.user_prompt = it->user;
                s.judgment = (char *)t1;
                s.tstamp = bz_wall();
                judge_single_to_json(&line, &s);
            } else {
                const char *t2 = res[k + 1].text.p ? res[k + 1].text.p : "";
                static const int g1map[] = {JUDGE_G_MODEL_1, JUDGE_G_MODEL_2, JUDGE_G_TIE};
                static const int g2map[] = {JUDGE_G_MODEL_2, JUDGE_G_MODEL_1, JUDGE_G_TIE};
                int v1 = judge_verdict_pair(t1), v2 = judge_verdict_pair(t2);
                struct judge_pair p = {0};
                p.question_id = it->q->id;
                p.turn = it->turn;
                p.g1_winner = v1 < 0 ? JUDGE_G_ERROR : g1map[v1];
                p.g2_winner = v2 < 0 ? JUDGE_G_ERROR : g2map[v2];
                p.model_1 = it->a->model_id;
                p.model_2 = it->b->model_id;
                p.judge = (char *)g->judge_name;
                p.prompt_name = it->prompt->name;
                p.category = it->q->category;
                p.g1_user_prompt = it->user;
                p.g1_judgment = (char *)t1;
                p.g2_user_prompt = items[b0 + k + 1].user;
                p.g2_judgment = (char *)t2;
                p.tstamp = bz_wall();
                judge_pair_to_json(&line, &p);
            }
            rc = emit(g, &line, err);
            bz_buf_cleanup(&line);
            pr->done++;
        }
        for (size_t k = 0; k < nb; k++)
            judge_result_cleanup(&res[k]);
        free(reqs);
        free(msgs);
        free(res);
        if (rc)
            return rc;
        progress_show(pr);
    }
    return 0;
}

/* --regrade-failed: the file again, each failed row replaced by its new row. */
static int rewrite_failed(struct grade *g, struct bz_err *err)
{
    struct judge_judgments fresh;
    judge_judgments_init(&fresh);
    int rc = 0;
    const char *rows = g->rewrite_rows.p ? g->rewrite_rows.p : "";
    for (const char *s = rows; *s;) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        struct judge_single ns;
        struct judge_pair np;
        int kind = judge_judgment_parse(s, n, "new row", &ns, &np, NULL);
        bz_assert(kind > 0); /* we wrote it */
        if (kind == 1) {
            fresh.s = bz_realloc(fresh.s, (fresh.ns + 1) * sizeof *fresh.s);
            fresh.s[fresh.ns++] = ns;
        } else {
            fresh.p = bz_realloc(fresh.p, (fresh.np + 1) * sizeof *fresh.p);
            fresh.p[fresh.np++] = np;
        }
        s += n + (nl ? 1 : 0);
    }
    char *data = NULL;
    size_t len = 0;
    rc = bz_read_file(g->out, &data, &len, err);
    if (rc) {
        judge_judgments_cleanup(&fresh);
        return rc;
    }
    struct bz_buf outb;
    bz_buf_init(&outb);
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        struct judge_single os;
        struct judge_pair op;
        struct bz_err e = {0};
        char where[32];
        snprintf(where, sizeof where, "%d", lineno);
        int kind = judge_judgment_parse(s, n, where, &os, &op, &e);
        int replaced = 0;
        if (kind == 1) {
            for (size_t i = 0; i < fresh.ns && !replaced; i++)
                if (os.score < 0 && fresh.s[i].question_id == os.question_id &&
                    fresh.s[i].turn == os.turn && !strcmp(fresh.s[i].model, os.model) &&
                    !strcmp(fresh.s[i].judge, os.judge)) {
                    judge_single_to_json(&outb, &fresh.s[i]);
                    replaced = 1;
                }
            judge_single_cleanup(&os);
        } else if (kind == 2) {
            int bad = op.g1_winner == JUDGE_G_ERROR || op.g2_winner == JUDGE_G_ERROR;
            for (size_t i = 0; i < fresh.np && !replaced; i++)
                if (bad && fresh.p[i].question_id == op.question_id &&
                    fresh.p[i].turn == op.turn && !strcmp(fresh.p[i].model_1, op.model_1) &&
                    !strcmp(fresh.p[i].model_2, op.model_2) &&
                    !strcmp(fresh.p[i].judge, op.judge)) {
                    judge_pair_to_json(&outb, &fresh.p[i]);
                    replaced = 1;
                }
            judge_pair_cleanup(&op);
        }
        if (!replaced && n) {
            bz_buf_append(&outb, s, n);
            bz_buf_putc(&outb, '\n');
        }
    }
    rc = bz_write_atomic(g->out, outb.p ? outb.p : "", outb.len, err);
    bz_buf_cleanup(&outb);
    free(data);
    judge_judgments_cleanup(&fresh);
    return rc;
}

static int in_list(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        p += len + (c ? 1 : 0);
    }
    return 0;
}

static int cmd_grade(int argc, char **argv)
{
    const char *qpath = NULL, *spec = NULL, *mode = NULL, *baseline = NULL, *refpath = NULL;
    const char *out = NULL, *ppath = NULL, *tmpl = NULL, *only = NULL;
    const char **apaths = bz_calloc((size_t)argc + 1, sizeof *apaths);
    int napaths = 0, parallel = 0, json = 0, quiet = 0, regrade = 0, max_tokens = 1024;
    int limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (!strcmp(a, "--regrade-failed")) {
            regrade = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free(apaths);
            return TUI_EXIT_OK;
        }
        if (!strcmp(a, "--answers")) {
            while (i + 1 < argc && argv[i + 1][0] != '-')
                apaths[napaths++] = argv[++i];
            continue;
        }
        int bad = 0;
        if (!v)
            bad = 1;
        else if (!strcmp(a, "--questions"))
            qpath = v;
        else if (!strcmp(a, "--judge"))
            spec = v;
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--baseline"))
            baseline = v;
        else if (!strcmp(a, "--reference"))
            refpath = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--prompts"))
            ppath = v;
        else if (!strcmp(a, "--template"))
            tmpl = v;
        else if (!strcmp(a, "--models"))
            only = v;
        else if (!strcmp(a, "--parallel"))
            bad = parse_int(v, 1, 256, &parallel) ? 2 : 0;
        else if (!strcmp(a, "--max-tokens"))
            bad = parse_int(v, 1, 1 << 20, &max_tokens) ? 2 : 0;
        else if (!strcmp(a, "--limit"))
            bad = parse_int(v, 0, 1 << 30, &limit) ? 2 : 0;
        else
            bad = 3;
        if (bad) {
            free(apaths);
            return usage_fail(bad == 1   ? "%s needs a value"
                              : bad == 2 ? "%s: bad number"
                                         : "unknown option %s",
                              a);
        }
        i++;
    }
    if (!qpath || !spec || !mode || !out || napaths == 0) {
        free(apaths);
        return usage_fail("grade needs --questions, --answers, --judge, --mode and -o");
    }
    int pairwise = !strcmp(mode, "pairwise") || !strcmp(mode, "pair");
    if (!pairwise && strcmp(mode, "single")) {
        free(apaths);
        return usage_fail("--mode must be single or pairwise (got %s)", mode);
    }
    if (baseline && !pairwise) {
        free(apaths);
        return usage_fail("--baseline %s needs --mode pairwise", baseline);
    }

    struct bz_err err = {0};
    struct judge_questions qs;
    struct judge_answers as;
    struct judge_prompts ps;
    struct grade g = {0};
    struct item *items = NULL;
    size_t nitems = 0;
    char *defprompts = NULL;
    char **models = NULL;
    size_t nmodels = 0;
    int code = TUI_EXIT_OK, rc;
    judge_questions_init(&qs);
    judge_answers_init(&as);
    judge_prompts_init(&ps);
    judge_judgments_init(&g.have);
    bz_buf_init(&g.rewrite_rows);
    g.fd = -1;
    g.out = out;
    g.max_tokens = max_tokens;
    g.regrade = regrade;

    rc = judge_questions_load(&qs, qpath, &err);
    if (!rc && refpath)
        rc = judge_questions_load_ref(&qs, refpath, &err);
    if (rc)
        goto fail;
    report_bad(&qs.bad, qpath);
    for (int i = 0; i < napaths && !rc; i++)
        rc = judge_answers_load(&as, apaths[i], &err);
    if (rc)
        goto fail;
    report_bad(&as.bad, "answers");
    if (!ppath)
        ppath = defprompts = bz_path_join(tui_assets_dir(), "judge-prompts.jsonl");
    rc = judge_prompts_load(&ps, ppath, &err);
    if (rc)
        goto fail;
    report_bad(&ps.bad, ppath);
    rc = judge_judgments_load(&g.have, out, &err);
    if (rc == -ENOENT) {
        bz_err_clear(&err);
        rc = 0;
    }
    if (rc)
        goto fail;
    report_bad(&g.have.bad, out);

    /* the answer models, in order of appearance */
    models = bz_calloc(as.n + 1, sizeof *models);
    for (size_t i = 0; i < as.n; i++) {
        size_t k = 0;
        while (k < nmodels && strcmp(models[k], as.a[i].model_id))
            k++;
        if (k == nmodels && in_list(only, as.a[i].model_id))
            models[nmodels++] = as.a[i].model_id;
    }
    if (nmodels == 0 || (pairwise && nmodels < 2)) {
        rc = bz_errf(&err, BZ_EEMPTY, "%s answers to grade (%zu model%s)",
                     pairwise ? "pairwise grading needs two models' " : "no", nmodels,
                     nmodels == 1 ? "" : "s");
        goto fail;
    }
    if (baseline) {
        size_t k = 0;
        while (k < nmodels && strcmp(models[k], baseline))
            k++;
        if (k == nmodels) {
            rc = bz_errf(&err, BZ_ENOTFOUND, "--baseline %s: no answers by that model", baseline);
            goto fail;
        }
    }
    /* reference-guided categories need their references */
    for (size_t i = 0; i < qs.n; i++)
        if (judge_category_needs_ref(qs.q[i].category) && (!qs.q[i].ref || qs.q[i].n_ref < 1)) {
            rc = bz_errf(&err, BZ_EINVAL,
                         "%s: question %d (%s) has no reference answer: give --reference FILE",
                         qpath, qs.q[i].id, qs.q[i].category);
            goto fail;
        }

    rc = open_backend(&g.be, spec, parallel, tmpl, &err);
    if (rc)
        goto fail;
    g.judge_name = judge_backend_model(g.be);

    /* the items: every question x turn x model (or model pair) not graded yet */
    size_t cap = 16;
    items = bz_calloc(cap, sizeof *items);
    size_t nq = limit >= 0 && (size_t)limit < qs.n ? (size_t)limit : qs.n;
    for (size_t qi = 0; qi < nq && !rc; qi++) {
        const struct judge_question *q = &qs.q[qi];
        for (int t = 1; t <= q->n_turns && t <= 2 && !rc; t++) {
            for (size_t m1 = 0; m1 < nmodels && !rc; m1++) {
                const struct judge_answer *a = judge_answers_find(&as, models[m1], q->id);
                if (!a || a->n_turns < t)
                    continue;
                size_t lo = pairwise ? m1 + 1 : 0, hi = pairwise ? nmodels : 1;
                for (size_t m2 = lo; m2 < hi && !rc; m2++) {
                    const struct judge_answer *x = a, *y = NULL;
                    if (pairwise) {
                        if (baseline && strcmp(models[m1], baseline) &&
                            strcmp(models[m2], baseline))
                            continue;
                        y = judge_answers_find(&as, models[m2], q->id);
                        if (!y || y->n_turns < t)
                            continue;
                        if (baseline && !strcmp(models[m1], baseline)) {
                            x = y; /* the baseline is always model_2 */
                            y = a;
                        }
                        if (pair_done(&g, x->model_id, y->model_id, q->id, t, regrade))
                            continue;
                    } else if (single_done(&g, x->model_id, q->id, t, regrade)) {
                        continue;
                    }
                    if (nitems + 2 > cap)
                        items = bz_realloc(items, (cap *= 2) * sizeof *items);
                    struct item *it = &items[nitems];
                    memset(it, 0, 2 * sizeof *it);
                    *it = (struct item){q, t, x, y, NULL, NULL};
                    nitems++;
                    rc = fill_item(it, &ps, &err);
                    if (!rc && pairwise) {
                        it[1] = (struct item){q, t, y, x, NULL, NULL};
                        nitems++;
                        rc = fill_item(&it[1], &ps, &err);
                    }
                }
            }
        }
    }
    if (rc)
        goto fail;

    size_t total = pairwise ? nitems / 2 : nitems;
    struct progress pr = {json, isatty(2), quiet, regrade ? "regrade" : "grade", (int)total, 0,
                          0, bz_now()};
    if (json && !quiet)
        printf("{\"event\":\"start\",\"verb\":\"judge grade\",\"mode\":\"%s\",\"judge\":\"%s\","
               "\"pending\":%zu}\n",
               pairwise ? "pairwise" : "single", g.judge_name, total);
    if (!regrade && total) {
        rc = g.fd = append_open(out, &err);
        if (rc < 0)
            goto fail;
        rc = 0;
    }
    if (total)
        rc = grade_items(&g, items, nitems, pairwise, parallel, &pr, &err);
    if (!rc && regrade && pr.done)
        rc = rewrite_failed(&g, &err);
    if (rc)
        goto fail;

    /* what the file holds now */
    struct judge_judgments now;
    judge_judgments_init(&now);
    int failed_rows = 0, rows = 0;
    if (judge_judgments_load(&now, out, NULL) == 0) {
        for (size_t i = 0; i < now.ns; i++)
            failed_rows += now.s[i].score < 0;
        for (size_t i = 0; i < now.np; i++)
            failed_rows += now.p[i].g1_winner == JUDGE_G_ERROR ||
                           now.p[i].g2_winner == JUDGE_G_ERROR;
        rows = (int)(now.ns + now.np);
    }
    judge_judgments_cleanup(&now);
    if (json && !quiet)
        printf("{\"event\":\"done\",\"graded\":%d,\"errors\":%d,\"rows\":%d,"
               "\"failed_verdicts\":%d,\"path\":\"%s\"}\n",
               pr.done, pr.failed, rows, failed_rows, out);
    else if (!quiet)
        fprintf(stderr,
                "bezoar: %s: %d graded, %d judge errors; %d rows, %d with an unreadable verdict%s\n",
                out, pr.done, pr.failed, rows, failed_rows,
                failed_rows ? " (--regrade-failed grades them again)" : "");
    if (pr.failed)
        code = TUI_EXIT_ERROR;
    goto cleanup;
fail:
    code = tui_cmd_fail_err(&err, rc);
cleanup:
    for (size_t i = 0; i < nitems; i++)
        free(items[i].user);
    free(items);
    free(models);
    free(defprompts);
    free(apaths);
    if (g.fd >= 0)
        close(g.fd);
    judge_backend_free(g.be);
    bz_buf_cleanup(&g.rewrite_rows);
    judge_judgments_cleanup(&g.have);
    judge_prompts_cleanup(&ps);
    judge_answers_cleanup(&as);
    judge_questions_cleanup(&qs);
    return code;
}

/* ---------------------------------------------------------------- show */

/* ANSI foreground for model i (1-based): red, green, blue, magenta, cyan, yellow. */
static const int model_ansi[] = {31, 32, 34, 35, 36, 33};

/* The radar is one cell grid (tui/radar.c), the same the Judge view draws; here it is
 * printed with ANSI colours and a legend. */
static void print_radar(FILE *fp, const struct judge_summary *sum, int cols, int rows,
                        int mode, int color)
{
    int nm = (int)sum->n_models, legend = nm + 1;
    int chart_rows = rows - legend;
    struct tui_cell *grid = NULL;
    struct bz_err err = {0};
    if (tui_radar_grid(sum, NULL, cols, chart_rows, mode, color, &grid, &err)) {
        fprintf(stderr, "bezoar: judge show --radar: %s\n", err.msg);
        return;
    }
    for (int row = 0; row < chart_rows; row++) {
        int last = cols - 1;
        while (last >= 0 && !strcmp(grid[row * cols + last].s, " "))
            last--;
        int cur = 0;
        for (int c = 0; c <= last; c++) {
            const struct tui_cell *cl = &grid[row * cols + c];
            int want = color ? cl->color : 0;
            if (want != cur) {
                if (want == 0)
                    fputs("\x1b[0m", fp);
                else if (want == TUI_RADAR_GRID_COLOR)
                    fputs("\x1b[0;90m", fp);
                else
                    fprintf(fp, "\x1b[0;%dm", model_ansi[(want - 1) % 6]);
                cur = want;
            }
            fputs(cl->s, fp);
        }
        if (cur)
            fputs("\x1b[0m", fp);
        fputc('\n', fp);
    }
    fprintf(fp, "rings at 2, 4, 6, 8, 10; a missing category sits at the centre\n");
    for (int m = 0; m < nm; m++) {
        char score[32];
        snprintf(score, sizeof score, isfinite(sum->m[m].score) ? "%.2f" : "-",
                 sum->m[m].score);
        if (color)
            fprintf(fp, "\x1b[%dm%s\x1b[0m %d %s  %s\n", model_ansi[m % 6],
                    mode == TUI_CANVAS_ASCII ? "**" : "\xe2\x96\x88\xe2\x96\x88", m + 1,
                    sum->m[m].model, score);
        else
            fprintf(fp, "[%d] %s  %s\n", (m + 1) % 10, sum->m[m].model, score);
    }
    free(grid);
}

static void fmt_num(char *out, size_t n, double v)
{
    if (isfinite(v))
        snprintf(out, n, "%.2f", v);
    else
        snprintf(out, n, "-");
}

static void print_table(FILE *fp, const struct judge_summary *sum)
{
    if (sum->n_models) {
        fprintf(fp, "%-24s %6s %6s %15s %6s %6s %5s %6s\n", "model", "score", "se", "95% CI",
                "turn1", "turn2", "n", "failed");
        for (size_t i = 0; i < sum->n_models; i++) {
            const struct judge_model_stats *m = &sum->m[i];
            char s[16], se[16], t1[16], t2[16], ci[40], lo[16], hi[16];
            fmt_num(s, sizeof s, m->score);
            fmt_num(se, sizeof se, m->se);
            fmt_num(t1, sizeof t1, m->turn1);
            fmt_num(t2, sizeof t2, m->turn2);
            fmt_num(lo, sizeof lo, m->ci_lo);
            fmt_num(hi, sizeof hi, m->ci_hi);
            snprintf(ci, sizeof ci, "%s..%s", lo, hi);
            fprintf(fp, "%-24.24s %6s %6s %15s %6s %6s %5d %6d\n", m->model, s, se, ci, t1, t2,
                    m->n, m->failed);
        }
        if (sum->n_cats) {
            fprintf(fp, "\n%-12s", "category");
            for (size_t i = 0; i < sum->n_models; i++)
                fprintf(fp, " %12.12s", sum->m[i].model);
            fputc('\n', fp);
            for (size_t c = 0; c < sum->n_cats; c++) {
                fprintf(fp, "%-12.12s", sum->cats[c]);
                for (size_t i = 0; i < sum->n_models; i++) {
                    char v[16];
                    fmt_num(v, sizeof v, sum->m[i].cat[c]);
                    fprintf(fp, " %12s", v);
                }
                fputc('\n', fp);
            }
        }
    }
    if (sum->n_pairs) {
        if (sum->n_models)
            fputc('\n', fp);
        fprintf(fp, "%-20s %-20s %4s %4s %4s %6s %8s %8s\n", "model A", "model B", "win", "loss",
                "tie", "failed", "win rate", "adjusted");
        for (size_t i = 0; i < sum->n_pairs; i++) {
            const struct judge_pair_stats *p = &sum->pairs[i];
            char w[16], wa[16];
            fmt_num(w, sizeof w, p->win_rate);
            fmt_num(wa, sizeof wa, p->win_rate_adj);
            fprintf(fp, "%-20.20s %-20.20s %4d %4d %4d %6d %8s %8s\n", p->model_a, p->model_b,
                    p->win, p->loss, p->tie, p->failed, w, wa);
        }
    }
}

static int cmd_show(int argc, char **argv)
{
    const char *qpath = NULL;
    const char **files = bz_calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, json = 0, radar = 0, width = 0, height = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--radar")) {
            radar = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free(files);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--questions") && i + 1 < argc) {
            qpath = argv[++i];
        } else if ((!strcmp(a, "--width") || !strcmp(a, "--height")) && i + 1 < argc) {
            int *dst = a[2] == 'w' ? &width : &height;
            if (parse_int(argv[++i], 10, 1000, dst)) {
                free(files);
                return usage_fail("%s: expected 10..1000", a);
            }
        } else if (a[0] == '-' && a[1]) {
            free(files);
            return usage_fail("unknown option or missing value: %s", a);
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0) {
        free(files);
        return usage_fail("show needs judgment files");
    }
    struct bz_err err = {0};
    struct judge_judgments j;
    struct judge_questions qs;
    judge_judgments_init(&j);
    judge_questions_init(&qs);
    int rc = 0, code = TUI_EXIT_OK;
    for (int i = 0; i < nfiles && !rc; i++)
        rc = judge_judgments_load(&j, files[i], &err);
    if (!rc && qpath)
        rc = judge_questions_load(&qs, qpath, &err);
    if (rc) {
        code = tui_cmd_fail_err(&err, rc);
        goto out;
    }
    report_bad(&j.bad, "judgments");
    report_bad(&qs.bad, qpath ? qpath : "questions");
    if (qpath)
        judge_judgments_categorize(&j, &qs);
    if (j.ns + j.np == 0) {
        code = tui_cmd_fail(TUI_EXIT_ERROR, "no judgment rows in %s%s", files[0],
                            nfiles > 1 ? " and the other files" : "");
        goto out;
    }
    struct judge_summary sum;
    judge_summary_build(&sum, &j, 1000, 1);
    if (json) {
        struct bz_buf b;
        bz_buf_init(&b);
        judge_summary_to_json(&b, &sum);
        fputs(b.p, stdout);
        bz_buf_cleanup(&b);
    } else if (radar) {
        struct winsize ws = {0};
        int tty = isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0;
        int cols = width ? width : tty ? ws.ws_col : 80;
        /* on a terminal, one row stays free for the prompt that follows */
        int rows = height ? height : tty ? ws.ws_row - 1 : 24;
        const char *nc = getenv("NO_COLOR");
        int color = !(nc && nc[0]) && isatty(1);
        if (getenv("BEZOAR_COLOR") && !strcmp(getenv("BEZOAR_COLOR"), "always"))
            color = !(nc && nc[0]);
        print_radar(stdout, &sum, cols, rows, tui_canvas_default_mode(), color);
    } else {
        print_table(stdout, &sum);
    }
    judge_summary_cleanup(&sum);
out:
    judge_judgments_cleanup(&j);
    judge_questions_cleanup(&qs);
    free(files);
    return code;
}

int tui_cmd_judge(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TUI_EXIT_USAGE : TUI_EXIT_OK;
    }
    if (!strcmp(argv[1], "answer"))
        return cmd_answer(argc - 1, argv + 1);
    if (!strcmp(argv[1], "grade"))
        return cmd_grade(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return cmd_show(argc - 1, argv + 1);
    return usage_fail("unknown subcommand %s (answer, grade, show)", argv[1]);
}
