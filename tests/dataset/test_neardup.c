/*
 * test_neardup.c: MinHash + LSH near duplicates: English and Japanese near copies are
 * grouped, distinct texts are not, empty texts never are, the shingle mode is chosen
 * by script, the similarity estimate tracks the real Jaccard, a huge bucket of copies
 * stays one group, and the band choice follows the threshold.
 */
#include <stdlib.h>

#include "dataset/filter.h"
#include "tests/test.h"

static struct ds_neardup *nd_new(double t, int shingle)
{
    struct ds_neardup *nd = NULL;
    struct bz_err err = {0};
    struct ds_neardup_opts o = {t, shingle};
    ASSERT_OK(ds_neardup_new(&nd, &o, &err), &err);
    return nd;
}

static void add(struct ds_neardup *nd, const char *s)
{
    ds_neardup_add(nd, s, strlen(s));
}

static uint32_t *groups(struct ds_neardup *nd, size_t *ng)
{
    uint32_t *g = calloc(ds_neardup_count(nd) + 1, sizeof *g);
    struct bz_err err = {0};
    ASSERT_OK(ds_neardup_groups(nd, g, ng, NULL, &err), &err);
    return g;
}

static const char *en_a =
    "Photosynthesis is the process by which green plants use sunlight, water and carbon "
    "dioxide to make glucose and oxygen. It takes place mainly in the leaves, inside "
    "chloroplasts that hold the pigment chlorophyll, which absorbs red and blue light and "
    "reflects green light, which is why leaves look green to us.";
/* the same with one word changed and different punctuation and case */
static const char *en_b =
    "photosynthesis is the process by which green plants use sunlight, water and carbon "
    "dioxide to make glucose and oxygen! It takes place mostly in the leaves, inside "
    "chloroplasts that hold the pigment chlorophyll, which absorbs red and blue light and "
    "reflects green light, which is why leaves look green to us";
static const char *en_c =
    "The French Revolution began in 1789 with the storming of the Bastille and ended the "
    "absolute monarchy of Louis XVI. It spread ideas of liberty, equality and fraternity "
    "across Europe and led, after years of turmoil and war, to the rise of Napoleon.";
static const char *en_d = /* shares many words with en_a, in another order and sense */
    "Green leaves look green to us because chlorophyll reflects green light; plants make "
    "oxygen and glucose. Water and sunlight are used by plants, carbon dioxide too, inside "
    "chloroplasts, mainly the leaves, the process which takes place is called photosynthesis.";

static const char *ja_a =
    "光合成とは、植物が太陽の光を使って、水と二酸化炭素からブドウ糖と酸素を作り出す働きのこと"
    "です。主に葉の中にある葉緑体で行われ、葉緑素という色素が赤と青の光を吸収します。";
static const char *ja_b =
    "光合成とは、植物が太陽の光を利用して、水と二酸化炭素からブドウ糖と酸素を作り出す働きのこと"
    "です。主に葉の中にある葉緑体で行われ、葉緑素という色素が赤と青の光を吸収します。";
static const char *ja_c =
    "フランス革命は一七八九年のバスティーユ襲撃に始まり、ルイ十六世の絶対王政を終わらせました。"
    "自由、平等、友愛の理念はヨーロッパ中に広がりました。";

TEST(ds_neardup_english_near_copies_grouped_distinct_not)
{
    struct ds_neardup *nd = nd_new(0.8, DS_SHINGLE_AUTO);
    add(nd, en_a);
    add(nd, en_c);
    add(nd, en_b);
    add(nd, en_d);
    add(nd, "");
    add(nd, "?!...");
    size_t ng;
    uint32_t *g = groups(nd, &ng);
    ASSERT_EQ_INT(ng, 1);
    ASSERT_EQ_INT(g[2], 0); /* en_b joins en_a, its first member */
    ASSERT_EQ_INT(g[1], 1);
    ASSERT_EQ_INT(g[3], 3); /* the same words reordered are not a near copy */
    ASSERT_EQ_INT(g[4], 4); /* texts without shingles are never grouped */
    ASSERT_EQ_INT(g[5], 5);
    ASSERT(ds_neardup_similarity(nd, 0, 2) >= 0.8);
    ASSERT(ds_neardup_similarity(nd, 0, 1) < 0.2);
    ASSERT(ds_neardup_similarity(nd, 0, 3) < 0.5);
    ASSERT_NEAR(ds_neardup_similarity(nd, 4, 5), 0, 0);
    free(g);
    ds_neardup_free(nd);
}

TEST(ds_neardup_japanese_near_copies_grouped)
{
    ASSERT_EQ_INT(ds_neardup_char_mode(ja_a, strlen(ja_a), DS_SHINGLE_AUTO), 1);
    ASSERT_EQ_INT(ds_neardup_char_mode(en_a, strlen(en_a), DS_SHINGLE_AUTO), 0);
    ASSERT_EQ_INT(ds_neardup_char_mode(en_a, strlen(en_a), DS_SHINGLE_CHAR), 1);
    ASSERT_EQ_INT(ds_neardup_char_mode(ja_a, strlen(ja_a), DS_SHINGLE_WORD), 0);
    int modes[] = {DS_SHINGLE_AUTO, DS_SHINGLE_CHAR, DS_SHINGLE_WORD};
    for (int m = 0; m < 3; m++) { /* CJK characters are single tokens in every mode */
        struct ds_neardup *nd = nd_new(0.7, modes[m]);
        add(nd, ja_c);
        add(nd, ja_a);
        add(nd, en_a);
        add(nd, ja_b);
        size_t ng;
        uint32_t *g = groups(nd, &ng);
        ASSERT_EQ_INT(ng, 1);
        ASSERT_EQ_INT(g[3], 1);
        ASSERT_EQ_INT(g[0], 0);
        ASSERT_EQ_INT(g[2], 2);
        free(g);
        ds_neardup_free(nd);
    }
}

/* Exact Jaccard of word 3-gram sets of two word lists. */
static double jaccard3(const int *a, int na, const int *b, int nb)
{
    int inter = 0, uni = 0;
    for (int i = 0; i + 2 < na; i++) {
        int dup = 0;
        for (int k = 0; k < i && !dup; k++)
            dup = a[k] == a[i] && a[k + 1] == a[i + 1] && a[k + 2] == a[i + 2];
        if (dup)
            continue;
        uni++;
        for (int j = 0; j + 2 < nb; j++)
            if (a[i] == b[j] && a[i + 1] == b[j + 1] && a[i + 2] == b[j + 2]) {
                inter++;
                break;
            }
    }
    for (int j = 0; j + 2 < nb; j++) {
        int dup = 0, in_a = 0;
        for (int k = 0; k < j && !dup; k++)
            dup = b[k] == b[j] && b[k + 1] == b[j + 1] && b[k + 2] == b[j + 2];
        for (int i = 0; i + 2 < na && !in_a; i++)
            in_a = a[i] == b[j] && a[i + 1] == b[j + 1] && a[i + 2] == b[j + 2];
        uni += !dup && !in_a;
    }
    return uni ? (double)inter / uni : 0;
}

TEST(ds_neardup_estimate_tracks_jaccard)
{
    struct ds_neardup *nd = nd_new(0.8, DS_SHINGLE_WORD);
    int a[60], b[60];
    uint64_t s = 42;
    for (int i = 0; i < 60; i++)
        a[i] = (int)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 40) % 5000;
    double worst = 0;
    for (int changes = 0; changes <= 20; changes += 4) {
        memcpy(b, a, sizeof a);
        for (int c = 0; c < changes; c++)
            b[(c * 7 + 3) % 60] = 9000 + c;
        char ta[1024] = "", tb[1024] = "";
        for (int i = 0; i < 60; i++) {
            snprintf(ta + strlen(ta), sizeof ta - strlen(ta), "w%d ", a[i]);
            snprintf(tb + strlen(tb), sizeof tb - strlen(tb), "w%d ", b[i]);
        }
        size_t k = ds_neardup_count(nd);
        add(nd, ta);
        add(nd, tb);
        double est = ds_neardup_similarity(nd, k, k + 1), real = jaccard3(a, 60, b, 60);
        worst = fabs(est - real) > worst ? fabs(est - real) : worst;
    }
    ASSERT(worst < 0.2); /* 64 values: standard error <= 0.0625 */
    ds_neardup_free(nd);
}

TEST(ds_neardup_huge_bucket_one_group)
{
    struct ds_neardup *nd = nd_new(0.8, DS_SHINGLE_AUTO);
    for (int i = 0; i < 5000; i++)
        add(nd, i % 2 ? en_a : en_b);
    add(nd, en_c);
    size_t ng, cand;
    uint32_t *g = calloc(ds_neardup_count(nd), sizeof *g);
    struct bz_err err = {0};
    ASSERT_OK(ds_neardup_groups(nd, g, &ng, &cand, &err), &err);
    ASSERT_EQ_INT(ng, 1);
    for (int i = 0; i < 5000; i++)
        ASSERT_EQ_INT(g[i], 0);
    ASSERT_EQ_INT(g[5000], 5000);
    ASSERT(cand < 5000 * 16 * 2); /* representatives bound the work, no n^2 */
    free(g);
    ds_neardup_free(nd);
}

TEST(ds_neardup_bands_and_options)
{
    int b, r;
    ds_neardup_bands(0.9, &b, &r);
    ASSERT_EQ_INT(b * r, DS_NEARDUP_PERM);
    ASSERT_EQ_INT(r, 8);
    ds_neardup_bands(0.8, &b, &r);
    ASSERT_EQ_INT(r, 4);
    ds_neardup_bands(0.3, &b, &r);
    ASSERT_EQ_INT(r, 2);
    struct ds_neardup *nd = NULL;
    struct ds_neardup_opts o = {1.5, DS_SHINGLE_AUTO};
    ASSERT_EQ_INT(ds_neardup_new(&nd, &o, NULL), BZ_EINVAL);
    o.threshold = 0.5;
    o.shingle = 7;
    ASSERT_EQ_INT(ds_neardup_new(&nd, &o, NULL), BZ_EINVAL);
    ASSERT(nd == NULL);
}
