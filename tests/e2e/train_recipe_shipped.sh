#!/usr/bin/env bash
# train_recipe_shipped: the shipped OpenBezoar-style recipe (assets/recipes/openbezoar.json:
# SFT LaMini -> Orca -> Evol-Instruct -> HH, then DPO on HH pairs) runs end to end on the
# demo model as shipped (its paths relative to the recipe file, run from another
# directory): five adapters, each SFT stage lowers its held-out loss, and DPO starts at
# log 2 and raises held-out reward accuracy and margin.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
R=$PWD/assets/recipes/openbezoar.json
[ -f assets/demo-model.gguf ] || { echo "assets/demo-model.gguf is absent"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-recipe-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
start=$(date +%s)
"$BIN" train --recipe "$R" --out runs/ob --threads 2 --quiet 2>err || { cat err; fail "the shipped recipe"; }
echo "shipped recipe: $(( $(date +%s) - start )) s on 2 threads"
grep -q '"event":"recipe_done"' runs/ob/events.jsonl || fail "no recipe_done"
evals() { grep '"event":"eval"' "$1" | grep -o "\"$2\":[-0-9.e]*" | cut -d: -f2; }
for s in 01-lamini 02-orca 03-evol 04-hh-sft 05-hh-dpo; do
    [ -f runs/ob/$s/adapter/adapter_model.safetensors ] || fail "$s: no adapter"
    first=$(evals runs/ob/$s/events.jsonl loss | head -1)
    last=$(evals runs/ob/$s/events.jsonl loss | tail -1)
    echo "$s: held-out loss $first -> $last"
    awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "$s: held-out loss did not fall"
done
d=runs/ob/05-hh-dpo/events.jsonl
l0=$(evals $d loss | head -1)
awk -v l="$l0" 'BEGIN { exit !(l > 0.6931 && l < 0.6932) }' || fail "DPO step-0 loss $l0, not log 2"
a0=$(evals $d reward_accuracy | head -1); a1=$(evals $d reward_accuracy | tail -1)
m1=$(evals $d reward_margin | tail -1)
echo "DPO held-out reward accuracy $a0 -> $a1, margin -> $m1"
awk -v a="$a0" -v b="$a1" -v m="$m1" 'BEGIN { exit !(b > a && b >= 0.6 && m > 0) }' ||
    fail "DPO did not raise held-out reward accuracy and margin"
echo "ok: the shipped recipe, 5 stages"
