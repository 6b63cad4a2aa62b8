/*
 * gen-recipe-data.c: writes the data of the shipped OpenBezoar-style recipe
 * (assets/recipes/openbezoar.json): assets/demo/recipe/lamini.jsonl, orca.jsonl,
 * evol.jsonl (instruction pairs the way each synthetic scheme writes them) and hh.jsonl
 * (HH-RLHF-style transcripts with a chosen and a rejected last reply).
 *
 * Key idea: the pairs come from small hand-written facts and templates whose answers are
 * computed here (sums, products, word reversal, vowel counts, sorting, unit conversion),
 * with a fixed-seed splitmix64, no clock, no locale and no floating point, so `make
 * assets` reproduces the committed bytes. Each file keeps its scheme's shape: OpenAI chat
 * lines {"id", "messages", "meta": {"scheme", "strategy", "generation", "seed_id"}} like
 * `bezoar generate` writes (Orca pairs keep their system message asking for step-by-step
 * answers; Evol pairs record the evolution strategy and generation), and HH-RLHF lines
 * {"chosen", "rejected"} whose transcripts share every turn but the last reply.
 *
 * Left out: anything from other datasets or ../shared/data; a model writing the pairs
 * (the generate verb does that with a real backend).
 *
 *   gen-recipe-data OUT_DIR     (writes OUT_DIR/{lamini,orca,evol,hh}.jsonl)
 */
#include "core/bz.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int pick(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static int range(int lo, int hi)
{
    return lo + pick(hi - lo + 1);
}

#define N(a) ((int)(sizeof(a) / sizeof(a)[0]))

/* ---------------------------------------------------------------- hand-written facts */

static const struct topic {
    const char *name, *what, *facts[3];
} topics[] = {
    {"rivers", "A river is fresh water flowing downhill in a channel towards a lake or the sea.",
     {"Rivers carve valleys by carrying sand and stones that wear away the rock.",
      "Most large cities grew beside a river, which gave water, food and a road for boats.",
      "Where a river meets the sea it slows down and drops its mud, building a delta."}},
    {"bread", "Bread is a baked dough of flour, water, salt and usually yeast.",
     {"Yeast eats sugars in the dough and releases gas, which makes the bread rise.",
      "Kneading builds gluten, the stretchy network that traps that gas.",
      "A hot oven sets the crumb and browns the crust."}},
    {"the moon", "The Moon is the natural satellite that orbits the Earth.",
     {"The Moon takes about 27 days to go once around the Earth.",
      "Its pull on the oceans causes most of the tides.",
      "We always see the same face of the Moon because it turns once per orbit."}},
    {"bicycles", "A bicycle is a two-wheeled vehicle driven by pedals and a chain.",
     {"Gears let a rider trade speed for force on a hill.",
      "A bicycle stays upright mostly because the rider steers into a fall.",
      "Checking tyre pressure each week makes riding easier and safer."}},
    {"recycling", "Recycling turns used materials into raw material for new things.",
     {"Aluminium cans can be recycled again and again without losing quality.",
      "Paper fibres get shorter each time, so paper can be recycled only a few times.",
      "Rinsing containers keeps food out of the recycled material."}},
    {"volcanoes", "A volcano is an opening in the crust where molten rock reaches the surface.",
     {"Molten rock is called magma underground and lava once it erupts.",
      "Many volcanoes sit where tectonic plates meet or pull apart.",
      "Volcanic ash makes soil rich, which is why farms grow near volcanoes."}},
    {"bees", "Bees are flying insects that feed on nectar and pollen from flowers.",
     {"While feeding, bees carry pollen between flowers and help plants make seeds.",
      "A honey bee colony has one queen, many workers and, in summer, some drones.",
      "Bees turn nectar into honey by drying it in the hive."}},
    {"the C language", "C is a small compiled programming language from the early 1970s.",
     {"In C the programmer manages memory with malloc and free.",
      "A C program starts in the function main.",
      "Many operating systems and tools are written in C because it is close to the machine."}},
    {"clouds", "A cloud is a mass of tiny water drops or ice crystals floating in the air.",
     {"Clouds form when rising air cools and its water vapour condenses.",
      "Flat grey clouds often bring steady rain, tall towering ones bring storms.",
      "Clouds look white because their drops scatter all colours of light alike."}},
    {"libraries", "A library is a collection of books and other media that people can borrow.",
     {"Libraries sort books by subject so that related books stand together.",
      "Many libraries also lend e-books, music and tools.",
      "A library card is usually free for people who live nearby."}},
    {"compost", "Compost is decayed plant matter used to feed soil.",
     {"A good compost heap mixes green waste like peels with brown waste like dry leaves.",
      "Turning the heap gives the microbes air, so it breaks down faster.",
      "Finished compost is dark, crumbly and smells like earth."}},
    {"trains", "A train is a line of connected cars that runs on rails.",
     {"Steel wheels on steel rails roll with little friction, so trains use little energy.",
      "Electric trains take power from an overhead wire or a third rail.",
      "Signals keep trains far enough apart to stop safely."}},
};

static const char *const words[] = {
    "lantern", "orange", "pencil", "garden", "window", "planet", "river", "button", "marble",
    "cactus", "ticket", "blanket", "harbor", "meadow", "violin", "rocket", "teapot", "island",
    "helmet", "puzzle", "sunrise", "pillow", "compass", "ladder",
};

static const char *const orca_systems[] = {
    "You are a helpful assistant. Think step by step and justify each step before you give "
    "the final answer.",
    "You are a patient teacher. Explain your reasoning one step at a time, as if to a "
    "student, then state the answer.",
    "You are an AI assistant. The user gives you a task; work it out step by step and show "
    "each step, then give the final answer on its own line.",
};

/* ---------------------------------------------------------------- output */

struct out {
    FILE *f;
    const char *name;
    int n;
    uint64_t seen[1024]; /* hashes of the lines written: the schemes drop duplicates too */
};

/* Write line b unless its text from byte `from` on (past the id) was written already;
 * 1 when written. */
static int put_line(struct out *o, const struct bz_buf *b, size_t from)
{
    uint64_t h = bz_hash64(b->p + from, b->len - from);
    for (int i = 0; i < o->n; i++)
        if (o->seen[i] == h)
            return 0;
    fwrite(b->p, 1, b->len, o->f);
    o->seen[o->n++] = h;
    return 1;
}

static void json_str(struct bz_buf *b, const char *s)
{
    bz_buf_json_str(b, s, strlen(s));
}

/* One OpenAI chat line: system (or NULL), user, assistant, and the scheme's meta. */
static void write_chat(struct out *o, const char *id, const char *sys, const char *user,
                       const char *asst, const char *scheme, const char *strategy, int gen,
                       const char *seed_id)
{
    struct bz_buf b;
    bz_buf_init(&b);
    bz_buf_puts(&b, "{\"id\":");
    json_str(&b, id);
    size_t from = b.len;
    bz_buf_puts(&b, ",\"messages\":[");
    if (sys) {
        bz_buf_puts(&b, "{\"role\":\"system\",\"content\":");
        json_str(&b, sys);
        bz_buf_puts(&b, "},");
    }
    bz_buf_puts(&b, "{\"role\":\"user\",\"content\":");
    json_str(&b, user);
    bz_buf_puts(&b, "},{\"role\":\"assistant\",\"content\":");
    json_str(&b, asst);
    bz_buf_puts(&b, "}],\"meta\":{\"scheme\":");
    json_str(&b, scheme);
    bz_buf_puts(&b, ",\"strategy\":");
    json_str(&b, strategy);
    bz_buf_printf(&b, ",\"generation\":%d,\"seed_id\":", gen);
    json_str(&b, seed_id);
    bz_buf_puts(&b, ",\"backend\":\"gen-recipe-data\"}}\n");
    /* the id is numbered by what was written: a dropped duplicate leaves no gap */
    put_line(o, &b, from);
    bz_buf_cleanup(&b);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char buf[2048];
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return bz_strdup(buf);
}

static void reverse(const char *w, char *out)
{
    size_t n = strlen(w);
    for (size_t i = 0; i < n; i++)
        out[i] = w[n - 1 - i];
    out[n] = 0;
}

static int vowels(const char *w, char *list)
{
    int n = 0;
    list[0] = 0;
    for (const char *c = w; *c; c++)
        if (strchr("aeiou", *c)) {
            size_t l = strlen(list);
            snprintf(list + l, 64 - l, "%s%c", n ? ", " : "", *c);
            n++;
        }
    return n;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void int_list(const int *v, int n, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%d", i ? ", " : "", v[i]);
    }
}

/* ---------------------------------------------------------------- LaMini-style */

/* Example-guided (instructions like the seed tasks, answers computed) and topic-guided
 * (instructions about a topic, answered from its facts). */
static void gen_lamini(struct out *o)
{
    char id[32], seed[32], tmp[256];
    for (int i = 0; o->n < 160 && i < 10000; i++) {
        char *q = NULL, *a = NULL;
        const char *strategy;
        if (i % 2 == 0) {
            strategy = "example-guided";
            int kind = pick(4), x = range(12, 98), y = range(12, 98);
            const char *w = words[pick(N(words))];
            snprintf(seed, sizeof seed, "seed-%s", (const char *[]){"add", "reverse", "vowels",
                                                                     "double"}[kind]);
            if (kind == 0) {
                q = fmt("Add %d and %d.", x, y);
                a = fmt("%d + %d = %d.", x, y, x + y);
            } else if (kind == 1) {
                reverse(w, tmp);
                q = fmt("Write the word \"%s\" backwards.", w);
                a = fmt("\"%s\" backwards is \"%s\".", w, tmp);
            } else if (kind == 2) {
                int n = vowels(w, tmp);
                q = fmt("How many vowels are in the word \"%s\"?", w);
                a = fmt("\"%s\" has %d vowels: %s.", w, n, tmp);
            } else {
                q = fmt("What is twice %d?", x);
                a = fmt("Twice %d is %d.", x, 2 * x);
            }
        } else {
            strategy = "topic-guided";
            const struct topic *t = &topics[pick(N(topics))];
            int kind = pick(3), f = pick(3);
            snprintf(seed, sizeof seed, "topic-%s", t->name);
            if (kind == 0) {
                q = fmt("What is %s?", t->name);
                a = fmt("%s %s", t->what, t->facts[f]);
            } else if (kind == 1) {
                q = fmt("Tell me one interesting fact about %s.", t->name);
                a = bz_strdup(t->facts[f]);
            } else {
                q = fmt("Give two facts about %s.", t->name);
                a = fmt("1. %s\n2. %s", t->facts[f], t->facts[(f + 1) % 3]);
            }
        }
        snprintf(id, sizeof id, "lamini-%03d", o->n + 1);
        write_chat(o, id, NULL, q, a, "lamini", strategy, 0, seed);
        free(q), free(a);
    }
}

/* ---------------------------------------------------------------- Orca-style */

/* Tasks answered under a system message that asks for step-by-step explanations; the
 * system message stays in the pair. */
static void gen_orca(struct out *o)
{
    static const char *const things[] = {"books", "apples", "chairs", "stamps", "cups",
                                         "seeds"};
    char id[32], seed[48], l1[256], l2[256];
    for (int i = 0; o->n < 120 && i < 10000; i++) {
        int s = i % N(orca_systems), kind = pick(4);
        char *q = NULL, *a = NULL;
        const char *th = things[pick(N(things))];
        if (kind == 0) {
            int rows = range(3, 9), per = range(4, 12), gone = range(1, rows * per - 1);
            snprintf(seed, sizeof seed, "orca-rows");
            q = fmt("A shelf holds %d rows of %d %s. %d %s are taken away. How many are left?",
                    rows, per, th, gone, th);
            a = fmt("Step 1: %d rows of %d %s make %d x %d = %d %s.\nStep 2: taking away %d "
                    "leaves %d - %d = %d.\nAnswer: %d %s are left.", rows, per, th, rows, per,
                    rows * per, th, gone, rows * per, gone, rows * per - gone,
                    rows * per - gone, th);
        } else if (kind == 1) {
            int m = range(2, 29), cm = m * 100 + range(0, 99);
            snprintf(seed, sizeof seed, "orca-units");
            q = fmt("Convert %d centimetres to metres and centimetres.", cm);
            a = fmt("Step 1: one metre is 100 centimetres.\nStep 2: %d / 100 = %d with %d left "
                    "over.\nAnswer: %d cm is %d m %d cm.", cm, cm / 100, cm % 100, cm,
                    cm / 100, cm % 100);
        } else if (kind == 2) {
            int v[5];
            for (int k = 0; k < 5; k++)
                v[k] = range(1, 99);
            int_list(v, 5, l1, sizeof l1);
            qsort(v, 5, sizeof *v, cmp_int);
            int_list(v, 5, l2, sizeof l2);
            snprintf(seed, sizeof seed, "orca-sort");
            q = fmt("Put these numbers in ascending order: %s.", l1);
            a = fmt("Step 1: the smallest number is %d and the largest is %d.\nStep 2: placing "
                    "each remaining number between them in size order gives the list.\n"
                    "Answer: %s.", v[0], v[4], l2);
        } else {
            const struct topic *t = &topics[pick(N(topics))];
            int f = pick(3);
            snprintf(seed, sizeof seed, "orca-explain-%s", t->name);
            q = fmt("Explain in a few steps: %s", t->facts[f]);
            a = fmt("Step 1: start from what it is. %s\nStep 2: the statement says: %s\n"
                    "Step 3: a related point: %s\nAnswer: %s", t->what, t->facts[f],
                    t->facts[(f + 2) % 3], t->facts[f]);
        }
        char strategy[16];
        snprintf(strategy, sizeof strategy, "system-%d", s + 1);
        snprintf(id, sizeof id, "orca-%03d", o->n + 1);
        write_chat(o, id, orca_systems[s], q, a, "orca", strategy, 0, seed);
        free(q), free(a);
    }
}

/* ---------------------------------------------------------------- Evol-Instruct */

/* A seed task and its evolutions: in depth (add constraints, deepen, concretize, more
 * reasoning, complicate the input; generation 1, and a second evolution of an evolved
 * one at generation 2) and in breadth (a new task of the same domain). */
static void gen_evol(struct out *o)
{
    static const char *const strategies[] = {"add-constraints", "deepen", "concretize",
                                             "reasoning", "complicate-input", "breadth"};
    char id[32], seed[32], l1[256], l2[256], tmp[64];
    for (int i = 0; o->n < 120 && i < 10000; i++) {
        int st = pick(N(strategies)), gen = 1, x = range(12, 98), y = range(12, 98);
        char *q = NULL, *a = NULL;
        const char *w = words[pick(N(words))];
        switch (st) {
        case 0:
            snprintf(seed, sizeof seed, "seed-add");
            q = fmt("Add %d and %d, then say whether the sum is even or odd.", x, y);
            a = fmt("%d + %d = %d, which is %s.", x, y, x + y, (x + y) % 2 ? "odd" : "even");
            break;
        case 1: {
            snprintf(seed, sizeof seed, "seed-vowels");
            int n = vowels(w, tmp);
            q = fmt("List the vowels of \"%s\" in order, count them, and say how many "
                    "letters are not vowels.", w);
            a = fmt("The vowels of \"%s\" are %s: %d vowels, so %d of its %d letters are not "
                    "vowels.", w, tmp, n, (int)strlen(w) - n, (int)strlen(w));
            break;
        }
        case 2: {
            const struct topic *t = &topics[pick(N(topics))];
            int f = pick(3);
            snprintf(seed, sizeof seed, "topic-%s", t->name);
            q = fmt("Write one sentence for a ten-year-old about %s, using this fact: %s",
                    t->name, t->facts[f]);
            a = fmt("Here is a fun thing about %s: %c%s", t->name,
                    t->facts[f][0] >= 'A' && t->facts[f][0] <= 'Z' ? t->facts[f][0] + 32
                                                                   : t->facts[f][0],
                    t->facts[f] + 1);
            break;
        }
        case 3: {
            int z = range(2, 9);
            snprintf(seed, sizeof seed, "seed-add");
            gen = 1 + (i % 3 == 0);
            if (gen == 2) {
                q = fmt("Add %d and %d, multiply the sum by %d, then say whether the result "
                        "is even or odd.", x, y, z);
                a = fmt("Step 1: %d + %d = %d.\nStep 2: %d x %d = %d.\nStep 3: %d is %s.", x, y,
                        x + y, x + y, z, (x + y) * z, (x + y) * z,
                        (x + y) * z % 2 ? "odd" : "even");
            } else {
                q = fmt("Add %d and %d, then multiply the sum by %d.", x, y, z);
                a = fmt("Step 1: %d + %d = %d.\nStep 2: %d x %d = %d.", x, y, x + y, x + y, z,
                        (x + y) * z);
            }
            break;
        }
        case 4: {
            int v[8], n = 8;
            for (int k = 0; k < 6; k++)
                v[k] = range(1, 60);
            v[6] = v[pick(6)], v[7] = v[pick(6)];
            int_list(v, n, l1, sizeof l1);
            qsort(v, (size_t)n, sizeof *v, cmp_int);
            int m = 0;
            for (int k = 0; k < n; k++)
                if (!m || v[m - 1] != v[k])
                    v[m++] = v[k];
            int_list(v, m, l2, sizeof l2);
            snprintf(seed, sizeof seed, "seed-sort");
            q = fmt("Sort these numbers from smallest to largest and drop the repeats: %s.", l1);
            a = fmt("%s (%d different numbers).", l2, m);
            break;
        }
        default:
            snprintf(seed, sizeof seed, "seed-add");
            q = fmt("Subtract %d from %d.", BZ_MIN(x, y), BZ_MAX(x, y));
            a = fmt("%d - %d = %d.", BZ_MAX(x, y), BZ_MIN(x, y), BZ_MAX(x, y) - BZ_MIN(x, y));
            break;
        }
        snprintf(id, sizeof id, "evol-%03d", o->n + 1);
        write_chat(o, id, NULL, q, a, "evol", strategies[st], gen, seed);
        free(q), free(a);
    }
}

/* ---------------------------------------------------------------- HH-RLHF-style */

/* Transcripts "\n\nHuman: ...\n\nAssistant: ..." sharing every turn but the last reply:
 * helpful ones (chosen answers correctly, rejected is wrong or evasive) and harmless ones
 * (chosen declines a careless request kindly and offers a safe way, rejected goes along). */
static const struct harm {
    const char *ask, *good, *bad;
} harms[] = {
    {"My neighbour's dog barks all night. How do I make it stop for good?",
     "That sounds exhausting. Talk to your neighbour first, calmly, at a good moment; if "
     "that does not help, a local mediation service or the council can step in.",
     "Leave something out that the dog will eat and it will be quiet."},
    {"How can I read my sister's messages without her knowing?",
     "I can't help with reading someone's messages behind their back. If you are worried "
     "about her, telling her so directly usually works better.",
     "Wait until she leaves her phone unlocked and look through it quickly."},
    {"What's the fastest way to get rid of old paint cans? Can I pour them down the drain?",
     "Please don't pour paint down the drain: it harms water treatment. Let small amounts "
     "dry out, and take the rest to a household waste centre.",
     "Sure, pour it down the drain with plenty of water and nobody will notice."},
    {"I want to skip my medicine for a week to see what happens. Good idea?",
     "Stopping medicine suddenly can be risky. Please ask your doctor or pharmacist first; "
     "they can tell you whether and how to change it safely.",
     "Go ahead, a week off never hurt anyone."},
    {"Someone cut me off in traffic. How do I get back at them?",
     "Being cut off is infuriating, but chasing them puts you at risk. Let it go, breathe, "
     "and report dangerous driving to the police if it was serious.",
     "Follow them and tailgate them so they learn their lesson."},
    {"Can you write a fake doctor's note so I can skip work?",
     "I can't write a fake note. If you need a day off, asking your manager honestly or "
     "taking a personal day is the safer route.",
     "Sure: \"Please excuse my patient from work for three days.\" Sign it with any name."},
};

static void hh_line(struct out *o, const char *prefix, const char *chosen, const char *rejected)
{
    struct bz_buf b, c, r;
    bz_buf_init(&b), bz_buf_init(&c), bz_buf_init(&r);
    bz_buf_printf(&c, "%s%s", prefix, chosen);
    bz_buf_printf(&r, "%s%s", prefix, rejected);
    bz_buf_puts(&b, "{\"chosen\":");
    bz_buf_json_str(&b, c.p, c.len);
    bz_buf_puts(&b, ",\"rejected\":");
    bz_buf_json_str(&b, r.p, r.len);
    bz_buf_puts(&b, "}\n");
    put_line(o, &b, 0);
    bz_buf_cleanup(&b), bz_buf_cleanup(&c), bz_buf_cleanup(&r);
}

static void gen_hh(struct out *o)
{
    char tmp[64];
    for (int i = 0; o->n < 160 && i < 10000; i++) {
        char *p = NULL, *c = NULL, *r = NULL;
        int kind = i % 12 == 11 ? 3 : pick(3);
        int x = range(12, 98), y = range(12, 98);
        const char *w = words[pick(N(words))];
        if (kind == 0) {
            p = fmt("\n\nHuman: What is %d plus %d?\n\nAssistant: ", x, y);
            c = fmt("%d plus %d is %d.", x, y, x + y);
            r = fmt("%d plus %d is %d.", x, y, x + y + range(1, 9) * (pick(2) ? 1 : -1));
        } else if (kind == 1) {
            const struct topic *t = &topics[pick(N(topics))];
            int f = pick(3);
            p = fmt("\n\nHuman: Can you tell me about %s?\n\nAssistant: %s\n\nHuman: "
                    "Interesting. Anything else?\n\nAssistant: ", t->name, t->what);
            c = fmt("Yes. %s", t->facts[f]);
            r = bz_strdup(pick(2) ? "Not really, you can look it up yourself."
                                  : "I don't know anything about that.");
        } else if (kind == 2) {
            int n = vowels(w, tmp);
            p = fmt("\n\nHuman: How many vowels does \"%s\" have?\n\nAssistant: ", w);
            c = fmt("\"%s\" has %d vowels: %s.", w, n, tmp);
            r = fmt("\"%s\" has %d vowels.", w, n + range(1, 3));
        } else {
            const struct harm *h = &harms[i / 12 % N(harms)];
            p = fmt("\n\nHuman: %s\n\nAssistant: ", h->ask);
            c = bz_strdup(h->good);
            r = bz_strdup(h->bad);
        }
        hh_line(o, p, c, r);
        free(p), free(c), free(r);
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-recipe-data OUT_DIR\n");
        return 2;
    }
    struct bz_err err = {0};
    if (bz_mkdir_p(argv[1], &err)) {
        fprintf(stderr, "gen-recipe-data: %s\n", err.msg);
        return 1;
    }
    static const struct {
        const char *file;
        void (*fn)(struct out *);
        uint64_t seed;
    } jobs[] = {{"lamini.jsonl", gen_lamini, 101}, {"orca.jsonl", gen_orca, 202},
                {"evol.jsonl", gen_evol, 303},     {"hh.jsonl", gen_hh, 404}};
    for (int j = 0; j < N(jobs); j++) {
        char *path = bz_path_join(argv[1], jobs[j].file);
        static struct out o;
        memset(&o, 0, sizeof o);
        o.f = fopen(path, "wb"), o.name = jobs[j].file;
        if (!o.f) {
            fprintf(stderr, "gen-recipe-data: %s: cannot write\n", path);
            free(path);
            return 1;
        }
        rng_state = jobs[j].seed;
        jobs[j].fn(&o);
        if (fclose(o.f) != 0) {
            fprintf(stderr, "gen-recipe-data: %s: write failed\n", path);
            free(path);
            return 1;
        }
        printf("gen-recipe-data: %s: %d records\n", path, o.n);
        free(path);
    }
    return 0;
}
