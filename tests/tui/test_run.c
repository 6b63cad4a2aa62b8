/* test_run.c: run state from worker events, garbage lines, following a file. */
#include "tests/test.h"
#include "tui/run.h"

static int feed(struct tui_run *r, const char *s)
{
    struct bz_err e = {0};
    return tui_run_feed(r, s, strlen(s), &e);
}

TEST(run_events_build_state)
{
    struct tui_run r;
    tui_run_init(&r, "runs/demo");
    ASSERT_EQ_STR(r.name, "demo");
    ASSERT_EQ_INT(feed(&r, "{\"event\":\"start\",\"model\":\"m.gguf\",\"total_steps\":40}"), 0);
    ASSERT_EQ_INT(r.state, TUI_RUN_RUNNING);
    ASSERT_EQ_INT(r.total_steps, 40);
    feed(&r, "{\"event\":\"progress\",\"phase\":\"tokenize\",\"done\":5,\"total\":10}");
    ASSERT_EQ_STR(r.phase, "tokenize");
    ASSERT_EQ_INT(r.phase_total, 10);
    feed(&r, "{\"event\":\"step\",\"step\":1,\"epoch\":0.1,\"loss\":3.0,\"lr\":1e-4,"
             "\"grad_norm\":2,\"tokens_per_s\":100,\"elapsed_s\":1,\"eta_s\":39}");
    feed(&r, "{\"event\":\"step\",\"step\":2,\"loss\":2.0,\"lr\":2e-4,\"grad_norm\":1}");
    ASSERT_EQ_INT(r.n_loss, 2);
    ASSERT_NEAR(r.loss, 2.0, 0);
    ASSERT_EQ_STR(r.phase, "train");
    feed(&r, "{\"event\":\"eval\",\"step\":2,\"loss\":2.5}");
    feed(&r, "{\"event\":\"eval\",\"step\":4,\"loss\":2.6}");
    feed(&r, "{\"event\":\"eval\",\"step\":6,\"loss\":2.7}");
    ASSERT_EQ_INT(r.eval_rising, 2);
    ASSERT_EQ_INT(r.best_eval_step, 2);
    feed(&r, "{\"event\":\"checkpoint\",\"step\":6,\"path\":\"runs/demo/checkpoints/step-6\"}");
    ASSERT_EQ_INT(r.n_ckpts, 1);
    feed(&r, "{\"event\":\"done\",\"stopped\":true}");
    ASSERT_EQ_INT(r.state, TUI_RUN_STOPPED);
    feed(&r, "{\"event\":\"done\",\"adapter\":\"runs/demo/adapter\"}");
    ASSERT_EQ_INT(r.state, TUI_RUN_DONE);
    ASSERT_EQ_STR(r.adapter, "runs/demo/adapter");
    struct tui_point sm[2];
    tui_run_smooth(&r, 0.5, sm);
    ASSERT_NEAR(sm[0].y, 3.0, 1e-12);
    ASSERT_NEAR(sm[1].y, 2.5, 1e-12);
    tui_run_cleanup(&r);
}

TEST(run_garbage_and_errors)
{
    struct tui_run r;
    struct bz_err e = {0};
    tui_run_init(&r, "runs/x");
    ASSERT_EQ_INT(tui_run_feed(&r, "Segmentation fault", 18, &e), BZ_EPARSE);
    ASSERT(strstr(e.msg, "invalid JSON: Segmentation fault") != NULL);
    ASSERT_EQ_INT(feed(&r, "{\"no\":\"event\"}"), BZ_EPARSE);
    ASSERT_EQ_INT(r.invalid_lines, 2);
    feed(&r, "{\"event\":\"error\",\"message\":\"rank 999 > dim 64\"}");
    ASSERT_EQ_INT(r.state, TUI_RUN_FAILED);
    ASSERT_EQ_STR(r.error, "rank 999 > dim 64");
    tui_run_cleanup(&r);
}

TEST(run_follow_whole_lines_only)
{
    struct tui_run r;
    struct bz_err e = {0};
    tui_run_init(&r, test_tmpdir());
    const char *p = test_tmp("events.jsonl");
    FILE *f = fopen(p, "w");
    fputs("{\"event\":\"start\",\"total_steps\":3}\n{\"event\":\"step\",\"step\":1,\"lo", f);
    fclose(f);
    ASSERT_EQ_INT(tui_run_follow(&r, "events.jsonl", &e), 1);
    ASSERT_EQ_INT(r.n_loss, 0);
    f = fopen(p, "a");
    fputs("ss\":1.5}\n", f);
    fclose(f);
    ASSERT_EQ_INT(tui_run_follow(&r, "events.jsonl", &e), 1);
    ASSERT_EQ_INT(r.n_loss, 1);
    ASSERT_NEAR(r.loss, 1.5, 0);
    ASSERT_EQ_INT(r.invalid_lines, 0);
    tui_run_cleanup(&r);
}
