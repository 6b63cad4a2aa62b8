/*
 * journal.c: the decision journal (DATASET.bezoar/journal): decisions, edits, undo
 * and redo as appended JSON lines, and the in-memory state they replay into.
 *
 * Line format (one JSON object per line, written by one write() + fsync per step):
 *   {"t":1764135688.123,"g":7,"n":2,"id":"abc","op":"accept"}
 *   {"t":...,"g":8,"n":1,"id":"abc","op":"edit","msgs":[{"role":"user","content":".."}]}
 *   {"t":...,"g":9,"n":1,"id":"abc","op":"edit","msgs":null}        (edit dropped)
 *   {"t":...,"g":10,"n":2,"id":"abc","op":"reset","undo":7}          (undo of step 7)
 *   {"t":...,"g":11,"n":2,"id":"abc","op":"accept","redo":7}         (redo of step 7)
 * g numbers a step (one ds_decide/ds_edit/ds_undo/ds_redo call) and n is its line
 * count: replay applies a step only when all its n lines are there, so a step torn
 * by a crash is dropped whole (and counted in ds_journal_torn). An undo line carries
 * the state to restore, so replay needs no history to get the state right; replay
 * also rebuilds the undo and redo stacks (a plain step pushes undo and clears redo,
 * an undo step moves the top of undo to redo, a redo step moves it back), so undo
 * after a reopen goes on where the session left off. Lines without g/n (hand
 * written) count as one-line steps.
 *
 * Suggestions of the automatic filters are steps of their own, never decisions:
 *   {"t":...,"g":12,"n":2,"id":"abc","op":"suggest","suggest":"reject","why":"refusal"}
 *   {"t":...,"g":13,"n":1,"id":"abc","op":"suggest","suggest":"reset"}  (cleared)
 * they replay into a table of their own (the last one of an id wins) and touch neither
 * the statuses nor the undo and redo stacks; a torn suggestion step is dropped whole
 * like any other.
 *
 * Opening writable truncates a torn tail, so that the next line starts clean.
 * Left out: locking between two processes writing the same journal at once (each
 * step is one O_APPEND write, which keeps lines whole, but undo stacks diverge).
 */
#include "dataset/internal.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const op_names[] = {"accept", "reject", "flag", "reset", "edit"};

const char *ds_op_name(int op)
{
    return op >= 0 && op < (int)BZ_ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

int ds_op_parse(const char *name)
{
    for (int i = 0; i < (int)BZ_ARRAY_SIZE(op_names); i++)
        if (name && strcmp(name, op_names[i]) == 0)
            return i;
    return -1;
}

static int op_status(int op)
{
    switch (op) {
    case DS_OP_ACCEPT:
        return DS_ACCEPTED;
    case DS_OP_REJECT:
        return DS_REJECTED;
    case DS_OP_FLAG:
        return DS_FLAGGED;
    default:
        return DS_PENDING;
    }
}

static int status_op(int st)
{
    switch (st) {
    case DS_ACCEPTED:
        return DS_OP_ACCEPT;
    case DS_REJECTED:
        return DS_OP_REJECT;
    case DS_FLAGGED:
        return DS_OP_FLAG;
    default:
        return DS_OP_RESET;
    }
}

static char *dup_or_null(const char *s)
{
    return s ? bz_strdup(s) : NULL;
}

/* ---------------------------------------------------------------- suggestions */

struct ds__sugg {
    uint64_t h;
    char *id;
    int op;      /* DS_OP_ACCEPT, DS_OP_REJECT, DS_OP_FLAG; DS_OP_RESET: cleared */
    char *why;   /* or NULL */
};

struct ds__suggs {
    struct ds__sugg **v; /* open addressing by h */
    size_t cap, used, active;
};

/* id NULL: by the hash alone. */
static struct ds__sugg *sugg_find(const struct ds__suggs *t, uint64_t h, const char *id)
{
    if (!t || !t->cap)
        return NULL;
    size_t mask = t->cap - 1, j = (size_t)h & mask;
    while (t->v[j]) {
        if (t->v[j]->h == h && (!id || strcmp(t->v[j]->id, id) == 0))
            return t->v[j];
        j = (j + 1) & mask;
    }
    return NULL;
}

static void sugg_put(struct ds__suggs *t, struct ds__sugg *e)
{
    size_t mask = t->cap - 1, j = (size_t)e->h & mask;
    while (t->v[j])
        j = (j + 1) & mask;
    t->v[j] = e;
}

/* Under mu: record a suggestion (op DS_OP_RESET clears it). */
static void sugg_set(struct ds_dataset *ds, const char *id, int op, const char *why)
{
    if (!ds->suggs)
        ds->suggs = bz_calloc(1, sizeof *ds->suggs);
    struct ds__suggs *t = ds->suggs;
    uint64_t h = bz_hash64(id, strlen(id));
    struct ds__sugg *e = sugg_find(t, h, id);
    if (!e) {
        if (op == DS_OP_RESET)
            return;
        if ((t->used + 1) * 2 > t->cap) {
            struct ds__sugg **old = t->v;
            size_t oldcap = t->cap;
            t->cap = oldcap ? oldcap * 2 : 64;
            t->v = bz_calloc(t->cap, sizeof *t->v);
            for (size_t i = 0; i < oldcap; i++)
                if (old[i])
                    sugg_put(t, old[i]);
            free(old);
        }
        e = bz_calloc(1, sizeof *e);
        e->h = h;
        e->id = bz_strdup(id);
        e->op = DS_OP_RESET;
        sugg_put(t, e);
        t->used++;
    }
    t->active += (op != DS_OP_RESET) - (e->op != DS_OP_RESET);
    e->op = op;
    free(e->why);
    e->why = op != DS_OP_RESET && why ? bz_strdup(why) : NULL;
}

static void suggs_free(struct ds__suggs *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->v[i]) {
            free(t->v[i]->id);
            free(t->v[i]->why);
            free(t->v[i]);
        }
    }
    free(t->v);
    free(t);
}

/* ---------------------------------------------------------------- state table */

struct ds__jent *ds__jt_find(struct ds_dataset *ds, uint64_t h, const char *id)
{
    if (!ds->jt_cap)
        return NULL;
    size_t mask = ds->jt_cap - 1, j = (size_t)h & mask;
    while (ds->jt[j]) {
        if (ds->jt[j]->h == h && (!id || strcmp(ds->jt[j]->id, id) == 0))
            return ds->jt[j];
        j = (j + 1) & mask;
    }
    return NULL;
}

static void jt_put(struct ds_dataset *ds, struct ds__jent *e)
{
    size_t mask = ds->jt_cap - 1, j = (size_t)e->h & mask;
    while (ds->jt[j])
        j = (j + 1) & mask;
    ds->jt[j] = e;
}

/* Under mu: the entry of id, created (pending, no edit) when missing. */
static struct ds__jent *jt_get(struct ds_dataset *ds, const char *id)
{
    uint64_t h = bz_hash64(id, strlen(id));
    struct ds__jent *e = ds__jt_find(ds, h, id);
    if (e)
        return e;
    if ((ds->jt_n + 1) * 2 > ds->jt_cap) {
        struct ds__jent **old = ds->jt;
        size_t oldcap = ds->jt_cap;
        ds->jt_cap = oldcap ? oldcap * 2 : 64;
        ds->jt = bz_calloc(ds->jt_cap, sizeof *ds->jt);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i])
                jt_put(ds, old[i]);
        free(old);
    }
    e = bz_calloc(1, sizeof *e);
    e->h = h;
    e->id = bz_strdup(id);
    e->status = DS_PENDING;
    jt_put(ds, e);
    ds->jt_n++;
    return e;
}

/* Under mu: set the state of id, keeping the per-status record counts right. */
static void set_state(struct ds_dataset *ds, const char *id, int status, int set_edit,
                      const char *edit)
{
    struct ds__jent *e = jt_get(ds, id);
    if (e->status != status) {
        uint32_t m = ds__idt_mult(ds, e->h);
        ds->st_count[e->status] -= m;
        ds->st_count[status] += m;
        e->status = status;
    }
    if (set_edit) {
        free(e->edit);
        e->edit = dup_or_null(edit);
    }
}

/* ---------------------------------------------------------------- undo stacks */

static void step_free(struct ds__step *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->ch[i].id);
        free(s->ch[i].prev_edit);
        free(s->ch[i].new_edit);
    }
    free(s->ch);
    memset(s, 0, sizeof *s);
}

static void stack_push(struct ds__stack *st, struct ds__step *s)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->v = bz_realloc(st->v, st->cap * sizeof *st->v);
    }
    st->v[st->n++] = *s;
    memset(s, 0, sizeof *s);
}

static void stack_clear(struct ds__stack *st)
{
    for (size_t i = 0; i < st->n; i++)
        step_free(&st->v[i]);
    st->n = 0;
}

/* ---------------------------------------------------------------- writing */

static void line_begin(struct bz_buf *b, double t, uint64_t g, size_t n, const char *id,
                       int op)
{
    bz_buf_printf(b, "{\"t\":%.3f,\"g\":%llu,\"n\":%zu,\"id\":", t, (unsigned long long)g, n);
    bz_buf_json_str(b, id, strlen(id));
    bz_buf_printf(b, ",\"op\":\"%s\"", ds_op_name(op));
}

/* Append b to the journal with one write and one fsync. On failure the file is cut
 * back to where it was, so no half step stays behind. */
static int journal_write(struct ds_dataset *ds, const struct bz_buf *b, struct bz_err *err)
{
    if (ds->jfd < 0)
        return bz_errf(err, BZ_EUNSUPPORTED, "%s: opened read-only, decisions are not saved",
                       ds->path);
    off_t before = lseek(ds->jfd, 0, SEEK_END);
    const char *p = b->p;
    size_t n = b->len;
    while (n > 0) {
        ssize_t w = write(ds->jfd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            if (before >= 0 && ftruncate(ds->jfd, before) < 0)
                e = errno; /* report the worse news: the journal may hold a torn step */
            return bz_errf(err, -e, "%s: write failed: %s", ds->jpath, strerror(e));
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(ds->jfd) < 0) {
        int e = errno;
        return bz_errf(err, -e, "%s: fsync failed: %s", ds->jpath, strerror(e));
    }
    return 0;
}

/* Current state of id (under mu). */
static void cur_state(struct ds_dataset *ds, const char *id, int *status, char **edit)
{
    struct ds__jent *e = ds__jt_find(ds, bz_hash64(id, strlen(id)), id);
    *status = e ? e->status : DS_PENDING;
    if (edit)
        *edit = e && e->edit ? bz_strdup(e->edit) : NULL;
}

/* Write and apply a new step of changes (prev states are filled here). */
static int do_step(struct ds_dataset *ds, struct ds__step *s, struct bz_err *err)
{
    struct bz_buf b;
    bz_buf_init(&b);
    double t = bz_wall();
    s->g = ds->next_g;
    for (size_t i = 0; i < s->n; i++) {
        struct ds__change *c = &s->ch[i];
        if (c->is_edit) {
            line_begin(&b, t, s->g, s->n, c->id, DS_OP_EDIT);
            bz_buf_puts(&b, ",\"msgs\":");
            bz_buf_puts(&b, c->new_edit ? c->new_edit : "null");
        } else {
            line_begin(&b, t, s->g, s->n, c->id, status_op(c->new_status));
        }
        bz_buf_puts(&b, "}\n");
    }
    int rc = journal_write(ds, &b, err);
    bz_buf_cleanup(&b);
    if (rc < 0)
        return rc;
    ds->next_g++;
    pthread_mutex_lock(&ds->mu);
    for (size_t i = 0; i < s->n; i++) {
        struct ds__change *c = &s->ch[i];
        cur_state(ds, c->id, &c->prev_status, &c->prev_edit);
        if (c->is_edit) {
            c->new_status = c->prev_status;
            set_state(ds, c->id, c->prev_status, 1, c->new_edit);
        } else {
            set_state(ds, c->id, c->new_status, 0, NULL);
        }
    }
    pthread_mutex_unlock(&ds->mu);
    stack_push(&ds->undo, s);
    stack_clear(&ds->redo);
    return 0;
}

/* Contract: see dataset.h. Owner thread only. */
int ds_decide(struct ds_dataset *ds, const char *const *ids, size_t n, int op,
              struct bz_err *err)
{
    if (op < DS_OP_ACCEPT || op > DS_OP_RESET)
        return bz_errf(err, BZ_EINVAL, "decide: op must be accept, reject, flag or reset");
    if (n == 0)
        return 0;
    struct ds__step s = {0};
    s.n = n;
    s.ch = bz_calloc(n, sizeof *s.ch);
    for (size_t i = 0; i < n; i++) {
        if (!ids[i] || !ids[i][0]) {
            step_free(&s);
            return bz_errf(err, BZ_EINVAL, "decide: empty id");
        }
        s.ch[i].id = bz_strdup(ids[i]);
        s.ch[i].new_status = op_status(op);
    }
    int rc = do_step(ds, &s, err);
    step_free(&s);
    return rc;
}

static int edit_step(struct ds_dataset *ds, const char *id, char *json, struct bz_err *err)
{
    struct ds__step s = {0};
    s.n = 1;
    s.ch = bz_calloc(1, sizeof *s.ch);
    s.ch[0].id = bz_strdup(id);
    s.ch[0].is_edit = 1;
    s.ch[0].new_edit = json;
    int rc = do_step(ds, &s, err);
    step_free(&s);
    return rc;
}

/* Contract: see dataset.h. msgs are copied (as JSON) into the journal state. */
int ds_edit(struct ds_dataset *ds, const char *id, const struct ds_msg *msgs, int n_msgs,
            struct bz_err *err)
{
    if (!id || !id[0])
        return bz_errf(err, BZ_EINVAL, "edit: empty id");
    if (n_msgs <= 0)
        return bz_errf(err, BZ_EINVAL, "edit: no messages");
    for (int i = 0; i < n_msgs; i++) {
        const char *c = msgs[i].content ? msgs[i].content : "";
        if (msgs[i].role < DS_ROLE_SYSTEM || msgs[i].role > DS_ROLE_ASSISTANT)
            return bz_errf(err, BZ_EINVAL, "edit: message %d has no valid role", i + 1);
        if (bz_utf8_check(c, strlen(c)) < strlen(c))
            return bz_errf(err, BZ_EINVAL, "edit: message %d is not valid UTF-8", i + 1);
    }
    struct bz_buf b;
    bz_buf_init(&b);
    ds__msgs_to_json(&b, msgs, n_msgs);
    return edit_step(ds, id, bz_buf_steal(&b), err);
}

/* Contract: see dataset.h. */
int ds_revert_edit(struct ds_dataset *ds, const char *id, struct bz_err *err)
{
    if (!id || !id[0])
        return bz_errf(err, BZ_EINVAL, "revert: empty id");
    return edit_step(ds, id, NULL, err);
}

/* Write the lines that move every change of s to its prev (undo) or new (redo) state,
 * then apply them. */
static int replay_step(struct ds_dataset *ds, const struct ds__step *s, int undo,
                       struct bz_err *err)
{
    struct bz_buf b;
    bz_buf_init(&b);
    double t = bz_wall();
    uint64_t g = ds->next_g;
    for (size_t k = 0; k < s->n; k++) {
        const struct ds__change *c = &s->ch[undo ? s->n - 1 - k : k];
        int st = undo ? c->prev_status : c->new_status;
        const char *ed = undo ? c->prev_edit : c->new_edit;
        if (c->is_edit) {
            line_begin(&b, t, g, s->n, c->id, DS_OP_EDIT);
            bz_buf_puts(&b, ",\"msgs\":");
            bz_buf_puts(&b, ed ? ed : "null");
        } else {
            line_begin(&b, t, g, s->n, c->id, status_op(st));
        }
        bz_buf_printf(&b, ",\"%s\":%llu}\n", undo ? "undo" : "redo", (unsigned long long)s->g);
    }
    int rc = journal_write(ds, &b, err);
    bz_buf_cleanup(&b);
    if (rc < 0)
        return rc;
    ds->next_g++;
    pthread_mutex_lock(&ds->mu);
    for (size_t k = 0; k < s->n; k++) {
        const struct ds__change *c = &s->ch[undo ? s->n - 1 - k : k];
        if (c->is_edit)
            set_state(ds, c->id, undo ? c->prev_status : c->new_status, 1,
                      undo ? c->prev_edit : c->new_edit);
        else
            set_state(ds, c->id, undo ? c->prev_status : c->new_status, 0, NULL);
    }
    pthread_mutex_unlock(&ds->mu);
    return 0;
}

static int move_step(struct ds_dataset *ds, int undo, const char **first_id,
                     struct bz_err *err)
{
    struct ds__stack *from = undo ? &ds->undo : &ds->redo, *to = undo ? &ds->redo : &ds->undo;
    if (first_id)
        *first_id = NULL;
    if (from->n == 0)
        return 0;
    struct ds__step *s = &from->v[from->n - 1];
    int rc = replay_step(ds, s, undo, err);
    if (rc < 0)
        return rc;
    struct ds__step moved = *s;
    from->n--;
    stack_push(to, &moved);
    if (first_id)
        *first_id = to->v[to->n - 1].n ? to->v[to->n - 1].ch[0].id : NULL;
    return 1;
}

/* Contract: see dataset.h. *first_id stays valid until the next decision call. */
int ds_undo(struct ds_dataset *ds, const char **first_id, struct bz_err *err)
{
    return move_step(ds, 1, first_id, err);
}

int ds_redo(struct ds_dataset *ds, const char **first_id, struct bz_err *err)
{
    return move_step(ds, 0, first_id, err);
}

size_t ds_undo_depth(struct ds_dataset *ds)
{
    return ds->undo.n;
}

size_t ds_redo_depth(struct ds_dataset *ds)
{
    return ds->redo.n;
}

/* Contract: see dataset.h. Any thread. */
int ds_status(struct ds_dataset *ds, const char *id)
{
    if (!id)
        return DS_PENDING;
    pthread_mutex_lock(&ds->mu);
    int st;
    cur_state(ds, id, &st, NULL);
    pthread_mutex_unlock(&ds->mu);
    return st;
}

size_t ds_journal_torn(struct ds_dataset *ds)
{
    return ds->torn;
}

/* Contract: see dataset.h. One journal step (one write, one fsync) that changes no
 * status and no undo stack. Owner thread only. */
int ds_suggest(struct ds_dataset *ds, const char *const *ids, size_t n, int op,
               const char *why, struct bz_err *err)
{
    if (op < DS_OP_ACCEPT || op > DS_OP_RESET)
        return bz_errf(err, BZ_EINVAL, "suggest: op must be accept, reject, flag or reset");
    if (n == 0)
        return 0;
    if (why && bz_utf8_check(why, strlen(why)) < strlen(why))
        return bz_errf(err, BZ_EINVAL, "suggest: the reason is not valid UTF-8");
    struct bz_buf b;
    bz_buf_init(&b);
    double t = bz_wall();
    for (size_t i = 0; i < n; i++) {
        if (!ids[i] || !ids[i][0]) {
            bz_buf_cleanup(&b);
            return bz_errf(err, BZ_EINVAL, "suggest: empty id");
        }
        bz_buf_printf(&b, "{\"t\":%.3f,\"g\":%llu,\"n\":%zu,\"id\":", t,
                      (unsigned long long)ds->next_g, n);
        bz_buf_json_str(&b, ids[i], strlen(ids[i]));
        bz_buf_printf(&b, ",\"op\":\"suggest\",\"suggest\":\"%s\"", ds_op_name(op));
        if (why && op != DS_OP_RESET) {
            bz_buf_puts(&b, ",\"why\":");
            bz_buf_json_str(&b, why, strlen(why));
        }
        bz_buf_puts(&b, "}\n");
    }
    int rc = journal_write(ds, &b, err);
    bz_buf_cleanup(&b);
    if (rc < 0)
        return rc;
    ds->next_g++;
    pthread_mutex_lock(&ds->mu);
    for (size_t i = 0; i < n; i++)
        sugg_set(ds, ids[i], op, why);
    pthread_mutex_unlock(&ds->mu);
    return 0;
}

/* Contract: see dataset.h. *why is borrowed until the next journal write or ds_close. */
int ds_suggestion(struct ds_dataset *ds, const char *id, int *op, const char **why)
{
    if (!id)
        return 0;
    pthread_mutex_lock(&ds->mu);
    const struct ds__sugg *e = sugg_find(ds->suggs, bz_hash64(id, strlen(id)), id);
    int has = e && e->op != DS_OP_RESET;
    if (has) {
        if (op)
            *op = e->op;
        if (why)
            *why = e->why;
    }
    pthread_mutex_unlock(&ds->mu);
    return has;
}

int ds_suggestion_hash(struct ds_dataset *ds, uint64_t id_hash, int *op)
{
    pthread_mutex_lock(&ds->mu);
    const struct ds__sugg *e = sugg_find(ds->suggs, id_hash, NULL);
    int has = e && e->op != DS_OP_RESET;
    if (has && op)
        *op = e->op;
    pthread_mutex_unlock(&ds->mu);
    return has;
}

size_t ds_suggestion_count(struct ds_dataset *ds)
{
    pthread_mutex_lock(&ds->mu);
    size_t n = ds->suggs ? ds->suggs->active : 0;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

/* ---------------------------------------------------------------- replay */

struct rline {
    char *id;
    int op;
    int has_msgs;
    char *msgs; /* JSON text or NULL for null */
    int sugg;   /* a suggestion line: op is the suggested op */
    char *why;
};

struct rgroup {
    uint64_t g;
    size_t n, have;
    long long undo, redo; /* -1 when absent */
    struct rline *v;
};

static void rgroup_reset(struct rgroup *gr)
{
    for (size_t i = 0; i < gr->have; i++) {
        free(gr->v[i].id);
        free(gr->v[i].msgs);
        free(gr->v[i].why);
    }
    free(gr->v);
    memset(gr, 0, sizeof *gr);
    gr->undo = gr->redo = -1;
}

/* Apply a complete group read from the journal, rebuilding the stacks. */
static void rgroup_apply(struct ds_dataset *ds, struct rgroup *gr)
{
    size_t decisions = 0;
    for (size_t i = 0; i < gr->have; i++) {
        if (gr->v[i].sugg)
            sugg_set(ds, gr->v[i].id, gr->v[i].op, gr->v[i].why);
        else
            decisions++;
    }
    if (decisions == 0) { /* a suggestion step: no status, no undo */
        if (gr->g >= ds->next_g)
            ds->next_g = gr->g + 1;
        return;
    }
    struct ds__step s = {0};
    s.g = gr->g;
    s.n = decisions;
    s.ch = bz_calloc(decisions, sizeof *s.ch);
    for (size_t i = 0, k = 0; i < gr->have; i++) {
        struct rline *l = &gr->v[i];
        if (l->sugg)
            continue;
        struct ds__change *c = &s.ch[k++];
        c->id = bz_strdup(l->id);
        cur_state(ds, l->id, &c->prev_status, &c->prev_edit);
        if (l->op == DS_OP_EDIT) {
            c->is_edit = 1;
            c->new_status = c->prev_status;
            c->new_edit = dup_or_null(l->msgs);
            set_state(ds, l->id, c->prev_status, 1, l->msgs);
        } else {
            c->new_status = op_status(l->op);
            set_state(ds, l->id, c->new_status, 0, NULL);
        }
    }
    if (gr->undo >= 0) {
        if (ds->undo.n && ds->undo.v[ds->undo.n - 1].g == (uint64_t)gr->undo) {
            struct ds__step m = ds->undo.v[--ds->undo.n];
            stack_push(&ds->redo, &m);
        }
        step_free(&s);
    } else if (gr->redo >= 0) {
        if (ds->redo.n && ds->redo.v[ds->redo.n - 1].g == (uint64_t)gr->redo) {
            struct ds__step m = ds->redo.v[--ds->redo.n];
            stack_push(&ds->undo, &m);
        }
        step_free(&s);
    } else {
        stack_push(&ds->undo, &s);
        stack_clear(&ds->redo);
    }
    if (gr->g >= ds->next_g)
        ds->next_g = gr->g + 1;
}

/* Parse one journal line into l (and its group fields). 0 ok, -1 not a valid line. */
static int parse_line(const char *p, size_t n, struct rline *l, uint64_t *g, size_t *cnt,
                      long long *undo, long long *redo)
{
    memset(l, 0, sizeof *l);
    cJSON *o = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    const cJSON *jg = cJSON_GetObjectItemCaseSensitive(o, "g");
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(o, "n");
    const cJSON *ju = cJSON_GetObjectItemCaseSensitive(o, "undo");
    const cJSON *jr = cJSON_GetObjectItemCaseSensitive(o, "redo");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(o, "msgs");
    int opv = cJSON_IsString(op) ? ds_op_parse(op->valuestring) : -1;
    if (cJSON_IsString(op) && strcmp(op->valuestring, "suggest") == 0) {
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(o, "suggest");
        const cJSON *jw = cJSON_GetObjectItemCaseSensitive(o, "why");
        opv = cJSON_IsString(js) ? ds_op_parse(js->valuestring) : -1;
        if (opv == DS_OP_EDIT || (jw && !cJSON_IsString(jw) && !cJSON_IsNull(jw)))
            opv = -1;
        l->sugg = 1;
        l->why = cJSON_IsString(jw) ? bz_strdup(jw->valuestring) : NULL;
    }
    if (!cJSON_IsString(id) || !id->valuestring[0] || opv < 0 ||
        (opv == DS_OP_EDIT && !(cJSON_IsArray(jm) || cJSON_IsNull(jm)))) {
        cJSON_Delete(o);
        free(l->why);
        l->why = NULL;
        return -1;
    }
    l->id = bz_strdup(id->valuestring);
    l->op = opv;
    if (opv == DS_OP_EDIT && cJSON_IsArray(jm)) {
        char *s = cJSON_PrintUnformatted(jm);
        l->msgs = bz_strdup(s ? s : "[]");
        cJSON_free(s);
    }
    *g = cJSON_IsNumber(jg) && jg->valuedouble >= 0 ? (uint64_t)jg->valuedouble : UINT64_MAX;
    *cnt = cJSON_IsNumber(jn) && jn->valuedouble >= 1 ? (size_t)jn->valuedouble : 1;
    *undo = cJSON_IsNumber(ju) ? (long long)ju->valuedouble : -1;
    *redo = cJSON_IsNumber(jr) ? (long long)jr->valuedouble : -1;
    cJSON_Delete(o);
    return 0;
}

static void replay(struct ds_dataset *ds, const char *text, size_t len, size_t *good_end)
{
    struct rgroup gr;
    memset(&gr, 0, sizeof gr);
    rgroup_reset(&gr);
    size_t pos = 0, group_start = 0;
    *good_end = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t next = nl ? end + 1 : len;
        const char *p = text + pos;
        size_t n = end - pos;
        int blank = 1;
        for (size_t i = 0; i < n; i++)
            blank &= p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
        if (blank) {
            if (nl && gr.have == 0)
                *good_end = next;
            pos = next;
            continue;
        }
        struct rline l;
        uint64_t g;
        size_t cnt;
        long long undo, redo;
        if (!nl || parse_line(p, n, &l, &g, &cnt, &undo, &redo) < 0) {
            ds->torn += 1 + gr.have;
            rgroup_reset(&gr);
            pos = next;
            continue;
        }
        if (g == UINT64_MAX) { /* a hand-written line: a step of its own */
            g = ds->next_g;
            cnt = 1;
        }
        if (gr.have && (gr.g != g || gr.n != cnt)) {
            ds->torn += gr.have; /* an incomplete step followed by another */
            rgroup_reset(&gr);
        }
        if (gr.have == 0) {
            gr.g = g;
            gr.n = cnt;
            gr.undo = undo;
            gr.redo = redo;
            gr.v = bz_calloc(cnt, sizeof *gr.v);
            group_start = pos;
        }
        gr.v[gr.have++] = l;
        if (gr.have == gr.n) {
            rgroup_apply(ds, &gr);
            rgroup_reset(&gr);
            *good_end = next;
        }
        pos = next;
    }
    if (gr.have) {
        ds->torn += gr.have;
        *good_end = group_start;
    }
    rgroup_reset(&gr);
}

int ds__journal_open(struct ds_dataset *ds, struct bz_err *err)
{
    ds->jfd = -1;
    ds->next_g = 1;
    ds->jdir = bz_asprintf("%s.bezoar", ds->path);
    ds->jpath = bz_path_join(ds->jdir, "journal");
    struct stat st;
    if (stat(ds->jpath, &st) == 0) {
        char *text = NULL;
        size_t len = 0;
        int rc = bz_read_file(ds->jpath, &text, &len, err);
        if (rc < 0)
            return rc;
        size_t good_end = 0;
        pthread_mutex_lock(&ds->mu);
        replay(ds, text, len, &good_end);
        pthread_mutex_unlock(&ds->mu);
        free(text);
        if (!ds->read_only && good_end < len) {
            if (truncate(ds->jpath, (off_t)good_end) < 0)
                return bz_errf(err, -errno, "%s: cannot cut the torn tail: %s", ds->jpath,
                               strerror(errno));
        }
    }
    if (ds->read_only)
        return 0;
    int rc = bz_mkdir_p(ds->jdir, err);
    if (rc < 0)
        return rc;
    int created = access(ds->jpath, F_OK) != 0;
    ds->jfd = open(ds->jpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (ds->jfd < 0)
        return bz_errf(err, -errno, "%s: cannot open the journal: %s", ds->jpath,
                       strerror(errno));
    if (created) { /* the new file in its directory, the directory in its parent */
        fsync(ds->jfd);
        bz_fsync_dir(ds->jpath);
        bz_fsync_dir(ds->jdir);
    }
    return 0;
}

void ds__journal_close(struct ds_dataset *ds)
{
    if (ds->jfd >= 0)
        close(ds->jfd);
    ds->jfd = -1;
    stack_clear(&ds->undo);
    stack_clear(&ds->redo);
    free(ds->undo.v);
    free(ds->redo.v);
    for (size_t i = 0; i < ds->jt_cap; i++) {
        if (ds->jt[i]) {
            free(ds->jt[i]->id);
            free(ds->jt[i]->edit);
            free(ds->jt[i]);
        }
    }
    free(ds->jt);
    ds->jt = NULL;
    ds->jt_cap = ds->jt_n = 0;
    suggs_free(ds->suggs);
    ds->suggs = NULL;
    ds__scores_free(ds);
    free(ds->jdir);
    free(ds->jpath);
}
