/*
 * llama2c.c: llama2.c legacy checkpoints (run.c's format) and their tokenizer.bin.
 *
 * The checkpoint is 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len) then F32 weights stacked per kind over layers: token
 * embedding, attention norms, wq, wk, wv, wo, ffn norms, w1 (gate), w2 (down),
 * w3 (up), final norm, the RoPE cos/sin tables (skipped), and the classifier
 * unless vocab_size > 0 says it is shared with the embedding. Key idea: the file is
 * mapped and every tensor points into it; llama2.c keeps Q/K in the same
 * adjacent-pair RoPE order as GGUF, so nothing is permuted. The file size must be
 * exactly what the header implies.
 *
 * tokenizer.bin (int32 max_token_length, then per token: f32 score, int32 len,
 * bytes) becomes in-memory GGUF metadata in the SentencePiece style llama.cpp
 * uses: "▁" for spaces, <s>/</s> for llama2.c's "\n<s>\n", token types, bos 1,
 * eos 2, unk 0; so the tokenizer reads one format only.
 * Left out: llama2.c's newer "ak42" export versions (refused by name).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gguf.h"
#include "core/model.h"

struct map {
    void *p;
    size_t n;
};

static void unmap(void *p)
{
    struct map *mp = p;
    munmap(mp->p, mp->n);
    free(mp);
}

static int map_file(const char *path, const uint8_t **base, size_t *size, struct map **out,
                    struct bz_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bz_errf(err, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0) {
        close(fd);
        return bz_errf(err, BZ_ECORRUPT, "%s: empty or unreadable", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int rc = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (rc)
        return bz_errf(err, rc, "%s: mmap failed: %s", path, strerror(-rc));
    *out = bz_malloc(sizeof **out);
    (*out)->p = p;
    (*out)->n = (size_t)st.st_size;
    *base = p;
    *size = (size_t)st.st_size;
    return 0;
}

static void add_tensor(struct core_model *m, const char *name, const float *data, int64_t ne0,
                       int64_t ne1)
{
    struct core_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = CORE_TYPE_F32;
    t->n_dims = ne1 > 0 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 > 0 ? ne1 : 1;
    t->ne[2] = t->ne[3] = 1;
    t->data = (void *)data;
    t->nbytes = (size_t)(ne0 * t->ne[1]) * 4;
}

/* ---------------------------------------------------------------- tokenizer.bin */

static void free_buf(void *p)
{
    struct bz_buf *b = p;
    bz_buf_cleanup(b);
    free(b);
}

static int is_byte_piece(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    return n == 6 && memcmp(s, "<0x", 3) == 0 && memchr(hex, s[3], 16) && memchr(hex, s[4], 16) &&
           s[5] == '>';
}

/* Read tokenizer.bin for a vocab of n_vocab tokens into GGUF metadata kvs. */
static int read_tokenizer(const char *path, int n_vocab, struct core_gguf_writer *w,
                          struct bz_err *err)
{
    char *buf;
    size_t len;
    int rc = bz_read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    char **toks = bz_calloc((size_t)n_vocab, sizeof *toks);
    size_t *lens = bz_calloc((size_t)n_vocab, sizeof *lens);
    float *scores = bz_calloc((size_t)n_vocab, sizeof *scores);
    int32_t *types = bz_calloc((size_t)n_vocab, sizeof *types);
    size_t pos = 4;
    if (len < 4)
        rc = bz_errf(err, BZ_ECORRUPT, "%s: truncated tokenizer (%zu bytes)", path, len);
    for (int i = 0; rc == 0 && i < n_vocab; i++) {
        int32_t n;
        if (len - pos < 8) {
            rc = bz_errf(err, BZ_ECORRUPT, "%s: truncated at token %d of %d (offset %zu)", path,
                         i, n_vocab, pos);
            break;
        }
        memcpy(&scores[i], buf + pos, 4);
        memcpy(&n, buf + pos + 4, 4);
        pos += 8;
        if (n < 0 || (size_t)n > len - pos) {
            rc = bz_errf(err, BZ_ECORRUPT, "%s: token %d has length %d at offset %zu (file is "
                         "%zu bytes)", path, i, n, pos - 4, len);
            break;
        }
        const char *s = buf + pos;
        pos += (size_t)n;
        struct bz_buf piece;
        bz_buf_init(&piece);
        if (i == 1 && n == 5 && memcmp(s, "\n<s>\n", 5) == 0)
            bz_buf_puts(&piece, "<s>");
        else if (i == 2 && n == 6 && memcmp(s, "\n</s>\n", 6) == 0)
            bz_buf_puts(&piece, "</s>");
        else
            for (int j = 0; j < n; j++) {
                if (s[j] == ' ')
                    bz_buf_puts(&piece, "\xe2\x96\x81"); /* U+2581 */
                else
                    bz_buf_putc(&piece, s[j]);
            }
        if (!piece.p)
            bz_buf_reserve(&piece, 1);
        lens[i] = piece.len;
        toks[i] = bz_buf_steal(&piece);
        types[i] = i == 0 ? 2 : (i == 1 || i == 2) ? 3 : is_byte_piece(toks[i], lens[i]) ? 6 : 1;
    }
    if (rc == 0 && pos != len)
        rc = bz_errf(err, BZ_EFORMAT, "%s: %zu bytes after the %d tokens (vocab size mismatch?)",
                     path, len - pos, n_vocab);
    if (rc == 0) {
        core_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
        core_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, lens,
                                     (uint64_t)n_vocab);
        core_gguf_writer_set_arr(w, "tokenizer.ggml.scores", CORE_GGUF_FLOAT32, scores,
                                 (uint64_t)n_vocab);
        core_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", CORE_GGUF_INT32, types,
                                 (uint64_t)n_vocab);
        core_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
        core_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
        core_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    }
    for (int i = 0; i < n_vocab; i++)
        free(toks[i]);
    free(toks);
    free(lens);
    free(scores);
    free(types);
    free(buf);
    return rc;
}

/* The tokenizer beside a checkpoint: $BEZOAR_TOKENIZER, DIR/tokenizer.bin, or
 * DIR/tok<V>.bin (llama2.c's naming for custom vocabs). NULL when none exists. */
static char *find_tokenizer(const char *path, int n_vocab)
{
    const char *env = getenv("BEZOAR_TOKENIZER");
    if (env && *env)
        return bz_strdup(env);
    char *dir = bz_path_dir(path);
    char *p = bz_path_join(dir, "tokenizer.bin");
    if (access(p, R_OK) != 0) {
        free(p);
        char name[32];
        snprintf(name, sizeof name, "tok%d.bin", n_vocab);
        p = bz_path_join(dir, name);
        if (access(p, R_OK) != 0) {
            free(p);
            p = NULL;
        }
    }
    free(dir);
    return p;
}

static void defer_gguf(void *p)
{
    core_gguf_close(p);
}

static int load_metadata(struct core_model *m, const char *path, int n_vocab,
                         struct bz_err *err)
{
    struct core_gguf_writer *w = core_gguf_writer_new();
    core_gguf_writer_set_str(w, "general.architecture", "llama");
    int rc = 0;
    char *tok = find_tokenizer(path, n_vocab);
    if (tok)
        rc = read_tokenizer(tok, n_vocab, w, err);
    free(tok);
    struct bz_buf *img = bz_calloc(1, sizeof *img);
    bz_buf_init(img);
    core_model__defer(m, free_buf, img);
    if (rc == 0)
        rc = core_gguf_writer_to_buf(w, img, err);
    core_gguf_writer_free(w);
    struct core_gguf *g = NULL;
    if (rc == 0)
        rc = core_gguf_open_mem(&g, img->p, img->len, m->path, err);
    if (rc == 0) {
        core_model__defer(m, defer_gguf, g);
        m->gguf = g;
    }
    return rc;
}

/* ---------------------------------------------------------------- checkpoint */

/* Fill m from a llama2.c legacy checkpoint (mapped) and its tokenizer.bin. */
int core_llama2c_load(struct core_model *m, const char *path, struct bz_err *err)
{
    const uint8_t *base = NULL;
    size_t size = 0;
    struct map *mp = NULL;
    int rc = map_file(path, &base, &size, &mp, err);
    if (rc)
        return rc;
    core_model__defer(m, unmap, mp);
    m->format = "llama2c";
    if (size < 28)
        return bz_errf(err, BZ_EFORMAT, "%s: not a GGUF file or llama2.c checkpoint (%zu bytes)",
                       path, size);
    if (memcmp(base, "\x32\x34\x6b\x61", 4) == 0)
        return bz_errf(err, BZ_EUNSUPPORTED,
                       "%s: llama2.c export format v1/v2 ('ak42') is not supported; use the "
                       "legacy format", path);
    int32_t h[7];
    memcpy(h, base, sizeof h);
    int shared = h[5] > 0;
    int64_t C = h[0], FF = h[1], L = h[2], NH = h[3], NKV = h[4];
    int64_t V = h[5] < 0 ? -(int64_t)h[5] : h[5], S = h[6];
    if (C <= 0 || FF <= 0 || L <= 0 || NH <= 0 || NKV <= 0 || V <= 0 || S <= 0 ||
        C > 65536 || FF > 1 << 20 || L > 1024 || NH > C || NKV > NH || V > 1 << 24 ||
        S > 1 << 24 || C % NH != 0 || NH % NKV != 0 || (C / NH) % 2 != 0)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: not a GGUF file or llama2.c checkpoint (header dim %d, hidden %d, "
                       "layers %d, heads %d, kv heads %d, vocab %d, seq %d)",
                       path, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    int64_t HS = C / NH, KD = NKV * HS;
    /* every term is below 2^60 with the bounds above */
    int64_t n = V * C + L * C + L * C * C + 2 * L * C * KD + L * C * C + L * C + 3 * L * FF * C +
                C + S * HS + (shared ? 0 : V * C);
    if ((uint64_t)n * 4 + 28 != size)
        return bz_errf(err, BZ_EFORMAT,
                       "%s: llama2.c checkpoint size %zu does not match its header (expected "
                       "%lld bytes)", path, size, (long long)((uint64_t)n * 4 + 28));
    struct core_model_config *c = &m->cfg;
    c->arch = CORE_ARCH_LLAMA;
    c->dim = (int)C;
    c->ffn_dim = (int)FF;
    c->n_layers = (int)L;
    c->n_heads = (int)NH;
    c->n_kv_heads = (int)NKV;
    c->head_dim = (int)HS;
    c->vocab_size = (int)V;
    c->ctx_len = (int)S;
    c->rope_theta = 10000.0f;
    c->rope_scale = 1.0f;
    c->rope_mode = CORE_ROPE_NORM;
    c->norm_eps = 1e-5f;

    m->tensors = bz_calloc((size_t)(3 + 9 * L), sizeof *m->tensors);
    const float *p = (const float *)(base + 28);
    const float *emb = p;
    p += V * C;
    const float *rms_att = p;
    p += L * C;
    const float *wq = p;
    p += L * C * C;
    const float *wk = p;
    p += L * C * KD;
    const float *wv = p;
    p += L * C * KD;
    const float *wo = p;
    p += L * C * C;
    const float *rms_ffn = p;
    p += L * C;
    const float *w1 = p;
    p += L * FF * C;
    const float *w2 = p;
    p += L * FF * C;
    const float *w3 = p;
    p += L * FF * C;
    const float *rms_final = p;
    p += C;
    p += S * HS; /* freq_cis_real and freq_cis_imag: recomputed by the forward pass */
    add_tensor(m, "token_embd.weight", emb, C, V);
    add_tensor(m, "output_norm.weight", rms_final, C, 0);
    if (!shared)
        add_tensor(m, "output.weight", p, C, V);
    for (int64_t l = 0; l < L; l++) {
        char nm[96];
#define T(suffix, data, ne0, ne1)                                               \
    do {                                                                        \
        snprintf(nm, sizeof nm, "blk.%d." suffix, (int)l);                      \
        add_tensor(m, nm, data, ne0, ne1);                                      \
    } while (0)
        T("attn_q.weight", wq + l * C * C, C, C);
        T("attn_k.weight", wk + l * C * KD, C, KD);
        T("attn_v.weight", wv + l * C * KD, C, KD);
        T("attn_output.weight", wo + l * C * C, C, C);
        T("attn_norm.weight", rms_att + l * C, C, 0);
        T("ffn_gate.weight", w1 + l * FF * C, C, FF);
        T("ffn_down.weight", w2 + l * FF * C, FF, C);
        T("ffn_up.weight", w3 + l * FF * C, C, FF);
        T("ffn_norm.weight", rms_ffn + l * C, C, 0);
#undef T
    }
    if ((rc = load_metadata(m, path, (int)V, err)))
        return rc;
    return core_model__bind(m, err);
}
