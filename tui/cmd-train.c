/*
 * cmd-train.c: `bezoar train`, the training worker: LoRA (or --full) supervised
 * fine-tuning on a dataset's pairs, or DPO on its preference pairs (--method dpo),
 * with events as JSON lines, checkpoints, resume and adapter export (PEFT directory +
 * llama.cpp GGUF); --init-adapter continues from an earlier run's adapter.
 *
 * Key idea: everything random is a pure function of (seed, counter): the data order
 * of epoch E, the dropout masks of micro-batch M, the adapter's initial A. A
 * checkpoint therefore only needs the parameters, the AdamW moments and two counters
 * (optimizer step, micro-batches consumed), and a resumed run repeats the
 * uninterrupted one bit for bit (same --threads: the matmul split depends on it).
 *
 * Data: records with the chosen status (accepted by default; the journal's decisions
 * and edits apply), rendered by the chat template into ids and an assistant mask,
 * truncated to --seq; a held-out split for eval loss; micro-batches by length
 * bucketing (sorted windows of 64 batches), each padded to its own longest row;
 * --pack puts several examples in a row, each in its own attention segment. A
 * preference pair trains SFT on prompt + chosen.
 *
 * DPO: each usable pair (both sides non-empty and different; the others are counted
 * and reported) becomes two examples, prompt + chosen and prompt + rejected, batched
 * as two rows of one micro-batch (--batch counts pairs). The reference log-probs are
 * computed once, before step 1, with the starting parameters (base, or base + the
 * --init-adapter) and the same weights in memory, and kept in RUN/reference.bin so a
 * resumed run uses the same numbers. The split is over pairs.
 *
 * Left out: packing for DPO, full-weight DPO, per-layer adapter ranks.
 */
#include "tui/tui.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "dataset/dataset.h"

BZ_CMD("train", tui_cmd_train, "LoRA (or full) fine-tuning or DPO on a dataset's accepted pairs");

static const char usage[] =
    "usage: bezoar train -m MODEL --data DATASET --out runs/NAME [options]\n"
    "       bezoar train --resume runs/NAME [--json] [--quiet]\n"
    "       bezoar train --recipe FILE --out runs/NAME   stages in order (--recipe -h)\n"
    "  --status S         accepted (default), all, pending, flagged, rejected or a list\n"
    "  --template T       chatml, llama2, llama3, zephyr, phi3, alpaca (default: the model's)\n"
    "  --targets LIST     q,k,v,o,gate,up,down (default q,k,v) or all\n"
    "  --rank R --alpha A --dropout D --rslora     LoRA (default 16, 16, 0.05)\n"
    "  --full             train every weight instead of an adapter\n"
    "  --lr X (2e-4) --weight-decay W (0) --warmup N (0) --schedule cosine|linear|constant\n"
    "  --min-lr-ratio F (0) --clip G (1.0) --max-bad-steps K (5)\n"
    "  --epochs E (1) | --max-steps N    --batch B (4) --grad-accum G (1) --seq S (512)\n"
    "  --eval-split F (0.05) --eval-every N (50) --save-every N (100) --keep K (3)\n"
    "  --pack             several examples per row (attention kept within each)\n"
    "  --method sft|dpo   supervised (default) or DPO on preference pairs (prompt +\n"
    "                     chosen / rejected); DPO: --batch counts pairs, dropout 0 unless\n"
    "                     --dropout is given\n"
    "  --beta B (0.1) --label-smoothing EPS (0)   DPO loss\n"
    "  --init-adapter DIR start from an earlier run's adapter (RUN, RUN/adapter or\n"
    "                     adapter.gguf); rank, alpha and targets come from it\n"
    "  --seed S (1) --threads N (all CPUs) --json --quiet\n"
    "Events go to RUN/events.jsonl (and stdout with --json). A file RUN/SAVE_NOW or\n"
    "SIGTERM writes a checkpoint (SIGTERM then stops); --resume continues from the\n"
    "newest checkpoint with the run's config.json. DPO computes the reference log-probs\n"
    "once with the starting weights and keeps them in RUN/reference.bin.\n";

struct targs {
    char *model, *data, *out, *status, *tmpl, *targets, *schedule, *resume;
    char *method, *init_adapter;
    int rank, rslora, full, epochs, max_steps, batch, accum, seq, eval_every, save_every;
    int keep, threads, json, quiet, warmup, max_bad, pack;
    float alpha, dropout, lr, wd, clip, min_lr, eval_split, beta, label_smoothing;
    long long seed;
    uint64_t given; /* bit k: opts[k] was on the command line */
};

/* ---------------------------------------------------------------- options */

enum { OPT_STR, OPT_INT, OPT_FLOAT, OPT_FLAG, OPT_LL };
struct opt {
    const char *name;
    int kind;
    size_t off;
    int saved; /* goes to config.json; a recipe stage may set it too, except the ones a
                * recipe decides itself (model, data, out, method, init-adapter, full) */
};
#define O(name, kind, field, saved) {name, kind, offsetof(struct targs, field), saved}
static const struct opt opts[] = {
    O("-m", OPT_STR, model, 1),           O("--model", OPT_STR, model, 1),
    O("--data", OPT_STR, data, 1),        O("--out", OPT_STR, out, 1),
    O("--status", OPT_STR, status, 1),    O("--template", OPT_STR, tmpl, 1),
    O("--targets", OPT_STR, targets, 1),  O("--schedule", OPT_STR, schedule, 1),
    O("--resume", OPT_STR, resume, 0),    O("--rank", OPT_INT, rank, 1),
    O("--rslora", OPT_FLAG, rslora, 1),   O("--full", OPT_FLAG, full, 1),
    O("--epochs", OPT_INT, epochs, 1),    O("--max-steps", OPT_INT, max_steps, 1),
    O("--batch", OPT_INT, batch, 1),      O("--grad-accum", OPT_INT, accum, 1),
    O("--seq", OPT_INT, seq, 1),          O("--eval-every", OPT_INT, eval_every, 1),
    O("--save-every", OPT_INT, save_every, 1), O("--keep", OPT_INT, keep, 1),
    O("--threads", OPT_INT, threads, 1),  O("--json", OPT_FLAG, json, 0),
    O("--quiet", OPT_FLAG, quiet, 0),     O("--warmup", OPT_INT, warmup, 1),
    O("--max-bad-steps", OPT_INT, max_bad, 1), O("--alpha", OPT_FLOAT, alpha, 1),
    O("--dropout", OPT_FLOAT, dropout, 1), O("--lr", OPT_FLOAT, lr, 1),
    O("--weight-decay", OPT_FLOAT, wd, 1), O("--clip", OPT_FLOAT, clip, 1),
    O("--min-lr-ratio", OPT_FLOAT, min_lr, 1), O("--eval-split", OPT_FLOAT, eval_split, 1),
    O("--seed", OPT_LL, seed, 1),         O("--pack", OPT_FLAG, pack, 1),
    O("--method", OPT_STR, method, 1),    O("--init-adapter", OPT_STR, init_adapter, 1),
    O("--beta", OPT_FLOAT, beta, 1),      O("--label-smoothing", OPT_FLOAT, label_smoothing, 1),
};

/* Whether option NAME was given on the command line. */
_Static_assert(BZ_ARRAY_SIZE(opts) <= 64, "targs.given holds one bit per option");

static int given(const struct targs *a, const char *name)
{
    for (size_t k = 0; k < BZ_ARRAY_SIZE(opts); k++)
        if (!strcmp(opts[k].name, name))
            return (a->given >> k) & 1;
    return 0;
}

static void args_default(struct targs *a)
{
    *a = (struct targs){.status = bz_strdup("accepted"), .targets = bz_strdup("q,k,v"),
                        .schedule = bz_strdup("cosine"), .rank = 16, .epochs = 1, .batch = 4,
                        .accum = 1, .seq = 512, .eval_every = 50, .save_every = 100,
                        .keep = 3, .max_bad = 5, .alpha = 16, .dropout = 0.05f, .lr = 2e-4f,
                        .clip = 1.0f, .eval_split = 0.05f, .seed = 1,
                        .method = bz_strdup("sft"), .beta = 0.1f};
}

static void args_free(struct targs *a)
{
    for (size_t i = 0; i < BZ_ARRAY_SIZE(opts); i++)
        if (opts[i].kind == OPT_STR) {
            char **p = (char **)((char *)a + opts[i].off);
            free(*p);
            *p = NULL;
        }
}

static int set_opt(struct targs *a, const struct opt *o, const char *v)
{
    void *f = (char *)a + o->off;
    char *end = NULL;
    switch (o->kind) {
    case OPT_STR:
        free(*(char **)f);
        *(char **)f = bz_strdup(v);
        return 0;
    case OPT_INT:
        *(int *)f = (int)strtol(v, &end, 10);
        break;
    case OPT_LL:
        *(long long *)f = strtoll(v, &end, 10);
        break;
    case OPT_FLOAT:
        *(float *)f = strtof(v, &end);
        break;
    default:
        *(int *)f = 1;
        return 0;
    }
    if (!*v || *end)
        return tui_cmd_fail(TUI_EXIT_USAGE, "train: %s expects a number (got '%s')", o->name, v);
    return 0;
}

static int parse_args(struct targs *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return -1;
        }
        const struct opt *o = NULL;
        for (size_t k = 0; k < BZ_ARRAY_SIZE(opts) && !o; k++)
            if (!strcmp(argv[i], opts[k].name))
                o = &opts[k];
        if (!o)
            return tui_cmd_fail(TUI_EXIT_USAGE, "train: unknown option '%s' (see -h)", argv[i]);
        a->given |= 1ull << (o - opts);
        if (o->kind == OPT_FLAG) {
            *(int *)((char *)a + o->off) = 1;
            continue;
        }
        if (i + 1 >= argc)
            return tui_cmd_fail(TUI_EXIT_USAGE, "train: %s needs a value", argv[i]);
        if (set_opt(a, o, argv[++i]))
            return TUI_EXIT_USAGE;
    }
    return 0;
}

/* The JSON key of an option: "--max-steps" -> "max_steps". */
static void json_key(const struct opt *o, char key[32])
{
    snprintf(key, 32, "%s", o->name + 2);
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '_';
}

/* tui_train_stage_option: see tui.h. */
int tui_train_stage_option(size_t i, char key[32], int *kind)
{
    static const char *const recipe_own[] = {"--model", "--data", "--out", "--method",
                                              "--init-adapter", "--full"};
    for (size_t k = 0; k < BZ_ARRAY_SIZE(opts); k++) {
        int own = !opts[k].saved || opts[k].name[1] != '-';
        for (size_t q = 0; q < BZ_ARRAY_SIZE(recipe_own) && !own; q++)
            own = !strcmp(opts[k].name, recipe_own[q]);
        if (own)
            continue;
        if (i-- == 0) {
            json_key(&opts[k], key);
            *kind = opts[k].kind == OPT_STR     ? TUI_OPT_STR
                    : opts[k].kind == OPT_FLOAT ? TUI_OPT_FLOAT
                    : opts[k].kind == OPT_FLAG  ? TUI_OPT_FLAG
                                                : TUI_OPT_INT;
            return 1;
        }
    }
    return 0;
}

/* config.json: every saved option under its flag name as a key ("max_steps"). */
static void config_json(const struct targs *a, struct bz_buf *b)
{
    int first = 1;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(opts); i++) {
        const struct opt *o = &opts[i];
        if (!o->saved || !strcmp(o->name, "-m"))
            continue;
        const void *f = (const char *)a + o->off;
        char key[32];
        json_key(o, key);
        bz_buf_printf(b, "%s\"%s\":", first ? "" : ",", key);
        first = 0;
        switch (o->kind) {
        case OPT_STR: {
            const char *s = *(char *const *)f;
            if (s)
                bz_buf_json_str(b, s, strlen(s));
            else
                bz_buf_puts(b, "null");
            break;
        }
        case OPT_INT:
        case OPT_FLAG: bz_buf_printf(b, "%d", *(const int *)f); break;
        case OPT_LL: bz_buf_printf(b, "%lld", *(const long long *)f); break;
        default: bz_buf_printf(b, "%.9g", *(const float *)f); break;
        }
    }
}

static int config_load(struct targs *a, const char *run, struct bz_err *err)
{
    char *path = bz_path_join(run, "config.json"), *txt;
    size_t n;
    int rc = bz_read_file(path, &txt, &n, err);
    if (rc) {
        free(path);
        return rc;
    }
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        rc = bz_errf(err, BZ_EFORMAT, "%s: not a JSON object", path);
        free(path);
        return rc;
    }
    for (size_t i = 0; i < BZ_ARRAY_SIZE(opts); i++) {
        const struct opt *o = &opts[i];
        if (!o->saved || !strcmp(o->name, "-m"))
            continue;
        char key[32];
        json_key(o, key);
        const cJSON *v = cJSON_GetObjectItem(j, key);
        if (!v)
            continue;
        void *f = (char *)a + o->off;
        if (o->kind == OPT_STR) {
            free(*(char **)f);
            *(char **)f = cJSON_IsString(v) ? bz_strdup(v->valuestring) : NULL;
        } else if (o->kind == OPT_FLOAT) {
            *(float *)f = (float)v->valuedouble;
        } else if (o->kind == OPT_LL) {
            *(long long *)f = (long long)v->valuedouble;
        } else {
            *(int *)f = (int)v->valuedouble;
        }
    }
    cJSON_Delete(j);
    free(path);
    return 0;
}

/* ---------------------------------------------------------------- events */

struct events {
    FILE *log;  /* RUN/events.jsonl, appended */
    int json, quiet;
};

/* Write one event line (the text of a JSON object without its braces' newline). */
static void emit(struct events *ev, const struct bz_buf *line)
{
    if (ev->log) {
        fprintf(ev->log, "%s\n", line->p);
        fflush(ev->log);
    }
    if (ev->json) {
        printf("%s\n", line->p);
        fflush(stdout);
    }
}

static void emit_error(struct events *ev, const char *msg)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_puts(&b, "{\"event\":\"error\",\"message\":");
    bz_buf_json_str(&b, msg, strlen(msg));
    bz_buf_putc(&b, '}');
    emit(ev, &b);
    bz_buf_cleanup(&b);
}

static int fail(struct events *ev, const struct bz_err *err, int rc)
{
    emit_error(ev, bz_err_msg(err, rc));
    return tui_cmd_fail_err(err, rc);
}

/* ---------------------------------------------------------------- data */

struct example {
    int32_t *ids;   /* n tokens */
    uint8_t *mask;  /* n: 1 where ids[i] is assistant output */
    int n;          /* tokens used (after truncation to seq + 1) */
    int loss;       /* positions with loss: i in [0, n-1) with mask[i + 1] */
};

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(int *a, int n, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = n - 1; i > 0; i--) {
        s = mix64(s);
        int j = (int)(s % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j], a[j] = t;
    }
}

static int parse_targets(const char *s, unsigned *mask)
{
    static const char *names[] = {"q", "k", "v", "o", "gate", "up", "down"};
    *mask = 0;
    if (!strcmp(s, "all")) {
        *mask = 0x7f;
        return 0;
    }
    char *dup = bz_strdup(s), *save = NULL;
    for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t n = strlen(tok);
        if (n > 5 && !strcmp(tok + n - 5, "_proj"))
            tok[n - 5] = 0;
        int k = 0;
        while (k < 7 && strcmp(tok, names[k]))
            k++;
        if (k == 7) {
            free(dup);
            return -1;
        }
        *mask |= 1u << k;
    }
    free(dup);
    return *mask ? 0 : -1;
}

/* Rows: what one line of a micro-batch holds. Without --pack a row is one example;
 * with it, examples packed first-fit-decreasing up to --seq tokens, each in its own
 * attention segment with positions from 0. Rows are built once (their composition
 * is the same every epoch; their order is shuffled per epoch). */
struct data {
    struct example *ex;
    int n;
    int *train, n_train, *eval, n_eval;
    int truncated, no_loss, skipped_bad;
    int *row_ex, *row_off, *row_len, *row_loss, n_rows; /* row r: row_ex[row_off[r]..r+1) */
    int *train_rows, n_train_rows, *eval_rows, n_eval_rows;
    /* DPO: examples 2p and 2p+1 are pair p's chosen and rejected; train/eval hold pair
     * ids and row p is pair p; ref[x]: reference log-prob of example x's answer */
    int dpo, n_pairs, skipped_empty, skipped_same, not_pairs;
    double *ref;
    int unrenderable;      /* records the chat template refuses (skipped, counted) */
    char first_unrenderable[256];
    int same_id;           /* exact copies of an earlier record (same id): trained once */
    int merged;            /* records whose turns of one role in a row were joined */
};

static void data_free(struct data *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->ex[i].ids), free(d->ex[i].mask);
    free(d->ex), free(d->train), free(d->eval);
    free(d->row_ex), free(d->row_off), free(d->row_len), free(d->row_loss);
    free(d->train_rows), free(d->eval_rows), free(d->ref);
}

static int cmp_ex_len_desc(const void *x, const void *y, void *ctx)
{
    const struct data *d = ctx;
    int a = *(const int *)x, b = *(const int *)y;
    int la = d->ex[a].n, lb = d->ex[b].n;
    return la != lb ? lb - la : a - b;
}

/* Append the rows of examples ids[0..n) (packed into seq tokens when pack) to the row
 * table; their row ids go to *out (caller frees), their count to *n_out. */
static void build_rows(struct data *d, const int *ids, int n, int seq, int pack, int **out,
                       int *n_out)
{
    int *order = bz_malloc(sizeof(int) * (size_t)(n ? n : 1));
    memcpy(order, ids, sizeof(int) * (size_t)n);
    int *fill = bz_malloc(sizeof(int) * (size_t)(n ? n : 1)); /* tokens used per new row */
    int *first = bz_malloc(sizeof(int) * (size_t)(n ? n : 1));
    int nr = 0;
    int *of = bz_malloc(sizeof(int) * (size_t)(n ? n : 1));   /* row of each example */
    if (pack) /* first-fit decreasing, looking back over the last 256 open rows */
        qsort_r(order, (size_t)n, sizeof(int), cmp_ex_len_desc, d);
    for (int i = 0; i < n; i++) {
        int len = d->ex[order[i]].n - 1, r = -1;
        if (pack)
            for (int k = BZ_MAX(0, nr - 256); k < nr && r < 0; k++)
                if (fill[k] + len <= seq)
                    r = k;
        if (r < 0)
            r = nr++, fill[r] = 0, first[r] = i;
        fill[r] += len;
        of[i] = r;
    }
    int base = d->n_rows, nex = d->n_rows ? d->row_off[d->n_rows] : 0;
    d->row_off = bz_realloc(d->row_off, sizeof(int) * (size_t)(base + nr + 1));
    d->row_len = bz_realloc(d->row_len, sizeof(int) * (size_t)(base + nr + 1));
    d->row_loss = bz_realloc(d->row_loss, sizeof(int) * (size_t)(base + nr + 1));
    d->row_ex = bz_realloc(d->row_ex, sizeof(int) * (size_t)(nex + n + 1));
    d->row_off[base] = nex;
    int at = nex;
    for (int r = 0; r < nr; r++) { /* examples of row r, in the order they were placed */
        d->row_len[base + r] = fill[r], d->row_loss[base + r] = 0;
        for (int i = first[r]; i < n; i++)
            if (of[i] == r) {
                d->row_ex[at++] = order[i];
                d->row_loss[base + r] += d->ex[order[i]].loss;
            }
        d->row_off[base + r + 1] = at;
    }
    d->n_rows = base + nr;
    *out = bz_malloc(sizeof(int) * (size_t)(nr ? nr : 1));
    for (int r = 0; r < nr; r++)
        (*out)[r] = base + r;
    *n_out = nr;
    free(order), free(fill), free(first), free(of);
}

/* DPO rows: row p is pair p (examples 2p, 2p+1), one row per pair id in ids. */
static void build_pair_rows(struct data *d, const int *ids, int n, int **out, int *n_out)
{
    int base = d->n_rows, nex = d->n_rows ? d->row_off[d->n_rows] : 0;
    d->row_off = bz_realloc(d->row_off, sizeof(int) * (size_t)(base + n + 1));
    d->row_len = bz_realloc(d->row_len, sizeof(int) * (size_t)(base + n + 1));
    d->row_loss = bz_realloc(d->row_loss, sizeof(int) * (size_t)(base + n + 1));
    d->row_ex = bz_realloc(d->row_ex, sizeof(int) * (size_t)(nex + 2 * n + 1));
    *out = bz_malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const struct example *c = &d->ex[2 * ids[i]], *r = &d->ex[2 * ids[i] + 1];
        int row = base + i;
        d->row_off[row] = nex + 2 * i;
        d->row_ex[nex + 2 * i] = 2 * ids[i], d->row_ex[nex + 2 * i + 1] = 2 * ids[i] + 1;
        d->row_len[row] = BZ_MAX(c->n, r->n) - 1;
        d->row_loss[row] = c->loss + r->loss;
        (*out)[i] = row;
    }
    d->row_off[base + n] = nex + 2 * n;
    d->n_rows = base + n;
    *n_out = n;
}

/* Render prompt turns + answer into an example (ids truncated to seq + 1). Returns 0
 * with x->loss == 0 when the answer has no token left, or a render error. pair (DPO):
 * loss on the final answer only (earlier assistant turns are prompt), and a sequence
 * too long loses the start of its prompt first (down to half of seq), then the end
 * of its answer, so a long prompt still leaves answer tokens to compare. */
/* One turn more for the template. Turns of one role in a row (a few HH-RLHF transcripts
 * hold two assistant turns running) become one, joined by a blank line, so that roles
 * alternate as templates require; *merged counts the joins. */
static void turn_add(struct core_chat_msg *msgs, char **own, int *nm, int role, const char *text,
                     int *merged)
{
    struct core_chat_msg *last = *nm ? &msgs[*nm - 1] : NULL;
    if (last && last->role == role && role != CORE_ROLE_SYSTEM) {
        char *j = bz_asprintf("%.*s\n\n%s", (int)last->len, last->content, text);
        free(own[*nm - 1]);
        own[*nm - 1] = j;
        last->content = j, last->len = strlen(j);
        (*merged)++;
        return;
    }
    msgs[(*nm)++] = (struct core_chat_msg){role, text, strlen(text)};
}

static int render(struct example *x, const struct ds_record *r, const char *answer,
                  const struct core_vocab *vocab, int tmpl, int seq, int pair, int *truncated,
                  int *merged, struct bz_err *err)
{
    struct core_chat_msg *msgs = bz_calloc((size_t)r->n_msgs + 1, sizeof *msgs);
    char **own = bz_calloc((size_t)r->n_msgs + 1, sizeof *own);
    int nm = 0, joins = 0;
    for (int k = 0; k < r->n_msgs; k++)
        turn_add(msgs, own, &nm, r->msgs[k].role, r->msgs[k].content, &joins);
    if (answer)
        turn_add(msgs, own, &nm, CORE_ROLE_ASSISTANT, answer, &joins);
    if (merged)
        *merged += joins > 0;
    struct core_template_out out;
    core_template_out_init(&out);
    memset(x, 0, sizeof *x);
    int rc = core_template_render(vocab, tmpl, msgs, (size_t)nm, 0, &out, err);
    for (int k = 0; k <= r->n_msgs; k++)
        free(own[k]);
    free(own), free(msgs);
    if (!rc) {
        int n = (int)out.ids.n, from = 0;
        if (pair) {
            int p0 = n; /* start of the last run of answer tokens */
            while (p0 > 0 && !out.mask[p0 - 1])
                p0--;
            while (p0 > 0 && out.mask[p0 - 1])
                p0--;
            memset(out.mask, 0, (size_t)p0);
            if (n > seq + 1) {
                int keep = BZ_MIN(p0, BZ_MAX((seq + 1) / 2, seq + 1 - (n - p0)));
                from = p0 - keep;
                n -= from;
            }
        }
        if (n > seq + 1)
            n = seq + 1, (*truncated)++;
        else if (from)
            (*truncated)++;
        int loss = 0;
        for (int k = 1; k < n; k++)
            loss += out.mask[from + k] != 0;
        if (loss) {
            x->ids = bz_malloc(sizeof(int32_t) * (size_t)n);
            x->mask = bz_malloc((size_t)n);
            memcpy(x->ids, out.ids.p + from, sizeof(int32_t) * (size_t)n);
            memcpy(x->mask, out.mask + from, (size_t)n);
            x->n = n, x->loss = loss;
        }
    }
    core_template_out_cleanup(&out);
    return rc;
}

static void push_example(struct data *d, int *cap, const struct example *x)
{
    if (d->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        d->ex = bz_realloc(d->ex, sizeof *d->ex * (size_t)*cap);
    }
    d->ex[d->n++] = *x;
}

/* DPO: record r as pair examples 2p, 2p+1, or counted as skipped. */
static int add_pair(struct data *d, int *cap, const struct ds_record *r,
                    const struct core_vocab *vocab, int tmpl, int seq, struct bz_err *err)
{
    if (!r->chosen && !r->rejected) {
        d->not_pairs++;
        return 0;
    }
    int why = core_dpo_pair_check(r->chosen, r->rejected);
    if (why) {
        (*(why == CORE_DPO_SKIP_SAME ? &d->skipped_same : &d->skipped_empty))++;
        return 0;
    }
    struct example c = {0}, x = {0};
    int tr = 0;
    int rc = render(&c, r, r->chosen, vocab, tmpl, seq, 1, &tr, &d->merged, err);
    if (!rc)
        rc = render(&x, r, r->rejected, vocab, tmpl, seq, 1, &tr, NULL, err);
    if (!rc && c.loss && x.loss) {
        push_example(d, cap, &c);
        push_example(d, cap, &x);
        d->n_pairs++;
        d->truncated += tr > 0;
        return 0;
    }
    if (!rc)
        d->no_loss++;
    free(c.ids), free(c.mask), free(x.ids), free(x.mask);
    return rc;
}

static int load_data(struct data *d, const struct targs *a, const struct core_vocab *vocab,
                     int tmpl, struct events *ev, struct bz_err *err)
{
    unsigned mask;
    struct bz_err serr = {0};
    if (ds_status_mask_parse(a->status, &mask, &serr))
        return bz_errf(err, BZ_EUSAGE, "--status '%s': %s", a->status, serr.msg);
    struct ds_dataset *ds;
    struct ds_open_opts oo = {.format = DS_FMT_UNKNOWN, .background = 0, .read_only = 1};
    int rc = ds_open(&ds, a->data, &oo, err);
    if (rc)
        return rc;
    if ((rc = ds_wait(ds, err))) {
        ds_close(ds);
        return rc;
    }
    size_t total = ds_count(ds);
    struct bz_set64 seen = {0};
    struct ds_counts cnt;
    ds_counts(ds, &cnt);
    int cap = 0;
    double last = 0;
    for (size_t i = 0; i < total && !rc; i++) {
        struct ds_record r;
        struct bz_err e2 = {0};
        memset(&r, 0, sizeof r);
        if (ds_get(ds, i, &r, &e2)) {
            d->skipped_bad++;
            ds_record_cleanup(&r);
            continue;
        }
        if (!(mask & (1u << r.status))) {
            ds_record_cleanup(&r);
            continue;
        }
        /* records sharing an id are one decision and one example, however often the
         * file holds them */
        if (!bz_set64_add(&seen, bz_hash64(r.id, strlen(r.id)))) {
            d->same_id++;
            ds_record_cleanup(&r);
            continue;
        }
        if (d->dpo) {
            rc = add_pair(d, &cap, &r, vocab, tmpl, a->seq, &e2);
        } else { /* a preference pair trains on prompt + chosen (HH-style SFT) */
            struct example x;
            rc = render(&x, &r, r.chosen, vocab, tmpl, a->seq, 0, &d->truncated, &d->merged,
                        &e2);
            if (!rc && x.loss)
                push_example(d, &cap, &x);
            else if (!rc)
                d->no_loss++;
        }
        if (rc) { /* e.g. two assistant turns in a row: skip the record, say so once */
            if (!d->unrenderable++)
                snprintf(d->first_unrenderable, sizeof d->first_unrenderable, "%s:%zu: %s",
                         a->data, r.line, e2.msg);
            rc = 0;
        }
        ds_record_cleanup(&r);
        if (bz_now() - last > 0.2 || i + 1 == total) {
            last = bz_now();
            struct bz_buf b;
            bz_buf_init(&b);
            bz_buf_printf(&b, "{\"event\":\"progress\",\"phase\":\"tokenize\",\"done\":%zu,"
                              "\"total\":%zu}", i + 1, total);
            emit(ev, &b);
            bz_buf_cleanup(&b);
        }
    }
    ds_close(ds);
    bz_set64_cleanup(&seen);
    if (rc)
        return rc;
    if (d->same_id && !a->quiet)
        fprintf(stderr, "train: %d records are exact copies of earlier ones (same id); each "
                "is trained on once\n", d->same_id);
    if (d->unrenderable)
        fprintf(stderr, "train: skipped %d records the chat template cannot render (first: "
                "%s)\n", d->unrenderable, d->first_unrenderable);
    if (d->dpo && d->n_pairs == 0)
        return bz_errf(err, BZ_EEMPTY,
                       "%s: no usable preference pairs with status '%s' (%zu records: %d not "
                       "pairs, %d with an empty side, %d with chosen == rejected, %d without "
                       "answer tokens)", a->data, a->status, cnt.records, d->not_pairs,
                       d->skipped_empty, d->skipped_same, d->no_loss);
    if (d->n == 0)
        return bz_errf(err, BZ_EEMPTY,
                       "%s: no usable examples with status '%s' (%zu records: %zu accepted, "
                       "%zu pending, %zu flagged, %zu rejected; %d without assistant tokens): "
                       "accept some pairs or use --status all", a->data, a->status,
                       cnt.records, cnt.accepted, cnt.pending, cnt.flagged, cnt.rejected,
                       d->no_loss);
    /* held-out split: a seeded permutation (of pairs for DPO), its head is the eval set */
    int nu = d->dpo ? d->n_pairs : d->n;
    int *perm = bz_malloc(sizeof(int) * (size_t)nu);
    for (int i = 0; i < nu; i++)
        perm[i] = i;
    shuffle(perm, nu, mix64((uint64_t)a->seed ^ 0x6576616cull));
    int ne = (int)lround(a->eval_split * nu);
    if (a->eval_split > 0 && ne < 1 && nu >= 2)
        ne = 1;
    if (ne >= nu)
        ne = nu - 1;
    d->eval = bz_malloc(sizeof(int) * (size_t)(ne > 0 ? ne : 1));
    d->train = bz_malloc(sizeof(int) * (size_t)nu);
    d->n_eval = ne, d->n_train = nu - ne;
    memcpy(d->eval, perm, sizeof(int) * (size_t)ne);
    memcpy(d->train, perm + ne, sizeof(int) * (size_t)d->n_train);
    free(perm);
    if (d->dpo) {
        build_pair_rows(d, d->train, d->n_train, &d->train_rows, &d->n_train_rows);
        build_pair_rows(d, d->eval, d->n_eval, &d->eval_rows, &d->n_eval_rows);
        fprintf(stderr, "train: %d preference pairs; skipped %d: %d with an empty side, %d "
                "with chosen == rejected, %d not preference pairs; %d without answer tokens "
                "within --seq\n", d->n_pairs, d->skipped_empty + d->skipped_same + d->not_pairs,
                d->skipped_empty, d->skipped_same, d->not_pairs, d->no_loss);
        return 0;
    }
    build_rows(d, d->train, d->n_train, a->seq, a->pack, &d->train_rows, &d->n_train_rows);
    build_rows(d, d->eval, d->n_eval, a->seq, 0, &d->eval_rows, &d->n_eval_rows);
    return 0;
}

/* ---------------------------------------------------------------- batches */

static int cmp_row_desc(const void *x, const void *y, void *ctx)
{
    const struct data *d = ctx;
    int a = *(const int *)x, b = *(const int *)y;
    int la = d->row_len[a], lb = d->row_len[b];
    return la != lb ? lb - la : a - b;
}

/* The micro-batches of one epoch, B row ids each (-1: empty slot). Shuffle, sort
 * windows of 64 batches by length (bucketing), cut, shuffle the batch order. */
static int *epoch_plan(const struct data *d, int B, int64_t epoch, uint64_t seed, int *n_batches)
{
    int n = d->n_train_rows, nb = (n + B - 1) / B;
    int *idx = bz_malloc(sizeof(int) * (size_t)n);
    memcpy(idx, d->train_rows, sizeof(int) * (size_t)n);
    shuffle(idx, n, mix64(seed ^ (uint64_t)(epoch + 1) * 0x51ed27ull));
    int win = 64 * B;
    for (int w = 0; w < n; w += win)
        qsort_r(idx + w, (size_t)BZ_MIN(win, n - w), sizeof(int), cmp_row_desc, (void *)d);
    int *order = bz_malloc(sizeof(int) * (size_t)nb);
    for (int i = 0; i < nb; i++)
        order[i] = i;
    shuffle(order, nb, mix64(seed ^ (uint64_t)(epoch + 1) * 0xba7c4ull));
    int *plan = bz_malloc(sizeof(int) * (size_t)nb * B);
    for (int i = 0; i < nb; i++)
        for (int k = 0; k < B; k++) {
            int src = order[i] * B + k;
            plan[i * B + k] = src < n ? idx[src] : -1;
        }
    free(idx);
    free(order);
    *n_batches = nb;
    return plan;
}

struct bbuf {
    int *tok, *tgt, *pos, *seg;
};

/* Fill a batch from row ids (B of them, -1 empty), padded to the longest row; each
 * example of a row is its own attention segment with positions from 0, padding one
 * more segment. Returns tokens that carry loss, *ntok the non-padding tokens. */
static int fill_batch(struct bbuf *bb, const struct data *d, const int *rows, int B,
                      struct core_train_batch *out, int *ntok)
{
    int T = 1;
    for (int k = 0; k < B; k++)
        if (rows[k] >= 0)
            T = BZ_MAX(T, d->row_len[rows[k]]);
    int loss = 0;
    *ntok = 0;
    for (int k = 0; k < B; k++) {
        int t = 0, segs = 0;
        if (rows[k] >= 0)
            for (int e = d->row_off[rows[k]]; e < d->row_off[rows[k] + 1]; e++, segs++) {
                const struct example *x = &d->ex[d->row_ex[e]];
                for (int p = 0; p < x->n - 1; p++, t++) {
                    int i = k * T + t;
                    bb->pos[i] = p, bb->seg[i] = segs;
                    bb->tok[i] = x->ids[p];
                    bb->tgt[i] = x->mask[p + 1] ? x->ids[p + 1] : -1;
                    loss += bb->tgt[i] >= 0;
                }
            }
        *ntok += t;
        for (int p = 0; t < T; t++, p++) { /* padding: its own segment, no loss */
            int i = k * T + t;
            bb->pos[i] = p, bb->seg[i] = segs, bb->tok[i] = 0, bb->tgt[i] = -1;
        }
    }
    *out = (struct core_train_batch){.T = T, .tokens = bb->tok, .targets = bb->tgt,
                                     .pos = bb->pos, .seg = bb->seg};
    return loss;
}

/* DPO: a batch of pair rows (B of them, -1 empty) as 2B trainer rows, chosen at 2k and
 * rejected at 2k+1, each one sequence padded to the longest; the pairs' examples go to
 * ex_ids (2 per pair, in batch order). Returns the number of pairs; *ntok the
 * non-padding tokens, *nloss the tokens with loss. */
static int fill_pairs(struct bbuf *bb, const struct data *d, const int *rows, int B,
                      struct core_train_batch *out, int *ex_ids, int *ntok, int *nloss)
{
    int np = 0, T = 1;
    for (int k = 0; k < B; k++)
        if (rows[k] >= 0) {
            T = BZ_MAX(T, d->row_len[rows[k]]);
            ex_ids[2 * np] = d->row_ex[d->row_off[rows[k]]];
            ex_ids[2 * np + 1] = d->row_ex[d->row_off[rows[k]] + 1];
            np++;
        }
    *ntok = 0, *nloss = 0;
    for (int k = 0; k < 2 * B; k++) {
        int t = 0;
        if (k < 2 * np) {
            const struct example *x = &d->ex[ex_ids[k]];
            for (; t < x->n - 1; t++) {
                int i = k * T + t;
                bb->pos[i] = t, bb->seg[i] = 0, bb->tok[i] = x->ids[t];
                bb->tgt[i] = x->mask[t + 1] ? x->ids[t + 1] : -1;
                *nloss += bb->tgt[i] >= 0;
            }
        }
        *ntok += t;
        for (int p = 0; t < T; t++, p++) {
            int i = k * T + t;
            bb->pos[i] = p, bb->seg[i] = 1, bb->tok[i] = 0, bb->tgt[i] = -1;
        }
    }
    *out = (struct core_train_batch){.T = T, .tokens = bb->tok, .targets = bb->tgt,
                                     .pos = bb->pos, .seg = bb->seg};
    return np;
}

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t got_term;
static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

/* ---------------------------------------------------------------- the run */

struct run {
    struct targs a;
    struct events ev;
    struct core_model *model;
    struct core_pool *pool;
    struct core_train *t;
    struct core_optim opt;
    struct data d;
    struct bbuf bb;
    const struct core_vocab *vocab;
    struct core_vocab *own_vocab; /* loaded here when the model came without one */
    int tmpl;
    unsigned targets;
    int dpo;
    struct core_lora init; /* --init-adapter, loaded; pairs NULL when none */
};

static double eval_loss(struct run *r, struct bz_err *err, int *rc)
{
    double sum = 0;
    int64_t cnt = 0;
    int B = r->a.batch;
    int ids[256];
    for (int i = 0; i < r->d.n_eval_rows; i += B) {
        for (int k = 0; k < B; k++)
            ids[k] = i + k < r->d.n_eval_rows ? r->d.eval_rows[i + k] : -1;
        struct core_train_batch b;
        int ntok, c;
        fill_batch(&r->bb, &r->d, ids, B, &b, &ntok);
        double s;
        if ((*rc = core_train_step(r->t, &b, 0, 0, 0, &s, &c, err)))
            return NAN;
        sum += s, cnt += c;
    }
    return cnt ? sum / cnt : NAN;
}

/* DPO over the held-out pairs: loss, rewards, accuracy (means). */
static int eval_dpo(struct run *r, struct core_dpo_stats *s, struct bz_err *err)
{
    int B = r->a.batch, ids[256], ex[512];
    memset(s, 0, sizeof *s);
    for (int i = 0; i < r->d.n_eval_rows; i += B) {
        for (int k = 0; k < B; k++)
            ids[k] = i + k < r->d.n_eval_rows ? r->d.eval_rows[i + k] : -1;
        struct core_train_batch b;
        int ntok, nloss;
        int np = fill_pairs(&r->bb, &r->d, ids, B, &b, ex, &ntok, &nloss);
        double ref[512];
        for (int k = 0; k < 2 * np; k++)
            ref[k] = r->d.ref[ex[k]];
        int rc = core_dpo_step(r->t, &b, np, ref, r->a.beta, r->a.label_smoothing, 0, 0, 0,
                               NULL, s, NULL, err);
        if (rc)
            return rc;
    }
    core_dpo_stats_mean(s);
    return 0;
}

/* RUN/reference.bin: "BZDPOREF", u64 examples, u64 hash of their tokens and masks, then
 * one double per example (the reference log-prob of its answer). */
static uint64_t data_hash(const struct data *d)
{
    uint64_t h = 0x7265666572656e63ull;
    for (int i = 0; i < d->n; i++) {
        h = mix64(h ^ bz_hash64(d->ex[i].ids, sizeof(int32_t) * (size_t)d->ex[i].n));
        h = mix64(h ^ bz_hash64(d->ex[i].mask, (size_t)d->ex[i].n));
    }
    return h;
}

/* The reference log-probs: computed with the starting parameters (dropout off) over
 * every pair and saved, or, when resuming, read back and checked against the data. */
static int reference(struct run *r, int resuming, struct bz_err *err)
{
    struct data *d = &r->d;
    char *path = bz_path_join(r->a.out, "reference.bin");
    size_t len = 24 + sizeof(double) * (size_t)d->n;
    char *buf = NULL;
    uint64_t hdr[2] = {(uint64_t)d->n, data_hash(d)};
    int rc = 0;
    d->ref = bz_malloc(sizeof(double) * (size_t)(d->n ? d->n : 1));
    if (resuming) {
        size_t n;
        if ((rc = bz_read_file(path, &buf, &n, err)))
            goto out;
        uint64_t got[2] = {0, 0};
        if (n >= 24)
            memcpy(got, buf + 8, 16);
        if (n != len || memcmp(buf, "BZDPOREF", 8) || got[0] != hdr[0] || got[1] != hdr[1]) {
            rc = bz_errf(err, BZ_EFORMAT, "%s: made for other data (%llu answers, expected "
                         "%d, or different tokens)", path, (unsigned long long)got[0], d->n);
            goto out;
        }
        memcpy(d->ref, buf + 24, sizeof(double) * (size_t)d->n);
        goto out;
    }
    int B = r->a.batch, ids[256], ex[512];
    double row_loss[512], last = 0;
    for (int i = 0; i < d->n_rows; i += B) {
        for (int k = 0; k < B; k++)
            ids[k] = i + k < d->n_rows ? i + k : -1;
        struct core_train_batch b;
        int ntok, nloss, c;
        double sum;
        int np = fill_pairs(&r->bb, d, ids, B, &b, ex, &ntok, &nloss);
        if ((rc = core_train_forward(r->t, &b, 0, 0, row_loss, &sum, &c, err)))
            goto out;
        for (int k = 0; k < 2 * np; k++)
            d->ref[ex[k]] = -row_loss[k];
        if (bz_now() - last > 0.2 || i + B >= d->n_rows) {
            last = bz_now();
            struct bz_buf e;
            bz_buf_init(&e);
            bz_buf_printf(&e, "{\"event\":\"progress\",\"phase\":\"reference\",\"done\":%d,"
                              "\"total\":%d}", BZ_MIN(i + B, d->n_rows), d->n_rows);
            emit(&r->ev, &e);
            bz_buf_cleanup(&e);
        }
    }
    buf = bz_malloc(len);
    memcpy(buf, "BZDPOREF", 8);
    memcpy(buf + 8, hdr, 16);
    memcpy(buf + 24, d->ref, sizeof(double) * (size_t)d->n);
    rc = bz_write_atomic(path, buf, len, err);
out:
    free(buf);
    free(path);
    return rc;
}

static int save_checkpoint(struct run *r, const struct core_checkpoint_state *st,
                           struct bz_err *err)
{
    char *path = NULL;
    int rc = core_checkpoint_save(r->a.out, r->t->params, r->t->n_params, &r->opt, st,
                                  r->a.keep, &path, err);
    if (rc)
        return rc;
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_printf(&b, "{\"event\":\"checkpoint\",\"step\":%lld,\"path\":", (long long)st->step);
    bz_buf_json_str(&b, path, strlen(path));
    bz_buf_putc(&b, '}');
    emit(&r->ev, &b);
    bz_buf_cleanup(&b);
    free(path);
    return 0;
}

static int export_adapter(struct run *r, char **where, struct bz_err *err)
{
    char *dir = bz_path_join(r->a.out, "adapter");
    char *gg = bz_path_join(r->a.out, "adapter.gguf");
    int rc = core_lora_save_peft(&r->t->lora, r->model, dir, r->a.dropout, r->a.rslora,
                                 r->a.model, err);
    if (!rc)
        rc = core_lora_save_gguf(&r->t->lora, r->model, gg, err);
    free(gg);
    if (rc)
        free(dir);
    else
        *where = dir;
    return rc;
}

/* --full: RUN/model.gguf, the model with the trained F32 weights, its metadata kept. */
static int export_full(struct run *r, char **where, struct bz_err *err)
{
    struct core_model copy = *r->model;
    copy.tensors = bz_malloc(sizeof *copy.tensors * (size_t)r->model->n_tensors);
    memcpy(copy.tensors, r->model->tensors, sizeof *copy.tensors * (size_t)r->model->n_tensors);
    int rc = core_train_export_full(r->t, copy.tensors, err);
    char *path = bz_path_join(r->a.out, "model.gguf");
    if (!rc)
        rc = core_model_save_gguf(&copy, path, CORE_TYPE_F32, NULL, err);
    free(copy.tensors);
    if (rc)
        free(path);
    else
        *where = path;
    return rc;
}

/* The "eval" event of step: loss on the held-out examples (SFT) or pairs (DPO, with
 * reward_accuracy and reward_margin). */
static int emit_eval(struct run *r, int64_t step, double *loss, struct bz_err *err)
{
    struct bz_buf b;
    struct core_dpo_stats s;
    int rc = 0;
    if (r->dpo) {
        if ((rc = eval_dpo(r, &s, err)))
            return rc;
        *loss = s.loss;
    } else {
        *loss = eval_loss(r, err, &rc);
        if (rc)
            return rc;
    }
    bz_buf_init(&b);
    bz_buf_printf(&b, "{\"event\":\"eval\",\"step\":%lld,\"loss\":%.6f", (long long)step,
                  *loss);
    if (r->dpo)
        bz_buf_printf(&b, ",\"reward_accuracy\":%.6f,\"reward_margin\":%.6f,"
                          "\"rewards_chosen\":%.6f,\"rewards_rejected\":%.6f",
                      s.reward_accuracy, s.reward_margin, s.rewards_chosen, s.rewards_rejected);
    bz_buf_putc(&b, '}');
    emit(&r->ev, &b);
    bz_buf_cleanup(&b);
    return 0;
}

static void targets_str(unsigned mask, char *dst, size_t n)
{
    size_t at = 0;
    dst[0] = 0;
    for (int k = 0; k < CORE_LORA_NTARGETS; k++)
        if (mask & (1u << k))
            at += (size_t)snprintf(dst + at, n - at, "%s%s", at ? "," : "",
                                   core_lora_hf_name(k));
    for (char *c = dst; (c = strstr(c, "_proj"));) /* q_proj -> q, as --targets takes */
        memmove(c, c + 5, strlen(c + 5) + 1);
}

/* --init-adapter: load it for this model (a different base is refused by shape), take
 * its rank, alpha, targets and rsLoRA, refusing explicit options that disagree. PATH
 * may be a PEFT dir, its safetensors, an adapter GGUF, or a run dir (RUN/adapter). */
static int load_init_adapter(struct run *r, struct bz_err *err)
{
    const char *path = r->a.init_adapter;
    char *sub = bz_path_join(path, "adapter");
    char *cfg = bz_path_join(sub, "adapter_config.json");
    struct stat sb;
    if (!stat(cfg, &sb))
        path = sub;
    int rc = core_lora_load(&r->init, r->model, path, err);
    free(cfg);
    if (rc) {
        free(sub);
        return rc;
    }
    struct core_lora *l = &r->init;
    const struct core_lora_pair *p0 = NULL;
    for (int i = 0; i < l->n_layers * CORE_LORA_NTARGETS; i++) {
        const struct core_lora_pair *pr = &l->pairs[i];
        int want = (l->targets >> (i % CORE_LORA_NTARGETS)) & 1;
        if (!p0 && pr->a)
            p0 = pr;
        if (want != (pr->a != NULL) || (pr->a && (pr->r != l->rank || pr->scale != p0->scale)))
            rc = bz_errf(err, BZ_EUNSUPPORTED, "%s: the adapter's rank, scale or targets differ "
                         "between layers (layer %d, %s): training needs one of each", path,
                         i / CORE_LORA_NTARGETS, core_lora_hf_name(i % CORE_LORA_NTARGETS));
        if (rc)
            break;
    }
    if (!rc && !p0)
        rc = bz_errf(err, BZ_EFORMAT, "%s: the adapter adapts nothing", path);
    int rslora = p0 && fabsf(p0->scale - l->alpha / (float)l->rank) > 1e-6f * p0->scale;
    char have[64], want[64];
    targets_str(l->targets, have, sizeof have);
    unsigned tm = 0;
    if (!rc && given(&r->a, "--rank") && r->a.rank != l->rank)
        rc = bz_errf(err, BZ_EUSAGE, "--rank %d disagrees with the adapter's rank %d (%s)",
                     r->a.rank, l->rank, path);
    if (!rc && given(&r->a, "--alpha") && r->a.alpha != l->alpha)
        rc = bz_errf(err, BZ_EUSAGE, "--alpha %g disagrees with the adapter's alpha %g (%s)",
                     r->a.alpha, l->alpha, path);
    if (!rc && given(&r->a, "--targets") && !parse_targets(r->a.targets, &tm) &&
        tm != l->targets) {
        targets_str(tm, want, sizeof want);
        rc = bz_errf(err, BZ_EUSAGE, "--targets %s disagrees with the adapter's targets %s (%s)",
                     want, have, path);
    }
    if (!rc && given(&r->a, "--rslora") && !rslora)
        rc = bz_errf(err, BZ_EUSAGE, "--rslora disagrees with the adapter's scale alpha/rank "
                     "(%s)", path);
    free(sub);
    if (rc)
        return rc;
    r->a.rank = l->rank, r->a.alpha = l->alpha, r->a.rslora = rslora;
    free(r->a.targets);
    r->a.targets = bz_strdup(have);
    r->targets = l->targets;
    return 0;
}

/* Copy the starting adapter into the trainer's parameters (shapes checked on load). */
static void apply_init_adapter(struct run *r)
{
    for (int i = 0; i < r->init.n_layers * CORE_LORA_NTARGETS; i++) {
        const struct core_lora_pair *src = &r->init.pairs[i];
        struct core_lora_pair *dst = &r->t->lora.pairs[i];
        if (!src->a)
            continue;
        bz_assert(dst->a && dst->r == src->r && dst->c_in == src->c_in);
        memcpy(dst->a, src->a, sizeof(float) * (size_t)src->r * src->c_in);
        memcpy(dst->b, src->b, sizeof(float) * (size_t)src->c_out * src->r);
    }
}

int tui_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--recipe") == 0)
            return tui_recipe_run(argc, argv);
    struct run r;
    memset(&r, 0, sizeof r);
    int *plan = NULL;
    char *save_now = NULL;
    args_default(&r.a);
    struct bz_err err = {0};
    int rc = parse_args(&r.a, argc, argv), code = TUI_EXIT_ERROR;
    if (rc) {
        args_free(&r.a);
        return rc < 0 ? TUI_EXIT_OK : rc;
    }
    int resuming = r.a.resume != NULL;
    if (resuming) {
        int json = r.a.json, quiet = r.a.quiet, threads = r.a.threads;
        char *resume = bz_strdup(r.a.resume);
        if ((rc = config_load(&r.a, resume, &err))) {
            free(resume);
            args_free(&r.a);
            return tui_cmd_fail_err(&err, rc);
        }
        free(r.a.out);
        r.a.out = resume;
        r.a.json = json, r.a.quiet = quiet;
        if (threads && threads != r.a.threads)
            bz_log(BZ_LOG_WARN, "train: --threads %d differs from the run's %d: the numbers "
                   "will not repeat bit for bit", threads, r.a.threads), r.a.threads = threads;
    }
    if (!r.a.model || !r.a.data || !r.a.out) {
        args_free(&r.a);
        return tui_cmd_fail(TUI_EXIT_USAGE, "train: -m MODEL, --data DATASET and --out "
                            "runs/NAME are required (see -h)");
    }
    if (parse_targets(r.a.targets, &r.targets)) {
        int c = tui_cmd_fail(TUI_EXIT_USAGE, "train: --targets '%s': expected a list of "
                             "q,k,v,o,gate,up,down or all", r.a.targets);
        args_free(&r.a);
        return c;
    }
    int sched = !strcmp(r.a.schedule, "cosine") ? CORE_SCHED_COSINE
                : !strcmp(r.a.schedule, "linear") ? CORE_SCHED_LINEAR
                : !strcmp(r.a.schedule, "constant") ? CORE_SCHED_CONSTANT : -1;
    const char *bad = NULL;
    if (sched < 0)
        bad = "--schedule must be cosine, linear or constant";
    else if (r.a.batch < 1 || r.a.batch > 256)
        bad = "--batch must be in [1, 256]";
    else if (r.a.accum < 1)
        bad = "--grad-accum must be >= 1";
    else if (r.a.seq < 2)
        bad = "--seq must be >= 2";
    else if (r.a.epochs < 1 && r.a.max_steps < 1)
        bad = "--epochs or --max-steps must be >= 1";
    else if (r.a.eval_split < 0 || r.a.eval_split >= 1)
        bad = "--eval-split must be in [0, 1)";
    else if (!(r.a.lr > 0))
        bad = "--lr must be > 0";
    else if (strcmp(r.a.method, "sft") && strcmp(r.a.method, "dpo"))
        bad = "--method must be sft or dpo";
    else if (!strcmp(r.a.method, "dpo") && (r.a.full || r.a.pack))
        bad = "--method dpo trains a LoRA adapter on one pair per two rows: no --full, no --pack";
    else if (r.a.init_adapter && r.a.full)
        bad = "--init-adapter starts an adapter: it does not go with --full";
    else if (!(r.a.beta > 0))
        bad = "--beta must be > 0";
    else if (!(r.a.label_smoothing >= 0 && r.a.label_smoothing < 0.5f))
        bad = "--label-smoothing must be in [0, 0.5)";
    if (bad) {
        args_free(&r.a);
        return tui_cmd_fail(TUI_EXIT_USAGE, "train: %s", bad);
    }

    if ((rc = bz_mkdir_p(r.a.out, &err))) {
        args_free(&r.a);
        return tui_cmd_fail_err(&err, rc);
    }
    char *evpath = bz_path_join(r.a.out, "events.jsonl");
    r.ev.log = fopen(evpath, "a");
    free(evpath);
    r.ev.json = r.a.json, r.ev.quiet = r.a.quiet;
    if (!r.ev.log) {
        args_free(&r.a);
        return tui_cmd_fail(TUI_EXIT_ERROR, "train: %s/events.jsonl: %s", r.a.out,
                            strerror(errno));
    }

    /* model, template, data */
    if ((rc = core_model_open(&r.model, r.a.model, &err)))
        goto fail;
    r.vocab = r.model->vocab;
    if (!r.vocab) {
        if ((rc = core_vocab_open(&r.own_vocab, r.a.model, &err)))
            goto fail;
        r.vocab = r.own_vocab;
    }
    r.dpo = r.d.dpo = !strcmp(r.a.method, "dpo");
    if (r.dpo && !resuming && !given(&r.a, "--dropout"))
        r.a.dropout = 0; /* DPO: the policy's step-0 forward equals the reference's */
    if (r.a.init_adapter && !resuming && (rc = load_init_adapter(&r, &err)))
        goto fail;
    r.tmpl = core_template_pick(r.vocab, r.a.tmpl, &err);
    if (r.tmpl < 0) {
        rc = r.tmpl;
        goto fail;
    }
    if (r.model->cfg.ctx_len > 0 && r.a.seq > r.model->cfg.ctx_len) {
        rc = bz_errf(&err, BZ_EINVAL, "--seq %d is longer than the model's context %d: use "
                     "--seq %d or less", r.a.seq, r.model->cfg.ctx_len, r.model->cfg.ctx_len);
        goto fail;
    }
    if ((rc = load_data(&r.d, &r.a, r.vocab, r.tmpl, &r.ev, &err)))
        goto fail;

    /* trainer, optimizer */
    if ((rc = core_pool_new(&r.pool, r.a.threads, &err)))
        goto fail;
    if (!r.a.threads)
        r.a.threads = core_pool_threads(r.pool);
    core_ops_set_pool(r.pool);
    int T = 1;
    for (int i = 0; i < r.d.n_rows; i++)
        T = BZ_MAX(T, r.d.row_len[i]);
    struct core_train_opts to = {.targets = r.targets, .rank = r.a.rank, .alpha = r.a.alpha,
                                 .dropout = r.a.dropout, .rslora = r.a.rslora,
                                 .full = r.a.full, .B = r.a.batch * (r.dpo ? 2 : 1),
                                 .T = BZ_MAX(T, 2)};
    if ((rc = core_train_new(&r.t, r.model, &to, r.pool, &err)))
        goto fail;
    core_train_init_params(r.t, mix64((uint64_t)r.a.seed ^ 0x696e6974ull));
    if (r.init.pairs)
        apply_init_adapter(&r);
    int nb_epoch;
    free(epoch_plan(&r.d, r.a.batch, 0, (uint64_t)r.a.seed, &nb_epoch));
    int64_t total_micro = r.a.max_steps > 0 ? (int64_t)r.a.max_steps * r.a.accum
                                            : (int64_t)r.a.epochs * nb_epoch;
    int64_t total_steps = (total_micro + r.a.accum - 1) / r.a.accum;
    struct core_optim_config oc;
    core_optim_config_default(&oc);
    oc.lr = r.a.lr, oc.weight_decay = r.a.wd, oc.clip = r.a.clip, oc.warmup = r.a.warmup;
    oc.total_steps = (int)total_steps, oc.schedule = sched, oc.min_lr_ratio = r.a.min_lr;
    oc.max_bad_steps = r.a.max_bad > 0 ? r.a.max_bad : 5;
    if ((rc = core_optim_init(&r.opt, &oc, r.t->n_params, r.t->n_decay, &err)))
        goto fail;
    struct core_checkpoint_state st = {.seed = (uint64_t)r.a.seed};
    int64_t resumed_from = -1;
    if (resuming) {
        char *ck;
        if ((rc = core_checkpoint_latest(r.a.out, &ck, &err)))
            goto fail;
        rc = core_checkpoint_load(ck, r.t->params, r.t->n_params, &r.opt, &st, &err);
        free(ck);
        if (rc)
            goto fail;
        resumed_from = st.step;
    } else {
        struct bz_buf cfg;
        bz_buf_init(&cfg);
        bz_buf_putc(&cfg, '{');
        config_json(&r.a, &cfg);
        bz_buf_puts(&cfg, "}\n");
        char *p = bz_path_join(r.a.out, "config.json");
        rc = bz_write_atomic(p, cfg.p, cfg.len, &err);
        free(p);
        bz_buf_cleanup(&cfg);
        if (rc)
            goto fail;
    }
    r.bb.tok = bz_malloc(sizeof(int) * (size_t)r.t->B * r.t->T);
    r.bb.tgt = bz_malloc(sizeof(int) * (size_t)r.t->B * r.t->T);
    r.bb.pos = bz_malloc(sizeof(int) * (size_t)r.t->B * r.t->T);
    r.bb.seg = bz_malloc(sizeof(int) * (size_t)r.t->B * r.t->T);
    /* DPO reference: the starting parameters (fresh run) or the saved numbers (resume);
     * a resumed run has the checkpoint's parameters loaded by now, so it must read */
    if (r.dpo && (rc = reference(&r, resuming, &err)))
        goto fail;

    {
        struct bz_buf b;
        bz_buf_init(&b);
        bz_buf_puts(&b, "{\"event\":\"start\",");
        config_json(&r.a, &b);
        bz_buf_printf(&b, ",\"chat_template\":\"%s\",\"examples\":%d,\"train_examples\":%d,"
                          "\"train_rows\":%d,\"eval_examples\":%d,\"truncated\":%d,\"without_loss\":%d,"
                          "\"bad_records\":%d,\"total_steps\":%lld,\"trainable_params\":%zu,"
                          "\"resumed_from\":%lld,\"unrenderable\":%d,\"same_id\":%d,"
                          "\"merged_turns\":%d}",
                      core_template_name(r.tmpl), r.d.n, r.d.n_train, r.d.n_train_rows, r.d.n_eval,
                      r.d.truncated, r.d.no_loss, r.d.skipped_bad, (long long)total_steps,
                      r.t->n_params, (long long)resumed_from, r.d.unrenderable,
                      r.d.same_id, r.d.merged);
        if (r.dpo) {
            b.len--, b.p[b.len] = 0; /* reopen the object */
            bz_buf_printf(&b, ",\"pairs\":%d,\"train_pairs\":%d,\"eval_pairs\":%d,"
                              "\"skipped\":%d,\"skipped_empty\":%d,\"skipped_same\":%d,"
                              "\"not_pairs\":%d}", r.d.n_pairs, r.d.n_train, r.d.n_eval,
                          r.d.skipped_empty + r.d.skipped_same + r.d.not_pairs,
                          r.d.skipped_empty, r.d.skipped_same, r.d.not_pairs);
        }
        emit(&r.ev, &b);
        bz_buf_cleanup(&b);
    }

    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    save_now = bz_path_join(r.a.out, "SAVE_NOW");
    int stopped = 0;
    double last_eval = NAN;
    int64_t plan_epoch = -1;
    double t_start = bz_now() - st.elapsed_s, last_loss = NAN;
    if (r.d.n_eval > 0 && r.a.eval_every > 0 && !resuming) { /* the base model's eval loss */
        if ((rc = emit_eval(&r, 0, &last_eval, &err)))
            goto fail;
    }
    while (st.step < total_steps) {
        double t0 = bz_now();
        int64_t m0 = st.micro, m1 = BZ_MIN(st.micro + r.a.accum, total_micro);
        /* loss tokens of the whole step first: the mean is over all of them */
        int64_t step_loss_tokens = 0, step_pairs = 0;
        for (int64_t m = m0; m < m1; m++) {
            int64_t e = m / nb_epoch;
            if (e != plan_epoch) {
                free(plan);
                plan = epoch_plan(&r.d, r.a.batch, e, st.seed, &nb_epoch);
                plan_epoch = e;
            }
            const int *ids = plan + (size_t)(m % nb_epoch) * r.a.batch;
            for (int k = 0; k < r.a.batch; k++)
                if (ids[k] >= 0)
                    step_loss_tokens += r.d.row_loss[ids[k]], step_pairs++;
        }
        struct core_dpo_stats ds;
        memset(&ds, 0, sizeof ds);
        core_train_zero_grad(r.t);
        double sum = 0;
        int64_t ntok_step = 0;
        for (int64_t m = m0; m < m1; m++) {
            int64_t e = m / nb_epoch;
            if (e != plan_epoch) {
                free(plan);
                plan = epoch_plan(&r.d, r.a.batch, e, st.seed, &nb_epoch);
                plan_epoch = e;
            }
            struct core_train_batch b;
            int ntok, c;
            double s;
            if (r.dpo) { /* the step's loss is the mean over its pairs */
                int ex[512], nloss;
                double ref[512];
                int np = fill_pairs(&r.bb, &r.d, plan + (size_t)(m % nb_epoch) * r.a.batch,
                                    r.a.batch, &b, ex, &ntok, &nloss);
                for (int k = 0; k < 2 * np; k++)
                    ref[k] = r.d.ref[ex[k]];
                if (np && (rc = core_dpo_step(r.t, &b, np, ref, r.a.beta, r.a.label_smoothing,
                                              1, 1.0f / (float)step_pairs,
                                              mix64(st.seed ^ mix64((uint64_t)m)), NULL, &ds,
                                              NULL, &err)))
                    goto fail;
                ntok_step += ntok;
                continue;
            }
            fill_batch(&r.bb, &r.d, plan + (size_t)(m % nb_epoch) * r.a.batch, r.a.batch, &b,
                       &ntok);
            if ((rc = core_train_step(r.t, &b, 1, 1.0f / (float)step_loss_tokens,
                                      mix64(st.seed ^ mix64((uint64_t)m)), &s, &c, &err)))
                goto fail;
            sum += s, ntok_step += ntok;
        }
        double gn;
        float lr;
        double loss = sum / (double)step_loss_tokens;
        if (r.dpo) {
            core_dpo_stats_mean(&ds);
            loss = ds.loss;
        }
        int skipped = !isfinite(loss);
        if (skipped) { /* a non-finite loss poisons the gradients too: count it as bad */
            r.t->grads[0] = NAN;
        }
        rc = core_optim_step(&r.opt, r.t->params, r.t->grads, &gn, &lr, &err);
        if (rc < 0)
            goto fail;
        skipped |= rc == 1;
        st.micro = m1, st.step++, st.tokens += step_loss_tokens;
        double now = bz_now(), dt = now - t0;
        st.elapsed_s = now - t_start;
        last_loss = loss;
        double eta = (double)(total_steps - st.step) * (st.elapsed_s / (double)st.step);
        if (resumed_from >= 0)
            eta = (double)(total_steps - st.step) * dt;
        struct bz_buf b;
        bz_buf_init(&b);
        bz_buf_printf(&b, "{\"event\":\"step\",\"step\":%lld,\"epoch\":%.4f,\"loss\":%.6f,"
                          "\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens_per_s\":%.1f,"
                          "\"elapsed_s\":%.3f,\"eta_s\":%.1f%s",
                      (long long)st.step, (double)st.micro / nb_epoch,
                      isfinite(loss) ? loss : -1.0, lr, isfinite(gn) ? gn : -1.0,
                      ntok_step / (dt > 0 ? dt : 1e-9), st.elapsed_s, eta,
                      skipped ? ",\"skipped\":true" : "");
        if (r.dpo)
            bz_buf_printf(&b, ",\"pairs\":%lld,\"rewards_chosen\":%.6f,\"rewards_rejected\":%.6f,"
                              "\"reward_margin\":%.6f,\"reward_accuracy\":%.6f,"
                              "\"logps_chosen\":%.6f,\"logps_rejected\":%.6f,"
                              "\"ref_logps_chosen\":%.6f,\"ref_logps_rejected\":%.6f",
                          (long long)step_pairs, ds.rewards_chosen, ds.rewards_rejected,
                          ds.reward_margin, ds.reward_accuracy, ds.logps_chosen,
                          ds.logps_rejected, ds.ref_logps_chosen, ds.ref_logps_rejected);
        bz_buf_putc(&b, '}');
        emit(&r.ev, &b);
        bz_buf_cleanup(&b);
        if (!r.a.json && !r.a.quiet)
            fprintf(stderr, "\rstep %lld/%lld  loss %.4f  lr %.3g  %.0f tok/s  eta %.0fs   ",
                    (long long)st.step, (long long)total_steps, loss, lr,
                    ntok_step / (dt > 0 ? dt : 1e-9), eta);
        if (r.d.n_eval > 0 && r.a.eval_every > 0 &&
            (st.step % r.a.eval_every == 0 || st.step == total_steps)) {
            if ((rc = emit_eval(&r, st.step, &last_eval, &err)))
                goto fail;
        }
        int want = (r.a.save_every > 0 && st.step % r.a.save_every == 0) || got_term;
        if (!access(save_now, F_OK)) {
            unlink(save_now);
            want = 1;
        }
        if (want && st.step < total_steps && (rc = save_checkpoint(&r, &st, &err)))
            goto fail;
        if (got_term) {
            stopped = st.step < total_steps;
            break;
        }
    }
    if (!r.a.json && !r.a.quiet)
        fputc('\n', stderr);
    free(plan);
    plan = NULL;
    char *where = NULL;
    if (!stopped) {
        if ((rc = r.a.full ? export_full(&r, &where, &err) : export_adapter(&r, &where, &err)))
            goto fail;
        struct core_checkpoint_state fin = st;
        if ((rc = save_checkpoint(&r, &fin, &err)))
            goto fail;
    }
    {
        struct bz_buf b;
        bz_buf_init(&b);
        bz_buf_printf(&b, "{\"event\":\"done\",\"step\":%lld,\"loss\":%.6f", (long long)st.step,
                      isfinite(last_loss) ? last_loss : -1.0);
        if (isfinite(last_eval))
            bz_buf_printf(&b, ",\"eval_loss\":%.6f", last_eval);
        bz_buf_printf(&b, ",\"elapsed_s\":%.3f,\"stopped\":%s", st.elapsed_s,
                      stopped ? "true" : "false");
        if (where) {
            bz_buf_puts(&b, r.a.full ? ",\"model\":" : ",\"adapter\":");
            bz_buf_json_str(&b, where, strlen(where));
        }
        bz_buf_putc(&b, '}');
        emit(&r.ev, &b);
        bz_buf_cleanup(&b);
    }
    free(where);
    code = TUI_EXIT_OK;
    goto out;
fail:
    code = fail(&r.ev, &err, rc);
out:
    free(plan);
    free(save_now);
    core_optim_cleanup(&r.opt);
    core_train_free(r.t);
    core_ops_set_pool(NULL);
    core_pool_free(r.pool);
    core_lora_cleanup(&r.init);
    core_model_free(r.model);
    core_vocab_free(r.own_vocab);
    data_free(&r.d);
    free(r.bb.tok), free(r.bb.tgt), free(r.bb.pos), free(r.bb.seg);
    if (r.ev.log)
        fclose(r.ev.log);
    args_free(&r.a);
    return code;
}
