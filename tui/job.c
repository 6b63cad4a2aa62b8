/*
 * job.c: child-process jobs (see job.h). uv_spawn starts the worker detached, with
 * stdout/stderr to files in its run directory; a poll follows the files and
 * notices exits, both for our children (exit callback) and for reattached workers
 * (kill(pid, 0) on the pid file). A worker that exits without a done event, or
 * prints garbage, becomes a failed job with its last stderr lines.
 */
#include "tui/job.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

void tui_jobs_init(struct tui_jobs *js, void *uv_loop, const char *runs_dir,
                   void (*on_change)(void *), void *arg)
{
    memset(js, 0, sizeof *js);
    js->loop = uv_loop;
    js->runs_dir = bz_strdup(runs_dir);
    js->on_change = on_change;
    js->arg = arg;
}

static void on_close(uv_handle_t *h)
{
    free(h);
}

static void job_free(struct tui_job *j)
{
    tui_run_cleanup(&j->run);
    if (j->proc)
        ((uv_process_t *)j->proc)->data = NULL; /* the close callback frees it */
    free(j);
}

void tui_jobs_detach(struct tui_jobs *js)
{
    for (size_t i = 0; i < js->n; i++) {
        uv_process_t *p = js->v[i]->proc;
        if (!p)
            continue;
        p->data = NULL;
        if (!uv_is_closing((uv_handle_t *)p))
            uv_close((uv_handle_t *)p, on_close);
        js->v[i]->proc = NULL;
    }
}

void tui_jobs_cleanup(struct tui_jobs *js)
{
    for (size_t i = 0; i < js->n; i++)
        job_free(js->v[i]);
    free(js->v);
    free(js->runs_dir);
    memset(js, 0, sizeof *js);
}

static struct tui_job *add(struct tui_jobs *js, const char *dir)
{
    struct tui_job *j = bz_calloc(1, sizeof *j);
    tui_run_init(&j->run, dir);
    js->v = bz_realloc(js->v, (js->n + 1) * sizeof *js->v);
    js->v[js->n++] = j;
    return j;
}

static const char *out_file(const struct tui_job *j)
{
    char *p = bz_path_join(j->run.dir, "worker.out");
    int have = access(p, R_OK) == 0;
    free(p);
    return have ? "worker.out" : "events.jsonl";
}

static void read_err_tail(struct tui_job *j)
{
    char *p = bz_path_join(j->run.dir, "worker.err");
    char *text = NULL;
    size_t n = 0;
    j->n_err_tail = 0;
    if (bz_read_file(p, &text, &n, NULL) == 0) {
        /* keep the last 8 non-empty lines */
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (!*line)
                continue;
            if (j->n_err_tail == 8) {
                memmove(j->err_tail[0], j->err_tail[1], sizeof j->err_tail[0] * 7);
                j->n_err_tail = 7;
            }
            snprintf(j->err_tail[j->n_err_tail++], sizeof j->err_tail[0], "%s", line);
        }
    }
    free(text);
    free(p);
}

/* Whether pid is a live process (a zombie nobody reaped yet counts as gone). */
static int alive(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

static pid_t read_pid(const char *dir)
{
    char *p = bz_path_join(dir, "worker.pid");
    char *text = NULL;
    pid_t pid = 0;
    if (bz_read_file(p, &text, NULL, NULL) == 0)
        pid = (pid_t)atol(text);
    free(text);
    free(p);
    return pid;
}

/* A worker has ended: decide what its state is. */
static void settle(struct tui_job *j)
{
    struct bz_err err = {0};
    tui_run_follow(&j->run, out_file(j), &err);
    read_err_tail(j);
    j->pid = 0;
    /* a "done" event that says stopped is the worker's own word: a generator stopped
     * short of its target exits 1, but it was stopped, not failed */
    if (j->run.state == TUI_RUN_DONE || j->run.state == TUI_RUN_FAILED ||
        j->run.state == TUI_RUN_STOPPED)
        return;
    if (j->child && j->exited && j->exit_status != 0 && j->term_signal == 0) {
        j->run.state = TUI_RUN_FAILED;
        if (!j->run.error)
            j->run.error = bz_asprintf("worker exited with status %d%s%s", j->exit_status,
                                       j->n_err_tail ? ": " : "",
                                       j->n_err_tail ? j->err_tail[j->n_err_tail - 1] : "");
    } else if (j->child && j->exited && j->term_signal != 0 && j->term_signal != SIGTERM) {
        j->run.state = TUI_RUN_FAILED;
        if (!j->run.error)
            j->run.error = bz_asprintf("worker killed by signal %d (%s)", j->term_signal,
                                       strsignal(j->term_signal));
    } else {
        j->run.state = TUI_RUN_STOPPED;
    }
    if (j->run.invalid_lines && j->run.state != TUI_RUN_DONE && !j->run.error)
        j->run.error = bz_asprintf("worker printed %zu line(s) that are not events",
                                   j->run.invalid_lines);
}

void tui_jobs_scan(struct tui_jobs *js)
{
    DIR *d = opendir(js->runs_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *dir = bz_path_join(js->runs_dir, e->d_name);
        struct stat st;
        int known = 0;
        for (size_t i = 0; i < js->n; i++)
            known |= strcmp(js->v[i]->run.dir, dir) == 0;
        if (known || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(dir);
            continue;
        }
        struct tui_job *j = add(js, dir);
        free(dir);
        tui_run_follow(&j->run, out_file(j), NULL);
        j->started = (double)st.st_mtime;
        pid_t pid = read_pid(j->run.dir);
        if (alive(pid) && j->run.state != TUI_RUN_DONE &&
            j->run.state != TUI_RUN_FAILED) {
            j->pid = pid;
            if (j->run.state == TUI_RUN_NEW)
                j->run.state = TUI_RUN_RUNNING;
        } else if (j->run.state == TUI_RUN_RUNNING || j->run.state == TUI_RUN_NEW) {
            settle(j);
        } else {
            read_err_tail(j);
        }
    }
    closedir(d);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct tui_jobs *js = p->data;
    if (js) {
        for (size_t i = 0; i < js->n; i++) {
            struct tui_job *j = js->v[i];
            if (j->proc != p)
                continue;
            j->exited = 1;
            j->exit_status = (int)status;
            j->term_signal = sig;
            j->proc = NULL;
            settle(j);
        }
        if (js->on_change)
            js->on_change(js->arg);
    }
    uv_close((uv_handle_t *)p, on_close);
}

struct tui_job *tui_jobs_start(struct tui_jobs *js, char *const argv[], const char *dir,
                               struct bz_err *err)
{
    if (bz_mkdir_p(dir, err) != 0)
        return NULL;
    char *outp = bz_path_join(dir, "worker.out"), *errp = bz_path_join(dir, "worker.err");
    int had_out = access(outp, F_OK) == 0;
    int ofd = open(outp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int efd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    free(outp);
    free(errp);
    if (ofd < 0 || efd < 0) {
        bz_errf(err, -errno, "%s: cannot create the worker's output files: %s", dir,
                strerror(errno));
        if (ofd >= 0)
            close(ofd);
        if (efd >= 0)
            close(efd);
        return NULL;
    }
    struct tui_job *j = NULL;
    for (size_t i = 0; i < js->n; i++)
        if (strcmp(js->v[i]->run.dir, dir) == 0)
            j = js->v[i];
    if (j) {
        /* a resume: keep following worker.out from where we are; a run started
         * elsewhere was followed through events.jsonl, whose offset means nothing in
         * the worker.out this start creates */
        if (!had_out) {
            j->run.follow_off = 0;
            free(j->run.partial);
            j->run.partial = NULL;
        }
        j->run.state = TUI_RUN_RUNNING;
        free(j->run.error);
        j->run.error = NULL;
        j->exited = j->exit_status = j->term_signal = 0;
    } else {
        j = add(js, dir);
    }
    uv_process_t *p = bz_calloc(1, sizeof *p);
    p->data = js;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = ofd;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = efd;
    uv_process_options_t o;
    memset(&o, 0, sizeof o);
    o.file = argv[0];
    o.args = (char **)argv;
    o.exit_cb = on_exit_cb;
    o.flags = UV_PROCESS_DETACHED;
    o.stdio = stdio;
    o.stdio_count = 3;
    int rc = uv_spawn(js->loop, p, &o);
    close(ofd);
    close(efd);
    if (rc != 0) {
        bz_errf(err, rc, "cannot start %s: %s", argv[0], uv_strerror(rc));
        free(p);
        j->run.state = TUI_RUN_FAILED;
        return NULL;
    }
    /* Jobs run niced so the workbench stays responsive while they keep the cores busy;
     * done right after the spawn, before the worker starts its threads (they inherit). */
    setpriority(PRIO_PROCESS, (id_t)p->pid, 10);
    j->proc = p;
    j->pid = p->pid;
    j->child = 1;
    j->started = bz_wall();
    if (j->run.state == TUI_RUN_NEW)
        j->run.state = TUI_RUN_RUNNING;
    char pid[32];
    snprintf(pid, sizeof pid, "%d\n", (int)p->pid);
    char *pidp = bz_path_join(dir, "worker.pid");
    bz_write_atomic(pidp, pid, strlen(pid), NULL);
    free(pidp);
    return j;
}

int tui_jobs_poll(struct tui_jobs *js)
{
    int changed = 0;
    for (size_t i = 0; i < js->n; i++) {
        struct tui_job *j = js->v[i];
        if (!j->pid)
            continue;
        if (tui_run_follow(&j->run, out_file(j), NULL) > 0)
            changed = 1;
        if (!j->child && !alive(j->pid)) {
            settle(j);
            changed = 1;
        }
    }
    return changed;
}

int tui_job_stop(struct tui_job *j, struct bz_err *err)
{
    if (!j->pid)
        return bz_errf(err, BZ_EINVAL, "%s is not running", j->run.name);
    if (kill(j->pid, SIGTERM) != 0)
        return bz_errf(err, -errno, "%s: cannot stop pid %d: %s", j->run.name, (int)j->pid,
                       strerror(errno));
    return 0;
}

int tui_job_save_now(struct tui_job *j, struct bz_err *err)
{
    if (!j->pid)
        return bz_errf(err, BZ_EINVAL, "%s is not running", j->run.name);
    char *p = bz_path_join(j->run.dir, "SAVE_NOW");
    int rc = bz_write_atomic(p, "", 0, err);
    free(p);
    return rc;
}

size_t tui_jobs_running(const struct tui_jobs *js)
{
    size_t n = 0;
    /* a worker that reported done or error is finishing, not running */
    for (size_t i = 0; i < js->n; i++)
        n += js->v[i]->pid != 0 && js->v[i]->run.state != TUI_RUN_DONE &&
             js->v[i]->run.state != TUI_RUN_FAILED;
    return n;
}

double tui_job_elapsed(const struct tui_job *j)
{
    if (j->run.elapsed_s > 0)
        return j->run.elapsed_s;
    return j->pid && j->started > 0 ? bz_wall() - j->started : 0;
}

int tui_job_worker_path(char *out, size_t n)
{
    const char *w = getenv("BEZOAR_WORKER");
    if (w && *w) {
        snprintf(out, n, "%s", w);
        return 0;
    }
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0)
        return BZ_EIO;
    out[k] = '\0';
    return 0;
}
