# The Train view on a real recipe run (demo model, 2 tiny stages: SFT then DPO) stopped
# by SIGTERM in its DPO stage: shown as stopped in stage 2/2 with stage 1 finished; R
# resumes it (the same recipe command) and the view follows it to "recipe done" with
# the DPO stage's reward charts.
. tests/e2e/lib/tmux.sh
A=$PWD/assets
[ -f "$A/demo-model.gguf" ] || skip "assets/demo-model.gguf is absent"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
cat >"$TMP/r.json" <<JSON
{"name": "two", "model": "$A/demo-model.gguf",
 "defaults": {"status": "all", "template": "alpaca", "targets": "q,v", "rank": 4, "alpha": 8,
              "batch": 2, "seq": 96, "max_steps": 6, "eval_split": 0.1, "eval_every": 2,
              "save_every": 1, "seed": 3},
 "stages": [{"name": "sft", "method": "sft", "data": "$A/demo/recipe/hh.jsonl"},
            {"name": "pref", "method": "dpo", "data": "$A/demo/recipe/hh.jsonl", "beta": 0.2}]}
JSON
cd "$TMP"
"$BIN" train --recipe r.json --out runs/two --threads 2 --quiet 2>cli.err &
pid=$!
for i in $(seq 1 1200); do
    grep -q '"step":2,' runs/two/02-pref/events.jsonl 2>/dev/null && break
    sleep 0.05
done
kill -TERM $pid
wait $pid || { cat cli.err; fail "the recipe did not stop cleanly"; }
grep -q '"event":"recipe_stopped"' runs/two/events.jsonl || fail "no recipe_stopped event"
cd - >/dev/null

start 120 40 "$BIN" d.jsonl
resize 120 40
wait_for "pending"
keys 2
wait_for "recipe two · stopped · 2 stages"
expect "✓ 01-sft"
expect "‖ 02-pref"
expect "recipe stopped in stage 2/2 · R resumes it"
keys R
wait_for "resuming two"
wait_for "recipe done" 120
expect "✓ 02-pref"
expect "DPO β 0.2"
expect "reward accuracy:"
expect "final adapter: runs/two/02-pref/adapter"
grep -q '"action":"skip"' "$TMP/runs/two/worker.out" || fail "stage 1 was not skipped"
grep -q '"action":"resume"' "$TMP/runs/two/worker.out" || fail "stage 2 was not resumed"
echo "ok: a stopped recipe shown and resumed from the Train view"
