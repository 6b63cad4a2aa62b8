/* test_generate.c: the generation schemes without a backend: prompt building, list
 * parsing, evolution checks, keys, the output file's torn tail and resume, and whole
 * runs against a scripted complete function (canned texts, errors, refusals). */
#include "dataset/generate.h"
#include "tests/test.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static const char *prompts_dir(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/assets/prompts", test_root());
    return path;
}

static const char *wr(const char *name, const char *text)
{
    return test_write(name, text, strlen(text));
}

static void free_items(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

TEST(ds_generate_parse_numbered_list)
{
    char *it[8];
    size_t n = ds_generate_parse_list("Here are four new instructions:\n"
                                      "1. Write a poem about the rain.\n"
                                      "2) Explain how bees make honey\n"
                                      "   and why they need so much.\n"
                                      "3. Hi there\n"
                                      "\n"
                                      "(4) \"List three colours of a rainbow.\"\n"
                                      "- **Describe a quiet morning walk.**\n"
                                      "5. Instruction: Name two large cities.\n",
                                      it, 8);
    ASSERT_EQ_INT(n, 5); /* "Hi there" has fewer than 3 words */
    ASSERT_EQ_STR(it[0], "Write a poem about the rain.");
    ASSERT_EQ_STR(it[1], "Explain how bees make honey and why they need so much.");
    ASSERT_EQ_STR(it[2], "List three colours of a rainbow.");
    ASSERT_EQ_STR(it[3], "Describe a quiet morning walk.");
    ASSERT_EQ_STR(it[4], "Name two large cities.");
    free_items(it, n);
    /* at most max */
    n = ds_generate_parse_list("1. one two three\n2. four five six\n3. seven eight nine\n", it, 2);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(it[1], "four five six");
    free_items(it, n);
}

TEST(ds_generate_parse_unlisted_lines)
{
    /* what the demo model writes: no list, short fragments */
    char *it[8];
    size_t n = ds_generate_parse_list("Some ideas:\nA mouse greenqueak,.\n9, 5.\n\n"
                                      "The cow says moo every day\n{topic} is a nice thing\n",
                                      it, 8);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(it[0], "A mouse greenqueak,.");
    ASSERT_EQ_STR(it[1], "The cow says moo every day");
    free_items(it, n);
    ASSERT_EQ_INT(ds_generate_parse_list("", it, 8), 0);
    ASSERT_EQ_INT(ds_generate_parse_list("9, 5.", it, 8), 0);
    /* numbers inside text are no list markers */
    n = ds_generate_parse_list("3.5 is more than three", it, 8);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_STR(it[0], "3.5 is more than three");
    free_items(it, n);
}

TEST(ds_generate_fill_and_norm)
{
    const char *names[] = {"topic", "count"}, *vals[] = {"the sea", "5"};
    char *s = ds_generate_fill("{count} about {topic}; {topic}! {other} {", names, vals, 2);
    ASSERT_EQ_STR(s, "5 about the sea; the sea! {other} {");
    free(s);
    s = ds_generate_norm("  \"Name  THREE\n animals.\"  ");
    ASSERT_EQ_STR(s, "name three animals");
    free(s);
}

TEST(ds_generate_prompts_and_lamini_prompt)
{
    struct bz_err err = {0};
    struct ds_generate_prompts p;
    ASSERT_OK(ds_generate_prompts_load(&p, prompts_dir(), &err), &err);
    ASSERT(p.n_orca >= 3);
    ASSERT(strncmp(p.orca_name[0], "orca-system-1", 13) == 0);
    for (int i = 0; i < DS_GENERATE_EVOL_N; i++)
        ASSERT(strstr(p.evol[i], "{instruction}") != NULL);
    struct ds_generate_seeds s;
    const char *path = wr("s.jsonl", "{\"id\":\"a\",\"instruction\":\"Say hi.\"}\n"
                                     "{\"id\":\"b\",\"instruction\":\"Sort.\",\"input\":\"3, 1\"}\n"
                                     "{\"id\":\"c\",\"instruction\":\"Count to three.\"}\n"
                                     "{\"id\":\"d\",\"instruction\":\"Name a colour.\"}\n");
    ASSERT_OK(ds_generate_seeds_load(&s, path, &err), &err);
    size_t idx[3];
    size_t n = ds_generate_lamini_examples(&s, 1, 0, 3, idx);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_INT(idx[0], 1);
    ASSERT(idx[1] != 1 && idx[2] != 1 && idx[1] != idx[2]);
    /* deterministic, and another k may pick others */
    size_t idx2[3];
    ds_generate_lamini_examples(&s, 1, 0, 3, idx2);
    ASSERT(!memcmp(idx, idx2, sizeof idx));
    char *pr = ds_generate_lamini_prompt(&p, &s, idx, n, 4);
    ASSERT(strstr(pr, "1. Sort. 3, 1\n2. ") != NULL); /* input joined on one line */
    ASSERT(strstr(pr, "Write 4 new instructions") != NULL);
    ASSERT(strstr(pr, "{examples}") == NULL && strstr(pr, "{count}") == NULL);
    free(pr);
    size_t all[8];
    ASSERT_EQ_INT(ds_generate_lamini_examples(&s, 0, 0, 8, all), 4); /* capped by the seeds */
    ASSERT_EQ_INT(all[0] + all[1] + all[2] + all[3], 0 + 1 + 2 + 3);
    ds_generate_seeds_cleanup(&s);
    ds_generate_prompts_cleanup(&p);
}

TEST(ds_generate_prompts_errors)
{
    struct bz_err err = {0};
    struct ds_generate_prompts p;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", prompts_dir(), test_tmp("pr"));
    ASSERT_EQ_INT(system(cmd), 0);
    const char *dir = bz_strdup(test_tmp("pr"));
    ASSERT_OK(ds_generate_prompts_load(&p, dir, &err), &err);
    ds_generate_prompts_cleanup(&p);
    wr("pr/evol-deepen.txt", "Make it deeper: {instr}\n");
    int rc = ds_generate_prompts_load(&p, dir, &err);
    ASSERT_EQ_INT(rc, BZ_EPARSE);
    ASSERT(strstr(err.msg, "evol-deepen.txt: the prompt lacks the placeholder {instruction}"));
    wr("pr/evol-deepen.txt", "Deeper: {instruction}");
    snprintf(cmd, sizeof cmd, "rm '%s'/orca-system-*.txt '%s'/lamini-topic.txt", dir, dir);
    ASSERT_EQ_INT(system(cmd), 0);
    bz_err_clear(&err);
    rc = ds_generate_prompts_load(&p, dir, &err);
    ASSERT_EQ_INT(rc, BZ_ENOENT);
    ASSERT(strstr(err.msg, "lamini-topic.txt"));
    wr("pr/lamini-topic.txt", "About {topic}");
    bz_err_clear(&err);
    rc = ds_generate_prompts_load(&p, dir, &err);
    ASSERT(rc < 0);
    ASSERT(strstr(err.msg, "no orca-system-*.txt prompt"));
    free((char *)dir);
}

TEST(ds_generate_seeds_load)
{
    struct bz_err err = {0};
    struct ds_generate_seeds s;
    const char *path =
        wr("s.jsonl",
           "# comment\n"
           "{\"id\":\"x/1\",\"instruction\":\"  Say hi.  \"}\n"
           "\n"
           "{\"instruction\":\"Sort these.\",\"input\":\"3, 1\"}\n"
           "{\"id\":7,\"messages\":[{\"role\":\"user\",\"content\":\"What is two plus two?\"},"
           "{\"role\":\"assistant\",\"content\":\"Four.\"}]}\n");
    ASSERT_OK(ds_generate_seeds_load(&s, path, &err), &err);
    ASSERT_EQ_INT(s.n, 3);
    ASSERT_EQ_STR(s.v[0].id, "x_1"); /* '/' would split keys */
    ASSERT_EQ_STR(s.v[0].instruction, "Say hi.");
    ASSERT_EQ_INT(s.v[0].line, 2);
    ASSERT_EQ_STR(s.v[1].instruction, "Sort these.\n\n3, 1");
    ASSERT_EQ_INT(s.v[1].id[0], 's');
    ASSERT_EQ_INT(strlen(s.v[1].id), 17);
    ASSERT_EQ_STR(s.v[2].id, "7");
    ASSERT_EQ_STR(s.v[2].instruction, "What is two plus two?");
    ds_generate_seeds_cleanup(&s);

    path = wr("bad.jsonl", "{\"instruction\":\"ok then\"}\n\n{\"instruction\": tru\n");
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, path, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "bad.jsonl:3: not a JSON object"));
    bz_err_clear(&err);
    path = wr("bad2.jsonl", "{\"id\":\"a\",\"instruction\":\"x y z\"}\n"
                            "{\"id\":\"a\",\"instruction\":\"y z w\"}\n");
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, path, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "bad2.jsonl:2: duplicate id \"a\""));
    bz_err_clear(&err);
    path = wr("bad3.jsonl", "{\"instruction\":\"   \"}\n");
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, path, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "bad3.jsonl:1: empty instruction"));
    bz_err_clear(&err);
    path = wr("bad4.jsonl", "{\"question\":\"what\"}\n");
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, path, &err), BZ_EPARSE);
    ASSERT(strstr(err.msg, "bad4.jsonl:1: no \"instruction\" and not a record"));
    bz_err_clear(&err);
    path = wr("empty.jsonl", "# nothing\n\n");
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, path, &err), BZ_EEMPTY);
    bz_err_clear(&err);
    ASSERT_EQ_INT(ds_generate_seeds_load(&s, test_tmp("missing.jsonl"), &err), -ENOENT);

    char **topics;
    size_t nt;
    path = wr("t.txt", "# c\nthe sea\n\n  cooking  \n");
    ASSERT_OK(ds_generate_topics_load(&topics, &nt, path, &err), &err);
    ASSERT_EQ_INT(nt, 2);
    ASSERT_EQ_STR(topics[1], "cooking");
    free_items(topics, nt);
    free(topics);
}

TEST(ds_generate_shipped_seeds_and_topics)
{
    struct bz_err err = {0};
    struct ds_generate_seeds s;
    char path[4096];
    snprintf(path, sizeof path, "%s/assets/demo/seeds.jsonl", test_root());
    ASSERT_OK(ds_generate_seeds_load(&s, path, &err), &err);
    ASSERT(s.n >= 10);
    ds_generate_seeds_cleanup(&s);
    snprintf(path, sizeof path, "%s/assets/demo/topics.txt", test_root());
    char **t;
    size_t nt;
    ASSERT_OK(ds_generate_topics_load(&t, &nt, path, &err), &err);
    ASSERT(nt >= 5);
    free_items(t, nt);
    free(t);
}

TEST(ds_generate_evol_checks)
{
    struct bz_err err = {0};
    struct ds_generate_prompts p;
    ASSERT_OK(ds_generate_prompts_load(&p, prompts_dir(), &err), &err);
    const char *tmpl = p.evol[DS_GENERATE_EVOL_DEEPEN], *orig = "Name three sea animals.";
    char *out;
    ASSERT_EQ_INT(ds_generate_evol_check("#Rewritten Instruction#: \"Name three sea animals and "
                                         "say where each one lives.\"\n",
                                         orig, tmpl, &out),
                  DS_GENERATE_OK);
    ASSERT_EQ_STR(out, "Name three sea animals and say where each one lives.");
    free(out);
    ASSERT_EQ_INT(ds_generate_evol_check("  name THREE sea animals  ", orig, tmpl, &out),
                  DS_GENERATE_DROP_UNCHANGED);
    ASSERT(out == NULL);
    ASSERT_EQ_INT(ds_generate_evol_check(" \n ", orig, tmpl, &out), DS_GENERATE_DROP_EMPTY);
    ASSERT_EQ_INT(ds_generate_evol_check("Fish.", orig, tmpl, &out), DS_GENERATE_DROP_SHORT);
    ASSERT_EQ_INT(ds_generate_evol_check("I want you to act as an instruction rewriter. Name "
                                         "sea animals.",
                                         orig, tmpl, &out),
                  DS_GENERATE_DROP_COPIED);
    ASSERT_EQ_INT(
        ds_generate_evol_check("Name {instruction} three sea animals in detail", orig, tmpl, &out),
        DS_GENERATE_DROP_MARKERS);
    ASSERT_EQ_INT(ds_generate_evol_check("Here is the given instruction made harder: name four",
                                         orig, tmpl, &out),
                  DS_GENERATE_DROP_MARKERS);
    ASSERT_EQ_INT(
        ds_generate_evol_check("As an AI language model, I cannot rewrite this.", orig, tmpl, &out),
        DS_GENERATE_DROP_REFUSAL);
    for (int r = 0; r < DS_GENERATE_DROP_N; r++)
        ASSERT(strcmp(ds_generate_drop_name(r), "?") != 0);
    ds_generate_prompts_cleanup(&p);
}

TEST(ds_generate_keys)
{
    char *k = ds_generate_key(DS_GENERATE_EVOL, "seed-1", "deepen", 3);
    ASSERT_EQ_STR(k, "evol/seed-1/deepen/3");
    char *u = ds_generate_unit_of(k);
    ASSERT_EQ_STR(u, k);
    free(u);
    free(k);
    u = ds_generate_unit_of("lamini/seed-1/example/2/4");
    ASSERT_EQ_STR(u, "lamini/seed-1/example/2");
    free(u);
    u = ds_generate_unit_of("lamini/seed-1/example/2");
    ASSERT_EQ_STR(u, "lamini/seed-1/example/2");
    free(u);
    ASSERT_EQ_INT(ds_generate_scheme_parse("orca"), DS_GENERATE_ORCA);
    ASSERT_EQ_INT(ds_generate_scheme_parse("nope"), -1);
}

#define PAIR(key, scheme, user)                                                                    \
    "{\"id\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"" user "\"},{\"role\":"          \
    "\"assistant\",\"content\":\"a\"}],\"meta\":{\"scheme\":\"" scheme "\",\"strategy\":\"s\","    \
    "\"generation\":1,\"seed_id\":\"q\",\"key\":\"" key "\"}}\n"

TEST(ds_generate_done_torn_tail)
{
    struct bz_err err = {0};
    const char *torn = "{\"id\":\"y\",\"messages\":[{\"role\":\"us";
    char text[2048];
    snprintf(text, sizeof text, "%s%snot json\n\n%s%s%s", PAIR("orca/q/s/0", "orca", "Task one."),
             PAIR("lamini/q/example/0/1", "lamini", "Task two."),
             "{\"instruction\":\"An Alpaca task.\",\"output\":\"ok\"}\n",
             PAIR("orca/q/s/1", "orca", "Task three."), torn);
    const char *path = wr("out.jsonl", text);
    struct ds_generate_done *d;
    size_t cut, bad;
    ASSERT_OK(ds_generate_done_open(&d, path, &cut, &bad, &err), &err);
    ASSERT_EQ_INT(cut, strlen(torn));
    ASSERT_EQ_INT(bad, 1);
    ASSERT_EQ_INT(ds_generate_done_count(d, DS_GENERATE_ORCA), 2);
    ASSERT_EQ_INT(ds_generate_done_count(d, DS_GENERATE_LAMINI), 1);
    ASSERT(ds_generate_done_has(d, "orca/q/s/1"));
    ASSERT(ds_generate_done_has(d, "lamini/q/example/0")); /* the unit of a pair */
    ASSERT(!ds_generate_done_has(d, "orca/q/s/2"));
    ASSERT(ds_generate_done_known(d, "task TWO"));
    ASSERT(!ds_generate_done_known(d, "Task four."));
    ASSERT(ds_generate_done_known(d, "an alpaca task")); /* records of other formats too */
    ds_generate_done_free(d);
    char *back;
    size_t len;
    ASSERT_OK(bz_read_file(path, &back, &len, &err), &err);
    ASSERT_EQ_INT(len, strlen(text) - strlen(torn));
    ASSERT(back[len - 1] == '\n');
    free(back);
    /* a second open finds nothing to cut */
    ASSERT_OK(ds_generate_done_open(&d, path, &cut, &bad, &err), &err);
    ASSERT_EQ_INT(cut, 0);
    ds_generate_done_free(d);

    /* a torn line longer than a read block, and a file that is all torn line */
    size_t big = 10000;
    char *t = bz_malloc(big + 512);
    int h = snprintf(t, 512, "%s", PAIR("orca/q/s/0", "orca", "Task one."));
    memset(t + h, 'x', big);
    path = test_write("big.jsonl", t, (size_t)h + big);
    ASSERT_OK(ds_generate_done_open(&d, path, &cut, &bad, &err), &err);
    ASSERT_EQ_INT(cut, big);
    ASSERT_EQ_INT(ds_generate_done_count(d, DS_GENERATE_ORCA), 1);
    ds_generate_done_free(d);
    path = test_write("all.jsonl", t + h, big);
    ASSERT_OK(ds_generate_done_open(&d, path, &cut, &bad, &err), &err);
    ASSERT_EQ_INT(cut, big);
    ds_generate_done_free(d);
    ASSERT_OK(bz_read_file(path, &back, &len, &err), &err);
    ASSERT_EQ_INT(len, 0);
    free(back);
    free(t);
}

/* ---------------------------------------------------------------- scripted runs */

struct script {
    pthread_mutex_t mu;
    int mode; /* 0 good, 1 every request fails, 2 every third instruction fails */
    int calls;
    int evol_bad; /* evol: answer k%3==1 units with a refusal, k%3==2 unchanged */
};

/* The text after "#Given Instruction#:\n" up to the next blank line. */
static char *given(const char *user)
{
    const char *g = strstr(user, "#Given Instruction#:\n");
    if (!g)
        return bz_strdup("?");
    g += strlen("#Given Instruction#:\n");
    const char *e = strstr(g, "\n\n");
    return bz_strndup(g, e ? (size_t)(e - g) : strlen(g));
}

static int scripted(void *ctx, const struct ds_generate_req *q, struct bz_buf *text,
                    struct bz_err *err)
{
    struct script *s = ctx;
    pthread_mutex_lock(&s->mu);
    int call = s->calls++;
    pthread_mutex_unlock(&s->mu);
    if (s->mode == 1 ||
        (s->mode == 2 && q->stage == DS_GENERATE_STAGE_INSTRUCTION && call % 3 == 0))
        return bz_errf(err, BZ_EIO, "http://x/v1: connection refused (call %d)", call);
    if (q->stage == DS_GENERATE_STAGE_RESPONSE) {
        bz_buf_printf(text, "Answer to: %s", q->user);
        return 0;
    }
    if (strstr(q->user, "#Given Instruction#")) {
        char *g = given(q->user);
        const char *k = strrchr(q->key, '/') + 1;
        if (s->evol_bad && atoi(k) % 3 == 1)
            bz_buf_puts(text, "I'm sorry, but I cannot help with rewriting that.");
        else if (s->evol_bad && atoi(k) % 3 == 2)
            bz_buf_printf(text, "%s", g);
        else
            bz_buf_printf(text, "Rewritten Instruction: %s Explain step %s.", g, k);
        free(g);
        return 0;
    }
    /* LaMini: a list that repeats one item every time (a duplicate after the first) */
    bz_buf_printf(text,
                  "Sure, here you go:\n1. Describe the number %llu in words.\n"
                  "2. Always the same instruction here.\n3. Tiny\n"
                  "4. Name a thing that weighs %llu grams.\n",
                  (unsigned long long)(q->seed % 100000), (unsigned long long)(q->seed % 977));
    return 0;
}

struct evlog {
    int pairs, dropped, errors;
    int last_done, last_total;
};

static void on_event(void *ctx, const struct ds_generate_event *e)
{
    struct evlog *l = ctx;
    l->pairs += e->type == DS_GENERATE_EV_PAIR;
    l->dropped += e->type == DS_GENERATE_EV_DROPPED;
    l->errors += e->type == DS_GENERATE_EV_ERROR;
    l->last_done = (int)e->done;
    l->last_total = (int)e->total;
}

struct fixture {
    struct ds_generate_seeds seeds;
    struct ds_generate_prompts p;
    char **topics;
    size_t n_topics;
};

static void fixture_init(struct fixture *f)
{
    struct bz_err err = {0};
    const char *sp =
        wr("seeds.jsonl", "{\"id\":\"a\",\"instruction\":\"Name three sea animals.\"}\n"
                          "{\"id\":\"b\",\"instruction\":\"What is 2 plus 3?\"}\n"
                          "{\"id\":\"c\",\"instruction\":\"Write a haiku about snow.\"}\n");
    ASSERT_OK(ds_generate_seeds_load(&f->seeds, sp, &err), &err);
    ASSERT_OK(ds_generate_prompts_load(&f->p, prompts_dir(), &err), &err);
    const char *tp = wr("topics.txt", "the sea\ncooking\n");
    ASSERT_OK(ds_generate_topics_load(&f->topics, &f->n_topics, tp, &err), &err);
}

static void fixture_cleanup(struct fixture *f)
{
    ds_generate_seeds_cleanup(&f->seeds);
    ds_generate_prompts_cleanup(&f->p);
    free_items(f->topics, f->n_topics);
    free(f->topics);
}

static void opts_init(struct ds_generate_opts *o, int scheme, size_t n)
{
    memset(o, 0, sizeof *o);
    o->scheme = scheme;
    o->out = test_tmp("out.jsonl");
    o->n = n;
    o->parallel = 1;
    o->s = (struct ds_generate_sampling){0.7, 0.9, 64, 5};
    o->backend = "openai:http://127.0.0.1:1/v1#m";
    o->model = "m";
}

/* Check the output file: every line a pair with unique key and id; returns pairs of
 * scheme; *max_gen the highest generation seen. */
static int check_out(const char *path, const char *scheme, int *max_gen)
{
    struct bz_err err = {0};
    char *text;
    size_t len;
    ASSERT_OK(bz_read_file(path, &text, &len, &err), &err);
    ASSERT(len == 0 || text[len - 1] == '\n');
    char *keys[256];
    int n = 0, mine = 0;
    if (max_gen)
        *max_gen = 0;
    for (char *l = text, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
        cJSON *o = cJSON_ParseWithLength(l, (size_t)(nl - l));
        ASSERT(o != NULL);
        cJSON *meta = cJSON_GetObjectItem(o, "meta");
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "key"));
        ASSERT(key != NULL);
        ASSERT(cJSON_IsString(cJSON_GetObjectItem(o, "id")));
        ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(o, "messages")) >= 2);
        ASSERT(cJSON_IsObject(cJSON_GetObjectItem(meta, "sampling")));
        ASSERT(cJSON_IsString(cJSON_GetObjectItem(meta, "time")));
        ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "model")), "m");
        for (int i = 0; i < n; i++)
            if (!strcmp(keys[i], key))
                test__fail(__FILE__, __LINE__, "duplicate key %s", key);
        ASSERT(n < 256);
        keys[n++] = bz_strdup(key);
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "scheme")), scheme))
            mine++;
        int g = cJSON_GetObjectItem(meta, "generation")->valueint;
        if (max_gen && g > *max_gen)
            *max_gen = g;
        cJSON_Delete(o);
    }
    free_items(keys, (size_t)n);
    free(text);
    return mine;
}

TEST(ds_generate_run_lamini_resumes_exactly)
{
    struct fixture f;
    fixture_init(&f);
    struct script sc = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ds_generate_opts o;
    opts_init(&o, DS_GENERATE_LAMINI, 5);
    struct ds_generate_stats st;
    struct evlog lg = {0};
    struct bz_err err = {0};
    ASSERT_OK(ds_generate_run(&o, &f.seeds, f.topics, f.n_topics, &f.p, scripted, &sc, on_event,
                              &lg, NULL, &st, &err),
              &err);
    ASSERT_EQ_INT(st.written, 5);
    ASSERT_EQ_INT(lg.pairs, 5);
    ASSERT_EQ_INT(lg.last_done, 5);
    ASSERT_EQ_INT(lg.last_total, 5);
    ASSERT(st.dropped_by[DS_GENERATE_DROP_DUPLICATE] >= 1); /* the repeated item */
    ASSERT_EQ_INT(check_out(o.out, "lamini", NULL), 5);
    /* both strategies show, and the topic is kept */
    char *text;
    ASSERT_OK(bz_read_file(o.out, &text, NULL, &err), &err);
    ASSERT(strstr(text, "\"strategy\":\"topic\",\"generation\":1,\"seed_id\":\"t"));
    ASSERT(strstr(text, "\"topic\":\"the sea\""));
    ASSERT(strstr(text, "\"strategy\":\"example\""));
    ASSERT(strstr(text, "\"examples\":[\"a\","));
    ASSERT(strstr(text, "\"sampling\":{\"temperature\":0.7,\"top_p\":0.9,\"max_tokens\":64,"
                        "\"seed\":5}"));
    free(text);

    /* a kill in the middle of a write leaves a torn line: cut, then resumed to 9 */
    FILE *fp = fopen(o.out, "a");
    fputs("{\"id\":\"abc\",\"messages\":[{\"ro", fp);
    fclose(fp);
    o.n = 9;
    ASSERT_OK(ds_generate_run(&o, &f.seeds, f.topics, f.n_topics, &f.p, scripted, &sc, NULL, NULL,
                              NULL, &st, &err),
              &err);
    ASSERT_EQ_INT(st.torn, strlen("{\"id\":\"abc\",\"messages\":[{\"ro"));
    ASSERT_EQ_INT(st.existing, 5);
    ASSERT_EQ_INT(st.written, 4);
    ASSERT_EQ_INT(check_out(o.out, "lamini", NULL), 9);
    /* at the target: nothing is asked */
    int calls = sc.calls;
    ASSERT_OK(ds_generate_run(&o, &f.seeds, f.topics, f.n_topics, &f.p, scripted, &sc, NULL, NULL,
                              NULL, &st, &err),
              &err);
    ASSERT_EQ_INT(st.written, 0);
    ASSERT_EQ_INT(st.requests, 0);
    ASSERT_EQ_INT(sc.calls, calls);
    fixture_cleanup(&f);
}

TEST(ds_generate_run_evol_generations_and_drops)
{
    struct fixture f;
    fixture_init(&f);
    struct script sc = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 1};
    struct ds_generate_opts o;
    opts_init(&o, DS_GENERATE_EVOL, 5);
    struct ds_generate_stats st;
    struct bz_err err = {0};
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, NULL, NULL, NULL, &st, &err),
        &err);
    ASSERT_EQ_INT(st.written, 5);
    /* units k=1 refuse, k=2 come back unchanged: dropped, counted per reason */
    ASSERT_EQ_INT(st.dropped_by[DS_GENERATE_DROP_REFUSAL], 3);
    ASSERT_EQ_INT(st.dropped_by[DS_GENERATE_DROP_UNCHANGED], 3);
    int gen = 0;
    ASSERT_EQ_INT(check_out(o.out, "evol", &gen), 5);
    ASSERT_EQ_INT(gen, 2); /* k=3 evolved k=0's instruction */
    char *text;
    ASSERT_OK(bz_read_file(o.out, &text, NULL, &err), &err);
    /* the second generation rewrites the first one's text */
    ASSERT(strstr(text, "Name three sea animals. Explain step 0. Explain step 3."));
    ASSERT(strstr(text, "\"generation\":2,\"seed_id\":\"a\""));
    free(text);
    /* resuming keeps the chain: the next one is generation 3 */
    o.n = 8;
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, NULL, NULL, NULL, &st, &err),
        &err);
    ASSERT_EQ_INT(check_out(o.out, "evol", &gen), 8);
    ASSERT_EQ_INT(gen, 3);
    fixture_cleanup(&f);
}

TEST(ds_generate_run_orca_keeps_system_and_exhausts)
{
    struct fixture f;
    fixture_init(&f);
    struct script sc = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ds_generate_opts o;
    opts_init(&o, DS_GENERATE_ORCA, 4);
    struct ds_generate_stats st;
    struct bz_err err = {0};
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, NULL, NULL, NULL, &st, &err),
        &err);
    ASSERT_EQ_INT(st.written, 4);
    char *text;
    ASSERT_OK(bz_read_file(o.out, &text, NULL, &err), &err);
    cJSON *first = cJSON_ParseWithLength(text, (size_t)(strchr(text, '\n') - text));
    cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "messages"), 0);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m0, "role")), "system");
    const char *strategy =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "meta"), "strategy"));
    int found = 0;
    for (size_t i = 0; i < f.p.n_orca; i++)
        if (!strcmp(f.p.orca_name[i], strategy)) {
            ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m0, "content")), f.p.orca[i]);
            found = 1;
        }
    ASSERT(found);
    cJSON_Delete(first);
    free(text);
    /* more than seeds x system messages: stops when every unit was tried */
    o.n = 100;
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, NULL, NULL, NULL, &st, &err),
        &err);
    ASSERT(st.exhausted);
    ASSERT_EQ_INT(check_out(o.out, "orca", NULL), (int)(3 * f.p.n_orca));
    fixture_cleanup(&f);
}

TEST(ds_generate_run_errors_counted_or_fatal)
{
    struct fixture f;
    fixture_init(&f);
    struct script sc = {PTHREAD_MUTEX_INITIALIZER, 2, 0, 0};
    struct ds_generate_opts o;
    opts_init(&o, DS_GENERATE_EVOL, 4);
    struct ds_generate_stats st;
    struct evlog lg = {0};
    struct bz_err err = {0};
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, on_event, &lg, NULL, &st, &err),
        &err);
    ASSERT_EQ_INT(st.written, 4);
    ASSERT(st.errors >= 1);
    ASSERT_EQ_INT(lg.errors, (int)st.errors);
    ASSERT_EQ_INT(check_out(o.out, "evol", NULL), 4);

    struct script dead = {PTHREAD_MUTEX_INITIALIZER, 1, 0, 0};
    opts_init(&o, DS_GENERATE_ORCA, 3);
    o.out = test_tmp("dead.jsonl");
    int rc =
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &dead, NULL, NULL, NULL, &st, &err);
    ASSERT_EQ_INT(rc, BZ_EIO);
    ASSERT(strstr(err.msg, "every request failed"));
    ASSERT(strstr(err.msg, "connection refused"));
    ASSERT(st.units <= 4 * 3 + 16); /* bounded */
    fixture_cleanup(&f);
}

TEST(ds_generate_run_parallel_exact)
{
    struct fixture f;
    fixture_init(&f);
    struct script sc = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct ds_generate_opts o;
    opts_init(&o, DS_GENERATE_LAMINI, 13);
    o.parallel = 4;
    struct ds_generate_stats st;
    struct bz_err err = {0};
    ASSERT_OK(ds_generate_run(&o, &f.seeds, f.topics, f.n_topics, &f.p, scripted, &sc, NULL, NULL,
                              NULL, &st, &err),
              &err);
    ASSERT_EQ_INT(check_out(o.out, "lamini", NULL), 13);
    opts_init(&o, DS_GENERATE_ORCA, 7);
    o.parallel = 3;
    ASSERT_OK(
        ds_generate_run(&o, &f.seeds, NULL, 0, &f.p, scripted, &sc, NULL, NULL, NULL, &st, &err),
        &err);
    /* one file, two schemes: each counts its own */
    ASSERT_EQ_INT(check_out(o.out, "orca", NULL), 7);
    ASSERT_EQ_INT(check_out(o.out, "lamini", NULL), 13);
    fixture_cleanup(&f);
}
