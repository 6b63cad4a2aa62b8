/*
 * cmd-tokenize.c: `bezoar tokenize -m MODEL [--ids] [--no-bos] [--special] [TEXT | -]`,
 * the tokenizer on the command line: one line per token (id, then the piece quoted
 * so spaces, control bytes and half characters show), or only the ids. With
 * `--chat FILE` it renders a conversation through the chat template (the model's
 * own, recognised, or --template NAME) and shows the loss mask.
 *
 * Key idea: only the vocab is loaded (core_vocab_open), so vocab-only GGUF files,
 * llama2.c tokenizer.bin files and Hugging Face tokenizer.json work, and a big model
 * costs nothing but its metadata. `-` reads stdin byte for byte (no newline
 * stripping).
 *
 * Left out: batch files; use a loop.
 */
#include "tui/tui.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/core.h"

BZ_CMD("tokenize", tui_cmd_tokenize, "print the token ids and pieces of a text or a chat");

static const char usage[] =
    "usage: bezoar tokenize -m MODEL [--ids] [--no-bos] [--special] [--json] [TEXT | -]\n"
    "       bezoar tokenize -m MODEL --chat FILE [--template NAME] [--generation] [--ids]\n"
    "Tokenize TEXT (or stdin with -, byte for byte) with MODEL's tokenizer: a .gguf file\n"
    "(vocab-only files too), a llama2.c tokenizer.bin (or a model .bin with its tokenizer\n"
    "beside it), or a Hugging Face directory / tokenizer.json. Prints one line per token,\n"
    "\"ID<TAB>PIECE\", the piece quoted (\\n, \\t, \\xNN for control bytes and half\n"
    "characters from byte tokens).\n"
    "  --ids        print only the ids, space separated, on one line\n"
    "  --no-bos     do not put BOS first (nor EOS last where the vocab adds one, as\n"
    "               WordPiece's [CLS] ... [SEP]; default: as the vocab says)\n"
    "  --special    recognise control tokens such as <|im_start|> in the text\n"
    "  --json       one JSON object {\"ids\":[...],\"pieces\":[...]} (+\"mask\" with --chat)\n"
    "  --chat FILE  a conversation (JSON: [{\"role\",\"content\"}...] or {\"messages\":[...]},\n"
    "               - for stdin) rendered by the chat template; lines \"ID<TAB>M<TAB>PIECE\"\n"
    "               with M = 1 for assistant tokens (the training loss mask)\n"
    "  --template NAME  chatml, llama2, llama3, zephyr, phi3, alpaca (openbezoar);\n"
    "               default: the model's own template, recognised\n"
    "  --generation end with the assistant header (a prompt for generation)\n";

/* A piece for reading: quoted, valid UTF-8 as is, \n \t \r \" \\ escaped, other
 * control bytes and bytes that are not valid UTF-8 (half characters from byte tokens)
 * as \xNN. With json, a JSON string whose invalid bytes become U+FFFD. */
static void put_piece(struct bz_buf *out, const char *p, size_t n, int json)
{
    struct bz_buf tmp;
    bz_buf_init(&tmp);
    const unsigned char *u = (const unsigned char *)p;
    if (!json)
        bz_buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        int l = bz_utf8_seq_len(u + i, n - i);
        if (json) {
            if (l == 0)
                bz_buf_append(&tmp, "\xef\xbf\xbd", 3);
            else
                bz_buf_append(&tmp, p + i, (size_t)l);
        } else if (l == 0 || (l == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
            const char *e = u[i] == '\n' ? "\\n" : u[i] == '\t' ? "\\t" : u[i] == '\r' ? "\\r"
                                                                                     : NULL;
            if (e)
                bz_buf_puts(out, e);
            else
                bz_buf_printf(out, "\\x%02X", u[i]);
        } else if (l == 1 && (u[i] == '"' || u[i] == '\\')) {
            bz_buf_putc(out, '\\');
            bz_buf_putc(out, (char)u[i]);
        } else {
            bz_buf_append(out, p + i, (size_t)l);
        }
        i += l ? (size_t)l : 1;
    }
    if (json)
        bz_buf_json_str(out, tmp.p ? tmp.p : "", tmp.len);
    else
        bz_buf_putc(out, '"');
    bz_buf_cleanup(&tmp);
}

static int read_stdin(struct bz_buf *b)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        bz_buf_append(b, chunk, n);
    return ferror(stdin) ? -1 : 0;
}

/* Parse a conversation file into msgs (contents borrowed from *root, which the caller
 * deletes). */
static int read_chat(const char *path, cJSON **root, struct core_chat_msg **msgs, size_t *n)
{
    struct bz_buf b;
    bz_buf_init(&b);
    struct bz_err err = {0};
    if (strcmp(path, "-") == 0) {
        if (read_stdin(&b) != 0) {
            bz_buf_cleanup(&b);
            return tui_cmd_fail(TUI_EXIT_ERROR, "tokenize: reading stdin failed");
        }
    } else {
        char *data;
        size_t len;
        int rc = bz_read_file(path, &data, &len, &err);
        if (rc)
            return tui_cmd_fail_err(&err, rc);
        bz_buf_append(&b, data, len);
        free(data);
    }
    *root = cJSON_ParseWithLength(b.p ? b.p : "", b.len);
    bz_buf_cleanup(&b);
    if (!*root)
        return tui_cmd_fail(TUI_EXIT_ERROR, "%s: not valid JSON", path);
    const cJSON *arr = cJSON_IsArray(*root) ? *root
                                            : cJSON_GetObjectItemCaseSensitive(*root, "messages");
    if (!cJSON_IsArray(arr))
        return tui_cmd_fail(TUI_EXIT_ERROR, "%s: expected [{role, content}] or {messages: [...]}",
                            path);
    *n = (size_t)cJSON_GetArraySize(arr);
    *msgs = bz_calloc(*n ? *n : 1, sizeof(**msgs));
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            return tui_cmd_fail(TUI_EXIT_ERROR, "%s: message %zu needs string role and content",
                                path, i);
        const char *r = role->valuestring;
        int id = strcmp(r, "system") == 0 ? CORE_ROLE_SYSTEM
                 : strcmp(r, "user") == 0 ? CORE_ROLE_USER
                 : strcmp(r, "assistant") == 0 ? CORE_ROLE_ASSISTANT
                                               : -1;
        if (id < 0)
            return tui_cmd_fail(TUI_EXIT_ERROR, "%s: message %zu: unknown role '%s'", path, i, r);
        (*msgs)[i].role = id;
        (*msgs)[i].content = content->valuestring;
        (*msgs)[i].len = strlen(content->valuestring);
        i++;
    }
    return 0;
}

struct opts {
    const char *model, *chat, *tmpl;
    int ids_only, no_bos, special, json, generation;
};

static void print_tokens(const struct core_vocab *v, const struct opts *o,
                         const struct core_ids *ids, const uint8_t *mask)
{
    struct bz_buf out, piece;
    bz_buf_init(&out);
    bz_buf_init(&piece);
    if (o->json) {
        bz_buf_puts(&out, "{\"ids\":[");
        for (size_t i = 0; i < ids->n; i++)
            bz_buf_printf(&out, "%s%d", i ? "," : "", (int)ids->p[i]);
        if (mask) {
            bz_buf_puts(&out, "],\"mask\":[");
            for (size_t i = 0; i < ids->n; i++)
                bz_buf_printf(&out, "%s%d", i ? "," : "", mask[i]);
        }
        bz_buf_puts(&out, "],\"pieces\":[");
        for (size_t i = 0; i < ids->n; i++) {
            piece.len = 0;
            core_tokenizer_piece(v, ids->p[i], CORE_DETOK_SPECIAL, &piece, NULL);
            if (i)
                bz_buf_putc(&out, ',');
            put_piece(&out, piece.p, piece.len, 1);
        }
        bz_buf_puts(&out, "]}\n");
    } else if (o->ids_only) {
        for (size_t i = 0; i < ids->n; i++)
            bz_buf_printf(&out, "%s%d", i ? " " : "", (int)ids->p[i]);
        bz_buf_putc(&out, '\n');
    } else {
        for (size_t i = 0; i < ids->n; i++) {
            piece.len = 0;
            core_tokenizer_piece(v, ids->p[i], CORE_DETOK_SPECIAL, &piece, NULL);
            bz_buf_printf(&out, "%d\t", (int)ids->p[i]);
            if (mask)
                bz_buf_printf(&out, "%d\t", mask[i]);
            put_piece(&out, piece.p, piece.len, 0);
            bz_buf_putc(&out, '\n');
        }
    }
    fwrite(out.p ? out.p : "", 1, out.len, stdout);
    bz_buf_cleanup(&out);
    bz_buf_cleanup(&piece);
}

static int run_chat(const struct core_vocab *v, const struct opts *o)
{
    struct bz_err err = {0};
    int t = core_template_pick(v, o->tmpl, &err);
    if (t < 0)
        return tui_cmd_fail_err(&err, t);
    cJSON *root = NULL;
    struct core_chat_msg *msgs = NULL;
    size_t n = 0;
    int rc = read_chat(o->chat, &root, &msgs, &n);
    if (rc == 0) {
        struct core_template_out out;
        core_template_out_init(&out);
        int flags = (o->generation ? CORE_TEMPLATE_GENERATION : 0) |
                    (o->no_bos ? CORE_TEMPLATE_NO_BOS : 0);
        int r = core_template_render(v, t, msgs, n, flags, &out, &err);
        if (r) {
            rc = tui_cmd_fail(TUI_EXIT_ERROR, "%s: %s", o->chat, bz_err_msg(&err, r));
        } else {
            if (!o->json && !o->ids_only)
                fprintf(stderr, "template %s%s\n", core_template_name(t),
                        o->tmpl ? "" : " (the model's own)");
            print_tokens(v, o, &out.ids, out.mask);
        }
        core_template_out_cleanup(&out);
    }
    free(msgs);
    cJSON_Delete(root);
    return rc;
}

int tui_cmd_tokenize(int argc, char **argv)
{
    struct opts o = {0};
    const char *text_arg = NULL;
    int from_stdin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **val = strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0 ? &o.model
                           : strcmp(a, "--chat") == 0                       ? &o.chat
                           : strcmp(a, "--template") == 0                   ? &o.tmpl
                                                                            : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return TUI_EXIT_OK;
        } else if (val) {
            if (i + 1 >= argc)
                return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: %s needs a value", a);
            *val = argv[++i];
        } else if (strcmp(a, "--ids") == 0) {
            o.ids_only = 1;
        } else if (strcmp(a, "--no-bos") == 0) {
            o.no_bos = 1;
        } else if (strcmp(a, "--special") == 0) {
            o.special = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--generation") == 0) {
            o.generation = 1;
        } else if (strcmp(a, "-") == 0 && !text_arg && !from_stdin) {
            from_stdin = 1;
        } else if (strcmp(a, "--") == 0 && i + 1 < argc && !text_arg && !from_stdin) {
            text_arg = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: unknown flag '%s' (see -h)", a);
        } else if (!text_arg && !from_stdin) {
            text_arg = a;
        } else {
            return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: one TEXT only (quote it)");
        }
    }
    if (!o.model || (!o.chat && !text_arg && !from_stdin) || (o.chat && (text_arg || from_stdin))) {
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    if ((o.tmpl || o.generation) && !o.chat)
        return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: --template and --generation need --chat");
    struct core_vocab *v;
    struct bz_err err = {0};
    int rc = core_vocab_open(&v, o.model, &err);
    if (rc)
        return tui_cmd_fail_err(&err, rc);
    if (o.chat) {
        rc = run_chat(v, &o);
        core_vocab_free(v);
        return rc;
    }
    struct bz_buf text;
    bz_buf_init(&text);
    if (from_stdin && read_stdin(&text) != 0) {
        bz_buf_cleanup(&text);
        core_vocab_free(v);
        return tui_cmd_fail(TUI_EXIT_ERROR, "tokenize: reading stdin failed");
    }
    if (text_arg)
        bz_buf_puts(&text, text_arg);
    struct core_ids ids;
    core_ids_init(&ids);
    int flags = (v->add_bos && !o.no_bos ? CORE_TOK_ADD_BOS : 0) |
                (v->add_eos && !o.no_bos ? CORE_TOK_ADD_EOS : 0) |
                (o.special ? CORE_TOK_SPECIAL : 0);
    rc = core_tokenizer_encode(v, text.p ? text.p : "", text.len, flags, &ids, &err);
    if (rc)
        rc = tui_cmd_fail_err(&err, rc);
    else
        print_tokens(v, &o, &ids, NULL);
    core_ids_cleanup(&ids);
    core_vocab_free(v);
    bz_buf_cleanup(&text);
    return rc;
}
