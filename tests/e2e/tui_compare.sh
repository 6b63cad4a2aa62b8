# Compare in a real terminal: train a small adapter, open `bezoar compare`, both
# columns fill, the differing words are highlighted, a blind vote is recorded for
# the real side behind the shown one, and exported as a DPO pair.
. tests/e2e/lib/tmux.sh
MODEL=""
[ -f assets/demo-model.gguf ] && MODEL="$PWD/assets/demo-model.gguf"
[ -z "$MODEL" ] && [ -f ../shared/data/models/stories260K.gguf ] && MODEL="$(cd ../shared/data/models && pwd)/stories260K.gguf"
[ -n "$MODEL" ] || skip "no model (assets/demo-model.gguf or ../shared/data/models/stories260K.gguf)"
head -n 40 assets/demo/pairs.jsonl > "$TMP/d.jsonl"
(cd "$TMP" && "$BIN" train -m "$MODEL" --data d.jsonl --status all --out runs/a --template alpaca \
    --epochs 3 --seq 128 --lr 3e-3 --quiet) || fail "training the adapter failed"
[ -f "$TMP/runs/a/adapter/adapter_model.safetensors" ] || fail "no adapter"

start 120 40 "$BIN" compare -m "$MODEL" --lora runs/a/adapter --template alpaca d.jsonl
wait_for "Compare ·"
keys v
wait_for "blind mode on"
keys Enter
wait_for "A (hidden until you vote)"
expect "B (hidden until you vote)"
for i in $(seq 1 100); do
    [ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] && break
    sleep 0.1
done
[ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] || fail "both answers did not finish"
# differing words are drawn in reverse video
tmux -L "$SOCK" capture-pane -e -p -t t | grep -q $'\e\[7m' || fail "no highlighted difference"
keys a
wait_for "vote: a"
wait_gone "hidden until you vote"
if screen | grep -q "A · base + runs/a/adapter"; then want=b; else want=a; fi
keys q
wait_for "[exit 0]"
grep -q "\"vote\":\"$want\"" "$TMP/d.jsonl.bezoar/votes.jsonl" || \
    fail "the vote on the shown A should be stored as $want: $(cat "$TMP/d.jsonl.bezoar/votes.jsonl")"
(cd "$TMP" && "$BIN" data export d.jsonl --prefs --format dpo -o prefs.jsonl) || fail "export failed"
[ "$(wc -l < "$TMP/prefs.jsonl")" = 1 ] || fail "expected one preference pair"
grep -q '"prompt":' "$TMP/prefs.jsonl" && grep -q '"chosen":' "$TMP/prefs.jsonl" || fail "bad pair"
echo "compare: streamed, highlighted, blind vote un-shuffled ($want), exported: ok"
