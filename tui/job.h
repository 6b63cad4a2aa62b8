/*
 * job.h: background jobs (training workers) as child processes. A job's stdout
 * goes to DIR/worker.out and its stderr to DIR/worker.err, and the TUI follows
 * those files: the same mechanism serves a job it just started and one it finds
 * still running after a restart, and a job outlives the TUI (it runs in its own
 * session). Stop sends SIGTERM (the worker checkpoints first); save-now creates
 * DIR/SAVE_NOW. Only tui/ uses this (it needs libuv).
 */
#ifndef TUI_JOB_H
#define TUI_JOB_H

#include <sys/types.h>

#include "tui/run.h"

struct tui_job {
    struct tui_run run;
    pid_t pid;              /* 0 when not running */
    int child;              /* started by this process (exit status known) */
    int exit_status, term_signal, exited;
    double started;         /* bz_wall() */
    char err_tail[8][160];  /* last lines of worker.err */
    int n_err_tail;
    void *proc;             /* uv_process_t *, owned (freed in its close callback) */
    int resume_pending;     /* resume once the (stopping) worker has exited */
};

struct tui_jobs {
    struct tui_job **v;
    size_t n;
    char *runs_dir;         /* "runs" */
    void *loop;             /* uv_loop_t * */
    void (*on_change)(void *arg);
    void *arg;
};

void tui_jobs_init(struct tui_jobs *js, void *uv_loop, const char *runs_dir,
                   void (*on_change)(void *), void *arg);
void tui_jobs_cleanup(struct tui_jobs *js);
/* Before the loop closes: let go of the children's process handles (the workers are
 * detached and keep running; their handles are closed and freed by the loop). */
void tui_jobs_detach(struct tui_jobs *js);
/* Find runs under runs_dir: each is loaded from its files; a live worker.pid makes
 * it running (reattached). */
void tui_jobs_scan(struct tui_jobs *js);
/* Start argv (argv[0] is the bezoar binary) for the run directory dir, which is
 * created. Returns the job or NULL with err set. */
struct tui_job *tui_jobs_start(struct tui_jobs *js, char *const argv[], const char *dir,
                               struct bz_err *err);
/* Follow every job's files and notice exits; returns 1 when anything changed. */
int tui_jobs_poll(struct tui_jobs *js);
int tui_job_stop(struct tui_job *j, struct bz_err *err);
int tui_job_save_now(struct tui_job *j, struct bz_err *err);
size_t tui_jobs_running(const struct tui_jobs *js);
/* The program jobs run: $BEZOAR_WORKER (a wrapper, or the tests' scripted worker), else
 * this very binary. Returns 0, or BZ_EIO when neither can be found. */
int tui_job_worker_path(char *out, size_t n);
/* Seconds since the job started (or its last step's elapsed time). */
double tui_job_elapsed(const struct tui_job *j);

#endif
