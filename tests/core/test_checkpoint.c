/* test_checkpoint.c: checkpoints round-trip exactly, keep the newest K, refuse a size
 * mismatch, and an unfinished step-N.tmp is never taken for a checkpoint. */
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint.h"
#include "tests/test.h"

TEST(checkpoint_roundtrip_and_keep)
{
    struct bz_err err = {0};
    struct core_optim_config c;
    core_optim_config_default(&c);
    struct core_optim o, o2;
    ASSERT_OK(core_optim_init(&o, &c, 5, 5, &err), &err);
    ASSERT_OK(core_optim_init(&o2, &c, 5, 5, &err), &err);
    float p[5] = {1, 2, 3, 4, 5}, q[5];
    const char *run = test_tmp("run");
    for (int s = 1; s <= 3; s++) {
        for (int i = 0; i < 5; i++)
            o.m[i] = (float)(s * 10 + i), o.v[i] = (float)(s * 100 + i);
        o.step = s;
        struct core_checkpoint_state st = {.step = s, .micro = 4 * s, .seed = 77, .tokens = 9};
        ASSERT_OK(core_checkpoint_save(run, p, 5, &o, &st, 2, NULL, &err), &err);
    }
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/checkpoints/step-1", run);
    ASSERT(stat(path, &sb) != 0);
    snprintf(path, sizeof path, "%s/checkpoints/step-9.tmp", run);
    ASSERT_OK(bz_mkdir_p(path, &err), &err);
    char *latest;
    ASSERT_OK(core_checkpoint_latest(run, &latest, &err), &err);
    ASSERT(strstr(latest, "/checkpoints/step-3") != NULL);
    struct core_checkpoint_state st;
    ASSERT_OK(core_checkpoint_load(latest, q, 5, &o2, &st, &err), &err);
    ASSERT(!memcmp(p, q, sizeof p));
    ASSERT(!memcmp(o.m, o2.m, 5 * sizeof(float)));
    ASSERT(!memcmp(o.v, o2.v, 5 * sizeof(float)));
    ASSERT_EQ_INT(st.micro, 12);
    ASSERT_EQ_INT(o2.step, 3);
    ASSERT_EQ_U64(st.seed, 77);
    float big[6];
    ASSERT_EQ_INT(core_checkpoint_load(latest, big, 6, &o2, &st, &err), BZ_EFORMAT);
    ASSERT(strstr(err.msg, "holds 5 parameters") != NULL);
    free(latest);
    bz_err_clear(&err);
    ASSERT_EQ_INT(core_checkpoint_latest(test_tmp("none"), &latest, &err), BZ_ENOTFOUND);
    core_optim_cleanup(&o);
    core_optim_cleanup(&o2);
}
