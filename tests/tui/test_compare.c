/* test_compare.c: word diff, two sides streaming from one model, blind votes un-shuffled. */
#include <unistd.h>

#include "tests/test.h"
#include "tui/compare.h"

TEST(compare_word_diff)
{
    const char *a = "the cat sat on the mat";
    const char *b = "the dog sat on a mat today";
    unsigned char ma[64], mb[64];
    tui_compare_diff(a, strlen(a), b, strlen(b), ma, mb);
    /* "cat" and the second "the" differ in a; "dog", "a", "today" in b */
    ASSERT_EQ_INT(ma[0], 0);
    ASSERT_EQ_INT(ma[4], 1);  /* c of cat */
    ASSERT_EQ_INT(ma[8], 0);  /* s of sat */
    ASSERT_EQ_INT(ma[15], 1); /* t of the second "the" */
    ASSERT_EQ_INT(ma[19], 0); /* m of mat */
    ASSERT_EQ_INT(mb[4], 1);  /* d of dog */
    ASSERT_EQ_INT(mb[15], 1); /* a */
    ASSERT_EQ_INT(mb[17], 0); /* m of mat */
    ASSERT_EQ_INT(mb[21], 1); /* t of today */
    ASSERT_EQ_INT(mb[20], 0); /* the space before today */
}

static void wait_done(struct tui_compare *c)
{
    for (int i = 0; i < 3000; i++) {
        struct tui_cmp_view v0, v1;
        tui_compare_snapshot(c, 0, &v0);
        tui_compare_snapshot(c, 1, &v1);
        free(v0.text);
        free(v1.text);
        if (v0.done && v1.done)
            return;
        usleep(10000);
    }
    ASSERT(!"timed out waiting for both answers");
}

TEST(compare_two_sides_one_model)
{
    const char *model = test_data("models/stories260K.gguf");
    struct tui_compare c;
    struct bz_err err = {0};
    const char *votes = test_tmp("d.jsonl.bezoar/votes.jsonl");
    ASSERT_OK(tui_compare_open(&c, model, NULL, NULL, "alpaca", votes, &err), &err);
    c.max_tokens = 24;
    ASSERT_OK(tui_compare_start(&c, "Tell me a story about a cat.", "r1", 1, &err), &err);
    wait_done(&c);
    struct tui_cmp_view a, b;
    tui_compare_snapshot(&c, 0, &a);
    tui_compare_snapshot(&c, 1, &b);
    ASSERT(strlen(a.text) > 0);
    ASSERT_EQ_STR(a.text, b.text); /* same weights, greedy: the same answer */
    ASSERT(strstr(a.label, "hidden") != NULL);
    ASSERT_EQ_INT(a.n_tokens, b.n_tokens);
    free(a.text);
    free(b.text);
    /* a blind vote for the shown A is recorded for the real side behind it */
    int shown_a_is = c.swapped ? 1 : 0;
    ASSERT_OK(tui_compare_vote(&c, TUI_VOTE_A, &err), &err);
    char *j = NULL;
    ASSERT_OK(bz_read_file(votes, &j, NULL, &err), &err);
    ASSERT(strstr(j, shown_a_is ? "\"vote\":\"b\"" : "\"vote\":\"a\"") != NULL);
    ASSERT(strstr(j, "\"prompt_id\":\"r1\"") != NULL);
    ASSERT(strstr(j, "\"blind\":true") != NULL);
    free(j);
    tui_compare_snapshot(&c, 0, &a);
    ASSERT(strstr(a.label, "hidden") == NULL); /* revealed after the vote */
    free(a.text);
    tui_compare_close(&c);
}

TEST(compare_refuses_model_without_template)
{
    const char *model = test_data("models/stories260K.gguf");
    struct tui_compare c;
    struct bz_err err = {0};
    int rc = tui_compare_open(&c, model, NULL, NULL, NULL, NULL, &err);
    ASSERT(rc != 0);
    ASSERT(strstr(err.msg, "--template") != NULL);
}

/* ---------------------------------------------------------------- the judge key */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

/* A loopback OpenAI-style server that answers its n-th request with verdicts[n]. */
struct fake_judge {
    int fd, port;
    const char *verdicts[2];
    int served;
};

static void *fake_judge_run(void *arg)
{
    struct fake_judge *fj = arg;
    for (int n = 0; n < 2; n++) {
        int c = accept(fj->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[65536];
        size_t got = 0;
        /* read headers, then the body by Content-Length */
        for (;;) {
            ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            const char *cl = strcasestr(buf, "content-length:");
            if (end && cl && got >= (size_t)(end + 4 - buf) + (size_t)atol(cl + 15))
                break;
        }
        char body[512], resp[1024];
        snprintf(body, sizeof body, "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"fake\","
                 "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                 "\"Both are short. %s\"},\"finish_reason\":\"stop\"}],\"usage\":"
                 "{\"prompt_tokens\":1,\"completion_tokens\":1}}", fj->verdicts[n]);
        snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
        if (write(c, resp, strlen(resp)) < 0)
            break;
        close(c);
        fj->served++;
    }
    return NULL;
}

static void judge_case(const char *model, const char *v0, const char *v1, const char *want)
{
    struct fake_judge fj = {.verdicts = {v0, v1}};
    fj.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT(bind(fj.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fj.fd, 4) == 0);
    socklen_t al = sizeof a;
    getsockname(fj.fd, (struct sockaddr *)&a, &al);
    pthread_t th;
    pthread_create(&th, NULL, fake_judge_run, &fj);
    setenv("no_proxy", "127.0.0.1", 1);
    struct tui_compare c;
    struct bz_err err = {0};
    ASSERT_OK(tui_compare_open(&c, model, NULL, NULL, "alpaca", NULL, &err), &err);
    c.max_tokens = 8;
    c.judge_spec = bz_asprintf("openai:http://127.0.0.1:%d/v1#fake", ntohs(a.sin_port));
    ASSERT_OK(tui_compare_start(&c, "Name a colour.", NULL, 0, &err), &err);
    wait_done(&c);
    char prompts[4096];
    snprintf(prompts, sizeof prompts, "%s/assets/judge-prompts.jsonl", test_root());
    ASSERT_OK(tui_compare_judge(&c, prompts, &err), &err);
    char line[400];
    int st = 0;
    for (int i = 0; i < 1000 && (st = tui_compare_judge_line(&c, line, sizeof line)) == 1; i++)
        usleep(10000);
    ASSERT_EQ_INT(st, 2);
    ASSERT(strstr(line, want) != NULL || (fprintf(stderr, "    line: %s\n", line), 0));
    pthread_join(th, NULL);
    ASSERT_EQ_INT(fj.served, 2); /* asked once in each order */
    close(fj.fd);
    tui_compare_close(&c);
}

TEST(compare_judge_both_orders)
{
    const char *model = test_data("models/stories260K.gguf");
    /* A first: [[A]]; B first: [[B]] (the same answer, A, shown second): A wins */
    judge_case(model, "[[A]]", "[[B]]", "fake: A better (A first: A; B first: A)");
    /* the orders disagree: a tie, as FastChat counts it */
    judge_case(model, "[[A]]", "[[A]]", "fake: tie (A first: A; B first: B)");
    /* no verdict in one order */
    judge_case(model, "[[B]]", "I cannot decide.", "fake: no verdict");
}
