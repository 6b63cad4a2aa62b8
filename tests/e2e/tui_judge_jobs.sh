# Jobs from the Judge view: `a` answers the questions with the base and the
# fine-tuned demo model, `G` grades the answers with a judge; the view follows the
# jobs and reloads the judgments when grading ends (the tiny judge writes no
# [[rating]], so every row shows as a failed parse, counted, not averaged).
. tests/e2e/lib/tmux.sh
[ -f assets/demo-model.gguf ] || fail "missing assets/demo-model.gguf"
M="$PWD/assets/demo-model.gguf"
head -n 2 assets/questions.jsonl > "$TMP/q.jsonl"
head -n 30 assets/demo/pairs.jsonl > "$TMP/d.jsonl"
(cd "$TMP" && "$BIN" train -m "$M" --data d.jsonl --status all --out runs/tuned --max-steps 4 \
    --seq 128 --quiet) || fail "training failed"
start 120 40 env BEZOAR_QUESTIONS="$TMP/q.jsonl" BEZOAR_JUDGE="local:$M" "$BIN" d.jsonl
wait_for "pending"
keys 4
wait_for "no judgment files"
keys a
wait_for "started answer-" 10
for i in $(seq 1 600); do
    [ -s "$TMP/answers/tuned.jsonl" ] && [ -s "$TMP/answers/demo-model.jsonl" ] && \
        [ "$(wc -l < "$TMP/answers/tuned.jsonl")" = 2 ] && \
        [ "$(wc -l < "$TMP/answers/demo-model.jsonl")" = 2 ] && break
    sleep 0.2
done
[ "$(wc -l < "$TMP/answers/tuned.jsonl" 2>/dev/null)" = 2 ] || fail "no answers from the tuned model"
sleep 1
keys G
wait_for "started grade-" 10
wait_for "2 models" 180
expect "tuned"
expect "demo-model"
keys q
wait_for "[exit 0]" 20
grep -q '"score": *-1' "$TMP/judgments/grades.jsonl" || grep -q '"score":-1' "$TMP/judgments/grades.jsonl" \
    || fail "expected the tiny judge's rows as failed parses"
echo "judge view jobs: answer, grade, reload: ok"
