/*
 * cmd-tokenize.c: `bezoar tokenize -m MODEL [--ids] [--no-bos] [--special] [TEXT | -]`,
 * the tokenizer on the command line: one line per token (id, then the piece quoted
 * so spaces, control bytes and half characters show), or only the ids.
 *
 * Key idea: only the vocab is loaded (core_vocab_open), so vocab-only GGUF files,
 * llama2.c tokenizer.bin files and Hugging Face tokenizer.json work, and a big model
 * costs nothing but its metadata. `-` reads stdin byte for byte (no newline
 * stripping).
 *
 * Left out: batch files; use a loop.
 */
#include "tui/tui.h"

#include <string.h>

#include "core/core.h"

BZ_CMD("tokenize", tui_cmd_tokenize, "print the token ids and pieces of a text");

static const char usage[] =
    "usage: bezoar tokenize -m MODEL [--ids] [--no-bos] [--special] [--json] [TEXT | -]\n"
    "Tokenize TEXT (or stdin with -, byte for byte) with MODEL's tokenizer: a .gguf file\n"
    "(vocab-only files too), a llama2.c tokenizer.bin (or a model .bin with tokenizer.bin\n"
    "beside it), or a Hugging Face directory / tokenizer.json. Prints one line per token,\n"
    "\"ID<TAB>PIECE\" with the piece quoted (\\n, \\t, \\xNN for control bytes and half\n"
    "characters from byte tokens).\n"
    "  --ids      print only the ids, space separated, on one line\n"
    "  --no-bos   do not put BOS first (nor EOS last where the vocab adds one, as\n"
    "             WordPiece's [CLS] ... [SEP]; default: as the vocab says)\n"
    "  --special  recognise control tokens such as <|im_start|> in the text\n"
    "  --json     one JSON object {\"ids\":[...],\"pieces\":[...]}\n";

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
            const char *e = u[i] == '\n' ? "\\n" : u[i] == '\t' ? "\\t" : u[i] == '\r' ? "\\r" : NULL;
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

int tui_cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL;
    int ids_only = 0, no_bos = 0, special = 0, json = 0;
    struct bz_buf text;
    bz_buf_init(&text);
    int have_text = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            bz_buf_cleanup(&text);
            return TUI_EXIT_OK;
        } else if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) {
            if (i + 1 >= argc) {
                bz_buf_cleanup(&text);
                return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: %s needs a value", a);
            }
            model = argv[++i];
        } else if (strcmp(a, "--ids") == 0) {
            ids_only = 1;
        } else if (strcmp(a, "--no-bos") == 0) {
            no_bos = 1;
        } else if (strcmp(a, "--special") == 0) {
            special = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "-") == 0 && !have_text) {
            have_text = 1;
            if (read_stdin(&text) != 0) {
                bz_buf_cleanup(&text);
                return tui_cmd_fail(TUI_EXIT_ERROR, "tokenize: reading stdin failed");
            }
        } else if (strcmp(a, "--") == 0 && i + 1 < argc && !have_text) {
            have_text = 1;
            bz_buf_puts(&text, argv[++i]);
        } else if (a[0] == '-' && a[1]) {
            bz_buf_cleanup(&text);
            return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: unknown flag '%s' (see -h)", a);
        } else if (!have_text) {
            have_text = 1;
            bz_buf_puts(&text, a);
        } else {
            bz_buf_cleanup(&text);
            return tui_cmd_fail(TUI_EXIT_USAGE, "tokenize: one TEXT only (quote it)");
        }
    }
    if (!model || !have_text) {
        bz_buf_cleanup(&text);
        fputs(usage, stderr);
        return TUI_EXIT_USAGE;
    }
    struct core_vocab *v;
    struct bz_err err = {0};
    int rc = core_vocab_open(&v, model, &err);
    if (rc) {
        bz_buf_cleanup(&text);
        return tui_cmd_fail_err(&err, rc);
    }
    struct core_ids ids;
    core_ids_init(&ids);
    int flags = (v->add_bos && !no_bos ? CORE_TOK_ADD_BOS : 0) |
                (v->add_eos && !no_bos ? CORE_TOK_ADD_EOS : 0) | (special ? CORE_TOK_SPECIAL : 0);
    rc = core_tokenizer_encode(v, text.p ? text.p : "", text.len, flags, &ids, &err);
    if (rc) {
        core_ids_cleanup(&ids);
        core_vocab_free(v);
        bz_buf_cleanup(&text);
        return tui_cmd_fail_err(&err, rc);
    }
    struct bz_buf out, piece;
    bz_buf_init(&out);
    bz_buf_init(&piece);
    if (json)
        bz_buf_puts(&out, "{\"ids\":[");
    for (size_t i = 0; i < ids.n; i++) {
        if (ids_only || json) {
            bz_buf_printf(&out, "%s%d", i ? (json ? "," : " ") : "", (int)ids.p[i]);
            continue;
        }
        piece.len = 0;
        core_tokenizer_piece(v, ids.p[i], CORE_DETOK_SPECIAL, &piece, NULL);
        bz_buf_printf(&out, "%d\t", (int)ids.p[i]);
        put_piece(&out, piece.p, piece.len, 0);
        bz_buf_putc(&out, '\n');
    }
    if (json) {
        bz_buf_puts(&out, "],\"pieces\":[");
        for (size_t i = 0; i < ids.n; i++) {
            piece.len = 0;
            core_tokenizer_piece(v, ids.p[i], CORE_DETOK_SPECIAL, &piece, NULL);
            if (i)
                bz_buf_putc(&out, ',');
            put_piece(&out, piece.p, piece.len, 1);
        }
        bz_buf_puts(&out, "]}\n");
    } else if (ids_only) {
        bz_buf_putc(&out, '\n');
    }
    fwrite(out.p ? out.p : "", 1, out.len, stdout);
    bz_buf_cleanup(&out);
    bz_buf_cleanup(&piece);
    core_ids_cleanup(&ids);
    core_vocab_free(v);
    bz_buf_cleanup(&text);
    return TUI_EXIT_OK;
}
