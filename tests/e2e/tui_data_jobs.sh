# The Data view runs the automatic filters (!) and the judge's scores (*) as jobs on
# its own file and opens the file again when they end: the suggestions show and filter,
# the scores count; without BEZOAR_JUDGE scoring says what it needs.
. tests/e2e/lib/tmux.sh
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
start 120 40 "$BIN" d.jsonl
wait_for "297 pending"
keys '*'
wait_for "scoring needs a judge: set BEZOAR_JUDGE"
keys '!'
wait_for "done: 21 suggested rejects" 60
wait_for "297 pending"
keys F S Escape
wait_for "21 shown"
grep -c '"op":"suggest"' "$TMP/d.jsonl.bezoar/journal" >/dev/null || fail "no suggestions in the journal"
keys q
wait_for "[exit 0]"

M="$PWD/assets/demo-model.gguf"
[ -f "$M" ] || fail "no assets/demo-model.gguf (shipped in the repository)"
{
    head -12 assets/demo/pairs.jsonl >"$TMP/s.jsonl"
    start 120 40 env BEZOAR_JUDGE="local:$M" "$BIN" s.jsonl
    wait_for "12 pending"
    keys '*'
    wait_for "score-" 10
    wait_for "scoring done" 120
    wait_for " scored" 30
    [ -f "$TMP/runs/$(ls "$TMP/runs" | grep '^score-' | head -1)/worker.out" ] || fail "no score job output"
    grep -q '"event":"done"' "$TMP"/runs/score-*/worker.out || fail "the score job did not finish"
    keys q
    wait_for "[exit 0]"
}
echo "filter and score jobs from the Data view: ok"
