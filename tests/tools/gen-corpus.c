/*
 * gen-corpus.c: writes a deterministic pretraining corpus of simple English for Bezoar's
 * tiny demo model: short children's stories and Alpaca-style "### Instruction: /
 * ### Response:" snippets, all from templates over a small vocabulary, ASCII only.
 *
 * Key idea: the text is made, not collected, so the project owns it; a seeded
 * splitmix64 makes every byte reproducible (same -n and -s, same file). Answers in the
 * snippets are computed or taken from small fact tables (legs of animals, colours,
 * opposites), so a model trained on it learns nothing false. Each document ends with a
 * line "<|endoftext|>" (the TinyStories convention) that a trainer can split on.
 *
 * With -j the same documents come out as Alpaca JSON lines instead, which `bezoar train`
 * reads: a snippet becomes {instruction, input?, output}, a story the output of a request
 * for a story (one of a few phrasings, picked by a hash of the story so that the text
 * stream stays the same as without -j).
 *
 * Left out: no real-world corpus, no Unicode, no long documents; the vocabulary stays
 * small on purpose so that a ~1-5M parameter model can fit it.
 *
 *   gen-corpus [-n BYTES] [-s SEED] [-i PERCENT] [-j] [-o FILE]
 *     -n  stop before the output would exceed BYTES (default 5000000)
 *     -s  seed (default 1)
 *     -i  share of instruction snippets among documents, 0-100 (default 40)
 *     -j  JSON lines (Alpaca records) instead of text
 *     -o  output file (default: standard output)
 */
#include "core/bz.h"

#include <assert.h>
#include <ctype.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- rng */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int rng_int(int lo, int hi)
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

#define PICK(arr) ((arr)[rng_next() % BZ_ARRAY_SIZE(arr)])

/* ---------------------------------------------------------------- vocabulary */

struct person {
    const char *name;
    int she; /* 1: she/her, 0: he/his */
};

static const struct person people[] = {
    {"Lily", 1}, {"Tom", 0},  {"Mia", 1},  {"Ben", 0},  {"Anna", 1}, {"Max", 0},
    {"Lucy", 1}, {"Leo", 0},  {"Zoe", 1},  {"Jack", 0}, {"Emma", 1}, {"Tim", 0},
    {"Sara", 1}, {"Noah", 0}, {"Ella", 1}, {"Sam", 0},  {"Rosa", 1}, {"Finn", 0},
};

struct animal {
    const char *name, *sound, *food;
    int legs;
};

static const struct animal animals[] = {
    {"cat", "meow", "fish", 4},          {"dog", "woof", "biscuits", 4},
    {"duck", "quack", "bread", 2},       {"cow", "moo", "grass", 4},
    {"frog", "ribbit", "flies", 4},      {"bird", "tweet", "seeds", 2},
    {"sheep", "baa", "grass", 4},        {"pig", "oink", "apples", 4},
    {"horse", "neigh", "hay", 4},        {"owl", "hoot", "meat", 2},
    {"hen", "cluck", "corn", 2},         {"mouse", "squeak", "cheese", 4},
    {"donkey", "hee-haw", "carrots", 4}, {"bee", "buzz", "sugar water", 6},
    {"goat", "maa", "leaves", 4},
};

struct place {
    const char *name, *at; /* "the park", "at": where things happen */
};

static const struct place places[] = {
    {"the park", "at"},   {"the garden", "in"},     {"the beach", "on"}, {"the forest", "in"},
    {"the farm", "on"},   {"the river", "by"},      {"the hill", "on"},  {"the lake", "by"},
    {"the meadow", "in"}, {"the playground", "at"}, {"the zoo", "at"},   {"the woods", "in"},
};

static const char *things[] = {"ball", "kite",  "hat",   "book",   "boat",  "drum",
                               "doll", "truck", "robot", "bucket", "scarf", "cup",
                               "box",  "bell",  "shell", "train"};

static const char *colors[] = {"red", "blue", "green", "yellow", "little", "big", "shiny", "old"};

static const char *traits[] = {"kind", "brave", "curious", "funny",
                               "shy",  "happy", "clever",  "gentle"};

/* Facts for snippets: every answer here is true. */
struct qa {
    const char *q, *a;
};

static const struct qa color_facts[] = {
    {"What color is the sky on a sunny day?", "The sky is blue on a sunny day."},
    {"What color is grass?", "Grass is green."},
    {"What color is a ripe banana?", "A ripe banana is yellow."},
    {"What color is snow?", "Snow is white."},
    {"What color is a ripe tomato?", "A ripe tomato is red."},
    {"What color is coal?", "Coal is black."},
    {"What color is an orange?", "An orange is orange."},
    {"What color are most leaves in summer?", "Most leaves are green in summer."},
    {"What color do you get when you mix blue and yellow paint?",
     "You get green when you mix blue and yellow paint."},
    {"What color do you get when you mix red and white paint?",
     "You get pink when you mix red and white paint."},
    {"What color do you get when you mix red and yellow paint?",
     "You get orange when you mix red and yellow paint."},
};

static const struct qa opposites[] = {
    {"hot", "cold"},   {"big", "small"},  {"up", "down"},     {"day", "night"},
    {"fast", "slow"},  {"happy", "sad"},  {"open", "closed"}, {"wet", "dry"},
    {"old", "new"},    {"light", "dark"}, {"full", "empty"},  {"loud", "quiet"},
    {"early", "late"}, {"tall", "short"}, {"soft", "hard"},   {"in", "out"},
};

static const struct qa rhymes[] = {
    {"cat", "hat"},   {"dog", "log"},     {"sun", "fun"},    {"tree", "bee"},
    {"cake", "lake"}, {"star", "car"},    {"moon", "spoon"}, {"bed", "red"},
    {"fish", "dish"}, {"mouse", "house"}, {"boat", "coat"},  {"rain", "train"},
    {"book", "cook"}, {"ball", "wall"},   {"king", "ring"},  {"night", "light"},
};

static const struct qa uses[] = {
    {"a spoon", "You use a spoon to eat soup and other soft food."},
    {"a pen", "You use a pen to write."},
    {"scissors", "You use scissors to cut paper."},
    {"an umbrella", "You use an umbrella to stay dry in the rain."},
    {"a broom", "You use a broom to sweep the floor."},
    {"a key", "You use a key to lock and unlock a door."},
    {"a cup", "You use a cup to drink."},
    {"a towel", "You use a towel to dry yourself after a bath."},
    {"a ladder", "You use a ladder to reach high places."},
    {"a clock", "You use a clock to tell the time."},
    {"a map", "You use a map to find the way."},
    {"soap", "You use soap to wash your hands."},
};

static const char *days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                             "Friday", "Saturday", "Sunday"};
static const char *months[] = {"January",   "February", "March",    "April",
                               "May",       "June",     "July",     "August",
                               "September", "October",  "November", "December"};
static const char *number_words[] = {
    "zero",     "one",     "two",     "three",     "four",     "five",     "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",   "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"};
static const char *short_words[] = {"cat",   "dog",   "sun",   "tree",  "book",  "milk",
                                    "frog",  "star",  "apple", "water", "happy", "green",
                                    "house", "bread", "river", "smile"};

/* ---------------------------------------------------------------- text helpers */

/* Append t with the slots filled: "{N}" name, "{P}" he/she, "{Pc}" He/She, "{G}" his/her,
 * "{Gc}" His/Her, "{O}" him/her. */
static void put_t(struct bz_buf *b, const char *t, const struct person *p)
{
    for (; *t; t++) {
        if (*t != '{') {
            bz_buf_putc(b, *t);
            continue;
        }
        const char *e = strchr(t, '}');
        bz_assert(e);
        size_t n = (size_t)(e - t - 1);
        if (n == 1 && t[1] == 'N')
            bz_buf_puts(b, p->name);
        else if (n == 1 && t[1] == 'P')
            bz_buf_puts(b, p->she ? "she" : "he");
        else if (n == 2 && !memcmp(t + 1, "Pc", 2))
            bz_buf_puts(b, p->she ? "She" : "He");
        else if (n == 1 && t[1] == 'G')
            bz_buf_puts(b, p->she ? "her" : "his");
        else if (n == 2 && !memcmp(t + 1, "Gc", 2))
            bz_buf_puts(b, p->she ? "Her" : "His");
        else if (n == 1 && t[1] == 'O')
            bz_buf_puts(b, p->she ? "her" : "him");
        else
            bz_assert(!"unknown slot");
        t = e;
    }
}

static const char *article(const char *word)
{
    return strchr("aeiou", word[0]) ? "an" : "a";
}

/* ---------------------------------------------------------------- stories */

/* w with its first letter in upper case, written into buf (n bytes). */
static const char *cap(char *buf, size_t n, const char *w)
{
    snprintf(buf, n, "%s", w);
    buf[0] = (char)toupper((unsigned char)buf[0]);
    return buf;
}

/* One short story: an opening, the hero's toy, one of seven plots (with_pet: one in which
 * pet appears), and an ending. */
static void story(struct bz_buf *b, const struct person *hero, const struct animal *pet,
                  int with_pet)
{
    const struct person *friend;
    do
        friend = &PICK(people);
    while (friend == hero);
    const struct place *pl = &PICK(places);
    const char *thing = PICK(things), *color = PICK(colors), *trait = PICK(traits);
    const char *kid = hero->she ? "girl" : "boy";
    const char *fo = friend->she ? "her" : "him";
    char c1[32], c2[32];

    int o = rng_int(0, 3);
    if (o == 0)
        bz_buf_printf(b, "Once upon a time, there was %s %s %s named %s.", article(trait), trait,
                      kid, hero->name);
    else if (o == 1)
        bz_buf_printf(b, "One day, %s %s %s named %s went to %s.", article(trait), trait, kid,
                      hero->name, pl->name);
    else if (o == 2)
        bz_buf_printf(b, "There once was %s %s %s called %s.", article(trait), trait, kid,
                      hero->name);
    else
        bz_buf_printf(b, "%s was %s %s %s who lived near %s.", hero->name, article(trait), trait,
                      kid, pl->name);
    bz_buf_putc(b, ' ');
    put_t(b, "{Pc} had ", hero);
    bz_buf_printf(b, "%s %s %s. ", article(color), color, thing);
    put_t(b,
          PICK(((const char *[]){"{Pc} loved to play with it every day.",
                                 "It was {G} favorite toy.", "{Pc} took it everywhere {P} went."})),
          hero);
    if (o != 1) {
        bz_buf_putc(b, ' ');
        bz_buf_printf(b, "%s, %s took the %s to %s.",
                      PICK(((const char *[]){"One morning", "One sunny day", "After lunch"})),
                      hero->name, thing, pl->name);
    }

    /* Plots 0, 4 and 6 have the animal in them; a story asked for "about X and a cat"
     * must be one of those. */
    static const int pet_plots[] = {0, 4, 6};
    int plot = with_pet ? PICK(pet_plots) : rng_int(0, 6);
    bz_buf_putc(b, ' ');
    if (plot == 0) {
        bz_buf_printf(b, "%s %s, %s saw %s %s. The %s said, \"%s!\" ", cap(c1, sizeof c1, pl->at),
                      pl->name, hero->she ? "she" : "he", article(pet->name), pet->name, pet->name,
                      cap(c2, sizeof c2, pet->sound));
        put_t(b, "{N} smiled and said, \"Hello, little friend!\" ", hero);
        bz_buf_printf(b, "The %s looked hungry, so %s gave it some %s. ", pet->name, hero->name,
                      pet->food);
        bz_buf_printf(b, "The %s was happy and followed %s all day. ", pet->name, hero->name);
        put_t(b, "{N} learned that it is good to be kind to animals.", hero);
    } else if (plot == 1) {
        put_t(b, "While {P} was playing, the ", hero);
        bz_buf_printf(b, "%s rolled away and got lost. ", thing);
        put_t(b, "{N} looked everywhere, but {P} could not find it. {Pc} felt sad. ", hero);
        bz_buf_printf(b, "Then %s came by and asked, \"Why are you sad?\" ", friend->name);
        bz_buf_printf(b, "%s told %s about the %s. ", hero->name, fo, thing);
        bz_buf_printf(b,
                      "\"I will help you,\" said %s. They looked together, and soon %s found the "
                      "%s under a bush. ",
                      friend->name, friend->name, thing);
        put_t(b, "{N} was very happy and said, \"Thank you!\" ", hero);
        put_t(b, "{N} learned that friends help each other.", hero);
    } else if (plot == 2) {
        bz_buf_printf(b,
                      "Then dark clouds came, and it started to rain. %s and %s friend %s ran "
                      "under a big tree. ",
                      hero->name, hero->she ? "her" : "his", friend->name);
        bz_buf_printf(b, "They were wet and cold. %s shared %s snack with %s, and they laughed. ",
                      hero->name, hero->she ? "her" : "his", fo);
        bz_buf_puts(b, "Soon the rain stopped, and the sun came out. They saw a rainbow in the "
                       "sky.");
    } else if (plot == 3) {
        bz_buf_printf(b, "%s %s, %s met %s, who wanted to play with the %s too. ",
                      cap(c1, sizeof c1, pl->at), pl->name, hero->name, friend->name, thing);
        put_t(b, "At first, {N} did not want to share. But then {P} saw that ", hero);
        bz_buf_printf(b, "%s was sad. ", friend->name);
        put_t(b, "{N} said, \"Let's play together!\" ", hero);
        bz_buf_printf(b, "They took turns with the %s and had lots of fun. ", thing);
        put_t(b, "{N} learned that sharing makes everyone happy.", hero);
    } else if (plot == 4) {
        bz_buf_printf(b,
                      "On the way, %s found %s %s that was stuck in a hole. The %s said, "
                      "\"%s, %s!\" ",
                      hero->name, article(pet->name), pet->name, pet->name,
                      cap(c2, sizeof c2, pet->sound), pet->sound);
        put_t(b, "{N} was a little scared, but {P} was brave. ", hero);
        bz_buf_printf(b, "%s called %s, and together they helped the %s out. ", hero->name,
                      friend->name, pet->name);
        bz_buf_printf(b, "The %s went home to its family.", pet->name);
    } else if (plot == 5) {
        bz_buf_printf(b, "But the %s fell and broke. ", thing);
        put_t(b, "{N} began to cry. {Gc} grandpa came and said, \"Don't worry. We can fix it.\" ",
              hero);
        bz_buf_printf(b,
                      "Grandpa got some glue, and they fixed the %s together. Soon it was as good "
                      "as new. ",
                      thing);
        put_t(b, "{N} gave grandpa a big hug.", hero);
    } else {
        bz_buf_printf(b, "There %s saw %s %s. ", hero->she ? "she" : "he", article(pet->name),
                      pet->name);
        bz_buf_printf(b, "%s wanted to be friends, but the %s ran away. ", hero->name, pet->name);
        bz_buf_printf(b,
                      "%s sat down quietly and waited. After a while, the %s came back and sat "
                      "next to %s. ",
                      hero->name, pet->name, hero->she ? "her" : "him");
        put_t(b, "{N} learned that being patient and gentle helps you make new friends.", hero);
    }

    static const char *endings[] = {
        "At the end of the day, {N} went home and told {G} mom all about it.",
        "That night, {N} went to bed with a big smile.",
        "It was the best day ever.",
        "{N} was tired but happy when {P} went home.",
        "The end.",
    };
    bz_buf_putc(b, ' ');
    put_t(b, PICK(endings), hero);
}

/* ---------------------------------------------------------------- snippets */

static void snippet_start(struct bz_buf *b, const char *instr)
{
    bz_buf_printf(b, "### Instruction:\n%s\n\n", instr);
}

static void snippet_input(struct bz_buf *b, const char *input)
{
    bz_buf_printf(b, "### Input:\n%s\n\n", input);
}

static void snippet_response(struct bz_buf *b)
{
    bz_buf_puts(b, "### Response:\n");
}

static void snippet(struct bz_buf *b)
{
    char q[256];
    int kind = rng_int(0, 15);
    if (kind == 0) {
        int x = rng_int(0, 20), y = rng_int(0, 20);
        snprintf(q, sizeof q, "What is %d plus %d?", x, y);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%d plus %d is %d.", x, y, x + y);
    } else if (kind == 1) {
        int x = rng_int(0, 30), y = rng_int(0, x);
        snprintf(q, sizeof q, "What is %d minus %d?", x, y);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%d minus %d is %d.", x, y, x - y);
    } else if (kind == 2) {
        int x = rng_int(1, 10), y = rng_int(1, 10);
        snprintf(q, sizeof q, "What is %d times %d?", x, y);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%d times %d is %d.", x, y, x * y);
    } else if (kind == 3) {
        const struct qa *f = &PICK(color_facts);
        snippet_start(b, f->q);
        snippet_response(b);
        bz_buf_puts(b, f->a);
    } else if (kind == 4) {
        const struct animal *a = &PICK(animals);
        snprintf(q, sizeof q, "How many legs does %s %s have?", article(a->name), a->name);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%s %s has %s legs.", strcmp(article(a->name), "an") ? "A" : "An", a->name,
                      number_words[a->legs]);
    } else if (kind == 5) {
        const struct animal *a = &PICK(animals);
        snprintf(q, sizeof q, "What sound does %s %s make?", article(a->name), a->name);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%s %s says \"%s\".", strcmp(article(a->name), "an") ? "A" : "An", a->name,
                      a->sound);
    } else if (kind == 6) {
        const struct qa *o = &PICK(opposites);
        int flip = rng_int(0, 1);
        snprintf(q, sizeof q, "What is the opposite of \"%s\"?", flip ? o->a : o->q);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "The opposite of \"%s\" is \"%s\".", flip ? o->a : o->q,
                      flip ? o->q : o->a);
    } else if (kind == 7) {
        const struct qa *r = &PICK(rhymes);
        snprintf(q, sizeof q, "Give me a word that rhymes with \"%s\".", r->q);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "\"%s\" rhymes with \"%s\".", r->a, r->q);
    } else if (kind == 8) {
        const struct qa *u = &PICK(uses);
        snprintf(q, sizeof q, "What do you use %s for?", u->q);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_puts(b, u->a);
    } else if (kind == 9) {
        int d = rng_int(0, 6);
        snprintf(q, sizeof q, "What day comes after %s?", days[d]);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%s comes after %s.", days[(d + 1) % 7], days[d]);
    } else if (kind == 10) {
        int m = rng_int(0, 11);
        snprintf(q, sizeof q, "Which month comes after %s?", months[m]);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%s comes after %s.", months[(m + 1) % 12], months[m]);
    } else if (kind == 11) {
        int v[6], n = rng_int(3, 6);
        char in[64] = "";
        for (int i = 0; i < n; i++) {
            v[i] = rng_int(0, 50);
            snprintf(in + strlen(in), sizeof in - strlen(in), "%s%d", i ? ", " : "", v[i]);
        }
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                int t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        snippet_start(b, "Sort these numbers from smallest to largest.");
        snippet_input(b, in);
        snippet_response(b);
        for (int i = 0; i < n; i++)
            bz_buf_printf(b, "%s%d", i ? ", " : "", v[i]);
    } else if (kind == 12) {
        const char *w = PICK(short_words);
        size_t n = strlen(w);
        snippet_start(b, "Spell this word backwards.");
        snippet_input(b, w);
        snippet_response(b);
        for (size_t i = 0; i < n; i++)
            bz_buf_putc(b, w[n - 1 - i]);
    } else if (kind == 13) {
        const char *w = PICK(short_words);
        snprintf(q, sizeof q, "How many letters are in the word \"%s\"?", w);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "The word \"%s\" has %s letters.", w, number_words[strlen(w)]);
    } else if (kind == 14) {
        int x = rng_int(0, 99), y;
        do
            y = rng_int(0, 99);
        while (y == x);
        snprintf(q, sizeof q, "Which number is bigger, %d or %d?", x, y);
        snippet_start(b, q);
        snippet_response(b);
        bz_buf_printf(b, "%d is bigger than %d.", x > y ? x : y, x > y ? y : x);
    } else {
        const struct person *p = &PICK(people);
        const struct animal *a = &PICK(animals);
        snprintf(q, sizeof q, "Write a short story about %s and %s %s.", p->name, article(a->name),
                 a->name);
        snippet_start(b, q);
        snippet_response(b);
        story(b, p, a, 1);
    }
}

/* ---------------------------------------------------------------- JSON lines */

/* The document d (a story or a "### Instruction:" snippet, without its separator) as
 * one Alpaca JSON line appended to out. */
static void to_jsonl(struct bz_buf *out, const char *d, size_t n)
{
    static const char *asks[] = {"Tell me a story.", "Write a short story.",
                                 "Tell me a bedtime story.", "Can you tell me a story?"};
    static const char hi[] = "### Instruction:\n", hin[] = "### Input:\n",
                      hr[] = "### Response:\n";
    const char *instr = asks[bz_hash64(d, n) % BZ_ARRAY_SIZE(asks)], *input = "", *output = d;
    size_t li = strlen(instr), lin = 0, lo = n;
    if (n > sizeof hi - 1 && memcmp(d, hi, sizeof hi - 1) == 0) {
        const char *p = d + sizeof hi - 1, *end = d + n;
        const char *e = strstr(p, "\n\n");
        assert(e && e < end);
        instr = p;
        li = (size_t)(e - p);
        p = e + 2;
        if ((size_t)(end - p) > sizeof hin - 1 && memcmp(p, hin, sizeof hin - 1) == 0) {
            p += sizeof hin - 1;
            e = strstr(p, "\n\n");
            assert(e && e < end);
            input = p;
            lin = (size_t)(e - p);
            p = e + 2;
        }
        assert((size_t)(end - p) >= sizeof hr - 1 && memcmp(p, hr, sizeof hr - 1) == 0);
        output = p + sizeof hr - 1;
        lo = (size_t)(end - output);
    }
    bz_buf_puts(out, "{\"instruction\":");
    bz_buf_json_str(out, instr, li);
    bz_buf_puts(out, ",\"input\":");
    bz_buf_json_str(out, input, lin);
    bz_buf_puts(out, ",\"output\":");
    bz_buf_json_str(out, output, lo);
    bz_buf_puts(out, "}\n");
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr, "usage: gen-corpus [-n BYTES] [-s SEED] [-i PERCENT] [-j] [-o FILE]\n"
                    "  simple English stories and ### Instruction / ### Response snippets,\n"
                    "  each followed by a line <|endoftext|> (or with -j, Alpaca JSON lines);\n"
                    "  same options, same bytes\n");
}

int main(int argc, char **argv)
{
    long long limit = 5000000;
    unsigned long long seed = 1;
    int instr_pct = 40, jsonl = 0;
    const char *out = NULL;
    int c;
    while ((c = getopt(argc, argv, "n:s:i:o:jh")) != -1) {
        char *end;
        switch (c) {
        case 'n':
            limit = strtoll(optarg, &end, 10);
            if (*end || limit <= 0) {
                fprintf(stderr, "gen-corpus: -n wants a positive byte count (got %s)\n", optarg);
                return 2;
            }
            break;
        case 's':
            seed = strtoull(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "gen-corpus: -s wants a number (got %s)\n", optarg);
                return 2;
            }
            break;
        case 'i':
            instr_pct = (int)strtol(optarg, &end, 10);
            if (*end || instr_pct < 0 || instr_pct > 100) {
                fprintf(stderr, "gen-corpus: -i wants 0-100 (got %s)\n", optarg);
                return 2;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            jsonl = 1;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (optind != argc) {
        usage();
        return 2;
    }
    rng_state = seed * 0x2545f4914f6cdd1dull + 0x42657a6f61722121ull;

    struct bz_buf all, doc, line;
    bz_buf_init(&all);
    bz_buf_init(&doc);
    bz_buf_init(&line);
    long long docs = 0;
    for (;;) {
        doc.len = 0;
        if (rng_int(0, 99) < instr_pct)
            snippet(&doc);
        else
            story(&doc, &PICK(people), &PICK(animals), 0);
        const struct bz_buf *put = &doc;
        if (jsonl) {
            line.len = 0;
            to_jsonl(&line, doc.p, doc.len);
            put = &line;
        } else {
            bz_buf_puts(&doc, "\n<|endoftext|>\n");
        }
        if ((long long)(all.len + put->len) > limit)
            break;
        bz_buf_append(&all, put->p, put->len);
        docs++;
    }
    struct bz_err err = {0};
    int rc = 0;
    if (out)
        rc = bz_write_atomic(out, all.p ? all.p : "", all.len, &err);
    else if (all.len && fwrite(all.p, 1, all.len, stdout) != all.len)
        rc = bz_errf(&err, BZ_EIO, "stdout: write failed");
    if (rc < 0) {
        fprintf(stderr, "gen-corpus: %s\n", bz_err_msg(&err, rc));
        return 1;
    }
    fprintf(stderr, "gen-corpus: %lld documents, %zu bytes\n", docs, all.len);
    bz_buf_cleanup(&all);
    bz_buf_cleanup(&doc);
    bz_buf_cleanup(&line);
    return 0;
}
