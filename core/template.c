/*
 * template.c: built-in chat templates rendered straight to token ids and a loss
 * mask.
 *
 * Key idea: a render is a sequence of blocks, each either assistant output (mask 1)
 * or not. A block's text mixes template text (where control tokens such as
 * <|im_start|> are recognised) and message content (where they are not, so a user
 * cannot forge a turn). Each block is tokenized as llama.cpp tokenizes rendered
 * chat text, with the SPM space-prefix state carried across blocks. Block borders sit
 * right after a newline or a special token, or before a space, where SentencePiece and
 * the byte-level pre-tokenizers cut anyway, so the ids equal those of tokenizing the
 * whole text at once for ordinary content.
 *
 * Left out: a Jinja interpreter; templates are recognised, not executed. Content is
 * not trimmed (some Hugging Face templates trim it).
 */
#include "core/template.h"

#include <string.h>

#include "core/tok-internal.h"

static const char *const names[CORE_TEMPLATE_COUNT] = {"chatml", "llama2", "llama3",
                                                       "zephyr", "phi3",   "alpaca"};

void core_template_out_init(struct core_template_out *o)
{
    memset(o, 0, sizeof(*o));
    core_ids_init(&o->ids);
    bz_buf_init(&o->text);
}

void core_template_out_cleanup(struct core_template_out *o)
{
    if (!o)
        return;
    core_ids_cleanup(&o->ids);
    free(o->mask);
    bz_buf_cleanup(&o->text);
    memset(o, 0, sizeof(*o));
}

const char *core_template_name(int id)
{
    return id >= 0 && id < CORE_TEMPLATE_COUNT ? names[id] : NULL;
}

int core_template_by_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < CORE_TEMPLATE_COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    if (strcmp(name, "openbezoar") == 0)
        return CORE_TEMPLATE_ALPACA;
    return -1;
}

/* Recognise a Jinja template; see template.h. */
int core_template_detect(const char *jinja, struct bz_err *err)
{
    if (!jinja || !*jinja)
        return bz_errf(err, BZ_ENOTFOUND, "the model has no chat template (use --template NAME)");
    if (strstr(jinja, "<|im_start|>"))
        return CORE_TEMPLATE_CHATML;
    if (strstr(jinja, "<|start_header_id|>"))
        return CORE_TEMPLATE_LLAMA3;
    if (strstr(jinja, "[INST]")) {
        if (strstr(jinja, "<<SYS>>"))
            return CORE_TEMPLATE_LLAMA2;
        return bz_errf(err, BZ_ENOTFOUND,
                       "unrecognised chat template: [INST] without <<SYS>> (Mistral style) is "
                       "not built in; use --template llama2 to force Llama 2");
    }
    if (strstr(jinja, "<|user|>")) {
        if (strstr(jinja, "<|end|>"))
            return CORE_TEMPLATE_PHI3;
        if (strstr(jinja, "eos_token"))
            return CORE_TEMPLATE_ZEPHYR;
    }
    if (strstr(jinja, "### Instruction:"))
        return CORE_TEMPLATE_ALPACA;
    size_t n = strlen(jinja);
    char head[61];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 60; i++)
        head[k++] = jinja[i] == '\n' ? ' ' : jinja[i];
    head[k] = 0;
    return bz_errf(err, BZ_ENOTFOUND, "unrecognised chat template \"%s%s\" (use --template NAME)",
                   head, n > 60 ? "..." : "");
}

/* The template for a vocab; see template.h. */
int core_template_pick(const struct core_vocab *v, const char *name, struct bz_err *err)
{
    if (name) {
        int id = core_template_by_name(name);
        if (id < 0)
            return bz_errf(err, BZ_EINVAL,
                           "unknown template '%s' (chatml, llama2, llama3, zephyr, phi3, alpaca)",
                           name);
        return id;
    }
    return core_template_detect(v ? v->chat_template : NULL, err);
}

/* ---------------------------------------------------------------- rendering */

struct render {
    const struct core_vocab *v;
    struct core_template_out *out;
    struct bz_buf text;
    size_t *ranges; /* template-text ranges in text, [2 * nr] */
    size_t nr, cap;
    int mask;
    int prev_special;
    int rc;
    struct bz_err *err;
};

static void flush(struct render *r)
{
    if (r->rc || r->text.len == 0)
        return;
    struct core_template_out *o = r->out;
    size_t before = o->ids.n;
    r->rc = core__tokenizer_encode_ex(r->v, r->text.p, r->text.len, CORE_TOK_SPECIAL, r->ranges,
                                      r->nr, &r->prev_special, &o->ids, r->err);
    if (o->ids.n > o->mask_cap) {
        o->mask_cap = o->ids.cap;
        o->mask = bz_realloc(o->mask, o->mask_cap);
    }
    memset(o->mask + before, r->mask, o->ids.n - before);
    bz_buf_append(&o->text, r->text.p, r->text.len);
    r->text.len = 0;
    r->nr = 0;
}

static void set_mask(struct render *r, int mask)
{
    if (mask != r->mask)
        flush(r);
    r->mask = mask;
}

static void tpl_n(struct render *r, const char *s, size_t n)
{
    if (n == 0)
        return;
    size_t at = r->text.len;
    bz_buf_append(&r->text, s, n);
    if (r->nr && r->ranges[2 * r->nr - 1] == at) {
        r->ranges[2 * r->nr - 1] = at + n;
        return;
    }
    if (r->nr == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->ranges = bz_realloc(r->ranges, r->cap * 2 * sizeof(*r->ranges));
    }
    r->ranges[2 * r->nr] = at;
    r->ranges[2 * r->nr + 1] = at + n;
    r->nr++;
}

static void tpl(struct render *r, const char *s)
{
    tpl_n(r, s, strlen(s));
}

/* The text of a vocab token (BOS/EOS) as template text; nothing when absent. */
static void tpl_tok(struct render *r, int id)
{
    if (id >= 0)
        tpl_n(r, r->v->tokens[id].text, r->v->tokens[id].len);
}

static void content(struct render *r, const struct core_chat_msg *m)
{
    bz_buf_append(&r->text, m->content, m->len);
}

static const char *role_name(int role)
{
    return role == CORE_ROLE_SYSTEM ? "system" : role == CORE_ROLE_USER ? "user" : "assistant";
}

static int check_roles(const struct core_chat_msg *msgs, size_t n, struct bz_err *err)
{
    int prev = -1;
    for (size_t i = 0; i < n; i++) {
        int role = msgs[i].role;
        if (role < CORE_ROLE_SYSTEM || role > CORE_ROLE_ASSISTANT)
            return bz_errf(err, BZ_EINVAL, "message %zu: bad role %d", i, role);
        if (role == CORE_ROLE_SYSTEM && i != 0)
            return bz_errf(err, BZ_EINVAL, "message %zu: a system message must come first", i);
        if (role == CORE_ROLE_USER && prev == CORE_ROLE_USER)
            return bz_errf(err, BZ_EINVAL, "message %zu: two user messages in a row", i);
        if (role == CORE_ROLE_ASSISTANT && prev != CORE_ROLE_USER)
            return bz_errf(err, BZ_EINVAL, "message %zu: an assistant message must follow a "
                                           "user message", i);
        prev = role;
    }
    return 0;
}

static void render_chatml(struct render *r, const struct core_chat_msg *m, size_t n, int gen)
{
    for (size_t i = 0; i < n; i++) {
        tpl(r, "<|im_start|>");
        tpl(r, role_name(m[i].role));
        tpl(r, "\n");
        if (m[i].role == CORE_ROLE_ASSISTANT) {
            set_mask(r, 1);
            content(r, &m[i]);
            tpl(r, "<|im_end|>");
            set_mask(r, 0);
            tpl(r, "\n");
        } else {
            content(r, &m[i]);
            tpl(r, "<|im_end|>\n");
        }
    }
    if (gen)
        tpl(r, "<|im_start|>assistant\n");
}

static void render_llama2(struct render *r, const struct core_chat_msg *m, size_t n)
{
    size_t i = 0;
    const struct core_chat_msg *sys = NULL;
    if (n && m[0].role == CORE_ROLE_SYSTEM)
        sys = &m[i++];
    if (sys && i == n) {
        /* the system prompt lives inside the first [INST]: without a user turn it
         * has nowhere to go */
        r->rc = bz_errf(r->err, BZ_EINVAL, "llama2: a system message needs a user message "
                                           "after it");
        return;
    }
    for (; i < n; i++) {
        if (m[i].role == CORE_ROLE_USER) {
            tpl_tok(r, r->v->bos);
            tpl(r, "[INST] ");
            if (sys) {
                tpl(r, "<<SYS>>\n");
                content(r, sys);
                tpl(r, "\n<</SYS>>\n\n");
                sys = NULL;
            }
            content(r, &m[i]);
            tpl(r, " [/INST]");
        } else {
            set_mask(r, 1);
            tpl(r, " ");
            content(r, &m[i]);
            tpl(r, " ");
            tpl_tok(r, r->v->eos);
            set_mask(r, 0);
        }
    }
}

static void render_llama3(struct render *r, const struct core_chat_msg *m, size_t n, int gen)
{
    tpl(r, "<|begin_of_text|>");
    for (size_t i = 0; i < n; i++) {
        tpl(r, "<|start_header_id|>");
        tpl(r, role_name(m[i].role));
        tpl(r, "<|end_header_id|>\n\n");
        set_mask(r, m[i].role == CORE_ROLE_ASSISTANT);
        content(r, &m[i]);
        tpl(r, "<|eot_id|>");
        set_mask(r, 0);
    }
    if (gen)
        tpl(r, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_zephyr(struct render *r, const struct core_chat_msg *m, size_t n, int gen)
{
    for (size_t i = 0; i < n; i++) {
        tpl(r, "<|");
        tpl(r, role_name(m[i].role));
        tpl(r, "|>\n");
        set_mask(r, m[i].role == CORE_ROLE_ASSISTANT);
        content(r, &m[i]);
        tpl_tok(r, r->v->eos);
        set_mask(r, 0);
        tpl(r, "\n");
    }
    if (gen)
        tpl(r, "<|assistant|>\n");
}

static void render_phi3(struct render *r, const struct core_chat_msg *m, size_t n, int gen)
{
    tpl_tok(r, r->v->bos);
    for (size_t i = 0; i < n; i++) {
        tpl(r, "<|");
        tpl(r, role_name(m[i].role));
        tpl(r, "|>\n");
        /* "<|end|>\n" stays in one block: Phi-3's special tokens strip the spaces
         * after them, which only works when the newline is in the same text */
        set_mask(r, m[i].role == CORE_ROLE_ASSISTANT);
        content(r, &m[i]);
        tpl(r, "<|end|>\n");
        set_mask(r, 0);
    }
    if (gen)
        tpl(r, "<|assistant|>\n");
}

static void render_alpaca(struct render *r, const struct core_chat_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (m[i].role) {
        case CORE_ROLE_SYSTEM:
            tpl(r, "### System:\n");
            content(r, &m[i]);
            tpl(r, "\n\n");
            break;
        case CORE_ROLE_USER:
            tpl(r, "### Instruction:\n");
            content(r, &m[i]);
            tpl(r, "\n\n### Response:\n");
            break;
        default:
            set_mask(r, 1);
            content(r, &m[i]);
            tpl_tok(r, r->v->eos);
            set_mask(r, 0);
            tpl(r, "\n\n");
            break;
        }
    }
}

/* Render a conversation; see template.h. */
int core_template_render(const struct core_vocab *v, int tmpl, const struct core_chat_msg *msgs,
                         size_t n, int flags, struct core_template_out *out, struct bz_err *err)
{
    if (tmpl < 0 || tmpl >= CORE_TEMPLATE_COUNT)
        return bz_errf(err, BZ_EINVAL, "bad template id %d", tmpl);
    int rc = check_roles(msgs, n, err);
    if (rc)
        return rc;
    int gen = (flags & CORE_TEMPLATE_GENERATION) != 0;
    if (gen && n && msgs[n - 1].role == CORE_ROLE_ASSISTANT)
        return bz_errf(err, BZ_EINVAL, "a prompt for generation must not end with an assistant "
                                       "message");
    if (tmpl == CORE_TEMPLATE_LLAMA3) {
        /* its turn markers must be single special tokens: as text they would also
         * merge across the places where a render cuts blocks */
        static const char *const need[] = {"<|start_header_id|>", "<|end_header_id|>",
                                           "<|eot_id|>"};
        for (size_t i = 0; i < BZ_ARRAY_SIZE(need); i++) {
            int id = core_vocab_find(v, need[i], strlen(need[i]));
            if (id < 0 || v->tokens[id].type == CORE_TOKEN_NORMAL)
                return bz_errf(err, BZ_EUNSUPPORTED,
                               "template llama3 needs the special token %s, which this vocab "
                               "lacks", need[i]);
        }
    }
    struct render r;
    memset(&r, 0, sizeof(r));
    r.v = v;
    r.out = out;
    r.err = err;
    r.prev_special = 1;
    bz_buf_init(&r.text);
    int own_bos = tmpl == CORE_TEMPLATE_LLAMA2 || tmpl == CORE_TEMPLATE_LLAMA3 ||
                  tmpl == CORE_TEMPLATE_PHI3;
    if (!(flags & CORE_TEMPLATE_NO_BOS) && !own_bos && v->add_bos && v->bos >= 0)
        tpl_tok(&r, v->bos);
    switch (tmpl) {
    case CORE_TEMPLATE_CHATML:
        render_chatml(&r, msgs, n, gen);
        break;
    case CORE_TEMPLATE_LLAMA2:
        render_llama2(&r, msgs, n);
        break;
    case CORE_TEMPLATE_LLAMA3:
        render_llama3(&r, msgs, n, gen);
        break;
    case CORE_TEMPLATE_ZEPHYR:
        render_zephyr(&r, msgs, n, gen);
        break;
    case CORE_TEMPLATE_PHI3:
        render_phi3(&r, msgs, n, gen);
        break;
    default:
        render_alpaca(&r, msgs, n);
        break;
    }
    flush(&r);
    bz_buf_cleanup(&r.text);
    free(r.ranges);
    return r.rc;
}
