/*
 * internal.h: declarations shared by the files of judge/ and nowhere else: the
 * JSON-lines plumbing of questions.c.
 */
#ifndef JUDGE_INTERNAL_H
#define JUDGE_INTERNAL_H

#include <cjson/cJSON.h>

#include "judge/judge.h"

/* Called per non-blank line (without its newline) with "PATH:LINE" in where. A
 * negative return stops the reading with that code. */
typedef int (*judge__line_fn)(void *ctx, const char *line, size_t n, const char *where);

void judge__problem(struct judge_problems *p, const char *msg);
int judge__lines(const char *path, judge__line_fn fn, void *ctx, struct bz_err *err);
cJSON *judge__json_object(const char *line, size_t n, const char *where, struct bz_err *err);
int judge__str_array(const cJSON *arr, char ***out, int *n);
void judge__str_array_free(char **v, int n);
const char *judge__str(const cJSON *o, const char *key);
int judge__int(const cJSON *o, const char *key, int *out);

#endif
