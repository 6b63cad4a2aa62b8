/*
 * cmd-data.c: `bezoar data SUB ...`, the headless dataset verbs: stats, export,
 * import (any supported format -> OpenAI-messages JSON lines) and decide.
 *
 * Key idea: each subverb is a thin layer over dataset.h: parse flags, open the
 * dataset (read-only unless it decides), print. Errors are one line on stderr,
 * "bezoar: ...", exit 1 at run time and 2 for usage.
 *
 * filter, dedup and score run the automatic filters (dataset/filter.h): rule flags,
 * duplicate groups and judge ratings, written to the journal as suggestions.
 *
 * Left out: a live view of the filters (the Data view shows the suggestions).
 */
#include "tui/tui.h"

#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "dataset/filter.h"
#include "judge/backend.h"

BZ_CMD("data", tui_cmd_data, "datasets: stats, export, import, decide, filter, dedup, score");

static const char usage_data[] =
    "usage: bezoar data SUB ...\n"
    "  stats DATASET [--json] [--format F]      counts, duplicates, lengths, bad lines\n"
    "  export DATASET -o OUT [--status S] [--format alpaca|sharegpt|openai] [--jsonl]\n"
    "                                           write the records with status S\n"
    "  import IN -o OUT [--format F]            convert to OpenAI-messages JSON lines\n"
    "  decide DATASET --id ID --op OP           record a decision in the journal\n"
    "  filter DATASET [--rules F] [--near T] [--decide]  flag, suggest rejects\n"
    "  dedup DATASET [--near T] [--shingle M]   list exact and near-duplicate groups\n"
    "  score DATASET --judge SPEC [--below T]   rate records 1-10 with a judge model\n"
    "Input formats (F): alpaca, sharegpt, openai, selfinstruct, pref-llamafactory,\n"
    "pref-hh, pref-openai, pref-trl (default: detected). SUB -h for details.\n";

static const char usage_stats[] =
    "usage: bezoar data stats DATASET [--json] [--format F]\n"
    "Print records, bad lines (with the first locations), decisions per status, records\n"
    "per detected format, exact duplicates, empty responses, refusals and length\n"
    "percentiles (characters). --json prints one JSON object. --format forces the input\n"
    "format instead of detecting it.\n";

static const char usage_export[] =
    "usage: bezoar data export DATASET -o OUT [--status S] [--format F] [--jsonl]\n"
    "                          [--input-format F]\n"
    "Write the records whose status is S (accepted, rejected, flagged, pending, all, or\n"
    "a comma list; default accepted) as F (alpaca, sharegpt, openai; default openai), a\n"
    "JSON array or with --jsonl JSON lines, edits applied, each with its \"id\". The file\n"
    "is replaced atomically (temp file + fsync + rename).\n"
    "       bezoar data export DATASET --prefs [--format dpo] -o OUT\n"
    "Write the Compare view's decisive votes (DATASET.bezoar/votes.jsonl) as preference\n"
    "pairs, JSON lines {id, prompt, chosen, rejected} (TRL / LLaMA-Factory style); ties\n"
    "and both-bad votes are counted and left out.\n";

static const char usage_import[] =
    "usage: bezoar data import IN -o OUT [--format F]\n"
    "Convert every record of IN (any supported format, JSON array or lines, .gz too) to\n"
    "OpenAI-messages JSON lines with \"id\", \"source\" {file, line, format} and \"meta\"\n"
    "(the fields the format does not use). Preference pairs are written in the OpenAI\n"
    "preference format (input.messages, preferred_output, non_preferred_output). Bad\n"
    "records are reported on stderr and skipped.\n";

static const char usage_decide[] =
    "usage: bezoar data decide DATASET --id ID [--id ID...] --op accept|reject|flag|reset\n"
    "Append one decision step for the given ids to DATASET.bezoar/journal (fsync'd\n"
    "before this returns). Every id must exist in DATASET.\n";

static int is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* Flag value: argv[*i + 1], advancing *i; NULL (after a usage message) when missing. */
static const char *flag_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        tui_cmd_fail(TUI_EXIT_USAGE, "data: %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_in_format(const char *s, int *fmt)
{
    *fmt = ds_format_parse(s);
    if (*fmt < 0)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data: unknown input format '%s'", s);
    return 0;
}

static int open_ds(struct ds_dataset **ds, const char *path, int fmt, int read_only)
{
    struct ds_open_opts o = {.format = fmt, .background = 0, .read_only = read_only};
    struct bz_err err = {0};
    int rc = ds_open(ds, path, &o, &err);
    if (rc < 0)
        return tui_cmd_fail_err(&err, rc);
    return 0;
}

/* ---------------------------------------------------------------- stats */

static void json_str(FILE *f, const char *s)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_json_str(&b, s, strlen(s));
    fputs(b.p, f);
    bz_buf_cleanup(&b);
}

#define BAD_SHOWN 5

static void stats_json(struct ds_dataset *ds, const struct ds_stats *st)
{
    const struct ds_counts *c = &st->counts;
    printf("{\"file\":");
    json_str(stdout, ds_path(ds));
    printf(",\"format\":\"%s\",\"records\":%zu,\"bad_lines\":%zu,\"bad_locations\":[",
           ds_format_name(ds_detected_format(ds)), c->records, c->bad);
    for (size_t i = 0; i < BAD_SHOWN && i < c->bad && ds_bad_message(ds, i); i++) {
        if (i)
            putchar(',');
        json_str(stdout, ds_bad_message(ds, i));
    }
    printf("],\"accepted\":%zu,\"rejected\":%zu,\"flagged\":%zu,\"pending\":%zu", c->accepted,
           c->rejected, c->flagged, c->pending);
    printf(",\"exact_duplicates\":%zu,\"empty_responses\":%zu,\"refusals\":%zu",
           st->exact_duplicates, st->empty_responses, st->refusals);
    printf(",\"journal_torn\":%zu,\"per_format\":{", ds_journal_torn(ds));
    int first = 1;
    for (int f = 1; f < DS_FMT_COUNT; f++) {
        if (!st->per_format[f])
            continue;
        printf("%s\"%s\":%zu", first ? "" : ",", ds_format_name(f), st->per_format[f]);
        first = 0;
    }
    printf("},\"prompt_chars\":{\"p50\":%zu,\"p90\":%zu,\"p99\":%zu,\"max\":%zu}",
           st->prompt_p50, st->prompt_p90, st->prompt_p99, st->prompt_max);
    printf(",\"response_chars\":{\"p50\":%zu,\"p90\":%zu,\"p99\":%zu,\"max\":%zu}}\n",
           st->resp_p50, st->resp_p90, st->resp_p99, st->resp_max);
}

static void stats_text(struct ds_dataset *ds, const struct ds_stats *st)
{
    const struct ds_counts *c = &st->counts;
    printf("%s: %zu records (%s), %zu bad\n", ds_path(ds), c->records,
           ds_format_name(ds_detected_format(ds)), c->bad);
    printf("  accepted %zu, rejected %zu, flagged %zu, pending %zu\n", c->accepted, c->rejected,
           c->flagged, c->pending);
    printf("  exact duplicates %zu, empty responses %zu, refusals %zu\n", st->exact_duplicates,
           st->empty_responses, st->refusals);
    printf("  per format:");
    for (int f = 1; f < DS_FMT_COUNT; f++)
        if (st->per_format[f])
            printf(" %s %zu", ds_format_name(f), st->per_format[f]);
    printf("\n  prompt chars   p50 %zu  p90 %zu  p99 %zu  max %zu\n", st->prompt_p50,
           st->prompt_p90, st->prompt_p99, st->prompt_max);
    printf("  response chars p50 %zu  p90 %zu  p99 %zu  max %zu\n", st->resp_p50, st->resp_p90,
           st->resp_p99, st->resp_max);
    if (ds_journal_torn(ds))
        printf("  journal: %zu torn line(s) ignored\n", ds_journal_torn(ds));
    for (size_t i = 0; i < BAD_SHOWN && i < c->bad && ds_bad_message(ds, i); i++)
        printf("  bad: %s\n", ds_bad_message(ds, i));
    if (c->bad > BAD_SHOWN)
        printf("  ... and %zu more bad records\n", c->bad - BAD_SHOWN);
}

static int data_stats(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, fmt = DS_FMT_UNKNOWN;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_stats, stdout);
            return TUI_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--format") == 0) {
            const char *v = flag_value(argc, argv, &i);
            if (!v || parse_in_format(v, &fmt))
                return TUI_EXIT_USAGE;
        } else if (argv[i][0] == '-' || path) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "data stats: unexpected '%s' (see -h)",
                                argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data stats: DATASET missing (see -h)");
    struct ds_dataset *ds;
    if (open_ds(&ds, path, fmt, 1))
        return TUI_EXIT_ERROR;
    struct ds_stats st;
    struct bz_err err = {0};
    int rc = ds_stats(ds, &st, &err);
    if (rc < 0) {
        ds_close(ds);
        return tui_cmd_fail_err(&err, rc);
    }
    if (json)
        stats_json(ds, &st);
    else
        stats_text(ds, &st);
    ds_close(ds);
    return TUI_EXIT_OK;
}

/* ---------------------------------------------------------------- export, import */

static int parse_status_mask(const char *verb, const char *s, unsigned *mask)
{
    struct bz_err err = {0};
    int rc = ds_status_mask_parse(s, mask, &err);
    return rc ? tui_cmd_fail(TUI_EXIT_USAGE, "%s: --status: %s", verb, err.msg) : 0;
}

static void report_bad(struct ds_dataset *ds)
{
    size_t nb = ds_bad_count(ds);
    for (size_t i = 0; i < BAD_SHOWN && i < nb && ds_bad_message(ds, i); i++)
        fprintf(stderr, "bezoar: warning: %s\n", ds_bad_message(ds, i));
    if (nb > BAD_SHOWN)
        fprintf(stderr, "bezoar: warning: ... and %zu more bad records\n", nb - BAD_SHOWN);
}

static int data_export(int argc, char **argv, int import)
{
    const char *path = NULL, *out = NULL;
    int jsonl = import, in_fmt = DS_FMT_UNKNOWN, out_fmt = DS_OUT_OPENAI;
    unsigned mask = import ? DS_ALL_STATUSES : 1u << DS_ACCEPTED;
    const char *who = import ? "data import" : "data export";
    int prefs = 0, dpo = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (is_help(a)) {
            fputs(import ? usage_import : usage_export, stdout);
            return TUI_EXIT_OK;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (!(out = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
        } else if (!import && strcmp(a, "--jsonl") == 0) {
            jsonl = 1;
        } else if (!import && strcmp(a, "--prefs") == 0) {
            prefs = 1;
        } else if (!import && strcmp(a, "--format") == 0 && i + 1 < argc &&
                   strcmp(argv[i + 1], "dpo") == 0) {
            dpo = 1;
            i++;
        } else if (!import && strcmp(a, "--status") == 0) {
            if (!(v = flag_value(argc, argv, &i)) || parse_status_mask("data export", v, &mask))
                return TUI_EXIT_USAGE;
        } else if (strcmp(a, import ? "--format" : "--input-format") == 0) {
            if (!(v = flag_value(argc, argv, &i)) || parse_in_format(v, &in_fmt))
                return TUI_EXIT_USAGE;
        } else if (!import && strcmp(a, "--format") == 0) {
            if (!(v = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
            out_fmt = ds_out_format_parse(v);
            if (out_fmt < 0)
                return tui_cmd_fail(TUI_EXIT_USAGE,
                                    "%s: unknown output format '%s' (alpaca, sharegpt, openai)",
                                    who, v);
        } else if (a[0] == '-' || path) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "%s: unexpected '%s' (see -h)", who, a);
        } else {
            path = a;
        }
    }
    if (!path)
        return tui_cmd_fail(TUI_EXIT_USAGE, "%s: %s missing (see -h)", who,
                            import ? "IN" : "DATASET");
    if (!out)
        return tui_cmd_fail(TUI_EXIT_USAGE, "%s: -o OUT missing (see -h)", who);
    if (dpo && !prefs)
        return tui_cmd_fail(TUI_EXIT_USAGE, "%s: --format dpo goes with --prefs", who);
    if (prefs) {
        char *votes = bz_asprintf("%s.bezoar/votes.jsonl", path);
        struct bz_err verr = {0};
        size_t w = 0, skipped = 0;
        int vrc = ds_votes_export(votes, out, &w, &skipped, &verr);
        free(votes);
        if (vrc < 0)
            return tui_cmd_fail_err(&verr, vrc);
        printf("%zu preference pairs written to %s (%zu votes left out: ties, both bad, "
               "unreadable)\n", w, out, skipped);
        return TUI_EXIT_OK;
    }
    struct ds_dataset *ds;
    if (open_ds(&ds, path, in_fmt, 1))
        return TUI_EXIT_ERROR;
    size_t n = 0, copies = 0;
    struct ds_export_opts eo = {.status_mask = mask, .out_format = out_fmt, .jsonl = jsonl,
                                .with_source = import, .keep_copies = import,
                                .copies = &copies};
    struct bz_err err = {0};
    int rc = ds_export_ex(ds, out, &eo, &n, &err);
    if (rc < 0) {
        ds_close(ds);
        return tui_cmd_fail_err(&err, rc);
    }
    report_bad(ds);
    if (copies)
        printf("%zu records written to %s (%zu exact copies of earlier records left out: "
               "same id, one decision)\n", n, out, copies);
    else
        printf("%zu records written to %s\n", n, out);
    ds_close(ds);
    return TUI_EXIT_OK;
}

/* ---------------------------------------------------------------- decide */

static int data_decide(int argc, char **argv)
{
    const char *path = NULL;
    const char **ids = bz_calloc((size_t)argc, sizeof *ids);
    size_t n_ids = 0;
    int op = -1, rc = TUI_EXIT_OK;
    for (int i = 1; i < argc && rc == TUI_EXIT_OK; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            fputs(usage_decide, stdout);
            free(ids);
            return TUI_EXIT_OK;
        } else if (strcmp(a, "--id") == 0) {
            if (!(v = flag_value(argc, argv, &i)))
                rc = TUI_EXIT_USAGE;
            else
                ids[n_ids++] = v;
        } else if (strcmp(a, "--op") == 0) {
            if (!(v = flag_value(argc, argv, &i))) {
                rc = TUI_EXIT_USAGE;
            } else {
                op = ds_op_parse(v);
                if (op < 0 || op == DS_OP_EDIT)
                    rc = tui_cmd_fail(TUI_EXIT_USAGE,
                                      "data decide: --op must be accept, reject, flag or reset "
                                      "(got '%s')", v);
            }
        } else if (a[0] == '-' || path) {
            rc = tui_cmd_fail(TUI_EXIT_USAGE, "data decide: unexpected '%s' (see -h)", a);
        } else {
            path = a;
        }
    }
    if (rc == TUI_EXIT_OK && (!path || !n_ids || op < 0))
        rc = tui_cmd_fail(TUI_EXIT_USAGE, "data decide: DATASET, --id and --op are required "
                                          "(see -h)");
    struct ds_dataset *ds = NULL;
    if (rc == TUI_EXIT_OK && open_ds(&ds, path, DS_FMT_UNKNOWN, 0))
        rc = TUI_EXIT_ERROR;
    /* every id must name a record: look for its hash among the summaries */
    for (size_t k = 0; rc == TUI_EXIT_OK && k < n_ids; k++) {
        uint64_t h = bz_hash64(ids[k], strlen(ids[k]));
        size_t n = ds_count(ds), i;
        struct ds_summary s;
        for (i = 0; i < n; i++)
            if (ds_summary(ds, i, &s) && !(s.flags & DS_F_BAD) && s.id_hash == h)
                break;
        if (i == n)
            rc = tui_cmd_fail(TUI_EXIT_ERROR, "%s: no record with id '%s'", path, ids[k]);
    }
    if (rc == TUI_EXIT_OK) {
        struct bz_err err = {0};
        int e = ds_decide(ds, ids, n_ids, op, &err);
        if (e < 0)
            rc = tui_cmd_fail_err(&err, e);
        else
            for (size_t k = 0; k < n_ids; k++)
                printf("%s: %s\n", ids[k], ds_status_name(ds_status(ds, ids[k])));
    }
    ds_close(ds);
    free(ids);
    return rc;
}

/* ---------------------------------------------------------------- filter, dedup */

static const char usage_filter[] =
    "usage: bezoar data filter DATASET [--rules FILE] [--near T] [--decide] [--json]\n"
    "Run the automatic filters over every record: the rule flags (empty, short, long,\n"
    "refusal, repeat, echo, lang, ctrl), exact duplicates and near duplicates (MinHash,\n"
    "estimated Jaccard >= T, default 0.8); print the count per flag with its meaning,\n"
    "and write a suggested reject into DATASET.bezoar/journal for every flagged record\n"
    "(the flag names are the reason; the kept member of a duplicate group gets none;\n"
    "records a person decided are left alone). Suggestions are never decisions: the\n"
    "Data view shows them for confirmation. --decide writes reject decisions instead,\n"
    "as one undoable step. --rules FILE overrides keys of the default rules\n"
    "(assets/filters/rules.json: limits, refusal lists, which flags are on, keep).\n"
    "--json prints one JSON object (a \"done\" event).\n";

static const char usage_dedup[] =
    "usage: bezoar data dedup DATASET [--near T] [--shingle auto|word|char] [--rules FILE]\n"
    "                         [--json]\n"
    "List the groups of exact duplicates (normalized text) and near duplicates (MinHash\n"
    "over word or character shingles, LSH, estimated Jaccard >= T, default 0.8), one line\n"
    "per member with its source line, id and instruction; the kept member (the first, or\n"
    "the longest response with \"keep\": \"longest\" in the rules) is marked '*'. Writes\n"
    "nothing. --json prints one JSON object per group, then a summary object.\n";

static const unsigned filter_bits[] = {
    DS_F_EMPTY, DS_F_SHORT, DS_F_LONG, DS_F_REFUSAL, DS_F_REPEAT,
    DS_F_ECHO,  DS_F_LANG,  DS_F_CTRL, DS_F_DUP,     DS_F_NEARDUP,
};

static int flag_bit_index(unsigned f)
{
    for (int b = 0; b < DS_F_NBITS; b++)
        if (f == 1u << b)
            return b;
    return 0;
}

static int load_rules(const char *path, struct ds_rules **own, const struct ds_rules **r)
{
    *own = NULL;
    *r = ds_rules_default();
    if (!path)
        return 0;
    struct bz_err err = {0};
    int rc = ds_rules_load(own, path, &err);
    if (rc < 0)
        return tui_cmd_fail_err(&err, rc);
    *r = *own;
    return 0;
}

static int parse_near(const char *v, double *t)
{
    if (tui_arg_num(v, 0.05, 1, t) < 0)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data: --near wants a similarity from 0.05 to 1 "
                                            "(got '%s')", v);
    return 0;
}

static int data_filter(int argc, char **argv)
{
    const char *path = NULL, *rules_path = NULL;
    int json = 0, decide = 0;
    double near = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            fputs(usage_filter, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--decide")) {
            decide = 1;
        } else if (!strcmp(a, "--rules")) {
            if (!(rules_path = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--near")) {
            if (!(v = flag_value(argc, argv, &i)) || parse_near(v, &near))
                return TUI_EXIT_USAGE;
        } else if (a[0] == '-' || path) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "data filter: unexpected '%s' (see -h)", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data filter: DATASET missing (see -h)");
    struct ds_rules *own;
    const struct ds_rules *r;
    if (load_rules(rules_path, &own, &r))
        return TUI_EXIT_ERROR;
    struct ds_dataset *ds;
    if (open_ds(&ds, path, DS_FMT_UNKNOWN, 0)) {
        ds_rules_free(own);
        return TUI_EXIT_ERROR;
    }
    struct ds_filter_result res;
    struct ds_filter_applied ap;
    struct bz_err err = {0};
    int rc = ds_filter_run(ds, r, near, -1, &res, &err);
    if (rc == 0) {
        rc = ds_filter_apply(ds, &res, decide, &ap, &err);
        if (rc < 0)
            ds_filter_result_free(&res);
    }
    if (rc < 0) {
        ds_close(ds);
        ds_rules_free(own);
        return tui_cmd_fail_err(&err, rc);
    }
    double t = near >= 0 ? near : r->near_threshold;
    size_t near_groups = res.n_groups - res.n_exact_groups;
    if (json) {
        /* one object, also a "done" event, so the Data view can run this as a job */
        printf("{\"event\":\"done\",\"file\":");
        json_str(stdout, path);
        printf(",\"records\":%zu,\"bad\":%zu,\"flagged\":%zu,\"flags\":{", res.records, res.bad,
               res.flagged);
        for (size_t k = 0; k < BZ_ARRAY_SIZE(filter_bits); k++)
            printf("%s\"%s\":%zu", k ? "," : "", ds_flag_name(filter_bits[k]),
                   res.per_flag[flag_bit_index(filter_bits[k])]);
        printf("},\"exact_groups\":%zu,\"near_groups\":%zu,\"near_threshold\":%g,"
               "\"candidates\":%zu,\"keep\":\"%s\",\"mode\":\"%s\",\"written\":%zu,"
               "\"unchanged\":%zu,\"cleared\":%zu,\"already_decided\":%zu,\"shared_ids\":%zu,"
               "\"steps\":%zu,\"seconds\":%.3f}\n",
               res.n_exact_groups, near_groups, t, res.candidates,
               r->keep == DS_KEEP_LONGEST ? "longest" : "first", decide ? "decide" : "suggest",
               ap.ids, ap.unchanged, ap.cleared, ap.decided, ap.shared, ap.steps, res.seconds);
    } else {
        printf("%s: %zu records, %zu bad, %zu flagged (%.2f s)\n", path, res.records, res.bad,
               res.flagged, res.seconds);
        for (size_t k = 0; k < BZ_ARRAY_SIZE(filter_bits); k++) {
            unsigned f = filter_bits[k];
            size_t c = res.per_flag[flag_bit_index(f)];
            if (!(r->enabled & f)) {
                printf("  %-8s   off\n", ds_flag_name(f));
                continue;
            }
            printf("  %-8s %5zu  %s", ds_flag_name(f), c, ds_flag_explain(f));
            if (f == DS_F_DUP)
                printf(" [%zu groups]", res.n_exact_groups);
            if (f == DS_F_NEARDUP)
                printf(" [%zu groups, threshold %g]", near_groups, t);
            putchar('\n');
        }
        printf("%s reject: %zu ids in %zu journal step(s); %zu unchanged, %zu cleared, "
               "%zu already decided by a person, %zu duplicates share the kept record's id\n",
               decide ? "decided" : "suggested", ap.ids, ap.steps, ap.unchanged, ap.cleared,
               ap.decided, ap.shared);
    }
    ds_filter_result_free(&res);
    ds_close(ds);
    ds_rules_free(own);
    return TUI_EXIT_OK;
}

static void preview(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        out[o++] = c == '\n' || c == '\t' || c == '\r' ? ' ' : (char)c;
    }
    while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
        o--; /* never cut a character */
    if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
        o--;
    out[o] = '\0';
    if (*s)
        strcat(out, "...");
}

static int data_dedup(int argc, char **argv)
{
    const char *path = NULL, *rules_path = NULL;
    int json = 0, shingle = -1;
    double near = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (is_help(a)) {
            fputs(usage_dedup, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--rules")) {
            if (!(rules_path = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--near")) {
            if (!(v = flag_value(argc, argv, &i)) || parse_near(v, &near))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--shingle")) {
            if (!(v = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
            shingle = !strcmp(v, "auto") ? DS_SHINGLE_AUTO : !strcmp(v, "word") ? DS_SHINGLE_WORD
                      : !strcmp(v, "char") ? DS_SHINGLE_CHAR : -2;
            if (shingle == -2)
                return tui_cmd_fail(TUI_EXIT_USAGE, "data dedup: --shingle is auto, word or "
                                                    "char (got '%s')", v);
        } else if (a[0] == '-' || path) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "data dedup: unexpected '%s' (see -h)", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data dedup: DATASET missing (see -h)");
    struct ds_rules *own;
    const struct ds_rules *base;
    if (load_rules(rules_path, &own, &base))
        return TUI_EXIT_ERROR;
    struct ds_rules r = *base; /* the same lists, only the duplicate flags on */
    r.enabled = DS_F_DUP | DS_F_NEARDUP;
    struct ds_dataset *ds;
    if (open_ds(&ds, path, DS_FMT_UNKNOWN, 1)) {
        ds_rules_free(own);
        return TUI_EXIT_ERROR;
    }
    struct ds_filter_result res;
    struct bz_err err = {0};
    int rc = ds_filter_run(ds, &r, near, shingle, &res, &err);
    if (rc < 0) {
        ds_close(ds);
        ds_rules_free(own);
        return tui_cmd_fail_err(&err, rc);
    }
    size_t members = 0;
    for (size_t g = 0; g < res.n_groups; g++) {
        const struct ds_group *gr = &res.groups[g];
        members += gr->n;
        if (json)
            printf("{\"group\":%zu,\"kind\":\"%s\",\"members\":[", g + 1,
                   gr->near ? "near" : "exact");
        else
            printf("group %zu: %s duplicates, %zu records\n", g + 1, gr->near ? "near" : "exact",
                   gr->n);
        for (size_t k = 0; k < gr->n; k++) {
            size_t i = gr->idx[k];
            struct ds_record rec;
            ds_get(ds, i, &rec, NULL);
            char pv[96];
            preview(pv, sizeof pv, ds_record_prompt(&rec));
            if (json) {
                printf("%s{\"line\":%zu,\"id\":", k ? "," : "", rec.line);
                json_str(stdout, rec.id ? rec.id : "");
                printf(",\"keep\":%s,\"flag\":\"%s\",\"instruction\":", i == gr->keep ? "true"
                                                                                     : "false",
                       i == gr->keep ? "" : ds_flag_name(res.flags[i] & DS_F_DUP ? DS_F_DUP
                                                                                 : DS_F_NEARDUP));
                json_str(stdout, pv);
                putchar('}');
            } else {
                printf("  %c line %-6zu %-18s %s\n", i == gr->keep ? '*' : ' ', rec.line,
                       rec.id ? rec.id : "", pv);
            }
            ds_record_cleanup(&rec);
        }
        if (json)
            printf("]}\n");
    }
    size_t near_groups = res.n_groups - res.n_exact_groups;
    double t = near >= 0 ? near : r.near_threshold;
    if (json)
        printf("{\"records\":%zu,\"exact_groups\":%zu,\"near_groups\":%zu,\"members\":%zu,"
               "\"threshold\":%g,\"candidates\":%zu,\"keep\":\"%s\",\"seconds\":%.3f}\n",
               res.records, res.n_exact_groups, near_groups, members, t, res.candidates,
               r.keep == DS_KEEP_LONGEST ? "longest" : "first", res.seconds);
    else
        printf("%s: %zu records, %zu exact and %zu near-duplicate groups (%zu records, "
               "threshold %g, keep %s, '*' = kept)\n", path, res.records, res.n_exact_groups,
               near_groups, members, t, r.keep == DS_KEEP_LONGEST ? "longest" : "first");
    ds_filter_result_free(&res);
    ds_close(ds);
    ds_rules_free(own);
    return TUI_EXIT_OK;
}

/* ---------------------------------------------------------------- score */

static const char usage_score[] =
    "usage: bezoar data score DATASET --judge SPEC [--rubric FILE] [--status S] [--limit N]\n"
    "                         [--parallel N] [--below T] [--max-tokens N] [--json]\n"
    "Ask a judge (SPEC: local:MODEL.gguf or openai:URL#MODEL) to rate each record from 1 to\n"
    "10 with a short rationale, using the rubric (default assets/prompts/score-rubric.txt;\n"
    "{instruction} and {response} are filled in). A verdict counts only with exactly one\n"
    "rating written \"[[N]]\"; unparseable verdicts are counted and reported, not stored.\n"
    "Scores go to DATASET.bezoar/scores.jsonl with the judge SPEC; records that judge has\n"
    "scored already are skipped, so an interrupted run resumes. --status S picks the\n"
    "records (default pending; all, accepted, rejected, flagged or a comma list), --limit\n"
    "N scores at most N, --parallel N requests at once (default 4; local: slots sharing\n"
    "the threads). --below T writes a suggested reject (why \"score<T\") for every\n"
    "record of the selection this judge rated below T. Progress goes to stderr on a\n"
    "terminal; --json prints JSON-lines events (progress, unparseable, failed, done).\n";

struct score_progress {
    int json, tty;
    size_t total, done, failed, unparseable;
    double t0;
};

static void score_progress_show(struct score_progress *p)
{
    double el = bz_now() - p->t0;
    if (p->json) {
        printf("{\"event\":\"progress\",\"phase\":\"score\",\"done\":%zu,\"total\":%zu,"
               "\"failed\":%zu,\"unparseable\":%zu,\"elapsed_s\":%.3f}\n",
               p->done, p->total, p->failed, p->unparseable, el);
        fflush(stdout);
    } else if (p->tty) {
        double rate = el > 0 ? p->done / el : 0;
        double eta = rate > 0 ? (p->total - p->done) / rate : 0;
        fprintf(stderr, "\rscore %zu/%zu  %.2f/s  ETA %.0f s  ", p->done, p->total, rate, eta);
        if (p->done == p->total)
            fputc('\n', stderr);
    }
}

static void score_event(int json, const char *event, const char *id, const char *why)
{
    if (json) {
        printf("{\"event\":\"%s\",\"id\":", event);
        json_str(stdout, id);
        printf(",\"reason\":");
        json_str(stdout, why);
        printf("}\n");
    } else {
        fprintf(stderr, "bezoar: %s: %s: %s\n", id, event, why);
    }
}

static int data_score(int argc, char **argv)
{
    const char *path = NULL, *spec = NULL, *rubric_path = NULL;
    int json = 0, parallel = 4, max_tokens = 512;
    long limit = -1;
    double below = -1, v = 0;
    unsigned mask = 1u << DS_PENDING;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *s;
        if (is_help(a)) {
            fputs(usage_score, stdout);
            return TUI_EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--judge")) {
            if (!(spec = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--rubric")) {
            if (!(rubric_path = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--status")) {
            if (!(s = flag_value(argc, argv, &i)) || parse_status_mask("data score", s, &mask))
                return TUI_EXIT_USAGE;
        } else if (!strcmp(a, "--limit") || !strcmp(a, "--parallel") ||
                   !strcmp(a, "--below") || !strcmp(a, "--max-tokens")) {
            if (!(s = flag_value(argc, argv, &i)))
                return TUI_EXIT_USAGE;
            int is_below = !strcmp(a, "--below");
            if (tui_arg_num(s, is_below ? 1 : 0, is_below ? 10 : 1e9, &v) < 0 ||
                (!is_below && v != (double)(long)v) || (!strcmp(a, "--parallel") && v < 1) ||
                (!strcmp(a, "--max-tokens") && v < 16))
                return tui_cmd_fail(TUI_EXIT_USAGE, "data score: bad %s '%s' (see -h)", a, s);
            if (is_below)
                below = v;
            else if (!strcmp(a, "--limit"))
                limit = (long)v;
            else if (!strcmp(a, "--parallel"))
                parallel = (int)v;
            else
                max_tokens = (int)v;
        } else if (a[0] == '-' || path) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "data score: unexpected '%s' (see -h)", a);
        } else {
            path = a;
        }
    }
    if (!path || !spec)
        return tui_cmd_fail(TUI_EXIT_USAGE, "data score: DATASET and --judge SPEC are required "
                                            "(see -h)");
    struct bz_err err = {0};
    char *rubric = NULL, *defrubric = NULL;
    size_t rlen = 0;
    if (!rubric_path)
        rubric_path = defrubric = bz_path_join(tui_assets_dir(), "prompts/score-rubric.txt");
    int rc = bz_read_file(rubric_path, &rubric, &rlen, &err);
    free(defrubric);
    if (rc < 0)
        return tui_cmd_fail_err(&err, rc);
    if (!strstr(rubric, "{response}")) {
        free(rubric);
        return tui_cmd_fail(TUI_EXIT_USAGE, "data score: the rubric has no {response} to fill");
    }
    struct ds_dataset *ds;
    if (open_ds(&ds, path, DS_FMT_UNKNOWN, 0)) {
        free(rubric);
        return TUI_EXIT_ERROR;
    }
    struct judge_backend *be = NULL;
    struct judge_backend_cfg cfg;
    judge_backend_cfg_defaults(&cfg);
    cfg.parallel = parallel;
    cfg.local_slots = parallel;
    cfg.stream = 0; /* the whole verdict is needed before it can be parsed */
    rc = judge_backend_open(&be, spec, &cfg, &err);
    if (rc < 0) {
        ds_close(ds);
        free(rubric);
        return tui_cmd_fail_err(&err, rc);
    }

    /* the selection: records with a status in mask, one per id */
    size_t n = ds_count(ds), nsel = 0, already = 0;
    char **sel_ids = bz_calloc(n ? n : 1, sizeof *sel_ids);
    size_t *todo = bz_malloc((n ? n : 1) * sizeof *todo), ntodo = 0;
    struct bz_set64 seen = {0}; /* records sharing an id (exact copies) are one */
    for (size_t i = 0; i < n; i++) {
        struct ds_summary sm;
        if (!ds_summary(ds, i, &sm) || (sm.flags & DS_F_BAD) || !(mask & (1u << sm.status)) ||
            !bz_set64_add(&seen, sm.id_hash))
            continue;
        struct ds_record rec;
        if (ds_get(ds, i, &rec, NULL) < 0) {
            ds_record_cleanup(&rec);
            continue;
        }
        const char *judge = NULL;
        sel_ids[nsel++] = bz_strdup(rec.id);
        if (ds_score_get(ds, rec.id, NULL, &judge, NULL) && !strcmp(judge, spec))
            already++;
        else if (limit < 0 || ntodo < (size_t)limit)
            todo[ntodo++] = i;
        ds_record_cleanup(&rec);
    }
    bz_set64_cleanup(&seen);

    struct score_progress pr = {json, isatty(2), ntodo, 0, 0, 0, bz_now()};
    size_t stored = 0, step = (size_t)parallel * 2;
    for (size_t b0 = 0; b0 < ntodo && rc == 0; b0 += step) {
        size_t nb = BZ_MIN(step, ntodo - b0);
        struct judge_request *reqs = bz_calloc(nb, sizeof *reqs);
        struct judge_msg *msgs = bz_calloc(nb, sizeof *msgs);
        struct judge_result *res = bz_calloc(nb, sizeof *res);
        struct ds_record *recs = bz_calloc(nb, sizeof *recs);
        char **prompts = bz_calloc(nb, sizeof *prompts);
        for (size_t k = 0; k < nb; k++) {
            ds_get(ds, todo[b0 + k], &recs[k], NULL);
            prompts[k] = ds_score_prompt(rubric, &recs[k]);
            msgs[k].role = JUDGE_ROLE_USER;
            msgs[k].content = prompts[k];
            reqs[k].msgs = &msgs[k];
            reqs[k].n_msgs = 1;
            judge_sampling_defaults(&reqs[k].s);
            reqs[k].s.temperature = 0;
            reqs[k].s.max_tokens = max_tokens;
            judge_result_init(&res[k]);
        }
        rc = judge_backend_run(be, reqs, nb, res, NULL, NULL, NULL);
        if (rc < 0)
            bz_errf(&err, rc, "%s: the judge batch could not start", spec);
        for (size_t k = 0; k < nb && rc == 0; k++) {
            const char *id = recs[k].id;
            if (res[k].rc) {
                pr.failed++;
                score_event(json, "failed", id, res[k].error[0] ? res[k].error
                                                                : bz_strerror(res[k].rc));
                continue;
            }
            double s;
            char *why = NULL;
            struct bz_err perr = {0};
            if (ds_score_parse(res[k].text.p ? res[k].text.p : "", &s, &why, &perr) < 0) {
                pr.unparseable++;
                score_event(json, "unparseable", id, perr.msg);
                continue;
            }
            rc = ds_score_set(ds, id, spec, s, why, &err);
            free(why);
            stored += rc == 0;
        }
        pr.done += nb;
        for (size_t k = 0; k < nb; k++) {
            judge_result_cleanup(&res[k]);
            ds_record_cleanup(&recs[k]);
            free(prompts[k]);
        }
        free(reqs);
        free(msgs);
        free(res);
        free(recs);
        free(prompts);
        score_progress_show(&pr);
    }

    /* --below: suggested rejects for this judge's ratings under T in the selection */
    size_t suggested = 0, low = 0;
    if (rc == 0 && below > 0) {
        char why[64];
        snprintf(why, sizeof why, "score<%g", below);
        const char **ids = bz_malloc((nsel ? nsel : 1) * sizeof *ids);
        for (size_t k = 0; k < nsel; k++) {
            double s;
            const char *judge = NULL, *old = NULL;
            int op;
            if (!ds_score_get(ds, sel_ids[k], &s, &judge, NULL) || strcmp(judge, spec) ||
                s >= below)
                continue;
            low++;
            if (ds_status(ds, sel_ids[k]) != DS_PENDING ||
                (ds_suggestion(ds, sel_ids[k], &op, &old) && op == DS_OP_REJECT && old &&
                 !strcmp(old, why)))
                continue;
            ids[suggested++] = sel_ids[k];
        }
        if (suggested)
            rc = ds_suggest(ds, ids, suggested, DS_OP_REJECT, why, &err);
        free(ids);
    }
    if (rc == 0) {
        if (json)
            printf("{\"event\":\"done\",\"judge\":");
        if (json) {
            json_str(stdout, spec);
            printf(",\"selected\":%zu,\"already_scored\":%zu,\"requested\":%zu,\"scored\":%zu,"
                   "\"unparseable\":%zu,\"failed\":%zu,\"below\":%zu,\"suggested\":%zu,"
                   "\"scores_total\":%zu,\"elapsed_s\":%.3f}\n",
                   nsel, already, ntodo, stored, pr.unparseable, pr.failed, low, suggested,
                   ds_score_count(ds), bz_now() - pr.t0);
        } else {
            printf("%s: %zu records selected, %zu already scored by this judge, %zu asked: "
                   "%zu scored, %zu unparseable, %zu failed\n", path, nsel, already, ntodo,
                   stored, pr.unparseable, pr.failed);
            if (below > 0)
                printf("  %zu rated below %g, %zu new suggested rejects\n", low, below,
                       suggested);
        }
    }
    for (size_t k = 0; k < nsel; k++)
        free(sel_ids[k]);
    free(sel_ids);
    free(todo);
    judge_backend_free(be);
    ds_close(ds);
    free(rubric);
    if (rc < 0)
        return tui_cmd_fail_err(&err, rc);
    if (ntodo && pr.failed == ntodo)
        return tui_cmd_fail(TUI_EXIT_ERROR, "data score: every request to the judge failed");
    return TUI_EXIT_OK;
}

/* ---------------------------------------------------------------- dispatch */

/* Contract: the `data` verb (see tui.h). argv[0] is "data", argv[1] the subverb. */
int tui_cmd_data(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        fputs(usage_data, argc < 2 ? stderr : stdout);
        return argc < 2 ? TUI_EXIT_USAGE : TUI_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "stats") == 0)
        return data_stats(argc - 1, argv + 1);
    if (strcmp(sub, "export") == 0)
        return data_export(argc - 1, argv + 1, 0);
    if (strcmp(sub, "import") == 0)
        return data_export(argc - 1, argv + 1, 1);
    if (strcmp(sub, "decide") == 0)
        return data_decide(argc - 1, argv + 1);
    if (strcmp(sub, "filter") == 0)
        return data_filter(argc - 1, argv + 1);
    if (strcmp(sub, "dedup") == 0)
        return data_dedup(argc - 1, argv + 1);
    if (strcmp(sub, "score") == 0)
        return data_score(argc - 1, argv + 1);
    return tui_cmd_fail(TUI_EXIT_USAGE, "data: unknown subcommand '%s' (stats, export, import, "
                                        "decide, filter, dedup, score)", sub);
}
