/*
 * compare.c: two answers to one prompt from one model in memory (see compare.h).
 * Each side has its own evaluator (KV cache) over the shared weights and its own
 * one-thread pool, so on two cores both stream at full speed without a second copy
 * of the model. Votes are journaled like curation decisions: append + fsync.
 */
#include "tui/compare.h"

#include <stdarg.h>
#include <string.h>

#include "dataset/dataset.h"
#include "judge/judge.h"

const char *tui_vote_name(int v)
{
    return ds_vote_name(v);
}

static void side_cleanup(struct tui_cmp_side *s)
{
    core_forward_free(s->fwd);
    core_pool_free(s->pool);
    if (s->has_lora)
        core_lora_cleanup(&s->lora);
    free(s->adapter);
    bz_buf_cleanup(&s->text);
    core_ids_cleanup(&s->prompt);
    pthread_mutex_destroy(&s->mu);
}

void tui_compare_close(struct tui_compare *c)
{
    if (!c)
        return;
    tui_compare_cancel(c);
    if (c->judge_live)
        pthread_join(c->judge_thread, NULL);
    if (c->model_path)
        pthread_mutex_destroy(&c->judge_mu);
    free(c->judge_spec);
    for (int i = 0; i < 2; i++)
        side_cleanup(&c->side[i]);
    if (c->vocab_owned)
        core_vocab_free(c->vocab);
    core_model_free(c->model);
    free(c->model_path);
    free(c->prompt);
    free(c->prompt_id);
    free(c->votes_path);
    memset(c, 0, sizeof *c);
}

static int side_open(struct tui_compare *c, int i, const char *adapter, struct bz_err *err)
{
    struct tui_cmp_side *s = &c->side[i];
    s->owner = c;
    pthread_mutex_init(&s->mu, NULL);
    bz_buf_init(&s->text);
    core_ids_init(&s->prompt);
    int rc = core_pool_new(&s->pool, 1, err);
    if (rc == 0)
        rc = core_forward_new(&s->fwd, c->model, s->pool, 0, err);
    if (rc == 0 && adapter) {
        rc = core_lora_load(&s->lora, c->model, adapter, err);
        if (rc == 0) {
            s->has_lora = 1;
            rc = core_forward_set_lora(s->fwd, &s->lora, err);
        }
    }
    if (rc != 0)
        return rc;
    s->adapter = adapter ? bz_strdup(adapter) : NULL;
    if (adapter)
        snprintf(s->label, sizeof s->label, "base + %s", adapter);
    else
        snprintf(s->label, sizeof s->label, "base");
    return 0;
}

int tui_compare_open(struct tui_compare *c, const char *model, const char *adapter_a,
                     const char *adapter_b, const char *tmpl_name, const char *votes_path,
                     struct bz_err *err)
{
    memset(c, 0, sizeof *c);
    c->voted = -1;
    c->max_tokens = 256;
    int rc = core_model_open(&c->model, model, err);
    if (rc == 0)
        rc = core_generate_vocab(c->model, &c->vocab, &c->vocab_owned, err);
    if (rc == 0) {
        c->tmpl = core_template_pick(c->vocab, tmpl_name, err);
        if (c->tmpl < 0) {
            rc = c->tmpl;
            if (!tmpl_name) {
                /* A model without a chat template (a base model): say so and offer the
                 * OpenBezoar one, which is what bezoar train uses with --template alpaca. */
                bz_err_clear(err);
                rc = bz_errf(err, BZ_ENOTFOUND, "%s has no chat template it names; choose "
                             "one with --template (alpaca is OpenBezoar's)", model);
            }
        }
    }
    if (rc == 0)
        rc = side_open(c, 0, adapter_a, err);
    if (rc == 0)
        rc = side_open(c, 1, adapter_b, err);
    if (rc != 0) {
        tui_compare_close(c);
        return rc;
    }
    c->model_path = bz_strdup(model);
    c->votes_path = votes_path ? bz_strdup(votes_path) : NULL;
    pthread_mutex_init(&c->judge_mu, NULL);
    return 0;
}

/* ---------------------------------------------------------------- generation */

static int on_text(void *ctx, int32_t id, const char *text, size_t n)
{
    struct tui_cmp_side *s = ctx;
    pthread_mutex_lock(&s->mu);
    bz_buf_append(&s->text, text, n);
    if (id >= 0)
        s->n_tokens++;
    pthread_mutex_unlock(&s->mu);
    if (s->owner->wake)
        s->owner->wake(s->owner->wake_arg);
    return s->cancel != 0;
}

static void *side_run(void *arg)
{
    struct tui_cmp_side *s = arg;
    struct tui_compare *c = s->owner;
    struct core_generate_opts o;
    core_generate_defaults(&o);
    o.max_tokens = c->max_tokens;
    o.sample.temp = c->temp;
    o.sample.seed = 1;
    o.detok_flags = CORE_DETOK_STRIP_PREFIX;
    o.cancel = &s->cancel;
    struct core_generate_result res;
    core_generate_result_init(&res);
    struct bz_err err = {0};
    core_forward_truncate(s->fwd, 0);
    double t0 = bz_now();
    int rc = core_generate_run(s->fwd, c->vocab, s->prompt.p, s->prompt.n, &o, on_text, s, &res,
                               &err);
    double dt = bz_now() - t0;
    pthread_mutex_lock(&s->mu);
    s->running = 0;
    s->done = 1;
    s->tok_s = res.gen_s > 0 ? (double)res.tokens.n / res.gen_s : (dt > 0 ? s->n_tokens / dt : 0);
    if (rc != 0)
        snprintf(s->error, sizeof s->error, "%s", bz_err_msg(&err, rc));
    pthread_mutex_unlock(&s->mu);
    core_generate_result_cleanup(&res);
    if (c->wake)
        c->wake(c->wake_arg);
    return NULL;
}

void tui_compare_cancel(struct tui_compare *c)
{
    for (int i = 0; i < 2; i++) {
        struct tui_cmp_side *s = &c->side[i];
        if (!s->thread_live)
            continue;
        s->cancel = 1;
        pthread_join(s->thread, NULL);
        s->thread_live = 0;
        s->cancel = 0;
    }
}

int tui_compare_start(struct tui_compare *c, const char *prompt, const char *prompt_id,
                      int blind, struct bz_err *err)
{
    tui_compare_cancel(c);
    free(c->prompt);
    free(c->prompt_id);
    c->prompt = bz_strdup(prompt);
    c->prompt_id = prompt_id ? bz_strdup(prompt_id) : NULL;
    c->blind = blind;
    c->swapped = blind ? (int)(bz_hash64(prompt, strlen(prompt)) & 1) : 0;
    c->voted = -1;
    c->seq++;
    struct core_chat_msg msg = {CORE_ROLE_USER, prompt, strlen(prompt)};
    struct core_template_out out;
    core_template_out_init(&out);
    int rc = core_template_render(c->vocab, c->tmpl, &msg, 1, CORE_TEMPLATE_GENERATION, &out, err);
    if (rc != 0) {
        core_template_out_cleanup(&out);
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        struct tui_cmp_side *s = &c->side[i];
        pthread_mutex_lock(&s->mu);
        s->text.len = 0;
        if (s->text.p)
            s->text.p[0] = '\0';
        s->n_tokens = 0;
        s->tok_s = 0;
        s->done = 0;
        s->running = 1;
        s->error[0] = '\0';
        s->prompt.n = 0;
        for (size_t k = 0; k < out.ids.n; k++)
            core_ids_push(&s->prompt, out.ids.p[k]);
        pthread_mutex_unlock(&s->mu);
    }
    core_template_out_cleanup(&out);
    for (int i = 0; i < 2; i++) {
        struct tui_cmp_side *s = &c->side[i];
        if (pthread_create(&s->thread, NULL, side_run, s) != 0) {
            s->running = 0;
            return bz_errf(err, BZ_EIO, "cannot start a generation thread");
        }
        s->thread_live = 1;
    }
    return 0;
}

void tui_compare_snapshot(struct tui_compare *c, int shown, struct tui_cmp_view *v)
{
    int i = c->swapped ? 1 - shown : shown;
    struct tui_cmp_side *s = &c->side[i];
    pthread_mutex_lock(&s->mu);
    v->text = bz_strndup(s->text.p ? s->text.p : "", s->text.len);
    v->running = s->running;
    v->done = s->done;
    v->n_tokens = s->n_tokens;
    v->tok_s = s->tok_s;
    snprintf(v->error, sizeof v->error, "%s", s->error);
    pthread_mutex_unlock(&s->mu);
    v->label = (c->blind && c->voted < 0) ? (shown ? "B (hidden until you vote)"
                                                   : "A (hidden until you vote)")
                                          : s->label;
}

/* ---------------------------------------------------------------- votes */

int tui_compare_vote(struct tui_compare *c, int vote, struct bz_err *err)
{
    if (!c->votes_path)
        return bz_errf(err, BZ_EINVAL, "votes need a dataset to live beside");
    if (!c->prompt)
        return bz_errf(err, BZ_EINVAL, "nothing compared yet");
    for (int i = 0; i < 2; i++)
        if (!c->side[i].done)
            return bz_errf(err, BZ_EINVAL, "wait until both answers are finished");
    /* un-shuffle: the vote was on shown sides */
    int v = vote;
    if (c->swapped && (vote == TUI_VOTE_A || vote == TUI_VOTE_B))
        v = vote == TUI_VOTE_A ? TUI_VOTE_B : TUI_VOTE_A;
    struct ds_vote dv;
    memset(&dv, 0, sizeof dv);
    dv.prompt_id = c->prompt_id;
    dv.prompt = c->prompt;
    dv.model = c->model_path;
    char *texts[2];
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&c->side[i].mu);
        texts[i] = bz_strdup(c->side[i].text.p ? c->side[i].text.p : "");
        pthread_mutex_unlock(&c->side[i].mu);
        dv.label[i] = c->side[i].label;
        dv.adapter[i] = c->side[i].adapter;
        dv.text[i] = texts[i];
    }
    dv.vote = v;
    dv.blind = c->blind;
    int rc = ds_vote_append(c->votes_path, &dv, err);
    free(texts[0]);
    free(texts[1]);
    if (rc == 0)
        c->voted = vote;
    return rc;
}

/* ---------------------------------------------------------------- word diff */

struct word {
    size_t off, len;
};

static size_t split_words(const char *s, size_t n, struct word *w, size_t max)
{
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            i++;
        if (i >= n)
            break;
        size_t st = i;
        while (i < n && !(s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            i++;
        w[k].off = st;
        w[k].len = i - st;
        k++;
    }
    return k;
}

void tui_compare_diff(const char *a, size_t na, const char *b, size_t nb, unsigned char *ma,
                      unsigned char *mb)
{
    enum { MAXW = 2000 };
    memset(ma, 0, na);
    memset(mb, 0, nb);
    struct word *wa = bz_malloc(MAXW * sizeof *wa), *wb = bz_malloc(MAXW * sizeof *wb);
    size_t ka = split_words(a, na, wa, MAXW), kb = split_words(b, nb, wb, MAXW);
    /* LCS lengths, (ka+1) x (kb+1) */
    uint16_t *L = bz_calloc((ka + 1) * (kb + 1), sizeof *L);
#define AT(i, j) L[(i) * (kb + 1) + (j)]
    for (size_t i = ka; i-- > 0;)
        for (size_t j = kb; j-- > 0;) {
            if (wa[i].len == wb[j].len && memcmp(a + wa[i].off, b + wb[j].off, wa[i].len) == 0)
                AT(i, j) = (uint16_t)(AT(i + 1, j + 1) + 1);
            else
                AT(i, j) = AT(i + 1, j) > AT(i, j + 1) ? AT(i + 1, j) : AT(i, j + 1);
        }
    unsigned char *keep_a = bz_calloc(ka + 1, 1), *keep_b = bz_calloc(kb + 1, 1);
    size_t i = 0, j = 0;
    while (i < ka && j < kb) {
        if (wa[i].len == wb[j].len && memcmp(a + wa[i].off, b + wb[j].off, wa[i].len) == 0) {
            keep_a[i++] = 1;
            keep_b[j++] = 1;
        } else if (AT(i + 1, j) >= AT(i, j + 1)) {
            i++;
        } else {
            j++;
        }
    }
#undef AT
    for (size_t k = 0; k < ka; k++)
        if (!keep_a[k])
            memset(ma + wa[k].off, 1, wa[k].len);
    for (size_t k = 0; k < kb; k++)
        if (!keep_b[k])
            memset(mb + wb[k].off, 1, wb[k].len);
    free(L);
    free(keep_a);
    free(keep_b);
    free(wa);
    free(wb);
}

/* ---------------------------------------------------------------- the judge */

struct judge_job {
    struct tui_compare *c;
    char *spec, *prompts, *question, *answer[2]; /* answers as shown: A, B */
    unsigned long seq;
};

static void judge_set(struct tui_compare *c, unsigned long seq, int state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void judge_set(struct tui_compare *c, unsigned long seq, int state, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&c->judge_mu);
    if (c->judge_seq == seq) {
        c->judge_state = state;
        va_start(ap, fmt);
        vsnprintf(c->judge_line, sizeof c->judge_line, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&c->judge_mu);
    if (c->wake)
        c->wake(c->wake_arg);
}

static const char *win_name(int w, int swapped)
{
    if (w == JUDGE_WIN_TIE)
        return "tie";
    if (w == JUDGE_WIN_ERROR)
        return "no verdict";
    return (w == JUDGE_WIN_A) != swapped ? "A" : "B";
}

static void *judge_run(void *arg)
{
    struct judge_job *jb = arg;
    struct tui_compare *c = jb->c;
    struct bz_err err = {0};
    struct judge_prompts ps;
    judge_prompts_init(&ps);
    struct judge_backend *b = NULL;
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    int rc = judge_prompts_load(&ps, jb->prompts, &err);
    const struct judge_prompt *pr = rc ? NULL : judge_prompts_pick(&ps, JUDGE_PROMPT_PAIR, 0, 0);
    if (rc == 0 && !pr)
        rc = bz_errf(&err, BZ_ENOTFOUND, "%s has no pairwise prompt", jb->prompts);
    if (rc == 0)
        rc = judge_backend_open(&b, jb->spec, &cfg, &err);
    struct bz_buf text[2];
    struct judge_msg msgs[2][2];
    struct judge_request req[2];
    struct judge_result res[2];
    for (int o = 0; o < 2; o++) {
        bz_buf_init(&text[o]);
        judge_result_init(&res[o]);
    }
    for (int o = 0; o < 2 && rc == 0; o++) {
        /* order 0: A then B; order 1: B then A */
        struct judge_fill f;
        memset(&f, 0, sizeof f);
        f.question[0] = jb->question;
        f.answer_a[0] = jb->answer[o];
        f.answer_b[0] = jb->answer[1 - o];
        rc = judge_prompt_fill(pr->tmpl, &f, &text[o], &err);
        size_t n = 0;
        if (pr->system && pr->system[0])
            msgs[o][n++] = (struct judge_msg){JUDGE_ROLE_SYSTEM, pr->system};
        msgs[o][n++] = (struct judge_msg){JUDGE_ROLE_USER, text[o].p ? text[o].p : ""};
        memset(&req[o], 0, sizeof req[o]);
        req[o].msgs = msgs[o];
        req[o].n_msgs = n;
        judge_sampling_defaults(&req[o].s);
        req[o].s.temperature = 0;
        req[o].s.max_tokens = 512;
    }
    if (rc == 0)
        rc = judge_backend_run(b, req, 2, res, NULL, NULL, NULL);
    if (rc != 0) {
        judge_set(c, jb->seq, -1, "judge: %s", bz_err_msg(&err, rc));
    } else if (res[0].rc || res[1].rc) {
        judge_set(c, jb->seq, -1, "judge: %s", res[0].rc ? res[0].error : res[1].error);
    } else {
        int w0 = judge_verdict_pair(res[0].text.p ? res[0].text.p : "");
        int w1 = judge_verdict_pair(res[1].text.p ? res[1].text.p : "");
        const char *a = win_name(w0, 0), *bb = win_name(w1, 1);
        const char *verdict = strcmp(a, bb) == 0 && (strcmp(a, "A") == 0 || strcmp(a, "B") == 0)
                                  ? a : (w0 == JUDGE_WIN_ERROR || w1 == JUDGE_WIN_ERROR)
                                            ? "no verdict" : "tie";
        judge_set(c, jb->seq, 2, "judge %s: %s%s (A first: %s; B first: %s)",
                  judge_backend_model(b), verdict,
                  strcmp(verdict, "A") == 0 || strcmp(verdict, "B") == 0 ? " better" : "", a, bb);
    }
    for (int o = 0; o < 2; o++) {
        bz_buf_cleanup(&text[o]);
        judge_result_cleanup(&res[o]);
    }
    judge_backend_free(b);
    judge_prompts_cleanup(&ps);
    free(jb->spec);
    free(jb->prompts);
    free(jb->question);
    free(jb->answer[0]);
    free(jb->answer[1]);
    free(jb);
    return NULL;
}

int tui_compare_judge(struct tui_compare *c, const char *prompts_path, struct bz_err *err)
{
    if (!c->judge_spec)
        return bz_errf(err, BZ_EINVAL, "no judge: start with 'bezoar compare --judge SPEC' or "
                       "set BEZOAR_JUDGE (openai:URL#MODEL or local:MODEL)");
    if (!c->prompt || !c->side[0].done || !c->side[1].done)
        return bz_errf(err, BZ_EINVAL, "wait until both answers are finished");
    if (c->judge_live) {
        pthread_join(c->judge_thread, NULL);
        c->judge_live = 0;
    }
    struct judge_job *jb = bz_calloc(1, sizeof *jb);
    jb->c = c;
    jb->spec = bz_strdup(c->judge_spec);
    jb->prompts = bz_strdup(prompts_path);
    jb->question = bz_strdup(c->prompt);
    for (int shown = 0; shown < 2; shown++) {
        struct tui_cmp_view v;
        tui_compare_snapshot(c, shown, &v);
        jb->answer[shown] = v.text;
    }
    pthread_mutex_lock(&c->judge_mu);
    c->judge_seq = c->seq;
    jb->seq = c->seq;
    c->judge_state = 1;
    snprintf(c->judge_line, sizeof c->judge_line, "asking the judge (%s), both orders ...",
             c->judge_spec);
    pthread_mutex_unlock(&c->judge_mu);
    if (pthread_create(&c->judge_thread, NULL, judge_run, jb) != 0) {
        free(jb->spec);
        free(jb->prompts);
        free(jb->question);
        free(jb->answer[0]);
        free(jb->answer[1]);
        free(jb);
        return bz_errf(err, BZ_EIO, "cannot start the judge thread");
    }
    c->judge_live = 1;
    return 0;
}

int tui_compare_judge_line(struct tui_compare *c, char *out, size_t n)
{
    pthread_mutex_lock(&c->judge_mu);
    int st = c->judge_seq == c->seq ? c->judge_state : 0;
    snprintf(out, n, "%s", st ? c->judge_line : "");
    pthread_mutex_unlock(&c->judge_mu);
    return st;
}
