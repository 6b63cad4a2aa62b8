#!/usr/bin/env bash
# judge_full: the whole MT-Bench-style loop on stories260K. Answers to the shipped
# questions from the base model and from a LoRA adapter trained here (`bezoar train`),
# both turns, resumable (a torn last line is cut off and redone); graded single and
# pairwise by `bezoar serve` through the openai: backend, resumable without
# duplicates; unparsable verdicts are rows with score -1 (a 260K-parameter story model
# does not write "[[N]]"), counted, shown, and re-graded alone with --regrade-failed;
# shown as a table, JSON and a radar.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
M=$PWD/../shared/data/models/stories260K.gguf
[ -f "$M" ] || { echo "../shared/data is absent: skipped"; exit 77; }
Q=$PWD/assets/questions.jsonl
tmp=$(mktemp -d /tmp/bezoar-judge-XXXXXX)
SERVE_PID=
cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

# an adapter, briefly trained on the demo pairs
"$BIN" train -m "$M" --data "$OLDPWD/assets/demo/pairs.jsonl" --status all --template alpaca \
    --seq 64 --batch 4 --max-steps 12 --save-every 0 --rank 4 --alpha 8 --lr 3e-3 --seed 1 \
    --json --out runs/sft > train.out 2> train.err || { cat train.err; fail "train"; }
[ -f runs/sft/adapter.gguf ] || fail "no adapter.gguf"

# answers: base (resumed after a crash that left a torn line) and base+adapter
"$BIN" judge answer --questions "$Q" --model "local:$M" --template alpaca --name base \
    --max-tokens 24 --limit 10 -o base.jsonl 2> a.err || { cat a.err; fail "answer"; }
[ "$(wc -l < base.jsonl)" -eq 10 ] || fail "10 answers expected"
printf '{"question_id":11,"answer_id":"torn","model_id":"ba' >> base.jsonl
"$BIN" judge answer --questions "$Q" --model "local:$M" --template alpaca --name base \
    --max-tokens 24 -o base.jsonl 2> a.err || { cat a.err; fail "answer resume"; }
grep -q "cut off a torn last line" a.err || { cat a.err; fail "torn line"; }
grep -q "14 answered, 10 already there, 0 failed" a.err || { cat a.err; fail "resume counts"; }
[ "$(wc -l < base.jsonl)" -eq 24 ] || fail "24 answers expected"
[ "$(grep -c '"model_id":"base"' base.jsonl)" -eq 24 ] || fail "model ids"
[ "$(cut -d, -f1 base.jsonl | sort -u | wc -l)" -eq 24 ] || fail "duplicate answers"
"$BIN" judge answer --questions "$Q" --model "local:$M" --template alpaca --name base \
    --max-tokens 24 -o base.jsonl 2> a.err
grep -q "0 answered, 24 already there" a.err || { cat a.err; fail "nothing to redo"; }
"$BIN" judge answer --questions "$Q" --model "local:$M+runs/sft/adapter.gguf" --template alpaca \
    --name base+sft --max-tokens 24 --json -o sft.jsonl > a.ev 2> a.err || { cat a.err; fail "answer sft"; }
tail -1 a.ev | grep -q '"event":"done","answered":24,"failed":0' || { cat a.ev; fail "sft events"; }
# two turns each, the adapter changes the answers
[ "$(grep -c '"turns":\["[^"]*",' sft.jsonl)" -ge 1 ] || fail "two turns"
cmp -s <(cut -d'"' -f16- base.jsonl) <(cut -d'"' -f16- sft.jsonl) && fail "the adapter changed nothing"

# the judge: bezoar serve on a free port, through openai:
"$BIN" serve -m "$M" --template alpaca --port 0 --parallel 2 --lora sft=runs/sft/adapter.gguf \
    > serve.out 2> serve.err &
SERVE_PID=$!
for _ in $(seq 100); do [ -s serve.out ] && break; sleep 0.1; done
URL=$(head -1 serve.out)
case "$URL" in http://127.0.0.1:*/v1) ;; *) cat serve.err; fail "serve URL '$URL'";; esac
J="openai:$URL#stories260K"

# answers through the server equal the in-process ones (greedy categories: reasoning)
grep -E '"question_id": ?(7|8),' "$Q" > q78.jsonl
[ "$(wc -l < q78.jsonl)" -eq 2 ] || fail "questions 7 and 8"
"$BIN" judge answer --questions q78.jsonl --model "openai:$URL#sft" --name base+sft \
    --max-tokens 24 -o remote.jsonl 2> a.err || { cat a.err; fail "answer through serve"; }
for id in 7 8; do
    r=$(grep "\"question_id\":$id," remote.jsonl | sed 's/.*"choices"://; s/,"tstamp".*//')
    l=$(grep "\"question_id\":$id," sft.jsonl | sed 's/.*"choices"://; s/,"tstamp".*//')
    [ -n "$r" ] && [ "$r" = "$l" ] || fail "question $id: served '$r' vs local '$l'"
done

"$BIN" judge grade --questions "$Q" --answers base.jsonl sft.jsonl --judge "$J" --mode single \
    --max-tokens 12 --parallel 2 --json -o single.jsonl > g.ev 2> g.err || { cat g.err; fail "grade"; }
[ "$(wc -l < single.jsonl)" -eq 96 ] || fail "96 single rows expected"
tail -1 g.ev | grep -q '"event":"done","graded":96,"errors":0,"rows":96' || { cat g.ev; fail "grade events"; }
grep -q '"judge":\["stories260K","bezoar-single-ref-multi"\]' single.jsonl || fail "reference multi-turn prompt"
grep '"question_id":7,' single.jsonl | grep '"turn":1' | grep -q 'Anna > Ben > Chloe' ||
    fail "reference answer in the math/reasoning prompt"
grep '"question_id":1,' single.jsonl | grep '"turn":2' | grep -q 'exactly three sentences' ||
    fail "turn 2 sees the whole conversation"
failed=$(grep -c '"score":-1,' single.jsonl || true)
# resume: nothing left, no duplicates
"$BIN" judge grade --questions "$Q" --answers base.jsonl sft.jsonl --judge "$J" --mode single \
    -o single.jsonl 2> g.err || { cat g.err; fail "grade resume"; }
grep -q "0 graded, 0 judge errors; 96 rows, $failed with an unreadable verdict" g.err ||
    { cat g.err; fail "resume"; }
# re-grade the failed rows of question 1 alone (2 models x 2 turns), in place
if [ "$failed" -eq 96 ]; then
    cp single.jsonl before.jsonl
    "$BIN" judge grade --questions "$Q" --answers base.jsonl sft.jsonl --judge "$J" --mode single \
        --max-tokens 12 --limit 1 --regrade-failed -o single.jsonl 2> g.err ||
        { cat g.err; fail "regrade single"; }
    grep -q "4 graded, 0 judge errors; 96 rows" g.err || { cat g.err; fail "regrade single counts"; }
    [ "$(diff before.jsonl single.jsonl | grep -c '^>')" -eq 4 ] || fail "4 rows replaced"
    [ "$(diff before.jsonl single.jsonl | grep '^>' | grep -vc '"question_id":1,')" -eq 0 ] ||
        fail "only question 1 re-graded"
fi

# replaced prompts (--prompts, FastChat's layout): used, and named in the rows
cat > prompts.jsonl <<'P'
{"name": "my-single", "type": "single", "system_prompt": "Grade.", "prompt_template": "MY-PROMPT [Q] {question} [A] {answer} Rating?", "output_format": "[[rating]]"}
P
"$BIN" judge grade --questions "$Q" --answers base.jsonl --judge "$J" --mode single \
    --prompts prompts.jsonl --max-tokens 4 --limit 1 -o custom.jsonl 2> c.err && fail "multi-turn prompt missing"
grep -q "no single multi-turn judge prompt" c.err || { cat c.err; fail "missing prompt message"; }
echo '{"name": "my-multi", "type": "single", "prompt_template": "MY-MULTI {question_1} {answer_1} {question_2} {answer_2}"}' >> prompts.jsonl
"$BIN" judge grade --questions "$Q" --answers base.jsonl --judge "$J" --mode single \
    --prompts prompts.jsonl --max-tokens 4 --limit 1 -o custom.jsonl 2> c.err || { cat c.err; fail "custom prompts"; }
grep '"turn":1' custom.jsonl | grep -q '"judge":\["stories260K","my-single"\],"user_prompt":"MY-PROMPT \[Q\] Write a short postcard' ||
    { cat custom.jsonl; fail "custom prompt not used"; }
grep '"turn":2' custom.jsonl | grep -q '"user_prompt":"MY-MULTI ' || fail "custom multi-turn prompt"

# pairwise against the baseline (the first 8 questions), each pair judged in both orders
"$BIN" judge grade --questions "$Q" --answers base.jsonl sft.jsonl --judge "$J" --mode pairwise \
    --baseline base --max-tokens 12 --parallel 2 --limit 8 -o pair.jsonl 2> p.err ||
    { cat p.err; fail "pairwise"; }
[ "$(wc -l < pair.jsonl)" -eq 16 ] || fail "16 pairwise rows expected"
[ "$(grep -c '"model_1":"base+sft","model_2":"base"' pair.jsonl)" -eq 16 ] || fail "baseline is model_2"
grep -q '"g1_user_prompt":"[^"]*<assistant_a>\\n' pair.jsonl || fail "g1 prompt"
grep -q '"judge":\["stories260K","bezoar-pair-ref-multi"\]' pair.jsonl || fail "pairwise ref prompt"
# re-grade the failed rows alone: the same rows, one per key
pfailed=$(grep -c '"g[12]_winner":"error"' pair.jsonl || true)
if [ "$pfailed" -gt 0 ]; then
    "$BIN" judge grade --questions "$Q" --answers base.jsonl sft.jsonl --judge "$J" --mode pairwise \
        --baseline base --max-tokens 12 --parallel 2 --limit 8 --regrade-failed -o pair.jsonl \
        2> p.err || { cat p.err; fail "regrade"; }
    grep -q "$pfailed graded, 0 judge errors; 16 rows" p.err || { cat p.err; fail "regrade counts"; }
    [ "$(wc -l < pair.jsonl)" -eq 16 ] || fail "regrade duplicated rows"
fi

# show: table, JSON (n + failed = 48 per model), radar at 80 columns
"$BIN" judge show single.jsonl pair.jsonl > show.txt
grep -Eq '^base +' show.txt && grep -Eq '^base\+sft +base +' show.txt || { cat show.txt; fail "table"; }
"$BIN" judge show single.jsonl --json > show.json
grep -o '"n":[0-9]*,"failed":[0-9]*' show.json | awk -F'[:,]' '{ if ($2 + $4 != 48) exit 1 }' ||
    { cat show.json; fail "rows per model"; }
NO_COLOR=1 BEZOAR_CHART=braille "$BIN" judge show single.jsonl --radar --width 80 --height 24 > radar.txt
grep -q "humanities" radar.txt && grep -q "\[2\] base+sft" radar.txt || { cat radar.txt; fail "radar"; }
kill "$SERVE_PID"; wait "$SERVE_PID" || true; SERVE_PID=
echo "judge_full: ok ($failed of 96 single verdicts unreadable, as expected of stories260K)"
