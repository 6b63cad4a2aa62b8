/*
 * cmd-data.c: `bezoar data SUB ...`, the headless dataset verbs: stats, export,
 * import (any supported format -> OpenAI-messages JSON lines) and decide.
 *
 * Key idea: each subverb is a thin layer over dataset.h: parse flags, open the
 * dataset (read-only unless it decides), print. Errors are one line on stderr,
 * "bezoar: ...", exit 1 at run time and 2 for usage.
 *
 * Left out: filter and dedup subverbs (the TUI's filters cover them for now).
 */
#include "tui/tui.h"

#include <string.h>

#include "dataset/dataset.h"

BZ_CMD("data", tui_cmd_data, "dataset operations: stats, export, import, decide");

static const char usage_data[] =
    "usage: bezoar data SUB ...\n"
    "  stats DATASET [--json] [--format F]      counts, duplicates, lengths, bad lines\n"
    "  export DATASET -o OUT [--status S] [--format alpaca|sharegpt|openai] [--jsonl]\n"
    "                                           write the records with status S\n"
    "  import IN -o OUT [--format F]            convert to OpenAI-messages JSON lines\n"
    "  decide DATASET --id ID --op OP           record a decision in the journal\n"
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

static int parse_status_mask(const char *s, unsigned *mask)
{
    *mask = 0;
    char *copy = bz_strdup(s), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "all") == 0) {
            *mask |= DS_ALL_STATUSES;
            continue;
        }
        int k = -1;
        for (int st = 0; st < 4; st++)
            if (strcmp(t, ds_status_name(st)) == 0)
                k = st;
        if (k < 0) {
            rc = tui_cmd_fail(TUI_EXIT_USAGE, "data export: unknown status '%s'", t);
            break;
        }
        *mask |= 1u << k;
    }
    free(copy);
    if (rc == 0 && *mask == 0)
        rc = tui_cmd_fail(TUI_EXIT_USAGE, "data export: empty --status");
    return rc;
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
            if (!(v = flag_value(argc, argv, &i)) || parse_status_mask(v, &mask))
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
    struct ds_export_opts eo = {mask, out_fmt, jsonl, import};
    struct bz_err err = {0};
    size_t n = 0;
    int rc = ds_export_ex(ds, out, &eo, &n, &err);
    if (rc < 0) {
        ds_close(ds);
        return tui_cmd_fail_err(&err, rc);
    }
    report_bad(ds);
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
    return tui_cmd_fail(TUI_EXIT_USAGE, "data: unknown subcommand '%s' (stats, export, import, "
                                        "decide)", sub);
}
