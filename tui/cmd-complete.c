/*
 * cmd-complete.c: `bezoar complete -m MODEL -p PROMPT [...]`: continue a prompt and
 * stream the continuation to stdout as it is generated; the speed goes to stderr at
 * the end. With --json, one event per line: start, one per token (id, text), done.
 *
 * Key idea: the whole run is core_generate_run on a session (model, vocab, pool,
 * evaluator); this file only parses flags and prints.
 *
 * --lora loads a PEFT directory or an adapter GGUF (core_lora_load) and applies it
 * beside the frozen weights.
 *
 * Left out: batch prompts (run the verb per prompt).
 */
#include "tui/tui.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

BZ_CMD("complete", tui_cmd_complete, "continue a prompt with a local model (streamed)");

static const char usage[] =
    "usage: bezoar complete -m MODEL [--lora ADAPTER] -p PROMPT [options]\n"
    "Continue PROMPT with MODEL (.gguf, llama2.c .bin, Hugging Face directory); the text\n"
    "streams to stdout, prompt and generation speed go to stderr.\n"
    "  --lora ADAPTER       a LoRA adapter (PEFT directory or adapter .gguf), applied unmerged\n"
    "  -n N                 tokens to generate (default 256; 0: until EOS or the context is full)\n"
    "  --temp T             temperature (default 0: greedy)\n"
    "  --top-k K            keep the K most likely tokens (default 0: off)\n"
    "  --top-p P            keep the smallest set with mass >= P (default 1: off)\n"
    "  --min-p P            keep tokens with p >= P * p_max (default 0: off)\n"
    "  --repeat-penalty R   penalise tokens of the last 64 (default 1: off)\n"
    "  --freq-penalty F     subtract F * count (default 0)\n"
    "  --seed S             RNG seed (default 0); the same seed gives the same text\n"
    "  --stop TEXT          stop before TEXT (repeatable; never printed)\n"
    "  --ignore-eos         do not stop at EOS/EOT\n"
    "  --no-bos             do not put BOS before the prompt\n"
    "  --special            recognise control tokens (<|im_start|>) in the prompt\n"
    "  --ctx N              KV cache positions (default: the model's, at most 4096)\n"
    "  --threads N          threads (default: every CPU)\n"
    "  --json               JSON-lines events instead of text\n";

struct complete_out {
    int json;
    struct bz_buf line;
};

static int complete_token(void *ctx, int32_t id, const char *text, size_t n)
{
    struct complete_out *o = ctx;
    if (!o->json) {
        fwrite(text, 1, n, stdout);
        fflush(stdout);
        return 0;
    }
    o->line.len = 0;
    bz_buf_printf(&o->line, "{\"event\":\"token\",\"id\":%d,\"text\":", (int)id);
    bz_buf_json_str(&o->line, text, n);
    bz_buf_puts(&o->line, "}\n");
    fwrite(o->line.p, 1, o->line.len, stdout);
    fflush(stdout);
    return 0;
}

int tui_cmd_complete(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *lora_path = NULL;
    int threads = 0, n_ctx = 0, json = 0, no_bos = 0, special = 0;
    const char **stops = calloc((size_t)argc, sizeof *stops);
    struct core_generate_opts o;
    core_generate_defaults(&o);
    int rc = TUI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            free(stops);
            return TUI_EXIT_OK;
        }
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "--no-bos")) {
            no_bos = 1;
            continue;
        }
        if (!strcmp(a, "--special")) {
            special = 1;
            continue;
        }
        if (!strcmp(a, "--ignore-eos")) {
            o.ignore_eos = 1;
            continue;
        }
        if (i + 1 >= argc) {
            rc = tui_cmd_fail(TUI_EXIT_USAGE, "complete: %s needs a value (see -h)", a);
            break;
        }
        const char *val = argv[++i];
        int bad = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            model = val;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt"))
            prompt = val;
        else if (!strcmp(a, "--lora"))
            lora_path = val;
        else if (tui_arg_sample(a, val, &o.sample, &bad))
            ;
        else if (!strcmp(a, "-n"))
            bad = tui_arg_num(val, 0, 1e9, &v), o.max_tokens = (int)v;
        else if (!strcmp(a, "--ctx"))
            bad = tui_arg_num(val, 1, 1 << 20, &v), n_ctx = (int)v;
        else if (!strcmp(a, "--threads"))
            bad = tui_arg_num(val, 1, 256, &v), threads = (int)v;
        else if (!strcmp(a, "--stop"))
            stops[o.n_stop++] = val, bad = !val[0];
        else {
            rc = tui_cmd_fail(TUI_EXIT_USAGE, "complete: unknown flag '%s' (see -h)", a);
            break;
        }
        if (bad) {
            rc = tui_cmd_fail(TUI_EXIT_USAGE, "complete: bad value for %s: '%s'", a, val);
            break;
        }
    }
    if (rc == TUI_EXIT_OK && (!model || !prompt)) {
        fputs(usage, stderr);
        rc = TUI_EXIT_USAGE;
    }
    if (rc != TUI_EXIT_OK) {
        free(stops);
        return rc;
    }
    o.stop = stops;

    struct bz_err err = {0};
    struct core_generate_session s;
    int e = core_generate_open(&s, model, threads, n_ctx, &err);
    if (e) {
        free(stops);
        return tui_cmd_fail_err(&err, e);
    }
    struct core_lora lora;
    memset(&lora, 0, sizeof lora);
    if (lora_path) {
        e = core_lora_load(&lora, s.model, lora_path, &err);
        if (e == 0)
            e = core_forward_set_lora(s.fwd, &lora, &err);
        if (e) {
            core_lora_cleanup(&lora);
            core_generate_close(&s);
            free(stops);
            return tui_cmd_fail_err(&err, e);
        }
    }
    struct core_ids ids;
    core_ids_init(&ids);
    int flags = (s.vocab->add_bos && !no_bos ? CORE_TOK_ADD_BOS : 0) |
                (special ? CORE_TOK_SPECIAL : 0);
    e = core_tokenizer_encode(s.vocab, prompt, strlen(prompt), flags, &ids, &err);
    if (e == 0 && ids.n == 0)
        e = bz_errf(&err, BZ_EEMPTY, "the prompt has no tokens (give a text, or drop --no-bos)");
    struct complete_out out = {.json = json};
    bz_buf_init(&out.line);
    if (e == 0 && json) {
        struct bz_buf b;
        bz_buf_init(&b);
        bz_buf_puts(&b, "{\"event\":\"start\",\"model\":");
        bz_buf_json_str(&b, model, strlen(model));
        if (lora_path) {
            bz_buf_puts(&b, ",\"lora\":");
            bz_buf_json_str(&b, lora_path, strlen(lora_path));
        }
        bz_buf_printf(&b, ",\"prompt_tokens\":%zu,\"threads\":%d,\"kernels\":\"%s\"}\n", ids.n,
                      core_pool_threads(s.pool), core_kernels_isa_name(core_kernels_isa()));
        fputs(b.p, stdout);
        bz_buf_cleanup(&b);
    }
    struct core_generate_result res;
    core_generate_result_init(&res);
    if (e == 0)
        e = core_generate_run(s.fwd, s.vocab, ids.p, ids.n, &o, complete_token, &out, &res, &err);
    if (e == 0) {
        double pps = res.prompt_s > 0 ? res.n_prompt / res.prompt_s : 0;
        double gps = res.gen_s > 0 ? res.tokens.n / res.gen_s : 0;
        if (json) {
            out.line.len = 0;
            bz_buf_printf(&out.line,
                          "{\"event\":\"done\",\"stop\":\"%s\",\"prompt_tokens\":%d,\"tokens\":%zu,"
                          "\"prompt_s\":%.4f,\"gen_s\":%.4f,\"prompt_tokens_per_s\":%.2f,"
                          "\"tokens_per_s\":%.2f,\"text\":",
                          core_generate_stop_name(res.stop), res.n_prompt, res.tokens.n,
                          res.prompt_s, res.gen_s, pps, gps);
            bz_buf_json_str(&out.line, res.text.p ? res.text.p : "", res.text.len);
            bz_buf_puts(&out.line, "}\n");
            fputs(out.line.p, stdout);
        } else {
            if (res.text.len && res.text.p[res.text.len - 1] != '\n')
                fputc('\n', stdout);
            fprintf(stderr, "prompt: %d tokens, %.1f tokens/s; generation: %zu tokens, %.1f "
                    "tokens/s; stop: %s\n", res.n_prompt, pps, res.tokens.n, gps,
                    core_generate_stop_name(res.stop));
        }
    }
    bz_buf_cleanup(&out.line);
    core_generate_result_cleanup(&res);
    core_ids_cleanup(&ids);
    core_generate_close(&s);
    core_lora_cleanup(&lora);
    free(stops);
    return e ? tui_cmd_fail_err(&err, e) : TUI_EXIT_OK;
}
