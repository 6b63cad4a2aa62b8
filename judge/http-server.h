/*
 * http-server.h: the transport-free half of an OpenAI-compatible server: HTTP/1.1
 * requests cut from a byte stream (http-parser, pipelining, limits on header and body
 * sizes), API request bodies checked and turned into judge_request, and the JSON and
 * SSE bodies of the answers and errors. `bezoar serve` (tui/serve.c) adds sockets,
 * threads and the model; the fuzz harness drives this file alone.
 *
 * Key idea: one request at a time per connection: after a request is complete the
 * parser pauses, and the bytes after it wait until the answer has been written, so
 * pipelined requests are answered in order.
 *
 * Left out: HTTP/2, upgrades, multipart bodies, trailers.
 */
#ifndef JUDGE_HTTP_SERVER_H
#define JUDGE_HTTP_SERVER_H

#include <http_parser.h>

#include "judge/backend.h"

/* ---------------------------------------------------------------- requests */

struct judge_httpd_req {
    int method;           /* enum http_method */
    struct bz_buf url;    /* as sent (path and query) */
    struct bz_buf body;
    int keep_alive;
};

struct judge_httpd_conn {
    http_parser parser;
    size_t max_header, max_body;
    size_t header_bytes;
    int in_header_value;
    int ready;            /* a complete request sits in req */
    int error_status;     /* nonzero: the stream is broken (400, 413, 431); answer, close */
    char error_msg[160];
    struct judge_httpd_req req;
};

void judge_httpd_conn_init(struct judge_httpd_conn *c, size_t max_header, size_t max_body);
void judge_httpd_conn_cleanup(struct judge_httpd_conn *c);
/* Parse bytes; stops after one complete request (c->ready) or an error
 * (c->error_status). Returns how many bytes were used: the rest must be fed again
 * after judge_httpd_conn_next. */
size_t judge_httpd_conn_feed(struct judge_httpd_conn *c, const char *p, size_t n);
/* Forget the request that was ready and go on parsing. */
void judge_httpd_conn_next(struct judge_httpd_conn *c);
/* The path part of the request URL (before '?'), copied into out. */
void judge_httpd_path(const struct judge_httpd_req *r, char *out, size_t out_size);

/* ---------------------------------------------------------------- API bodies */

enum { JUDGE_API_CHAT = 1, JUDGE_API_COMPLETIONS = 2 };

struct judge_api_req {
    int kind;
    char *model;          /* NULL when the request named none */
    int stream;
    int include_usage;    /* stream_options.include_usage */
    struct judge_request req; /* points into the storage below */
    struct judge_msg *msgs;
    char **strs;          /* every string owned (contents, prompt, stops) */
    int n_strs;
};

/* Check and convert an API body. Returns 0, or the HTTP status to answer (400) with
 * the reason in msg. max_tokens_cap bounds max_tokens (default 256 when absent).
 * Clean up with judge_api_req_cleanup either way. */
int judge_api_parse(struct judge_api_req *r, int kind, const char *body, size_t n,
                    int max_tokens_cap, char *msg, size_t msg_size);
void judge_api_req_cleanup(struct judge_api_req *r);

/* {"error":{"message":..,"type":..,"param":null,"code":..}} for an HTTP status. */
void judge_api_error_json(struct bz_buf *b, int status, const char *message);
/* A whole answer: chat.completion or text_completion. */
void judge_api_answer_json(struct bz_buf *b, int kind, const char *id, long created,
                           const char *model, const struct judge_result *res);
/* One SSE event "data: {...}\n\n": a chunk with text (may be NULL), a finish reason
 * (may be NULL), or, when usage_only, the usage chunk (empty choices). */
void judge_api_chunk_sse(struct bz_buf *b, int kind, const char *id, long created,
                         const char *model, const char *text, size_t n, const char *finish,
                         const struct judge_result *usage_only);
/* The reason phrase of a status ("Bad Request"). */
const char *judge_api_status_text(int status);

#endif
