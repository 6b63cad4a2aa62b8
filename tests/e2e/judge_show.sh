#!/usr/bin/env bash
# bezoar judge show on hand-made judgment files: the radar for known inputs equals the
# stored screens (braille and ASCII, 80x24 and 120x40, no colour), --json equals the
# stored numbers, categories come from --questions for score-only rows, FastChat
# single and pairwise rows import, bad lines are named and skipped, exit codes.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
EXP=tests/judge/expected
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for mode in braille ascii; do
    for size in 80x24 120x40; do
        NO_COLOR=1 BEZOAR_CHART=$mode "$BIN" judge show "$EXP/judgments-radar.jsonl" --radar \
            --width "${size%x*}" --height "${size#*x}" > "$tmp/radar.txt"
        diff -u "$EXP/radar-$mode-$size.txt" "$tmp/radar.txt" ||
            { echo "radar $mode $size differs"; exit 1; }
        # it fits the screen it was given
        [ "$(wc -l < "$tmp/radar.txt")" -le "${size#*x}" ] || { echo "too tall"; exit 1; }
        [ "$(LC_ALL=C.UTF-8 wc -L < "$tmp/radar.txt")" -le "${size%x*}" ] ||
            { echo "too wide"; exit 1; }
    done
done
# colours: one ANSI colour per model, and a legend; none with NO_COLOR
BEZOAR_COLOR=always BEZOAR_CHART=braille "$BIN" judge show "$EXP/judgments-radar.jsonl" --radar \
    --width 80 --height 24 > "$tmp/color.txt"
for c in 31 32 34; do grep -q $'\x1b\\['"0;${c}m" "$tmp/color.txt" || { echo "no colour $c"; exit 1; }; done
NO_COLOR=1 BEZOAR_COLOR=always "$BIN" judge show "$EXP/judgments-radar.jsonl" --radar \
    --width 80 --height 24 | grep -q $'\x1b' && { echo "colour despite NO_COLOR"; exit 1; }

"$BIN" judge show "$EXP/judgments-radar.jsonl" --json > "$tmp/show.json"
diff -u "$EXP/show-radar.json" "$tmp/show.json"

# score-only rows, categories from the question file; a -1 row; a bad line
cat > "$tmp/q.jsonl" <<'Q'
{"question_id": 1, "category": "math", "turns": ["a", "b"], "reference": ["1", "2"]}
{"question_id": 2, "category": "writing", "turns": ["c", "d"]}
Q
cat > "$tmp/s.jsonl" <<'S'
{"question_id": 1, "model": "m", "score": 4, "turn": 1}
{"question_id": 1, "model": "m", "score": -1, "turn": 2}
{"question_id": 2, "model": "m", "score": 9, "turn": 1}
{"question_id": 2, "model": "m", "score": 8.5, "turn": 2}
{"question_id": 2, "model": "m", "score": 8.5
S
"$BIN" judge show "$tmp/s.jsonl" --questions "$tmp/q.jsonl" --json > "$tmp/s.json" 2> "$tmp/err"
grep -q '"score":7.166666666666667,"turn1":6.5,"turn2":8.5,"n":3,"failed":1,"categories":{"writing":8.75,"math":4}' \
    "$tmp/s.json" || { cat "$tmp/s.json"; exit 1; }
grep -q "s.jsonl:5:.*invalid JSON" "$tmp/err" || { cat "$tmp/err"; exit 1; }
grep -q "1 bad line skipped" "$tmp/err" || { cat "$tmp/err"; exit 1; }

# FastChat rows: judge as [model, prompt], pairwise winners already mapped
cat > "$tmp/fc.jsonl" <<'F'
{"question_id": 81, "model": "alpaca-13b", "judge": ["gpt-4", "single-v1"], "user_prompt": "[Instruction]\n...", "judgment": "The response ... Rating: [[4]]", "score": 4, "turn": 1, "tstamp": 1687221890.5447497}
{"question_id": 81, "model_1": "alpaca-13b", "model_2": "gpt-3.5-turbo", "g1_winner": "model_2", "g2_winner": "model_2", "judge": ["gpt-4", "pair-v2"], "g1_user_prompt": "x", "g1_judgment": "[[B]]", "g2_user_prompt": "y", "g2_judgment": "[[A]]", "turn": 1, "tstamp": 1687222075.2}
{"question_id": 82, "model_1": "alpaca-13b", "model_2": "gpt-3.5-turbo", "g1_winner": "model_1", "g2_winner": "model_2", "judge": ["gpt-4", "pair-v2"], "turn": 1, "tstamp": 1}
{"question_id": 83, "model_1": "alpaca-13b", "model_2": "gpt-3.5-turbo", "g1_winner": "error", "g2_winner": "model_2", "judge": ["gpt-4", "pair-v2"], "turn": 1, "tstamp": 1}
F
"$BIN" judge show "$tmp/fc.jsonl" > "$tmp/fc.txt"
grep -Eq '^alpaca-13b +4\.00 ' "$tmp/fc.txt" || { cat "$tmp/fc.txt"; exit 1; }
grep -Eq '^alpaca-13b +gpt-3.5-turbo +0 +1 +1 +1 +0\.00 +0\.25$' "$tmp/fc.txt" ||
    { cat "$tmp/fc.txt"; exit 1; }

# exit codes: usage 2, unreadable 1, nothing to show 1
set +e
"$BIN" judge show > /dev/null 2>&1; [ $? -eq 2 ] || { echo "no files: want 2"; exit 1; }
"$BIN" judge show --bogus x > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad option: want 2"; exit 1; }
"$BIN" judge show "$tmp/none.jsonl" 2> "$tmp/err" > /dev/null; [ $? -eq 1 ] || exit 1
grep -q "none.jsonl" "$tmp/err" || { cat "$tmp/err"; exit 1; }
: > "$tmp/empty.jsonl"
"$BIN" judge show "$tmp/empty.jsonl" > /dev/null 2>&1; [ $? -eq 1 ] || { echo "empty: want 1"; exit 1; }
"$BIN" judge nope > /dev/null 2>&1; [ $? -eq 2 ] || { echo "subcommand: want 2"; exit 1; }
set -e
echo "judge_show: ok"
