# A run started from the command line, stopped, then resumed from the Train view: the
# view follows the resumed worker from its first new event (it followed events.jsonl
# before, the resumed worker writes worker.out) and shows it through to the end.
. tests/e2e/lib/tmux.sh
MODEL="$PWD/assets/demo-model.gguf"
[ -f "$MODEL" ] || skip "no assets/demo-model.gguf"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
cd "$TMP"
"$BIN" train -m "$MODEL" --data d.jsonl --status all --out runs/cli --template alpaca \
    --max-steps 26 --save-every 5 --seq 128 --batch 2 --threads 1 --quiet &
pid=$!
for i in $(seq 1 600); do
    grep -q '"step":22,' runs/cli/events.jsonl 2>/dev/null && break
    sleep 0.1
done
grep -q '"step":22,' runs/cli/events.jsonl || fail "the CLI run did not reach step 22"
kill -TERM $pid
wait $pid
grep -q '"event":"done".*"stopped":true' runs/cli/events.jsonl || fail "no stopped done event"
start 120 40 "$BIN" d.jsonl
keys 2
wait_for "cli · stopped"
keys R
wait_for "cli · running" 20
wait_for "cli · done" 240
wait_for "step 26/26"
expect "done · adapter:"
keys q
wait_for "[exit 0]"
echo "a CLI run resumed from the Train view followed to its end: ok"
