/*
 * test_rules.c: every rule flag on English and Japanese cases, with the traps that
 * must not fire (code, one-word answers, quoted refusals, translation tasks, glossed
 * terms, "has an AI"), the configuration from JSON (overrides, lists, errors), and
 * the flag names and explanations.
 */
#include <stdlib.h>

#include "dataset/filter.h"
#include "tests/test.h"

/* Flags of a user/assistant pair under rules r (default when NULL). */
static unsigned fl(const struct ds_rules *r, const char *prompt, const char *resp)
{
    struct ds_msg m[2] = {{DS_ROLE_USER, (char *)prompt}, {DS_ROLE_ASSISTANT, (char *)resp}};
    struct ds_record rec = {0};
    rec.msgs = m;
    rec.n_msgs = 2;
    return ds_rules_flags(r ? r : ds_rules_default(), &rec) & ~(unsigned)DS_F_PREF;
}

static unsigned f0(const char *prompt, const char *resp)
{
    return fl(NULL, prompt, resp);
}

static struct ds_rules *rules(const char *json)
{
    struct ds_rules *r = NULL;
    struct bz_err err = {0};
    ASSERT_OK(ds_rules_parse(&r, json, strlen(json), "t.json", &err), &err);
    return r;
}

TEST(ds_rules_names_and_defaults)
{
    for (int b = 0; b < DS_F_NBITS; b++) {
        ASSERT(ds_flag_name(1u << b) != NULL);
        ASSERT(strlen(ds_flag_explain(1u << b)) > 10);
        ASSERT_EQ_INT(ds_flag_parse(ds_flag_name(1u << b)), 1u << b);
    }
    ASSERT(ds_flag_name(1u << DS_F_NBITS) == NULL);
    ASSERT(ds_flag_explain(3) == NULL);
    ASSERT_EQ_INT(ds_flag_parse("nope"), 0);
    const struct ds_rules *d = ds_rules_default();
    /* the compiled-in lists of assets/filters/refusals-{en,ja,zh}.txt */
    ASSERT(ds_rules_refusal_count(d) > 40);
    ASSERT_EQ_INT(d->enabled, DS_F_EMPTY | DS_F_SHORT | DS_F_LONG | DS_F_REFUSAL | DS_F_REPEAT |
                                  DS_F_ECHO | DS_F_LANG | DS_F_CTRL | DS_F_DUP | DS_F_NEARDUP);
    ASSERT_EQ_INT(d->long_chars, 5000);
    ASSERT_NEAR(d->near_threshold, 0.8, 0);
    ASSERT_EQ_INT(d->keep, DS_KEEP_FIRST);
}

TEST(ds_rules_empty_and_short)
{
    ASSERT_EQ_INT(f0("Say something.", ""), DS_F_EMPTY);
    ASSERT_EQ_INT(f0("Say something.", "  \n\t "), DS_F_EMPTY);
    ASSERT_EQ_INT(f0("何か言って。", "\xE3\x80\x80\xC2\xA0"), DS_F_EMPTY); /* U+3000, NBSP */
    ASSERT_EQ_INT(f0("Say something.", "..."), DS_F_SHORT);
    ASSERT_EQ_INT(f0("Say something.", " ? "), DS_F_SHORT);
    ASSERT_EQ_INT(f0("何か言って。", "。。。"), DS_F_SHORT);
    /* traps: one-word and one-digit answers are answers */
    ASSERT_EQ_INT(f0("What is 2 + 2?", "4"), 0);
    ASSERT_EQ_INT(f0("Is 205 prime?", "No."), 0);
    ASSERT_EQ_INT(f0("Capital of France?", "Paris"), 0);
    ASSERT_EQ_INT(f0("日本の首都は？", "東京"), 0);
    ASSERT_EQ_INT(f0("はいかいいえで答えて。", "はい"), 0);
    struct ds_rules *r = rules("{\"short_chars\": 6}");
    ASSERT_EQ_INT(fl(r, "Capital of France?", "Paris"), DS_F_SHORT);
    ASSERT_EQ_INT(fl(r, "Capital of France?", "  Paris.  "), 0); /* 6 once trimmed */
    ASSERT_EQ_INT(fl(r, "日本の首都は？", "東京都です"), DS_F_SHORT); /* code points, not bytes */
    ds_rules_free(r);
}

TEST(ds_rules_long)
{
    size_t n = 5001;
    char *s = malloc(3 * n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    ASSERT_EQ_INT(f0("Write a lot.", s), DS_F_LONG);
    s[n - 1] = '\0';
    ASSERT_EQ_INT(f0("Write a lot.", s) & DS_F_LONG, 0);
    for (size_t i = 0; i < 3000; i++) /* 3000 code points, 9000 bytes: not long */
        memcpy(s + 3 * i, "\xE3\x81\x82", 3);
    s[9000] = '\0';
    ASSERT_EQ_INT(f0("たくさん書いて。", s) & DS_F_LONG, 0);
    struct ds_rules *r = rules("{\"long_chars\": 2000, \"long_prompt_chars\": 100}");
    ASSERT_EQ_INT(fl(r, "たくさん書いて。", s) & DS_F_LONG, DS_F_LONG);
    memset(s, 'q', 101);
    s[101] = '\0';
    ASSERT_EQ_INT(fl(r, s, "Fine."), DS_F_LONG);
    s[100] = '\0';
    ASSERT_EQ_INT(fl(r, s, "Fine."), 0);
    ds_rules_free(r);
    free(s);
}

TEST(ds_rules_refusal_en_ja_and_traps)
{
    ASSERT_EQ_INT(f0("Write a poem.", "As an AI language model, I cannot write poems."),
                  DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("Write a poem.", "AS AN AI LANGUAGE MODEL I do not feel."), DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("Tell me a joke.", "I'm sorry, but I cannot do that."), DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("Tell me a joke.", "Sure! Here goes. Actually, as an AI, I have no humor."),
                  DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("おすすめの本は？", "AI言語モデルとして、私には好みがありません。"),
                  DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("自己紹介して。", "申し訳ありませんが、お答えできません。"), DS_F_REFUSAL);
    ASSERT_EQ_INT(f0("推荐一本书。", "作为一个AI语言模型，我没有个人喜好。"), DS_F_REFUSAL);
    /* traps: quoting the phrase, the instruction asking about it, words that contain it */
    ASSERT_EQ_INT(f0("Why do chatbots sound stiff?",
                     "Many start with \"As an AI language model, I cannot...\", which sounds "
                     "stiff."), 0);
    ASSERT_EQ_INT(f0("What does \"as an AI language model\" mean in a reply?",
                     "It means the writer says it is software: as an AI language model is "
                     "a disclaimer."), 0);
    ASSERT_EQ_INT(f0("Who is she?", "She has an AI assistant and works as an aide."), 0);
    ASSERT_EQ_INT(f0("Who are you?", "I'm an airline pilot from Oslo."), 0);
    ASSERT_EQ_INT(f0("よくある定型文は？", "「AI言語モデルとして」という前置きがよく使われます。"), 0);
    /* the window: a phrase past refusal_window bytes is not looked at */
    struct ds_rules *r = rules("{\"refusal_window\": 16}");
    ASSERT_EQ_INT(fl(r, "Write.", "Here is the text. As an AI language model, I stop."), 0);
    ds_rules_free(r);
    /* own phrases and lists */
    r = rules("{\"refusals\": [\"@ja\", \"i would rather not\"]}");
    ASSERT_EQ_INT(fl(r, "Help.", "I would rather not help."), DS_F_REFUSAL);
    ASSERT_EQ_INT(fl(r, "Poem.", "As an AI language model, I cannot."), 0); /* no @en */
    ASSERT_EQ_INT(fl(r, "本は？", "AI言語モデルとして答えません。"), DS_F_REFUSAL);
    ds_rules_free(r);
}

TEST(ds_rules_repeat)
{
    ASSERT_EQ_INT(f0("Why is the sky blue?",
                     "The sky is blue because of scattering. The sky is blue because of "
                     "scattering. The sky is blue because of scattering. The sky is blue because "
                     "of scattering. The sky is blue because"), DS_F_REPEAT);
    ASSERT_EQ_INT(f0("ありがとうと言って。",
                     "ありがとうありがとうありがとうありがとうありがとうありがとう"),
                  DS_F_REPEAT);
    /* traps: lists and tables repeat a shape, not a run of the same words */
    ASSERT_EQ_INT(f0("Count to ten in words.", "one, two, three, four, five, six, seven, "
                                               "eight, nine, ten"), 0);
    ASSERT_EQ_INT(f0("Multiplication table of 3?", "3 x 1 = 3\n3 x 2 = 6\n3 x 3 = 9\n3 x 4 = 12\n"
                                                   "3 x 5 = 15\n3 x 6 = 18\n3 x 7 = 21"), 0);
    ASSERT_EQ_INT(f0("Say yes three times.", "yes yes yes"), 0);
    struct ds_rules *r = rules("{\"repeat_min_tokens\": 3, \"repeat_min_count\": 3}");
    ASSERT_EQ_INT(fl(r, "Say yes three times.", "yes yes yes"), DS_F_REPEAT);
    ds_rules_free(r);
}

TEST(ds_rules_echo)
{
    ASSERT_EQ_INT(f0("Explain how rainbows form.", "Explain how rainbows form."), DS_F_ECHO);
    ASSERT_EQ_INT(f0("Explain how rainbows form.", "  explain how   RAINBOWS form"), DS_F_ECHO);
    ASSERT_EQ_INT(f0("Explain how rainbows form in the sky.",
                     "Explain how rainbows form in the sky. Light."), DS_F_ECHO);
    ASSERT_EQ_INT(f0("虹ができる仕組みを説明してください。", "虹ができる仕組みを説明してください。"),
                  DS_F_ECHO);
    /* the instruction of an instruction + input pair, copied back */
    ASSERT_EQ_INT(f0("Summarize the following article in one line.\n\nThe article text.",
                     "Summarize the following article in one line."), DS_F_ECHO);
    /* traps: restating a short question, corrections, repeat-after-me, long answers */
    ASSERT_EQ_INT(f0("Why?", "Why not."), 0);
    ASSERT_EQ_INT(f0("Correct the grammar.\n\nshe go to school every days",
                     "She goes to school every day."), 0);
    ASSERT_EQ_INT(f0("Repeat after me: the quick brown fox", "the quick brown fox"), 0);
    ASSERT_EQ_INT(f0("Explain how rainbows form.",
                     "Explain how rainbows form: sunlight enters raindrops, bends, reflects "
                     "inside them and leaves split into colors, which we see as an arc."), 0);
}

TEST(ds_rules_lang_en_ja_and_traps)
{
    const char *en_long = "The capital of Japan is Tokyo, a very large city on Honshu.";
    const char *ja_long = "日本の首都は東京で、本州にあるとても大きな都市です。";
    ASSERT_EQ_INT(f0("日本の首都はどこですか？", en_long), DS_F_LANG);
    ASSERT_EQ_INT(f0("What is the capital of Japan?", ja_long), DS_F_LANG);
    ASSERT_EQ_INT(f0("日本の首都はどこですか？", ja_long), 0);
    ASSERT_EQ_INT(f0("What is the capital of Japan?", en_long), 0);
    /* Chinese (Han only, long) answering a Japanese instruction */
    ASSERT_EQ_INT(f0("日本の首都はどこですか？教えてください。",
                     "日本的首都是东京，位于本州岛，是一个非常大的城市，人口众多，交通发达，经济繁荣，"
                     "文化丰富，历史悠久。"), DS_F_LANG);
    /* traps: translation tasks, short answers, code (fenced or not), glossed terms,
     * kanji-only Japanese, an instruction whose input is in another language */
    ASSERT_EQ_INT(f0("次の日本語を英語に翻訳してください。\n\n今日はとても暑いですね。",
                     "It's very hot today, isn't it? Please stay cool."), 0);
    ASSERT_EQ_INT(f0("Translate into Japanese: good morning, everyone", ja_long), 0);
    ASSERT_EQ_INT(f0("日本の首都は？", "Tokyo"), 0);
    ASSERT_EQ_INT(f0("リストを逆順に並べる方法を教えて。",
                     "```python\nitems.reverse()\nprint(items)\n```"), 0);
    ASSERT_EQ_INT(f0("リストを大きい順に並べる方法は？",
                     "def reverse_sort(lst):\n    return sorted(lst, reverse=True)"), 0);
    ASSERT_EQ_INT(f0("冬に関連する言葉を五つ挙げてください。",
                     "雪(snow), 寒さ(cold), 暖炉(fireplace), 冬至(winter solstice), 氷(ice)"), 0);
    ASSERT_EQ_INT(f0("ペアが類語になるように書いてください。", "不安定 : 混乱 :: 変革 : 革命"), 0);
    ASSERT_EQ_INT(f0("次の文章を要約してください。\n\nThe meeting moved to Friday because the "
                     "room was booked; everyone agreed to send slides by Thursday.",
                     "会議は部屋の予約のため金曜日に変更され、スライドは木曜日までに送ることになりました。"),
                  0);
    struct ds_rules *r = rules("{\"lang_skip_words\": []}");
    ASSERT_EQ_INT(fl(r, "Translate into Japanese: good morning, everyone", ja_long), DS_F_LANG);
    ds_rules_free(r);
}

TEST(ds_rules_ctrl)
{
    ASSERT_EQ_INT(f0("Say hi.", "Hi\x01 there"), DS_F_CTRL);
    ASSERT_EQ_INT(f0("Say hi.", "Hi \x7F there"), DS_F_CTRL);
    ASSERT_EQ_INT(f0("Say hi.", "Hi \xC2\x85 there"), DS_F_CTRL);        /* C1 NEL */
    ASSERT_EQ_INT(f0("Say hi.", "Hi \xEF\xBF\xBD there"), DS_F_CTRL);    /* U+FFFD */
    ASSERT_EQ_INT(f0("Say hi.", "Hi \xE3\x81 there"), DS_F_CTRL);        /* cut sequence */
    ASSERT_EQ_INT(f0("Say \x1B[1mhi.", "Hi there"), DS_F_CTRL);          /* in the prompt */
    ASSERT_EQ_INT(f0("Say hi.", "Hi\tthere\r\nfriend \xF0\x9F\x98\x80 \xC3\xA9"), 0);
    ASSERT_EQ_INT(f0("Say hi.", "\x02"), DS_F_CTRL | DS_F_SHORT);
    /* the 8-byte fast path: controls and sequences at every offset around its words */
    ASSERT_EQ_INT(f0("Say hi.", "0123456789abcdef\x01 and more"), DS_F_CTRL);
    ASSERT_EQ_INT(f0("Say hi.", "0123456789abcdef ok \x7F"), DS_F_CTRL);
    ASSERT_EQ_INT(f0("挨拶して。", "0123456こんにちは、元気です。\x01"), DS_F_CTRL);
    ASSERT_EQ_INT(f0("挨拶して。", "0123456こんにちは、元気ですか。今日は晴れです。"), 0);
    ASSERT_EQ_INT(f0("挨拶して。", "01234567\xE3\x81"), DS_F_CTRL); /* cut at the end */
    ASSERT_EQ_INT(f0("挨拶して。", "こんにちは"), 0);
}

TEST(ds_rules_config_errors_and_overrides)
{
    struct ds_rules *r = NULL;
    struct bz_err err = {0};
    const char *bad[] = {
        "[1]", "{\"nope\": 1}", "{\"flags\": [\"pref\"]}", "{\"flags\": \"empty\"}",
        "{\"long_chars\": -1}", "{\"long_chars\": 1.5}", "{\"near_threshold\": 0}",
        "{\"refusals\": [\"@xx\"]}", "{\"refusals\": [\"a\"]}", "{\"shingle\": \"bytes\"}",
        "{\"keep\": \"last\"}", "{\"lang_skip_words\": [\"\"]}", "{\"echo_share\": 2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = ds_rules_parse(&r, bad[i], strlen(bad[i]), "t.json", &err);
        ASSERT(rc < 0);
        ASSERT(r == NULL);
        ASSERT(strncmp(err.msg, "t.json:", 7) == 0);
    }
    /* overriding a few keys keeps the rest; comments are ignored */
    r = rules("{\"_note\": \"mine\", \"flags\": [\"refusal\", \"neardup\"], \"keep\": \"longest\","
              " \"shingle\": \"char\", \"near_threshold\": 0.9}");
    ASSERT_EQ_INT(r->enabled, DS_F_REFUSAL | DS_F_NEARDUP);
    ASSERT_EQ_INT(r->keep, DS_KEEP_LONGEST);
    ASSERT_EQ_INT(r->shingle, DS_SHINGLE_CHAR);
    ASSERT_EQ_INT(r->long_chars, 5000);
    ASSERT_EQ_INT(ds_rules_refusal_count(r), ds_rules_refusal_count(ds_rules_default()));
    ASSERT_EQ_INT(fl(r, "x", ""), 0);    /* empty is off */
    ASSERT_EQ_INT(fl(r, "Poem.", "As an AI language model, no."), DS_F_REFUSAL);
    ds_rules_free(r);
    const char *path = test_write("r.json", "{\"short_chars\": 3}", 18);
    ASSERT_OK(ds_rules_load(&r, path, &err), &err);
    ASSERT_EQ_INT(r->short_chars, 3);
    ds_rules_free(r);
    ASSERT(ds_rules_load(&r, test_tmp("missing.json"), &err) < 0);
}

TEST(ds_rules_record_flags_via_dataset_api)
{
    /* ds_record_flags (the analysis pass) uses the same default rules */
    struct ds_record rec;
    struct bz_err err = {0};
    const char *j = "{\"instruction\":\"日本の首都はどこですか？\",\"input\":\"\",\"output\":"
                    "\"The capital of Japan is Tokyo, a very large city on Honshu.\"}";
    ASSERT_EQ_INT(ds_parse_record(j, strlen(j), DS_FMT_UNKNOWN, 0, "x", 1, &rec, &err), 1);
    ASSERT_EQ_INT(ds_record_flags(&rec), DS_F_LANG);
    ds_record_cleanup(&rec);
}
