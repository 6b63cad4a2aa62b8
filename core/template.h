/*
 * template.h: chat templates: a conversation (system/user/assistant turns) rendered
 * into token ids plus a per-token mask of assistant output (the training loss mask),
 * or into a prompt for generation that ends with the assistant header.
 *
 * Built in: ChatML, Llama 2 [INST], Llama 3 header tokens, Zephyr, Phi-3, and the
 * OpenBezoar/Alpaca style (### System: / ### Instruction: / ### Response:). A model's
 * own template (the Jinja text in tokenizer.chat_template) is recognised by its
 * distinctive substrings; an unrecognised one is an error that says so, never a
 * silent substitute. Jinja itself is not interpreted.
 */
#ifndef CORE_TEMPLATE_H
#define CORE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/bz.h"
#include "core/tokenizer.h"

enum core_role { CORE_ROLE_SYSTEM = 0, CORE_ROLE_USER = 1, CORE_ROLE_ASSISTANT = 2 };

enum core_template_id {
    CORE_TEMPLATE_CHATML = 0,
    CORE_TEMPLATE_LLAMA2,
    CORE_TEMPLATE_LLAMA3,
    CORE_TEMPLATE_ZEPHYR,
    CORE_TEMPLATE_PHI3,
    CORE_TEMPLATE_ALPACA, /* OpenBezoar */
    CORE_TEMPLATE_COUNT
};

struct core_chat_msg {
    int role;            /* enum core_role */
    const char *content; /* borrowed */
    size_t len;
};

/* Flags for core_template_render. */
enum {
    CORE_TEMPLATE_GENERATION = 1, /* end with the assistant header, ready to generate */
    CORE_TEMPLATE_NO_BOS = 2,     /* no BOS even when the vocab asks for one */
};

/* What a render produces: ids, mask[i] = 1 where ids[i] is assistant output
 * (content and its end-of-turn token), and the rendered text. */
struct core_template_out {
    struct core_ids ids;
    uint8_t *mask;       /* [ids.n] */
    size_t mask_cap;
    struct bz_buf text;
};
void core_template_out_init(struct core_template_out *o);
void core_template_out_cleanup(struct core_template_out *o);

/* "chatml", "llama2", "llama3", "zephyr", "phi3", "alpaca"; NULL for bad ids. */
const char *core_template_name(int id);
/* By name ("openbezoar" is an alias of "alpaca"); -1 when unknown. */
int core_template_by_name(const char *name);
/* Recognise a Jinja chat template by distinctive substrings: "<|im_start|>" ChatML,
 * "<|start_header_id|>" Llama 3, "[INST]" with "<<SYS>>" Llama 2, "<|user|>" with
 * "<|end|>" Phi-3, "<|user|>" with eos_token Zephyr, "### Instruction:" Alpaca.
 * Returns the id, or BZ_ENOTFOUND with a message naming what was seen. */
int core_template_detect(const char *jinja, struct bz_err *err);
/* The template to use for a vocab: name when given (else BZ_EINVAL naming it),
 * otherwise detected from v->chat_template (BZ_ENOTFOUND when there is none or it is
 * not recognised). */
int core_template_pick(const struct core_vocab *v, const char *name, struct bz_err *err);

/* Render msgs[0..n) with template tmpl into *out (appending). System messages are
 * allowed first only; roles must alternate user/assistant after it. Special tokens
 * are recognised only in the template's own text, never in message content. BOS is
 * added when the vocab adds one (unless CORE_TEMPLATE_NO_BOS or the template writes
 * its own). Llama 3 is refused (BZ_EUNSUPPORTED) for a vocab without its header
 * and end-of-turn special tokens. */
int core_template_render(const struct core_vocab *v, int tmpl, const struct core_chat_msg *msgs,
                         size_t n, int flags, struct core_template_out *out,
                         struct bz_err *err);

#endif
