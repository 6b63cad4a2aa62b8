/* test_run.c: run state from worker events, garbage lines, following a file, DPO
 * reward series, recipe runs and their stages. */
#include "tests/test.h"
#include "tui/run.h"

#include <math.h>
#include <sys/stat.h>

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

TEST(run_dpo_rewards_make_series)
{
    struct tui_run r;
    tui_run_init(&r, "runs/dpo");
    feed(&r, "{\"event\":\"start\",\"method\":\"dpo\",\"beta\":0.1,\"total_steps\":4}");
    ASSERT_EQ_STR(r.method, "dpo");
    ASSERT_NEAR(r.beta, 0.1, 1e-12);
    feed(&r, "{\"event\":\"eval\",\"step\":0,\"loss\":0.693147,\"reward_accuracy\":0,"
             "\"reward_margin\":0}");
    feed(&r, "{\"event\":\"step\",\"step\":1,\"loss\":0.69,\"lr\":1e-4,\"grad_norm\":1,"
             "\"rewards_chosen\":0.01,\"rewards_rejected\":-0.02,\"reward_margin\":0.03,"
             "\"reward_accuracy\":0.75}");
    feed(&r, "{\"event\":\"step\",\"step\":2,\"loss\":0.6,\"reward_margin\":0.2,"
             "\"reward_accuracy\":1}");
    feed(&r, "{\"event\":\"eval\",\"step\":2,\"loss\":0.62,\"reward_accuracy\":0.5,"
             "\"reward_margin\":0.15}");
    ASSERT_EQ_INT(r.n_margin, 2);
    ASSERT_EQ_INT(r.n_acc, 2);
    ASSERT_NEAR(r.margin_pts[1].y, 0.2, 1e-12);
    ASSERT_NEAR(r.acc_pts[0].y, 0.75, 1e-12);
    ASSERT_EQ_INT(r.n_emargin, 2);
    ASSERT_NEAR(r.eval_accuracy, 0.5, 1e-12);
    ASSERT_NEAR(r.eacc_pts[1].x, 2, 0);
    ASSERT_NEAR(r.reward_accuracy, 1, 0);
    tui_run_cleanup(&r);
    /* an SFT run has no reward series, and says so */
    tui_run_init(&r, "runs/sft");
    feed(&r, "{\"event\":\"start\",\"total_steps\":4}");
    feed(&r, "{\"event\":\"step\",\"step\":1,\"loss\":2.5}");
    ASSERT_EQ_STR(r.method, "sft");
    ASSERT_EQ_INT(r.n_margin, 0);
    ASSERT(isnan(r.reward_margin));
    tui_run_cleanup(&r);
}

TEST(run_recipe_follows_its_stages)
{
    struct tui_run r;
    struct bz_err e = {0};
    tui_run_init(&r, test_tmpdir());
    /* the stage dirs in the events are relative to wherever the recipe ran */
    const char *top = "{\"event\":\"recipe\",\"name\":\"ob\",\"stages\":2}\n"
                      "{\"event\":\"stage\",\"index\":1,\"of\":2,\"name\":\"a\","
                      "\"dir\":\"x/r/01-a\"}\n";
    test_write("events.jsonl", top, strlen(top));
    ASSERT_EQ_INT(mkdir(test_tmp("01-a"), 0755), 0);
    const char *st = "{\"event\":\"start\",\"total_steps\":2}\n"
                     "{\"event\":\"step\",\"step\":1,\"loss\":3}\n";
    test_write("01-a/events.jsonl", st, strlen(st));
    ASSERT_EQ_INT(tui_run_follow(&r, "events.jsonl", &e), 4);
    ASSERT(r.is_recipe);
    ASSERT_EQ_STR(r.recipe_name, "ob");
    ASSERT_EQ_INT(r.n_stages, 2);
    ASSERT_EQ_INT(r.state, TUI_RUN_RUNNING);
    const struct tui_run *s = tui_run_shown(&r);
    ASSERT(s == &r.stages[0]);
    ASSERT_EQ_INT(s->n_loss, 1);
    ASSERT(strstr(s->dir, "/01-a") != NULL);
    ASSERT(r.stages[1].dir == NULL);
    FILE *f = fopen(test_tmp("01-a/events.jsonl"), "a");
    fputs("{\"event\":\"done\",\"adapter\":\"x/r/01-a/adapter\"}\n", f);
    fclose(f);
    f = fopen(test_tmp("events.jsonl"), "a");
    fputs("{\"event\":\"stage\",\"index\":2,\"of\":2,\"name\":\"b\",\"dir\":\"x/r/02-b\"}\n"
          "{\"event\":\"recipe_done\",\"stages\":2,\"adapter\":\"x/r/02-b/adapter\"}\n", f);
    fclose(f);
    ASSERT_EQ_INT(tui_run_follow(&r, "events.jsonl", &e), 3);
    ASSERT_EQ_INT(r.stages[0].state, TUI_RUN_DONE);
    ASSERT(tui_run_shown(&r) == &r.stages[1]);
    ASSERT_EQ_INT(r.stages[1].state, TUI_RUN_NEW); /* no events file: nothing to follow */
    ASSERT_EQ_INT(r.state, TUI_RUN_DONE);
    ASSERT_EQ_STR(r.adapter, "x/r/02-b/adapter");
    ASSERT_EQ_INT(r.invalid_lines, 0);
    tui_run_cleanup(&r);
    /* a plain run shows itself */
    tui_run_init(&r, "runs/p");
    ASSERT(tui_run_shown(&r) == &r);
    tui_run_cleanup(&r);
}
