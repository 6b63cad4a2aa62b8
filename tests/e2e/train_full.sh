#!/usr/bin/env bash
# train_full: --full trains every weight of stories260K and writes RUN/model.gguf;
# that file, opened as a model, has exactly the eval loss the run reported last
# (same held-out split: same data and seed), and training lowered it.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/../shared/data/models/stories260K.gguf
DATA=$PWD/../shared/data/instruct/llamafactory_alpaca_en_demo.json
[ -f "$MODEL" ] && [ -f "$DATA" ] || { echo "../shared/data is absent (stories260K, alpaca demo)"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-train-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
common=(--data "$DATA" --status all --template alpaca --seq 96 --batch 4 --eval-split 0.05
        --save-every 0 --seed 5 --json)
"$BIN" train -m "$MODEL" "${common[@]}" --full --max-steps 30 --eval-every 30 --lr 2e-3 \
    --out runs/full >f.out 2>f.err || { cat f.err; fail "full run"; }
[ -f runs/full/model.gguf ] || fail "no model.gguf"
e0=$(grep '"event":"eval","step":0,' f.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
e1=$(grep '"event":"eval","step":30,' f.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
"$BIN" train -m runs/full/model.gguf "${common[@]}" --max-steps 1 --eval-every 1 \
    --out runs/check >c.out 2>c.err || { cat c.err; fail "check run"; }
c0=$(grep '"event":"eval","step":0,' c.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
echo "full run eval loss $e0 -> $e1; model.gguf reopened: $c0"
[ -n "$e1" ] && [ "$e1" = "$c0" ] || fail "model.gguf eval loss $c0 != the run's $e1"
awk -v a="$e1" -v b="$e0" 'BEGIN { exit !(a < b - 0.05) }' || fail "eval loss did not drop"
echo ok
