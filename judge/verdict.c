/*
 * verdict.c: reading the judge's decision out of its text.
 *
 * Key idea: the rules are FastChat llm_judge's, so scores match theirs on the same
 * text: a single rating is the first match of \[\[(\d+\.?\d*)\]\], else of
 * \[(\d+\.?\d*)\] (re.search: the leftmost wins; a later, different rating does
 * not count); a pairwise verdict is "[[A]]" if present anywhere, else "[[B]]", else
 * "[[C]]" (a tie). One deliberate difference: a rating outside 0..10 (a year or a
 * citation caught by the "[N]" fallback) is unparsable here instead of averaged in.
 * Left out: two-score prompts ("[[8, 6]]"), which FastChat's current prompts do not use.
 */
#include "judge/internal.h"

#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Match "\d+\.?\d*" then `close` at s; the number's length in *len. */
static int number_then(const char *s, const char *close, size_t *len)
{
    size_t i = 0;
    while (is_digit(s[i]))
        i++;
    if (i == 0)
        return 0;
    if (s[i] == '.') {
        i++;
        while (is_digit(s[i]))
            i++;
    }
    if (strncmp(s + i, close, strlen(close)) != 0)
        return 0;
    *len = i;
    return 1;
}

/* The number of the leftmost `open` N `close` in text, or -1 when none. */
static double find_rating(const char *text, const char *open, const char *close)
{
    size_t ol = strlen(open);
    for (const char *p = strstr(text, open); p; p = strstr(p + 1, open)) {
        size_t len;
        if (number_then(p + ol, close, &len)) {
            char num[64];
            if (len >= sizeof num)
                return 1e9; /* absurdly long: out of range */
            memcpy(num, p + ol, len);
            num[len] = 0;
            return strtod(num, NULL);
        }
    }
    return -1;
}

double judge_verdict_rating(const char *text)
{
    if (!text)
        return -1;
    double r = find_rating(text, "[[", "]]");
    if (r < 0)
        r = find_rating(text, "[", "]");
    if (r < 0 || r > 10)
        return -1;
    return r;
}

int judge_verdict_pair(const char *text)
{
    if (!text)
        return JUDGE_WIN_ERROR;
    if (strstr(text, "[[A]]"))
        return JUDGE_WIN_A;
    if (strstr(text, "[[B]]"))
        return JUDGE_WIN_B;
    if (strstr(text, "[[C]]"))
        return JUDGE_WIN_TIE;
    return JUDGE_WIN_ERROR;
}
