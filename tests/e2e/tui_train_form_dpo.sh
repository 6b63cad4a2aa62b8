# DPO from the Train view's form, with the real worker on the demo model: a file of
# preference pairs, status all, method dpo; the run shows its DPO header and reward
# lines and finishes; config.json says dpo with the form's beta. Then a run that
# continues it ("start from" the DPO run) takes rank and targets from its adapter (the
# form's other rank is not passed, or the worker would refuse the disagreement);
# a "start from" that does not exist is refused in the form.
. tests/e2e/lib/tmux.sh
MODEL="$PWD/assets/demo-model.gguf"
[ -f "$MODEL" ] || skip "no assets/demo-model.gguf"
head -40 assets/demo/recipe/hh.jsonl >"$TMP/p.jsonl"

form() {  # form NAME METHOD INIT RANK: the fields after the model's, then Start
    keys n
    wait_for "New run"
    keys Enter C-u; keys -l "$MODEL"; keys Enter
    keys j Enter C-u; keys -l all; keys Enter                 # pairs (status)
    keys j Enter C-u; keys -l "$1"; keys Enter                # run name
    keys j j j Enter C-u; keys -l "$4"; keys Enter            # rank (5)
    for i in 1 2 3 4; do keys j; done                         # to epochs (9)
    keys Enter C-u; keys -l 1; keys Enter
    keys j j Enter C-u; keys -l 128; keys Enter               # sequence length (11)
    for i in 1 2 3 4; do keys j; done                         # to method (15)
    keys Enter C-u; keys -l "$2"; keys Enter
    keys j Enter C-u; [ -n "$3" ] && keys -l "$3"; keys Enter # start from (16)
    keys j j j
    keys Enter
}

start 120 40 "$BIN" p.jsonl
wait_for "40 pending"
keys 2
wait_for "runs (n: new)"
form pref dpo "" 8
wait_for "pref · running" 30
wait_for "DPO β 0.1" 60
wait_for "pref · done" 240
expect "reward"
grep -q '"method":"dpo"' "$TMP/runs/pref/config.json" || fail "config.json: not dpo"
grep -q '"beta":0.1' "$TMP/runs/pref/config.json" || fail "config.json: beta"
[ -f "$TMP/runs/pref/adapter.gguf" ] || fail "no adapter from the DPO run"

form nowhere sft "$TMP/runs/missing" 16
wait_for "start from: $TMP/runs/missing: No such file or directory"
keys Escape
form more sft "$TMP/runs/pref" 16
wait_for "more · done" 240
grep -q "\"init_adapter\":\"$TMP/runs/pref\"" "$TMP/runs/more/config.json" ||
    { cat "$TMP/runs/more/config.json"; fail "config.json: init_adapter"; }
grep -q '"rank":8' "$TMP/runs/more/config.json" || fail "config.json: rank from the adapter"
keys q
wait_for "[exit 0]"
echo "DPO and a continued run from the Train view's form: ok"
