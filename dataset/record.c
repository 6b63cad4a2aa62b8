/*
 * record.c: one record's JSON text -> a conversation (struct ds_record), for every
 * supported input shape, and the record's stable id.
 *
 * Key idea: every shape becomes messages with roles (system/user/assistant); a
 * preference pair keeps the prompt turns in msgs and the two final answers in
 * chosen/rejected. The text is checked for UTF-8 and NUL bytes before cJSON sees
 * it, and every error names its place as "file:line:col". A cJSON tree never leaves
 * this file.
 *
 * Left out: tool/function-call roles (refused as an unknown role), images and
 * other non-text content parts (ignored; text parts are joined).
 */
#include "dataset/internal.h"

#include <cjson/cJSON.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---------------------------------------------------------------- small helpers */

struct msgv {
    struct ds_msg *v;
    int n, cap;
};

static void msgv_push(struct msgv *m, int role, const char *s, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->v = bz_realloc(m->v, (size_t)m->cap * sizeof *m->v);
    }
    m->v[m->n].role = role;
    m->v[m->n].content = bz_strndup(s, n);
    m->n++;
}

static void msgv_pushs(struct msgv *m, int role, const char *s)
{
    msgv_push(m, role, s, strlen(s));
}

void ds__msgs_free(struct ds_msg *msgs, int n)
{
    for (int i = 0; i < n; i++)
        free(msgs[i].content);
    free(msgs);
}

struct ds_msg *ds__msgs_dup(const struct ds_msg *msgs, int n)
{
    if (n <= 0)
        return NULL;
    struct ds_msg *v = bz_malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) {
        v[i].role = msgs[i].role;
        v[i].content = bz_strdup(msgs[i].content ? msgs[i].content : "");
    }
    return v;
}

void ds_record_cleanup(struct ds_record *r)
{
    if (!r)
        return;
    free(r->id);
    ds__msgs_free(r->msgs, r->n_msgs);
    ds__msgs_free(r->orig_msgs, r->n_orig_msgs);
    free(r->chosen);
    free(r->rejected);
    free(r->meta_json);
    memset(r, 0, sizeof *r);
}

const char *ds_record_prompt(const struct ds_record *r)
{
    for (int i = 0; i < r->n_msgs; i++)
        if (r->msgs[i].role == DS_ROLE_USER)
            return r->msgs[i].content;
    return "";
}

const char *ds_record_response(const struct ds_record *r)
{
    if (r->chosen)
        return r->chosen;
    for (int i = r->n_msgs - 1; i >= 0; i--)
        if (r->msgs[i].role == DS_ROLE_ASSISTANT)
            return r->msgs[i].content;
    return "";
}

/* Where json[off] is, as "file:line:col". */
static int place_err(struct bz_err *err, int code, const char *file, size_t line, size_t col,
                     const char *json, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static int place_err(struct bz_err *err, int code, const char *file, size_t line, size_t col,
                     const char *json, size_t off, const char *fmt, ...)
{
    if (!err || err->code)
        return code;
    size_t l = line, c = col;
    for (size_t i = 0; i < off; i++) {
        if (json[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return bz_errf(err, code, "%s:%zu:%zu: %s", file ? file : "-", l, c, what);
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Role names seen in the wild, for ShareGPT "from" and OpenAI "role". */
static int role_parse(const char *s)
{
    static const struct {
        const char *name;
        int role;
    } roles[] = {
        {"system", DS_ROLE_SYSTEM},       {"user", DS_ROLE_USER},
        {"human", DS_ROLE_USER},          {"assistant", DS_ROLE_ASSISTANT},
        {"gpt", DS_ROLE_ASSISTANT},       {"chatgpt", DS_ROLE_ASSISTANT},
        {"model", DS_ROLE_ASSISTANT},     {"bing", DS_ROLE_ASSISTANT},
        {"bard", DS_ROLE_ASSISTANT},      {"developer", DS_ROLE_SYSTEM},
    };
    if (!s)
        return -1;
    for (size_t i = 0; i < BZ_ARRAY_SIZE(roles); i++)
        if (strcasecmp(s, roles[i].name) == 0)
            return roles[i].role;
    return -1;
}

/* OpenAI content: a string, null, or an array of parts whose text parts are joined. */
static int content_text(const cJSON *c, struct bz_buf *out)
{
    if (!c || cJSON_IsNull(c))
        return 0;
    if (cJSON_IsString(c)) {
        bz_buf_puts(out, c->valuestring);
        return 0;
    }
    if (cJSON_IsArray(c)) {
        const cJSON *part;
        cJSON_ArrayForEach(part, c)
        {
            const char *t = cJSON_IsString(part) ? part->valuestring : jstr(part, "text");
            if (t)
                bz_buf_puts(out, t);
        }
        return 0;
    }
    return -1;
}

/* Messages from an array of {role|from, content|value}. */
static int msgs_from_array(const cJSON *arr, struct msgv *m, const char **why)
{
    if (!cJSON_IsArray(arr)) {
        *why = "expected an array of messages";
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsObject(it)) {
            *why = "a message is not an object";
            return -1;
        }
        const char *rs = jstr(it, "role");
        if (!rs)
            rs = jstr(it, "from");
        int role = role_parse(rs);
        if (role < 0) {
            *why = rs ? "unknown role" : "a message has no role";
            return -1;
        }
        const cJSON *c = jget(it, "content");
        if (!c)
            c = jget(it, "value");
        struct bz_buf b;
        bz_buf_init(&b);
        if (content_text(c, &b) < 0) {
            bz_buf_cleanup(&b);
            *why = "message content is not text";
            return -1;
        }
        msgv_push(m, role, b.p ? b.p : "", b.len);
        bz_buf_cleanup(&b);
    }
    return 0;
}

/* The text of a preference answer: a string, a {from,value}/{role,content} object, or
 * an array of messages (the last assistant one). */
static char *answer_text(const cJSON *a)
{
    if (cJSON_IsString(a))
        return bz_strdup(a->valuestring);
    if (cJSON_IsObject(a)) {
        const cJSON *c = jget(a, "value");
        if (!c)
            c = jget(a, "content");
        struct bz_buf b;
        bz_buf_init(&b);
        if (content_text(c, &b) < 0) {
            bz_buf_cleanup(&b);
            return NULL;
        }
        char *s = bz_strdup(b.p ? b.p : "");
        bz_buf_cleanup(&b);
        return s;
    }
    if (cJSON_IsArray(a)) {
        const cJSON *last = NULL, *it;
        cJSON_ArrayForEach(it, a)
        {
            const char *rs = jstr(it, "role");
            if (!rs)
                rs = jstr(it, "from");
            if (role_parse(rs) == DS_ROLE_ASSISTANT)
                last = it;
        }
        return last ? answer_text(last) : NULL;
    }
    return NULL;
}

static void user_turn(struct msgv *m, const char *instruction, const char *input)
{
    if (input && input[0]) {
        char *s = bz_asprintf("%s\n\n%s", instruction, input);
        msgv_pushs(m, DS_ROLE_USER, s);
        free(s);
    } else {
        msgv_pushs(m, DS_ROLE_USER, instruction);
    }
}

/* HH-RLHF transcript: "\n\nHuman: ...\n\nAssistant: ..." turns. */
static int hh_turns(const char *t, struct msgv *m)
{
    static const char H[] = "\n\nHuman:", A[] = "\n\nAssistant:";
    const char *p = t;
    while (*p == '\n' || *p == ' ')
        p++;
    /* tolerate a transcript that starts without the leading blank line */
    if (strncmp(p, "Human:", 6) == 0)
        p -= 2;
    else if (strncmp(p, "Assistant:", 10) == 0)
        p -= 2;
    if (p < t)
        p = t;
    while (*p) {
        int role;
        size_t skip;
        if (strncmp(p, H, sizeof H - 1) == 0 || strncmp(p, H + 2, sizeof H - 3) == 0) {
            role = DS_ROLE_USER;
            skip = strncmp(p, H, sizeof H - 1) == 0 ? sizeof H - 1 : sizeof H - 3;
        } else if (strncmp(p, A, sizeof A - 1) == 0 || strncmp(p, A + 2, sizeof A - 3) == 0) {
            role = DS_ROLE_ASSISTANT;
            skip = strncmp(p, A, sizeof A - 1) == 0 ? sizeof A - 1 : sizeof A - 3;
        } else {
            return -1;
        }
        p += skip;
        if (*p == ' ')
            p++;
        const char *nh = strstr(p, H), *na = strstr(p, A);
        const char *next = nh && (!na || nh < na) ? nh : na;
        size_t n = next ? (size_t)(next - p) : strlen(p);
        msgv_push(m, role, p, n);
        p += n;
    }
    return m->n > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- shapes */

static int detect(const cJSON *o)
{
    const cJSON *chosen = jget(o, "chosen"), *rejected = jget(o, "rejected");
    if (cJSON_IsArray(jget(o, "instances")) && jstr(o, "instruction"))
        return DS_FMT_SELFINSTRUCT;
    if (cJSON_IsObject(jget(o, "input")) && jget(o, "preferred_output"))
        return DS_FMT_PREF_OPENAI;
    if (chosen && rejected) {
        if (jget(o, "conversations"))
            return DS_FMT_PREF_LF;
        if (jstr(o, "instruction"))
            return DS_FMT_ALPACA;
        if (jget(o, "prompt"))
            return DS_FMT_PREF_TRL;
        if (cJSON_IsString(chosen) && (strstr(chosen->valuestring, "Human:") ||
                                       strstr(chosen->valuestring, "Assistant:")))
            return DS_FMT_PREF_HH;
        if (cJSON_IsArray(chosen))
            return DS_FMT_PREF_TRL;
    }
    if (cJSON_IsArray(jget(o, "conversations")))
        return DS_FMT_SHAREGPT;
    if (cJSON_IsArray(jget(o, "messages")))
        return DS_FMT_OPENAI;
    if (jstr(o, "instruction") && jget(o, "output"))
        return DS_FMT_ALPACA;
    return DS_FMT_UNKNOWN;
}

/* Keys each shape consumes; the rest goes to meta. */
static const char *const used_keys[DS_FMT_COUNT][8] = {
    [DS_FMT_ALPACA] = {"instruction", "input", "output", "system", "history", "chosen",
                       "rejected"},
    [DS_FMT_SHAREGPT] = {"conversations", "system"},
    [DS_FMT_OPENAI] = {"messages"},
    [DS_FMT_SELFINSTRUCT] = {"instruction", "instances"},
    [DS_FMT_PREF_LF] = {"conversations", "chosen", "rejected", "system"},
    [DS_FMT_PREF_HH] = {"chosen", "rejected"},
    [DS_FMT_PREF_OPENAI] = {"input", "preferred_output", "non_preferred_output"},
    [DS_FMT_PREF_TRL] = {"prompt", "chosen", "rejected", "system"},
};

static char *meta_of(const cJSON *o, int fmt)
{
    cJSON *meta = NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        if (!it->string || strcmp(it->string, "id") == 0)
            continue;
        int used = 0;
        for (int k = 0; k < 8 && used_keys[fmt][k]; k++)
            used |= strcmp(used_keys[fmt][k], it->string) == 0;
        if (used)
            continue;
        if (!meta)
            meta = cJSON_CreateObject();
        cJSON_AddItemToObject(meta, it->string, cJSON_Duplicate(it, 1));
    }
    if (!meta)
        return NULL;
    char *s = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    char *r = s ? bz_strdup(s) : NULL;
    cJSON_free(s);
    return r;
}

/* Build the conversation of o as fmt. Returns the number of records (instances) the
 * object holds, or -1 with *why set. */
static int shape(const cJSON *o, int fmt, int sub, struct msgv *m, struct ds_record *out,
                 const char **why)
{
    const char *sys = jstr(o, "system");
    switch (fmt) {
    case DS_FMT_ALPACA: {
        const char *ins = jstr(o, "instruction"), *input = jstr(o, "input");
        const cJSON *outp = jget(o, "output");
        if (!ins) {
            *why = "alpaca record without a string \"instruction\"";
            return -1;
        }
        int pref = jget(o, "chosen") && jget(o, "rejected");
        if (!pref && !cJSON_IsString(outp)) {
            *why = "alpaca record without a string \"output\"";
            return -1;
        }
        if (sys && sys[0])
            msgv_pushs(m, DS_ROLE_SYSTEM, sys);
        const cJSON *hist = jget(o, "history"), *pair;
        if (cJSON_IsArray(hist)) {
            cJSON_ArrayForEach(pair, hist)
            {
                const cJSON *q = cJSON_GetArrayItem(pair, 0), *a = cJSON_GetArrayItem(pair, 1);
                if (!cJSON_IsString(q) || !cJSON_IsString(a)) {
                    *why = "alpaca \"history\" is not a list of [prompt, answer] strings";
                    return -1;
                }
                msgv_pushs(m, DS_ROLE_USER, q->valuestring);
                msgv_pushs(m, DS_ROLE_ASSISTANT, a->valuestring);
            }
        }
        user_turn(m, ins, input);
        if (pref) {
            out->chosen = answer_text(jget(o, "chosen"));
            out->rejected = answer_text(jget(o, "rejected"));
            if (!out->chosen || !out->rejected) {
                *why = "\"chosen\"/\"rejected\" are not text";
                return -1;
            }
        } else {
            msgv_pushs(m, DS_ROLE_ASSISTANT, outp->valuestring);
        }
        return 1;
    }
    case DS_FMT_SHAREGPT:
    case DS_FMT_PREF_LF:
        if (sys && sys[0])
            msgv_pushs(m, DS_ROLE_SYSTEM, sys);
        if (!jget(o, "conversations")) {
            *why = "record without \"conversations\"";
            return -1;
        }
        if (msgs_from_array(jget(o, "conversations"), m, why) < 0)
            return -1;
        if (fmt == DS_FMT_PREF_LF) {
            out->chosen = answer_text(jget(o, "chosen"));
            out->rejected = answer_text(jget(o, "rejected"));
            if (!out->chosen || !out->rejected) {
                *why = "preference record without text \"chosen\" and \"rejected\"";
                return -1;
            }
        }
        if (m->n == 0) {
            *why = "empty conversation";
            return -1;
        }
        return 1;
    case DS_FMT_OPENAI:
        if (!jget(o, "messages")) {
            *why = "record without \"messages\"";
            return -1;
        }
        if (msgs_from_array(jget(o, "messages"), m, why) < 0)
            return -1;
        if (m->n == 0) {
            *why = "empty conversation";
            return -1;
        }
        return 1;
    case DS_FMT_SELFINSTRUCT: {
        const char *ins = jstr(o, "instruction");
        const cJSON *inst = jget(o, "instances");
        int n = cJSON_GetArraySize(inst);
        if (!ins || !cJSON_IsArray(inst)) {
            *why = "self-instruct record without \"instruction\" and \"instances\"";
            return -1;
        }
        if (n == 0) {
            *why = "self-instruct record with no instances";
            return -1;
        }
        if (sub < 0 || sub >= n) {
            *why = "self-instruct instance out of range";
            return -1;
        }
        const cJSON *it = cJSON_GetArrayItem(inst, sub);
        const char *input = jstr(it, "input"), *outp = jstr(it, "output");
        if (!outp) {
            *why = "self-instruct instance without a string \"output\"";
            return -1;
        }
        user_turn(m, ins, input);
        msgv_pushs(m, DS_ROLE_ASSISTANT, outp);
        return n;
    }
    case DS_FMT_PREF_HH: {
        const char *c = jstr(o, "chosen"), *r = jstr(o, "rejected");
        if (!c || !r) {
            *why = "HH-RLHF record without string \"chosen\" and \"rejected\"";
            return -1;
        }
        if (hh_turns(c, m) < 0 || m->v[m->n - 1].role != DS_ROLE_ASSISTANT) {
            *why = "\"chosen\" is not a Human:/Assistant: transcript ending with Assistant";
            return -1;
        }
        struct msgv rm = {0};
        int rc = hh_turns(r, &rm);
        if (rc < 0 || rm.v[rm.n - 1].role != DS_ROLE_ASSISTANT) {
            ds__msgs_free(rm.v, rm.n);
            *why = "\"rejected\" is not a Human:/Assistant: transcript ending with Assistant";
            return -1;
        }
        m->n--;
        out->chosen = m->v[m->n].content;
        out->rejected = bz_strdup(rm.v[rm.n - 1].content);
        ds__msgs_free(rm.v, rm.n);
        return 1;
    }
    case DS_FMT_PREF_OPENAI: {
        const cJSON *in = jget(o, "input");
        if (!cJSON_IsObject(in) || msgs_from_array(jget(in, "messages"), m, why) < 0) {
            if (!*why)
                *why = "\"input\" has no \"messages\"";
            return -1;
        }
        out->chosen = answer_text(jget(o, "preferred_output"));
        out->rejected = answer_text(jget(o, "non_preferred_output"));
        if (!out->chosen || !out->rejected) {
            *why = "no assistant text in \"preferred_output\"/\"non_preferred_output\"";
            return -1;
        }
        return 1;
    }
    case DS_FMT_PREF_TRL: {
        const cJSON *p = jget(o, "prompt"), *c = jget(o, "chosen");
        if (sys && sys[0])
            msgv_pushs(m, DS_ROLE_SYSTEM, sys);
        if (cJSON_IsString(p)) {
            msgv_pushs(m, DS_ROLE_USER, p->valuestring);
        } else if (cJSON_IsArray(p)) {
            if (msgs_from_array(p, m, why) < 0)
                return -1;
        } else if (cJSON_IsArray(c) && cJSON_GetArraySize(c) > 1) {
            /* implicit prompt: the turns of chosen before its final answer */
            struct msgv all = {0};
            if (msgs_from_array(c, &all, why) < 0) {
                ds__msgs_free(all.v, all.n);
                return -1;
            }
            for (int i = 0; i < all.n - 1; i++)
                msgv_pushs(m, all.v[i].role, all.v[i].content);
            ds__msgs_free(all.v, all.n);
        } else {
            *why = "preference record without \"prompt\"";
            return -1;
        }
        out->chosen = answer_text(c);
        out->rejected = answer_text(jget(o, "rejected"));
        if (!out->chosen || !out->rejected) {
            *why = "\"chosen\"/\"rejected\" are not text";
            return -1;
        }
        return 1;
    }
    }
    *why = "unknown format";
    return -1;
}

/* ---------------------------------------------------------------- ids */

void ds__content_id(const struct ds_record *r, char out[17])
{
    /* the hash of role\0content\0... ["chosen\0" chosen\0] ["rejected\0" rejected\0],
     * fed piece by piece (the same value as hashing the concatenation) */
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    for (int i = 0; i < r->n_msgs; i++) {
        const char *rn = ds_role_name(r->msgs[i].role);
        XXH3_64bits_update(&st, rn, strlen(rn) + 1);
        XXH3_64bits_update(&st, r->msgs[i].content, strlen(r->msgs[i].content) + 1);
    }
    if (r->chosen) {
        XXH3_64bits_update(&st, "chosen", 7);
        XXH3_64bits_update(&st, r->chosen, strlen(r->chosen) + 1);
    }
    if (r->rejected) {
        XXH3_64bits_update(&st, "rejected", 9);
        XXH3_64bits_update(&st, r->rejected, strlen(r->rejected) + 1);
    }
    bz_hash_hex(XXH3_64bits_digest(&st), out);
}

static char *own_id(const cJSON *o)
{
    const cJSON *id = jget(o, "id");
    if (cJSON_IsString(id) && id->valuestring[0])
        return bz_strdup(id->valuestring);
    if (cJSON_IsNumber(id)) {
        double v = id->valuedouble;
        if (v == (double)(long long)v)
            return bz_asprintf("%lld", (long long)v);
        return bz_asprintf("%.17g", v);
    }
    return NULL;
}

/* ---------------------------------------------------------------- entry points */

/* Offset of the first NUL byte or invalid UTF-8 sequence, or len. Eight ASCII bytes at
 * a time while the text is ASCII. */
static size_t text_check(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            /* no high bit set and no zero byte */
            if (!(w & 0x8080808080808080ull) &&
                !((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (u[i] == 0)
            return i;
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int k = bz_utf8_seq_len(u + i, len - i);
        if (k == 0)
            return i;
        i += (size_t)k;
    }
    return len;
}

static int parse_root(const char *json, size_t len, const char *file, size_t line, size_t col,
                      cJSON **root, struct bz_err *err)
{
    size_t bad = text_check(json, len);
    if (bad < len && json[bad] == '\0')
        return place_err(err, BZ_EPARSE, file, line, col, json, bad, "NUL byte in record");
    if (bad < len)
        return place_err(err, BZ_EPARSE, file, line, col, json, bad, "invalid UTF-8 (byte 0x%02x)",
                         (unsigned char)json[bad]);
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!*root) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        const char *v = json;
        while (v < json + len && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
            v++;
        /* cJSON stops near, not at, a cut: a value that never closes is truncated */
        if (off >= len || v == json + len ||
            ((*v == '{' || *v == '[' || *v == '"') && !ds__scan_value(v, json + len)))
            return place_err(err, BZ_EPARSE, file, line, col, json, len,
                             "truncated JSON (ends inside a value)");
        return place_err(err, BZ_EPARSE, file, line, col, json, off, "invalid JSON near '%c'",
                         json[off]);
    }
    size_t off = (size_t)(end - json);
    while (off < len && (json[off] == ' ' || json[off] == '\t' || json[off] == '\r' ||
                         json[off] == '\n'))
        off++;
    if (off < len) {
        cJSON_Delete(*root);
        *root = NULL;
        return place_err(err, BZ_EPARSE, file, line, col, json, off,
                         "unexpected text after the JSON value");
    }
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return place_err(err, BZ_EPARSE, file, line, col, json, 0, "expected a JSON object");
    }
    return 0;
}

int ds__parse_at(const char *json, size_t len, int fmt, int sub, const char *file, size_t line,
                 size_t col, int with_meta, struct ds_record *out, struct bz_err *err)
{
    memset(out, 0, sizeof *out);
    out->line = line;
    if (fmt < 0 || fmt >= DS_FMT_COUNT)
        return bz_errf(err, BZ_EINVAL, "unknown format %d", fmt);
    cJSON *root = NULL;
    int rc = parse_root(json, len, file, line, col, &root, err);
    if (rc < 0) {
        out->flags = DS_F_BAD;
        return rc;
    }
    int f = fmt ? fmt : detect(root);
    if (f == DS_FMT_UNKNOWN) {
        struct bz_buf keys;
        bz_buf_init(&keys);
        const cJSON *it;
        cJSON_ArrayForEach(it, root)
        {
            if (keys.len > 80)
                break;
            bz_buf_printf(&keys, "%s%s", keys.len ? ", " : "", it->string);
        }
        place_err(err, BZ_EPARSE, file, line, col, json, 0, "unknown record shape (keys: %s)",
                  keys.p ? keys.p : "none");
        bz_buf_cleanup(&keys);
        cJSON_Delete(root);
        out->flags = DS_F_BAD;
        return BZ_EPARSE;
    }
    struct msgv m = {0};
    const char *why = NULL;
    int n = shape(root, f, sub, &m, out, &why);
    if (n < 0) {
        place_err(err, BZ_EPARSE, file, line, col, json, 0, "%s (as %s)", why, ds_format_name(f));
        ds__msgs_free(m.v, m.n);
        ds_record_cleanup(out);
        out->line = line;
        out->flags = DS_F_BAD;
        cJSON_Delete(root);
        return BZ_EPARSE;
    }
    out->msgs = m.v;
    out->n_msgs = m.n;
    out->format = f;
    if (out->chosen)
        out->flags |= DS_F_PREF;
    char *id = own_id(root);
    if (id && f == DS_FMT_SELFINSTRUCT) {
        out->id = bz_asprintf("%s#%d", id, sub);
        free(id);
    } else if (id) {
        out->id = id;
    } else {
        char hex[17];
        ds__content_id(out, hex);
        out->id = bz_strdup(hex);
    }
    if (with_meta)
        out->meta_json = meta_of(root, f);
    cJSON_Delete(root);
    return n;
}

/* Contract: see dataset.h. out is always initialised (cleanup is safe after an error). */
int ds_parse_record(const char *json, size_t len, int fmt, int sub, const char *file,
                    size_t line, struct ds_record *out, struct bz_err *err)
{
    return ds__parse_at(json, len, fmt, sub, file, line, 1, 1, out, err);
}

int ds__count_instances(const char *json, size_t len)
{
    if (text_check(json, len) < len)
        return BZ_EPARSE;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return BZ_EPARSE;
    const cJSON *inst = jget(root, "instances");
    int n = cJSON_IsArray(inst) ? cJSON_GetArraySize(inst) : 0;
    cJSON_Delete(root);
    return n > 0 ? n : BZ_EPARSE;
}

/* ---------------------------------------------------------------- messages as JSON */

void ds__msgs_to_json(struct bz_buf *b, const struct ds_msg *msgs, int n)
{
    bz_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        bz_buf_puts(b, i ? ",{\"role\":" : "{\"role\":");
        const char *rn = ds_role_name(msgs[i].role);
        bz_buf_json_str(b, rn, strlen(rn));
        bz_buf_puts(b, ",\"content\":");
        const char *c = msgs[i].content ? msgs[i].content : "";
        bz_buf_json_str(b, c, strlen(c));
        bz_buf_putc(b, '}');
    }
    bz_buf_putc(b, ']');
}

int ds__msgs_from_json(const char *json, struct ds_msg **msgs, int *n, struct bz_err *err)
{
    *msgs = NULL;
    *n = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return bz_errf(err, BZ_EPARSE, "edit: messages are not valid JSON");
    struct msgv m = {0};
    const char *why = NULL;
    int rc = msgs_from_array(root, &m, &why);
    cJSON_Delete(root);
    if (rc < 0) {
        ds__msgs_free(m.v, m.n);
        return bz_errf(err, BZ_EPARSE, "edit: %s", why);
    }
    *msgs = m.v;
    *n = m.n;
    return 0;
}
