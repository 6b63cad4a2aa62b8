/*
 * votes.c: the Compare view's votes, journaled like curation decisions (one JSON
 * line each, written then fsync'd before the vote shows as done), and their export
 * as preference pairs for DPO. The file is append-only: a vote is never rewritten;
 * a torn last line (a crash mid-write) is skipped and counted.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"

const char *ds_vote_name(int v)
{
    switch (v) {
    case DS_VOTE_A: return "a";
    case DS_VOTE_B: return "b";
    case DS_VOTE_TIE: return "tie";
    default: return "both_bad";
    }
}

int ds_vote_append(const char *path, const struct ds_vote *v, struct bz_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", bz_wall());
    if (v->prompt_id)
        cJSON_AddStringToObject(o, "prompt_id", v->prompt_id);
    cJSON_AddStringToObject(o, "prompt", v->prompt ? v->prompt : "");
    if (v->model)
        cJSON_AddStringToObject(o, "model", v->model);
    for (int i = 0; i < 2; i++) {
        cJSON *side = cJSON_AddObjectToObject(o, i ? "b" : "a");
        cJSON_AddStringToObject(side, "label", v->label[i] ? v->label[i] : "");
        if (v->adapter[i])
            cJSON_AddStringToObject(side, "adapter", v->adapter[i]);
        cJSON_AddStringToObject(side, "text", v->text[i] ? v->text[i] : "");
    }
    cJSON_AddStringToObject(o, "vote", ds_vote_name(v->vote));
    cJSON_AddBoolToObject(o, "blind", v->blind);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *dir = bz_path_dir(path);
    int rc = bz_mkdir_p(dir, err);
    free(dir);
    if (rc == 0) {
        size_t n = strlen(line);
        line = bz_realloc(line, n + 2);
        line[n] = '\n';
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, n + 1) != (ssize_t)(n + 1) || fsync(fd) != 0)
            rc = bz_errf(err, -errno, "%s: cannot append the vote: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    free(line);
    return rc;
}

static const char *side_text(const cJSON *o, const char *side)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, side);
    const cJSON *t = s ? cJSON_GetObjectItemCaseSensitive(s, "text") : NULL;
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

int ds_votes_export(const char *votes_path, const char *out, size_t *written, size_t *skipped,
                    struct bz_err *err)
{
    char *text = NULL;
    size_t n = 0;
    int rc = bz_read_file(votes_path, &text, &n, err);
    if (rc)
        return rc;
    struct bz_buf b;
    bz_buf_init(&b);
    size_t w = 0, sk = 0, line = 0;
    for (char *p = text, *nl; p < text + n; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + n - p));
        line++;
        if (!nl) { /* a torn last line */
            sk++;
            break;
        }
        *nl = '\0';
        cJSON *o = cJSON_Parse(p);
        const cJSON *vote = o ? cJSON_GetObjectItemCaseSensitive(o, "vote") : NULL;
        const cJSON *prompt = o ? cJSON_GetObjectItemCaseSensitive(o, "prompt") : NULL;
        const char *a = o ? side_text(o, "a") : NULL, *bt = o ? side_text(o, "b") : NULL;
        if (!cJSON_IsString(vote) || !cJSON_IsString(prompt) || !a || !bt) {
            sk++;
            cJSON_Delete(o);
            continue;
        }
        int win = strcmp(vote->valuestring, "a") == 0 ? 0 : strcmp(vote->valuestring, "b") == 0
                                                                ? 1 : -1;
        if (win < 0 || strcmp(a, bt) == 0) {
            sk++;
            cJSON_Delete(o);
            continue;
        }
        const char *chosen = win == 0 ? a : bt, *rejected = win == 0 ? bt : a;
        char id[17];
        bz_hash_hex(bz_hash64(p, strlen(p)), id);
        bz_buf_puts(&b, "{\"id\":");
        bz_buf_json_str(&b, id, 16);
        bz_buf_puts(&b, ",\"prompt\":");
        bz_buf_json_str(&b, prompt->valuestring, strlen(prompt->valuestring));
        bz_buf_puts(&b, ",\"chosen\":");
        bz_buf_json_str(&b, chosen, strlen(chosen));
        bz_buf_puts(&b, ",\"rejected\":");
        bz_buf_json_str(&b, rejected, strlen(rejected));
        bz_buf_puts(&b, "}\n");
        w++;
        cJSON_Delete(o);
    }
    free(text);
    rc = bz_write_atomic(out, b.p ? b.p : "", b.len, err);
    bz_buf_cleanup(&b);
    if (written)
        *written = w;
    if (skipped)
        *skipped = sk;
    return rc;
}
