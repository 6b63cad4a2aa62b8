# The whole loop with the real worker: accept pairs in the Data view, start
# 'bezoar train' from the Train view on stories260K, watch steps arrive, stop it
# (checkpoint), resume it, see it finish and the adapter files appear, then open the
# finished run in the Compare view.
. tests/e2e/lib/tmux.sh
MODEL=""
[ -f assets/demo-model.gguf ] && MODEL="$PWD/assets/demo-model.gguf"
[ -z "$MODEL" ] && [ -f ../shared/data/models/stories260K.gguf ] && MODEL="$(cd ../shared/data/models && pwd)/stories260K.gguf"
[ -n "$MODEL" ] || skip "no model to train (assets/demo-model.gguf or ../shared/data/models/stories260K.gguf)"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"


start 120 40 "$BIN" d.jsonl
wait_for "297 pending"
for i in $(seq 1 16); do keys a; done
wait_for "16 accepted"
keys 2
wait_for "runs (n: new)"
keys n
wait_for "New run"
keys Enter C-u; keys -l "$MODEL"; keys Enter
wait_for "parameters"
# run name (field 2), template alpaca (3), epochs 40 (9), seq 256 (11), save every 5 (13)
keys j j Enter C-u; keys -l real; keys Enter
keys j Enter C-u; keys -l alpaca; keys Enter
for i in 1 2 3 4 5 6; do keys j; done
keys Enter C-u; keys -l 40; keys Enter
keys j j Enter C-u; keys -l 256; keys Enter
keys j j Enter C-u; keys -l 5; keys Enter
wait_for "16 accepted pairs"
for i in 1 2 3 4 5; do keys j; done
keys Enter
wait_for "real · running" 20
wait_for "loss:" 60
wait_for "step 10/" 60
keys s
wait_for "real · stopped" 60
expect "R resumes"
[ -d "$TMP/runs/real/checkpoints" ] || fail "no checkpoints after stop"
keys R
wait_for "real · running" 20
wait_for "real · done" 240
wait_for "done · adapter:"
expect "3 compares it with the base"
# the finished run opens in the Compare view: base vs base + its adapter
keys 3
wait_for "B · base + runs/real/adapter"
keys Enter
for i in $(seq 1 100); do
    [ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] && break
    sleep 0.1
done
[ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] || fail "the two answers did not finish"
keys q
wait_for "[exit 0]"
[ -f "$TMP/runs/real/adapter/adapter_model.safetensors" ] || fail "no PEFT adapter"
[ -f "$TMP/runs/real/adapter/adapter_config.json" ] || fail "no adapter_config.json"
[ -f "$TMP/runs/real/adapter.gguf" ] || fail "no adapter.gguf"
echo "real training from the Train view, stop and resume: ok"
