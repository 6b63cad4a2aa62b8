/* test_optim.c: AdamW against hand-computed values, the schedule, clipping, NaN skipping. */
#include <math.h>

#include "core/optim.h"
#include "tests/test.h"

TEST(optim_schedule)
{
    struct core_optim_config c;
    core_optim_config_default(&c);
    c.lr = 1.0f, c.warmup = 4, c.total_steps = 14, c.min_lr_ratio = 0.1f;
    ASSERT_NEAR(core_optim_lr(&c, 0), 0.25, 1e-7);
    ASSERT_NEAR(core_optim_lr(&c, 3), 1.0, 1e-7);
    ASSERT_NEAR(core_optim_lr(&c, 4), 1.0, 1e-7);  /* decay starts at the peak */
    ASSERT_NEAR(core_optim_lr(&c, 13), 0.1, 1e-6); /* and ends at the floor */
    ASSERT_NEAR(core_optim_lr(&c, 100), 0.1, 1e-6);
    ASSERT_NEAR(core_optim_lr(&c, 8), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 4 / 9.0)), 1e-6);
    c.schedule = CORE_SCHED_LINEAR;
    ASSERT_NEAR(core_optim_lr(&c, 8), 0.1 + 0.9 * (1 - 4 / 9.0), 1e-6);
    c.schedule = CORE_SCHED_CONSTANT;
    ASSERT_NEAR(core_optim_lr(&c, 12), 1.0, 1e-7);
}

/* Step 1 of Adam moves each parameter by lr * g / (|g| + eps), plus decoupled decay on
 * the decayed range only; step 2 follows the moment recurrences. */
TEST(optim_adamw_values)
{
    struct core_optim_config c;
    core_optim_config_default(&c);
    c.lr = 0.1f, c.weight_decay = 0.5f, c.clip = 0, c.schedule = CORE_SCHED_CONSTANT;
    struct core_optim o;
    struct bz_err err = {0};
    ASSERT_OK(core_optim_init(&o, &c, 3, 2, &err), &err);
    float p[3] = {1.0f, -2.0f, 3.0f}, g[3] = {0.5f, -4.0f, 1.0f};
    double gn;
    float lr;
    ASSERT_EQ_INT(core_optim_step(&o, p, g, &gn, &lr, &err), 0);
    ASSERT_NEAR(gn, sqrt(0.25 + 16 + 1), 1e-6);
    ASSERT_NEAR(p[0], 1.0 - 0.1 * (1 + 0.5 * 1.0), 1e-6);
    ASSERT_NEAR(p[1], -2.0 - 0.1 * (-1 + 0.5 * -2.0), 1e-6);
    ASSERT_NEAR(p[2], 3.0 - 0.1 * 1, 1e-6); /* no decay beyond n_decay */
    float g2[3] = {1.0f, 0, 0};
    float p0 = p[0];
    ASSERT_EQ_INT(core_optim_step(&o, p, g2, &gn, &lr, &err), 0);
    double m = 0.9 * 0.1 * 0.5 + 0.1 * 1.0, v = 0.999 * 0.001 * 0.25 + 0.001 * 1.0;
    double mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
    ASSERT_NEAR(p[0], p0 - 0.1 * (mh / (sqrt(vh) + 1e-8) + 0.5 * p0), 1e-5);
    core_optim_cleanup(&o);
}

TEST(optim_clip_and_nan_skip)
{
    struct core_optim_config c;
    core_optim_config_default(&c);
    c.lr = 1.0f, c.clip = 1.0f, c.max_bad_steps = 3;
    struct core_optim o;
    struct bz_err err = {0};
    ASSERT_OK(core_optim_init(&o, &c, 2, 2, &err), &err);
    float p[2] = {0, 0}, g[2] = {30.0f, 40.0f};
    double gn;
    float lr;
    ASSERT_EQ_INT(core_optim_step(&o, p, g, &gn, &lr, &err), 0);
    ASSERT_NEAR(gn, 50.0, 1e-9);
    ASSERT_NEAR(o.m[0], 0.1 * 0.6, 1e-7); /* clipped to norm 1 before the moments */
    float bad[2] = {NAN, 1.0f};
    float keep0 = p[0];
    ASSERT_EQ_INT(core_optim_step(&o, p, bad, &gn, &lr, &err), 1);
    ASSERT_EQ_INT(p[0] == keep0, 1);
    ASSERT_EQ_INT(o.step, 1);
    bad[0] = INFINITY;
    ASSERT_EQ_INT(core_optim_step(&o, p, bad, &gn, &lr, &err), 1);
    ASSERT_EQ_INT(core_optim_step(&o, p, bad, &gn, &lr, &err), BZ_ENUMERIC);
    ASSERT(strstr(err.msg, "NaN/Inf in 3 steps in a row") != NULL);
    float ok[2] = {1, 1};
    bz_err_clear(&err);
    o.bad_in_row = 0;
    ASSERT_EQ_INT(core_optim_step(&o, p, ok, &gn, &lr, &err), 0);
    core_optim_cleanup(&o);
}
