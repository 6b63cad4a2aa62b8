/* test_verdict.c: rating and pairwise verdict parsing, table-driven (FastChat's rules). */
#include "tests/test.h"

#include "judge/judge.h"

TEST(judge_verdict_rating_table)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"The answer is fine. Rating: [[7]]", 7},
        {"Rating: [[10]]", 10},
        {"Rating: [[1]]", 1},
        {"Rating: [[0]]", 0},
        {"Rating: [[7.5]]", 7.5},
        {"Rating: [[8.]]", 8},
        {"[[3]] first, then a later [[9]]", 3},           /* leftmost wins */
        {"single [5] before a double [[9]]", 9},          /* [[N]] beats the fallback */
        {"Rating: [6]", 6},                               /* fallback */
        {"[4] and [8]", 4},                               /* leftmost fallback */
        {"Rating: [[8]", 8},                              /* torn: fallback finds [8] */
        {"Rating: [[ 7 ]]", -1},                          /* spaces: no match */
        {"Rating: [[.5]]", -1},                           /* needs a leading digit */
        {"Rating: [[-3]]", -1},                           /* no sign */
        {"Rating: [[7/10]]", -1},
        {"Rating: 7", -1},
        {"", -1},
        {"[[", -1},
        {"]]]][[[[", -1},
        {"\xff\xfe garbage [[", -1},
        {"see [2023] for details", -1},                   /* out of 0..10 */
        {"[[11]]", -1},
        {"[[10.5]] then [[6]]", -1},                      /* leftmost is out of range */
        {"[[[9]]]", 9},
        {"Rating: [[9]]\n\nRating: [[2]]", 9},
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(cases); i++) {
        double got = judge_verdict_rating(cases[i].text);
        if (fabs(got - cases[i].want) > 1e-12)
            test__fail(__FILE__, __LINE__, "case %zu \"%s\": got %g, want %g", i, cases[i].text,
                       got, cases[i].want);
    }
    ASSERT_EQ_INT(judge_verdict_rating(NULL), -1);
}

TEST(judge_verdict_pair_table)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"Assistant A is better. [[A]]", JUDGE_WIN_A},
        {"[[B]]", JUDGE_WIN_B},
        {"Both are equally good: [[C]]", JUDGE_WIN_TIE},
        {"Final verdict: [[B]] (not [[C]])", JUDGE_WIN_B},
        {"[[B]] ... [[A]]", JUDGE_WIN_A},       /* FastChat: [[A]] anywhere wins */
        {"[[C]] then [[B]]", JUDGE_WIN_B},
        {"[A] is better", JUDGE_WIN_ERROR},
        {"[[a]]", JUDGE_WIN_ERROR},
        {"[[D]]", JUDGE_WIN_ERROR},
        {"", JUDGE_WIN_ERROR},
        {"\x01\x02[[", JUDGE_WIN_ERROR},
    };
    for (size_t i = 0; i < BZ_ARRAY_SIZE(cases); i++) {
        int got = judge_verdict_pair(cases[i].text);
        if (got != cases[i].want)
            test__fail(__FILE__, __LINE__, "case %zu \"%s\": got %d, want %d", i, cases[i].text,
                       got, cases[i].want);
    }
    ASSERT_EQ_INT(judge_verdict_pair(NULL), JUDGE_WIN_ERROR);
}
