/*
 * compare.h: the Compare view's state: one base model in memory, two sides (A and
 * B), each with its own KV cache and optionally a LoRA adapter applied beside the
 * shared weights (so base and fine-tuned cost one copy of the model), both answers
 * generated at once in two threads and streamed into per-side buffers; a word-level
 * difference of the two answers; blind mode (sides shuffled, labels hidden until
 * the vote); votes appended, fsync'd, to a votes journal beside the dataset.
 * No curses and no libuv: a wake callback tells the owner that text arrived.
 */
#ifndef TUI_COMPARE_H
#define TUI_COMPARE_H

#include <pthread.h>
#include <signal.h>

#include "core/core.h"

struct core_forward;
struct core_pool;
struct core_vocab;

struct tui_cmp_side {
    char label[160];            /* "base" or "base + ADAPTER" */
    char *adapter;              /* path, or NULL for the base model */
    struct core_lora lora;
    int has_lora;
    struct core_pool *pool;
    struct core_forward *fwd;
    pthread_t thread;
    int thread_live;
    volatile sig_atomic_t cancel;
    /* shared with the generating thread, under mu */
    pthread_mutex_t mu;
    struct bz_buf text;
    int running, done;
    int n_tokens;
    double tok_s;
    char error[256];
    /* the prompt this side is answering (the thread's copy) */
    struct core_ids prompt;
    struct tui_compare *owner;
};

/* the same values as enum ds_vote_choice */
enum tui_vote { TUI_VOTE_A = 0, TUI_VOTE_B, TUI_VOTE_TIE, TUI_VOTE_BOTH_BAD };
const char *tui_vote_name(int v);

struct tui_compare {
    char *model_path;
    struct core_model *model;
    struct core_vocab *vocab;
    int vocab_owned;
    int tmpl;                   /* chat template id */
    struct tui_cmp_side side[2];
    char *prompt;               /* the user message being compared */
    char *prompt_id;            /* the record or question it came from, or NULL */
    int max_tokens;
    float temp;
    int blind;                  /* hide labels until the vote */
    int swapped;                /* blind: side 0 shows adapter B's answer, etc. */
    int voted;                  /* -1 none, else enum tui_vote (as shown, un-swapped) */
    char *votes_path;           /* DATASET.bezoar/votes.jsonl */
    unsigned long seq;          /* bumped when a new comparison starts */
    /* the judge's pairwise verdict on the shown pair, asked in both orders */
    char *judge_spec;           /* a backend spec, or NULL when none was given */
    pthread_t judge_thread;
    int judge_live;
    pthread_mutex_t judge_mu;
    int judge_state;            /* 0 none, 1 asking, 2 done, -1 failed */
    char judge_line[400];       /* what to show: the verdict, or why there is none */
    unsigned long judge_seq;    /* the comparison the verdict belongs to */
    void (*wake)(void *arg);
    void *wake_arg;
};

/* Load model (path) and set up side A (adapter_a, NULL = base) and side B
 * (adapter_b). tmpl_name NULL: the model's own template. votes_path may be NULL (no
 * voting). */
int tui_compare_open(struct tui_compare *c, const char *model, const char *adapter_a,
                     const char *adapter_b, const char *tmpl_name, const char *votes_path,
                     struct bz_err *err);
void tui_compare_close(struct tui_compare *c);
/* Start both answers to prompt (a user message); a running comparison is canceled
 * first. blind shuffles the sides (seeded by the prompt). */
int tui_compare_start(struct tui_compare *c, const char *prompt, const char *prompt_id,
                      int blind, struct bz_err *err);
void tui_compare_cancel(struct tui_compare *c);
/* Copy a side's state for drawing (the text is the caller's to free). Side index is
 * as shown (after blind shuffling). */
struct tui_cmp_view {
    char *text;
    const char *label;
    int running, done, n_tokens;
    double tok_s;
    char error[256];
};
void tui_compare_snapshot(struct tui_compare *c, int shown, struct tui_cmp_view *v);
/* Record a vote on the shown sides; it is un-shuffled, appended to the votes journal
 * with both answers and fsync'd before this returns. */
int tui_compare_vote(struct tui_compare *c, int vote, struct bz_err *err);

/* Ask the judge (c->judge_spec, a judge/backend.h spec) whether the shown A or B is
 * better, once with the answers in each order (FastChat's pairwise rule: a win only
 * when both orders agree, else a tie). Runs in a thread; tui_compare_judge_line
 * copies the state for drawing. prompts_path: judge prompts (assets/judge-prompts.jsonl). */
int tui_compare_judge(struct tui_compare *c, const char *prompts_path, struct bz_err *err);
int tui_compare_judge_line(struct tui_compare *c, char *out, size_t n);

/* Word-level difference: for texts a and b, mark each byte that belongs to a word not
 * in their longest common word subsequence (marks are 0/1 arrays the size of each
 * text, caller-allocated). Long texts are compared on their first 2000 words. */
void tui_compare_diff(const char *a, size_t na, const char *b, size_t nb, unsigned char *ma,
                      unsigned char *mb);

#endif
