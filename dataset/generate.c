/*
 * generate.c: the generation schemes (LaMini-style, Evol-Instruct, Orca-style) as a
 * library: seeds, topics and prompt templates in; requests out through a callback; the
 * texts that come back parsed, checked and appended to a JSON-lines file as pairs.
 *
 * Key ideas: the output file is the whole state. Units of work have deterministic keys
 * (generate.h); reading the file back tells which units are done, how many pairs a
 * scheme has, which instructions exist (for the duplicate check) and where each Evol
 * chain stands. Units run in rounds (unit k of every source, then k+1), so an Evol
 * chain's next step always sees the previous one; within a round `parallel` threads
 * each take whole units, and a pair is written under the lock, one write + fsync, only
 * while the scheme has fewer than N pairs: the target is never overshot.
 *
 * Left out: the backend (the caller's complete callback), response-side filtering.
 */
#include "dataset/generate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dataset/dataset.h"

#define A_SPACE(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define A_LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define A_DIGIT(c) ((c) >= '0' && (c) <= '9')

static const char *const scheme_names[] = {"lamini", "evol", "orca"};
static const char *const evol_names[DS_GENERATE_EVOL_N] = {
    "add-constraints", "deepen", "concretize", "more-reasoning", "complicate-input", "breadth",
};
static const char *const drop_names[DS_GENERATE_DROP_N] = {
    "ok",      "empty",     "too-short", "unchanged",      "copied-prompt", "template-markers",
    "refusal", "duplicate", "no-items",  "empty-response",
};

/* ds_generate_scheme_name: see generate.h. */
const char *ds_generate_scheme_name(int scheme)
{
    return scheme >= 0 && scheme < 3 ? scheme_names[scheme] : "?";
}

/* ds_generate_scheme_parse: see generate.h. */
int ds_generate_scheme_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, scheme_names[i]))
            return i;
    return -1;
}

/* ds_generate_evol_name: see generate.h. */
const char *ds_generate_evol_name(int strategy)
{
    return strategy >= 0 && strategy < DS_GENERATE_EVOL_N ? evol_names[strategy] : "?";
}

/* ds_generate_drop_name: see generate.h. */
const char *ds_generate_drop_name(int reason)
{
    return reason >= 0 && reason < DS_GENERATE_DROP_N ? drop_names[reason] : "?";
}

/* ---------------------------------------------------------------- small helpers */

static uint64_t hash_str(const char *s)
{
    uint64_t h = bz_hash64(s, strlen(s));
    return h ? h : 1; /* 0 marks an empty slot */
}

/* A set of 64-bit hashes (open addressing): done keys and known instructions. */
struct hset {
    uint64_t *v;
    size_t cap, n;
};

static int hset_has(const struct hset *s, uint64_t h)
{
    if (!s->cap)
        return 0;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == h)
            return 1;
        if (!s->v[i])
            return 0;
    }
}

/* Returns 1 when h was added, 0 when it was there. */
static int hset_add(struct hset *s, uint64_t h)
{
    if (hset_has(s, h))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        struct hset t = {bz_calloc(s->cap ? s->cap * 2 : 64, sizeof *t.v), s->cap ? s->cap * 2 : 64,
                         0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                hset_add(&t, s->v[i]);
        free(s->v);
        *s = t;
    }
    size_t i = h & (s->cap - 1);
    while (s->v[i])
        i = (i + 1) & (s->cap - 1);
    s->v[i] = h;
    s->n++;
    return 1;
}

static char *trim_dup(const char *s, size_t n)
{
    while (n && A_SPACE((unsigned char)*s))
        s++, n--;
    while (n && A_SPACE((unsigned char)s[n - 1]))
        n--;
    return bz_strndup(s, n);
}

static int count_words(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        int sp = A_SPACE((unsigned char)*s);
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static int istarts(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (A_LOWER((unsigned char)*s) != A_LOWER((unsigned char)*prefix))
            return 0;
    return 1;
}

static char *lower_dup(const char *s)
{
    char *r = bz_strdup(s);
    for (char *p = r; *p; p++)
        *p = (char)A_LOWER((unsigned char)*p);
    return r;
}

/* ds_generate_norm: see generate.h. */
char *ds_generate_norm(const char *s)
{
    struct bz_buf b;
    bz_buf_init(&b);
    int space = 0;
    while (A_SPACE((unsigned char)*s) || *s == '"' || *s == '\'')
        s++;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (A_SPACE(c)) {
            space = 1;
            continue;
        }
        if (space && b.len)
            bz_buf_putc(&b, ' ');
        space = 0;
        bz_buf_putc(&b, (char)A_LOWER(c));
    }
    while (b.len && strchr(".?!:;,\"' ", b.p[b.len - 1]))
        b.len--;
    bz_buf_putc(&b, 0);
    return bz_buf_steal(&b);
}

static uint64_t norm_hash(const char *s)
{
    char *n = ds_generate_norm(s);
    uint64_t h = hash_str(n);
    free(n);
    return h;
}

/* ---------------------------------------------------------------- seeds, topics */

/* ds_generate_seeds_cleanup: see generate.h. */
void ds_generate_seeds_cleanup(struct ds_generate_seeds *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].instruction);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* One seed line: an {"instruction", "input"?} object, else any record. */
static int seed_parse(const char *path, size_t ln, const char *line, size_t len,
                      struct ds_generate_seed *sd, struct bz_err *err)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return bz_errf(err, BZ_EPARSE, "%s:%zu: not a JSON object", path, ln);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(o, "instruction");
    const cJSON *inp = cJSON_GetObjectItemCaseSensitive(o, "input");
    int rc = 0;
    char *text = NULL;
    if (cJSON_IsString(ins)) {
        text = cJSON_IsString(inp) && inp->valuestring[0]
                   ? bz_asprintf("%s\n\n%s", ins->valuestring, inp->valuestring)
                   : bz_strdup(ins->valuestring);
    } else if (ins) {
        rc = bz_errf(err, BZ_EPARSE, "%s:%zu: \"instruction\" is not a string", path, ln);
    } else {
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        struct bz_err e2 = {0};
        int n = ds_parse_record(line, len, DS_FMT_UNKNOWN, 0, path, ln, &rec, &e2);
        if (n < 0)
            rc = bz_errf(err, BZ_EPARSE, "%s:%zu: no \"instruction\" and not a record (%s)", path,
                         ln, bz_err_msg(&e2, n));
        else
            text = bz_strdup(ds_record_prompt(&rec));
        ds_record_cleanup(&rec);
    }
    if (!rc) {
        char *t = trim_dup(text, strlen(text));
        free(text);
        text = t;
        if (!text[0])
            rc = bz_errf(err, BZ_EPARSE, "%s:%zu: empty instruction", path, ln);
        else if (bz_utf8_check(text, strlen(text)) != strlen(text))
            rc = bz_errf(err, BZ_EPARSE, "%s:%zu: the instruction is not valid UTF-8", path, ln);
    }
    if (!rc && id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
        rc = bz_errf(err, BZ_EPARSE, "%s:%zu: \"id\" is neither a string nor a number", path, ln);
    if (!rc) {
        if (cJSON_IsString(id) && id->valuestring[0])
            sd->id = bz_strdup(id->valuestring);
        else if (cJSON_IsNumber(id))
            sd->id = bz_asprintf("%.0f", id->valuedouble);
        else {
            char hex[17];
            bz_hash_hex(bz_hash64(text, strlen(text)), hex);
            sd->id = bz_asprintf("s%s", hex);
        }
        for (char *p = sd->id; *p; p++) /* keys are split on '/' */
            if (*p == '/' || (unsigned char)*p < ' ')
                *p = '_';
        sd->instruction = text;
        sd->line = ln;
        text = NULL;
    }
    free(text);
    cJSON_Delete(o);
    return rc;
}

/* ds_generate_seeds_load: see generate.h. */
int ds_generate_seeds_load(struct ds_generate_seeds *s, const char *path, struct bz_err *err)
{
    memset(s, 0, sizeof *s);
    char *data;
    size_t len;
    int rc = bz_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    size_t cap = 0, ln = 0;
    struct hset ids = {0};
    for (size_t off = 0; off < len && !rc;) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - data) : len;
        const char *line = data + off;
        size_t n = end - off;
        off = end + 1;
        ln++;
        size_t k = 0;
        while (k < n && A_SPACE((unsigned char)line[k]))
            k++;
        if (k == n || line[k] == '#')
            continue;
        if (s->n == cap) {
            cap = cap ? cap * 2 : 16;
            s->v = bz_realloc(s->v, cap * sizeof *s->v);
        }
        struct ds_generate_seed *sd = &s->v[s->n];
        memset(sd, 0, sizeof *sd);
        rc = seed_parse(path, ln, line, n, sd, err);
        if (rc)
            break;
        s->n++;
        if (!hset_add(&ids, hash_str(sd->id)))
            rc = bz_errf(err, BZ_EPARSE, "%s:%zu: duplicate id \"%s\"", path, ln, sd->id);
    }
    free(ids.v);
    free(data);
    if (!rc && s->n == 0)
        rc = bz_errf(err, BZ_EEMPTY,
                     "%s: no seeds (one JSON object per line: "
                     "{\"id\", \"instruction\", \"input\"})",
                     path);
    if (rc)
        ds_generate_seeds_cleanup(s);
    return rc;
}

/* ds_generate_topics_load: see generate.h. */
int ds_generate_topics_load(char ***out, size_t *n, const char *path, struct bz_err *err)
{
    *out = NULL;
    *n = 0;
    char *data;
    size_t len;
    int rc = bz_read_file(path, &data, &len, err);
    if (rc)
        return rc;
    if (bz_utf8_check(data, len) != len) {
        free(data);
        return bz_errf(err, BZ_EPARSE, "%s: not valid UTF-8", path);
    }
    size_t cap = 0;
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - data) : len;
        char *t = trim_dup(data + off, end - off);
        off = end + 1;
        if (!t[0] || t[0] == '#') {
            free(t);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = bz_realloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = t;
    }
    free(data);
    if (*n == 0) {
        free(*out);
        *out = NULL;
        return bz_errf(err, BZ_EEMPTY, "%s: no topics (one per line)", path);
    }
    return 0;
}

/* ---------------------------------------------------------------- prompts */

/* ds_generate_prompts_cleanup: see generate.h. */
void ds_generate_prompts_cleanup(struct ds_generate_prompts *p)
{
    if (!p)
        return;
    free(p->lamini_example);
    free(p->lamini_topic);
    for (int i = 0; i < DS_GENERATE_EVOL_N; i++)
        free(p->evol[i]);
    for (size_t i = 0; i < p->n_orca; i++) {
        free(p->orca[i]);
        free(p->orca_name[i]);
    }
    free(p->orca);
    free(p->orca_name);
    memset(p, 0, sizeof *p);
}

/* Read dir/name, trailing whitespace dropped; each of need[] must occur in it. */
static int prompt_read(const char *dir, const char *name, const char *const *need, char **out,
                       struct bz_err *err)
{
    char *path = bz_path_join(dir, name), *data;
    size_t len;
    int rc = bz_read_file(path, &data, &len, err);
    if (!rc) {
        while (len && A_SPACE((unsigned char)data[len - 1]))
            len--;
        data[len] = 0;
        if (!len)
            rc = bz_errf(err, BZ_EEMPTY, "%s: empty prompt", path);
        else if (bz_utf8_check(data, len) != len)
            rc = bz_errf(err, BZ_EPARSE, "%s: not valid UTF-8", path);
        for (int i = 0; !rc && need && need[i]; i++)
            if (!strstr(data, need[i]))
                rc = bz_errf(err, BZ_EPARSE, "%s: the prompt lacks the placeholder %s", path,
                             need[i]);
        if (rc)
            free(data);
        else
            *out = data;
    }
    free(path);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ds_generate_prompts_load: see generate.h. */
int ds_generate_prompts_load(struct ds_generate_prompts *p, const char *dir, struct bz_err *err)
{
    memset(p, 0, sizeof *p);
    static const char *const need_ex[] = {"{examples}", NULL};
    static const char *const need_topic[] = {"{topic}", NULL};
    static const char *const need_ins[] = {"{instruction}", NULL};
    int rc = prompt_read(dir, "lamini-example.txt", need_ex, &p->lamini_example, err);
    if (!rc)
        rc = prompt_read(dir, "lamini-topic.txt", need_topic, &p->lamini_topic, err);
    for (int i = 0; i < DS_GENERATE_EVOL_N && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, "evol-%s.txt", evol_names[i]);
        rc = prompt_read(dir, name, need_ins, &p->evol[i], err);
    }
    if (rc) {
        ds_generate_prompts_cleanup(p);
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        rc = bz_errf(err, -errno, "%s: %s", dir, strerror(errno));
        ds_generate_prompts_cleanup(p);
        return rc;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, "orca-system-", 12) || l < 17 || strcmp(de->d_name + l - 4, ".txt"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            names = bz_realloc(names, cap * sizeof *names);
        }
        names[n++] = bz_strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    p->orca = bz_calloc(n + 1, sizeof *p->orca);
    p->orca_name = bz_calloc(n + 1, sizeof *p->orca_name);
    for (size_t i = 0; i < n; i++) {
        if (!rc) {
            rc = prompt_read(dir, names[i], NULL, &p->orca[i], err);
            if (!rc) {
                p->orca_name[i] = bz_strndup(names[i], strlen(names[i]) - 4);
                p->n_orca++;
            }
        }
        free(names[i]);
    }
    free(names);
    if (!rc && !p->n_orca)
        rc = bz_errf(err, BZ_ENOENT, "%s: no orca-system-*.txt prompt", dir);
    if (rc)
        ds_generate_prompts_cleanup(p);
    return rc;
}

/* ds_generate_fill: see generate.h. */
char *ds_generate_fill(const char *tmpl, const char *const *names, const char *const *vals,
                       size_t n)
{
    struct bz_buf b;
    bz_buf_init(&b);
    for (const char *s = tmpl; *s;) {
        size_t hit = n;
        if (*s == '{') {
            for (size_t i = 0; i < n && hit == n; i++) {
                size_t l = strlen(names[i]);
                if (!strncmp(s + 1, names[i], l) && s[1 + l] == '}')
                    hit = i;
            }
        }
        if (hit < n) {
            bz_buf_puts(&b, vals[hit]);
            s += strlen(names[hit]) + 2;
        } else {
            bz_buf_putc(&b, *s++);
        }
    }
    bz_buf_putc(&b, 0);
    return bz_buf_steal(&b);
}

/* ds_generate_lamini_examples: see generate.h. */
size_t ds_generate_lamini_examples(const struct ds_generate_seeds *s, size_t i, int k, size_t m,
                                   size_t *idx)
{
    if (!s->n || !m)
        return 0;
    m = BZ_MIN(m, s->n);
    size_t n = 0;
    idx[n++] = i;
    char buf[64];
    for (uint64_t t = 0; n < m; t++) {
        snprintf(buf, sizeof buf, "%d/%llu/", k, (unsigned long long)t);
        struct bz_buf key;
        bz_buf_init(&key);
        bz_buf_puts(&key, buf);
        bz_buf_puts(&key, s->v[i].id);
        size_t j = (size_t)(bz_hash64(key.p, key.len) % s->n);
        bz_buf_cleanup(&key);
        int seen = 0;
        for (size_t u = 0; u < n; u++)
            seen |= idx[u] == j;
        if (!seen)
            idx[n++] = j;
        if (t > 64 * m) { /* few distinct values left: take them in order */
            for (size_t j2 = 0; j2 < s->n && n < m; j2++) {
                seen = 0;
                for (size_t u = 0; u < n; u++)
                    seen |= idx[u] == j2;
                if (!seen)
                    idx[n++] = j2;
            }
        }
    }
    return n;
}

/* ds_generate_lamini_prompt: see generate.h. */
char *ds_generate_lamini_prompt(const struct ds_generate_prompts *p,
                                const struct ds_generate_seeds *s, const size_t *idx, size_t n,
                                int count)
{
    struct bz_buf ex;
    bz_buf_init(&ex);
    for (size_t i = 0; i < n; i++) {
        bz_buf_printf(&ex, "%s%zu. ", i ? "\n" : "", i + 1);
        /* one example per line (the list format the answer is asked to follow): line
         * breaks and the runs of space around them become one space */
        for (const char *c = s->v[idx[i]].instruction; *c; c++) {
            if (A_SPACE((unsigned char)*c) && *c != ' ') {
                while (ex.len && ex.p[ex.len - 1] == ' ')
                    ex.len--;
                bz_buf_putc(&ex, ' ');
                while (A_SPACE((unsigned char)c[1]))
                    c++;
            } else {
                bz_buf_putc(&ex, *c);
            }
        }
    }
    bz_buf_putc(&ex, 0);
    char cnt[16];
    snprintf(cnt, sizeof cnt, "%d", count);
    const char *names[] = {"examples", "count"}, *vals[] = {ex.p, cnt};
    char *r = ds_generate_fill(p->lamini_example, names, vals, 2);
    bz_buf_cleanup(&ex);
    return r;
}

/* ---------------------------------------------------------------- parsing answers */

/* Length of a list marker at s ("12. ", "3) ", "(4) ", "- ", "* ", "• "), 0 if none. */
static size_t list_marker(const char *s)
{
    size_t i = 0;
    if (s[0] == '(' && A_DIGIT(s[1])) {
        i = 1;
        while (A_DIGIT(s[i]) && i < 5)
            i++;
        if (s[i] != ')')
            return 0;
        i++;
    } else if (A_DIGIT(s[0])) {
        while (A_DIGIT(s[i]) && i < 4)
            i++;
        if (s[i] != '.' && s[i] != ')' && s[i] != ':')
            return 0;
        i++;
    } else if (s[0] == '-' || s[0] == '*') {
        i = 1;
    } else if (!strncmp(s, "\xe2\x80\xa2", 3)) { /* U+2022 bullet */
        i = 3;
    } else {
        return 0;
    }
    if (s[i] && !A_SPACE((unsigned char)s[i]))
        return 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    return s[i] ? i : 0;
}

static const char *const marker_words[] = {
    "{instruction}",
    "{examples}",
    "{topic}",
    "{count}",
    "#given instruction#",
    "#rewritten instruction#",
    "#created instruction#",
    "given instruction",
    "rewritten instruction",
    "created instruction",
    "given prompt",
    "rewritten prompt",
};

static int has_markers(const char *s)
{
    char *low = lower_dup(s);
    int hit = 0;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(marker_words) && !hit; i++)
        hit = strstr(low, marker_words[i]) != NULL;
    free(low);
    return hit;
}

/* Labels an answer may put before an instruction. Longest first. */
static const char *const labels[] = {
    "#rewritten instruction#", "#created instruction#", "#new instruction#",
    "rewritten instruction",   "created instruction",   "new instruction",
    "rewritten prompt",        "instruction",           "task",
};

/* Strip surrounding whitespace, emphasis, quotes and leading labels in place. */
static void clean_item(char *s)
{
    for (int again = 1; again;) {
        again = 0;
        size_t n = strlen(s), a = 0;
        while (a < n && (A_SPACE((unsigned char)s[a]) || s[a] == '*' || s[a] == '"'))
            a++;
        while (n > a && (A_SPACE((unsigned char)s[n - 1]) || s[n - 1] == '*' || s[n - 1] == '"'))
            n--;
        /* typographic quotes around the whole item */
        if (n - a >= 6 && !strncmp(s + a, "\xe2\x80\x9c", 3) &&
            !strncmp(s + n - 3, "\xe2\x80\x9d", 3)) {
            a += 3;
            n -= 3;
            again = 1;
        }
        memmove(s, s + a, n - a);
        s[n - a] = 0;
        for (size_t i = 0; i < BZ_ARRAY_SIZE(labels); i++) {
            size_t l = strlen(labels[i]);
            if (!istarts(s, labels[i]))
                continue;
            size_t j = l;
            while (s[j] == ' ' || A_DIGIT(s[j]))
                j++;
            if (s[j] == '#')
                j++;
            if (s[j] != ':')
                continue;
            memmove(s, s + j + 1, strlen(s + j + 1) + 1);
            again = 1;
            break;
        }
    }
}

/* ds_generate_parse_list: see generate.h. */
size_t ds_generate_parse_list(const char *text, char **items, size_t max)
{
    /* first pass: is there any list marker? */
    int listed = 0;
    for (const char *l = text; *l && !listed;) {
        while (*l == ' ' || *l == '\t')
            l++;
        listed = list_marker(l) > 0;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : l + strlen(l);
    }
    size_t n = 0;
    struct bz_buf cur;
    bz_buf_init(&cur);
    int open = 0; /* an item is being collected */
    for (const char *l = text;;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char *line = trim_dup(l, len);
        size_t mk = listed ? list_marker(line) : 0;
        int end_item = !nl || mk || !line[0] || !listed;
        if (listed && !mk && line[0] && open) { /* a continuation line */
            bz_buf_putc(&cur, ' ');
            bz_buf_puts(&cur, line);
        }
        if (end_item && open) {
            bz_buf_putc(&cur, 0);
            clean_item(cur.p);
            if (n < max && count_words(cur.p) >= 3 && !has_markers(cur.p))
                items[n++] = bz_strdup(cur.p);
            cur.len = 0;
            open = 0;
        }
        if (mk || (!listed && line[0])) {
            const char *body = line + mk;
            size_t bl = strlen(body);
            if (!listed && bl && body[bl - 1] == ':') {
                /* "Here are five new instructions:" introduces, it is no item */
            } else {
                bz_buf_puts(&cur, body);
                open = 1;
                if (!nl || !listed) { /* unlisted lines are items of their own */
                    bz_buf_putc(&cur, 0);
                    clean_item(cur.p);
                    if (n < max && count_words(cur.p) >= 3 && !has_markers(cur.p))
                        items[n++] = bz_strdup(cur.p);
                    cur.len = 0;
                    open = 0;
                }
            }
        }
        free(line);
        if (!nl)
            break;
        l = nl + 1;
    }
    bz_buf_cleanup(&cur);
    return n;
}

/* ds_generate_evol_check: see generate.h. */
int ds_generate_evol_check(const char *evolved, const char *orig, const char *tmpl, char **out)
{
    *out = NULL;
    char *c = bz_strdup(evolved);
    clean_item(c);
    int why = DS_GENERATE_OK;
    char *nc = ds_generate_norm(c);
    if (!c[0]) {
        why = DS_GENERATE_DROP_EMPTY;
    }
    /* the prompt copied back: a sentence-long line of the template in the answer */
    for (const char *l = tmpl; why == DS_GENERATE_OK && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char *line = bz_strndup(l, len);
        if (!strchr(line, '{')) {
            char *nline = ds_generate_norm(line);
            if (strlen(nline) >= 24 && strstr(nc, nline))
                why = DS_GENERATE_DROP_COPIED;
            free(nline);
        }
        free(line);
        l = nl ? nl + 1 : l + len;
    }
    if (why == DS_GENERATE_OK && has_markers(c))
        why = DS_GENERATE_DROP_MARKERS;
    if (why == DS_GENERATE_OK) {
        struct ds_msg m[2] = {{DS_ROLE_USER, (char *)orig}, {DS_ROLE_ASSISTANT, c}};
        struct ds_record r;
        memset(&r, 0, sizeof r);
        r.msgs = m;
        r.n_msgs = 2;
        if (ds_record_flags(&r) & DS_F_REFUSAL)
            why = DS_GENERATE_DROP_REFUSAL;
    }
    if (why == DS_GENERATE_OK) {
        char *no = ds_generate_norm(orig);
        if (!strcmp(no, nc))
            why = DS_GENERATE_DROP_UNCHANGED;
        free(no);
    }
    if (why == DS_GENERATE_OK && count_words(c) < 3)
        why = DS_GENERATE_DROP_SHORT;
    free(nc);
    if (why == DS_GENERATE_OK)
        *out = c;
    else
        free(c);
    return why;
}

/* ds_generate_key: see generate.h. */
char *ds_generate_key(int scheme, const char *seed_id, const char *strategy, int k)
{
    return bz_asprintf("%s/%s/%s/%d", ds_generate_scheme_name(scheme), seed_id, strategy, k);
}

/* ds_generate_unit_of: see generate.h. */
char *ds_generate_unit_of(const char *pair_key)
{
    if (strncmp(pair_key, "lamini/", 7))
        return bz_strdup(pair_key);
    const char *last = strrchr(pair_key, '/');
    int slashes = 0;
    for (const char *p = pair_key; *p; p++)
        slashes += *p == '/';
    /* lamini/SEED/STRATEGY/K/J: the pair; lamini/SEED/STRATEGY/K: the unit already */
    return slashes >= 4 ? bz_strndup(pair_key, (size_t)(last - pair_key)) : bz_strdup(pair_key);
}

/* ---------------------------------------------------------------- the output file */

/* A successful Evol step, so that the next step of the chain can start from it. */
struct evol_step {
    int k, generation;
    char *instruction;
};
/* The steps of one seed's chain; chains are found by the hash of the seed id. */
struct evol_chain {
    uint64_t seed_hash; /* 0: an empty slot */
    struct evol_step *v;
    size_t n, cap;
};

struct ds_generate_done {
    struct hset keys;  /* unit keys and pair keys */
    struct hset known; /* normalised instructions */
    size_t count[3];
    struct evol_chain *chains; /* open addressing, cap_chains a power of two */
    size_t n_chains, cap_chains;
};

static struct evol_chain *chain_find(struct ds_generate_done *d, const char *seed_id, int add)
{
    uint64_t h = hash_str(seed_id);
    if (add && (d->n_chains + 1) * 2 > d->cap_chains) {
        size_t cap = d->cap_chains ? d->cap_chains * 2 : 64;
        struct evol_chain *t = bz_calloc(cap, sizeof *t);
        for (size_t i = 0; i < d->cap_chains; i++) {
            if (!d->chains[i].seed_hash)
                continue;
            size_t j = d->chains[i].seed_hash & (cap - 1);
            while (t[j].seed_hash)
                j = (j + 1) & (cap - 1);
            t[j] = d->chains[i];
        }
        free(d->chains);
        d->chains = t;
        d->cap_chains = cap;
    }
    if (!d->cap_chains)
        return NULL;
    size_t i = h & (d->cap_chains - 1);
    while (d->chains[i].seed_hash && d->chains[i].seed_hash != h)
        i = (i + 1) & (d->cap_chains - 1);
    if (!d->chains[i].seed_hash) {
        if (!add)
            return NULL;
        d->chains[i].seed_hash = h;
        d->n_chains++;
    }
    return &d->chains[i];
}

static void done_step(struct ds_generate_done *d, const char *seed_id, int k, int gen,
                      const char *instruction)
{
    struct evol_chain *c = chain_find(d, seed_id, 1);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->v = bz_realloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (struct evol_step){k, gen, bz_strdup(instruction)};
}

/* Take a pair's key into the done sets. */
static void done_key(struct ds_generate_done *d, const char *key)
{
    hset_add(&d->keys, hash_str(key));
    char *u = ds_generate_unit_of(key);
    hset_add(&d->keys, hash_str(u));
    free(u);
}

/* One line of the output file. Returns 0, or -1 when it is not a JSON object. */
static int done_line(struct ds_generate_done *d, const char *line, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "meta");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(meta, "key");
    const cJSON *sch = cJSON_GetObjectItemCaseSensitive(meta, "scheme");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    const char *user = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "user") && cJSON_IsString(content)) {
            user = content->valuestring;
            break;
        }
    }
    if (user) {
        hset_add(&d->known, norm_hash(user));
    } else if (!msgs) { /* another format (a dataset generated into): its prompt */
        struct ds_record rec;
        memset(&rec, 0, sizeof rec);
        if (ds_parse_record(line, len, DS_FMT_UNKNOWN, 0, "", 0, &rec, NULL) >= 0 &&
            ds_record_prompt(&rec)[0])
            hset_add(&d->known, norm_hash(ds_record_prompt(&rec)));
        ds_record_cleanup(&rec);
    }
    if (cJSON_IsString(key)) {
        done_key(d, key->valuestring);
        int s = cJSON_IsString(sch) ? ds_generate_scheme_parse(sch->valuestring) : -1;
        if (s >= 0)
            d->count[s]++;
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(meta, "seed_id");
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
        const char *slash = strrchr(key->valuestring, '/');
        if (s == DS_GENERATE_EVOL && cJSON_IsString(sid) && cJSON_IsNumber(gen) && user && slash)
            done_step(d, sid->valuestring, atoi(slash + 1), gen->valueint, user);
    }
    cJSON_Delete(o);
    return 0;
}

/* ds_generate_done_open: see generate.h. */
int ds_generate_done_open(struct ds_generate_done **out, const char *path, size_t *torn,
                          size_t *bad, struct bz_err *err)
{
    *out = NULL;
    *torn = *bad = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bz_errf(err, -e, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return bz_errf(err, BZ_EINVAL, "%s: not a regular file", path);
    }
    /* the torn tail: back from the end to the last newline, a block at a time */
    off_t len = st.st_size, keep = len;
    char blk[4096];
    int found = 0;
    while (keep > 0 && !found) {
        size_t n = (size_t)BZ_MIN((off_t)sizeof blk, keep);
        errno = 0;
        if (pread(fd, blk, n, keep - (off_t)n) != (ssize_t)n) {
            int e = errno ? errno : EIO;
            close(fd);
            return bz_errf(err, -e, "%s: %s", path, strerror(e));
        }
        size_t i = n;
        while (i > 0 && blk[i - 1] != '\n')
            i--;
        found = i > 0;
        keep -= (off_t)(n - i);
    }
    if (keep < len) {
        if (ftruncate(fd, keep) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            return bz_errf(err, -e, "%s: cutting the torn last line: %s", path, strerror(e));
        }
        *torn = (size_t)(len - keep);
    }
    /* then the lines, streamed: the file may be larger than memory */
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        return bz_errf(err, -e, "%s: %s", path, strerror(e));
    }
    struct ds_generate_done *d = bz_calloc(1, sizeof *d);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        size_t k = 0;
        while (k < (size_t)n && A_SPACE((unsigned char)line[k]))
            k++;
        if (k < (size_t)n && done_line(d, line, (size_t)n) != 0)
            (*bad)++;
    }
    int rc = ferror(f) ? bz_errf(err, BZ_EIO, "%s: read error", path) : 0;
    free(line);
    fclose(f);
    if (rc) {
        ds_generate_done_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* ds_generate_done_free: see generate.h. */
void ds_generate_done_free(struct ds_generate_done *d)
{
    if (!d)
        return;
    free(d->keys.v);
    free(d->known.v);
    for (size_t i = 0; i < d->cap_chains; i++) {
        for (size_t j = 0; j < d->chains[i].n; j++)
            free(d->chains[i].v[j].instruction);
        free(d->chains[i].v);
    }
    free(d->chains);
    free(d);
}

/* ds_generate_done_count: see generate.h. */
size_t ds_generate_done_count(const struct ds_generate_done *d, int scheme)
{
    return scheme >= 0 && scheme < 3 ? d->count[scheme] : 0;
}

/* ds_generate_done_has: see generate.h. */
int ds_generate_done_has(const struct ds_generate_done *d, const char *key)
{
    return hset_has(&d->keys, hash_str(key));
}

/* ds_generate_done_known: see generate.h. */
int ds_generate_done_known(const struct ds_generate_done *d, const char *instruction)
{
    return hset_has(&d->known, norm_hash(instruction));
}

/* ---------------------------------------------------------------- running */

/* Where units come from: a seed (every scheme) or a topic (LaMini). */
struct source {
    size_t index; /* into seeds, or topics when topic */
    int topic;
    char *id;   /* the seed id, or "t" + hash of the topic */
    int next_k; /* the next k to try */
};

struct unit {
    size_t src;
    int k;
};

struct run {
    const struct ds_generate_opts *o;
    const struct ds_generate_seeds *seeds;
    char *const *topics;
    const struct ds_generate_prompts *p;
    ds_generate_complete_fn complete;
    void *cctx;
    ds_generate_event_fn ev;
    void *ectx;
    volatile sig_atomic_t *cancel;
    struct ds_generate_stats *st;

    pthread_mutex_t mu; /* everything below */
    struct ds_generate_done *d;
    int fd;
    size_t target, inflight, max_units;
    int fatal;
    struct bz_err fatal_err, req_err;
    struct source *src;
    size_t n_src;
    struct unit *round;
    size_t n_round, next;
};

static int cancelled(const struct run *r)
{
    return r->cancel && *r->cancel;
}

/* Whether the run should stop starting work (cancelled, or a write failed). */
static int stopping(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    int stop = r->fatal || cancelled(r);
    pthread_mutex_unlock(&r->mu);
    return stop;
}

/* Emit an event; the lock is held. */
static void emit(struct run *r, int type, const char *key, const char *id, const char *strategy,
                 int generation, int reason, const char *message)
{
    if (!r->ev)
        return;
    struct ds_generate_event e = {
        type,
        key,
        id,
        strategy,
        generation,
        reason,
        message,
        r->d->count[r->o->scheme],
        r->target,
        r->st->dropped,
        r->st->errors,
    };
    r->ev(r->ectx, &e);
}

static void drop(struct run *r, const char *key, const char *strategy, int reason)
{
    pthread_mutex_lock(&r->mu);
    r->st->dropped++;
    r->st->dropped_by[reason]++;
    emit(r, DS_GENERATE_EV_DROPPED, key, NULL, strategy, 0, reason, NULL);
    pthread_mutex_unlock(&r->mu);
}

/* Run one request; 0 with the answer in text, else the error is counted and told. */
static int ask(struct run *r, int stage, const char *key, const char *strategy, const char *system,
               const char *user, struct bz_buf *text)
{
    char stage_c = stage == DS_GENERATE_STAGE_INSTRUCTION ? 'i' : 'r';
    char *sk = bz_asprintf("%llu/%c/%s", (unsigned long long)r->o->s.seed, stage_c, key);
    /* 31 bits: servers read JSON numbers as doubles or ints (OpenAI's seed is an int) */
    uint64_t seed = bz_hash64(sk, strlen(sk)) & 0x7fffffffu;
    struct ds_generate_req q = {stage, key, system, user, &r->o->s, seed};
    free(sk);
    struct bz_err e = {0};
    bz_buf_init(text);
    bz_buf_putc(text, 0);
    text->len = 0;
    int rc = r->complete(r->cctx, &q, text, &e);
    pthread_mutex_lock(&r->mu);
    r->st->requests++;
    if (rc) {
        r->st->errors++;
        const char *msg = bz_err_msg(&e, rc);
        if (!r->req_err.code)
            bz_errf(&r->req_err, rc, "%s", msg);
        emit(r, DS_GENERATE_EV_ERROR, key, NULL, strategy, 0, 0, msg);
    }
    pthread_mutex_unlock(&r->mu);
    if (rc)
        bz_buf_cleanup(text);
    return rc;
}

static void iso_time(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What a pair carries besides its messages. */
struct pair {
    const char *key, *strategy, *seed_id, *system, *user, *response;
    int generation;
    const char *topic;      /* LaMini topic-guided */
    const size_t *examples; /* LaMini example-guided: the seeds shown */
    size_t n_examples;
};

static void pair_json(struct run *r, const struct pair *pr, const char *id, struct bz_buf *b)
{
    const struct ds_generate_opts *o = r->o;
    bz_buf_puts(b, "{\"id\":");
    bz_buf_json_str(b, id, strlen(id));
    bz_buf_puts(b, ",\"messages\":[");
    if (pr->system) {
        bz_buf_puts(b, "{\"role\":\"system\",\"content\":");
        bz_buf_json_str(b, pr->system, strlen(pr->system));
        bz_buf_puts(b, "},");
    }
    bz_buf_puts(b, "{\"role\":\"user\",\"content\":");
    bz_buf_json_str(b, pr->user, strlen(pr->user));
    bz_buf_puts(b, "},{\"role\":\"assistant\",\"content\":");
    bz_buf_json_str(b, pr->response, strlen(pr->response));
    bz_buf_printf(
        b, "}],\"meta\":{\"scheme\":\"%s\",\"strategy\":", ds_generate_scheme_name(o->scheme));
    bz_buf_json_str(b, pr->strategy, strlen(pr->strategy));
    bz_buf_printf(b, ",\"generation\":%d,\"seed_id\":", pr->generation);
    bz_buf_json_str(b, pr->seed_id, strlen(pr->seed_id));
    if (pr->topic) {
        bz_buf_puts(b, ",\"topic\":");
        bz_buf_json_str(b, pr->topic, strlen(pr->topic));
    }
    if (pr->n_examples) {
        bz_buf_puts(b, ",\"examples\":[");
        for (size_t i = 0; i < pr->n_examples; i++) {
            const char *sid = r->seeds->v[pr->examples[i]].id;
            if (i)
                bz_buf_putc(b, ',');
            bz_buf_json_str(b, sid, strlen(sid));
        }
        bz_buf_putc(b, ']');
    }
    const char *be = o->backend ? o->backend : "", *model = o->model ? o->model : "";
    bz_buf_puts(b, ",\"backend\":");
    bz_buf_json_str(b, be, strlen(be));
    bz_buf_puts(b, ",\"model\":");
    bz_buf_json_str(b, model, strlen(model));
    bz_buf_printf(b,
                  ",\"sampling\":{\"temperature\":%.9g,\"top_p\":%.9g,\"max_tokens\":%d,"
                  "\"seed\":%llu},\"time\":",
                  o->s.temperature, o->s.top_p, o->s.max_tokens, (unsigned long long)o->s.seed);
    char t[32];
    iso_time(t);
    bz_buf_json_str(b, t, strlen(t));
    bz_buf_puts(b, ",\"key\":");
    bz_buf_json_str(b, pr->key, strlen(pr->key));
    bz_buf_puts(b, "}}\n");
}

/* Append the pair while the scheme is short of its target: one write, one fsync. */
static void write_pair(struct run *r, const struct pair *pr)
{
    char id[17];
    bz_hash_hex(bz_hash64(pr->key, strlen(pr->key)), id);
    struct bz_buf b;
    bz_buf_init(&b);
    pair_json(r, pr, id, &b);
    pthread_mutex_lock(&r->mu);
    int s = r->o->scheme;
    if (!r->fatal && r->d->count[s] < r->target) {
        int rc = bz_write_all(r->fd, b.p, b.len, r->o->out, &r->fatal_err);
        if (!rc && fsync(r->fd) != 0)
            rc = bz_errf(&r->fatal_err, -errno, "%s: fsync: %s", r->o->out, strerror(errno));
        if (rc) {
            r->fatal = rc;
        } else {
            r->d->count[s]++;
            r->st->written++;
            done_key(r->d, pr->key);
            if (s == DS_GENERATE_EVOL) {
                const char *slash = strrchr(pr->key, '/');
                done_step(r->d, pr->seed_id, atoi(slash + 1), pr->generation, pr->user);
            }
            emit(r, DS_GENERATE_EV_PAIR, pr->key, id, pr->strategy, pr->generation, 0, NULL);
        }
    }
    pthread_mutex_unlock(&r->mu);
    bz_buf_cleanup(&b);
}

/* Claim an instruction as new; 0 when it is a duplicate. */
static int claim(struct run *r, const char *instruction)
{
    pthread_mutex_lock(&r->mu);
    int fresh = hset_add(&r->d->known, norm_hash(instruction));
    pthread_mutex_unlock(&r->mu);
    return fresh;
}

/* Answer an instruction and write the pair. */
static void respond(struct run *r, struct pair *pr)
{
    struct bz_buf text;
    if (ask(r, DS_GENERATE_STAGE_RESPONSE, pr->key, pr->strategy, pr->system, pr->user, &text))
        return;
    char *resp = trim_dup(text.p, text.len);
    bz_buf_cleanup(&text);
    if (!resp[0]) {
        drop(r, pr->key, pr->strategy, DS_GENERATE_DROP_EMPTY_RESPONSE);
    } else {
        pr->response = resp;
        write_pair(r, pr);
    }
    free(resp);
}

static int evol_strategy(const char *seed_id, int k)
{
    return (int)((hash_str(seed_id) + (uint64_t)k) % DS_GENERATE_EVOL_N);
}

static size_t orca_index(const struct ds_generate_prompts *p, const char *seed_id, int k)
{
    return (size_t)((hash_str(seed_id) + (uint64_t)k) % p->n_orca);
}

static char *unit_key(const struct run *r, const struct unit *u)
{
    const struct source *s = &r->src[u->src];
    const char *strategy;
    if (r->o->scheme == DS_GENERATE_LAMINI)
        strategy = s->topic ? "topic" : "example";
    else if (r->o->scheme == DS_GENERATE_EVOL)
        strategy = evol_names[evol_strategy(s->id, u->k)];
    else
        strategy = r->p->orca_name[orca_index(r->p, s->id, u->k)];
    return ds_generate_key(r->o->scheme, s->id, strategy, u->k);
}

static void unit_lamini(struct run *r, const struct unit *u, const char *key)
{
    const struct source *s = &r->src[u->src];
    int count = r->o->count > 0 ? r->o->count : 5;
    size_t idx[3], nidx = 0;
    char *prompt;
    if (s->topic) {
        char cnt[16];
        snprintf(cnt, sizeof cnt, "%d", count);
        const char *names[] = {"topic", "count"}, *vals[] = {r->topics[s->index], cnt};
        prompt = ds_generate_fill(r->p->lamini_topic, names, vals, 2);
    } else {
        nidx = ds_generate_lamini_examples(r->seeds, s->index, u->k, 3, idx);
        prompt = ds_generate_lamini_prompt(r->p, r->seeds, idx, nidx, count);
    }
    const char *strategy = s->topic ? "topic" : "example";
    struct bz_buf text;
    int rc = ask(r, DS_GENERATE_STAGE_INSTRUCTION, key, strategy, NULL, prompt, &text);
    free(prompt);
    if (rc)
        return;
    char **items = bz_calloc((size_t)count, sizeof *items);
    size_t n = ds_generate_parse_list(text.p, items, (size_t)count);
    bz_buf_cleanup(&text);
    if (!n)
        drop(r, key, strategy, DS_GENERATE_DROP_NO_ITEMS);
    for (size_t j = 0; j < n; j++) {
        char *pk = bz_asprintf("%s/%zu", key, j);
        if (stopping(r)) {
            /* the unit ends here; it counts as done once any of its pairs is written */
        } else if (!claim(r, items[j])) {
            drop(r, pk, strategy, DS_GENERATE_DROP_DUPLICATE);
        } else {
            struct pair pr = {pk,       strategy, s->id, NULL,
                              items[j], NULL,     1,     s->topic ? r->topics[s->index] : NULL,
                              idx,      nidx};
            respond(r, &pr);
        }
        free(pk);
        free(items[j]);
    }
    free(items);
}

static void unit_evol(struct run *r, const struct unit *u, const char *key)
{
    const struct source *s = &r->src[u->src];
    int strat = evol_strategy(s->id, u->k), gen = 1;
    char *base = NULL;
    pthread_mutex_lock(&r->mu);
    const struct evol_step *best = NULL;
    const struct evol_chain *c = chain_find(r->d, s->id, 0);
    for (size_t i = 0; c && i < c->n; i++) {
        const struct evol_step *e = &c->v[i];
        if (e->k < u->k && (!best || e->k > best->k))
            best = e;
    }
    if (best) {
        base = bz_strdup(best->instruction);
        gen = best->generation + 1;
    }
    pthread_mutex_unlock(&r->mu);
    if (!base)
        base = bz_strdup(r->seeds->v[s->index].instruction);
    const char *names[] = {"instruction"}, *vals[] = {base};
    char *prompt = ds_generate_fill(r->p->evol[strat], names, vals, 1);
    struct bz_buf text;
    int rc = ask(r, DS_GENERATE_STAGE_INSTRUCTION, key, evol_names[strat], NULL, prompt, &text);
    free(prompt);
    if (!rc) {
        char *evolved;
        int why = ds_generate_evol_check(text.p, base, r->p->evol[strat], &evolved);
        bz_buf_cleanup(&text);
        if (why == DS_GENERATE_OK && !claim(r, evolved))
            why = DS_GENERATE_DROP_DUPLICATE;
        if (why != DS_GENERATE_OK) {
            drop(r, key, evol_names[strat], why);
        } else {
            struct pair pr = {key, evol_names[strat], s->id, NULL, evolved, NULL, gen, NULL, NULL,
                              0};
            respond(r, &pr);
        }
        free(evolved);
    }
    free(base);
}

static void unit_orca(struct run *r, const struct unit *u, const char *key)
{
    const struct source *s = &r->src[u->src];
    size_t i = orca_index(r->p, s->id, u->k);
    struct pair pr = {key,
                      r->p->orca_name[i],
                      s->id,
                      r->p->orca[i],
                      r->seeds->v[s->index].instruction,
                      NULL,
                      1,
                      NULL,
                      NULL,
                      0};
    respond(r, &pr);
}

static void *worker(void *arg)
{
    struct run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int stop = r->fatal || cancelled(r) || r->next >= r->n_round ||
                   r->d->count[r->o->scheme] + r->inflight >= r->target ||
                   r->st->units >= r->max_units;
        struct unit u = {0, 0};
        if (!stop) {
            u = r->round[r->next++];
            r->src[u.src].next_k = u.k + 1;
            r->inflight++;
            r->st->units++;
        }
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        char *key = unit_key(r, &u);
        if (r->o->scheme == DS_GENERATE_LAMINI)
            unit_lamini(r, &u, key);
        else if (r->o->scheme == DS_GENERATE_EVOL)
            unit_evol(r, &u, key);
        else
            unit_orca(r, &u, key);
        free(key);
        pthread_mutex_lock(&r->mu);
        r->inflight--;
        pthread_mutex_unlock(&r->mu);
    }
    return NULL;
}

/* The next round: for every source its next unit not done yet. Returns the count. */
static size_t round_build(struct run *r)
{
    r->n_round = r->next = 0;
    for (size_t i = 0; i < r->n_src; i++) {
        struct source *s = &r->src[i];
        for (int k = s->next_k;; k++) {
            if (r->o->scheme == DS_GENERATE_ORCA && (size_t)k >= r->p->n_orca)
                break;
            struct unit u = {i, k};
            char *key = unit_key(r, &u);
            int done = ds_generate_done_has(r->d, key);
            free(key);
            if (!done) {
                s->next_k = k;
                r->round[r->n_round++] = u;
                break;
            }
        }
    }
    return r->n_round;
}

/* ds_generate_run: see generate.h. */
int ds_generate_run(const struct ds_generate_opts *o, const struct ds_generate_seeds *seeds,
                    char *const *topics, size_t n_topics, const struct ds_generate_prompts *p,
                    ds_generate_complete_fn complete, void *cctx, ds_generate_event_fn ev,
                    void *ectx, volatile sig_atomic_t *cancel, struct ds_generate_stats *st,
                    struct bz_err *err)
{
    memset(st, 0, sizeof *st);
    if (o->scheme < 0 || o->scheme > DS_GENERATE_ORCA)
        return bz_errf(err, BZ_EINVAL, "unknown scheme %d", o->scheme);
    if (!seeds->n)
        return bz_errf(err, BZ_EEMPTY, "no seeds");
    if (o->scheme != DS_GENERATE_LAMINI)
        n_topics = 0;
    struct run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.seeds = seeds;
    r.topics = topics;
    r.p = p;
    r.complete = complete;
    r.cctx = cctx;
    r.ev = ev;
    r.ectx = ectx;
    r.cancel = cancel;
    r.st = st;
    r.fd = -1;
    int rc = ds_generate_done_open(&r.d, o->out, &st->torn, &st->bad_lines, err);
    if (rc)
        return rc;
    r.fd = open(o->out, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (r.fd < 0) {
        rc = bz_errf(err, -errno, "%s: %s", o->out, strerror(errno));
        ds_generate_done_free(r.d);
        return rc;
    }
    pthread_mutex_init(&r.mu, NULL);
    st->existing = r.d->count[o->scheme];
    for (size_t i = 0; i < seeds->n; i++) /* new instructions must differ from the seeds */
        hset_add(&r.d->known, norm_hash(seeds->v[i].instruction));
    r.target = o->n;
    size_t missing = r.target > st->existing ? r.target - st->existing : 0;
    r.max_units = o->max_units > 0 ? (size_t)o->max_units : 4 * missing + 16;

    /* sources, LaMini's seeds and topics interleaved so both strategies show early */
    r.src = bz_calloc(seeds->n + n_topics + 1, sizeof *r.src);
    for (size_t i = 0; i < seeds->n || i < n_topics; i++) {
        if (i < seeds->n)
            r.src[r.n_src++] = (struct source){i, 0, bz_strdup(seeds->v[i].id), 0};
        if (i < n_topics) {
            char hex[17];
            bz_hash_hex(bz_hash64(topics[i], strlen(topics[i])), hex);
            r.src[r.n_src++] = (struct source){i, 1, bz_asprintf("t%s", hex), 0};
        }
    }
    r.round = bz_calloc(r.n_src + 1, sizeof *r.round);
    int parallel = o->parallel > 0 ? o->parallel : 1;
    pthread_t *th = bz_calloc((size_t)parallel, sizeof *th);
    while (!r.fatal && !cancelled(&r) && r.d->count[o->scheme] < r.target &&
           st->units < r.max_units) {
        if (!round_build(&r)) {
            st->exhausted = 1;
            break;
        }
        if (parallel == 1) {
            worker(&r);
            continue;
        }
        int started = 0;
        for (int t = 0; t < parallel; t++) {
            if (pthread_create(&th[t], NULL, worker, &r) != 0)
                break;
            started++;
        }
        if (!started) /* no thread to be had: the caller's then */
            worker(&r);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
    }
    free(th);
    for (size_t i = 0; i < r.n_src; i++)
        free(r.src[i].id);
    free(r.src);
    free(r.round);
    close(r.fd);
    ds_generate_done_free(r.d);
    pthread_mutex_destroy(&r.mu);
    if (r.fatal)
        return bz_errf(err, r.fatal, "%s", r.fatal_err.msg);
    if (st->requests && st->errors == st->requests)
        return bz_errf(err, r.req_err.code ? r.req_err.code : BZ_EIO,
                       "every request failed (%zu), the first: %s", st->errors, r.req_err.msg);
    return 0;
}
